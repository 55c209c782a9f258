//! `/v1/rp`: a relying party's Service IDs (Terms Art 17).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Opens a link request for one of the relying party's customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequestOpening {
    /// The relying party's own ID for its customer (1 to 128 printable ASCII characters).
    #[schema(pattern = "^[!-~]{1,128}$")]
    pub customer_id: String,
}

/// A link request opened: the person's device opens `link_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkRequestOpened {
    /// The request's handle, 22 base64url characters.
    pub request_id: String,
    /// The customer ID it links.
    pub customer_id: String,
    /// When it can no longer be answered.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// The path (relative to the platform) the person's device opens.
    pub link_url: String,
}

/// A relying party's application for a Service ID with the My Key ID the person gave it
/// (Terms Art 17.1), with the consent to the matters of Art 17.2 it obtained from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceIdApplication {
    /// The My Key ID the person gave (8 characters of A–Z and 0–9). It is never answered back
    /// nor sent in any later answer or event.
    #[schema(pattern = "^[A-Z0-9]{8}$")]
    pub my_key_id: String,
    /// The relying party's own ID for its customer (1 to 128 printable ASCII characters).
    #[schema(pattern = "^[!-~]{1,128}$")]
    pub customer_id: String,
    /// The consent the relying party obtained: every Art 17.2 item name (as
    /// `GET /v1/link-requests/{id}` lists them) and the terms version in force.
    pub consent: crate::ConsentGiven,
}

/// `?customer_id=`: one customer's link only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinksQuery {
    /// Only this customer's link (404 if there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
}

/// A Service ID as its relying party sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RelyingPartyServiceId {
    /// The relying party's ID for the person.
    pub customer_id: String,
    /// When it was linked.
    #[schema(format = DateTime)]
    pub linked_at: String,
}

/// The relying party's Service IDs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RelyingPartyServiceIds {
    /// Each link.
    pub service_ids: Vec<RelyingPartyServiceId>,
}

/// Whether the four basic facts of the person behind a link changed since they linked
/// (Terms Art 17.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FactsCheck {
    /// The link's customer ID.
    pub customer_id: String,
    /// Whether the facts changed (also sent as a `basic-facts-changed` event).
    pub basic_facts_changed: bool,
    /// Why J-LIS revoked the signature certificate the link was made with, as J-LIS gives it
    /// (the RFC 5280 name: `affiliationChanged` for a change of the facts, `keyCompromise`,
    /// `superseded`, …), when this check found it revoked; `null` when it found nothing new.
    /// A revocation is also sent as an event (`basic-facts-changed` or
    /// `signature-certificate-revoked`).
    #[schema(required = true)]
    pub revocation_reason: Option<String>,
    /// When J-LIS was asked.
    #[schema(format = DateTime)]
    pub checked_at: String,
}
