//! `/v1/ops`: operators admit, suspend and re-key relying parties, and read the cross-device
//! logins people refused and reported as not theirs. Every handler takes the [`Operator`] of
//! its duty first (`operators.rs`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_api::ops::{
    AuthorizationReport, AuthorizationReports, OidcClient as OidcClientBody,
    OidcClientRegistration, RelyingParties, RelyingParty as RelyingPartyBody,
    RelyingPartyRegistration, RelyingPartyWithSecret, ReportsQuery,
};
use mykey_platform::RelyingPartyProfile;
use mykey_platform::oidc::{FactScope, IdTokenAlg, OidcClient, OidcSubject};
use mykey_platform::{
    ClientJwks, ClientSecret, Platform, PlatformError, PpidServiceId, RelyingParty, RelyingPartyId,
    RelyingPartyKind, RelyingPartyStatus,
};
use serde_json::Value;

use super::operators::{Operator, duty};
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

#[utoipa::path(
    get,
    path = "/v1/ops/authorization-reports",
    operation_id = "ops_reports",
    tag = "ops",
    summary = "Cross-device logins people refused and reported as not theirs, oldest first (kept a year)",
    params(
        mykey_api::ops::ReportsQuery
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::ops::AuthorizationReports, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn reports(
    _: Operator<duty::Reports>,
    State(p): State<Arc<Platform>>,
    q: Result<Query<ReportsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    let found = p.authorization_reports(q.after, limit).await?;
    let next = (found.len() == limit.clamp(1, mykey_platform::oidc::MAX_REPORT_PAGE) as usize)
        .then(|| found.last().map(|r| r.id))
        .flatten();
    let reports = found
        .iter()
        .map(|r| AuthorizationReport {
            id: r.id,
            reported_at: rfc3339(r.reported_at),
            purpose: r.purpose.clone(),
            relying_party_id: r.relying_party.map(|id| id.get()),
            began_at: rfc3339(r.began_at),
            began_from: r.began.address.clone(),
            browser: r.began.browser.clone(),
            by_short_code: r.by_short_code,
            reported_from: r.reported_from.clone(),
        })
        .collect();
    Ok(axum::Json(AuthorizationReports { reports, next }))
}

fn oidc_client_json(rp: &RelyingParty, c: &OidcClient) -> OidcClientBody {
    OidcClientBody {
        client_id: rp.client_id.clone(),
        subject: c.subject.as_str().to_owned(),
        ppid_service_id: c.subject.ppid_service().map(|s| s.get()),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        scopes: c.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        id_token_signed_response_alg: c.id_token_alg.as_str().to_owned(),
    }
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

#[utoipa::path(
    put,
    path = "/v1/ops/relying-parties/{id}/oidc-client",
    operation_id = "ops_set_oidc_client",
    tag = "ops",
    summary = "Register (replace) the relying party's OpenID Connect client: whose identifier sub is (its PPID service's PPIDs, or its customer IDs for logging in by Service ID), redirect URIs, allowed fact scopes, ID token algorithm",
    params(
        ("id" = i64, Path, description = "The relying party's ID")
    ),
    request_body(content = mykey_api::ops::OidcClientRegistration, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = mykey_api::ops::OidcClient, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn set_oidc_client(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<OidcClientRegistration>,
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
    let subject = match (req.subject.as_deref(), req.ppid_service_id) {
        (None | Some("ppid"), Some(id)) => OidcSubject::Ppid(PpidServiceId::new(id)),
        (None | Some("ppid"), None) => {
            return Err(ApiError::InvalidRequest(
                "ppid_service_id is required for PPID subjects".into(),
            ));
        }
        (Some("service-id"), None) => OidcSubject::ServiceId,
        (Some("service-id"), Some(_)) => {
            return Err(ApiError::InvalidRequest(
                "a client logging in by Service ID names no PPID service".into(),
            ));
        }
        (Some(_), _) => {
            return Err(ApiError::InvalidRequest(
                "subject is ppid or service-id".into(),
            ));
        }
    };
    let c = OidcClient {
        relying_party: rp.id,
        subject,
        redirect_uris: req.redirect_uris,
        post_logout_redirect_uris: req.post_logout_redirect_uris,
        scopes,
        id_token_alg: alg,
    };
    let c = p.set_oidc_client(&rp, &c).await?;
    Ok(axum::Json(oidc_client_json(&rp, &c)))
}

#[utoipa::path(
    get,
    path = "/v1/ops/relying-parties/{id}/oidc-client",
    operation_id = "ops_show_oidc_client",
    tag = "ops",
    summary = "The relying party's OpenID Connect registration",
    params(
        ("id" = i64, Path, description = "The relying party's ID")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::ops::OidcClient, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn show_oidc_client(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rp = relying_party(&p, &id).await?;
    let c = p.oidc_client(&rp).await?;
    Ok(axum::Json(oidc_client_json(&rp, &c)))
}

/// A JWK Set from a JSON body.
fn client_jwks(v: &Value) -> Result<ClientJwks, ApiError> {
    Ok(ClientJwks::parse(&v.to_string())?)
}

pub(super) fn rp_json(rp: &RelyingParty) -> RelyingPartyBody {
    RelyingPartyBody {
        id: rp.id.get(),
        client_id: rp.client_id.clone(),
        name: rp.name.clone(),
        kind: rp.kind.as_str().to_owned(),
        status: rp.status.as_str().to_owned(),
        created_at: rfc3339(rp.created_at),
    }
}

fn with_secret(rp: &RelyingParty, secret: &ClientSecret) -> RelyingPartyWithSecret {
    RelyingPartyWithSecret {
        relying_party: rp_json(rp),
        client_secret: secret.as_str().to_owned(),
    }
}

fn rp_id(s: &str) -> Result<RelyingPartyId, ApiError> {
    s.parse()
        .map(RelyingPartyId::new)
        .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::RelyingParty).into())
}

#[utoipa::path(
    post,
    path = "/v1/ops/relying-parties",
    operation_id = "ops_register",
    tag = "ops",
    summary = "Register a relying party, pending until approved; its client secret is shown once",
    request_body(content = mykey_api::ops::RelyingPartyRegistration, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = mykey_api::ops::RelyingPartyWithSecret, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn register(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<RelyingPartyRegistration>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = RelyingPartyKind::parse(&req.kind).ok_or_else(|| {
        ApiError::InvalidRequest(r#"kind must be "public-authority" or "business""#.into())
    })?;
    let jwks = req.jwks.as_ref().map(client_jwks).transpose()?;
    let profile = RelyingPartyProfile::new(&req.contact, &req.privacy_policy_url, &req.terms_url)?;
    let (rp, secret) = p
        .register_relying_party(&req.name, kind, profile, jwks.as_ref())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(with_secret(&rp, &secret))))
}

#[utoipa::path(
    get,
    path = "/v1/ops/relying-parties",
    operation_id = "ops_list",
    tag = "ops",
    summary = "Every relying party (no secrets)",
    responses(
        (status = 200, description = "OK", body = mykey_api::ops::RelyingParties, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn list(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let relying_parties = p.relying_parties().await?.iter().map(rp_json).collect();
    Ok(axum::Json(RelyingParties { relying_parties }))
}

#[utoipa::path(
    post,
    path = "/v1/ops/relying-parties/{id}/approval",
    operation_id = "ops_approve",
    tag = "ops",
    summary = "Approve (also lifts a suspension)",
    params(
        ("id" = i64, Path, description = "The relying party's ID")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::ops::RelyingParty, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn approve(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rp = p
        .set_relying_party_status(rp_id(&id)?, RelyingPartyStatus::Approved)
        .await?;
    Ok(axum::Json(rp_json(&rp)))
}

#[utoipa::path(
    post,
    path = "/v1/ops/relying-parties/{id}/suspension",
    operation_id = "ops_suspend",
    tag = "ops",
    summary = "Suspend: its client authentication is refused (403 relying-party-not-approved) and its open link requests can no longer be answered",
    params(
        ("id" = i64, Path, description = "The relying party's ID")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::ops::RelyingParty, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn suspend(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rp = p
        .set_relying_party_status(rp_id(&id)?, RelyingPartyStatus::Suspended)
        .await?;
    Ok(axum::Json(rp_json(&rp)))
}

#[utoipa::path(
    post,
    path = "/v1/ops/relying-parties/{id}/secret",
    operation_id = "ops_rotate",
    tag = "ops",
    summary = "Rotate the client secret: the new one is shown once, the old one stops working at once",
    params(
        ("id" = i64, Path, description = "The relying party's ID")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::ops::RelyingPartyWithSecret, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn rotate(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (rp, secret) = p.rotate_client_secret(rp_id(&id)?).await?;
    Ok(axum::Json(with_secret(&rp, &secret)))
}

#[utoipa::path(
    put,
    path = "/v1/ops/relying-parties/{id}/jwks",
    operation_id = "ops_set_jwks",
    tag = "ops",
    summary = "Register (replace) the relying party's JWK Set for private_key_jwt; keys it replaces stop working at once (rotate by registering old and new together first)",
    params(
        ("id" = i64, Path, description = "The relying party's ID")
    ),
    request_body(content = mykey_api::events::Jwks, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = mykey_api::ops::RelyingParty, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn set_jwks(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    JsonBody(jwks): JsonBody<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let id = rp_id(&id)?;
    let jwks = client_jwks(&jwks)?;
    let rp = p.set_client_jwks(id, Some(&jwks)).await?;
    Ok(axum::Json(rp_json(&rp)))
}

#[utoipa::path(
    delete,
    path = "/v1/ops/relying-parties/{id}/jwks",
    operation_id = "ops_remove_jwks",
    tag = "ops",
    summary = "Remove the relying party's JWK Set (only client_secret_basic is left)",
    params(
        ("id" = i64, Path, description = "The relying party's ID")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::ops::RelyingParty, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn remove_jwks(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rp = p.set_client_jwks(rp_id(&id)?, None).await?;
    Ok(axum::Json(rp_json(&rp)))
}
