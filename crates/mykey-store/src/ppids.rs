//! PPID services, PPIDs, their one-time codes and consents ([`mykey_platform::PpidStore`]). One
//! PPID per (service, person) and one active PPID consent per (person, service) are the
//! database's rules (`ppids` primary key, `one_active_ppid_consent`), not only the code's.

use mykey_pki::UnixTime;
use mykey_platform::{
    Consent, CustomerId, EventKind, EventSubject, LoginGrant, NewLog, PersonId, PersonPpidService,
    PlatformError, Ppid, PpidIssue, PpidIssued, PpidService, PpidServiceId, PpidStore,
    RelyingPartyId, RelyingPartyKind, ServicePpid, StoreError,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs, time};

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
    fn ppid_service_row(r: &D::Row) -> Result<PpidService, StoreError> {
        Ok(PpidService {
            id: PpidServiceId::new(r.get("ps_id")),
            relying_party: Self::rp_row(r)?,
            name: r.get("ps_name"),
            created_at: time(r.get("ps_created_at")),
        })
    }

    pub(crate) fn ppid_of(v: &[u8]) -> Result<Ppid, StoreError> {
        v.try_into()
            .map(Ppid::from_bytes)
            .map_err(|_| StoreError::corrupt("stored PPID is not 16 bytes"))
    }

    fn service_ppid_row(r: &D::Row) -> Result<ServicePpid, StoreError> {
        Ok(ServicePpid {
            ppid: Self::ppid_of(r.get::<&[u8], _>("ppid"))?,
            customer_id: r
                .get::<Option<&str>, _>("customer_id")
                .map(str::parse)
                .transpose()
                .map_err(fail)?,
            issued_at: time(r.get("issued_at")),
        })
    }

    pub(crate) fn consent_row(r: &D::Row) -> Consent {
        Consent {
            items: r
                .get::<&str, _>("items")
                .split(' ')
                .map(str::to_owned)
                .collect(),
            terms_version: r.get("terms_version"),
            given_at: time(r.get("given_at")),
        }
    }
}

