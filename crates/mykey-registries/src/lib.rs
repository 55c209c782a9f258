//! Two systems the card points rely on, simulated as J-LIS is (`mykey-jlis`): each a separate
//! service with its own SQLite store and its own OpenAPI document (`GET /v1/openapi.json`),
//! started in-process by `mykey serve` by default and reachable by URL otherwise.
//!
//! - [`Mynaportal`] — which cards are registered as health-insurance cards. The platform gives
//!   it the issuance number of the holder's user-identification certificate (Terms Art 24)
//!   and learns whether, and since when.
//! - [`AccountRegistry`] — the public-fund receiving accounts. It refuses an account not of a
//!   bank account's shape (bank code 4 digits, branch 3, a type, number 7, the holder's name in
//!   full-width katakana); the platform gives it the issuance number and the previous ones
//!   (Art 25.1.1) and receives whether an account is registered (Art 25.1.2) — never the
//!   account itself.
//!
//! Like the J-LIS simulator they are for development: their registration endpoints (the card
//! holder's own acts at Mynaportal) ask no credentials, so they listen on loopback.

mod http;
mod store;

use std::path::Path;
use std::sync::Arc;

pub use http::{AccountRegistry, Mynaportal};

/// Why a simulator could not start.
#[derive(Debug)]
pub struct OpenError(pub String);

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OpenError {}

impl Mynaportal {
    /// Opens (or creates) its store in `dir`.
    pub async fn open(dir: &Path) -> Result<Arc<Self>, OpenError> {
        Ok(Arc::new(Self {
            store: store::Store::open(&dir.join("mynaportal.sqlite3"), store::MYNAPORTAL).await?,
        }))
    }
}

impl AccountRegistry {
    /// Opens (or creates) its store in `dir`.
    pub async fn open(dir: &Path) -> Result<Arc<Self>, OpenError> {
        Ok(Arc::new(Self {
            store: store::Store::open(&dir.join("account-registry.sqlite3"), store::ACCOUNTS)
                .await?,
        }))
    }
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    router: axum::Router,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
