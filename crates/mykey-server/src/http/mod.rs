//! The REST API under `/v1`. Each resource module owns its routes; the one place errors become
//! HTTP is [`problem`].
//!
//! ```text
//! POST   /v1/auth/challenges           a one-time nonce for the card to sign       (anyone)
//! POST   /v1/auth/responses            the card's answer → a session               (anyone)
//! GET    /v1/me                        the person's overview                       (session)
//! GET|POST|PUT|DELETE /v1/me/my-key-id show, create, change, revoke                (session)
//! GET    /v1/me/log, /v1/me/log/verify the person's own hash-chained log           (session)
//! GET    /v1/me/service-ids · DELETE /v1/me/service-ids/{id}  links; withdraw      (session)
//! GET    /v1/me/ppid-services · DELETE /v1/me/ppid-services/{id}  PPIDs; withdraw  (session)
//! GET    /v1/me/export                 everything held about the person (JSON)     (session)
//! GET    /v1/link-requests/{id}        who asks, for which customer ID, what to consent to
//! POST   /v1/link-requests/{id}/challenges · …/approval · …/refusal    (the card approves)
//! (client): client_secret_basic, or a Bearer token from /oidc/token (private_key_jwt)
//! POST   /v1/rp/service-id-requests    open a link request                         (client)
//! GET    /v1/rp/service-ids · DELETE /v1/rp/service-ids/{customer_id}              (client)
//! GET|POST /v1/rp/ppid-services · POST …/{id}/authentications/{code}   (client)
//! GET    /v1/rp/ppid-services/{id}/ppids[?customer_id=] · PUT …/ppids/{ppid}      (client)
//! GET    /v1/ppid-services/{id} · POST …/challenges · …/authentications  (the card, consent)
//! GET    /v1/terms                     terms versions and the one in force         (anyone)
//! POST   /v1/ops/terms                 publish a terms version (7 days' notice)    (operator)
//! GET    /v1/maintenance-windows       windows in effect or coming (Art 9.3)       (anyone)
//! POST   /v1/ops/maintenance-windows · …/{id}/ending  announce, end (24 h' notice) (operator)
//! GET|POST /v1/ops/relying-parties · POST …/{id}/approval|suspension|secret       (operator)
//! PUT|DELETE /v1/ops/relying-parties/{id}/jwks  keys for private_key_jwt          (operator)
//! POST   /oidc/token                   client_credentials → a token for /v1/rp;    (client)
//!                                      authorization_code → ID token + access token
//! GET    /.well-known/openid-configuration · /oidc/authorize[/status|/continue]
//! GET    /oidc/userinfo · /oidc/logout  the OpenID Connect provider (see oidc/)
//! GET    /v1/authorizations/{handle} · POST …/challenges · …/approval · …/refusal
//!                                      the phone answers a cross-device login (the card)
//! PUT    /v1/ops/relying-parties/{id}/oidc-client  OpenID Connect registration (operator)
//! POST   /v1/rp/events                 RFC 8936 poll: acknowledge, get SETs by jti   (client)
//! GET    /oidc/jwks                    the platform's public keys (verify SETs)     (anyone)
//! GET|PUT|DELETE /v1/rp/stream         push (RFC 8935) or poll, events wanted, state (client)
//! GET    /v1/ops/relying-parties/{id}/stream   a relying party's delivery state  (operator)
//! /v1/ops/operators · /v1/ops/operator-log · /v1/ops/people/…  accounts, the operator log,
//!                                      the help desk (see operators.rs)
//! GET|POST /portal/…                  the card holder's pages (HTML; see portal/)
//! GET    /v1/openapi.json · /health, /health/live (liveness) · /health/ready (readiness)
//! ```

mod auth;
mod authorizations;
mod catalogue;
mod events;
mod export;
mod link_requests;
mod maintenance;
mod me;
pub(crate) mod metrics;
mod oauth;
mod oidc;
mod openapi;
mod operators;
mod ops;
mod pages;
mod pinless;
mod point_applications;
pub(crate) mod point_grants;
mod points;
mod portal;
mod ppid_services;
mod problem;
mod refusals;
pub(crate) mod rp;
mod rp_ppid;
mod service_id_logins;
mod streams;
mod terms;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::routing::get;
use mykey_platform::Platform;