#[async_trait::async_trait]
impl<D: Dialect> PpidStore for SqlStore<D>
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
    async fn insert_ppid_service(
        &self,
        rp: RelyingPartyId,
        name: &str,
        at: UnixTime,
    ) -> Result<PpidService, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let id: i64 = sqlx::query(
            "INSERT INTO ppid_services (relying_party_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(rp.get())
        .bind(name)
        .bind(secs(at))
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?
        .get(0);
        let row = sqlx::query("SELECT ps.id AS ps_id, ps.name AS ps_name, ps.created_at AS ps_created_at, \
         r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at, r.contact, r.privacy_policy_url, r.terms_url \
         FROM ppid_services ps JOIN relying_parties r ON r.id = ps.relying_party_id WHERE ps.id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let s = Self::ppid_service_row(&row)?;
        tx.commit().await.map_err(fail)?;
        Ok(s)
    }

    async fn ppid_services_of(&self, rp: RelyingPartyId) -> Result<Vec<PpidService>, StoreError> {
        let rows = sqlx::query("SELECT ps.id AS ps_id, ps.name AS ps_name, ps.created_at AS ps_created_at, \
         r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at, r.contact, r.privacy_policy_url, r.terms_url \
         FROM ppid_services ps JOIN relying_parties r ON r.id = ps.relying_party_id WHERE ps.relying_party_id = $1 ORDER BY ps.id")
        .bind(rp.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        rows.iter().map(Self::ppid_service_row).collect()
    }

    async fn ppid_service(&self, id: PpidServiceId) -> Result<Option<PpidService>, StoreError> {
        let row = sqlx::query("SELECT ps.id AS ps_id, ps.name AS ps_name, ps.created_at AS ps_created_at, \
         r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at, r.contact, r.privacy_policy_url, r.terms_url \
         FROM ppid_services ps JOIN relying_parties r ON r.id = ps.relying_party_id WHERE ps.id = $1")
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.as_ref().map(Self::ppid_service_row).transpose()
    }

    async fn ppid_consent(
        &self,
        person: PersonId,
        service: PpidServiceId,
    ) -> Result<Option<Consent>, StoreError> {
        let row = sqlx::query(
            "SELECT items, terms_version, given_at FROM consents \
             WHERE person_id = $1 AND ppid_service_id = $2 AND withdrawn_at IS NULL",
        )
        .bind(person.get())
        .bind(service.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        Ok(row.as_ref().map(Self::consent_row))
    }

    async fn issue_ppid(
        &self,
        i: &PpidIssue<'_>,
    ) -> Result<Result<PpidIssued, PlatformError>, StoreError> {
        // A refusal returns before commit: the transaction rolls back on drop.
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        match i.consent {
            Some(c) => {
                // A consent given meanwhile (a concurrent authentication) stands.
                sqlx::query(
                    "INSERT INTO consents (person_id, function, relying_party_id, ppid_service_id, items, terms_version, given_at) \
                     SELECT $1, 'ppid', relying_party_id, id, $2, $3, $4 FROM ppid_services WHERE id = $5 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(i.person.get())
                .bind(c.items.join(" "))
                .bind(c.terms_version.as_str())
                .bind(secs(i.at))
                .bind(i.service.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            }
            None => {
                let active = sqlx::query(
                    "SELECT id FROM consents WHERE person_id = $1 AND ppid_service_id = $2 AND withdrawn_at IS NULL",
                )
                .bind(i.person.get())
                .bind(i.service.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?;
                if active.is_none() {
                    return Ok(Err(PlatformError::Invalid(
                        mykey_platform::InvalidError::ConsentIncomplete,
                    )));
                }
            }
        }
        let first = sqlx::query(
            "INSERT INTO ppids (ppid_service_id, person_id, ppid, issued_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(i.service.get())
        .bind(i.person.get())
        .bind(i.derived.as_bytes().as_slice())
        .bind(secs(i.at))
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected()
            == 1;
        let stored =
            sqlx::query("SELECT ppid FROM ppids WHERE ppid_service_id = $1 AND person_id = $2")
                .bind(i.service.get())
                .bind(i.person.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?
                // Only a 128-bit HMAC collision within one service leads here.
                .ok_or_else(|| StoreError::conflict("PPID collision within a service"))?;
        let ppid = Self::ppid_of(stored.get::<&[u8], _>("ppid"))?;
        match &i.grant {
            LoginGrant::Code { hash, expires_at } => {
                sqlx::query(
                    "INSERT INTO ppid_codes (code_hash, ppid_service_id, ppid, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(hash.as_slice())
                .bind(i.service.get())
                .bind(ppid.as_bytes().as_slice())
                .bind(secs(*expires_at))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            }
            LoginGrant::PinlessCode {
                request_hash,
                hash,
                expires_at,
                facts,
            } => {
                // The request is used up here: of two answers at once, one finds it.
                let used = sqlx::query(
                    "DELETE FROM pinless_requests WHERE handle_hash = $1 AND ppid_service_id = $2 \
                     AND expires_at >= $3",
                )
                .bind(request_hash.as_slice())
                .bind(i.service.get())
                .bind(secs(i.at))
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
                if used != 1 {
                    return Ok(Err(PlatformError::NotFound(
                        mykey_platform::NotFound::PinlessRequest,
                    )));
                }
                sqlx::query(
                    "INSERT INTO ppid_codes (code_hash, ppid_service_id, ppid, expires_at, facts) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(hash.as_slice())
                .bind(i.service.get())
                .bind(ppid.as_bytes().as_slice())
                .bind(secs(*expires_at))
                .bind(*facts)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            }
            LoginGrant::Authorization {
                handle_hash,
                facts,
                confirm_hash,
            } => {
                if !Self::approve_authorization_in(
                    &mut tx,
                    handle_hash,
                    i.person,
                    Ok(ppid),
                    facts,
                    confirm_hash.as_ref(),
                    i.at,
                )
                .await?
                {
                    return Ok(Err(PlatformError::Conflict(
                        mykey_platform::Conflict::AuthorizationAnswered,
                    )));
                }
            }
        }
        for log in i.logs {
            Self::append(&mut tx, i.person, i.at, log).await?;
        }
        let kind = if first {
            mykey_platform::LogKind::PpidIssued
        } else {
            mykey_platform::LogKind::PpidUsed
        };
        let log = NewLog {
            kind,
            detail: i.detail.clone(),
        };
        Self::append(&mut tx, i.person, i.at, &log).await?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(PpidIssued { ppid, first }))
    }

    async fn redeem_ppid_code(
        &self,
        service: PpidServiceId,
        code_hash: &[u8; 32],
        at: UnixTime,
        log: &NewLog,
        facts_log: &NewLog,
    ) -> Result<Option<(Ppid, Option<String>)>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        // An expired code is removed too: used or expired, it never works again.
        let row = sqlx::query(
            "DELETE FROM ppid_codes WHERE code_hash = $1 AND ppid_service_id = $2 \
             RETURNING ppid, expires_at, facts",
        )
        .bind(code_hash.as_slice())
        .bind(service.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let (ppid, facts) = match row {
            Some(r) if r.get::<i64, _>("expires_at") >= secs(at) => (
                Self::ppid_of(r.get::<&[u8], _>("ppid"))?,
                r.get::<Option<String>, _>("facts"),
            ),
            _ => {
                tx.commit().await.map_err(fail)?;
                return Ok(None);
            }
        };
        let person: i64 =
            sqlx::query("SELECT person_id FROM ppids WHERE ppid_service_id = $1 AND ppid = $2")
                .bind(service.get())
                .bind(ppid.as_bytes().as_slice())
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?
                .get(0);
        Self::append(&mut tx, PersonId::new(person), at, log).await?;
        if facts.is_some() {
            Self::append(&mut tx, PersonId::new(person), at, facts_log).await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(Some((ppid, facts)))
    }

    async fn open_pinless_request(
        &self,
        handle_hash: &[u8; 32],
        r: &mykey_platform::StoredPinlessRequest,
        at: UnixTime,
        max_open: u64,
    ) -> Result<bool, StoreError> {
        // One statement: the count and the insert see the same rows. The count is of all the
        // relying party's services, so that registering more services buys no more requests.
        let done = sqlx::query(
            "INSERT INTO pinless_requests (handle_hash, ppid_service_id, birth_date, created_at, expires_at) \
             SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM pinless_requests r \
             JOIN ppid_services s ON s.id = r.ppid_service_id \
             WHERE s.relying_party_id = (SELECT relying_party_id FROM ppid_services WHERE id = $2) \
             AND r.expires_at >= $4) < $6",
        )
        .bind(handle_hash.as_slice())
        .bind(r.service.get())
        .bind(mykey_platform::iso_date(r.birth_date))
        .bind(secs(at))
        .bind(secs(r.expires_at))
        .bind(i64::try_from(max_open).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await
        .map_err(fail)?
        .rows_affected();
        Ok(done == 1)
    }

    async fn spend_pinless_attempt(
        &self,
        handle_hash: &[u8; 32],
        at: UnixTime,
        max: u32,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE pinless_requests SET attempts = attempts + 1 \
             WHERE handle_hash = $1 AND expires_at >= $2 AND attempts < $3",
        )
        .bind(handle_hash.as_slice())
        .bind(secs(at))
        .bind(i32::try_from(max).unwrap_or(i32::MAX))
        .execute(&self.pool)
        .await
        .map_err(fail)?
        .rows_affected();
        Ok(done == 1)
    }

    async fn pinless_request(
        &self,
        handle_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<mykey_platform::StoredPinlessRequest>, StoreError> {
        let row = sqlx::query(
            "SELECT ppid_service_id, birth_date, expires_at FROM pinless_requests \
             WHERE handle_hash = $1 AND expires_at >= $2",
        )
        .bind(handle_hash.as_slice())
        .bind(secs(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.map(|r| {
            let birth: String = r.get("birth_date");
            Ok(mykey_platform::StoredPinlessRequest {
                service: PpidServiceId::new(r.get("ppid_service_id")),
                birth_date: mykey_platform::parse_iso_date(&birth)
                    .ok_or_else(|| StoreError::corrupt("a stored birth date is not YYYY-MM-DD"))?,
                expires_at: time(r.get("expires_at")),
            })
        })
        .transpose()
    }

    async fn set_ppid_customer_id(
        &self,
        service: PpidServiceId,
        ppid: Ppid,
        customer_id: &CustomerId,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<Option<ServicePpid>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let row = sqlx::query(
            "UPDATE ppids SET customer_id = $1 WHERE ppid_service_id = $2 AND ppid = $3 \
             AND EXISTS (SELECT 1 FROM consents c WHERE c.person_id = ppids.person_id \
                 AND c.ppid_service_id = ppids.ppid_service_id AND c.withdrawn_at IS NULL) \
             RETURNING person_id, ppid, customer_id, issued_at",
        )
        .bind(customer_id.as_str())
        .bind(service.get())
        .bind(ppid.as_bytes().as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let found = Self::service_ppid_row(&row)?;
        Self::append(&mut tx, PersonId::new(row.get("person_id")), at, log).await?;
        tx.commit().await.map_err(fail)?;
        Ok(Some(found))
    }

    async fn service_ppids(
        &self,
        service: PpidServiceId,
        customer_id: Option<&CustomerId>,
    ) -> Result<Vec<ServicePpid>, StoreError> {
        let rows = match customer_id {
            Some(c) => sqlx::query(
                "SELECT ppid, customer_id, issued_at FROM ppids WHERE ppid_service_id = $1 AND customer_id = $2 ORDER BY issued_at, ppid",
            )
            .bind(service.get())
            .bind(c.as_str())
            .fetch_all(&self.pool)
            .await,
            None => sqlx::query(
                "SELECT ppid, customer_id, issued_at FROM ppids WHERE ppid_service_id = $1 ORDER BY issued_at, ppid",
            )
            .bind(service.get())
            .fetch_all(&self.pool)
            .await,
        }
        .map_err(fail)?;
        rows.iter().map(Self::service_ppid_row).collect()
    }

    async fn person_ppid_services(
        &self,
        person: PersonId,
    ) -> Result<Vec<PersonPpidService>, StoreError> {
        let rows = sqlx::query(
            "SELECT ps.id, ps.name AS ps_name, r.name AS rp_name, r.kind, r.contact, r.privacy_policy_url, r.terms_url, p.ppid, p.issued_at \
             FROM ppid_services ps JOIN relying_parties r ON r.id = ps.relying_party_id \
             LEFT JOIN ppids p ON p.ppid_service_id = ps.id AND p.person_id = $1 \
             WHERE p.person_id IS NOT NULL \
                OR ps.id IN (SELECT ppid_service_id FROM consents WHERE person_id = $2) \
             ORDER BY ps.id",
        )
        .bind(person.get())
        .bind(person.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id = PpidServiceId::new(r.get("id"));
            let consent = sqlx::query(
                "SELECT items, terms_version, given_at, withdrawn_at FROM consents \
                 WHERE person_id = $1 AND ppid_service_id = $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(person.get())
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
            let ppid = match r.get::<Option<&[u8]>, _>("ppid") {
                Some(b) => Some((Self::ppid_of(b)?, time(r.get("issued_at")))),
                None => None,
            };
            out.push(PersonPpidService {
                id,
                name: r.get("ps_name"),
                relying_party: r.get("rp_name"),
                relying_party_kind: RelyingPartyKind::parse(r.get("kind"))
                    .ok_or_else(|| StoreError::corrupt("unknown relying-party kind"))?,
                relying_party_profile: Self::profile_row(r),
                ppid,
                consent: consent.map(|c| {
                    (
                        Self::consent_row(&c),
                        c.get::<Option<i64>, _>("withdrawn_at").map(time),
                    )
                }),
            });
        }
        Ok(out)
    }

    async fn withdraw_ppid_consent(
        &self,
        person: PersonId,
        service: PpidServiceId,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let done = sqlx::query(
            "UPDATE consents SET withdrawn_at = $1 \
             WHERE person_id = $2 AND ppid_service_id = $3 AND withdrawn_at IS NULL",
        )
        .bind(secs(at))
        .bind(person.get())
        .bind(service.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // Its logins not yet exchanged end too: their codes give nothing.
        sqlx::query(
            "UPDATE authorizations SET status = 'declined' WHERE status IN ('approved', 'continued') \
             AND person_id = $1 AND relying_party_id IN \
             (SELECT c.relying_party_id FROM oidc_clients c WHERE c.ppid_service_id = $2)",
        )
        .bind(person.get())
        .bind(service.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        // So do its unredeemed REST codes, and the facts a PIN-less one carries.
        sqlx::query(
            "DELETE FROM ppid_codes WHERE ppid_service_id = $1 AND ppid IN \
             (SELECT ppid FROM ppids WHERE ppid_service_id = $1 AND person_id = $2)",
        )
        .bind(service.get())
        .bind(person.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        // The service's access tokens for the person end with the consent.
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND authorization_id IN \
             (SELECT a.id FROM authorizations a JOIN oidc_clients c ON c.relying_party_id = a.relying_party_id \
              WHERE a.person_id = $2 AND c.ppid_service_id = $3)",
        )
        .bind(secs(at))
        .bind(person.get())
        .bind(service.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        Self::append(&mut tx, person, at, log).await?;
        // The relying party that knows the person by a PPID of the service is told, last: the
        // renewals that follow skip a PPID whose consent is withdrawn (`tell_renewal`).
        let known = sqlx::query(
            "SELECT s.relying_party_id, p.ppid FROM ppids p \
             JOIN ppid_services s ON s.id = p.ppid_service_id \
             WHERE p.person_id = $1 AND p.ppid_service_id = $2",
        )
        .bind(person.get())
        .bind(service.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        if let Some(r) = known {
            let ppid: [u8; 16] = r
                .get::<&[u8], _>("ppid")
                .try_into()
                .map_err(|_| StoreError::corrupt("stored PPID is not 16 bytes"))?;
            Self::enqueue(
                &mut tx,
                r.get("relying_party_id"),
                EventKind::PpidConsentWithdrawn,
                &EventSubject::Ppid(service, Ppid::from_bytes(ppid)),
                &serde_json::json!({"reason": "withdrawn", "event_timestamp": at.as_secs()}),
                at,
            )
            .await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }
}
