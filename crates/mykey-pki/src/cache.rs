//! A bounded cache of user-identification certificates whose profile and path have been checked.
//!
//! A card presents the same certificate at every login. Its profile and its CA's signature on it
//! do not change, so they are checked once; a cached certificate is still checked against the
//! time of each login (its own validity and its CA's), and revocation is always asked afresh.
//! This takes one RSA verification off the per-login cost.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::{Error, TrustAnchors, UnixTime, UserIdentificationCertificate};

/// Checked certificates by SHA-256 of their DER, bound to one set of trust anchors.
#[derive(Debug)]
pub struct VerifiedCertificates {
    anchors: RwLock<Arc<TrustAnchors>>,
    capacity: usize,
    entries: RwLock<HashMap<[u8; 32], Arc<Entry>>>,
}

#[derive(Debug)]
struct Entry {
    cert: Arc<UserIdentificationCertificate>,
    ca_not_before: UnixTime,
    ca_not_after: UnixTime,
}

impl VerifiedCertificates {
    /// A cache of at most `capacity` certificates checked against `anchors`.
    pub fn new(anchors: TrustAnchors, capacity: usize) -> Self {
        Self {
            anchors: RwLock::new(Arc::new(anchors)),
            capacity: capacity.max(1),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The anchors certificates are checked against (as they are now).
    pub fn anchors(&self) -> Arc<TrustAnchors> {
        self.anchors.read().clone()
    }

    /// Trusts one more CA generation from now on (a rollover at the CA); the caller has checked
    /// it ([`crate::CaCertificate::check_self_signed`]). Answers whether it was new.
    pub fn add_anchor(&self, ca: crate::CaCertificate) -> bool {
        let mut anchors = self.anchors.write();
        if anchors.by_key_id(ca.purpose(), ca.key_id()).is_some() {
            return false;
        }
        let mut more = TrustAnchors::clone(&anchors);
        more.add(ca);
        *anchors = Arc::new(more);
        true
    }

    /// Parses and validates a user-identification certificate at `at`, or finds it checked before
    /// and re-checks only the validity periods.
    pub fn user_identification(
        &self,
        der: &[u8],
        at: UnixTime,
    ) -> Result<Arc<UserIdentificationCertificate>, Error> {
        crate::der_util::check_len(
            der,
            crate::InputKind::Certificate,
            crate::MAX_CERTIFICATE_LEN,
        )?;
        let key = sha256(der);
        let cached = self.entries.read().get(&key).cloned();
        if let Some(e) = cached {
            if at < e.ca_not_before || at > e.ca_not_after {
                return Err(Error::CaNotValid {
                    time: at,
                    not_before: e.ca_not_before,
                    not_after: e.ca_not_after,
                });
            }
            e.cert.parsed().check_validity(at)?;
            return Ok(e.cert.clone());
        }
        let cert = Arc::new(UserIdentificationCertificate::from_der(der)?);
        let anchors = self.anchors();
        let ca = anchors.validate_user_identification(&cert, at)?;
        let entry = Arc::new(Entry {
            cert: cert.clone(),
            ca_not_before: ca.not_before(),
            ca_not_after: ca.not_after(),
        });
        let mut entries = self.entries.write();
        if entries.len() >= self.capacity {
            // Start over rather than track recency: a miss costs one parse and one verification.
            entries.clear();
        }
        entries.insert(key, entry);
        Ok(cert)
    }
}

fn sha256(der: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}
