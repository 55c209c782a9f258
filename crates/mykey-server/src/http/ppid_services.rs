//! `/v1/ppid-services`: the person's side of a PPID service (Terms Art 19–20). No session is
//! needed: the person proves who they are with the card, bound to the service's relying party,
//! and consents once per service.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_platform::{NewConsent, PPID_CONSENT, Platform, PlatformError, PpidServiceId};
use serde::Deserialize;
use serde_json::json;

use super::auth::{challenge_json, decode_card};
use super::link_requests::ConsentBody;
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/ppid-services/{id}", get(show))
        .route("/v1/ppid-services/{id}/challenges", post(challenge))
        .route("/v1/ppid-services/{id}/authentications", post(authenticate))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthenticationBody {
    nonce: String,
    certificate: String,
    signature: String,
    /// Required the first time (and after a withdrawal); optional once consented.
    #[serde(default)]
    consent: Option<ConsentBody>,
}

/// A PPID service's ID from the path; a malformed one names no service.
pub(super) fn service_id(s: &str) -> Result<PpidServiceId, ApiError> {
    s.parse()
        .map(PpidServiceId::new)
        .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::PpidService).into())
}

async fn show(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let s = p.ppid_service(service_id(&id)?).await?;
    let terms = p.terms_version().await?;
    let items: Vec<_> = PPID_CONSENT
        .iter()
        .map(|i| json!({"name": i.name, "text": i.text}))
        .collect();
    Ok(axum::Json(json!({
        "id": s.id.get(),
        "name": s.name,
        "relying_party": {"name": s.relying_party.name, "kind": s.relying_party.kind.as_str()},
        "consent": {"items": items, "terms_version": terms},
    })))
}

async fn challenge(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.ppid_challenge(service_id(&id)?).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_json(&c))))
}

async fn authenticate(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<AuthenticationBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = service_id(&id)?;
    let card = decode_card(&req.nonce, &req.certificate, &req.signature)?;
    let consent = req.consent.map(NewConsent::from);
    let a = p.authenticate_for_ppid(id, &card.answer(), consent).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "ppid": a.ppid.to_string(),
            "ppid_service": {"id": a.service.id.get(), "name": a.service.name},
            "issued": a.first,
            "code": a.code.as_str(),
            "code_expires_at": rfc3339(a.code_expires_at),
        })),
    ))
}
