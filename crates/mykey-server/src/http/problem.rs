//! Errors at the edge: RFC 9457 problem+json with a stable `type` per error. Details that could
//! leak internals are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mykey_platform::PlatformError;

/// Everything a handler can answer with instead of success.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// A domain refusal.
    Platform(PlatformError),
    /// The request body or a field is malformed.
    InvalidRequest(String),
    /// The body is larger than the limit.
    TooLarge,
}

impl From<PlatformError> for ApiError {
    fn from(e: PlatformError) -> Self {
        ApiError::Platform(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use PlatformError as P;
        let (status, kind, title) = match &self {
            ApiError::InvalidRequest(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                "Invalid request",
            ),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request too large",
            ),
            ApiError::Platform(e) => match e {
                P::ChallengeUnknown => (
                    StatusCode::BAD_REQUEST,
                    "challenge-unknown",
                    "Unknown, used or foreign challenge",
                ),
                P::ChallengeExpired => (
                    StatusCode::BAD_REQUEST,
                    "challenge-expired",
                    "Challenge expired",
                ),
                P::Certificate(_) => (
                    StatusCode::UNAUTHORIZED,
                    "certificate-refused",
                    "Certificate or signature refused",
                ),
                P::Revoked { .. } => (
                    StatusCode::FORBIDDEN,
                    "certificate-revoked",
                    "Certificate revoked",
                ),
                P::JlisUnavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "jlis-unavailable",
                    "J-LIS unavailable",
                ),
                P::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "No valid session",
                ),
                P::InvalidId(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-request",
                    "Invalid request",
                ),
                P::MyKeyIdAlreadyActive => (
                    StatusCode::CONFLICT,
                    "my-key-id-already-active",
                    "A My Key ID is already active",
                ),
                P::MyKeyIdTaken => (
                    StatusCode::CONFLICT,
                    "my-key-id-taken",
                    "My Key ID not available",
                ),
                P::NoMyKeyId => (StatusCode::NOT_FOUND, "no-my-key-id", "No active My Key ID"),
                P::OperatorApiClosed => (
                    StatusCode::FORBIDDEN,
                    "operator-api-closed",
                    "The operator API is closed",
                ),
                P::InvalidName => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-request",
                    "Invalid request",
                ),
                P::InvalidClient => (
                    StatusCode::UNAUTHORIZED,
                    "invalid-client",
                    "Client authentication failed",
                ),
                // The reason goes in `detail`: it helps the client and names no secret.
                P::InvalidClientAssertion(_) => (
                    StatusCode::UNAUTHORIZED,
                    "invalid-client",
                    "Client authentication failed",
                ),
                P::InvalidJwks(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-jwks",
                    "Invalid JWK Set",
                ),
                P::InvalidStream(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-stream",
                    "Invalid stream",
                ),
                P::StreamUnknown => (StatusCode::NOT_FOUND, "stream-unknown", "No stream"),
                P::RelyingPartyNotApproved => (
                    StatusCode::FORBIDDEN,
                    "relying-party-not-approved",
                    "Relying party not approved",
                ),
                P::RelyingPartyUnknown => (
                    StatusCode::NOT_FOUND,
                    "relying-party-unknown",
                    "No such relying party",
                ),
                P::LinkRequestUnknown => (
                    StatusCode::NOT_FOUND,
                    "link-request-unknown",
                    "No such link request",
                ),
                P::LinkRequestAnswered => (
                    StatusCode::CONFLICT,
                    "link-request-answered",
                    "Link request already answered",
                ),
                P::LinkRequestExpired => (
                    StatusCode::GONE,
                    "link-request-expired",
                    "Link request expired",
                ),
                P::ConsentIncomplete => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "consent-incomplete",
                    "Consent incomplete",
                ),
                // The same type as above: what is missing is the same; here it blocks a change.
                P::MyKeyIdRequired => (StatusCode::CONFLICT, "no-my-key-id", "No active My Key ID"),
                P::ServiceIdExists => (
                    StatusCode::CONFLICT,
                    "service-id-exists",
                    "Customer ID already linked",
                ),
                P::ServiceIdUnknown => (
                    StatusCode::NOT_FOUND,
                    "service-id-unknown",
                    "No such Service ID",
                ),
                P::InvalidTerms(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-request",
                    "Invalid request",
                ),
                P::TermsNoticeTooShort { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "terms-notice-too-short",
                    "Terms must be announced at least 7 days ahead",
                ),
                P::TermsVersionExists => (
                    StatusCode::CONFLICT,
                    "terms-version-exists",
                    "Terms version already published",
                ),
                P::PpidClosed => (
                    StatusCode::FORBIDDEN,
                    "ppid-closed",
                    "PPIDs are not enabled",
                ),
                P::PpidServiceUnknown => (
                    StatusCode::NOT_FOUND,
                    "ppid-service-unknown",
                    "No such PPID service",
                ),
                P::PpidUnknown => (StatusCode::NOT_FOUND, "ppid-unknown", "No such PPID"),
                P::PpidCodeInvalid => (
                    StatusCode::BAD_REQUEST,
                    "ppid-code-invalid",
                    "Unknown, used or expired code",
                ),
                P::OidcClientUnknown => (
                    StatusCode::NOT_FOUND,
                    "oidc-client-unknown",
                    "No OpenID Connect client registration",
                ),
                P::InvalidOidcClient(_) | P::InvalidRedirectUri => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-oidc-client",
                    "Invalid OpenID Connect client",
                ),
                P::AuthorizationUnknown => (
                    StatusCode::NOT_FOUND,
                    "authorization-unknown",
                    "No such authorization request",
                ),
                P::AuthorizationAnswered => (
                    StatusCode::CONFLICT,
                    "authorization-answered",
                    "Authorization request already answered",
                ),
                P::AuthorizationExpired => (
                    StatusCode::GONE,
                    "authorization-expired",
                    "Authorization request expired",
                ),
                P::InvalidFacts(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-facts",
                    "Facts refused",
                ),
                P::TooManyAttempts { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-attempts",
                    "Too many unknown short codes",
                ),
                P::QuotaExceeded { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "quota-exceeded",
                    "Quota exceeded",
                ),
                P::InvalidLogout(_) | P::OAuth { .. } => (
                    StatusCode::BAD_REQUEST,
                    "invalid-request",
                    "Invalid request",
                ),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                ),
            },
        };
        let detail = match &self {
            ApiError::InvalidRequest(d) => Some(d.clone()),
            ApiError::TooLarge => Some(format!("the limit is {} bytes", super::MAX_BODY)),
            ApiError::Platform(P::Store(_)) => None,
            ApiError::Platform(P::JlisUnavailable(e)) => {
                tracing::warn!(error = %e, "J-LIS unavailable");
                Some("J-LIS could not be asked; try again shortly".into())
            }
            ApiError::Platform(P::TermsNoticeTooShort { earliest, .. }) => Some(format!(
                "effective_at must be {} or later (Art 12.2), unless the change is urgent (\"urgent\": true with a \"reason\")",
                super::rfc3339(*earliest)
            )),
            ApiError::Platform(e) => Some(e.to_string()),
        };
        let body = serde_json::json!({
            "type": format!("urn:mykey:problem:{kind}"),
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
        });
        let mut r = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        if let ApiError::Platform(
            P::TooManyAttempts { retry_after } | P::QuotaExceeded { retry_after },
        ) = &self
        {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if status == StatusCode::UNAUTHORIZED && kind == "unauthenticated" {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if kind == "invalid-client" {
            // RFC 6749 §5.2: a client that tried HTTP Basic is told which scheme to use.
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"mykey\""),
            );
        }
        r
    }
}
