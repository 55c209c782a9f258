//! PostgreSQL, for production: writers run side by side, so a transaction locks the rows it
//! orders by (`ROW_LOCKS`), each login and each code exchange is its own transaction, and
//! concurrent commits share WAL flushes. Spent nonces are a table with a unique key, which
//! several nodes share.

use mykey_pki::UnixTime;
use mykey_platform::oidc::{CodeExchange, ExchangeOutcome, ExchangeStep, IdTokenAlg};
use mykey_platform::{LoginOutcome, LoginWrite, PersonId, StoreError, UsedNonce};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, Postgres, Row, Transaction};

use crate::{Dialect, PostgresStore, SqlStore, fail, secs};

impl PostgresStore {
    /// Connects to and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(fail)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(fail)?;
        Ok(Self { pool, batching: () })
    }
}

#[async_trait::async_trait]
impl Dialect for Postgres {
    const BEGIN: &'static str = "BEGIN";
    const ROW_LOCKS: bool = true;
    const NOW_SECS: &'static str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)";
    type Batching = ();

    async fn login(store: &SqlStore<Self>, w: &LoginWrite) -> Result<LoginOutcome, StoreError> {
        let mut tx = store.pool.begin().await.map_err(fail)?;
        let outcome = login_in(&mut tx, w).await?;
        if let LoginOutcome::Done(_) | LoginOutcome::Suspended = outcome {
            tx.commit().await.map_err(fail)?;
        }
        Ok(outcome)
    }

    /// Its own transaction: concurrent commits share WAL flushes.
    async fn apply_for_points(
        store: &SqlStore<Self>,
        new: &mykey_platform::NewPointApplication,
        logs: &[mykey_platform::NewLog],
    ) -> Result<Result<mykey_platform::PointApplication, mykey_platform::PlatformError>, StoreError>
    {
        let mut tx = store.pool.begin().await.map_err(fail)?;
        let outcome = SqlStore::<Self>::apply_in(&mut tx, new, logs).await?;
        if outcome.is_ok() {
            tx.commit().await.map_err(fail)?;
        }
        Ok(outcome)
    }

