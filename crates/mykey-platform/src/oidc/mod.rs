//! The OpenID Connect provider (OpenID Connect Core 1.0, Discovery 1.0, RFC 7636 PKCE, RFC 9207
//! `iss`), with the cross-device login of docs/architecture.md §7 (docs/jpki.md §19 is the state of the art
//! it meets):
//!
//! ```text
//! browser  GET /oidc/authorize ──► begin_authorization: the request checked, stored pending,
//!          │                       a handle (QR code) and a short code for the phone
//! phone    GET /v1/authorizations/{handle} ──► who asks for what (authorization_view)
//!          POST …/challenges, …/approval   ──► the card signs, the person consents to exactly
//!                                              the asked facts, the PPID is issued or used
//! browser  GET /oidc/authorize/continue    ──► continue_authorization: a one-time code, 302
//!          (POST with the phone's code first, where one is awaited: confirm.rs)
//! client   POST /oidc/token                ──► exchange_code: PKCE, redirect URI, ID token
//!          GET /oidc/userinfo              ──► userinfo: sub and the consented facts
//!          GET /oidc/logout                ──► logout: the login's tokens revoked
//! ```
//!
//! Only the authorization code flow, `state`, `nonce` and PKCE S256 are required; `sub` is the
//! person's PPID for the client's PPID service (pairwise, Core §8.1) or, for a client registered
//! for Service-ID subjects, the relying party's own customer ID that the person's Service ID
//! links (`service_id_login.rs`). A code is good once for
//! 60 seconds; presented again, the tokens it gave are revoked (RFC 6749 §4.1.2). The browser
//! that began a request holds a cookie secret, and only that browser may continue it.

mod answers;
mod approval;
mod authorize;
mod claims;
mod confirm;
mod guard;
mod portal;
mod rsa_key;
mod store;
mod tokens;

pub(crate) use answers::Answers;
pub use answers::FALLBACK_CHECK;
pub use approval::{Approved, AuthorizationView, MAX_REPORT_PAGE};
pub use authorize::{AuthorizationParams, AuthorizeError, Begun, Continuation};
pub use claims::FactScope;
pub(crate) use claims::claims as claims_of;
pub use guard::{
    GLOBAL_BURST, GLOBAL_PER_SEC, PER_PREFIX_BURST, PER_PREFIX_REFILL_SECS, PER_SOURCE_BURST,
    PER_SOURCE_REFILL_SECS, QUIET_SECS, RESERVE_BURST, RESERVE_PER_SEC, ShortCodeGuard,
};
pub use portal::{PortalBegun, PortalContinuation};
pub use rsa_key::RsaSigningKey;
pub use store::{
    Authorization, AuthorizationReport, AuthorizationStatus, BrowserOrigin, CONFIRM_TRIES, Changed,
    CodeExchange, Confirmation, ExchangeOutcome, ExchangeStep, NewAuthorization, OidcStore,
    REPORT_KEEP_SECS, describe_browser,
};
pub use tokens::{ACR_CARD, LogoutOutcome, LogoutRequest, OidcTokens};

use crate::{Platform, PlatformError, PpidServiceId, RelyingParty, RelyingPartyId};

/// Seconds an authorization code may be exchanged in.
pub const CODE_TTL: u64 = 60;
/// Seconds an access token (and an ID token) lasts.
pub const ACCESS_TOKEN_TTL: u64 = 600;
/// Longest `state` or `nonce` accepted.
pub const MAX_STATE_LEN: usize = 512;
/// Most redirect URIs a client registers.
pub const MAX_REDIRECT_URIS: usize = 10;

/// The OAuth error codes the provider answers with (RFC 6749 §4.1.2.1, §5.2; Core §3.1.2.6;
/// RFC 6750 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthCode {
    /// `invalid_request`.
    InvalidRequest,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `invalid_scope`.
    InvalidScope,
    /// `access_denied`.
    AccessDenied,
    /// `login_required`.
    LoginRequired,
    /// `request_not_supported`.
    RequestNotSupported,
    /// `request_uri_not_supported`.
    RequestUriNotSupported,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `invalid_grant`.
    InvalidGrant,
    /// `invalid_token`.
    InvalidToken,
}

impl OAuthCode {
    /// The code's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidToken => "invalid_token",
        }
    }
}

/// The ID token's signature algorithm a client registered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdTokenAlg {
    /// ECDSA P-256 SHA-256, the default.
    #[default]
    Es256,
    /// RSASSA-PKCS1-v1_5 SHA-256 (RSA-2048), for clients that cannot verify ES256.
    Rs256,
}

