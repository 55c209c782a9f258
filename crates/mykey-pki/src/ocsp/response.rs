//! OCSPResponse and BasicOCSPResponse (RFC 6960 §4.2.1), verified against the request.
//!
//! ```text
//! OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
//! BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm, signature BIT STRING,
//!                       certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
//! ```
//! The signer must be the CA itself or a responder certificate the CA issued with
//! id-kp-OCSPSigning (§4.2.2.2).

use der::Decode;
use x509_ocsp::{BasicOcspResponse, OcspResponse, OcspResponseStatus, ResponderId};

use crate::cert::Parsed;
use crate::der_util::{Signed, check_len, split_signed};
use crate::{
    CaCertificate, Error, InputKind, MAX_OCSP_LEN, RevocationReason, RsaPublicKey, SignedObject,
    UnixTime, oid,
};

use super::Request;

/// How far in the future a response's thisUpdate may lie, for clocks that differ a little.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// A certificate's status as an OCSP responder states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatus {
    /// Not revoked.
    Good,
    /// Revoked.
    Revoked {
        /// When.
        revoked_at: UnixTime,
        /// Why, when the responder says.
        reason: Option<RevocationReason>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

/// A verified OCSP answer for the certificate asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The status.
    pub status: CertStatus,
    /// When the status was known to be correct.
    pub this_update: UnixTime,
    /// Until when it may be relied on.
    pub next_update: UnixTime,
}

impl Request {
    /// Verifies `response` (DER) as the answer to this request from `issuer`'s responder at `at`.
    pub fn verify_response(
        &self,
        response: &[u8],
        issuer: &CaCertificate,
        at: UnixTime,
    ) -> Result<Answer, Error> {
        check_len(response, InputKind::OcspResponse, MAX_OCSP_LEN)?;
        let bad = |e: der::Error| Error::malformed(InputKind::OcspResponse, e);
        let outer = OcspResponse::from_der(response).map_err(bad)?;
        if outer.response_status != OcspResponseStatus::Successful {
            return Err(Error::OcspStatus {
                status: outer.response_status as u8,
            });
        }
        let bytes = outer
            .response_bytes
            .ok_or_else(|| Error::malformed(InputKind::OcspResponse, "no response bytes"))?;
        if bytes.response_type != oid::OCSP_BASIC {
            return Err(Error::malformed(
                InputKind::OcspResponse,
                "not a basic OCSP response",
            ));
        }
        let basic_der = bytes.response.as_bytes();
        let Signed { tbs, signature } =
            split_signed(basic_der, InputKind::OcspResponse, MAX_OCSP_LEN)?;
        let basic = BasicOcspResponse::from_der(basic_der).map_err(bad)?;
        let signer = signer_key(&basic, issuer, at)?;
        signer.verify(tbs, signature, SignedObject::OcspResponse)?;

        let data = &basic.tbs_response_data;
        let single = data
            .responses
            .iter()
            .find(|r| r.cert_id == *self.cert_id())
            .ok_or(Error::OcspCertIdMismatch)?;
        let this_update = UnixTime::from_generalized(&single.this_update.0);
        if this_update > at.plus(MAX_CLOCK_SKEW_SECS) {
            return Err(Error::OcspNotYetValid {
                time: at,
                this_update,
            });
        }
        let next_update = single.next_update.map(|t| UnixTime::from_generalized(&t.0));
        let next_update = match next_update {
            Some(n) if at <= n => n,
            next_update => {
                return Err(Error::OcspStale {
                    time: at,
                    next_update,
                });
            }
        };
        if let Some(sent) = self.nonce() {
            let received = data
                .response_extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == oid::OCSP_NONCE);
            if received.map(|r| &r.extn_value) != Some(&sent.extn_value) {
                return Err(Error::OcspNonceMismatch {
                    sent: hex::encode(sent.extn_value.as_bytes()),
                    received: received.map(|r| hex::encode(r.extn_value.as_bytes())),
                });
            }
        }
        let status = match &single.cert_status {
            x509_ocsp::CertStatus::Good(_) => CertStatus::Good,
            x509_ocsp::CertStatus::Unknown(_) => CertStatus::Unknown,
            x509_ocsp::CertStatus::Revoked(info) => CertStatus::Revoked {
                revoked_at: UnixTime::from_generalized(&info.revocation_time.0),
                reason: info
                    .revocation_reason
                    .and_then(|r| RevocationReason::from_code(r as u8)),
            },
        };
        Ok(Answer {
            status,
            this_update,
            next_update,
        })
    }
}

/// The key that must have signed the response: the CA's, or a delegated responder's.
fn signer_key(
    basic: &BasicOcspResponse,
    issuer: &CaCertificate,
    at: UnixTime,
) -> Result<RsaPublicKey, Error> {
    let names = |key: &RsaPublicKey, subject: &[u8]| match &basic.tbs_response_data.responder_id {
        ResponderId::ByKey(hash) => hash.as_bytes() == key.sha1_key_id().as_slice(),
        ResponderId::ByName(name) => der::Encode::to_der(name).is_ok_and(|n| n == subject),
    };
    if names(issuer.public_key(), issuer.subject_der()) {
        return Ok(issuer.public_key().clone());
    }
    let refuse = |reason| Error::OcspUnauthorizedSigner { reason };
    let cert = basic
        .certs
        .iter()
        .flatten()
        .filter_map(|c| der::Encode::to_der(c).ok())
        .filter_map(|d| Parsed::parse(&d).ok())
        .find(|p| names(&p.key, &p.subject))
        .ok_or_else(|| refuse("responder is neither the CA nor a certificate in the response"))?;
    if cert.issuer != issuer.subject_der()
        || cert
            .authority_key_id
            .as_deref()
            .is_some_and(|k| k != issuer.key_id())
    {
        return Err(refuse("responder certificate was not issued by the CA"));
    }
    issuer
        .public_key()
        .verify(cert.tbs(), cert.signature(), SignedObject::Certificate)
        .map_err(|_| refuse("responder certificate signature does not verify"))?;
    if !cert.ext_key_usage.contains(&oid::KP_OCSP_SIGNING) {
        return Err(refuse("responder certificate lacks id-kp-OCSPSigning"));
    }
    cert.check_validity(at)
        .map_err(|_| refuse("responder certificate is not valid now"))?;
    Ok(cert.key)
}
