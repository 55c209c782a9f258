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

#[utoipa::path(
    get,
    path = "/v1/ppid-services/{id}",
    operation_id = "ppid_services_show",
    tag = "card",
    summary = "The service, its relying party, and the Art 20.1 consent items under the terms in force (no session)",
    params(
        ("id" = i64, Path, description = "The PPID service's ID")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::ppid_services::PpidServiceShown, content_type = "application/json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn show(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let s = p.ppid_service(service_id(&id)?).await?;
    let terms = p.terms_version().await?;
    Ok(axum::Json(PpidServiceShown {
        id: s.id.get(),
        name: s.name,
        relying_party: shown(
            &s.relying_party.name,
            s.relying_party.kind,
            s.relying_party.profile.as_ref(),
        ),
        consent: consent_asked(&PPID_CONSENT, terms),
    }))
}

#[utoipa::path(
    post,
    path = "/v1/ppid-services/{id}/challenges",
    operation_id = "ppid_services_challenge",
    tag = "card",
    summary = "A one-time challenge (purpose authorization) bound to the service's relying party",
    params(
        ("id" = i64, Path, description = "The PPID service's ID")
    ),
    responses(
        (status = 201, description = "Created", body = mykey_api::auth::Challenge, content_type = "application/json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn challenge(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.ppid_challenge(service_id(&id)?).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_body(&c))))
}

#[utoipa::path(
    post,
    path = "/v1/ppid-services/{id}/authentications",
    operation_id = "ppid_services_authenticate",
    tag = "card",
    summary = "Authenticate with the card for the service: the card is checked as at login (renewals followed); the first time (and after a withdrawal) the consent must name exactly the Art 20.1 items and the terms in force (422 consent-incomplete); the PPID is derived and stored once, then reused; logged (ppid.issued / ppid.used); 403 ppid-closed without a PPID key",
    params(
        ("id" = i64, Path, description = "The PPID service's ID")
    ),
    request_body(content = mykey_api::ppid_services::PpidAuthentication, content_type = "application/json"),
    responses(
        (status = 201, description = "Authenticated", body = mykey_api::ppid_services::PpidAuthenticated, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
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
