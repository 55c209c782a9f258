//! `POST /oidc/token` (RFC 6749 §3.2): its form, its answer and its refusals.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The token endpoint's form parameters (`application/x-www-form-urlencoded`); each at most
/// once, others ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `authorization_code` or `client_credentials`.
    pub grant_type: String,
    /// client_credentials only: `rp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client, when it authenticates with `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_assertion_type: Option<String>,
    /// A JWT (ES256, RS256 or PS256) signed with a registered key: iss = sub = client_id,
    /// aud = `{issuer}/oidc/token` or the issuer, exp at most 10 minutes ahead, a jti never used
    /// before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_assertion: Option<String>,
    /// authorization_code: the code from the redirect (once, within 60 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// authorization_code: the authorization request's, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// authorization_code: the PKCE verifier (RFC 7636, 43-128 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
}

/// The token endpoint's answer (RFC 6749 §5.1; OpenID Connect Core §3.1.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The access token: for `/v1/rp` (client_credentials) or userinfo (authorization_code).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// authorization_code: the ID token (ES256, or RS256 where registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The scope granted: `rp`, or the login's (`openid` and fact scopes).
    pub scope: String,
}

/// An OAuth refusal (RFC 6749 §5.2) at the token endpoint and userinfo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `invalid_token`, `server_error` or
    /// `temporarily_unavailable`.
    pub error: String,
    /// In words.
    pub error_description: String,
}
