//! PostgreSQL, for production: writers run side by side, so a transaction locks the rows it
//! orders by (`ROW_LOCKS`), each login and each code exchange is its own transaction, and
//! concurrent commits share WAL flushes. Spent nonces are a table with a unique key, which
//! several nodes share.

use std::sync::Arc;

use mykey_pki::UnixTime;
use mykey_platform::oidc::{CodeExchange, ExchangeOutcome, ExchangeStep, IdTokenAlg};
use mykey_platform::{
    CHAIN_DOMAIN, LogHash, LoginOutcome, LoginWrite, PersonId, StoreError, UsedNonce, chain_tail,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, Postgres, Row, Transaction};

use crate::lanes::Lanes;
use crate::{Dialect, PostgresStore, SqlStore, fail, secs};

/// How many connections logins have of their own (`lanes.rs`), beside the pool's 16.
const LOGIN_LANES: usize = 16;

impl PostgresStore {
    /// Connects to and migrates the database at `url`. The pool's connections are pinged
    /// as they are taken (sqlx's default), so that one lost while idle is replaced rather
    /// than fail a request; logins have connections of their own (`lanes.rs`).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse().map_err(fail)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options.clone())
            .await
            .map_err(fail)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(fail)?;
        Ok(Self {
            pool,
            batching: Arc::new(Lanes::new(options, LOGIN_LANES)),
        })
    }
}

#[async_trait::async_trait]
impl Dialect for Postgres {
    const BEGIN: &'static str = "BEGIN";
    const ROW_LOCKS: bool = true;
    const NOW_SECS: &'static str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)";
    /// Logins' own connections (`lanes.rs`).
    type Batching = Arc<Lanes>;

