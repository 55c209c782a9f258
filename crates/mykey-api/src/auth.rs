//! `/v1/auth`: card login, and the challenge every card answer signs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Asks for a login challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// `login` (the other purposes come with their own flows).
    #[schema(example = "login")]
    pub purpose: String,
}

/// A one-time nonce for the card to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Challenge {
    /// 32 bytes, base64url without padding: the card signs exactly these bytes
    /// (RSASSA-PKCS1-v1_5, SHA-256).
    pub nonce: String,
    /// What the answer will be for: `login`, `service-id-link` (a link request) or
    /// `authorization` (a PPID service or a cross-device login).
    pub purpose: String,
    /// When the challenge can no longer be answered.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// The card's answer to a login challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardResponse {
    /// The challenge's nonce, base64url.
    pub nonce: String,
    /// `login`.
    pub purpose: String,
    /// The user-identification certificate, base64 DER.
    #[schema(content_encoding = "base64")]
    pub certificate: String,
    /// The card's signature over the nonce, base64.
    #[schema(content_encoding = "base64")]
    pub signature: String,
}

/// A session: the token for `Authorization: Bearer` on `/v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// The session token.
    pub token: String,
    /// `Bearer`.
    pub token_type: String,
    /// When the session ends.
    #[schema(format = DateTime)]
    pub expires_at: String,
}