pub(crate) use problem::ApiError;

/// Largest request body accepted.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The platform's HTTP application.
pub fn app(platform: Arc<Platform>) -> Router {
    app_counted(platform, Arc::new(metrics::Metrics::new()))
}

/// The application, counting into `metrics` (a node's routers share one set).
pub(crate) fn app_counted(platform: Arc<Platform>, metrics: Arc<metrics::Metrics>) -> Router {
    let hsts = platform.issuer().starts_with("https://");
    let scraped = metrics.clone();
    Router::new()
        .route(
            "/metrics",
            get(
                move |axum::extract::State(p): axum::extract::State<Arc<Platform>>,
                      headers: axum::http::HeaderMap| {
                    metrics::scrape(scraped.clone(), p, headers)
                },
            ),
        )
        .route("/health", get(health))
        .route("/health/live", get(health))
        .route("/health/ready", get(ready))
        .route("/v1/openapi.json", get(openapi::openapi_json))
        .merge(auth::routes())
        .merge(me::routes())
        .merge(ops::routes())
        .merge(operators::routes())
        .merge(rp::routes())
        .merge(link_requests::routes())
        .merge(ppid_services::routes())
        .merge(rp_ppid::routes())
        .merge(service_id_logins::routes())
        .merge(pinless::routes())
        .merge(points::routes())
        .merge(point_applications::routes())
        .merge(point_grants::routes())
        .merge(terms::routes())
        .merge(maintenance::routes())
        .merge(export::routes())
        .merge(token::routes())
        .merge(events::routes())
        .merge(streams::routes())
        .merge(oidc::routes())
        .merge(authorizations::routes())
        .merge(portal::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            platform.clone(),
            maintenance::gate,
        ))
        .route_layer(axum::middleware::from_fn(access_log))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            platform.clone(),
            operators::record_acts,
        ))
        .layer(refusals::ApiRefusals)
        .layer(axum::middleware::map_response(move |r| headers(r, hsts)))
        .layer(axum::middleware::from_fn_with_state(
            platform.clone(),
            traced,
        ))
        // Outermost: it counts what the client is answered, refusals of every layer included.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::observe,
        ))
        .with_state(platform)
}

/// Every request runs in a span carrying its ID — the trace ID of a W3C `traceparent` it came
/// with, else 16 fresh random bytes — so that each log line it causes names it; the answer
/// carries it back as `x-request-id`.
async fn traced(
    axum::extract::State(p): axum::extract::State<Arc<Platform>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let id = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(trace_id)
        .unwrap_or_else(|| hex::encode(p.fresh_request_id()));
    let span = tracing::info_span!("request", id = %id);
    let mut resp = next.run(req).instrument(span).await;
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// The trace ID of a `traceparent` (W3C Trace Context: `00-<32 hex>-<16 hex>-<2 hex>`), if it
/// is one: lower-case hex, not all zeros.
fn trace_id(header: &str) -> Option<String> {
    let mut parts = header.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    (hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0')
        && (version != "00" || parts.next().is_none()))
    .then(|| trace.to_owned())
}

/// One line a request (level `debug`, target `mykey::access`): the method, the route as
/// declared — never the path itself, which may carry a handle or a code — the status and the
/// time taken.
async fn access_log(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // Off (the default level), it costs every request nothing but this check.
    if !tracing::enabled!(target: "mykey::access", tracing::Level::DEBUG) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(
        target: "mykey::access",
        %method,
        %route,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "answered"
    );
    resp
}

/// Liveness.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "mod_health",
    tag = "platform",
    summary = "Liveness",
    responses(
        (status = 200, description = "ok")
    )
)]
async fn health() -> &'static str {
    "ok"
}

/// Liveness under its own path (the same answer as `/health`).
#[utoipa::path(
    get,
    path = "/health/live",
    operation_id = "mod_live",
    tag = "platform",
    summary = "Liveness: the process answers",
    responses(
        (status = 200, description = "ok")
    )
)]
#[allow(dead_code)]
fn live() {}

