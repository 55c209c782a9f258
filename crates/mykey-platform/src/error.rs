//! The domain's error: one variant per outcome an edge must tell apart. The HTTP edge maps each
//! to a status and a stable problem type in exactly one place.

use mykey_pki::RevocationReason;

use crate::{IdError, JlisUnavailable, StoreError};

/// Why a platform operation did not happen. Nothing was stored when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The challenge is unknown, already used, or was issued for another purpose or relying party.
    #[error("unknown, used or foreign challenge")]
    ChallengeUnknown,
    /// The challenge's time ran out.
    #[error("challenge expired")]
    ChallengeExpired,
    /// The certificate failed the profile, path, validity or signature checks.
    #[error("certificate refused: {0}")]
    Certificate(#[from] mykey_pki::Error),
    /// The certificate is revoked.
    #[error("certificate revoked ({})", .reason.map_or("no reason given", RevocationReason::name))]
    Revoked {
        /// The reason J-LIS gives.
        reason: Option<RevocationReason>,
    },
    /// J-LIS could not be asked and the answer cannot be known without it: fail closed.
    #[error(transparent)]
    JlisUnavailable(#[from] JlisUnavailable),
    /// No valid session.
    #[error("no valid session")]
    Unauthenticated,
    /// An identifier in the request is malformed.
    #[error(transparent)]
    InvalidId(#[from] IdError),
    /// The person already has an active My Key ID (Art 15.1: at most one at a time).
    #[error("a My Key ID is already active")]
    MyKeyIdAlreadyActive,
    /// The requested My Key ID is taken (or was used before).
    #[error("that My Key ID is not available")]
    MyKeyIdTaken,
    /// The person has no active My Key ID.
    #[error("no active My Key ID")]
    NoMyKeyId,
    /// The operator API is closed: no operator token is configured.
    #[error("the operator API is closed")]
    OperatorApiClosed,
    /// A name is empty, too long (over 200 characters) or holds characters that would hide or
    /// disguise what it says (controls, bidi and zero-width format characters, private use,
    /// separators other than spaces): see `names.rs`.
    #[error(
        "a name is 1 to 200 characters, without control, format (bidi, zero-width), private-use or line-separator characters"
    )]
    InvalidName,
    /// Client authentication failed: unknown client or wrong secret (never told apart).
    #[error("client authentication failed")]
    InvalidClient,
    /// A client assertion (`private_key_jwt`) of a known client was refused; the reason is safe
    /// to tell the client (it names no secret).
    #[error("client assertion refused: {0}")]
    InvalidClientAssertion(&'static str),
    /// A JWK Set given for a relying party is not acceptable (the reason says why).
    #[error("invalid JWK Set: {0}")]
    InvalidJwks(&'static str),
    /// A stream configuration is not acceptable (the reason says why).
    #[error("invalid stream: {0}")]
    InvalidStream(&'static str),
    /// The relying party has configured no stream.
    #[error("no stream is configured")]
    StreamUnknown,
    /// The relying party is pending approval or suspended.
    #[error("the relying party is not approved")]
    RelyingPartyNotApproved,
    /// No relying party has that ID.
    #[error("no such relying party")]
    RelyingPartyUnknown,
    /// No link request has that ID.
    #[error("no such link request")]
    LinkRequestUnknown,
    /// The link request was already approved or refused.
    #[error("the link request has already been answered")]
    LinkRequestAnswered,
    /// The link request's time ran out.
    #[error("the link request has expired")]
    LinkRequestExpired,
    /// The consent does not name exactly the required items under the terms version in force.
    #[error("the consent must name exactly the required items and the terms version in force")]
    ConsentIncomplete,
    /// A Service ID needs the person's active My Key ID (Art 17.1).
    #[error("a Service ID needs an active My Key ID; create one first")]
    MyKeyIdRequired,
    /// The relying party already has an active Service ID for that customer ID.
    #[error("that customer ID is already linked")]
    ServiceIdExists,
    /// No active Service ID matches (or it is not the caller's).
    #[error("no such Service ID")]
    ServiceIdUnknown,
    /// A terms version is malformed (the reason says how).
    #[error("invalid terms: {0}")]
    InvalidTerms(&'static str),
    /// A terms version would take effect with less than seven days' notice (Art 12.2) and is
    /// not marked urgent (or, urgent, before now).
    #[error("terms must be announced at least seven days before they take effect")]
    TermsNoticeTooShort {
        /// When it was to take effect.
        effective_at: mykey_pki::UnixTime,
        /// The earliest it may.
        earliest: mykey_pki::UnixTime,
    },
    /// A terms version of that name, or taking effect at that moment, exists.
    #[error("that terms version (or its moment) is already published")]
    TermsVersionExists,
    /// No PPID key is configured: PPIDs cannot be issued.
    #[error("PPIDs are not enabled on this platform")]
    PpidClosed,
    /// No such PPID service (or it is not the caller's, or the person has no consent for it).
    #[error("no such PPID service")]
    PpidServiceUnknown,
    /// No issued PPID of the service matches.
    #[error("no such PPID")]
    PpidUnknown,
    /// The one-time code is unknown, used, expired or of another service.
    #[error("unknown, used or expired code")]
    PpidCodeInvalid,
    /// The store failed; the detail is logged where it arose, never sent.
    /// An OAuth refusal with its standard code (authorization, token and userinfo endpoints).
    #[error("{reason}")]
    OAuth {
        /// The `error` code.
        code: crate::oidc::OAuthCode,
        /// The `error_description`.
        reason: &'static str,
    },
    /// The client ID names no relying party with an OpenID Connect client registration.
    #[error("unknown client, or one not registered for OpenID Connect")]
    OidcClientUnknown,
    /// The redirect URI is missing or not exactly one the client registered.
    #[error("redirect_uri is missing or not registered for the client")]
    InvalidRedirectUri,
    /// A client registration an operator sent is not acceptable.
    #[error("invalid OpenID Connect client: {0}")]
    InvalidOidcClient(&'static str),
    /// No such authorization request (or another browser's).
    #[error("no such authorization request")]
    AuthorizationUnknown,
    /// The request was answered (or continued) already.
    #[error("the authorization request has already been answered")]
    AuthorizationAnswered,
    /// The request's time ran out.
    #[error("the authorization request has expired")]
    AuthorizationExpired,
    /// Too many short codes that named no request, from this source or from everywhere
    /// (`oidc/guard.rs`): try again after `retry_after` seconds, or scan the QR code.
    #[error("too many unknown short codes: try again in {retry_after} s, or scan the QR code")]
    TooManyAttempts {
        /// Seconds until a short code is looked up again.
        retry_after: u64,
    },
    /// A relying party asked more often than its quota allows (`quota.rs`): try again after
    /// `retry_after` seconds.
    #[error("quota exceeded: try again in {retry_after} s")]
    QuotaExceeded {
        /// Seconds until the next is allowed.
        retry_after: u64,
    },
    /// The facts sent with an approval are not the ones asked for, or malformed.
    #[error("facts refused: {0}")]
    InvalidFacts(&'static str),
    /// A logout request the platform cannot honour.
    #[error("logout refused: {0}")]
    InvalidLogout(&'static str),
    #[error("storage failure")]
    Store(#[from] StoreError),
}
