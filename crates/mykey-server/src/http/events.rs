//! Events for relying parties: `POST /v1/rp/events` is the poll of RFC 8936 (acknowledge what was
//! received, get what waits, as Security Event Tokens by `jti`), and `GET /oidc/jwks` the
//! platform's public keys that verify them.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_api::events::{PollRequest, PollResponse};
use mykey_platform::{MAX_POLL, Platform};

use super::rp::RelyingPartyClient;
use super::{ApiError, OptionalJson};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/rp/events", post(poll))
        .route("/oidc/jwks", get(jwks))
}

#[utoipa::path(
    post,
    path = "/v1/rp/events",
    operation_id = "events_poll",
    tag = "rp",
    summary = "Poll for events (RFC 8936): acknowledge what was received, get what waits (oldest first, at most 100); unacknowledged SETs come again",
    request_body(content = Option<mykey_api::events::PollRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = mykey_api::events::PollResponse, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn poll(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    OptionalJson(req): OptionalJson<PollRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let req = req.unwrap_or_default();
    if req.ack.len() + req.set_errs.len() > 1000 {
        return Err(ApiError::InvalidRequest(
            "at most 1000 acknowledgements at once".into(),
        ));
    }
    for (jti, err) in &req.set_errs {
        tracing::warn!(relying_party = rp.id.get(), %jti, error = %err, "a relying party refused a SET");
    }
    let mut ack = req.ack;
    ack.extend(req.set_errs.into_keys());
    let (sets, more) = p
        .poll_events(&rp, &ack, req.max_events.unwrap_or(MAX_POLL))
        .await?;
    Ok(axum::Json(PollResponse {
        sets: sets.into_iter().collect(),
        more_available: more,
    }))
}

#[utoipa::path(
    get,
    path = "/oidc/jwks",
    operation_id = "events_jwks",
    tag = "openid-connect",
    summary = "The platform's public signing keys (JWK Set, RFC 7517): they verify its Security Event Tokens",
    responses(
        (status = 200, description = "OK", body = mykey_api::events::Jwks, content_type = "application/jwk-set+json")
    )
)]
async fn jwks(State(p): State<Arc<Platform>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        p.jwks().to_string(),
    )
}
