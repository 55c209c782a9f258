//! Link requests, consents and Service IDs ([`mykey_platform::LinkStore`]). Each public method
//! is one transaction; one active Service ID per (relying party, customer ID) is the
//! `one_active_service_id` partial unique index's rule, not only the code's.

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{
    Consent, CustomerId, EventSubject, LinkId, LinkRequest, LinkRequestId, LinkRequestState,
    LinkStore, NewConsent, NewLog, PersonId, PersonLink, PlatformError, RelyingPartyId,
    RelyingPartyKind, RelyingPartyLink, ServiceIdEnd, StoreError,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, SqlStore, Stored, StoredRef, fail, secs, time};

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: StoredRef<'a, D> + ColumnIndex<D::Row>,
    for<'a> &'a [u8]: StoredRef<'a, D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Option<&'a [u8]>: Encode<'a, D>,
    usize: ColumnIndex<D::Row>,
    i64: Stored<D>,
    Option<i64>: Stored<D>,
    i32: Stored<D>,
    bool: Stored<D>,
    String: Stored<D>,
    Option<String>: Stored<D>,
    Vec<u8>: Stored<D>,
{
    pub(crate) fn person_link_row(r: &D::Row) -> Result<PersonLink, StoreError> {
        Ok(PersonLink {
            id: LinkId::new(r.get("id")),
            relying_party: r.get("name"),
            relying_party_kind: RelyingPartyKind::parse(r.get("kind"))
                .ok_or_else(|| StoreError::corrupt("unknown relying-party kind"))?,
            relying_party_profile: Self::profile_row(r),
            customer_id: r.get::<&str, _>("customer_id").parse().map_err(fail)?,
            linked_at: time(r.get("linked_at")),
            consent: Consent {
                items: r
                    .get::<&str, _>("items")
                    .split(' ')
                    .map(str::to_owned)
                    .collect(),
                terms_version: r.get("terms_version"),
                given_at: time(r.get("given_at")),
            },
            route: mykey_platform::LinkRoute::parse(r.get("route"))
                .ok_or_else(|| StoreError::corrupt("unknown link route"))?,
        })
    }

    /// Inside `tx`: checks `person` holds an active My Key ID, records the consent, stores the
    /// Service ID and notes the signature certificate. Answers the link's row ID, or the
    /// refusal (no My Key ID, customer ID already linked) — the caller then rolls back.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn link_in(
        tx: &mut sqlx::Transaction<'_, D>,
        rp: RelyingPartyId,
        customer_id: &str,
        person: PersonId,
        consent: &NewConsent,
        signature: Option<IssuanceNumber>,
        route: mykey_platform::LinkRoute,
        at: UnixTime,
    ) -> Result<Result<i64, PlatformError>, StoreError> {
        let suspended: Option<Option<i64>> = sqlx::query(
            "SELECT p.my_key_id_suspended_at AS suspended_at FROM my_key_ids m \
             JOIN persons p ON p.id = m.person_id WHERE m.person_id = $1 AND m.ended_at IS NULL",
        )
        .bind(person.get())
        .fetch_optional(&mut **tx)
        .await
        .map_err(fail)?
        .map(|r| r.get("suspended_at"));
        match suspended {
            None => {
                return Ok(Err(PlatformError::Conflict(
                    mykey_platform::Conflict::MyKeyIdRequired,
                )));
            }
            Some(Some(_)) => {
                return Ok(Err(PlatformError::Conflict(
                    mykey_platform::Conflict::MyKeyIdSuspended,
                )));
            }
            Some(None) => {}
        }
        let consent_id: i64 = sqlx::query(
            "INSERT INTO consents (person_id, function, relying_party_id, items, terms_version, given_at) \
             VALUES ($1, 'service-id', $2, $3, $4, $5) RETURNING id",
        )
        .bind(person.get())
        .bind(rp.get())
        .bind(consent.items.join(" "))
        .bind(consent.terms_version.as_str())
        .bind(secs(at))
        .fetch_one(&mut **tx)
        .await
        .map_err(fail)?
        .get(0);
        let link = sqlx::query(
            "INSERT INTO service_ids (relying_party_id, customer_id, person_id, consent_id, linked_at, route) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(rp.get())
        .bind(customer_id)
        .bind(person.get())
        .bind(consent_id)
        .bind(secs(at))
        .bind(route.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(fail)?;
        let Some(link) = link else {
            return Ok(Err(PlatformError::Conflict(
                mykey_platform::Conflict::ServiceIdExists,
            )));
        };
        Self::note_signature_in(tx, person, signature, at).await?;
        Ok(Ok(link.get(0)))
    }

    /// Inside `tx`, as a link of `customer_id` at `rp` ends: the logins by it end too — its
    /// unredeemed login codes deleted, its approved but unexchanged authorizations declined,
    /// the access tokens of its logins revoked — so that nothing handed out before the end
    /// still logs anyone in by it.
    pub(crate) async fn end_logins_by_link_in(
        tx: &mut sqlx::Transaction<'_, D>,
        rp: i64,
        customer_id: &str,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM service_id_login_codes WHERE relying_party_id = $1 AND customer_id = $2",
        )
        .bind(rp)
        .bind(customer_id)
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND authorization_id IN \
             (SELECT a.id FROM authorizations a WHERE a.relying_party_id = $2 AND a.customer_id = $3)",
        )
        .bind(secs(at))
        .bind(rp)
        .bind(customer_id)
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
        sqlx::query(
            "UPDATE authorizations SET status = 'declined' \
             WHERE status IN ('approved', 'continued') AND relying_party_id = $1 AND customer_id = $2",
        )
        .bind(rp)
        .bind(customer_id)
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
        Ok(())
    }

    /// Ends every active Service ID of `person` for `why`, logging each, inside the
    /// caller's transaction.
    pub(crate) async fn end_links_of(
        tx: &mut sqlx::Transaction<'_, D>,
        person: PersonId,
        at: UnixTime,
        why: ServiceIdEnd,
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.relying_party_id, r.name, s.customer_id FROM service_ids s JOIN relying_parties r ON r.id = s.relying_party_id \
             WHERE s.person_id = $1 AND s.ended_at IS NULL ORDER BY s.id",
        )
        .bind(person.get())
        .fetch_all(&mut **tx)
        .await
        .map_err(fail)?;
        // Every relying party told, locked at once in ID order (as every transaction locks
        // them), not one by one in the links' order: two people ending links with the same
        // two relying parties would otherwise wait on each other.
        let rps: Vec<i64> = rows.iter().map(|r| r.get("relying_party_id")).collect();
        Self::lock_relying_parties(tx, &rps).await?;
        for r in &rows {
            sqlx::query("UPDATE service_ids SET ended_at = $1, end_reason = $2 WHERE id = $3")
                .bind(secs(at))
                .bind(why.as_str())
                .bind(r.get::<i64, _>("id"))
                .execute(&mut **tx)
                .await
                .map_err(fail)?;
            for log in why.logs(r.get("name"), r.get("customer_id")) {
                Self::append(tx, person, at, &log).await?;
            }
            Self::end_logins_by_link_in(tx, r.get("relying_party_id"), r.get("customer_id"), at)
                .await?;
            let (kind, detail) = why.event();
            let subject = EventSubject::CustomerId(r.get("customer_id"));
            Self::enqueue(tx, r.get("relying_party_id"), kind, &subject, &detail, at).await?;
        }
        Ok(())
    }

    /// Moves an open, unexpired request to `to` inside `tx`; the refusal says why not.
    pub(crate) async fn answer_link_request(
        tx: &mut sqlx::Transaction<'_, D>,
        id: &LinkRequestId,
        to: LinkRequestState,
        at: UnixTime,
    ) -> Result<Result<(RelyingPartyId, String), PlatformError>, StoreError> {
        let row = sqlx::query(
            "UPDATE link_requests SET state = $1, answered_at = $2 \
             WHERE id = $3 AND state = 'open' AND expires_at >= $4 RETURNING relying_party_id, customer_id",
        )
        .bind(to.as_str())
        .bind(secs(at))
        .bind(id.as_bytes().as_slice())
        .bind(secs(at))
        .fetch_optional(&mut **tx)
        .await
        .map_err(fail)?;
        if let Some(r) = row {
            return Ok(Ok((
                RelyingPartyId::new(r.get("relying_party_id")),
                r.get("customer_id"),
            )));
        }
        let state: Option<String> = sqlx::query("SELECT state FROM link_requests WHERE id = $1")
            .bind(id.as_bytes().as_slice())
            .fetch_optional(&mut **tx)
            .await
            .map_err(fail)?
            .map(|r| r.get("state"));
        Ok(Err(match state.as_deref() {
            None => PlatformError::NotFound(mykey_platform::NotFound::LinkRequest),
            Some("open") => PlatformError::Conflict(mykey_platform::Conflict::LinkRequestExpired),
            Some(_) => PlatformError::Conflict(mykey_platform::Conflict::LinkRequestAnswered),
        }))
    }

    /// Ends one active link, logging it; `false` when none matches.
    async fn end_one_link(
        &self,
        which: Which<'_>,
        at: UnixTime,
        why: ServiceIdEnd,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let found = match which {
            Which::Customer(rp, c) => {
                sqlx::query("SELECT s.id, s.person_id, s.consent_id, s.relying_party_id, r.name, s.customer_id FROM service_ids s \
         JOIN relying_parties r ON r.id = s.relying_party_id WHERE s.ended_at IS NULL AND s.relying_party_id = $1 AND s.customer_id = $2")
                    .bind(rp.get())
                    .bind(c.as_str())
                    .fetch_optional(&mut *tx)
                    .await
            }
            Which::Link(person, id) => {
                sqlx::query("SELECT s.id, s.person_id, s.consent_id, s.relying_party_id, r.name, s.customer_id FROM service_ids s \
         JOIN relying_parties r ON r.id = s.relying_party_id WHERE s.ended_at IS NULL AND s.person_id = $1 AND s.id = $2")
                    .bind(person.get())
                    .bind(id.get())
                    .fetch_optional(&mut *tx)
                    .await
            }
        }
        .map_err(fail)?;
        let Some(r) = found else {
            return Ok(false);
        };
        let person = PersonId::new(r.get("person_id"));
        sqlx::query("UPDATE service_ids SET ended_at = $1, end_reason = $2 WHERE id = $3")
            .bind(secs(at))
            .bind(why.as_str())
            .bind(r.get::<i64, _>("id"))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        if why == ServiceIdEnd::Withdrawn {
            sqlx::query("UPDATE consents SET withdrawn_at = $1 WHERE id = $2")
                .bind(secs(at))
                .bind(r.get::<i64, _>("consent_id"))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        for log in why.logs(r.get("name"), r.get("customer_id")) {
            Self::append(&mut tx, person, at, &log).await?;
        }
        Self::end_logins_by_link_in(&mut tx, r.get("relying_party_id"), r.get("customer_id"), at)
            .await?;
        let (kind, detail) = why.event();
        let subject = EventSubject::CustomerId(r.get("customer_id"));
        Self::enqueue(
            &mut tx,
            r.get("relying_party_id"),
            kind,
            &subject,
            &detail,
            at,
        )
        .await?;
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }
}

