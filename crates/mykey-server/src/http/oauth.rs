//! OAuth's own refusals — the JSON of RFC 6749 §5.2 at the token endpoint, the `WWW-Authenticate`
//! challenge of RFC 6750 §3 at userinfo — and the one mapper from domain errors to them, which
//! both endpoints (and the codes the authorization endpoint redirects with, made in the domain)
//! share. Not problem documents: OAuth clients read these.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mykey_api::token::OAuthError;
use mykey_platform::oidc::OAuthCode;
use mykey_platform::{PlatformError, StoreErrorKind};

/// An OAuth refusal: status, `error` code and `error_description`.
#[derive(Debug)]
pub(crate) struct OAuthRefusal {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl OAuthRefusal {
    /// A malformed request (400).
    pub(crate) fn request(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    /// The refusal a domain error is told as. Every category is named: a new one is a compile
    /// error here.
    pub(crate) fn of(e: &PlatformError) -> Self {
        use mykey_platform::AccessError as A;
        let (status, error) = match e {
            PlatformError::Access(A::InvalidClient | A::InvalidClientAssertion(_)) => {
                (StatusCode::UNAUTHORIZED, "invalid_client")
            }
            PlatformError::Access(A::RelyingPartyNotApproved)
            | PlatformError::NotFound(mykey_platform::NotFound::OidcClient) => {
                (StatusCode::BAD_REQUEST, "unauthorized_client")
            }
            PlatformError::OAuth(o) => {
                let status = match o.code {
                    OAuthCode::InvalidToken => StatusCode::UNAUTHORIZED,
                    _ => StatusCode::BAD_REQUEST,
                };
                (status, o.code.as_str())
            }
            PlatformError::Store(s) => {
                let status = match s.kind {
                    StoreErrorKind::Unavailable | StoreErrorKind::Conflict => {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                    StoreErrorKind::Corrupt => StatusCode::INTERNAL_SERVER_ERROR,
                };
                return Self {
                    status,
                    error: if status == StatusCode::SERVICE_UNAVAILABLE {
                        "temporarily_unavailable"
                    } else {
                        "server_error"
                    },
                    description: "storage failure".into(),
                };
            }
            PlatformError::Internal(_) => {
                return Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    error: "server_error",
                    description: "internal fault".into(),
                };
            }
            PlatformError::JlisUnavailable(_) => {
                return Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    error: "temporarily_unavailable",
                    description: "J-LIS could not be asked; try again shortly".into(),
                };
            }
            PlatformError::RegistryUnavailable(_) => {
                return Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    error: "temporarily_unavailable",
                    description: "a registry could not be asked; try again shortly".into(),
                };
            }
            PlatformError::Maintenance(m) => {
                return Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    error: "temporarily_unavailable",
                    description: format!(
                        "under maintenance until {}: {}",
                        super::rfc3339(m.until),
                        m.notice.en
                    ),
                };
            }
            PlatformError::Access(_)
            | PlatformError::Card(_)
            | PlatformError::Invalid(_)
            | PlatformError::NotFound(_)
            | PlatformError::Conflict(_)
            | PlatformError::Limited(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
        };
        Self {
            status,
            error,
            description: e.to_string(),
        }
    }

    /// The token endpoint's answer (§5.2): JSON, never cached; a client that tried HTTP Basic
    /// and failed is told the scheme.
    pub(crate) fn token_response(self, tried_basic: bool) -> Response {
        let mut r = self.json();
        no_store(r.headers_mut());
        if self.error == "invalid_client" {
            // Counted as bad credentials at the door (`rate.rs`).
            r.extensions_mut()
                .insert(super::metrics::ProblemKind("invalid-client"));
        }
        if self.status == StatusCode::UNAUTHORIZED && tried_basic {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"mykey\""),
            );
        }
        r
    }

    /// A protected resource's answer (RFC 6750 §3): a refusal of the request or its token
    /// carries the code in the challenge; the platform's own failure carries none.
    pub(crate) fn bearer_response(self) -> Response {
        if self.status.is_server_error() {
            return self.json();
        }
        let challenge = format!(
            "Bearer error=\"{}\", error_description=\"{}\"",
            self.error,
            self.description.replace(['"', '\\'], "'")
        );
        let mut r = self.json();
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }

    fn json(&self) -> Response {
        (
            self.status,
            axum::Json(OAuthError {
                error: self.error.to_owned(),
                error_description: self.description.clone(),
            }),
        )
            .into_response()
    }
}

/// Token responses are never cached (RFC 6749 §5.1).
pub(crate) fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
