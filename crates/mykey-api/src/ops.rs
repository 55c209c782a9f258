//! `/v1/ops`: operators admit, suspend and re-key relying parties, register their OpenID
//! Connect clients, and read the cross-device logins people reported.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A relying party's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RelyingPartyStatus {
    /// Registered, waiting for an operator.
    Pending,
    /// Admitted: it may call `/v1/rp`.
    Approved,
    /// Stopped by an operator.
    Suspended,
}

/// A fact a relying party may ask for (an OpenID Connect scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FactScope {
    /// The name.
    Name,
    /// The address.
    Address,
    /// The date of birth.
    Birthdate,
    /// The gender.
    Gender,
}

/// An ID token's signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum IdTokenAlg {
    /// ECDSA P-256, SHA-256 (the default).
    ES256,
    /// RSASSA-PKCS1-v1_5, SHA-256.
    RS256,
}

/// A relying party to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelyingPartyRegistration {
    /// Its name, as card holders see it.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `public-authority` or `business`.
    #[schema(value_type = crate::RelyingPartyKind)]
    pub kind: String,
    /// Its contact point, in words (a desk, a telephone number, an address), shown wherever
    /// people consent (Terms Art 17.2.3, 18, 21): 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub contact: String,
    /// Its privacy policy: an absolute https URL.
    #[schema(max_length = 2000)]
    pub privacy_policy_url: String,
    /// Its own terms of use: an absolute https URL.
    #[schema(max_length = 2000)]
    pub terms_url: String,
    /// The client's JWK Set for `private_key_jwt`, if it uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::events::Jwks>)]
    pub jwks: Option<serde_json::Value>,
}

/// A relying party, as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RelyingParty {
    /// Its ID, shown to operators only.
    pub id: i64,
    /// Its OAuth client ID.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// `public-authority` or `business`.
    #[schema(value_type = crate::RelyingPartyKind)]
    pub kind: String,
    /// `pending`, `approved` or `suspended`.
    #[schema(value_type = RelyingPartyStatus)]
    pub status: String,
    /// When it was registered.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A relying party with its new client secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RelyingPartyWithSecret {
    /// The relying party.
    #[serde(flatten)]
    pub relying_party: RelyingParty,
    /// 32 random bytes, base64url; shown only here, stored only as SHA-256.
    pub client_secret: String,
}

/// Every relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RelyingParties {
    /// Each one.
    pub relying_parties: Vec<RelyingParty>,
}

/// Whose identifier an OpenID Connect client's `sub` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OidcSubject {
    /// The person's PPID for one of the relying party's PPID services (pairwise).
    Ppid,
    /// The relying party's own customer ID that the person's Service ID links: logging in by
    /// Service ID (Terms Art 2.13, 17).
    ServiceId,
}

/// A relying party's OpenID Connect registration, as an operator sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcClientRegistration {
    /// Whose identifier the `sub`s are: `ppid` (the default) or `service-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<OidcSubject>)]
    pub subject: Option<String>,
    /// For `ppid`: the relying party's PPID service whose PPIDs are the `sub`s (required);
    /// for `service-id`: absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid_service_id: Option<i64>,
    /// https (http only to loopback), no fragment; compared exactly.
    #[schema(min_items = 1, max_items = 10)]
    pub redirect_uris: Vec<String>,
    /// Where logout may return to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 10)]
    pub post_logout_redirect_uris: Vec<String>,
    /// The fact scopes it may ask for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FactScope>)]
    pub scopes: Vec<String>,
    /// `ES256` (default) or `RS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<IdTokenAlg>)]
    pub id_token_signed_response_alg: Option<String>,
}

/// A relying party's OpenID Connect registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OidcClient {
    /// Its OAuth client ID.
    pub client_id: String,
    /// Whose identifier the `sub`s are.
    #[schema(value_type = OidcSubject)]
    pub subject: String,
    /// For `ppid`: the PPID service whose PPIDs are the `sub`s; `null` for `service-id`.
    #[schema(required = true)]
    pub ppid_service_id: Option<i64>,
    /// The redirect URIs, compared exactly.
    pub redirect_uris: Vec<String>,
    /// Where logout may return to.
    pub post_logout_redirect_uris: Vec<String>,
    /// The fact scopes it may ask for.
    #[schema(value_type = Vec<FactScope>)]
    pub scopes: Vec<String>,
    /// The ID token's algorithm.
    #[schema(value_type = IdTokenAlg)]
    pub id_token_signed_response_alg: String,
}

/// `?after=&limit=`: a page of reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    /// The cursor: reports after this one (the last page's `next`).
    #[serde(default)]
    pub after: i64,
    /// At most this many (1–500, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A cross-device login a person refused and reported as not theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorizationReport {
    /// The report's ID (the cursor).
    pub id: i64,
    /// When it was reported.
    #[schema(format = DateTime)]
    pub reported_at: String,
    /// `openid-connect` or `portal`.
    pub purpose: String,
    /// The relying party whose login it was.
    #[schema(required = true)]
    pub relying_party_id: Option<i64>,
    /// When the browser began it.
    #[schema(format = DateTime)]
    pub began_at: String,
    /// The browser's address.
    #[schema(required = true)]
    pub began_from: Option<String>,
    /// The browser in a few words.
    #[schema(required = true)]
    pub browser: Option<String>,
    /// Whether the phone found it by the short code.
    pub by_short_code: bool,
    /// The phone's address.
    #[schema(required = true)]
    pub reported_from: Option<String>,
}

/// A page of reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorizationReports {
    /// Oldest first.
    pub reports: Vec<AuthorizationReport>,
    /// The `after` of the next page; null on the last.
    #[schema(required = true)]
    pub next: Option<i64>,
}
