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

async fn show(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let r = p.link_request(request_id(&id)?).await?;
    let terms = p.terms_version().await?;
    Ok(axum::Json(LinkRequest {
        request_id: r.id.to_string(),
        relying_party: shown(&r.relying_party.name, r.relying_party.kind),
        customer_id: r.customer_id.as_str().to_owned(),
        expires_at: rfc3339(r.expires_at),
        consent: consent_asked(&SERVICE_ID_CONSENT, terms),
    }))
}

async fn challenge(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.link_challenge(request_id(&id)?).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_body(&c))))
}

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

async fn refuse(
    Path(id): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    p.refuse_link_request(request_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
