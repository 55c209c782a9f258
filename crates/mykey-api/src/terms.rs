//! Terms versions (Terms Art 3, 12): published by operators, read by anyone.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A terms version to publish; `text_url` or `summary` (or both) is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsPublication {
    /// The version's name.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub version: String,
    /// At least 7 days from now (Art 12.2) unless urgent; never in the past.
    #[schema(format = DateTime)]
    pub effective_at: String,
    /// The http(s) URL of the full text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    pub text_url: Option<String>,
    /// The change in a few words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 4000)]
    pub summary: Option<String>,
    /// Art 12.2's urgent case: may take effect with less notice; needs a reason.
    #[serde(default)]
    pub urgent: bool,
    /// Why the change is urgent (recorded); only with `urgent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A published terms version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TermsVersion {
    /// The version's name.
    pub version: String,
    /// When it takes effect.
    #[schema(format = DateTime)]
    pub effective_at: String,
    /// The URL of the full text.
    #[schema(required = true)]
    pub text_url: Option<String>,
    /// The change in a few words.
    #[schema(required = true)]
    pub summary: Option<String>,
    /// When it was published.
    #[schema(format = DateTime)]
    pub published_at: String,
    /// Whether it was an urgent change.
    pub urgent: bool,
    /// Why it was urgent.
    #[schema(required = true)]
    pub urgent_reason: Option<String>,
    /// Whether this is the version in force now, which consents must name.
    pub in_force: bool,
}

/// Every terms version, and the one in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TermsVersions {
    /// The version in force, if one is.
    #[schema(required = true)]
    pub in_force: Option<String>,
    /// Every version.
    pub versions: Vec<TermsVersion>,
}
