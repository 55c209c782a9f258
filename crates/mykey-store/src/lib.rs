//! The platform's storage: one struct per backend, each with its own migrations, chosen once at
//! start-up by [`open`]. Both implement [`mykey_platform::Store`] with the same SQL (numbered
//! `$n` parameters, `RETURNING`, partial unique indexes: what SQLite and PostgreSQL share), and
//! one conformance suite (`tests/`) runs against both.
//!
//! Every method is one transaction. SQLite transactions begin `IMMEDIATE` (writers queue rather
//! than fail); PostgreSQL ones lock the person's row before appending to their log.

mod backend;
mod batch;
mod checkpoint;
mod clients;
mod events;
mod exchange;
mod facts;
mod links;
mod login;
mod oidc;
mod ppids;
mod spent;

use std::sync::Arc;

use mykey_platform::{Store, StoreError};

pub use backend::{PostgresStore, SqliteStore};

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

/// Loads `count` synthetic people (see [`SqliteStore::seed_persons`]) into the store at `url`.
pub async fn seed(
    url: &str,
    first: u64,
    count: u64,
    at: mykey_pki::UnixTime,
    progress: impl FnMut(u64),
) -> Result<(), StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        SqliteStore::open(std::path::Path::new(path))
            .await?
            .seed_persons(first, count, at, progress)
            .await
    } else {
        PostgresStore::open(url)
            .await?
            .seed_persons(first, count, at, progress)
            .await
    }
}

pub(crate) fn fail(e: impl std::fmt::Display) -> StoreError {
    let detail = e.to_string();
    tracing::error!(%detail, "store failure");
    StoreError(detail)
}

/// Opens the store at `url` and loads `count` linked people for relying party `rp` (see
/// [`SqliteStore::seed_linked`]); answers the store.
pub async fn seed_linked(
    url: &str,
    rp: mykey_platform::RelyingPartyId,
    first: (u64, u64),
    count: u64,
    at: mykey_pki::UnixTime,
    progress: impl FnMut(u64),
) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let s = SqliteStore::open(std::path::Path::new(path)).await?;
        s.seed_linked(rp, first, count, at, progress).await?;
        Ok(Arc::new(s))
    } else {
        let s = PostgresStore::open(url).await?;
        s.seed_linked(rp, first, count, at, progress).await?;
        Ok(Arc::new(s))
    }
}

/// Opens the store at `url` and seeds exchangeable authorization codes for the OpenID Connect
/// client `client_id` (see [`SqliteStore::seed_codes`]): `codes` are each code's SHA-256 and
/// PKCE challenge, all for one new person.
pub async fn seed_codes(
    url: &str,
    client_id: &str,
    codes: &[([u8; 32], String)],
    at: mykey_pki::UnixTime,
    expires_at: mykey_pki::UnixTime,
) -> Result<(), StoreError> {
    let store = open(url).await?;
    let (rp, _) = store
        .relying_party_by_client_id(client_id)
        .await?
        .ok_or_else(|| StoreError(format!("no relying party {client_id}")))?;
    let number =
        mykey_pki::IssuanceNumber::from_u64(0xB0_0000_0000 + at.as_secs()).map_err(fail)?;
    let person = store
        .link_issuance_number(number, &[], at, &[])
        .await?
        .person();
    let ppid = mykey_platform::Ppid::from_bytes([0xB5; 16]);
    if let Some(path) = url.strip_prefix("sqlite://") {
        SqliteStore::open(std::path::Path::new(path))
            .await?
            .seed_codes(rp.id, person, ppid, codes, at, expires_at)
            .await
    } else {
        PostgresStore::open(url)
            .await?
            .seed_codes(rp.id, person, ppid, codes, at, expires_at)
            .await
    }
}