/// Readiness: whether this node should be sent requests.
#[utoipa::path(
    get,
    path = "/health/ready",
    operation_id = "mod_ready",
    tag = "platform",
    summary = "Readiness: the database answers and the revocation index is fresh enough (503 otherwise, with the reason)",
    responses(
        (status = 200, description = "Ready", body = mykey_api::Readiness, content_type = "application/json"),
        (status = 503, description = "Not ready", body = mykey_api::Readiness, content_type = "application/json")
    )
)]
async fn ready(
    axum::extract::State(p): axum::extract::State<Arc<Platform>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let r = p.readiness().await;
    if let Err(e) = &r.database {
        tracing::warn!(error = %e, "readiness: the database does not answer");
    }
    if r.revocation_index_stale {
        tracing::warn!(age = ?r.revocation_index_age, "readiness: the revocation index is stale");
    }
    let status = if r.ready() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    let body = mykey_api::Readiness {
        ready: r.ready(),
        database: if r.database.is_ok() {
            "ok"
        } else {
            "unreachable"
        }
        .to_owned(),
        revocation_index_age_secs: r.revocation_index_age.filter(|a| *a != u64::MAX),
        revocation_index: match (r.revocation_index_age, r.revocation_index_stale) {
            (None, _) => "not used",
            (Some(u64::MAX), _) => "not built",
            (Some(_), true) => "stale",
            (Some(_), false) => "fresh",
        }
        .to_owned(),
    };
    let mut resp = (status, axum::Json(body)).into_response();
    if !r.ready() {
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
    }
    resp
}

/// Headers every answer carries: `Cache-Control: no-store` unless the answer chose its own
/// caching (public documents: the JWK Set, discovery), so that no answer with a session, a
/// token or personal data is kept by a browser or a proxy; `nosniff` and a closed content
/// security policy unless a page set its own; and, when the platform is reached over https,
/// HSTS (a year), so that a browser never sends a session cookie in clear.
async fn headers(mut r: axum::response::Response, hsts: bool) -> axum::response::Response {
    use axum::http::HeaderValue;
    let h = r.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // What no page set itself (JSON, and the plain-text refusals of the framework, which may
    // echo what was sent): never sniffed as something else, never framed, nothing loaded.
    if !h.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    r
}

/// RFC 3339 in UTC.
pub(crate) fn rfc3339(t: mykey_pki::UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.as_secs() as i64)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A JSON body — an object, as every request type of the API is — or the problem that says
/// why it is not one. (serde would also read a struct from a JSON array, by position, past
/// `deny_unknown_fields`: an array is refused before it gets there.)
pub(crate) struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !json {
            return Err(ApiError::InvalidRequest(
                "Expected request with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = body_bytes(req, state).await?;
        object_only(&bytes)?;
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(t)| JsonBody(t))
            .map_err(|e| ApiError::InvalidRequest(e.body_text()))
    }
}

/// `application/json` or `application/…+json`, parameters aside.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The body, within the limit.
async fn body_bytes<S: Send + Sync>(
    req: axum::extract::Request,
    state: &S,
) -> Result<axum::body::Bytes, ApiError> {
    use axum::extract::FromRequest;
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::InvalidRequest(e.body_text())
            }
        })
}

/// Refuses a body that is not a JSON object (an array, a string, `null`, …).
fn object_only(bytes: &[u8]) -> Result<(), ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        _ => Err(ApiError::InvalidRequest(
            "the body must be a JSON object".into(),
        )),
    }
}

/// A JSON body that may be absent (an empty body is `None`); given, it is an object.
pub(crate) struct OptionalJson<T>(pub Option<T>);

impl<S, T> axum::extract::FromRequest<S> for OptionalJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        object_only(&bytes)?;
        serde_json::from_slice(&bytes)
            .map(|t| OptionalJson(Some(t)))
            .map_err(|e| ApiError::InvalidRequest(format!("malformed JSON body: {e}")))
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(parts: &axum::http::request::Parts) -> Option<&str> {
    bearer_of(&parts.headers)
}

/// The `client_id` and secret of an `Authorization: Basic` header.
pub(crate) fn basic_credentials_of(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    rp::basic_credentials(headers)
}

/// The Bearer token of an `Authorization` header.
pub(crate) fn bearer_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_trace_id_comes_only_from_a_well_formed_traceparent() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            super::trace_id(good).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736\n-00f067aa0ba902b7-01",
            "garbage",
            "",
        ] {
            assert_eq!(super::trace_id(bad), None, "{bad:?}");
        }
    }
}
