//! `/v1/link-requests`: the person's side of a Service ID link request (Art 17). No session is
//! needed: the request ID is an unguessable handle, and approval is proved with the card.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_platform::{LinkRequestId, NewConsent, Platform, PlatformError, SERVICE_ID_CONSENT};
use serde::Deserialize;
use serde_json::json;

use super::auth::{challenge_json, decode_card};
use super::me::link_json;
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/link-requests/{id}", get(show))
        .route("/v1/link-requests/{id}/challenges", post(challenge))
        .route("/v1/link-requests/{id}/approval", post(approve))
        .route("/v1/link-requests/{id}/refusal", post(refuse))
}

/// A consent as a card holder's approval sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsentBody {
    items: Vec<String>,
    terms_version: String,
}

impl From<ConsentBody> for NewConsent {
    fn from(c: ConsentBody) -> Self {
        NewConsent {
            items: c.items,
            terms_version: c.terms_version,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalBody {
    nonce: String,
    certificate: String,
    signature: String,
    consent: ConsentBody,
}

fn request_id(s: &str) -> Result<LinkRequestId, ApiError> {
    // A malformed handle names no request.
    s.parse()
        .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::LinkRequest).into())
}

async fn show(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let r = p.link_request(request_id(&id)?).await?;
    let terms = p.terms_version().await?;
    let items: Vec<_> = SERVICE_ID_CONSENT
        .iter()
        .map(|i| json!({"name": i.name, "text": i.text}))
        .collect();
    Ok(axum::Json(json!({
        "request_id": r.id.to_string(),
        "relying_party": {"name": r.relying_party.name, "kind": r.relying_party.kind.as_str()},
        "customer_id": r.customer_id.as_str(),
        "expires_at": rfc3339(r.expires_at),
        "consent": {"items": items, "terms_version": terms},
    })))
}

async fn challenge(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.link_challenge(request_id(&id)?).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_json(&c))))
}

async fn approve(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<ApprovalBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = request_id(&id)?;
    let card = decode_card(&req.nonce, &req.certificate, &req.signature)?;
    let link = p
        .approve_link_request(id, &card.answer(), req.consent.into())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(link_json(&link))))
}

async fn refuse(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    p.refuse_link_request(request_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
