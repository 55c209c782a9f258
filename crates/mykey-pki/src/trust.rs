//! Path validation to configured trust anchors (RFC 5280 §6, for JPKI's one-level hierarchy).
//!
//! Each purpose has its own anchors; a CA may have several generations under the same name at
//! once, so the issuer is chosen by key identifier (AKI → SKI), and its name must match too.

use std::collections::HashMap;
use std::sync::Arc;

use crate::cert::Parsed;
use crate::{
    CaCertificate, Error, Purpose, SignatureCertificate, SignedObject, UnixTime,
    UserIdentificationCertificate,
};

/// The CA certificates trusted for each purpose.
#[derive(Clone, Debug, Default)]
pub struct TrustAnchors {
    user_identification: AnchorSet,
    signature: AnchorSet,
}

#[derive(Clone, Debug, Default)]
struct AnchorSet {
    by_key_id: HashMap<Vec<u8>, Arc<CaCertificate>>,
}

impl TrustAnchors {
    /// Anchors from CA certificates; each goes to the set of the purpose its name says.
    pub fn new(cas: impl IntoIterator<Item = CaCertificate>) -> Self {
        let mut anchors = Self::default();
        for ca in cas {
            anchors.add(ca);
        }
        anchors
    }

    /// Adds (or replaces) one CA generation.
    pub fn add(&mut self, ca: CaCertificate) {
        let set = self.set_mut(ca.purpose());
        set.by_key_id.insert(ca.key_id().to_vec(), Arc::new(ca));
    }

    /// Every anchor of `purpose`.
    pub fn cas(&self, purpose: Purpose) -> impl Iterator<Item = &Arc<CaCertificate>> {
        self.set(purpose).by_key_id.values()
    }

    /// The anchor of `purpose` with subject key identifier `key_id`.
    pub fn by_key_id(&self, purpose: Purpose, key_id: &[u8]) -> Option<&Arc<CaCertificate>> {
        self.set(purpose).by_key_id.get(key_id)
    }

    /// Validates a user-identification certificate's path at `at`; returns its issuer.
    pub fn validate_user_identification(
        &self,
        cert: &UserIdentificationCertificate,
        at: UnixTime,
    ) -> Result<&Arc<CaCertificate>, Error> {
        self.validate(cert.parsed(), Purpose::UserIdentification, at)
    }

    /// Validates a signature certificate's path at `at`; returns its issuer.
    pub fn validate_signature(
        &self,
        cert: &SignatureCertificate,
        at: UnixTime,
    ) -> Result<&Arc<CaCertificate>, Error> {
        self.validate(cert.parsed(), Purpose::Signature, at)
    }

    fn validate(
        &self,
        cert: &Parsed,
        purpose: Purpose,
        at: UnixTime,
    ) -> Result<&Arc<CaCertificate>, Error> {
        let issuer = match self.find_issuer(cert, purpose) {
            Some(ca) => ca,
            None => {
                let other = match purpose {
                    Purpose::UserIdentification => Purpose::Signature,
                    Purpose::Signature => Purpose::UserIdentification,
                };
                if self.find_issuer(cert, other).is_some() {
                    return Err(Error::WrongPurpose {
                        certificate: purpose,
                        anchors: other,
                    });
                }
                return Err(Error::UnknownIssuer {
                    purpose,
                    key_id: hex::encode(cert.authority_key_id.as_deref().unwrap_or_default()),
                });
            }
        };
        if at < issuer.not_before() || at > issuer.not_after() {
            return Err(Error::CaNotValid {
                time: at,
                not_before: issuer.not_before(),
                not_after: issuer.not_after(),
            });
        }
        issuer
            .public_key()
            .verify(cert.tbs(), cert.signature(), SignedObject::Certificate)?;
        cert.check_validity(at)?;
        Ok(issuer)
    }

    /// The issuer by key identifier and name; without an AKI, the first same-named CA whose key
    /// verifies the certificate.
    fn find_issuer(&self, cert: &Parsed, purpose: Purpose) -> Option<&Arc<CaCertificate>> {
        let set = self.set(purpose);
        match &cert.authority_key_id {
            Some(aki) => set
                .by_key_id
                .get(aki)
                .filter(|ca| ca.subject_der() == cert.issuer.as_slice()),
            None => set.by_key_id.values().find(|ca| {
                ca.subject_der() == cert.issuer.as_slice()
                    && ca
                        .public_key()
                        .verify(cert.tbs(), cert.signature(), SignedObject::Certificate)
                        .is_ok()
            }),
        }
    }

    fn set(&self, purpose: Purpose) -> &AnchorSet {
        match purpose {
            Purpose::UserIdentification => &self.user_identification,
            Purpose::Signature => &self.signature,
        }
    }

    fn set_mut(&mut self, purpose: Purpose) -> &mut AnchorSet {
        match purpose {
            Purpose::UserIdentification => &mut self.user_identification,
            Purpose::Signature => &mut self.signature,
        }
    }
}
