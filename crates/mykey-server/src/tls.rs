//! TLS where no reverse proxy terminates it (`mykey serve --tls-cert … --tls-key …`): rustls
//! (on aws-lc-rs, as everything else here), TLS 1.3 and 1.2, HTTP/2 and HTTP/1.1 by ALPN. The
//! certificate chain and key are read from their PEM files at start — a pair that does not
//! match is refused then — and read again when either file changes ([`Certificates::reload`],
//! which `mykey serve` runs every few seconds), so a renewed certificate is served on new
//! connections without a restart; a replacement that cannot be read, or whose key does not fit
//! it, is logged and the one in service kept. A key file that others may read, or the group
//! write, is refused ([`key_is_private`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Where the certificate chain (leaf first) and its private key are, in PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC 1).
    pub key: PathBuf,
}

/// What a file was when it was read: its modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(p: &Path) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The certificate served, and the files it comes from.
pub struct Certificates {
    files: TlsFiles,
    current: RwLock<(Arc<CertifiedKey>, [Stamp; 2])>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

/// Reads the pair, refusing one whose key does not fit the leaf certificate. The error says
/// which file and why, never the key.
fn load(files: &TlsFiles) -> Result<CertifiedKey, String> {
    let cert = files.cert.display();
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| format!("cannot read the certificate {cert}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate {cert} is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err(format!("{cert} holds no certificate"));
    }
    let key = files.key.display();
    key_is_private(&files.key)?;
    let der = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("cannot read a private key from {key}: {e}"))?;
    let signing = aws_lc_rs::default_provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| format!("the private key in {key} cannot be used: {e}"))?;
    let pair = CertifiedKey::new(chain, signing);
    pair.keys_match()
        .map_err(|e| format!("the key in {key} does not fit the certificate in {cert}: {e}"))?;
    Ok(pair)
}

/// Refuses a key file others could read or change, as PostgreSQL does its server key: no
/// access for others and none but reading for the group (`0600`, or `0640` for a group such as
/// Debian's `ssl-cert`). The key would otherwise be as good as published to every user of
/// the machine.
fn key_is_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read a private key from {}: {e}", path.display()))?;
        let mode = meta.mode() & 0o777;
        if mode & 0o037 != 0 {
            return Err(format!(
                "the private key {} is open to other users (mode {mode:03o}); \
                 run `chmod 600 {}` (or 640 for a group that serves it) and start again",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(())
}

impl Certificates {
    /// Reads the pair from `files`.
    pub fn open(files: TlsFiles) -> Result<Arc<Self>, String> {
        let stamps = [stamp(&files.cert), stamp(&files.key)];
        let pair = load(&files)?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new((Arc::new(pair), stamps)),
        }))
    }

    /// Reads the pair again if either file changed since it was last read; keeps the one in
    /// service when the new one cannot be used. Answers whether a new pair is now served.
    pub fn reload(&self) -> bool {
        let stamps = [stamp(&self.files.cert), stamp(&self.files.key)];
        if self.current.read().1 == stamps {
            return false;
        }
        match load(&self.files) {
            Ok(pair) => {
                *self.current.write() = (Arc::new(pair), stamps);
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                // Not again until the files change once more.
                self.current.write().1 = stamps;
                tracing::warn!(error = %e, "TLS certificate not reloaded; the one in service is kept");
                false
            }
        }
    }

    /// Reloads every `every` for as long as the task runs.
    pub async fn reload_every(self: Arc<Self>, every: std::time::Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let me = self.clone();
            // File reads: off the runtime's threads.
            let _ = tokio::task::spawn_blocking(move || me.reload()).await;
        }
    }

    /// The server configuration: TLS 1.3 and 1.2 with aws-lc-rs's suites, this certificate,
    /// and ALPN offering HTTP/2 before HTTP/1.1.
    pub(crate) fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, String> {
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_no_client_auth()
                .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().0.clone())
    }
}