impl IdTokenAlg {
    /// The JWA name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    /// From [`IdTokenAlg::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Es256, Self::Rs256]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// Whose identifier a client's `sub` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OidcSubject {
    /// The person's PPID for this PPID service of the relying party (pairwise, Core §8.1).
    Ppid(PpidServiceId),
    /// The relying party's own customer ID that the person's Service ID links (Art 2.13, 17):
    /// logging in by Service ID.
    ServiceId,
}

impl OidcSubject {
    /// The name used in the API and the store: `ppid` or `service-id`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ppid(_) => "ppid",
            Self::ServiceId => "service-id",
        }
    }

    /// The PPID service, for a PPID client.
    pub fn ppid_service(self) -> Option<PpidServiceId> {
        match self {
            Self::Ppid(s) => Some(s),
            Self::ServiceId => None,
        }
    }
}

/// A relying party's OpenID Connect client registration (made by an operator, who also decides
/// which of the four facts it may ask for, Art 20.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcClient {
    /// The relying party (its `client_id` is the client's).
    pub relying_party: RelyingPartyId,
    /// Whose identifier the `sub`s are.
    pub subject: OidcSubject,
    /// Redirect URIs, compared exactly (Core §3.1.2.1).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return.
    pub post_logout_redirect_uris: Vec<String>,
    /// The fact scopes it may ask for.
    pub scopes: Vec<FactScope>,
    /// How its ID tokens are signed.
    pub id_token_alg: IdTokenAlg,
}

/// Whether `uri` may be registered: an absolute `https` URL without a fragment, or `http` to a
/// loopback host (RFC 8252 §8.3, for development), at most 2,000 characters.
pub fn valid_redirect_uri(uri: &str) -> bool {
    let Ok(u) = url::Url::parse(uri) else {
        return false;
    };
    let loopback = matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    uri.len() <= 2000
        && u.fragment().is_none()
        && u.username().is_empty()
        && u.password().is_none()
        && (u.scheme() == "https" || (u.scheme() == "http" && loopback))
}

impl Platform {
    /// The RS256 key: the configured one, or one made on first use.
    pub(crate) fn rsa_key(&self) -> std::sync::Arc<RsaSigningKey> {
        if let Some(k) = &self.signing_keys().rsa {
            return k.clone();
        }
        self.made_rsa
            .get_or_init(|| {
                // A generated key always parses.
                std::sync::Arc::new(
                    RsaSigningKey::from_pkcs8(&RsaSigningKey::generate_pkcs8())
                        .expect("a generated RSA key"),
                )
            })
            .clone()
    }

    /// An operator registers (or replaces) `rp`'s OpenID Connect client.
    pub async fn set_oidc_client(
        &self,
        rp: &RelyingParty,
        c: &OidcClient,
    ) -> Result<OidcClient, PlatformError> {
        self.identity_function(rp)?;
        let refused = |r: &'static str| PlatformError::Invalid(crate::InvalidError::OidcClient(r));
        if c.relying_party != rp.id {
            return Err(refused("the registration names another relying party"));
        }
        if c.redirect_uris.is_empty() || c.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(refused("register 1 to 10 redirect URIs"));
        }
        if c.post_logout_redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(refused("register at most 10 post-logout redirect URIs"));
        }
        if !c
            .redirect_uris
            .iter()
            .chain(&c.post_logout_redirect_uris)
            .all(|u| valid_redirect_uri(u))
        {
            return Err(refused(
                "a redirect URI must be an absolute https URL (http only to a loopback host) without a fragment",
            ));
        }
        // PPIDs and the four facts are functions of public authorities (Art 19, 20).
        if matches!(c.subject, OidcSubject::Ppid(_)) || !c.scopes.is_empty() {
            self.public_authority_function(rp)?;
        }
        if let OidcSubject::Ppid(id) = c.subject {
            self.store
                .ppid_service(id)
                .await?
                .filter(|s| s.relying_party.id == rp.id)
                .ok_or(PlatformError::NotFound(crate::NotFound::PpidService))?;
        }
        let mut c = c.clone();
        c.scopes.sort_unstable();
        c.scopes.dedup();
        c.redirect_uris.dedup();
        self.store.set_oidc_client(&c, self.clock.now()).await?;
        Ok(c)
    }

    /// `rp`'s client registration.
    pub async fn oidc_client(&self, rp: &RelyingParty) -> Result<OidcClient, PlatformError> {
        self.store
            .oidc_client(rp.id)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::OidcClient))
    }
}
