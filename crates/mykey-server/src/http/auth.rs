//! `/v1/auth`: card login. Anyone may ask for a challenge and answer it.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use mykey_api::auth::{CardResponse, Challenge as ChallengeBody, ChallengeRequest, Session};
use mykey_platform::{CardAnswer, Challenge, ChallengePurpose, Platform};

use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/auth/challenges", post(challenge))
        .route("/v1/auth/responses", post(respond))
}

fn purpose(s: &str) -> Result<ChallengePurpose, ApiError> {
    // Only login challenges are open to anyone; the others come with relying-party flows.
    match ChallengePurpose::parse(s) {
        Some(p @ ChallengePurpose::Login) => Ok(p),
        _ => Err(ApiError::InvalidRequest(format!(
            "unsupported purpose {s:?} (expected \"login\")"
        ))),
    }
}

/// The challenge as sent.
pub(super) fn challenge_body(c: &Challenge) -> ChallengeBody {
    ChallengeBody {
        nonce: B64URL.encode(c.nonce),
        purpose: c.purpose.as_str().to_owned(),
        expires_at: rfc3339(c.expires_at),
    }
}

/// A card's answer, decoded from JSON.
pub(super) struct DecodedCard {
    nonce: [u8; 32],
    certificate: Vec<u8>,
    signature: Vec<u8>,
}

impl DecodedCard {
    /// The answer, for the platform.
    pub(super) fn answer(&self) -> CardAnswer<'_> {
        CardAnswer {
            nonce: &self.nonce,
            certificate: &self.certificate,
            signature: &self.signature,
        }
    }
}

/// A card's answer from its JSON fields: the nonce (base64url), the certificate and the
/// signature (base64).
pub(super) fn decode_card(
    nonce: &str,
    certificate: &str,
    signature: &str,
) -> Result<DecodedCard, ApiError> {
    let nonce: [u8; 32] = B64URL
        .decode(nonce)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| ApiError::InvalidRequest("nonce must be 32 bytes, base64url".into()))?;
    let certificate = B64
        .decode(certificate)
        .map_err(|_| ApiError::InvalidRequest("certificate must be base64".into()))?;
    let signature = B64
        .decode(signature)
        .map_err(|_| ApiError::InvalidRequest("signature must be base64".into()))?;
    Ok(DecodedCard {
        nonce,
        certificate,
        signature,
    })
}

#[utoipa::path(
    post,
    path = "/v1/auth/challenges",
    operation_id = "auth_challenge",
    tag = "auth",
    summary = "A one-time nonce for the card to sign",
    request_body(content = mykey_api::auth::ChallengeRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = mykey_api::auth::Challenge, content_type = "application/json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn challenge(
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<ChallengeRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.challenge(purpose(&req.purpose)?, None).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_body(&c))))
}

#[utoipa::path(
    post,
    path = "/v1/auth/responses",
    operation_id = "auth_respond",
    tag = "auth",
    summary = "The card's answer: certificate path, validity, revocation and signature checked; renewals followed; a session answered",
    request_body(content = mykey_api::auth::CardResponse, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = mykey_api::auth::Session, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn respond(
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<CardResponse>,
) -> Result<impl IntoResponse, ApiError> {
    let purpose = purpose(&req.purpose)?;
    let card = decode_card(&req.nonce, &req.certificate, &req.signature)?;
    let (token, session) = p.respond(&card.answer(), purpose, None).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Session {
            token: token.as_str().to_owned(),
            token_type: "Bearer".to_owned(),
            expires_at: rfc3339(session.expires_at),
        }),
    ))
}