#[async_trait::async_trait]
impl<D: Dialect> LinkStore for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: StoredRef<'a, D> + ColumnIndex<D::Row>,
    for<'a> &'a [u8]: StoredRef<'a, D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Option<&'a [u8]>: Encode<'a, D>,
    usize: ColumnIndex<D::Row>,
    i64: Stored<D>,
    Option<i64>: Stored<D>,
    i32: Stored<D>,
    bool: Stored<D>,
    String: Stored<D>,
    Option<String>: Stored<D>,
    Vec<u8>: Stored<D>,
{
    async fn insert_link_request(&self, l: &LinkRequest) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO link_requests (id, relying_party_id, customer_id, state, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(l.id.as_bytes().as_slice())
        .bind(l.relying_party.id.get())
        .bind(l.customer_id.as_str())
        .bind(LinkRequestState::Open.as_str())
        .bind(secs(l.expires_at))
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        Ok(())
    }

    async fn link_request(&self, id: &LinkRequestId) -> Result<Option<LinkRequest>, StoreError> {
        let row = sqlx::query("SELECT l.customer_id, l.state, l.expires_at, r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at, r.contact, r.privacy_policy_url, r.terms_url FROM link_requests l JOIN relying_parties r ON r.id = l.relying_party_id WHERE l.id = $1")
        .bind(id.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.map(|r| {
            Ok(LinkRequest {
                id: *id,
                relying_party: Self::rp_row(&r)?,
                customer_id: r.get::<&str, _>("customer_id").parse().map_err(fail)?,
                state: LinkRequestState::parse(r.get("state"))
                    .ok_or_else(|| StoreError::corrupt("unknown link-request state"))?,
                expires_at: time(r.get("expires_at")),
            })
        })
        .transpose()
    }

    async fn refuse_link_request(
        &self,
        id: &LinkRequestId,
        at: UnixTime,
    ) -> Result<Result<(), PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        if let Err(e) =
            Self::answer_link_request(&mut tx, id, LinkRequestState::Refused, at).await?
        {
            return Ok(Err(e));
        }
        tx.commit().await.map_err(fail)?;
        Ok(Ok(()))
    }

    async fn approve_link_request(
        &self,
        id: &LinkRequestId,
        person: PersonId,
        consent: &NewConsent,
        signature: Option<IssuanceNumber>,
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<Result<PersonLink, PlatformError>, StoreError> {
        // Any refusal below returns before commit: the transaction rolls back on drop.
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let (rp, customer_id) =
            match Self::answer_link_request(&mut tx, id, LinkRequestState::Approved, at).await? {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
        let link_id = match Self::link_in(
            &mut tx,
            rp,
            &customer_id,
            person,
            consent,
            signature,
            mykey_platform::LinkRoute::Card,
            at,
        )
        .await?
        {
            Ok(id) => id,
            Err(e) => return Ok(Err(e)),
        };
        for log in logs {
            Self::append(&mut tx, person, at, log).await?;
        }
        let row = sqlx::query(
            "SELECT s.id, r.name, r.kind, r.contact, r.privacy_policy_url, r.terms_url, s.customer_id, s.linked_at, c.items, c.terms_version, c.given_at, s.route \
             FROM service_ids s JOIN relying_parties r ON r.id = s.relying_party_id JOIN consents c ON c.id = s.consent_id \
             WHERE s.id = $1",
        )
        .bind(link_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        let link = Self::person_link_row(&row)?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(link))
    }

    async fn relying_party_links(
        &self,
        rp: RelyingPartyId,
        customer_id: Option<&CustomerId>,
    ) -> Result<Vec<RelyingPartyLink>, StoreError> {
        let rows = match customer_id {
            Some(c) => sqlx::query(
                "SELECT customer_id, linked_at FROM service_ids WHERE relying_party_id = $1 AND customer_id = $2 AND ended_at IS NULL",
            )
            .bind(rp.get())
            .bind(c.as_str())
            .fetch_all(&self.pool)
            .await,
            None => sqlx::query(
                "SELECT customer_id, linked_at FROM service_ids WHERE relying_party_id = $1 AND ended_at IS NULL ORDER BY id",
            )
            .bind(rp.get())
            .fetch_all(&self.pool)
            .await,
        }
        .map_err(fail)?;
        rows.iter()
            .map(|r| {
                Ok(RelyingPartyLink {
                    customer_id: r.get::<&str, _>("customer_id").parse().map_err(fail)?,
                    linked_at: time(r.get("linked_at")),
                })
            })
            .collect()
    }

    async fn remove_link(
        &self,
        rp: RelyingPartyId,
        customer_id: &CustomerId,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        self.end_one_link(
            Which::Customer(rp, customer_id),
            at,
            ServiceIdEnd::RemovedByRelyingParty,
        )
        .await
    }

    async fn person_links(&self, person: PersonId) -> Result<Vec<PersonLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, r.name, r.kind, r.contact, r.privacy_policy_url, r.terms_url, s.customer_id, s.linked_at, c.items, c.terms_version, c.given_at, s.route \
             FROM service_ids s JOIN relying_parties r ON r.id = s.relying_party_id JOIN consents c ON c.id = s.consent_id \
             WHERE s.person_id = $1 AND s.ended_at IS NULL ORDER BY s.id",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        rows.iter().map(Self::person_link_row).collect()
    }

    async fn withdraw_link(
        &self,
        person: PersonId,
        id: LinkId,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        self.end_one_link(Which::Link(person, id), at, ServiceIdEnd::Withdrawn)
            .await
    }

    async fn service_id_login(
        &self,
        l: &mykey_platform::ServiceIdLogin<'_>,
    ) -> Result<Result<CustomerId, PlatformError>, StoreError> {
        self.log_in_by_service_id(l).await
    }

    async fn redeem_service_id_code(
        &self,
        rp: RelyingPartyId,
        code_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<CustomerId>, StoreError> {
        self.redeem_login_code(rp, code_hash, at).await
    }

    async fn my_key_id_holder(
        &self,
        id: &mykey_platform::MyKeyId,
        at: UnixTime,
    ) -> Result<Option<(PersonId, Option<IssuanceNumber>)>, StoreError> {
        self.holder_of(id, at).await
    }

    async fn apply_with_my_key_id(
        &self,
        a: &mykey_platform::MyKeyIdApplication<'_>,
    ) -> Result<Result<RelyingPartyLink, PlatformError>, StoreError> {
        self.link_by_my_key_id(a).await
    }
}

/// Which active link to end.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Which<'a> {
    /// A relying party's, by customer ID.
    Customer(
        mykey_platform::RelyingPartyId,
        &'a mykey_platform::CustomerId,
    ),
    /// A person's, by link ID.
    Link(mykey_platform::PersonId, mykey_platform::LinkId),
}
