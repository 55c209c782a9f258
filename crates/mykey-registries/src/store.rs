//! Each simulator's SQLite store: one table, every acknowledged write on disk (WAL,
//! synchronous=FULL).

use std::path::Path;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::OpenError;

/// Mynaportal's schema: the cards registered as health-insurance cards.
pub(crate) const MYNAPORTAL: &str = "CREATE TABLE IF NOT EXISTS health_insurance (
    issuance_number TEXT    PRIMARY KEY,
    insurer_number  TEXT    NOT NULL,
    registered_at   INTEGER NOT NULL
)";

/// The registry's schema: one account per holder, under the issuance number it was registered
/// with (a renewed card finds it through its previous numbers).
pub(crate) const ACCOUNTS: &str = "CREATE TABLE IF NOT EXISTS accounts (
    issuance_number TEXT    PRIMARY KEY,
    bank_code       TEXT    NOT NULL,
    branch_code     TEXT    NOT NULL,
    account_type    TEXT    NOT NULL,
    number          TEXT    NOT NULL,
    holder          TEXT    NOT NULL,
    registered_at   INTEGER NOT NULL
)";

#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) pool: SqlitePool,
}

impl Store {
    pub(crate) async fn open(path: &Path, schema: &'static str) -> Result<Self, OpenError> {
        let fail = |e: sqlx::Error| OpenError(format!("{}: {e}", path.display()));
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // A checkpointed write-ahead log is cut back to 4 MiB, so a burst leaves no
            // large file behind.
            .pragma("journal_size_limit", "4194304")
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(fail)?;
        sqlx::query(schema).execute(&pool).await.map_err(fail)?;
        Ok(Self { pool })
    }
}
