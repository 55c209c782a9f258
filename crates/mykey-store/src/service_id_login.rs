//! Logging in by Service ID and applying for one with a My Key ID (`LinkStore`'s last four
//! methods; `mykey_platform`'s `service_id_login.rs` and `service_id.rs`). Each is one
//! transaction that rolls back on any refusal.

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{
    CustomerId, LinkRoute, LoginGrant, MyKeyId, MyKeyIdApplication, NewLog, PersonId,
    PlatformError, RelyingPartyId, RelyingPartyLink, ServiceIdLogin, StoreError,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, SqlStore, Stored, StoredRef, customer_id, fail, secs, time};

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
    pub(crate) async fn log_in_by_service_id(
        &self,
        l: &ServiceIdLogin<'_>,
    ) -> Result<Result<CustomerId, PlatformError>, StoreError> {
        // Any refusal below returns before commit: the transaction rolls back on drop.
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let customer: String = match &l.link {
            Some(link) => {
                let (rp, customer) = match Self::answer_link_request(
                    &mut tx,
                    &link.request,
                    mykey_platform::LinkRequestState::Approved,
                    l.at,
                )
                .await?
                {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                if rp != l.relying_party {
                    return Ok(Err(PlatformError::NotFound(
                        mykey_platform::NotFound::LinkRequest,
                    )));
                }
                if let Err(e) = Self::link_in(
                    &mut tx,
                    rp,
                    &customer,
                    l.person,
                    link.consent,
                    link.signature,
                    LinkRoute::Card,
                    l.at,
                )
                .await?
                {
                    return Ok(Err(e));
                }
                customer
            }
            None => {
                let found = sqlx::query(
                    "SELECT customer_id FROM service_ids WHERE relying_party_id = $1 AND person_id = $2 \
                     AND ended_at IS NULL ORDER BY linked_at DESC, id DESC LIMIT 1",
                )
                .bind(l.relying_party.get())
                .bind(l.person.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?;
                match found {
                    Some(r) => r.get("customer_id"),
                    None => {
                        return Ok(Err(PlatformError::Conflict(
                            mykey_platform::Conflict::ServiceIdRequired,
                        )));
                    }
                }
            }
        };
        let customer = customer_id(&customer)?;
        match &l.grant {
            LoginGrant::Code { hash, expires_at } => {
                sqlx::query(
                    "INSERT INTO service_id_login_codes (code_hash, relying_party_id, customer_id, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(hash.as_slice())
                .bind(l.relying_party.get())
                .bind(customer.as_str())
                .bind(secs(*expires_at))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            }
            LoginGrant::PinlessCode { .. } => {
                return Err(StoreError::corrupt(
                    "the PIN-less route gives PPIDs, not logins by Service ID",
                ));
            }
            LoginGrant::Authorization {
                handle_hash,
                facts,
                confirm_hash,
            } => {
                if !Self::approve_authorization_in(
                    &mut tx,
                    handle_hash,
                    l.person,
                    Err(&customer),
                    facts,
                    confirm_hash.as_ref(),
                    l.at,
                )
                .await?
                {
                    return Ok(Err(PlatformError::Conflict(
                        mykey_platform::Conflict::AuthorizationAnswered,
                    )));
                }
            }
        }
        for log in l.logs {
            Self::append(&mut tx, l.person, l.at, log).await?;
        }
        let mut detail = l.detail.clone();
        if let Some(d) = detail.as_object_mut() {
            d.insert("customer_id".into(), customer.as_str().into());
        }
        let login = NewLog::new(mykey_platform::LogKind::Login, detail);
        Self::append(&mut tx, l.person, l.at, &login).await?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(customer))
    }

    pub(crate) async fn redeem_login_code(
        &self,
        rp: RelyingPartyId,
        code_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<CustomerId>, StoreError> {
        // Used or expired, a code never works again: it is removed either way. Another
        // party's code is left alone. The link must still be active (its end deletes its
        // codes too: `end_logins_by_link_in`).
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let row = sqlx::query(
            "DELETE FROM service_id_login_codes WHERE code_hash = $1 AND relying_party_id = $2 \
             RETURNING customer_id, expires_at",
        )
        .bind(code_hash.as_slice())
        .bind(rp.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let found = match row {
            Some(r) if r.get::<i64, _>("expires_at") >= secs(at) => {
                let customer: String = r.get("customer_id");
                let active = sqlx::query(
                    "SELECT 1 FROM service_ids WHERE relying_party_id = $1 AND customer_id = $2 AND ended_at IS NULL",
                )
                .bind(rp.get())
                .bind(customer.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?
                .is_some();
                active.then(|| customer_id(&customer)).transpose()?
            }
            _ => None,
        };
        tx.commit().await.map_err(fail)?;
        Ok(found)
    }

    pub(crate) async fn holder_of(
        &self,
        id: &MyKeyId,
        at: UnixTime,
    ) -> Result<Option<(PersonId, Option<IssuanceNumber>)>, StoreError> {
        let row = sqlx::query(
            "SELECT m.person_id, n.number, n.revoked_at, n.expires_at FROM my_key_ids m \
             LEFT JOIN issuance_numbers n ON n.person_id = m.person_id AND NOT EXISTS \
             (SELECT 1 FROM issuance_numbers later WHERE later.person_id = n.person_id AND later.link_seq > n.link_seq) \
             WHERE m.id = $1 AND m.ended_at IS NULL AND NOT EXISTS (SELECT 1 FROM persons p \
             WHERE p.id = m.person_id AND (p.suspended_at IS NOT NULL OR p.my_key_id_suspended_at IS NOT NULL))",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        let Some(r) = row else { return Ok(None) };
        // The newest card revoked, suspended or expired: no one to link.
        let revoked = r.get::<Option<i64>, _>("revoked_at").is_some();
        let expired = r
            .get::<Option<i64>, _>("expires_at")
            .is_some_and(|e| e < secs(at));
        if revoked || expired {
            return Ok(None);
        }
        let number = r
            .get::<Option<&[u8]>, _>("number")
            .map(IssuanceNumber::from_be_bytes)
            .transpose()
            .map_err(fail)?;
        Ok(Some((PersonId::new(r.get("person_id")), number)))
    }

    pub(crate) async fn link_by_my_key_id(
        &self,
        a: &MyKeyIdApplication<'_>,
    ) -> Result<Result<RelyingPartyLink, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        // Still the same person's active My Key ID (it may have changed or ended meanwhile).
        let still = sqlx::query(
            "SELECT 1 FROM my_key_ids m JOIN persons p ON p.id = m.person_id WHERE m.id = $1 \
             AND m.person_id = $2 AND m.ended_at IS NULL AND p.my_key_id_suspended_at IS NULL \
             AND p.suspended_at IS NULL",
        )
        .bind(a.my_key_id.as_str())
        .bind(a.person.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?
        .is_some();
        // A person who withdrew a Service ID from this relying party links there again only
        // with the card: to the relying party, the same answer as an unknown My Key ID.
        let withdrew = sqlx::query(
            "SELECT 1 FROM service_ids WHERE relying_party_id = $1 AND person_id = $2 AND end_reason = 'withdrawn'",
        )
        .bind(a.relying_party.get())
        .bind(a.person.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?
        .is_some();
        if !still || withdrew {
            return Ok(Err(PlatformError::NotFound(
                mykey_platform::NotFound::MyKeyId,
            )));
        }
        if let Err(e) = Self::link_in(
            &mut tx,
            a.relying_party,
            a.customer_id.as_str(),
            a.person,
            a.consent,
            a.signature,
            LinkRoute::MyKeyId,
            a.at,
        )
        .await?
        {
            return Ok(Err(e));
        }
        for log in a.logs {
            Self::append(&mut tx, a.person, a.at, log).await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(Ok(RelyingPartyLink {
            customer_id: a.customer_id.clone(),
            linked_at: time(secs(a.at)),
        }))
    }
}