    /// One statement over an array: a thousand bound values would be parsed and planned
    /// on every report.
    async fn point_applicants(
        tx: &mut Transaction<'_, Self>,
        provider: i64,
        round: i64,
        settlement_user_ids: &[&str],
    ) -> Result<Vec<(String, i64, String, i64)>, StoreError> {
        Ok(sqlx::query(
            "SELECT settlement_user_id, id, state, submitted_at FROM point_applications \
             WHERE round_id = $1 AND provider_id = $2 AND settlement_user_id = ANY($3)",
        )
        .bind(round)
        .bind(provider)
        .bind(settlement_user_ids)
        .fetch_all(&mut **tx)
        .await
        .map_err(fail)?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
    }

    /// One statement over arrays (`UNNEST`), as above.
    async fn insert_point_transactions(
        tx: &mut Transaction<'_, Self>,
        provider: i64,
        round: i64,
        received_at: i64,
        rows: &[crate::point_grants::TransactionRow<'_>],
    ) -> Result<u64, StoreError> {
        let ids: Vec<&str> = rows.iter().map(|t| t.transaction_id).collect();
        let column = |f: fn(&crate::point_grants::TransactionRow<'_>) -> i64| -> Vec<i64> {
            rows.iter().map(f).collect()
        };
        Ok(sqlx::query(
            "INSERT INTO point_transactions (provider_id, round_id, received_at, transaction_id, \
             application_id, amount, points, occurred_at) \
             SELECT $1, $2, $3, t.* FROM UNNEST($4::text[], $5::bigint[], $6::bigint[], \
             $7::bigint[], $8::bigint[]) AS t \
             ON CONFLICT (provider_id, transaction_id) DO NOTHING",
        )
        .bind(provider)
        .bind(round)
        .bind(received_at)
        .bind(&ids)
        .bind(column(|t| t.application))
        .bind(column(|t| t.amount))
        .bind(column(|t| t.points))
        .bind(column(|t| t.occurred_at))
        .execute(&mut **tx)
        .await
        .map_err(fail)?
        .rows_affected())
    }

    async fn use_nonce(store: &SqlStore<Self>, n: &UsedNonce) -> Result<bool, StoreError> {
        let mut c = store.pool.acquire().await.map_err(fail)?;
        spend_nonce(&mut c, n).await
    }

    /// Spent nonces are keyed by their expiry first (migration 0011): the expired ones are the
    /// keys below the cut's 8 bytes, found on the primary key.
    async fn purge_nonces(tx: &mut Transaction<'_, Self>, at: UnixTime) -> Result<u64, StoreError> {
        let cut = at.as_secs().to_be_bytes();
        Ok(sqlx::query("DELETE FROM used_nonces WHERE nonce < $1")
            .bind(cut.as_slice())
            .execute(&mut **tx)
            .await
            .map_err(fail)?
            .rows_affected())
    }

    fn nonces_purged(_store: &SqlStore<Self>, _at: UnixTime) {}

    /// One exchange in its own transaction.
    async fn exchange_code(
        store: &SqlStore<Self>,
        x: &CodeExchange,
    ) -> Result<ExchangeOutcome, StoreError> {
        let mut tx = store.pool.begin_with(Self::BEGIN).await.map_err(fail)?;
        if let Some(n) = &x.assertion
            && !spend_nonce(&mut tx, n).await?
        {
            return Ok(ExchangeOutcome::AssertionReplayed);
        }
        let row = sqlx::query(
            "SELECT a.*, c.id_token_alg FROM authorizations a \
             LEFT JOIN oidc_clients c ON c.relying_party_id = a.relying_party_id WHERE a.code_hash = $1",
        )
        .bind(x.code_hash.as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let found = row
            .as_ref()
            .map(PostgresStore::authorization_row)
            .transpose()?;
        let alg = row
            .as_ref()
            .and_then(|r| {
                r.get::<Option<&str>, _>("id_token_alg")
                    .and_then(IdTokenAlg::parse)
            })
            .unwrap_or_default();
        let mut step = x.step(found.as_ref(), false);
        if step == ExchangeStep::Redeem
            && let Some(a) = &found
        {
            let done = sqlx::query(
                "UPDATE authorizations SET status = 'redeemed' WHERE id = $1 AND status = 'continued'",
            )
            .bind(a.id)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            if done.rows_affected() == 1 {
                sqlx::query("INSERT INTO access_tokens (token_hash, authorization_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(x.token_hash.as_slice())
                    .bind(a.id)
                    .bind(secs(x.token_expires_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                tx.commit().await.map_err(fail)?;
                return Ok(ExchangeOutcome::Redeemed(Box::new(a.clone()), alg));
            }
            // Another exchange redeemed it in the meantime: a reuse.
            step = ExchangeStep::Revoke;
        }
        let outcome = match (step, &found) {
            (ExchangeStep::Revoke, Some(a)) => {
                let revoked = sqlx::query(
                    "UPDATE access_tokens SET revoked_at = $1 WHERE authorization_id = $2 AND revoked_at IS NULL AND expires_at >= $1",
                )
                .bind(secs(x.at))
                .bind(a.id)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
                ExchangeOutcome::Reused {
                    revoked,
                    person: a.person,
                }
            }
            (ExchangeStep::Refuse(o), _) => o,
            _ => ExchangeOutcome::Unknown,
        };
        tx.commit().await.map_err(fail)?;
        Ok(outcome)
    }

    /// Removes the dead row versions of the streams table (PostgreSQL keeps them until a
    /// vacuum), so that replaced secrets do not linger in its files.
    async fn compact(store: &SqlStore<Self>) -> Result<(), StoreError> {
        sqlx::query("VACUUM streams")
            .execute(&store.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }
}

/// One login inside the caller's transaction, which keeps nothing unless it is done. The nonce
/// comes first: a replayed answer is told so even for a number not yet tied.
async fn login_in(
    tx: &mut Transaction<'_, Postgres>,
    w: &LoginWrite,
) -> Result<LoginOutcome, StoreError> {
    if !spend_nonce(tx, &w.nonce).await? {
        return Ok(LoginOutcome::Replayed);
    }
    // The person's row is locked as their log's append would lock it, but before suspension
    // is read: a suspension committed meanwhile is seen, and one that comes after waits for
    // this login, then ends its session.
    let person = sqlx::query(
        "SELECT i.person_id, p.suspended_at IS NOT NULL AS suspended \
         FROM issuance_numbers i JOIN persons p ON p.id = i.person_id WHERE i.number = $1 \
         FOR UPDATE OF p",
    )
    .bind(w.issuance_number.as_be_bytes())
    .fetch_optional(&mut **tx)
    .await
    .map_err(fail)?;
    let Some((person, suspended)) = person.map(|r| {
        (
            PersonId::new(r.get("person_id")),
            r.get::<bool, _>("suspended"),
        )
    }) else {
        return Ok(LoginOutcome::UnknownNumber);
    };
    if suspended {
        // Refused like a bad card (Art 8.2): the nonce stays spent.
        return Ok(LoginOutcome::Suspended);
    }
    // The row is locked (above): the head read now is the head, and the entries and the
    // session go in one statement.
    let mut heads = std::collections::HashMap::new();
    let head = sqlx::query(
        "SELECT person_id, seq, at, kind, detail, hash FROM log_entries \
         WHERE person_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(person.get())
    .fetch_optional(&mut **tx)
    .await
    .map_err(fail)?;
    if let Some(r) = head {
        let (p, e) = PostgresStore::log_head_row(&r)?;
        heads.insert(p, e);
    }
    let entries: Vec<_> = w.logs.iter().map(|l| (person, w.at, l)).collect();
    let new = crate::chain::chain_on(&mut heads, &entries);
    let mut q = sqlx::QueryBuilder::<Postgres>::new("");
    if !new.is_empty() {
        q.push("WITH logged AS (");
        PostgresStore::push_log_entries(&mut q, &new);
        q.push(") ");
    }
    q.push("INSERT INTO sessions (token_hash, person_id, expires_at) VALUES (");
    q.push_bind(w.token_hash.as_slice());
    q.push(", ");
    q.push_bind(person.get());
    q.push(", ");
    q.push_bind(secs(w.expires_at));
    q.push(")");
    q.build().execute(&mut **tx).await.map_err(fail)?;
    Ok(LoginOutcome::Done(person))
}

/// Spends `n` inside the caller's transaction: `false` if it was spent before.
async fn spend_nonce(ex: &mut PgConnection, n: &UsedNonce) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO used_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
    )
    .bind(n.nonce.as_slice())
    .bind(secs(n.expires_at))
    .execute(&mut *ex)
    .await
    .map_err(fail)?;
    Ok(done.rows_affected() == 1)
}
