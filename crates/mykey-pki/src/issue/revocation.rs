//! CRLs and OCSP responses as a CA publishes them.

use der::asn1::{BitString, Null, OctetString};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_ocsp::{
    BasicOcspResponse, CertId, OcspGeneralizedTime, OcspResponse, OcspResponseStatus, ResponderId,
    ResponseBytes, ResponseData, RevokedInfo, SingleResponse,
};

use super::certificate::{aki, encoding};
use super::{SigningKey, extension};
use crate::der_util::rsa_sha256_alg;
use crate::ocsp::CertStatus;
use crate::{CaCertificate, CrlEntry, Error, IssuanceNumber, RevocationReason, UnixTime, oid};

/// What goes into one CRL.
#[derive(Clone, Copy, Debug)]
pub struct CrlTemplate<'a> {
    /// thisUpdate.
    pub this_update: UnixTime,
    /// nextUpdate.
    pub next_update: UnixTime,
    /// The CRL number (one sequence shared by complete and delta CRLs, RFC 5280 §5.2.3).
    pub number: u64,
    /// For a delta CRL, the number of the complete CRL it builds on.
    pub base_number: Option<u64>,
    /// The revoked certificates.
    pub entries: &'a [CrlEntry],
}

/// Signs a CRL for `ca`.
pub fn build_crl(
    ca_key: &SigningKey,
    ca: &CaCertificate,
    t: &CrlTemplate<'_>,
) -> Result<Vec<u8>, Error> {
    let build = || -> der::Result<Vec<u8>> {
        let mut revoked = Vec::with_capacity(t.entries.len());
        for e in t.entries {
            let exts = match e.reason {
                Some(r) => Some(vec![Extension {
                    extn_id: oid::CRL_REASON,
                    critical: false,
                    extn_value: OctetString::new(vec![0x0a, 0x01, r.code()])?,
                }]),
                None => None,
            };
            revoked.push(RevokedCert {
                serial_number: e.serial.to_serial(),
                revocation_date: e.revoked_at.to_x509()?,
                crl_entry_extensions: exts,
            });
        }
        let mut exts = vec![
            extension(oid::AUTHORITY_KEY_IDENTIFIER, false, &aki(ca.key_id())?)?,
            extension(oid::CRL_NUMBER, false, &t.number)?,
        ];
        if let Some(base) = t.base_number {
            exts.push(extension(oid::DELTA_CRL_INDICATOR, true, &base)?);
        }
        let tbs = TbsCertList {
            version: x509_cert::Version::V2,
            signature: rsa_sha256_alg(),
            issuer: ca.subject().clone(),
            this_update: t.this_update.to_x509()?,
            next_update: Some(t.next_update.to_x509()?),
            revoked_certificates: (!revoked.is_empty()).then_some(revoked),
            crl_extensions: Some(exts),
        };
        let signature = ca_key.sign(&tbs.to_der()?);
        CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: rsa_sha256_alg(),
            signature: BitString::from_bytes(&signature)?,
        }
        .to_der()
    };
    build().map_err(encoding)
}

/// A delegated OCSP responder for one CA generation: answers for CertIDs that name that CA
/// (with SHA-1 or SHA-256 hashes) and signs with its own key.
pub struct OcspResponder {
    ca: CaCertificate,
    key: SigningKey,
    cert: Certificate,
    key_hash: OctetString,
    // (hash algorithm, issuerNameHash, issuerKeyHash) this CA answers to.
    names: Vec<(const_oid::ObjectIdentifier, Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for OcspResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcspResponder")
            .field("ca", &self.ca)
            .finish_non_exhaustive()
    }
}

impl OcspResponder {
    /// A responder for `ca`, signing with `key` whose certificate is `cert_der`.
    pub fn new(ca: CaCertificate, key: SigningKey, cert_der: &[u8]) -> Result<Self, Error> {
        let cert = Certificate::from_der(cert_der).map_err(encoding)?;
        let key_hash =
            OctetString::new(key.public_key().sha1_key_id().as_slice()).map_err(encoding)?;
        let mut names = Vec::new();
        for (alg, digest) in [
            (oid::SHA1, &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY),
            (oid::SHA256, &aws_lc_rs::digest::SHA256),
        ] {
            let h = |b: &[u8]| aws_lc_rs::digest::digest(digest, b).as_ref().to_vec();
            names.push((alg, h(ca.subject_der()), h(ca.public_key().pkcs1_der())));
        }
        Ok(Self {
            ca,
            key,
            cert,
            key_hash,
            names,
        })
    }

