//! `/v1/link-requests`: the person's side of a Service ID link request (Art 17). No session is
//! needed: the request ID is an unguessable handle, and approval is proved with the card.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_api::link_requests::{LinkApproval, LinkRequest};
use mykey_api::{ConsentAsked, ConsentGiven, ConsentItem};
use mykey_platform::{LinkRequestId, NewConsent, Platform, PlatformError, SERVICE_ID_CONSENT};

use super::auth::{challenge_body, decode_card};
use super::me::{link_json, shown};
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/link-requests/{id}", get(show))
        .route("/v1/link-requests/{id}/challenges", post(challenge))
        .route("/v1/link-requests/{id}/approval", post(approve))
        .route("/v1/link-requests/{id}/refusal", post(refuse))
}

/// A consent as a card holder's approval gives it, for the platform.
pub(super) fn new_consent(c: ConsentGiven) -> NewConsent {
    NewConsent {
        items: c.items,
        terms_version: c.terms_version,
    }
}

/// The items a person is asked to consent to, under the terms version in force.
pub(super) fn consent_asked(
    items: &[mykey_platform::ConsentItem],
    terms_version: String,
) -> ConsentAsked {
    ConsentAsked {
        items: items
            .iter()
            .map(|i| ConsentItem {
                name: i.name.to_owned(),
                text: i.text.to_owned(),
            })
            .collect(),
        terms_version,
    }
}

fn request_id(s: &str) -> Result<LinkRequestId, ApiError> {
    // A malformed handle names no request.
    s.parse()
        .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::LinkRequest).into())
}

#[utoipa::path(
    get,
    path = "/v1/link-requests/{id}",
    operation_id = "link_requests_show",
    tag = "card",
    summary = "Who asks, for which customer ID, and what the person is asked to agree to (no session: the ID is the handle)",
    params(
        ("id" = String, Path, description = "The link request's ID")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::link_requests::LinkRequest, content_type = "application/json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn show(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let r = p.link_request(request_id(&id)?).await?;
    let terms = p.terms_version().await?;
    Ok(axum::Json(LinkRequest {
        request_id: r.id.to_string(),
        relying_party: shown(
            &r.relying_party.name,
            r.relying_party.kind,
            r.relying_party.profile.as_ref(),
        ),
        customer_id: r.customer_id.as_str().to_owned(),
        expires_at: rfc3339(r.expires_at),
        consent: consent_asked(&SERVICE_ID_CONSENT, terms),
    }))
}

#[utoipa::path(
    post,
    path = "/v1/link-requests/{id}/challenges",
    operation_id = "link_requests_challenge",
    tag = "card",
    summary = "A one-time challenge for the card, bound to the request's relying party",
    params(
        ("id" = String, Path, description = "The link request's ID")
    ),
    responses(
        (status = 201, description = "Created", body = mykey_api::auth::Challenge, content_type = "application/json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn challenge(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.link_challenge(request_id(&id)?).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_body(&c))))
}

#[utoipa::path(
    post,
    path = "/v1/link-requests/{id}/approval",
    operation_id = "link_requests_approve",
    tag = "card",
    summary = "Approve with the card and the consent (Art 17.2): the card is checked as at login; the holder needs an active My Key ID (409 no-my-key-id); the consent must name exactly the items and the terms version in force (422 consent-incomplete); a customer ID already linked is 409 service-id-exists; an answered request 409 link-request-answered; an expired one 410 link-request-expired. Nothing is stored on a refusal.",
    params(
        ("id" = String, Path, description = "The link request's ID")
    ),
    request_body(content = mykey_api::link_requests::LinkApproval, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = mykey_api::me::ServiceId, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn approve(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<LinkApproval>,
) -> Result<impl IntoResponse, ApiError> {
    let id = request_id(&id)?;
    let card = decode_card(&req.nonce, &req.certificate, &req.signature)?;
    let link = p
        .approve_link_request(id, &card.answer(), new_consent(req.consent))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(link_json(&link))))
}

#[utoipa::path(
    post,
    path = "/v1/link-requests/{id}/refusal",
    operation_id = "link_requests_refuse",
    tag = "card",
    summary = "Decline (no card needed)",
    params(
        ("id" = String, Path, description = "The link request's ID")
    ),
    responses(
        (status = 204, description = "Declined"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn refuse(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    p.refuse_link_request(request_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
