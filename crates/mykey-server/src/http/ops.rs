//! `/v1/ops`: operators admit, suspend and re-key relying parties, and read the cross-device
//! logins people refused and reported as not theirs. Every handler takes the [`Operator`]
//! first.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_platform::oidc::{FactScope, IdTokenAlg, OidcClient};
use mykey_platform::{
    ClientJwks, ClientSecret, Platform, PlatformError, PpidServiceId, RelyingParty, RelyingPartyId,
    RelyingPartyKind, RelyingPartyStatus,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/ops/relying-parties", get(list).post(register))
        .route("/v1/ops/relying-parties/{id}/approval", post(approve))
        .route("/v1/ops/relying-parties/{id}/suspension", post(suspend))
        .route("/v1/ops/relying-parties/{id}/secret", post(rotate))
        .route(
            "/v1/ops/relying-parties/{id}/jwks",
            axum::routing::put(set_jwks).delete(remove_jwks),
        )
        .route(
            "/v1/ops/relying-parties/{id}/oidc-client",
            get(show_oidc_client).put(set_oidc_client),
        )
        .route("/v1/ops/authorization-reports", get(reports))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportsQuery {
    /// The cursor: reports after this one (the last page's `next`).
    #[serde(default)]
    after: i64,
    /// At most this many (1–500, default 100).
    limit: Option<u32>,
}

async fn reports(
    _: Operator,
    State(p): State<Arc<Platform>>,
    q: Result<Query<ReportsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    let found = p.authorization_reports(q.after, limit).await?;
    let next = (found.len() == limit.clamp(1, mykey_platform::oidc::MAX_REPORT_PAGE) as usize)
        .then(|| found.last().map(|r| r.id))
        .flatten();
    let reports: Vec<Value> = found
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "reported_at": rfc3339(r.reported_at),
                "purpose": r.purpose,
                "relying_party_id": r.relying_party.map(|id| id.get()),
                "began_at": rfc3339(r.began_at),
                "began_from": r.began.address,
                "browser": r.began.browser,
                "by_short_code": r.by_short_code,
                "reported_from": r.reported_from,
            })
        })
        .collect();
    Ok(axum::Json(json!({"reports": reports, "next": next})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OidcClientBody {
    /// The relying party's PPID service whose PPIDs are the `sub`s.
    ppid_service_id: i64,
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// The fact scopes it may ask for (`name`, `address`, `birthdate`, `gender`).
    #[serde(default)]
    scopes: Vec<String>,
    /// `ES256` (default) or `RS256`.
    id_token_signed_response_alg: Option<String>,
}

fn oidc_client_json(rp: &RelyingParty, c: &OidcClient) -> Value {
    json!({
        "client_id": rp.client_id,
        "ppid_service_id": c.ppid_service.get(),
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "scopes": c.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "id_token_signed_response_alg": c.id_token_alg.as_str(),
    })
}

async fn relying_party(p: &Platform, id: &str) -> Result<RelyingParty, ApiError> {
    Ok(p.store()
        .relying_party(rp_id(id)?)
        .await
        .map_err(PlatformError::from)?
        .ok_or(PlatformError::NotFound(
            mykey_platform::NotFound::RelyingParty,
        ))?)
}

async fn set_oidc_client(
    _: Operator,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<OidcClientBody>,
) -> Result<impl IntoResponse, ApiError> {
    let rp = relying_party(&p, &id).await?;
    let scopes = req
        .scopes
        .iter()
        .map(|s| {
            FactScope::parse(s).ok_or_else(|| {
                ApiError::InvalidRequest(format!(
                    "unknown scope {s:?}: the fact scopes are name, address, birthdate, gender"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let alg = match req.id_token_signed_response_alg.as_deref() {
        None => IdTokenAlg::default(),
        Some(a) => IdTokenAlg::parse(a).ok_or_else(|| {
            ApiError::InvalidRequest("id_token_signed_response_alg is ES256 or RS256".into())
        })?,
    };
    let c = OidcClient {
        relying_party: rp.id,
        ppid_service: PpidServiceId::new(req.ppid_service_id),
        redirect_uris: req.redirect_uris,
        post_logout_redirect_uris: req.post_logout_redirect_uris,
        scopes,
        id_token_alg: alg,
    };
    let c = p.set_oidc_client(&rp, &c).await?;
    Ok(axum::Json(oidc_client_json(&rp, &c)))
}

async fn show_oidc_client(
    _: Operator,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rp = relying_party(&p, &id).await?;
    let c = p.oidc_client(&rp).await?;
    Ok(axum::Json(oidc_client_json(&rp, &c)))
}

/// An operator, from `Authorization: Bearer <operator token>` (compared in constant time on
/// its SHA-256; with no token configured the operator API is closed).
pub(crate) struct Operator;

impl FromRequestParts<Arc<Platform>> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, ApiError> {
        match super::bearer(parts) {
            Some(t) => platform.authenticate_operator(t)?,
            // Closed wins over missing: say so whatever was (not) sent.
            None => {
                platform.authenticate_operator("")?;
            }
        }
        Ok(Operator)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    name: String,
    kind: String,
    /// The client's JWK Set for `private_key_jwt`, if it uses it.
    jwks: Option<Value>,
}

/// A JWK Set from a JSON body.
fn client_jwks(v: &Value) -> Result<ClientJwks, ApiError> {
    Ok(ClientJwks::parse(&v.to_string())?)
}

pub(super) fn rp_json(rp: &RelyingParty) -> Value {
    json!({
        "id": rp.id.get(),
        "client_id": rp.client_id,
        "name": rp.name,
        "kind": rp.kind.as_str(),
        "status": rp.status.as_str(),
        "created_at": rfc3339(rp.created_at),
    })
}

fn with_secret(rp: &RelyingParty, secret: &ClientSecret) -> Value {
    let mut v = rp_json(rp);
    v["client_secret"] = json!(secret.as_str());
    v
}

fn rp_id(s: &str) -> Result<RelyingPartyId, ApiError> {
    s.parse()
        .map(RelyingPartyId::new)
        .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::RelyingParty).into())
}

async fn register(
    _: Operator,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = RelyingPartyKind::parse(&req.kind).ok_or_else(|| {
        ApiError::InvalidRequest(r#"kind must be "public-authority" or "business""#.into())
    })?;
    let jwks = req.jwks.as_ref().map(client_jwks).transpose()?;
    let (rp, secret) = p
        .register_relying_party(&req.name, kind, jwks.as_ref())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(with_secret(&rp, &secret))))
}

async fn list(_: Operator, State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    let all: Vec<Value> = p.relying_parties().await?.iter().map(rp_json).collect();
    Ok(axum::Json(json!({"relying_parties": all})))
}

async fn approve(
    _: Operator,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rp = p
        .set_relying_party_status(rp_id(&id)?, RelyingPartyStatus::Approved)
        .await?;
    Ok(axum::Json(rp_json(&rp)))
}

async fn suspend(
    _: Operator,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rp = p
        .set_relying_party_status(rp_id(&id)?, RelyingPartyStatus::Suspended)
        .await?;
    Ok(axum::Json(rp_json(&rp)))
}

async fn rotate(
    _: Operator,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (rp, secret) = p.rotate_client_secret(rp_id(&id)?).await?;
    Ok(axum::Json(with_secret(&rp, &secret)))
}

async fn set_jwks(
    _: Operator,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    JsonBody(jwks): JsonBody<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let id = rp_id(&id)?;
    let jwks = client_jwks(&jwks)?;
    let rp = p.set_client_jwks(id, Some(&jwks)).await?;
    Ok(axum::Json(rp_json(&rp)))
}

async fn remove_jwks(
    _: Operator,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rp = p.set_client_jwks(rp_id(&id)?, None).await?;
    Ok(axum::Json(rp_json(&rp)))
}
