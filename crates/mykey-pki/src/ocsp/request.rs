//! OCSPRequest (RFC 6960 §4.1.1) with the nonce extension (RFC 8954).
//!
//! ```text
//! OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
//! TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT
//!                 GeneralName OPTIONAL, requestList SEQUENCE OF Request,
//!                 requestExtensions [2] EXPLICIT Extensions OPTIONAL }
//! CertID      ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING,
//!                 serialNumber CertificateSerialNumber }
//! ```

use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_ocsp::{CertId, OcspRequest, TbsRequest};

use crate::der_util::check_len;
use crate::{CaCertificate, Error, InputKind, IssuanceNumber, MAX_OCSP_LEN, oid};

/// Nonce length the client sends (RFC 8954 allows 1 to 32 octets).
pub const NONCE_LEN: usize = 32;

/// An OCSP request for one certificate, remembered so that the answer can be checked against it.
#[derive(Clone, Debug)]
pub struct Request {
    der: Vec<u8>,
    cert_id: CertId,
    nonce: Option<Extension>,
    serial: IssuanceNumber,
}

impl Request {
    /// A request about `serial` issued by `issuer`, with a fresh random nonce.
    pub fn new(issuer: &CaCertificate, serial: IssuanceNumber) -> Result<Self, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| Error::malformed(InputKind::OcspRequest, "no randomness"))?;
        Self::build(issuer, serial, Some(&nonce))
    }

    /// A request without a nonce (cacheable; what RFC 5019 clients send).
    pub fn without_nonce(issuer: &CaCertificate, serial: IssuanceNumber) -> Result<Self, Error> {
        Self::build(issuer, serial, None)
    }

    fn build(
        issuer: &CaCertificate,
        serial: IssuanceNumber,
        nonce: Option<&[u8]>,
    ) -> Result<Self, Error> {
        let bad = |e: der::Error| Error::malformed(InputKind::OcspRequest, e);
        let cert_id = cert_id_for(issuer, serial).map_err(bad)?;
        let nonce = nonce.map(nonce_extension).transpose().map_err(bad)?;
        let req = OcspRequest {
            tbs_request: TbsRequest {
                version: x509_ocsp::Version::V1,
                requestor_name: None,
                request_list: vec![x509_ocsp::Request {
                    req_cert: cert_id.clone(),
                    single_request_extensions: None,
                }],
                request_extensions: nonce.clone().map(|n| vec![n]),
            },
            optional_signature: None,
        };
        Ok(Self {
            der: req.to_der().map_err(bad)?,
            cert_id,
            nonce,
            serial,
        })
    }

    /// The DER to send.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The CertID asked about.
    pub fn cert_id(&self) -> &CertId {
        &self.cert_id
    }

    /// The serial asked about.
    pub fn serial(&self) -> IssuanceNumber {
        self.serial
    }

    pub(crate) fn nonce(&self) -> Option<&Extension> {
        self.nonce.as_ref()
    }

    /// Parses a request (the responder side), at most [`MAX_OCSP_LEN`] bytes.
    pub fn parse(der: &[u8]) -> Result<OcspRequest, Error> {
        check_len(der, InputKind::OcspRequest, MAX_OCSP_LEN)?;
        OcspRequest::from_der(der).map_err(|e| Error::malformed(InputKind::OcspRequest, e))
    }
}

/// The CertID of `serial` under `issuer`, hashed with SHA-1 as RFC 5019 responders expect and
/// OpenSSL sends by default (the hash only names the issuer; the signature covers the answer).
pub fn cert_id_for(issuer: &CaCertificate, serial: IssuanceNumber) -> der::Result<CertId> {
    let sha1 =
        |b: &[u8]| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, b);
    Ok(CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: oid::SHA1,
            parameters: Some(der::asn1::Null.into()),
        },
        issuer_name_hash: OctetString::new(sha1(issuer.subject_der()).as_ref())?,
        issuer_key_hash: OctetString::new(issuer.public_key().sha1_key_id().as_slice())?,
        serial_number: serial.to_serial(),
    })
}

/// The id-pkix-ocsp-nonce extension carrying `nonce` as an OCTET STRING (RFC 8954 §2.1).
pub fn nonce_extension(nonce: &[u8]) -> der::Result<Extension> {
    Ok(Extension {
        extn_id: oid::OCSP_NONCE,
        critical: false,
        extn_value: OctetString::new(OctetString::new(nonce)?.to_der()?)?,
    })
}
