//! `/v1/authorizations/{handle}`: the phone's side of a cross-device login.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ConsentAsked, ConsentGiven, RelyingPartyShown};

/// A cross-device login as the phone shows it before the card is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorizationShown {
    /// The code the browser shows (XXXX-XXXX).
    pub short_code: String,
    /// `openid-connect` (a relying party's login) or `portal` (the person's own portal).
    #[schema(value_type = AuthorizationPurpose)]
    pub purpose: String,
    /// The relying party asking, for `openid-connect`.
    #[schema(required = true)]
    pub relying_party: Option<RelyingPartyShown>,
    /// Its PPID service, for a login by PPID; `null` for a login by Service ID and the portal.
    #[schema(required = true)]
    pub ppid_service: Option<PpidServiceNamed>,
    /// For `openid-connect`: whom the relying party learns the person is — `ppid` (their PPID
    /// for the service) or `service-id` (its own customer ID that their Service ID links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::ops::OidcSubject>)]
    pub subject: Option<String>,
    /// A Service ID the relying party offers to make in the same flow (a login by Service ID
    /// with a link request): the customer ID it links. Approving consents to the Art 17.2
    /// items listed in `consent` and links it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkOffered>,
    /// The facts asked for.
    #[schema(value_type = Vec<crate::ops::FactScope>)]
    pub facts: Vec<String>,
    /// When the request can no longer be approved.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// What approving consents to.
    pub consent: ConsentAsked,
    /// When and where the browser that began the request was.
    pub began: Began,
    /// Whether, after approving, the person must type a code the phone shows into the browser
    /// (a portal login always; a relying party's login when the phone found it by the short
    /// code).
    pub confirm_in_browser: bool,
    /// What approving does and where the browser is, in words a person understands; show it
    /// before the card is read.
    pub summary: Summary,
}

/// What a cross-device login is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorizationPurpose {
    /// A relying party's login (OpenID Connect).
    OpenidConnect,
    /// The person's own portal.
    Portal,
}

/// A Service ID offered in a login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkOffered {
    /// The relying party's customer ID the Service ID links.
    pub customer_id: String,
}

/// A PPID service named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PpidServiceNamed {
    /// Its name.
    pub name: String,
}

/// When and where the browser that began the request was, as the platform saw it: its address
/// (behind a reverse proxy, the proxy's) and its User-Agent in a few words (never the raw
/// header). Shown, so that a person can tell their own browser from someone else's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Began {
    /// When.
    #[schema(format = DateTime)]
    pub at: String,
    /// The browser's address, if known.
    #[schema(required = true)]
    pub from: Option<String>,
    /// The browser in a few words, e.g. `Firefox on Windows`.
    #[schema(required = true)]
    pub browser: Option<String>,
}

/// A text in Japanese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    /// In Japanese.
    pub ja: String,
    /// In English.
    pub en: String,
}

/// The card's approval of a cross-device login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationApproval {
    /// The challenge's nonce, base64url.
    pub nonce: String,
    /// The user-identification certificate, base64 DER.
    #[schema(content_encoding = "base64")]
    pub certificate: String,
    /// The card's signature over the nonce, base64.
    #[schema(content_encoding = "base64")]
    pub signature: String,
    /// Every item name shown, each once, and the terms version.
    pub consent: ConsentGiven,
    /// The card's signature certificate (DER, base64), read with the signature password, when
    /// facts are asked for (and only then): the facts released are those it certifies, once
    /// J-LIS confirms it is the current valid signature certificate of the card that signed.
    /// Facts cannot be stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(content_encoding = "base64")]
    pub signature_certificate: Option<String>,
}

/// A cross-device login approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorizationApproved {
    /// `true`.
    pub approved: bool,
    /// The six digits the person types into their own browser, where the browser could be
    /// someone else's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_code: Option<String>,
}

/// A refusal of a cross-device login (the body may also be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationRefusal {
    /// The request is not the person's own: record it for the operator.
    #[serde(default)]
    pub report: bool,
}