    /// The CA this responder answers for.
    pub fn ca(&self) -> &CaCertificate {
        &self.ca
    }

    /// The serial a CertID asks about, if the CertID names this responder's CA.
    pub fn serial_for(&self, id: &CertId) -> Option<IssuanceNumber> {
        let ours = self.names.iter().any(|(alg, name, key)| {
            id.hash_algorithm.oid == *alg
                && id.issuer_name_hash.as_bytes() == name.as_slice()
                && id.issuer_key_hash.as_bytes() == key.as_slice()
        });
        if !ours {
            return None;
        }
        IssuanceNumber::from_serial(&id.serial_number).ok()
    }

    /// A signed, successful OCSPResponse with one SingleResponse per (CertID, status); `nonce`
    /// is echoed when given.
    pub fn respond(
        &self,
        answers: &[(&CertId, CertStatus)],
        this_update: UnixTime,
        next_update: UnixTime,
        produced_at: UnixTime,
        nonce: Option<&Extension>,
    ) -> Result<Vec<u8>, Error> {
        let build = || -> der::Result<Vec<u8>> {
            let gt = |t: UnixTime| t.to_generalized().map(OcspGeneralizedTime);
            let mut responses = Vec::with_capacity(answers.len());
            for (id, status) in answers {
                let cert_status = match *status {
                    CertStatus::Good => x509_ocsp::CertStatus::Good(Null),
                    CertStatus::Unknown => x509_ocsp::CertStatus::Unknown(Null),
                    CertStatus::Revoked { revoked_at, reason } => {
                        x509_ocsp::CertStatus::Revoked(RevokedInfo {
                            revocation_time: gt(revoked_at)?,
                            revocation_reason: reason.map(crl_reason),
                        })
                    }
                };
                responses.push(SingleResponse {
                    cert_id: (*id).clone(),
                    cert_status,
                    this_update: gt(this_update)?,
                    next_update: Some(gt(next_update)?),
                    single_extensions: None,
                });
            }
            let data = ResponseData {
                version: x509_ocsp::Version::V1,
                responder_id: ResponderId::ByKey(self.key_hash.clone()),
                produced_at: gt(produced_at)?,
                responses,
                response_extensions: nonce.map(|n| vec![n.clone()]),
            };
            let signature = self.key.sign(&data.to_der()?);
            let basic = BasicOcspResponse {
                tbs_response_data: data,
                signature_algorithm: rsa_sha256_alg(),
                signature: BitString::from_bytes(&signature)?,
                certs: Some(vec![self.cert.clone()]),
            };
            OcspResponse {
                response_status: OcspResponseStatus::Successful,
                response_bytes: Some(ResponseBytes {
                    response_type: oid::OCSP_BASIC,
                    response: OctetString::new(basic.to_der()?)?,
                }),
            }
            .to_der()
        };
        build().map_err(encoding)
    }

    /// An unsigned error response (malformedRequest, unauthorized, …), RFC 6960 §4.2.1.
    pub fn error_response(status: OcspResponseStatus) -> Vec<u8> {
        OcspResponse {
            response_status: status,
            response_bytes: None,
        }
        .to_der()
        .unwrap_or_default()
    }
}

fn crl_reason(r: RevocationReason) -> CrlReason {
    use RevocationReason as R;
    match r {
        R::Unspecified => CrlReason::Unspecified,
        R::KeyCompromise => CrlReason::KeyCompromise,
        R::CaCompromise => CrlReason::CaCompromise,
        R::AffiliationChanged => CrlReason::AffiliationChanged,
        R::Superseded => CrlReason::Superseded,
        R::CessationOfOperation => CrlReason::CessationOfOperation,
        R::CertificateHold => CrlReason::CertificateHold,
        R::RemoveFromCrl => CrlReason::RemoveFromCRL,
        R::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        R::AaCompromise => CrlReason::AaCompromise,
    }
}
