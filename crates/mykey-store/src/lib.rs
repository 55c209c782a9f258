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

#[cfg(feature = "bench")]
pub mod bench;
mod chain;
mod dialect;
mod events;
mod facts;
mod links;
mod login;
mod oidc;
mod people;
mod postgres;
mod ppids;
mod relying_parties;
mod sqlite;
mod terms;

use std::sync::Arc;

use mykey_pki::UnixTime;
use mykey_platform::{Store, StoreError};

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
        Err(StoreError(format!(
            "unsupported database URL (sqlite:// or postgres://): {url}"
        )))
    }
}

pub(crate) fn fail(e: impl std::fmt::Display) -> StoreError {
    let detail = e.to_string();
    tracing::error!(%detail, "store failure");
    StoreError(detail)
}

pub(crate) fn secs(t: UnixTime) -> i64 {
    t.as_secs() as i64
}

pub(crate) fn time(v: i64) -> UnixTime {
    UnixTime::from_secs(v.max(0) as u64)
}

pub(crate) fn hash32(v: &[u8]) -> Result<[u8; 32], StoreError> {
    v.try_into()
        .map_err(|_| StoreError("stored hash is not 32 bytes".into()))
}
