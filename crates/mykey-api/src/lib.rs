//! The MyKey Platform's wire models: every JSON body the REST API (`/v1`) and the OpenID Connect
//! endpoints answer or accept, as `serde` types with their OpenAPI schemas (`utoipa::ToSchema`).
//! The server answers with them, the `mykey` command line reads them, and a relying party's Rust
//! client may use them too: this crate knows nothing of the platform's domain.
//!
//! One module per resource, as the server's `http/<resource>.rs`. Times are RFC 3339 text in
//! UTC. Values from a closed set (a relying party's kind, a fact scope) are strings whose schema
//! names the set, so that a client keeps reading answers when a value is added.

pub mod auth;
pub mod authorizations;
pub mod events;
pub mod export;
pub mod link_requests;
pub mod maintenance;
pub mod me;
pub mod oidc;
pub mod operators;
pub mod ops;
pub mod pinless;
pub mod points;
pub mod ppid_services;
pub mod problem;
pub mod rp;
pub mod rp_ppid;
pub mod service_id_logins;
pub mod streams;
pub mod terms;
pub mod token;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A relying party's kind (Terms Art 2): an administrative body or a business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RelyingPartyKind {
    /// A public authority.
    PublicAuthority,
    /// A private business.
    Business,
    /// A registered payment provider of the card-point programme (Art 26.1.1).
    PaymentProvider,
    /// An application-support business's kiosk (Art 26.1.2).
    Kiosk,
}

/// The relying party a person deals with, as shown to them: who it is, and where they turn to it
/// with inquiries and disputes, which it answers itself (Terms Art 17.2.3, 18, 21).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RelyingPartyShown {
    /// Its name.
    pub name: String,
    /// `public-authority` or `business`.
    #[schema(value_type = RelyingPartyKind)]
    pub kind: String,
    /// Its contact point, in words; `null` for a relying party that has not given one yet.
    #[schema(required = true)]
    pub contact: Option<String>,
    /// Its privacy policy.
    #[schema(required = true)]
    pub privacy_policy_url: Option<String>,
    /// Its own terms of use.
    #[schema(required = true)]
    pub terms_url: Option<String>,
}

/// Where people turn to a relying party: set at registration, replaced by the relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelyingPartyProfile {
    /// Its contact point, in words (a desk, a telephone number, an address): 1 to 200
    /// characters.
    #[schema(min_length = 1, max_length = 200)]
    pub contact: String,
    /// Its privacy policy: an absolute https URL.
    #[schema(max_length = 2000)]
    pub privacy_policy_url: String,
    /// Its own terms of use: an absolute https URL.
    #[schema(max_length = 2000)]
    pub terms_url: String,
}

/// One matter a person consents to: its stable name and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentItem {
    /// The item's stable name (`service-id.link`, `ppid.validity-check`, …).
    pub name: String,
    /// What the person agrees to, in words.
    pub text: String,
}

/// What a person is asked to consent to: the items, all required, under a terms version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentAsked {
    /// Every item, each to be named in the approval.
    pub items: Vec<ConsentItem>,
    /// The terms version in force, which the approval names.
    pub terms_version: String,
}

/// A consent as a card holder's approval gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentGiven {
    /// Exactly the item names asked for, each once.
    pub items: Vec<String>,
    /// The terms version the request names.
    pub terms_version: String,
}

/// A consent as recorded: its items, its terms version and when it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentRecorded {
    /// The item names consented to.
    pub items: Vec<String>,
    /// The terms version it was given under.
    pub terms_version: String,
    /// When.
    #[schema(format = DateTime)]
    pub given_at: String,
}

/// What `/health/ready` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// The database answers and the revocation index is fresh enough.
    pub ready: bool,
    /// `ok` or `unreachable`.
    pub database: String,
    /// `fresh`, `stale` (older than the configured limit: logins go to OCSP), `not built` or
    /// `not used`.
    pub revocation_index: String,
    /// The oldest CRL index's age, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_index_age_secs: Option<u64>,
}
