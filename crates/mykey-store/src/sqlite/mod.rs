//! SQLite, the embedded default: a file under the data folder (WAL, `synchronous=FULL`), one
//! writer at a time. Its dialect: transactions begin `IMMEDIATE`, no row locks, and writes that
//! arrive together are committed together — logins (`login.rs`), code exchanges
//! (`exchange.rs`) and point applications (`applications.rs`) each through one task that runs every waiting write in one transaction
//! (`batch.rs`), spent nonces answered from memory (`spent.rs`), and WAL checkpoints off the
//! write path (`checkpoint.rs`).

mod applications;
mod batch;
mod checkpoint;
mod exchange;
mod login;
mod spent;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use mykey_pki::UnixTime;
use mykey_platform::oidc::{CodeExchange, ExchangeOutcome};
use mykey_platform::{LoginOutcome, LoginWrite, StoreError, UsedNonce};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use self::batch::GroupCommit;
use crate::{Dialect, SqlStore, SqliteStore, fail, secs};

/// SQLite's group commits and spent-nonce memory.
#[derive(Clone, Debug)]
pub struct Batching {
    spent: Arc<spent::Spent>,
    logins: GroupCommit<login::Logins>,
    exchanges: GroupCommit<exchange::Exchanges>,
    applications: GroupCommit<applications::Applications>,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(fail)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Statement journals (a multi-row statement's undo) in memory: past 64 KiB SQLite
            // would otherwise spill them to a temporary file, opened and deleted per statement.
            .pragma("temp_store", "MEMORY")
            // 32 MiB of page cache (the default is 2 MiB), so the indexes' hot pages stay.
            .pragma("cache_size", "-32768")
            .busy_timeout(std::time::Duration::from_secs(10));
        // One connection: SQLite has one writer at a time, and with several connections the
        // others wait in its busy handler (sleeping), which costs far more than queueing here.
        // It never checkpoints the WAL itself: see `checkpoint.rs`.
        // No ping before each use: the file connection has no network to lose, and the ping
        // is one more round trip to the connection's thread per transaction.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(fail)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(fail)?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(fail)?;
        let spent = spent::Spent::load(&pool).await?;
        let logins = GroupCommit::start(pool.clone(), Arc::clone(&spent));
        checkpoint::start(checkpointer, logins.downgrade());
        let exchanges = GroupCommit::start(pool.clone(), Arc::clone(&spent));
        let applications = GroupCommit::start(pool.clone(), Arc::clone(&spent));
        Ok(Self {
            pool,
            batching: Batching {
                spent,
                logins,
                exchanges,
                applications,
            },
        })
    }
}

#[async_trait::async_trait]
impl Dialect for Sqlite {
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    const ROW_LOCKS: bool = false;
    const NOW_SECS: &'static str = "unixepoch()";
    type Batching = Batching;

    async fn login(store: &SqlStore<Self>, w: &LoginWrite) -> Result<LoginOutcome, StoreError> {
        store.batching.logins.write(w.clone()).await
    }

    /// Spends `n` (see `spent.rs`): claimed in memory, appended, kept once committed.
    async fn use_nonce(store: &SqlStore<Self>, n: &UsedNonce) -> Result<bool, StoreError> {
        let mut claims = store.batching.spent.claims();
        if !claims.claim(n) {
            return Ok(false);
        }
        let mut q = QueryBuilder::<Sqlite>::new("");
        spent::push_append(&mut q, [n]);
        q.build().execute(&store.pool).await.map_err(fail)?;
        claims.keep();
        Ok(true)
    }

