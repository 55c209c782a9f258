//! What differs between SQLite and PostgreSQL, named in one trait. Everything else — the SQL,
//! which both databases accept as written (numbered `$n` parameters, `RETURNING`, partial
//! unique indexes, `ON CONFLICT`) — is written once, generic over the [`Dialect`], in the file
//! of the aggregate it belongs to.
//!
//! Generic code over a sqlx database names the column types it binds and reads, and that the
//! connection executes queries. Rust does not carry such bounds along with `D: Dialect` (only
//! bounds on `D` itself are implied), so each generic `impl` block states them, in the same
//! lines (copy them from the block beside):
//!
//! ```ignore
//! where
//!     for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
//!     for<'a> &'a str: StoredRef<'a, D> + ColumnIndex<D::Row>,
//!     for<'a> &'a [u8]: StoredRef<'a, D>,
//!     for<'a> Option<&'a str>: Encode<'a, D>,
//!     for<'a> Option<&'a [u8]>: Encode<'a, D>,
//!     usize: ColumnIndex<D::Row>,
//!     i64: Stored<D>,
//!     Option<i64>: Stored<D>,
//!     i32: Stored<D>,
//!     bool: Stored<D>,
//!     String: Stored<D>,
//!     Option<String>: Stored<D>,
//!     Vec<u8>: Stored<D>,
//! ```
//!
//! Both databases satisfy them, so a missing one is a compile error at the block, never at run
//! time.

use mykey_pki::UnixTime;
use mykey_platform::oidc::{CodeExchange, ExchangeOutcome};
use mykey_platform::{LoginOutcome, LoginWrite, StoreError, UsedNonce};
use sqlx::{Database, Decode, Encode, IntoArguments, Transaction, Type};

use crate::SqlStore;

/// A database the store runs on: implemented for [`sqlx::Sqlite`] (`sqlite/`) and
/// [`sqlx::Postgres`] (`postgres.rs`).
#[async_trait::async_trait]
pub trait Dialect:
    Database<Arguments: IntoArguments<Self>, QueryResult: RowsAffected> + Sync
{
    /// How a writing transaction begins. SQLite: `BEGIN IMMEDIATE`, so that a writer queues for
    /// the one write lock at its start rather than failing at its first write.
    const BEGIN: &'static str;

    /// Whether writers run side by side and must lock the rows they order by (PostgreSQL:
    /// `SELECT … FOR UPDATE`): the people whose logs a transaction appends to, and the relying
    /// parties whose events it queues, always people first and each in ID order, so that no
    /// two transactions wait on each other. SQLite has one writer at a time and needs none.
    const ROW_LOCKS: bool;

    /// The database's clock in whole Unix seconds, as an SQL expression (the leases'
    /// clock, which every node sharing the database reads alike).
    const NOW_SECS: &'static str;

    /// The batching strategy's state: SQLite's group commit and spent-nonce memory
    /// (`sqlite/`); nothing for PostgreSQL, whose concurrent commits share WAL flushes.
    type Batching: Clone + Send + Sync + std::fmt::Debug;

    /// A login in one transaction (see [`mykey_platform::LoginStore::login`]).
    async fn login(store: &SqlStore<Self>, w: &LoginWrite) -> Result<LoginOutcome, StoreError>;

    /// Spends a nonce (see [`mykey_platform::LoginStore::use_nonce`]).
    async fn use_nonce(store: &SqlStore<Self>, n: &UsedNonce) -> Result<bool, StoreError>;

    /// Removes the spent nonces expired by `at` inside the caller's transaction.
    async fn purge_nonces(tx: &mut Transaction<'_, Self>, at: UnixTime) -> Result<u64, StoreError>;

    /// After the purge's commit.
    fn nonces_purged(store: &SqlStore<Self>, at: UnixTime);

    /// Carries out a code exchange (see [`mykey_platform::oidc::OidcStore::exchange_code`]).
    async fn exchange_code(
        store: &SqlStore<Self>,
        x: &CodeExchange,
    ) -> Result<ExchangeOutcome, StoreError>;

    /// Takes a point application (see [`mykey_platform::PointStore::apply_for_points`]).
    async fn apply_for_points(
        store: &SqlStore<Self>,
        new: &mykey_platform::NewPointApplication,
        logs: &[mykey_platform::NewLog],
    ) -> Result<Result<mykey_platform::PointApplication, mykey_platform::PlatformError>, StoreError>;

    /// A report's applicants, inside the caller's transaction: for each of
    /// `settlement_user_ids` held by an application of `provider` in `round`, the ID, the
    /// application, its state and when it was made.
    async fn point_applicants(
        tx: &mut Transaction<'_, Self>,
        provider: i64,
        round: i64,
        settlement_user_ids: &[&str],
    ) -> Result<Vec<(String, i64, String, i64)>, StoreError>;

    /// Writes a report's transactions inside the caller's transaction, each taking the next
    /// sequence number and a repeated (provider, transaction ID) skipped; answers how many
    /// were new. One statement over the report as one value: SQLite `json_each`, PostgreSQL
    /// `UNNEST` of arrays.
    async fn insert_point_transactions(
        tx: &mut Transaction<'_, Self>,
        provider: i64,
        round: i64,
        received_at: i64,
        rows: &[crate::point_grants::TransactionRow<'_>],
    ) -> Result<u64, StoreError>;

    /// Leaves replaced values nowhere in the database's files (after secrets were resealed).
    async fn compact(store: &SqlStore<Self>) -> Result<(), StoreError>;
}

/// A value type both databases bind and read (`i64`).
pub trait Stored<DB: Database>: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

impl<DB: Database, T> Stored<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>
{
}

/// A borrowed value type both databases bind and read for as long as the row lives (`&str`,
/// `&[u8]`); its owned form comes with it.
pub trait StoredRef<'a, DB: Database>: Encode<'a, DB> + Decode<'a, DB> + Type<DB> {}

impl<'a, DB: Database, T> StoredRef<'a, DB> for T where T: Encode<'a, DB> + Decode<'a, DB> + Type<DB>
{}

/// How many rows a statement changed (both databases' results have it, as an inherent method).
pub trait RowsAffected {
    /// The count.
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}
