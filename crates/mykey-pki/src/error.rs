//! The crate's one error type. Every variant names what failed and carries the evidence.

use const_oid::ObjectIdentifier;

use crate::{Purpose, UnixTime};

/// What kind of input a decoding error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// An X.509 certificate.
    Certificate,
    /// An RFC 5280 CRL.
    Crl,
    /// An RFC 6960 OCSP request.
    OcspRequest,
    /// An RFC 6960 OCSP response.
    OcspResponse,
    /// A public key (SubjectPublicKeyInfo or RSAPublicKey).
    PublicKey,
    /// PEM text.
    Pem,
}

/// What a signature was checked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedObject {
    /// A certificate, checked with its issuer's key.
    Certificate,
    /// A CRL, checked with its CA's key.
    Crl,
    /// An OCSP response, checked with the responder's key.
    OcspResponse,
    /// A login challenge, checked with the user-identification key.
    Challenge,
    /// The ticket-item AP's facts (file `0003`), checked with J-LIS's ticket-item key.
    TicketItems,
}

/// Everything that can go wrong verifying JPKI material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is longer than the documented limit for its kind.
    #[error("{kind:?} of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// What was being read.
        kind: InputKind,
        /// Its length.
        len: usize,
        /// The limit ([`crate::MAX_CERTIFICATE_LEN`] and friends).
        limit: usize,
    },
    /// The input is not valid DER (or PEM) of the expected structure.
    #[error("malformed {kind:?}: {reason}")]
    Malformed {
        /// What was being read.
        kind: InputKind,
        /// The decoder's account of the fault.
        reason: String,
    },
    /// A signature algorithm other than sha256WithRSAEncryption.
    #[error("unsupported signature algorithm {found}")]
    UnsupportedSignatureAlgorithm {
        /// The algorithm found.
        found: ObjectIdentifier,
    },
    /// A public key that is not RSA.
    #[error("public key algorithm {found} is not rsaEncryption")]
    NotRsaKey {
        /// The algorithm found.
        found: ObjectIdentifier,
    },
    /// An RSA key whose modulus is not 2048 bits.
    #[error("RSA modulus of {bits} bits; JPKI requires 2048")]
    WrongKeySize {
        /// The modulus length found.
        bits: usize,
    },
    /// A required extension is absent.
    #[error("required extension {oid} is missing")]
    MissingExtension {
        /// The extension's OID.
        oid: ObjectIdentifier,
    },
    /// The key usage does not match the profile.
    #[error("key usage {found:#06x} does not match the {purpose:?} profile")]
    WrongKeyUsage {
        /// The profile checked against.
        purpose: Purpose,
        /// The key-usage bits found (bit 0 = digitalSignature).
        found: u16,
    },
    /// The certificate policies do not name the profile's policy.
    #[error("certificate policies {found:?} lack the {purpose:?} policy")]
    WrongPolicy {
        /// The profile checked against.
        purpose: Purpose,
        /// The policy OIDs found.
        found: Vec<ObjectIdentifier>,
    },
    /// A certificate that should be a CA certificate is not one (or the reverse).
    #[error("basic constraints: expected CA={expected_ca}")]
    WrongBasicConstraints {
        /// Whether a CA certificate was expected.
        expected_ca: bool,
    },
    /// The four facts in a signature certificate's subjectAltName are missing or malformed.
    #[error("four facts: {reason}")]
    InvalidFourFacts {
        /// What is wrong.
        reason: &'static str,
    },
    /// The serial number (issuance number) is not a positive integer of at most 20 octets.
    #[error("invalid serial number")]
    InvalidSerialNumber,
    /// The certificate is not valid yet at the time checked.
    #[error("not valid before {not_before}; checked at {time}")]
    NotYetValid {
        /// The time checked at.
        time: UnixTime,
        /// The start of validity.
        not_before: UnixTime,
    },
    /// The certificate has expired at the time checked.
    #[error("expired at {not_after}; checked at {time}")]
    Expired {
        /// The time checked at.
        time: UnixTime,
        /// The end of validity.
        not_after: UnixTime,
    },
    /// No trust anchor of the purpose has the issuer's key identifier and name.
    #[error("no {purpose:?} CA with key identifier {key_id}")]
    UnknownIssuer {
        /// The anchor set's purpose.
        purpose: Purpose,
        /// The authority key identifier sought (hex; empty when the certificate has none).
        key_id: String,
    },
    /// The issuing CA's own validity has ended (or not begun) at the time checked.
    #[error("issuing CA valid {not_before} to {not_after}; checked at {time}")]
    CaNotValid {
        /// The time checked at.
        time: UnixTime,
        /// The CA certificate's start of validity.
        not_before: UnixTime,
        /// The CA certificate's end of validity.
        not_after: UnixTime,
    },
    /// A CA certificate whose name is not one of the two JPKI CA names (docs/jpki.md §7).
    #[error("not a JPKI CA name: {subject}")]
    UnrecognisedCaName {
        /// The subject found.
        subject: String,
    },
    /// A certificate of one purpose was checked against trust anchors of another.
    #[error("a {certificate:?} certificate was checked against {anchors:?} CAs")]
    WrongPurpose {
        /// The certificate's purpose.
        certificate: Purpose,
        /// The anchor set's purpose.
        anchors: Purpose,
    },
    /// A signature does not verify.
    #[error("bad signature on {0:?}")]
    BadSignature(SignedObject),
    /// The OCSP responder answered with a status other than successful.
    #[error("OCSP responder answered status {status}")]
    OcspStatus {
        /// The OCSPResponseStatus value (1 malformedRequest, 2 internalError, 3 tryLater, 5
        /// sigRequired, 6 unauthorized).
        status: u8,
    },
    /// The OCSP response is signed neither by the CA nor by a responder it delegated to.
    #[error("OCSP response signer is not authorised by the CA: {reason}")]
    OcspUnauthorizedSigner {
        /// Why the signer was refused.
        reason: &'static str,
    },
    /// The OCSP response does not answer for the certificate asked about.
    #[error("OCSP response does not cover the certificate asked about")]
    OcspCertIdMismatch,
    /// The OCSP response's nonce differs from the request's.
    #[error("OCSP nonce mismatch: sent {sent}, received {received:?}")]
    OcspNonceMismatch {
        /// The nonce sent (hex).
        sent: String,
        /// The nonce received (hex), if any.
        received: Option<String>,
    },
    /// The OCSP response is past its nextUpdate (or has none and is too old).
    #[error("OCSP response stale: next update {next_update:?}, checked at {time}")]
    OcspStale {
        /// The time checked at.
        time: UnixTime,
        /// The response's nextUpdate.
        next_update: Option<UnixTime>,
    },
    /// The OCSP response's thisUpdate is in the future.
    #[error("OCSP response from the future: this update {this_update}, checked at {time}")]
    OcspNotYetValid {
        /// The time checked at.
        time: UnixTime,
        /// The response's thisUpdate.
        this_update: UnixTime,
    },
    /// The CRL is not issued by the CA it was checked against.
    #[error("CRL issuer does not match the CA")]
    CrlWrongIssuer,
    /// The CRL has no CRL number extension.
    #[error("CRL has no CRL number")]
    CrlNumberMissing,
    /// The CRL is past its nextUpdate (or has none).
    #[error("CRL stale: next update {next_update:?}, checked at {time}")]
    CrlStale {
        /// The time checked at.
        time: UnixTime,
        /// The CRL's nextUpdate.
        next_update: Option<UnixTime>,
    },
    /// The CRL's thisUpdate is in the future.
    #[error("CRL from the future: this update {this_update}, checked at {time}")]
    CrlNotYetValid {
        /// The time checked at.
        time: UnixTime,
        /// The CRL's thisUpdate.
        this_update: UnixTime,
    },
    /// A CRL of the wrong kind (full where a delta was expected, or the reverse).
    #[error("expected a {expected:?} CRL")]
    CrlWrongKind {
        /// What was expected.
        expected: crate::CrlKind,
    },
    /// A delta CRL whose base is newer than the index's full CRL, or a CRL older than the one held.
    #[error("CRL number {found} does not follow {held} (delta base {base:?})")]
    CrlOutOfSequence {
        /// The CRL number held.
        held: u64,
        /// The CRL number offered.
        found: u64,
        /// The delta's base CRL number, for deltas.
        base: Option<u64>,
    },
}

impl Error {
    pub(crate) fn malformed(kind: InputKind, e: impl std::fmt::Display) -> Self {
        Error::Malformed {
            kind,
            reason: e.to_string(),
        }
    }
}
