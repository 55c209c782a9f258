//! The OpenID Connect provider's tables (`migrations/*/0009_oidc.sql`): client registrations,
//! authorization requests and access tokens ([`mykey_platform::oidc::OidcStore`]). How a code is
//! exchanged is the [`crate::Dialect`]'s (SQLite commits concurrent exchanges together,
//! `sqlite/exchange.rs`). Status changes are conditional
//! updates (`WHERE status = …`), so two racing answers or exchanges change a request once.

use mykey_pki::UnixTime;
use mykey_platform::{
    NewLog, PersonId, Ppid, PpidServiceId, RelyingParty, RelyingPartyId, StoreError, oidc,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, hash32, secs, time};

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
    pub(crate) fn authorization_row(r: &D::Row) -> Result<oidc::Authorization, StoreError> {
        let status: &str = r.get("status");
        Ok(oidc::Authorization {
            id: r.get("id"),
            request: oidc::NewAuthorization {
                handle_hash: hash32(r.get::<&[u8], _>("handle_hash"))?,
                short_code: r.get("short_code"),
                browser_hash: hash32(r.get::<&[u8], _>("browser_hash"))?,
                relying_party: r
                    .get::<Option<i64>, _>("relying_party_id")
                    .map(RelyingPartyId::new),
                redirect_uri: r.get("redirect_uri"),
                scope: r.get("scope"),
                state: r.get("state"),
                nonce: r.get("nonce"),
                code_challenge: r.get("code_challenge"),
                sid: r.get("sid"),
                created_at: time(r.get("created_at")),
                expires_at: time(r.get("expires_at")),
                began: oidc::BrowserOrigin {
                    address: r.get("began_from"),
                    browser: r.get("browser"),
                },
                link_request: r
                    .get::<Option<&[u8]>, _>("link_request_id")
                    .map(crate::link_request_id)
                    .transpose()?,
            },
            status: oidc::AuthorizationStatus::parse(status).ok_or_else(|| {
                StoreError::corrupt(format!("unknown authorization status {status:?}"))
            })?,
            person: r.get::<Option<i64>, _>("person_id").map(PersonId::new),
            ppid: r
                .get::<Option<&[u8]>, _>("ppid")
                .map(Self::ppid_of)
                .transpose()?,
            customer_id: r
                .get::<Option<&str>, _>("customer_id")
                .map(crate::customer_id)
                .transpose()?,
            facts: r.get("facts"),
            approved_at: r.get::<Option<i64>, _>("approved_at").map(time),
            code_expires_at: r.get::<Option<i64>, _>("code_expires_at").map(time),
            awaits_confirmation: r.get::<Option<&[u8]>, _>("confirm_hash").is_some(),
            confirm_tries: u32::try_from(r.get::<i32, _>("confirm_tries")).unwrap_or(u32::MAX),
        })
    }

    async fn authorization_where(
        &self,
        sql: &'static str,
        key: &[u8],
    ) -> Result<Option<oidc::Authorization>, StoreError> {
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.as_ref().map(Self::authorization_row).transpose()
    }

    /// Inside `issue_ppid`'s (or `service_id_login`'s) transaction: a pending request approved
    /// by `person`, whose subject is the PPID or the customer ID.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn approve_authorization_in(
        tx: &mut sqlx::Transaction<'_, D>,
        handle_hash: &[u8; 32],
        person: PersonId,
        subject: Result<Ppid, &mykey_platform::CustomerId>,
        facts: &str,
        confirm_hash: Option<&[u8; 32]>,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let (ppid, customer_id) = match subject {
            Ok(p) => (Some(p), None),
            Err(c) => (None, Some(c.as_str())),
        };
        let done = sqlx::query(
            "UPDATE authorizations SET status = 'approved', person_id = $1, ppid = $2, facts = $3, approved_at = $4, \
             confirm_hash = $6, customer_id = $7 WHERE handle_hash = $5 AND status = 'pending' AND expires_at >= $4",
        )
        .bind(person.get())
        .bind(ppid.as_ref().map(|p| p.as_bytes().as_slice()))
        .bind(facts)
        .bind(secs(at))
        .bind(handle_hash.as_slice())
        .bind(confirm_hash.map(|h| h.as_slice()))
        .bind(customer_id)
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait::async_trait]
impl<D: Dialect> oidc::OidcStore for SqlStore<D>
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
    async fn client_with_keys(
        &self,
        client_id: &str,
    ) -> Result<Option<(RelyingParty, Option<String>)>, StoreError> {
        let row = sqlx::query("SELECT r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at, r.contact, r.privacy_policy_url, r.terms_url, r.jwks FROM relying_parties r WHERE r.client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        match row {
            Some(r) => Ok(Some((Self::rp_row(&r)?, r.get("jwks")))),
            None => Ok(None),
        }
    }

    async fn exchange_code(
        &self,
        x: &oidc::CodeExchange,
    ) -> Result<oidc::ExchangeOutcome, StoreError> {
        D::exchange_code(self, x).await
    }

    async fn set_oidc_client(&self, c: &oidc::OidcClient, at: UnixTime) -> Result<(), StoreError> {
        let scopes: Vec<&str> = c.scopes.iter().map(|s| s.as_str()).collect();
        sqlx::query(
            "INSERT INTO oidc_clients (relying_party_id, ppid_service_id, redirect_uris, post_logout_redirect_uris, scopes, id_token_alg, updated_at, subject) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (relying_party_id) DO UPDATE SET ppid_service_id = excluded.ppid_service_id, subject = excluded.subject, \
             redirect_uris = excluded.redirect_uris, post_logout_redirect_uris = excluded.post_logout_redirect_uris, \
             scopes = excluded.scopes, id_token_alg = excluded.id_token_alg, updated_at = excluded.updated_at",
        )
        .bind(c.relying_party.get())
        .bind(c.subject.ppid_service().map(|s| s.get()))
        .bind(c.redirect_uris.join(" "))
        .bind(c.post_logout_redirect_uris.join(" "))
        .bind(scopes.join(" "))
        .bind(c.id_token_alg.as_str())
        .bind(secs(at))
        .bind(c.subject.as_str())
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        Ok(())
    }

    async fn oidc_client(
        &self,
        rp: RelyingPartyId,
    ) -> Result<Option<oidc::OidcClient>, StoreError> {
        let row = sqlx::query("SELECT * FROM oidc_clients WHERE relying_party_id = $1")
            .bind(rp.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        let Some(r) = row else { return Ok(None) };
        let words = |col: &str| -> Vec<String> {
            r.get::<&str, _>(col)
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let alg: &str = r.get("id_token_alg");
        let subject = match (
            r.get::<&str, _>("subject"),
            r.get::<Option<i64>, _>("ppid_service_id"),
        ) {
            ("ppid", Some(s)) => oidc::OidcSubject::Ppid(PpidServiceId::new(s)),
            ("service-id", None) => oidc::OidcSubject::ServiceId,
            (s, _) => {
                return Err(StoreError::corrupt(format!(
                    "OpenID Connect client of subject {s:?}"
                )));
            }
        };
        Ok(Some(oidc::OidcClient {
            relying_party: rp,
            subject,
            redirect_uris: words("redirect_uris"),
            post_logout_redirect_uris: words("post_logout_redirect_uris"),
            scopes: words("scopes")
                .iter()
                .filter_map(|s| oidc::FactScope::parse(s))
                .collect(),
            id_token_alg: oidc::IdTokenAlg::parse(alg).unwrap_or_default(),
        }))
    }

    async fn insert_authorization(&self, a: &oidc::NewAuthorization) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO authorizations (handle_hash, short_code, browser_hash, relying_party_id, redirect_uri, scope, state, nonce, \
             code_challenge, sid, created_at, expires_at, keep_until, began_from, browser, link_request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15) ON CONFLICT DO NOTHING",
        )
        .bind(a.handle_hash.as_slice())
        .bind(a.short_code.as_str())
        .bind(a.browser_hash.as_slice())
        .bind(a.relying_party.map(|r| r.get()))
        .bind(a.redirect_uri.as_deref())
        .bind(a.scope.as_str())
        .bind(a.state.as_deref())
        .bind(a.nonce.as_deref())
        .bind(a.code_challenge.as_deref())
        .bind(a.sid.as_str())
        .bind(secs(a.created_at))
        .bind(secs(a.expires_at))
        .bind(a.began.address.as_deref())
        .bind(a.began.browser.as_deref())
        .bind(a.link_request.as_ref().map(|l| l.as_bytes().as_slice()))
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        Ok(done.rows_affected() == 1)
    }

    async fn authorization(
        &self,
        handle_hash: &[u8; 32],
    ) -> Result<Option<oidc::Authorization>, StoreError> {
        self.authorization_where(
            "SELECT * FROM authorizations WHERE handle_hash = $1",
            handle_hash,
        )
        .await
    }

    async fn authorization_by_short_code(
        &self,
        code: &str,
    ) -> Result<Option<oidc::Authorization>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM authorizations WHERE short_code = $1 AND status = 'pending'",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.as_ref().map(Self::authorization_row).transpose()
    }

    async fn decline_authorization(
        &self,
        handle_hash: &[u8; 32],
        at: UnixTime,
        report: Option<&oidc::AuthorizationReport>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let done = sqlx::query(
            "UPDATE authorizations SET status = 'declined' WHERE handle_hash = $1 AND status = 'pending' AND expires_at >= $2",
        )
        .bind(handle_hash.as_slice())
        .bind(secs(at))
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(r) = report {
            sqlx::query(
                "INSERT INTO authorization_reports (reported_at, relying_party_id, purpose, began_at, began_from, browser, \
                 by_short_code, reported_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(secs(r.reported_at))
            .bind(r.relying_party.map(|id| id.get()))
            .bind(r.purpose.as_str())
            .bind(secs(r.began_at))
            .bind(r.began.address.as_deref())
            .bind(r.began.browser.as_deref())
            .bind(r.by_short_code)
            .bind(r.reported_from.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn confirm_authorization(
        &self,
        handle_hash: &[u8; 32],
        code_hash: &[u8; 32],
    ) -> Result<oidc::Confirmation, StoreError> {
        let right = sqlx::query(
            "UPDATE authorizations SET confirm_hash = NULL \
             WHERE handle_hash = $1 AND status = 'approved' AND confirm_hash = $2",
        )
        .bind(handle_hash.as_slice())
        .bind(code_hash.as_slice())
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        if right.rows_affected() == 1 {
            return Ok(oidc::Confirmation::Confirmed);
        }
        let wrong = sqlx::query(
            "UPDATE authorizations SET confirm_tries = confirm_tries + 1, \
             status = CASE WHEN confirm_tries + 1 >= $2 THEN 'declined' ELSE status END \
             WHERE handle_hash = $1 AND status = 'approved' AND confirm_hash IS NOT NULL RETURNING confirm_tries",
        )
        .bind(handle_hash.as_slice())
        .bind(oidc::CONFIRM_TRIES as i32)
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        Ok(match wrong {
            None => oidc::Confirmation::NotAwaited,
            Some(r) => {
                let tries = u32::try_from(r.get::<i32, _>("confirm_tries")).unwrap_or(u32::MAX);
                match oidc::CONFIRM_TRIES.checked_sub(tries) {
                    Some(left) if left > 0 => oidc::Confirmation::Wrong { tries_left: left },
                    _ => oidc::Confirmation::Exhausted,
                }
            }
        })
    }

    async fn authorization_reports(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<oidc::AuthorizationReport>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM authorization_reports WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(fail)?;
        Ok(rows
            .iter()
            .map(|r| oidc::AuthorizationReport {
                id: r.get("id"),
                reported_at: time(r.get("reported_at")),
                relying_party: r
                    .get::<Option<i64>, _>("relying_party_id")
                    .map(RelyingPartyId::new),
                purpose: r.get("purpose"),
                began_at: time(r.get("began_at")),
                began: oidc::BrowserOrigin {
                    address: r.get("began_from"),
                    browser: r.get("browser"),
                },
                by_short_code: r.get("by_short_code"),
                reported_from: r.get("reported_from"),
            })
            .collect())
    }

    async fn continue_authorization(
        &self,
        handle_hash: &[u8; 32],
        code_hash: &[u8; 32],
        code_expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE authorizations SET status = 'continued', code_hash = $1, code_expires_at = $2, keep_until = $2 \
             WHERE handle_hash = $3 AND status = 'approved' AND confirm_hash IS NULL",
        )
        .bind(code_hash.as_slice())
        .bind(secs(code_expires_at))
        .bind(handle_hash.as_slice())
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        Ok(done.rows_affected() == 1)
    }

    async fn authorization_by_code(
        &self,
        code_hash: &[u8; 32],
    ) -> Result<Option<oidc::Authorization>, StoreError> {
        self.authorization_where(
            "SELECT * FROM authorizations WHERE code_hash = $1",
            code_hash,
        )
        .await
    }

    async fn redeem_authorization(
        &self,
        id: i64,
        token_hash: &[u8; 32],
        token_expires_at: UnixTime,
        _at: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let done = sqlx::query(
            "UPDATE authorizations SET status = 'redeemed' WHERE id = $1 AND status = 'continued'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO access_tokens (token_hash, authorization_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash.as_slice())
            .bind(id)
            .bind(secs(token_expires_at))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn revoke_authorization(&self, id: i64, at: UnixTime) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE authorization_id = $2 AND revoked_at IS NULL AND expires_at >= $1",
        )
        .bind(secs(at))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        Ok(done.rows_affected())
    }

    async fn access_token(
        &self,
        token_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<oidc::Authorization>, StoreError> {
        let row = sqlx::query(
            "SELECT a.* FROM access_tokens t JOIN authorizations a ON a.id = t.authorization_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at >= $2 \
             AND NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = a.person_id AND p.suspended_at IS NOT NULL)",
        )
        .bind(token_hash.as_slice())
        .bind(secs(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.as_ref().map(Self::authorization_row).transpose()
    }

    async fn log_facts_given_once(
        &self,
        token_hash: &[u8; 32],
        person: PersonId,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let first = sqlx::query(
            "UPDATE access_tokens SET facts_logged_at = $2 WHERE token_hash = $1 AND facts_logged_at IS NULL",
        )
        .bind(token_hash.as_slice())
        .bind(secs(at))
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        if first.rows_affected() != 1 {
            return Ok(false);
        }
        Self::append(&mut tx, person, at, log).await?;
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn approve_portal_authorization(
        &self,
        handle_hash: &[u8; 32],
        person: PersonId,
        confirm_hash: &[u8; 32],
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let done = sqlx::query(
            "UPDATE authorizations SET status = 'approved', person_id = $1, approved_at = $2, confirm_hash = $4 \
             WHERE handle_hash = $3 AND relying_party_id IS NULL AND status = 'pending' AND expires_at >= $2",
        )
        .bind(person.get())
        .bind(secs(at))
        .bind(handle_hash.as_slice())
        .bind(confirm_hash.as_slice())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        for log in logs {
            Self::append(&mut tx, person, at, log).await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn complete_portal_login(
        &self,
        handle_hash: &[u8; 32],
        token_hash: &[u8; 32],
        session_expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let row = sqlx::query(
            "UPDATE authorizations SET status = 'redeemed' \
             WHERE handle_hash = $1 AND relying_party_id IS NULL AND status = 'approved' AND confirm_hash IS NULL \
             RETURNING person_id",
        )
        .bind(handle_hash.as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(row) = row else { return Ok(false) };
        let person: i64 = row.get("person_id");
        sqlx::query("INSERT INTO sessions (token_hash, person_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash.as_slice())
            .bind(person)
            .bind(secs(session_expires_at))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn end_session(&self, token_hash: &[u8; 32]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.as_slice())
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn authorization_by_sid(
        &self,
        sid: &str,
    ) -> Result<Option<oidc::Authorization>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM authorizations WHERE sid = $1 AND status = 'redeemed'")
                .bind(sid)
                .fetch_optional(&self.pool)
                .await
                .map_err(fail)?;
        row.as_ref().map(Self::authorization_row).transpose()
    }
}
