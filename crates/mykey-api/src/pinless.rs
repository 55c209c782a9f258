//! The PIN-less route of Terms Art 20.2: `/v1/rp/ppid-services/{id}/pinless-requests` for the
//! relying party, `/v1/pinless-requests/{handle}` for the terminal that reads the card.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ppid_services::PpidServiceRef;
use crate::{ConsentAsked, ConsentGiven, RelyingPartyShown};

/// A relying party opens a PIN-less request with the date of birth it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinlessRequestOpen {
    /// The person's date of birth as the relying party holds it, `YYYY-MM-DD` (not in the
    /// future).
    #[schema(format = Date)]
    pub birth_date: String,
}

/// An open PIN-less request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PinlessRequestOpened {
    /// The handle the terminal answers it by (256 random bits, base64url). Whoever holds it
    /// sees the date of birth: give it only to the terminal that reads the card.
    pub request: String,
    /// When it expires, unanswered.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// A PIN-less request as the terminal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PinlessRequestShown {
    /// Whose service asks.
    pub relying_party: RelyingPartyShown,
    /// The PPID service.
    pub ppid_service: PpidServiceRef,
    /// The date of birth the relying party holds, `YYYY-MM-DD`: with the card's expiry year
    /// and security code it makes access key B.
    #[schema(format = Date)]
    pub birth_date: String,
    /// The six matters of Art 20.1 and the two of Art 20.2, all required, and the terms
    /// version in force.
    pub consent: ConsentAsked,
    /// When the request expires.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// J-LIS's signature over the ticket-item facts and the data's ID (file `0003` without its My
/// Number digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketItemSignature {
    /// `DF 32`: SHA-256 of file `0002`, hex.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub facts_digest: String,
    /// `DF 34`: the ID J-LIS gave this writing of the data, 16 bytes, hex.
    #[schema(pattern = "^[0-9a-fA-F]{32}$")]
    pub item_id: String,
    /// `DF 33`: the signature, base64.
    #[schema(content_encoding = "base64")]
    pub signature: String,
}

/// What the terminal read from the card without a PIN, and the person's consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinlessApproval {
    /// The user-identification certificate (file `000A`), base64 DER.
    #[schema(content_encoding = "base64")]
    pub certificate: String,
    /// File `0002` of the ticket-item AP exactly as read, base64.
    #[schema(content_encoding = "base64")]
    pub ticket_facts: String,
    /// File `0003`'s facts digest and signature.
    pub ticket_signature: TicketItemSignature,
    /// Every item the request shows, each once, and the terms version in force.
    pub consent: ConsentGiven,
}

/// The card's data was accepted: the person's PPID and the code for the relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PinlessApproved {
    /// The person's PPID for the service.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub ppid: String,
    /// `true` the first time (`ppid.issued`), `false` after (`ppid.used`).
    pub issued: bool,
    /// The one-time code the relying party redeems for the PPID and the four facts.
    pub code: String,
    /// When the code expires.
    #[schema(format = DateTime)]
    pub code_expires_at: String,
}

/// The four facts as the PIN-less route gives them (the claim formats of OpenID Connect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FourFactsClaims {
    /// The name on the card.
    pub name: String,
    /// The address on the card.
    pub address: crate::oidc::Address,
    /// The date of birth.
    #[schema(format = Date)]
    pub birthdate: String,
    /// `male`, `female` or `not applicable`.
    pub gender: String,
}
