//! `/v1/link-requests/{id}`: the person's side of a Service ID link request (Terms Art 17).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ConsentAsked, ConsentGiven, RelyingPartyShown};

/// A link request as the person's device shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkRequest {
    /// The request's handle, 22 base64url characters.
    pub request_id: String,
    /// Who asks.
    pub relying_party: RelyingPartyShown,
    /// For which of its customer IDs.
    pub customer_id: String,
    /// When the request can no longer be answered.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// The matters of Terms Art 17.2, all required, and the terms version in force.
    pub consent: ConsentAsked,
}

/// The card's approval of a link request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkApproval {
    /// The challenge's nonce, base64url.
    pub nonce: String,
    /// The user-identification certificate, base64 DER.
    #[schema(content_encoding = "base64")]
    pub certificate: String,
    /// The card's signature over the nonce, base64.
    #[schema(content_encoding = "base64")]
    pub signature: String,
    /// Exactly the item names of the link request, each once, and its terms version.
    pub consent: ConsentGiven,
}
