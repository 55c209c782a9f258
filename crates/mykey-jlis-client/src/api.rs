//! The JSON the simulator speaks (admin API and the two docs/jpki.md §18 services). Certificates and
//! public keys travel as base64 (standard alphabet) DER.

use serde::{Deserialize, Serialize};

/// `POST /v1/admin/certificates`: certify a new card's keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IssueRequest {
    /// Family and given name, separated by an ideographic space (U+3000).
    pub name: String,
    /// Address from the prefecture on (at most 200 characters).
    pub address: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birth_date: String,
    /// ISO 5218: 1 male, 2 female, 9 not applicable.
    pub sex: u8,
    /// The user-identification key (SubjectPublicKeyInfo DER, base64).
    pub user_identification_public_key: String,
    /// The signature key; absent for people under 15, who get no signature certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_public_key: Option<String>,
}

/// What an issue, renewal or change of facts produced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IssuedCertificates {
    /// The person's current issuance number (hex).
    pub issuance_number: String,
    /// The new user-identification certificate (DER, base64), if one was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_identification_certificate: Option<String>,
    /// The new signature certificate (DER, base64), if one was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_certificate: Option<String>,
    /// The user-identification CA certificate that issued (DER, base64).
    pub user_identification_ca: String,
    /// The signature CA certificate that issued (DER, base64).
    pub signature_ca: String,
    /// What J-LIS writes to the card's ticket-item AP with the facts (file `0003`): absent for
    /// a revocation-only answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_item_signature: Option<TicketItemSignature>,
}

/// J-LIS's signature over the four facts of a card's ticket-item AP (file `0002`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketItemSignature {
    /// SHA-256 of file `0002` (hex).
    pub facts_digest: String,
    /// The ID J-LIS gave this writing of the data, 16 bytes (hex).
    pub item_id: String,
    /// RSASSA-PKCS1-v1_5 SHA-256 over the digest and the ID, 48 bytes (base64).
    pub signature: String,
}

/// `POST /v1/issuance-numbers/{n}/ticket-items`: are these the ticket-item facts J-LIS wrote,
/// and are they still the facts of the holder of user-identification certificate `n`?
pub type TicketItemCheck = TicketItemSignature;

/// The answer to a [`TicketItemCheck`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketItemStatus {
    /// The user-identification issuance number asked about (hex).
    pub issuance_number: String,
    /// `current`: J-LIS signed these facts and they are the holder's facts now; `outdated`:
    /// J-LIS signed them, but the holder's facts changed since (or they are another
    /// person's, or of a card since replaced); `revoked`: the certificate asked about is
    /// revoked or expired; `invalid`: not J-LIS's signature.
    pub status: String,
}

/// `POST /v1/admin/renewals`: a new pair for a card (or a new card) of the same person.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RenewRequest {
    /// The user-identification issuance number being renewed (hex).
    pub issuance_number: String,
    /// The new user-identification key.
    pub user_identification_public_key: String,
    /// The new signature key (absent under 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_public_key: Option<String>,
}

/// `POST /v1/admin/revocations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RevokeRequest {
    /// Serial number of the certificate (hex).
    pub serial: String,
    /// RFC 5280 reason name: `keyCompromise`, `affiliationChanged`, `superseded`,
    /// `cessationOfOperation`, `certificateHold`, `unspecified`, …
    pub reason: String,
}

/// `POST /v1/admin/fact-changes`: a move, a change of name, a correction. The signature
/// certificate is revoked (affiliationChanged) and a new one issued; the user-identification
/// certificate is untouched.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ChangeFactsRequest {
    /// The person's current user-identification issuance number (hex).
    pub issuance_number: String,
    /// New name, if it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New address, if it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Corrected birth date, if it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// New sex code, if it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<u8>,
    /// The key for the new signature certificate.
    pub signature_public_key: String,
}

/// A certificate's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateState {
    /// Serial number (hex).
    pub serial: String,
    /// `user-identification` or `signature`.
    pub purpose: String,
    /// `good`, `revoked` or `expired`.
    pub status: String,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// When it was revoked (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The RFC 5280 reason name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /v1/issuance-numbers/{n}/previous`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousIssuanceNumbers {
    /// The issuance number asked about (hex).
    pub issuance_number: String,
    /// The same person's earlier user-identification issuance numbers, newest first.
    pub previous: Vec<String>,
}

/// `GET /v1/issuance-numbers/{n}/signature-certificate-status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCertificateStatus {
    /// The user-identification issuance number asked about (hex).
    pub issuance_number: String,
    /// The signature certificate issued together with it; `revoked` with `affiliationChanged`
    /// means the four facts changed (Terms Art 17.2.2). Absent if none was issued (under 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<CertificateState>,
    /// The person's newest signature certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<CertificateState>,
}

/// One CA generation and where its revocation data is published (`GET /v1/cas`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaEntry {
    /// `user-identification` or `signature`.
    pub purpose: String,
    /// 1, 2, … (a rollover adds one under the same name).
    pub generation: u32,
    /// The subject key identifier (hex), by which certificates and CRLs name their issuer.
    pub key_id: String,
    /// The CA certificate (DER).
    pub certificate_url: String,
    /// The current complete CRL.
    pub crl_url: String,
    /// The current delta CRL.
    pub delta_crl_url: String,
    /// The OCSP responder.
    pub ocsp_url: String,
}

/// `POST /v1/admin/crls` and the CA rollover answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Published {
    /// What was done.
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// This occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
