//! `/v1/service-id-logins` and `/v1/rp/service-id-logins`: logging in by Service ID through the
//! REST API (Terms Art 2.13, 17), for back-office systems — the person's client gets a challenge
//! and answers it with the card, the relying party redeems the one-time code it is given for its
//! own customer ID.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ConsentGiven, RelyingPartyShown};

/// Asks for a challenge; the body may also be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceIdLoginChallenge {
    /// A link request of the relying party to approve in the same flow (its ID), for a person
    /// with no Service ID there yet. The challenge is bound to it: the authentication must name
    /// the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_request: Option<String>,
}

/// The card's answer, logging in by Service ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceIdLoginAuthentication {
    /// The challenge's nonce, base64url.
    pub nonce: String,
    /// The user-identification certificate, base64 DER.
    #[schema(content_encoding = "base64")]
    pub certificate: String,
    /// The card's signature over the nonce, base64.
    #[schema(content_encoding = "base64")]
    pub signature: String,
    /// The link request the challenge was bound to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_request: Option<String>,
    /// With `link_request`: every Art 17.2 item name (as `GET /v1/link-requests/{id}` lists
    /// them) and the terms version in force. Without it: absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentGiven>,
}

/// Logged in by Service ID: the person's client passes `code` to the relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceIdLoggedIn {
    /// The relying party.
    pub relying_party: RelyingPartyShown,
    /// Whether the Service ID was linked in this flow. (Which customer ID it is, the relying
    /// party learns by redeeming the code: a terminal that relays the card's answer learns
    /// nothing of the person's accounts.)
    pub linked: bool,
    /// A one-time code the relying party redeems, with its own credentials, for the customer
    /// ID (43 base64url characters).
    pub code: String,
    /// Until when it may be redeemed.
    #[schema(format = DateTime)]
    pub code_expires_at: String,
}

/// A login code redeemed: the customer ID it was for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceIdLoginRedeemed {
    /// The relying party's customer ID the person logged in as.
    pub customer_id: String,
}