    /// One statement, committed on its own (see [`login_statement`]), on a connection of the
    /// logins' own (`lanes.rs`). Should another transaction have appended to the person's
    /// log after the statement's snapshot was taken, its entry's `(person_id, seq)` is taken:
    /// the statement runs again in a transaction that has locked the person's row first, so
    /// that its snapshot sees the head.
    async fn login(store: &SqlStore<Self>, w: &LoginWrite) -> Result<LoginOutcome, StoreError> {
        let mut lane = store.batching.take().await?;
        let mut done = attempt(&mut lane.conn, w).await;
        if lane.died(&done) {
            // Most likely it died while it waited in its lane (the database restarted or
            // failed over), before the statement reached it. Had the statement run and only
            // its answer been lost, its nonce is spent: the second try is told `Replayed`
            // and writes nothing.
            lane.again().await?;
            done = attempt(&mut lane.conn, w).await;
        }
        lane.keep(&done);
        login_outcome(&done.map_err(fail)?)
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

/// A whole login as one statement, so that it costs the platform one round trip: a nonce
/// spent before is found first, and then nothing is locked or written (replaying one answer
/// many times cannot queue on a person's row); otherwise the person's row is locked (a
/// suspension committed meanwhile is seen, one that comes later waits for the login and then
/// ends its session), the nonce spent only for a number someone holds, and, unless the person
/// is suspended or a login running beside this one spent the nonce first, the log entries
/// chained on the head and the session written. The chain hashes are finished by the
/// database, with the bytes each entry adds ([`chain_tail`]) made here:
/// `SHA-256(CHAIN_DOMAIN ‖ prev ‖ seq ‖ tail)`.
fn login_statement(w: &LoginWrite) -> sqlx::QueryBuilder<Postgres> {
    let mut q = sqlx::QueryBuilder::<Postgres>::new(
        "WITH before AS (SELECT EXISTS (SELECT 1 FROM used_nonces WHERE nonce = ",
    );
    q.push_bind(w.nonce.nonce.as_slice());
    q.push(
        ") AS spent), who AS (SELECT p.id, p.suspended_at IS NOT NULL AS suspended \
         FROM issuance_numbers i JOIN persons p ON p.id = i.person_id \
         WHERE NOT (SELECT spent FROM before) AND i.number = ",
    );
    q.push_bind(w.issuance_number.as_be_bytes());
    q.push(" FOR UPDATE OF p), spent AS (INSERT INTO used_nonces (nonce, expires_at) SELECT ");
    q.push_bind(w.nonce.nonce.as_slice());
    q.push(", ");
    q.push_bind(secs(w.nonce.expires_at));
    q.push(
        " FROM who ON CONFLICT (nonce) DO NOTHING RETURNING 1), \
         e0 AS (SELECT who.id AS person_id, COALESCE(l.seq, 0) AS seq, COALESCE(l.hash, ",
    );
    q.push_bind(LogHash::GENESIS.0.as_slice());
    q.push(
        ") AS hash FROM who LEFT JOIN LATERAL (SELECT seq, hash FROM log_entries \
         WHERE person_id = who.id ORDER BY seq DESC LIMIT 1) l ON true \
         WHERE NOT who.suspended AND EXISTS (SELECT 1 FROM spent))",
    );
    for (n, log) in w.logs.iter().enumerate() {
        q.push(format_args!(
            ", e{} AS (SELECT person_id, seq + 1 AS seq, sha256(",
            n + 1
        ));
        q.push_bind(CHAIN_DOMAIN);
        q.push(" || hash || int8send(seq + 1) || ");
        q.push_bind(chain_tail(w.at.as_secs(), log.kind.as_str(), &log.detail));
        q.push(format_args!(") AS hash FROM e{n})"));
    }
    if !w.logs.is_empty() {
        q.push(", logged AS (INSERT INTO log_entries (person_id, seq, at, kind, detail, hash) ");
        for (n, log) in w.logs.iter().enumerate() {
            if n > 0 {
                q.push(" UNION ALL ");
            }
            q.push("SELECT person_id, seq, ");
            q.push_bind(secs(w.at));
            q.push(", ");
            q.push_bind(log.kind.as_str());
            q.push(", ");
            q.push_bind(log.detail.as_str());
            q.push(format_args!(", hash FROM e{}", n + 1));
        }
        q.push(")");
    }
    q.push(", session AS (INSERT INTO sessions (token_hash, person_id, expires_at) SELECT ");
    q.push_bind(w.token_hash.as_slice());
    q.push(", person_id, ");
    q.push_bind(secs(w.expires_at));
    q.push(
        " FROM e0) SELECT who.id AS person_id, who.suspended, \
         EXISTS (SELECT 1 FROM spent) AS spent, (SELECT spent FROM before) AS spent_before \
         FROM (SELECT 1) AS one LEFT JOIN who ON true",
    );
    q
}

/// What the row of a [`login_statement`] says became of the login.
fn login_outcome(r: &PgRow) -> Result<LoginOutcome, StoreError> {
    if r.try_get("spent_before").map_err(fail)? {
        return Ok(LoginOutcome::Replayed);
    }
    let Some(person) = r.try_get::<Option<i64>, _>("person_id").map_err(fail)? else {
        return Ok(LoginOutcome::UnknownNumber);
    };
    Ok(if !r.try_get::<bool, _>("spent").map_err(fail)? {
        // Spent by a login that committed while this one ran.
        LoginOutcome::Replayed
    } else if r.try_get("suspended").map_err(fail)? {
        // Refused like a bad card (Art 8.2): the nonce stays spent.
        LoginOutcome::Suspended
    } else {
        LoginOutcome::Done(PersonId::new(person))
    })
}

/// [`login_statement`], and should its log entry find its place taken, [`behind_the_lock`].
async fn attempt(conn: &mut PgConnection, w: &LoginWrite) -> Result<PgRow, sqlx::Error> {
    let done = login_statement(w).build().fetch_one(&mut *conn).await;
    match done {
        Err(e) if log_head_taken(&e) => behind_the_lock(conn, w).await,
        done => done,
    }
}

/// [`login_statement`] in a transaction that has locked the person's row before it, rolled
/// back at once if it fails (sqlx would otherwise send the rollback only with the
/// connection's next statement, and the row would stay locked until then).
async fn behind_the_lock(conn: &mut PgConnection, w: &LoginWrite) -> Result<PgRow, sqlx::Error> {
    let mut tx = conn
        .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
        .await?;
    match locked_statement(&mut tx, w).await {
        Ok(row) => {
            tx.commit().await?;
            Ok(row)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

async fn locked_statement(
    tx: &mut Transaction<'_, Postgres>,
    w: &LoginWrite,
) -> Result<PgRow, sqlx::Error> {
    sqlx::query(
        "SELECT 1 FROM issuance_numbers i JOIN persons p ON p.id = i.person_id \
         WHERE i.number = $1 FOR UPDATE OF p",
    )
    .bind(w.issuance_number.as_be_bytes())
    .execute(&mut **tx)
    .await?;
    login_statement(w).build().fetch_one(&mut **tx).await
}

/// Whether `e` is a login's log entry finding its `(person_id, seq)` taken: its head was read
/// before another transaction's append committed.
fn log_head_taken(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation() && d.constraint() == Some("log_entries_pkey"))
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
