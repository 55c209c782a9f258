//! Logins ([`mykey_platform::LoginStore`]): spent nonces, sessions, the card numbers tied to
//! people, and expiry. How a login and a nonce are written is the [`crate::Dialect`]'s (SQLite
//! commits concurrent logins together, `sqlite/login.rs`); the rest is shared SQL.

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{
    LinkOutcome, LoginOutcome, LoginStore, LoginWrite, NewLog, PersonId, Session, StoreError,
    UsedNonce,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs, time};

#[async_trait::async_trait]
impl<D: Dialect> LoginStore for SqlStore<D>
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
    async fn use_nonce(&self, n: &UsedNonce) -> Result<bool, StoreError> {
        D::use_nonce(self, n).await
    }

    async fn login(&self, w: &LoginWrite) -> Result<LoginOutcome, StoreError> {
        D::login(self, w).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    fn pool_use(&self) -> mykey_platform::PoolUse {
        let open = self.pool.size();
        mykey_platform::PoolUse {
            open,
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(open),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn purge_expired(&self, at: UnixTime) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let mut gone = D::purge_nonces(&mut tx, at).await?;
        // Access tokens and sessions are keyed by their expiry first (8 bytes,
        // big-endian: mykey_platform's ordered_token.rs, migrations 0011 and 0013), so
        // the expired ones are the keys below the cut's 8 bytes, found on the primary
        // key.
        let cut = at.as_secs().to_be_bytes();
        for purge in [
            "DELETE FROM access_tokens WHERE token_hash < $1",
            "DELETE FROM sessions WHERE token_hash < $1",
        ] {
            gone += sqlx::query(purge)
                .bind(cut.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
        }
        // Reads are told once a day: yesterday's marks and older go.
        gone += sqlx::query("DELETE FROM relying_party_reads WHERE day < $1")
            .bind(crate::people::japan_day(at) - 1)
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        for purge in [
            "DELETE FROM ppid_codes WHERE expires_at < $1",
            "DELETE FROM service_id_login_codes WHERE expires_at < $1",
            "DELETE FROM pinless_requests WHERE expires_at < $1",
            "DELETE FROM client_tokens WHERE expires_at < $1",
            // A request stays while a token of its login does (logout and reuse find
            // the tokens through it).
            "DELETE FROM authorizations WHERE keep_until < $1 AND NOT EXISTS \
             (SELECT 1 FROM access_tokens t WHERE t.authorization_id = authorizations.id)",
        ] {
            gone += sqlx::query(purge)
                .bind(secs(at))
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
        }
        // What is kept a while after it ends, each deleted on an index of that moment
        // (migration 0033 for the last two; the events' holds only acknowledged ones, so the
        // pending are never read).
        for (purge, keep) in [
            (
                "DELETE FROM authorization_reports WHERE reported_at < $1",
                mykey_platform::oidc::REPORT_KEEP_SECS,
            ),
            (
                "DELETE FROM events WHERE acknowledged_at < $1",
                mykey_platform::ACKNOWLEDGED_EVENT_KEEP_SECS,
            ),
            (
                "DELETE FROM link_requests WHERE expires_at < $1",
                mykey_platform::LINK_REQUEST_KEEP_SECS,
            ),
        ] {
            gone += sqlx::query(purge)
                .bind(secs(at).saturating_sub(keep as i64))
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        D::nonces_purged(self, at);
        Ok(gone)
    }

    async fn end_sessions_before_revocation(
        &self,
        revoked: &[(IssuanceNumber, UnixTime)],
        session_ttl: u64,
        token_ttl: u64,
        at: UnixTime,
    ) -> Result<u64, StoreError> {
        if revoked.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let mut ended = 0;
        for chunk in revoked.chunks(crate::facts::CHUNK) {
            // (number, until): what of its holder expires by `until` (revocation time plus
            // the lifetime) was made by the revocation.
            let until = |q: &mut sqlx::QueryBuilder<D>, ttl: u64| {
                q.push("(VALUES ");
                let mut each = q.separated(", ");
                for (n, t) in chunk {
                    each.push("(")
                        .push_bind_unseparated(n.as_be_bytes().to_vec());
                    each.push_unseparated(", ")
                        .push_bind_unseparated(secs(*t) + ttl as i64)
                        .push_unseparated(")");
                }
                q.push(") AS r JOIN issuance_numbers i ON i.number = r.column1 ");
            };
            let mut q =
                sqlx::QueryBuilder::<D>::new("DELETE FROM sessions WHERE EXISTS (SELECT 1 FROM ");
            until(&mut q, session_ttl);
            q.push("WHERE i.person_id = sessions.person_id AND sessions.expires_at <= r.column2)");
            ended += q
                .build()
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
            let mut q = sqlx::QueryBuilder::<D>::new("UPDATE access_tokens SET revoked_at = ");
            q.push_bind(secs(at));
            q.push(" WHERE revoked_at IS NULL AND EXISTS (SELECT 1 FROM ");
            until(&mut q, token_ttl);
            q.push("JOIN authorizations a ON a.person_id = i.person_id \
                    WHERE a.id = access_tokens.authorization_id AND access_tokens.expires_at <= r.column2)");
            ended += q
                .build()
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        Ok(ended)
    }

    async fn person_by_issuance_number(
        &self,
        n: IssuanceNumber,
    ) -> Result<Option<PersonId>, StoreError> {
        let row = sqlx::query("SELECT person_id FROM issuance_numbers WHERE number = $1")
            .bind(n.as_be_bytes())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        Ok(row.map(|r| PersonId::new(r.get("person_id"))))
    }

    async fn link_issuance_number(
        &self,
        n: IssuanceNumber,
        expires_at: Option<UnixTime>,
        previous: &[IssuanceNumber],
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<LinkOutcome, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let known = sqlx::query("SELECT person_id FROM issuance_numbers WHERE number = $1")
            .bind(n.as_be_bytes())
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        if let Some(r) = known {
            tx.commit().await.map_err(fail)?;
            return Ok(LinkOutcome::Known(PersonId::new(r.get("person_id"))));
        }
        let mut holder = None;
        for p in previous {
            let row = sqlx::query("SELECT person_id FROM issuance_numbers WHERE number = $1")
                .bind(p.as_be_bytes())
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?;
            if let Some(r) = row {
                holder = Some(PersonId::new(r.get("person_id")));
                break;
            }
        }
        let outcome = match holder {
            Some(p) => LinkOutcome::Renewed(p),
            None => {
                let id: i64 =
                    sqlx::query("INSERT INTO persons (created_at) VALUES ($1) RETURNING id")
                        .bind(secs(at))
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(fail)?
                        .get(0);
                LinkOutcome::Created(PersonId::new(id))
            }
        };
        let person = outcome.person();
        // A person's numbers in the order they were linked (several may be linked within
        // one second): the newest is the one J-LIS is asked about.
        sqlx::query(
            "INSERT INTO issuance_numbers (number, person_id, linked_at, link_seq, expires_at) VALUES ($1, $2, $3, \
             (SELECT COALESCE(MAX(link_seq), 0) + 1 FROM issuance_numbers WHERE person_id = $2), $4)",
        )
            .bind(n.as_be_bytes())
            .bind(person.get())
            .bind(secs(at))
            .bind(expires_at.map(secs))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        let mut all: Vec<NewLog> = logs.to_vec();
        all.push(match outcome {
            LinkOutcome::Renewed(_) => NewLog {
                kind: mykey_platform::LogKind::CardRenewed,
                detail: r#"{"note":"a renewed card's new number now leads to you"}"#.into(),
            },
            _ => NewLog {
                kind: mykey_platform::LogKind::PersonCreated,
                detail: "{}".into(),
            },
        });
        for log in &all {
            Self::append(&mut tx, person, at, log).await?;
        }
        // After the person's row is locked (by the log), as everywhere: no deadlocks.
        if let LinkOutcome::Renewed(_) = outcome {
            Self::tell_renewal(&mut tx, person, at).await?;
            // The new card has its own signature certificate: learn it (facts.rs).
            sqlx::query("UPDATE signature_certificates SET renote = 2 WHERE person_id = $1")
                .bind(person.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(outcome)
    }

    async fn session(
        &self,
        token_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            // A suspended person's session is no session (Art 8.2), whenever it was made.
            "SELECT s.person_id, s.expires_at FROM sessions s WHERE s.token_hash = $1 AND s.expires_at >= $2 \
             AND NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = s.person_id AND p.suspended_at IS NOT NULL)",
        )
        .bind(token_hash.as_slice())
        .bind(secs(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        Ok(row.map(|r| Session {
            token_hash: *token_hash,
            person: PersonId::new(r.get("person_id")),
            expires_at: time(r.get("expires_at")),
        }))
    }
}
