//! RFC 9457 problem documents: every refusal of the REST API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A refusal (RFC 9457, `application/problem+json`). `type` is `urn:mykey:problem:{kind}`,
/// stable per error; the document's description lists the kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:mykey:problem:{kind}`.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub kind: String,
    /// The kind in a few words.
    pub title: String,
    /// The HTTP status, again.
    pub status: u16,
    /// What exactly was wrong, when it names nothing internal.
    #[schema(required = true)]
    pub detail: Option<String>,
}
