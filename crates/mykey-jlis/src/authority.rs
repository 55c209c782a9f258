//! The CAs: one or more generations per purpose, each with its delegated OCSP responder.
//! Keys live in the simulator's store; nothing of the real J-LIS is used.

use std::sync::Arc;

use mykey_pki::issue::{self, OcspResponder, SigningKey};
use mykey_pki::{CaCertificate, IssuanceNumber, Purpose, UnixTime};

use crate::store::Store;
use crate::{Config, JlisError};

/// One generation of one CA.
pub struct CaGeneration {
    /// Row id in the store.
    pub id: i64,
    /// Which CA.
    pub purpose: Purpose,
    /// 1 for the first, counting up with each rollover.
    pub generation: u32,
    pub(crate) key: SigningKey,
    /// The CA certificate.
    pub cert: CaCertificate,
    pub(crate) responder: OcspResponder,
}

impl std::fmt::Debug for CaGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaGeneration")
            .field("purpose", &self.purpose)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl CaGeneration {
    /// The file stem used in URLs: `user-identification-g1`.
    pub fn stem(&self) -> String {
        format!("{}-g{}", self.purpose.slug(), self.generation)
    }
}

/// All generations of both CAs.
#[derive(Debug, Default)]
pub(crate) struct Authority {
    generations: Vec<Arc<CaGeneration>>,
}

impl Authority {
    pub(crate) async fn load_or_create(
        db: &Store,
        config: &Config,
        now: UnixTime,
    ) -> Result<Self, JlisError> {
        let mut authority = Self::default();
        for row in db.ca_rows().await? {
            let bad =
                |e: mykey_pki::Error| JlisError::storage(format!("stored CA unreadable: {e}"));
            let key = SigningKey::from_pkcs8(&row.key_pkcs8).map_err(bad)?;
            let cert = CaCertificate::from_der(&row.cert_der).map_err(bad)?;
            let responder_key = SigningKey::from_pkcs8(&row.responder_key_pkcs8).map_err(bad)?;
            let responder =
                OcspResponder::new(cert.clone(), responder_key, &row.responder_cert_der)
                    .map_err(bad)?;
            authority.generations.push(Arc::new(CaGeneration {
                id: row.id,
                purpose: row.purpose,
                generation: row.generation,
                key,
                cert,
                responder,
            }));
        }
        for purpose in [Purpose::UserIdentification, Purpose::Signature] {
            if authority.generations(purpose).next().is_none() {
                let g = create_generation(db, config, purpose, 1, now).await?;
                authority.generations.push(Arc::new(g));
            }
        }
        Ok(authority)
    }

    /// Adds the next generation of `purpose`.
    pub(crate) fn add(&mut self, g: CaGeneration) -> Arc<CaGeneration> {
        let g = Arc::new(g);
        self.generations.push(g.clone());
        g
    }

    pub(crate) fn generations(&self, purpose: Purpose) -> impl Iterator<Item = &Arc<CaGeneration>> {
        self.generations
            .iter()
            .filter(move |g| g.purpose == purpose)
    }

    pub(crate) fn all(&self) -> Vec<Arc<CaGeneration>> {
        self.generations.clone()
    }

    /// The newest generation of `purpose`: the one that issues.
    pub(crate) fn current(&self, purpose: Purpose) -> Arc<CaGeneration> {
        self.generations(purpose)
            .max_by_key(|g| g.generation)
            .cloned()
            .expect("load_or_create makes a generation of each purpose")
    }

    pub(crate) fn by_stem(&self, stem: &str) -> Option<Arc<CaGeneration>> {
        self.generations.iter().find(|g| g.stem() == stem).cloned()
    }
}

/// Creates, stores and returns a new CA generation with its OCSP responder.
pub(crate) async fn create_generation(
    db: &Store,
    config: &Config,
    purpose: Purpose,
    generation: u32,
    now: UnixTime,
) -> Result<CaGeneration, JlisError> {
    let pki = |e: mykey_pki::Error| JlisError::storage(format!("CA creation failed: {e}"));
    let not_before = now.minus(60);
    let not_after = now.plus(config.ca_years * 365 * 86_400);
    let key = SigningKey::generate().map_err(pki)?;
    let cert = issue::ca_certificate(&key, purpose, random_serial(), not_before, not_after)
        .map_err(pki)?;
    let responder_key = SigningKey::generate().map_err(pki)?;
    let responder_cert = issue::ocsp_responder_certificate(
        &key,
        &cert,
        &responder_key,
        random_serial(),
        not_before,
        not_after,
    )
    .map_err(pki)?;
    let id = db
        .insert_ca(
            purpose,
            generation,
            &key.to_pkcs8().map_err(pki)?,
            cert.der(),
            &responder_key.to_pkcs8().map_err(pki)?,
            &responder_cert,
            not_before,
            not_after,
        )
        .await?;
    tracing::info!(
        purpose = purpose.slug(),
        generation,
        "created CA generation"
    );
    let responder =
        OcspResponder::new(cert.clone(), responder_key, &responder_cert).map_err(pki)?;
    Ok(CaGeneration {
        id,
        purpose,
        generation,
        key,
        cert,
        responder,
    })
}

/// A random positive 63-bit serial: unpredictable, and the store's primary key keeps it unique.
pub(crate) fn random_serial() -> IssuanceNumber {
    loop {
        let mut b = [0u8; 8];
        // The system RNG failing is not recoverable for a CA.
        aws_lc_rs::rand::fill(&mut b).expect("system randomness");
        let v = u64::from_be_bytes(b) & 0x7fff_ffff_ffff_ffff;
        if let Ok(n) = IssuanceNumber::from_u64(v) {
            return n;
        }
    }
}
