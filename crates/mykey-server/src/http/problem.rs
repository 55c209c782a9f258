//! Errors at the edge: RFC 9457 problem+json with a stable `type` per error. Details that could
//! leak internals are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mykey_api::problem::Problem;
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

/// How the HTTP edge tells a domain error: its status, problem type and title. Every variant is
/// named (no wildcard), so a new one is a compile error here until it is given its answer.
pub(crate) struct Told {
    pub(crate) status: StatusCode,
    /// The problem type's last part (`urn:mykey:problem:{kind}`), stable.
    pub(crate) kind: &'static str,
    pub(crate) title: &'static str,
}

const fn told(status: StatusCode, kind: &'static str, title: &'static str) -> Told {
    Told {
        status,
        kind,
        title,
    }
}

const INVALID_REQUEST: Told = told(
    StatusCode::UNPROCESSABLE_ENTITY,
    "invalid-request",
    "Invalid request",
);

/// The answer to each domain error.
pub(crate) fn told_of(e: &PlatformError) -> Told {
    use StatusCode as H;
    use mykey_platform::{
        AccessError as A, CardError as C, Conflict as X, InvalidError as I, Limited as L,
        NotFound as N, StoreErrorKind as S,
    };
    match e {
        PlatformError::Card(c) => match c {
            C::ChallengeUnknown => told(
                H::BAD_REQUEST,
                "challenge-unknown",
                "Unknown, used or foreign challenge",
            ),
            C::ChallengeExpired => told(H::BAD_REQUEST, "challenge-expired", "Challenge expired"),
            C::Certificate(_) => told(
                H::UNAUTHORIZED,
                "certificate-refused",
                "Certificate or signature refused",
            ),
            C::Revoked { .. } => told(H::FORBIDDEN, "certificate-revoked", "Certificate revoked"),
            C::TicketItems(mykey_platform::TicketItemsProblem::Invalid) => told(
                H::UNAUTHORIZED,
                "ticket-items-invalid",
                "Ticket-item data refused",
            ),
            C::TicketItems(mykey_platform::TicketItemsProblem::Outdated) => told(
                H::CONFLICT,
                "ticket-items-outdated",
                "The card's facts are outdated",
            ),
            C::TicketItems(mykey_platform::TicketItemsProblem::BirthDate) => told(
                H::CONFLICT,
                "birth-date-mismatch",
                "Not the date of birth the relying party holds",
            ),
        },
        PlatformError::Access(a) => match a {
            A::Unauthenticated => told(H::UNAUTHORIZED, "unauthenticated", "No valid session"),
            A::OperatorTokenRetired => told(
                H::UNAUTHORIZED,
                "operator-token-retired",
                "The bootstrap token is retired: sign in with your card",
            ),
            A::NotAnOperator => told(H::FORBIDDEN, "not-an-operator", "Not an operator"),
            A::OperatorRoleRefused { .. } => told(
                H::FORBIDDEN,
                "operator-role-refused",
                "The operator's role does not reach this function",
            ),
            A::PersonSuspended => told(
                H::FORBIDDEN,
                "person-suspended",
                "The card holder's use of the system is suspended",
            ),
            // An assertion's reason goes in `detail`: it helps the client and names no secret.
            A::InvalidClient | A::InvalidClientAssertion(_) => told(
                H::UNAUTHORIZED,
                "invalid-client",
                "Client authentication failed",
            ),
            A::RelyingPartyNotApproved => told(
                H::FORBIDDEN,
                "relying-party-not-approved",
                "Relying party not approved",
            ),
            A::PpidClosed => told(H::FORBIDDEN, "ppid-closed", "PPIDs are not enabled"),
            A::PublicAuthorityFunction => told(
                H::FORBIDDEN,
                "public-authority-function",
                "A function of public authorities",
            ),
            A::PointProgrammeOnly => told(
                H::FORBIDDEN,
                "point-programme-only",
                "Payment providers and kiosks connect only for the card-point programme",
            ),
            A::KioskOnly => told(
                H::FORBIDDEN,
                "kiosk-only",
                "Only an application-support kiosk may do this",
            ),
            A::PaymentProviderOnly => told(
                H::FORBIDDEN,
                "payment-provider-only",
                "Only a registered payment provider may do this",
            ),
        },
        PlatformError::Invalid(i) => match i {
            I::Id(_)
            | I::Name
            | I::Reason
            | I::Terms(_)
            | I::Profile(_)
            | I::Notice(_)
            | I::Maintenance(_) => INVALID_REQUEST,
            I::Termination(_) => INVALID_REQUEST,
            I::TerminationNoticeTooShort { .. } => told(
                H::UNPROCESSABLE_ENTITY,
                "termination-notice-too-short",
                "The end of the system must be announced at least three months ahead",
            ),
            I::MaintenanceNoticeTooShort { .. } => told(
                H::UNPROCESSABLE_ENTITY,
                "maintenance-notice-too-short",
                "Maintenance must be announced at least 24 hours ahead",
            ),
            I::Jwks(_) => told(H::UNPROCESSABLE_ENTITY, "invalid-jwks", "Invalid JWK Set"),
            I::Stream(_) => told(H::UNPROCESSABLE_ENTITY, "invalid-stream", "Invalid stream"),
            I::ConsentIncomplete => told(
                H::UNPROCESSABLE_ENTITY,
                "consent-incomplete",
                "Consent incomplete",
            ),
            I::TermsNoticeTooShort { .. } => told(
                H::UNPROCESSABLE_ENTITY,
                "terms-notice-too-short",
                "Terms must be announced at least 7 days ahead",
            ),
            I::PpidCode => told(
                H::BAD_REQUEST,
                "ppid-code-invalid",
                "Unknown, used or expired code",
            ),
            I::LoginCode => told(
                H::BAD_REQUEST,
                "login-code-invalid",
                "Unknown, used or expired code",
            ),
            I::OidcClient(_) | I::RedirectUri => told(
                H::UNPROCESSABLE_ENTITY,
                "invalid-oidc-client",
                "Invalid OpenID Connect client",
            ),
            I::Facts(_) => told(H::UNPROCESSABLE_ENTITY, "invalid-facts", "Facts refused"),
            I::Logout(_) => told(H::BAD_REQUEST, "invalid-request", "Invalid request"),
            I::PinlessRequest(_) => told(
                H::UNPROCESSABLE_ENTITY,
                "invalid-pinless-request",
                "PIN-less request refused",
            ),
            I::PointRequest(_) => told(
                H::UNPROCESSABLE_ENTITY,
                "invalid-point-request",
                "Card-point request refused",
            ),
            I::PointTransaction { .. } => told(
                H::UNPROCESSABLE_ENTITY,
                "invalid-point-transaction",
                "A reported transaction refused",
            ),
            I::PaymentServiceUserId(_) => told(
                H::UNPROCESSABLE_ENTITY,
                "payment-service-user-id-shape",
                "Payment Service ID not of the service's shape",
            ),
            I::PublicFundAccount { .. } => told(
                H::UNPROCESSABLE_ENTITY,
                "invalid-public-fund-account",
                "Public-fund receiving account refused",
            ),
        },
        PlatformError::NotFound(n) => match n {
            N::MyKeyId => told(H::NOT_FOUND, "no-my-key-id", "No active My Key ID"),
            N::Operator => told(H::NOT_FOUND, "no-operator", "No such operator account"),
            N::Person => told(H::NOT_FOUND, "no-person", "No person has that My Key ID"),
            N::RelyingParty => told(
                H::NOT_FOUND,
                "relying-party-unknown",
                "No such relying party",
            ),
            N::Stream => told(H::NOT_FOUND, "stream-unknown", "No stream"),
            N::LinkRequest => told(H::NOT_FOUND, "link-request-unknown", "No such link request"),
            N::ServiceId => told(H::NOT_FOUND, "service-id-unknown", "No such Service ID"),
            N::PpidService => told(H::NOT_FOUND, "ppid-service-unknown", "No such PPID service"),
            N::Ppid => told(H::NOT_FOUND, "ppid-unknown", "No such PPID"),
            N::OidcClient => told(
                H::NOT_FOUND,
                "oidc-client-unknown",
                "No OpenID Connect client registration",
            ),
            N::Authorization => told(
                H::NOT_FOUND,
                "authorization-unknown",
                "No such authorization request",
            ),
            N::PinlessRequest => told(
                H::NOT_FOUND,
                "pinless-request-unknown",
                "No such PIN-less request",
            ),
            N::PaymentService => told(
                H::NOT_FOUND,
                "payment-service-unknown",
                "No such payment service",
            ),
            N::PointRound => told(H::NOT_FOUND, "point-round-unknown", "No such round"),
            N::PointApplication => told(
                H::NOT_FOUND,
                "point-application-unknown",
                "No such point application",
            ),
            N::Termination => told(
                H::NOT_FOUND,
                "termination-unknown",
                "No end of the system is announced",
            ),
            N::MaintenanceWindow => told(
                H::NOT_FOUND,
                "maintenance-window-unknown",
                "No such maintenance window, or it is over",
            ),
            N::PointGrantBatch => told(
                H::NOT_FOUND,
                "point-grant-batch-unknown",
                "No such batch of grants",
            ),
        },
        PlatformError::Conflict(x) => match x {
            X::MyKeyIdAlreadyActive => told(
                H::CONFLICT,
                "my-key-id-already-active",
                "A My Key ID is already active",
            ),
            X::MyKeyIdTaken => told(H::CONFLICT, "my-key-id-taken", "My Key ID not available"),
            X::MyKeyIdSuspended => told(
                H::CONFLICT,
                "my-key-id-suspended",
                "The My Key ID is suspended",
            ),
            X::TerminationAnnounced => told(
                H::CONFLICT,
                "termination-announced",
                "An end of the system is announced already",
            ),
            X::SystemTerminated => told(
                H::GONE,
                "system-terminated",
                "The system has ended (Art 10)",
            ),
            X::OperatorExists => told(
                H::CONFLICT,
                "operator-exists",
                "This person already has an operator account",
            ),
            X::LastAdministrator => told(
                H::CONFLICT,
                "last-administrator",
                "The last administrator account cannot be ended",
            ),
            X::AlreadySuspended => told(H::CONFLICT, "already-suspended", "Already suspended"),
            X::NotSuspended => told(H::CONFLICT, "not-suspended", "Not suspended"),
            X::OperatorAccountHolder => told(
                H::CONFLICT,
                "operator-account-holder",
                "The person holds an operator account",
            ),
            // The same type as a missing My Key ID: what is missing is the same; here it
            // blocks a change.
            X::MyKeyIdRequired => told(H::CONFLICT, "no-my-key-id", "No active My Key ID"),
            X::LinkRequestAnswered => told(
                H::CONFLICT,
                "link-request-answered",
                "Link request already answered",
            ),
            X::LinkRequestExpired => told(H::GONE, "link-request-expired", "Link request expired"),
            X::ServiceIdExists => told(
                H::CONFLICT,
                "service-id-exists",
                "Customer ID already linked",
            ),
            X::ServiceIdRequired => told(
                H::CONFLICT,
                "service-id-required",
                "No Service ID at this relying party",
            ),
            X::TermsVersionExists => told(
                H::CONFLICT,
                "terms-version-exists",
                "Terms version already published",
            ),
            X::AuthorizationAnswered => told(
                H::CONFLICT,
                "authorization-answered",
                "Authorization request already answered",
            ),
            X::AuthorizationExpired => told(
                H::GONE,
                "authorization-expired",
                "Authorization request expired",
            ),
            X::Point(p) => {
                use mykey_platform::PointConflict as P;
                let (kind, title) = match p {
                    P::PaymentServiceExists => (
                        "payment-service-exists",
                        "The provider has a service of that name",
                    ),
                    P::PointRoundExists => ("point-round-exists", "A round of that name exists"),
                    P::PointRoundState => (
                        "point-round-state",
                        "The round is not in a state that allows this",
                    ),
                    P::RoundNotOpen => ("point-round-not-open", "The round is not open"),
                    P::ServiceNotEligible => (
                        "payment-service-not-eligible",
                        "The payment service is not eligible",
                    ),
                    P::ApplicationExists => (
                        "point-application-exists",
                        "One application per person per round",
                    ),
                    P::PaymentServiceUserIdTaken => (
                        "payment-service-user-id-taken",
                        "That Payment Service ID has an application in the round",
                    ),
                    P::ApplicationAnswered => (
                        "point-application-answered",
                        "The application has been answered",
                    ),
                    P::ApplicationEnded => ("point-application-ended", "The application has ended"),
                    P::SettlementUserIdTaken => (
                        "settlement-user-id-taken",
                        "That settlement user ID is another application's",
                    ),
                    P::NothingDue => (
                        "point-grants-none-due",
                        "Nothing is due since the last batch",
                    ),
                    P::GrantBatchConfirmed => (
                        "point-grant-batch-confirmed",
                        "The batch was confirmed already",
                    ),
                    P::TriggerNotOffered => (
                        "point-trigger-not-offered",
                        "The round offers no points for that registration",
                    ),
                    P::ReportingEnded => (
                        "point-reporting-ended",
                        "The round closed more than 30 days ago",
                    ),
                    P::RightsForfeited => (
                        "point-rights-forfeited",
                        "The right to apply was forfeited (Art 27)",
                    ),
                };
                told(H::CONFLICT, kind, title)
            }
        },
        PlatformError::Limited(l) => match l {
            L::TooManyAttempts { .. } => told(
                H::TOO_MANY_REQUESTS,
                "too-many-attempts",
                "Too many unknown short codes",
            ),
            L::Quota { .. } => told(H::TOO_MANY_REQUESTS, "quota-exceeded", "Quota exceeded"),
        },
        PlatformError::OAuth(_) => told(H::BAD_REQUEST, "invalid-request", "Invalid request"),
        PlatformError::JlisUnavailable(_) => told(
            H::SERVICE_UNAVAILABLE,
            "jlis-unavailable",
            "J-LIS unavailable",
        ),
        PlatformError::RegistryUnavailable(_) => told(
            H::SERVICE_UNAVAILABLE,
            "registry-unavailable",
            "Mynaportal or the account registry unavailable",
        ),
        PlatformError::Store(s) => match s.kind {
            S::Unavailable | S::Conflict => told(
                H::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
            ),
            S::Corrupt => told(H::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        },
        PlatformError::Internal(_) => told(H::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        PlatformError::Maintenance(_) => {
            told(H::SERVICE_UNAVAILABLE, "maintenance", "Under maintenance")
        }
    }
}

/// The `WWW-Authenticate` challenge an error carries (RFC 9110 §11.6.1): a missing session asks
/// for a bearer token; a failed client authentication tells the client which scheme to use
/// (RFC 6749 §5.2).
pub(crate) fn challenge_of(e: &PlatformError) -> Option<&'static str> {
    use mykey_platform::AccessError as A;
    match e {
        PlatformError::Access(A::Unauthenticated) => Some("Bearer"),
        PlatformError::Access(A::InvalidClient | A::InvalidClientAssertion(_)) => {
            Some("Basic realm=\"mykey\"")
        }
        _ => None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let told = match &self {
            ApiError::InvalidRequest(_) => INVALID_REQUEST,
            ApiError::TooLarge => told(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request too large",
            ),
            ApiError::Platform(e) => told_of(e),
        };
        let detail = match &self {
            ApiError::InvalidRequest(d) => Some(d.clone()),
            ApiError::TooLarge => Some(format!(
                "the limit is {} bytes ({} for a report of transactions)",
                super::MAX_BODY,
                super::point_grants::MAX_REPORT_BODY
            )),
            ApiError::Platform(PlatformError::Store(_) | PlatformError::Internal(_)) => None,
            ApiError::Platform(PlatformError::JlisUnavailable(e)) => {
                tracing::warn!(error = %e, "J-LIS unavailable");
                Some("J-LIS could not be asked; try again shortly".into())
            }
            ApiError::Platform(PlatformError::RegistryUnavailable(e)) => {
                tracing::warn!(error = %e, "a registry unavailable");
                Some(
                    "Mynaportal or the account registry could not be asked; try again shortly"
                        .into(),
                )
            }
            ApiError::Platform(PlatformError::Invalid(
                mykey_platform::InvalidError::TermsNoticeTooShort { earliest, .. },
            )) => Some(format!(
                "effective_at must be {} or later (Art 12.2), unless the change is urgent (\"urgent\": true with a \"reason\")",
                super::rfc3339(*earliest)
            )),
            ApiError::Platform(PlatformError::Invalid(
                mykey_platform::InvalidError::MaintenanceNoticeTooShort { earliest },
            )) => Some(format!(
                "starts_at must be {} or later (Art 9.3: announced 24 hours ahead), unless the window is urgent (\"urgent\": true with a \"reason\", and no starts_at)",
                super::rfc3339(*earliest)
            )),
            ApiError::Platform(PlatformError::Invalid(
                mykey_platform::InvalidError::TerminationNoticeTooShort { earliest },
            )) => Some(format!(
                "terminates_at must be {} or later (Art 10: three months' notice), unless the end is urgent (\"urgent\": true with a \"reason\")",
                super::rfc3339(*earliest)
            )),
            ApiError::Platform(PlatformError::Maintenance(m)) => {
                Some(super::maintenance::detail(m))
            }
            ApiError::Platform(e) => Some(e.to_string()),
        };
        if let ApiError::Platform(PlatformError::Internal(e)) = &self {
            tracing::error!(error = %e, "internal fault");
        }
        let mut r = (
            told.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            problem_text(told.kind, told.title, told.status, detail),
        )
            .into_response();
        r.extensions_mut()
            .insert(super::metrics::ProblemKind(told.kind));
        if let ApiError::Platform(e) = &self {
            if let Some(secs) = e.retry_after() {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            if let Some(c) = challenge_of(e) {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
            }
        }
        r
    }
}

/// Every refusal of the JSON API (`/v1/…`) as a problem document, including those no handler
/// made: what axum's extractors reject in a query string or a path (text), a path no route
/// serves (404) and a method a route does not (405). The status stays; the type says which
/// (`invalid-request`, `not-found`, `method-not-allowed`, `unsupported-media-type`), and the
/// extractor's words, if any, go in `detail`. (`refusals.rs` calls it for every answer under
/// `/v1/`.)
pub(crate) async fn api_refusal(r: Response) -> Response {
    let status = r.status();
    let problem = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if problem || !(status.is_client_error() || status.is_server_error()) {
        return r;
    }
    let (kind, title) = match status {
        StatusCode::NOT_FOUND => ("not-found", "No such resource"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "Request too large"),
        s if s.is_server_error() => ("internal", "Internal error"),
        _ => ("invalid-request", "Invalid request"),
    };
    let (mut parts, body) = r.into_parts();
    // Extractors' words are short; a server error's are never sent.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let detail = std::str::from_utf8(&text)
        .ok()
        .map(str::trim)
        .filter(|d| !d.is_empty() && !status.is_server_error())
        .map(str::to_owned);
    let body = problem_text(kind, title, status, detail);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.extensions.insert(super::metrics::ProblemKind(kind));
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// A problem document's text.
fn problem_text(kind: &str, title: &str, status: StatusCode, detail: Option<String>) -> String {
    serde_json::to_string(&Problem {
        kind: format!("urn:mykey:problem:{kind}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use mykey_platform::{AccessError, Limited, StoreError};

    use super::*;

    fn answer(e: PlatformError) -> Response {
        ApiError::from(e).into_response()
    }

    #[test]
    fn a_store_failure_says_whether_to_try_again_and_never_what_happened() {
        let r = answer(PlatformError::Store(StoreError::unavailable(
            "connection to 10.0.0.7 refused",
        )));
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        let r = answer(PlatformError::Store(StoreError::corrupt(
            "stored hash is not 32 bytes",
        )));
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn challenges_and_waits_come_from_the_error() {
        let r = answer(PlatformError::Access(AccessError::Unauthenticated));
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let r = answer(PlatformError::Access(AccessError::InvalidClient));
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Basic realm=\"mykey\""
        );
        let r = answer(PlatformError::Limited(Limited::Quota { retry_after: 42 }));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "42");
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
}
