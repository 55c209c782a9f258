//! The OpenID Connect provider's JSON: discovery, userinfo, and the authorization's status.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The provider's metadata (OpenID Connect Discovery 1.0 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProviderMetadata {
    /// The issuer (the platform's URL).
    pub issuer: String,
    /// Where a login begins.
    pub authorization_endpoint: String,
    /// Where codes become tokens.
    pub token_endpoint: String,
    /// Where an access token reads the consented claims.
    pub userinfo_endpoint: String,
    /// The platform's public keys.
    pub jwks_uri: String,
    /// RP-Initiated Logout.
    pub end_session_endpoint: String,
    /// `openid` and the fact scopes.
    pub scopes_supported: Vec<String>,
    /// `code`.
    pub response_types_supported: Vec<String>,
    /// `query`.
    pub response_modes_supported: Vec<String>,
    /// `authorization_code`, `client_credentials`.
    pub grant_types_supported: Vec<String>,
    /// `pairwise` (the PPID).
    pub subject_types_supported: Vec<String>,
    /// `ES256`, `RS256`.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `private_key_jwt`, `client_secret_basic`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// The algorithms of client assertions.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// `S256`.
    pub code_challenge_methods_supported: Vec<String>,
    /// The claims the ID token and userinfo may carry.
    pub claims_supported: Vec<String>,
    /// The card's authentication context.
    pub acr_values_supported: Vec<String>,
    /// `false`.
    pub claims_parameter_supported: bool,
    /// `false`.
    pub request_parameter_supported: bool,
    /// `false`.
    pub request_uri_parameter_supported: bool,
    /// `true` (RFC 9207).
    pub authorization_response_iss_parameter_supported: bool,
    /// `ja`, `en`.
    pub ui_locales_supported: Vec<String>,
    /// `normal`.
    pub claim_types_supported: Vec<String>,
}

/// The claims userinfo answers: the PPID, and the facts consented to in that login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserInfo {
    /// The PPID (pairwise).
    pub sub: String,
    /// The name on the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The address on the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub birthdate: Option<String>,
    /// `male`, `female` or `not applicable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
}

/// An address claim (OpenID Connect Core §5.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    /// The whole address, as written on the card.
    pub formatted: String,
}

/// Where a cross-device login stands, for the browser that waits on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorizationStatus {
    /// `pending`, `approved`, `declined`, `continued` or `redeemed`.
    pub status: String,
}
