//! `/v1/ppid-services`: the person's side of a PPID service (Terms Art 19–20). No session is
//! needed: the person proves who they are with the card, bound to the service's relying party,
//! and consents once per service.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_api::ppid_services::{
    PpidAuthenticated, PpidAuthentication, PpidServiceRef, PpidServiceShown,
};
use mykey_platform::{PPID_CONSENT, Platform, PlatformError, PpidServiceId};

use super::auth::{challenge_body, decode_card};
use super::link_requests::{consent_asked, new_consent};
use super::me::shown;
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/ppid-services/{id}", get(show))
        .route("/v1/ppid-services/{id}/challenges", post(challenge))
        .route("/v1/ppid-services/{id}/authentications", post(authenticate))
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
    Ok(axum::Json(PpidServiceShown {
        id: s.id.get(),
        name: s.name,
        relying_party: shown(&s.relying_party.name, s.relying_party.kind),
        consent: consent_asked(&PPID_CONSENT, terms),
    }))
}

async fn challenge(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.ppid_challenge(service_id(&id)?).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_body(&c))))
}

async fn authenticate(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<PpidAuthentication>,
) -> Result<impl IntoResponse, ApiError> {
    let id = service_id(&id)?;
    let card = decode_card(&req.nonce, &req.certificate, &req.signature)?;
    let consent = req.consent.map(new_consent);
    let a = p.authenticate_for_ppid(id, &card.answer(), consent).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(PpidAuthenticated {
            ppid: a.ppid.to_string(),
            ppid_service: PpidServiceRef {
                id: a.service.id.get(),
                name: a.service.name,
            },
            issued: a.first,
            code: a.code.as_str().to_owned(),
            code_expires_at: rfc3339(a.code_expires_at),
        }),
    ))
}