    async fn purge_nonces(tx: &mut Transaction<'_, Self>, at: UnixTime) -> Result<u64, StoreError> {
        // Nonces are appended in the order spent, their expiries nearly in that order too (a
        // few lifetimes, up to 10 minutes): the table's beginning up to the first nonce still
        // live has expired, and goes. The few expired nonces after that one go at a later
        // purge; until then the table keeps them (memory forgets them now), which is harmless,
        // as an expired nonce is refused before anyone asks whether it was spent. Finding the
        // first live nonce reads just the rows that go, so no index on the expiry is needed.
        Ok(sqlx::query(
            "DELETE FROM spent_nonces WHERE id < coalesce(\
             (SELECT id FROM spent_nonces WHERE expires_at >= $1 ORDER BY id LIMIT 1), \
             (SELECT max(id) + 1 FROM spent_nonces))",
        )
        .bind(secs(at))
        .execute(&mut **tx)
        .await
        .map_err(fail)?
        .rows_affected())
    }

    /// After the purge's commit: memory forgets every expired nonce (the table may keep a few
    /// spent after a live one; harmless, as said above).
    fn nonces_purged(store: &SqlStore<Self>, at: UnixTime) {
        store.batching.spent.forget_before(secs(at));
    }

    async fn exchange_code(
        store: &SqlStore<Self>,
        x: &CodeExchange,
    ) -> Result<ExchangeOutcome, StoreError> {
        store.batching.exchanges.write(x.clone()).await
    }

    async fn apply_for_points(
        store: &SqlStore<Self>,
        new: &mykey_platform::NewPointApplication,
        logs: &[mykey_platform::NewLog],
    ) -> Result<Result<mykey_platform::PointApplication, mykey_platform::PlatformError>, StoreError>
    {
        store
            .batching
            .applications
            .write((new.clone(), logs.to_vec()))
            .await?
    }

    /// The IDs as one JSON array, which SQLite reads itself (`json_each`): a thousand values
    /// bound one by one cost more than the lookup.
    async fn point_applicants(
        tx: &mut Transaction<'_, Self>,
        provider: i64,
        round: i64,
        settlement_user_ids: &[&str],
    ) -> Result<Vec<(String, i64, String, i64)>, StoreError> {
        let ids = serde_json::to_string(settlement_user_ids).map_err(fail)?;
        Ok(sqlx::query(
            "SELECT settlement_user_id, id, state, submitted_at FROM point_applications \
             WHERE round_id = $1 AND provider_id = $2 \
             AND settlement_user_id IN (SELECT value FROM json_each($3))",
        )
        .bind(round)
        .bind(provider)
        .bind(ids)
        .fetch_all(&mut **tx)
        .await
        .map_err(fail)?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
    }

    /// The rows as one JSON array of arrays, as above.
    async fn insert_point_transactions(
        tx: &mut Transaction<'_, Self>,
        provider: i64,
        round: i64,
        received_at: i64,
        rows: &[crate::point_grants::TransactionRow<'_>],
    ) -> Result<u64, StoreError> {
        let rows: Vec<(&str, i64, i64, i64, i64)> = rows
            .iter()
            .map(|t| {
                (
                    t.transaction_id,
                    t.application,
                    t.amount,
                    t.points,
                    t.occurred_at,
                )
            })
            .collect();
        let rows = serde_json::to_string(&rows).map_err(fail)?;
        Ok(sqlx::query(
            "INSERT INTO point_transactions (provider_id, round_id, received_at, transaction_id, \
             application_id, amount, points, occurred_at) \
             SELECT $1, $2, $3, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 \
             FROM json_each($4) WHERE true \
             ON CONFLICT (provider_id, transaction_id) DO NOTHING",
        )
        .bind(provider)
        .bind(round)
        .bind(received_at)
        .bind(rows)
        .execute(&mut **tx)
        .await
        .map_err(fail)?
        .rows_affected())
    }

    /// Rewrites the database file without free pages and empties the write-ahead log, so that
    /// replaced secrets are left nowhere on disk.
    async fn compact(store: &SqlStore<Self>) -> Result<(), StoreError> {
        sqlx::query("VACUUM")
            .execute(&store.pool)
            .await
            .map_err(fail)?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&store.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }
}
