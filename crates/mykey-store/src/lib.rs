//! The platform's storage: [`SqlStore`] over one of two databases — SQLite, the embedded
//! default, and PostgreSQL for production — chosen once, by [`open`]. Each implements
//! [`mykey_platform::Store`] with the same SQL, one file per aggregate of that trait
//! (`login.rs`, `people.rs`, `relying_parties.rs`, `links.rs`, `terms.rs`, `ppids.rs`,
//! `events.rs`, `facts.rs`, `oidc.rs`); what differs between the databases is the
//! [`Dialect`] (`dialect.rs`, with `sqlite/` and `postgres.rs`). The person log's hash chain is
//! `chain.rs`. Each backend has its own migrations, and one conformance suite (`tests/`) runs
//! against both.
//!
//! Every method is one transaction. SQLite transactions begin `IMMEDIATE` (writers queue rather
//! than fail); PostgreSQL ones lock the person's row before appending to their log.

pub mod backup;
#[cfg(feature = "bench")]
pub mod bench;
mod card_ends;
mod chain;
mod cluster;
mod dialect;
mod events;
mod facts;
mod lanes;
mod links;
mod locks;
mod login;
mod maintenance;
mod oidc;
mod operators;
mod people;
mod point_grants;
mod point_triggers;
mod points;
mod postgres;
mod ppids;
mod relying_parties;
mod service_id_login;
mod sqlite;
mod terms;

use std::sync::Arc;

use mykey_pki::UnixTime;
use mykey_platform::{Store, StoreError, StoreErrorKind};

pub use dialect::{Dialect, RowsAffected, Stored, StoredRef};

/// The store on one database `D`.
pub struct SqlStore<D: Dialect> {
    pub(crate) pool: sqlx::Pool<D>,
    pub(crate) batching: D::Batching,
}

impl<D: Dialect> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            batching: self.batching.clone(),
        }
    }
}

impl<D: Dialect> std::fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("database", &D::NAME)
            .field("batching", &self.batching)
            .finish()
    }
}

impl<D: Dialect> SqlStore<D> {
    /// The pool (for tests that need a fresh schema or a look at the rows).
    pub fn pool(&self) -> &sqlx::Pool<D> {
        &self.pool
    }
}

/// SQLite: the embedded default, a file under the data folder (WAL, synchronous=FULL).
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

/// PostgreSQL: production.
pub type PostgresStore = SqlStore<sqlx::Postgres>;

/// Opens the store a URL names: `sqlite://PATH` (created if missing) or `postgres://…`.
/// Migrations run before it is returned.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::unavailable(format!(
            "unsupported database URL (sqlite:// or postgres://): {}",
            redacted(url)
        )))
    }
}

/// `url` as it may be shown: its scheme, and nothing of what follows that could be a password
/// (`scheme://user:password@host/…` → `scheme://…`).
fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _)) if scheme.len() <= 32 => format!("{scheme}://…"),
        _ => "(not a URL)".into(),
    }
}

/// A failure, logged where it arose, with its kind.
pub(crate) fn fail(e: impl Failure) -> StoreError {
    let detail = e.to_string();
    let kind = e.kind();
    tracing::error!(?kind, %detail, "store failure");
    StoreError { kind, detail }
}

/// What kind of store failure an error is.
pub(crate) trait Failure: std::fmt::Display {
    /// Its kind.
    fn kind(&self) -> StoreErrorKind;
}

impl Failure for sqlx::Error {
    fn kind(&self) -> StoreErrorKind {
        use sqlx::error::ErrorKind;
        match self {
            sqlx::Error::Database(e) => match e.kind() {
                ErrorKind::UniqueViolation
                | ErrorKind::ForeignKeyViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::CheckViolation => StoreErrorKind::Conflict,
                // PostgreSQL's serialization failure and deadlock: the transaction may be run
                // again. SQLite's busy and locked: the writer is taken.
                _ if matches!(e.code().as_deref(), Some("40001" | "40P01" | "5" | "6")) => {
                    StoreErrorKind::Conflict
                }
                _ => StoreErrorKind::Unavailable,
            },
            sqlx::Error::RowNotFound
            | sqlx::Error::TypeNotFound { .. }
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::Encode(_) => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Unavailable,
        }
    }
}

impl Failure for sqlx::migrate::MigrateError {
    fn kind(&self) -> StoreErrorKind {
        match self {
            sqlx::migrate::MigrateError::Execute(e) => e.kind(),
            // A database migrated by a newer version, or edited by hand.
            _ => StoreErrorKind::Corrupt,
        }
    }
}

/// A value the store itself puts into JSON: a failure is a bug, not the database's.
impl Failure for serde_json::Error {
    fn kind(&self) -> StoreErrorKind {
        StoreErrorKind::Corrupt
    }
}

/// The logins' lanes closed (never: they are not).
impl Failure for tokio::sync::AcquireError {
    fn kind(&self) -> StoreErrorKind {
        StoreErrorKind::Unavailable
    }
}

/// A connection that took too long to make.
impl Failure for tokio::time::error::Elapsed {
    fn kind(&self) -> StoreErrorKind {
        StoreErrorKind::Unavailable
    }
}

impl Failure for std::io::Error {
    fn kind(&self) -> StoreErrorKind {
        StoreErrorKind::Unavailable
    }
}

/// A stored value that does not parse is corruption.
impl Failure for mykey_platform::IdError {
    fn kind(&self) -> StoreErrorKind {
        StoreErrorKind::Corrupt
    }
}

impl Failure for mykey_pki::Error {
    fn kind(&self) -> StoreErrorKind {
        StoreErrorKind::Corrupt
    }
}

pub(crate) fn secs(t: UnixTime) -> i64 {
    t.as_secs() as i64
}

pub(crate) fn time(v: i64) -> UnixTime {
    UnixTime::from_secs(v.max(0) as u64)
}

pub(crate) fn hash32(v: &[u8]) -> Result<[u8; 32], StoreError> {
    v.try_into()
        .map_err(|_| StoreError::corrupt("stored hash is not 32 bytes"))
}

pub(crate) fn customer_id(v: &str) -> Result<mykey_platform::CustomerId, StoreError> {
    v.parse().map_err(fail)
}

pub(crate) fn link_request_id(v: &[u8]) -> Result<mykey_platform::LinkRequestId, StoreError> {
    v.try_into()
        .map(mykey_platform::LinkRequestId::from_bytes)
        .map_err(|_| StoreError::corrupt("stored link request ID is not 16 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_has_the_kind_that_says_whether_to_try_again() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        sqlx::query("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .expect("a table");
        let insert = || sqlx::query("INSERT INTO t VALUES (1)").execute(&pool);
        insert().await.expect("a first row");
        let taken = insert().await.expect_err("the key is taken");
        assert_eq!(fail(taken).kind, StoreErrorKind::Conflict);
        let missing = sqlx::query("SELECT v FROM t WHERE v = 2")
            .fetch_one(&pool)
            .await
            .expect_err("no such row");
        assert_eq!(fail(missing).kind, StoreErrorKind::Corrupt);
        pool.close().await;
        let closed = sqlx::query("SELECT 1")
            .execute(&pool)
            .await
            .expect_err("the pool is closed");
        assert_eq!(fail(closed).kind, StoreErrorKind::Unavailable);
    }
}
