//! `/v1/ppid-services/{id}`: the person's side of a PPID service (Terms Art 19–20).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ConsentAsked, ConsentGiven, RelyingPartyShown};

/// A PPID service as the person's device shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PpidServiceShown {
    /// The service's ID.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Whose service it is.
    pub relying_party: RelyingPartyShown,
    /// The six matters of Terms Art 20.1 and the terms version in force.
    pub consent: ConsentAsked,
}

/// The card's authentication to a PPID service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PpidAuthentication {
    /// The challenge's nonce, base64url.
    pub nonce: String,
    /// The user-identification certificate, base64 DER.
    #[schema(content_encoding = "base64")]
    pub certificate: String,
    /// The card's signature over the nonce, base64.
    #[schema(content_encoding = "base64")]
    pub signature: String,
    /// Required unless the person has an active consent for the service (recorded once per
    /// person and service): exactly the six Art 20.1 item names, each once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentGiven>,
}

/// A PPID service named by its ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PpidServiceRef {
    /// The service's ID.
    pub id: i64,
    /// Its name.
    pub name: String,
}

/// The person authenticated to a PPID service: their PPID, and a code for the relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PpidAuthenticated {
    /// The person's PPID for the service.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub ppid: String,
    /// The service.
    pub ppid_service: PpidServiceRef,
    /// `true` the first time (`ppid.issued`), `false` after (`ppid.used`).
    pub issued: bool,
    /// The one-time code the relying party redeems for the PPID.
    pub code: String,
    /// When the code expires.
    #[schema(format = DateTime)]
    pub code_expires_at: String,
}
