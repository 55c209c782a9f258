//! `POST /v1/rp/events`: the poll of RFC 8936, and the JWK Sets that verify what it gives.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// RFC 8936 §2.4's request; every member optional (an empty body polls).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    /// The `jti` of SETs received and processed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ack: Vec<String>,
    /// The `jti` of SETs received but refused, with why (§2.4.3): acknowledged too (sending
    /// them again would not help), and logged for the operator.
    #[serde(default, rename = "setErrs", skip_serializing_if = "HashMap::is_empty")]
    #[schema(value_type = HashMap<String, SetError>)]
    pub set_errs: HashMap<String, serde_json::Value>,
    /// At most this many SETs in the answer.
    #[serde(default, rename = "maxEvents", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 100)]
    pub max_events: Option<usize>,
    /// Long polling is not offered: the answer always comes at once.
    #[serde(
        default,
        rename = "returnImmediately",
        skip_serializing_if = "Option::is_none"
    )]
    pub return_immediately: Option<bool>,
}

/// Why a receiver refused a SET (RFC 8936 §2.4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SetError {
    /// The error code (RFC 8935 §2.4).
    pub err: String,
    /// In words.
    pub description: String,
}

/// RFC 8936 §2.5's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PollResponse {
    /// The Security Event Tokens waiting, by `jti`. Each is a JWT (RFC 8417, typ
    /// `secevent+jwt`, ES256): `iss` the platform, `aud` the client_id, `sub_id`
    /// `{format: opaque, id: customer ID}`, `{format: iss_sub, iss, sub: PPID}` or, to a payment
    /// provider, `{format: opaque, id: point application ID}`, and one event (credential-change
    /// (CAEP), account-disabled (RISC), `urn:mykey:secevent:service-id-ended`,
    /// `urn:mykey:secevent:basic-facts-changed`, `urn:mykey:secevent:signature-certificate-revoked`,
    /// `urn:mykey:secevent:ppid-consent-withdrawn`, `urn:mykey:secevent:point-application-submitted`,
    /// `…-withdrawn`, `…-forfeited`).
    pub sets: BTreeMap<String, String>,
    /// More wait than were given.
    #[serde(rename = "moreAvailable")]
    pub more_available: bool,
}

/// A JWK Set (RFC 7517). A client's has 1 to 10 public signing keys, EC P-256 or RSA of at least
/// 2048 bits, each with a distinct `kid`; private parts are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    /// The keys.
    #[schema(min_items = 1, max_items = 10)]
    pub keys: Vec<Jwk>,
}

/// A public key (RFC 7517 §4, RFC 7518 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// `EC` or `RSA`.
    pub kty: String,
    /// The key's ID.
    pub kid: String,
    /// `sig`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// The algorithm it signs with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// EC: `P-256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC: the x coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC: the y coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA: the modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA: the exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}
