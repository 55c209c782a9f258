//! The J-LIS simulator: the certificate authority behind the My Number Card, run on one machine.
//!
//! It keeps its own SQLite store under a data folder and, over HTTP:
//! - creates on first start a user-identification CA and a signature CA (RSA-2048, the JPKI
//!   names), each with a delegated OCSP responder; a rollover adds a generation under the same name;
//! - issues, renews, revokes and re-issues on a change of the four facts (the admin API);
//! - serves OCSP (RFC 6960) for both CAs, complete and delta CRLs (RFC 5280) on a fixed cadence,
//!   the CA certificates, and the two JSON services of docs/jpki.md §18 (previous issuance numbers; the
//!   status of the signature certificate tied to a user-identification certificate).
//!
//! [`JlisClient`] is the HTTP client the platform and the command line use.

mod authority;
mod crl;
mod error;
mod http;
mod lifecycle;
mod ocsp;
mod store;
mod validity;

use std::path::PathBuf;
use std::sync::Arc;

pub use authority::CaGeneration;
pub use error::JlisError;
pub use http::router;
/// The JSON the simulator speaks, defined with the platform's client.
pub use mykey_jlis_client::api;
/// The clock, shared with the platform (`mykey_pki::Clock`).
pub use mykey_pki::{Clock, ManualClock, SystemClock};
pub use ocsp::OcspReply;
pub use validity::certificate_not_after;

/// How the simulator runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the SQLite store lives (`jlis.sqlite3`).
    pub data_dir: PathBuf,
    /// The URL others reach this simulator at; written into certificates (OCSP, CRL, CA URLs).
    pub base_url: String,
    /// Seconds between complete CRLs (their validity).
    pub crl_period: u64,
    /// Seconds between delta CRLs (their validity).
    pub delta_crl_period: u64,
    /// Seconds an OCSP answer is valid and reused for (signed once per window).
    pub ocsp_validity: u64,
    /// Years a CA generation is valid.
    pub ca_years: u64,
}

impl Config {
    /// Defaults: daily complete CRLs, deltas every 15 minutes, OCSP answers for an hour, CAs for
    /// ten years.
    pub fn new(data_dir: impl Into<PathBuf>, base_url: impl Into<String>) -> Self {
        Self {
            data_dir: data_dir.into(),
            base_url: base_url.into(),
            crl_period: 86_400,
            delta_crl_period: 900,
            ocsp_validity: 3_600,
            ca_years: 10,
        }
    }
}

/// The running simulator: store, CAs, clock and caches. Cheap to share (`Arc`).
pub struct Jlis {
    db: store::Store,
    authority: parking_lot::RwLock<authority::Authority>,
    clock: Arc<dyn Clock>,
    config: Config,
    /// Signs the four facts written to a card's ticket-item AP (file `0003`).
    ticket_key: mykey_pki::issue::SigningKey,
    ocsp_cache: ocsp::Cache,
    // Serialises CRL publication so that CRL numbers are handed out in order.
    publishing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Jlis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jlis")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Jlis {
    /// Opens (or creates) the store under `config.data_dir`, creating the CAs on first start, and
    /// publishes CRLs if none is current.
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> Result<Arc<Self>, JlisError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            JlisError::storage(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
        let sealing = sealing_key(&config.data_dir)?;
        let db = store::Store::open(&config.data_dir.join("jlis.sqlite3"), sealing).await?;
        let authority = authority::Authority::load_or_create(&db, &config, clock.now()).await?;
        let ticket_key =
            mykey_pki::issue::SigningKey::from_pkcs8(&db.ticket_item_key(clock.now()).await?)
                .map_err(|e| {
                    JlisError::storage(format!("stored ticket-item key unreadable: {e}"))
                })?;
        let jlis = Arc::new(Self {
            db,
            authority: parking_lot::RwLock::new(authority),
            clock,
            config,
            ticket_key,
            ocsp_cache: ocsp::Cache::default(),
            publishing: tokio::sync::Mutex::new(()),
        });
        jlis.publish_due_crls(false).await?;
        Ok(jlis)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The CA certificates of `purpose`, oldest generation first.
    pub fn ca_certificates(&self, purpose: mykey_pki::Purpose) -> Vec<mykey_pki::CaCertificate> {
        self.authority
            .read()
            .generations(purpose)
            .map(|g| g.cert.clone())
            .collect()
    }

    /// Publishes CRLs on the configured cadence until the task is dropped.
    pub async fn run_publisher(self: Arc<Self>) {
        let tick = self.config.delta_crl_period.clamp(1, 60);
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(tick)).await;
            if let Err(e) = self.publish_due_crls(false).await {
                tracing::error!(error = %e, "CRL publication failed");
            }
        }
    }
}

/// The key the CAs' private keys are sealed with in the store: the file `secrets.key` beside
/// it (32 bytes, mode 0600), made on first start. A copy of the database alone gives no key
/// away; back the file up with it (without it the CAs cannot be loaded).
fn sealing_key(dir: &std::path::Path) -> Result<mykey_pki::SealingKey, JlisError> {
    use std::io::Write;
    let path = dir.join("secrets.key");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let b = mykey_pki::SealingKey::generate()
                .map_err(|e| JlisError::storage(e.to_string()))?
                .to_vec();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            opts.open(&path)
                .and_then(|mut f| f.write_all(&b).and_then(|()| f.sync_all()))
                .map_err(|e| JlisError::storage(format!("cannot write {}: {e}", path.display())))?;
            b
        }
        Err(e) => {
            return Err(JlisError::storage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    mykey_pki::SealingKey::from_bytes(&bytes)
        .map_err(|_| JlisError::storage(format!("{} is not a 32-byte key", path.display())))
}

/// Serves the simulator on `listener` (and publishes CRLs on the cadence) until `shutdown`
/// completes.
pub async fn serve(
    jlis: Arc<Jlis>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let publisher = tokio::spawn(jlis.clone().run_publisher());
    let result = axum::serve(listener, router(jlis))
        .with_graceful_shutdown(shutdown)
        .await;
    publisher.abort();
    result
}
