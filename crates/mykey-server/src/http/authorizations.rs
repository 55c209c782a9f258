//! `/v1/authorizations/{handle}`: the phone's side of a cross-device login (DESIGN.md flow 7).
//! The handle is the QR code's (unguessable); the short code the browser shows works in its
//! place, within a budget for guessing per source address and for the whole platform
//! (`mykey_platform::oidc::ShortCodeGuard`; over it: 429 with Retry-After). No session is
//! needed: approval is proved with the card.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_platform::{NewConsent, Platform, PlatformError};
use serde::Deserialize;
use serde_json::json;

use base64::Engine;

use super::auth::{challenge_json, decode_card};
use super::link_requests::ConsentBody;
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/authorizations/{handle}", get(show))
        .route("/v1/authorizations/{handle}/challenges", post(challenge))
        .route("/v1/authorizations/{handle}/approval", post(approve))
        .route("/v1/authorizations/{handle}/refusal", post(refuse))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalBody {
    nonce: String,
    certificate: String,
    signature: String,
    consent: ConsentBody,
    /// The card's signature certificate (DER, base64), read with its password, when facts are
    /// asked for: the facts released are the ones it certifies. There is no way to state facts.
    #[serde(default)]
    signature_certificate: Option<String>,
}

/// Where a request comes from: the peer's address, when the server was started with it
/// (`mykey serve` is; behind a reverse proxy it is the proxy's).
type From = Option<Extension<ConnectInfo<SocketAddr>>>;

fn source(from: From) -> Option<IpAddr> {
    from.map(|Extension(ConnectInfo(a))| a.ip())
}

async fn show(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
    from: From,
) -> Result<impl IntoResponse, ApiError> {
    let v = p.authorization_view(&handle, source(from)).await?;
    let items: Vec<_> = v
        .consent_items
        .iter()
        .map(|i| json!({"name": i.name, "text": i.text}))
        .collect();
    let facts: Vec<&str> = v.facts.iter().map(|f| f.as_str()).collect();
    Ok(axum::Json(json!({
        "short_code": v.short_code,
        "purpose": if v.relying_party.is_some() { "openid-connect" } else { "portal" },
        "relying_party": v.relying_party.as_ref().map(|(rp, _)| json!({"name": rp.name, "kind": rp.kind.as_str()})),
        "ppid_service": v.relying_party.as_ref().map(|(_, s)| json!({"name": s.name})),
        "facts": facts,
        "expires_at": rfc3339(v.expires_at),
        "consent": {"items": items, "terms_version": v.terms_version},
    })))
}

async fn challenge(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
    from: From,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.authorization_challenge(&handle, source(from)).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_json(&c))))
}

async fn approve(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
    from: From,
    JsonBody(req): JsonBody<ApprovalBody>,
) -> Result<impl IntoResponse, ApiError> {
    let card = decode_card(&req.nonce, &req.certificate, &req.signature)?;
    let consent: NewConsent = req.consent.into();
    let signature_certificate = match &req.signature_certificate {
        Some(b64) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| PlatformError::InvalidFacts("signature_certificate is not base64"))?,
        ),
        None => None,
    };
    p.approve_authorization(
        &handle,
        source(from),
        &card.answer(),
        &consent,
        signature_certificate.as_deref(),
    )
    .await?;
    Ok(axum::Json(json!({"approved": true})))
}

async fn refuse(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
    from: From,
) -> Result<impl IntoResponse, ApiError> {
    p.decline_authorization(&handle, source(from)).await?;
    Ok(StatusCode::NO_CONTENT)
}
