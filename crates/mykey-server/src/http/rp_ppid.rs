//! `/v1/rp/ppid-services`: a relying party's PPID services and PPIDs (Terms Art 19, 20.1.3).
//! Every handler takes the [`RelyingPartyClient`] first; another party's services are unknown
//! to it (404), whatever it asks.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use mykey_platform::{CustomerId, Platform, PlatformError, Ppid, PpidService, ServicePpid};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ppid_services::service_id;
use super::rp::RelyingPartyClient;
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/rp/ppid-services", get(list).post(register))
        .route(
            "/v1/rp/ppid-services/{id}/authentications/{code}",
            post(redeem),
        )
        .route("/v1/rp/ppid-services/{id}/ppids", get(ppids))
        .route("/v1/rp/ppid-services/{id}/ppids/{ppid}", put(associate))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssociateBody {
    customer_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PpidsQuery {
    customer_id: Option<String>,
}

fn service_json(s: &PpidService) -> Value {
    json!({"id": s.id.get(), "name": s.name, "created_at": rfc3339(s.created_at)})
}

fn ppid_json(p: &ServicePpid) -> Value {
    json!({
        "ppid": p.ppid.to_string(),
        "customer_id": p.customer_id.as_ref().map(CustomerId::as_str),
        "issued_at": rfc3339(p.issued_at),
    })
}

fn customer(s: &str) -> Result<CustomerId, ApiError> {
    Ok(s.parse().map_err(PlatformError::from)?)
}

async fn register(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    let s = p.register_ppid_service(&rp, &req.name).await?;
    Ok((StatusCode::CREATED, axum::Json(service_json(&s))))
}

async fn list(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let all: Vec<Value> = p
        .relying_party_ppid_services(&rp)
        .await?
        .iter()
        .map(service_json)
        .collect();
    Ok(axum::Json(json!({"ppid_services": all})))
}

async fn redeem(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path((id, code)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let ppid = p.redeem_ppid_code(&rp, service_id(&id)?, &code).await?;
    Ok(axum::Json(json!({"ppid": ppid.to_string()})))
}

async fn associate(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path((id, ppid)): Path<(String, String)>,
    JsonBody(req): JsonBody<AssociateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = service_id(&id)?;
    // A malformed PPID was never issued.
    let ppid: Ppid = ppid
        .parse()
        .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::Ppid))?;
    let found = p
        .associate_customer_id(&rp, id, ppid, customer(&req.customer_id)?)
        .await?;
    Ok(axum::Json(ppid_json(&found)))
}

async fn ppids(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    query: Result<Query<PpidsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let wanted = q.customer_id.as_deref().map(customer).transpose()?;
    let found = p
        .service_ppids(&rp, service_id(&id)?, wanted.as_ref())
        .await?;
    if wanted.is_some() && found.is_empty() {
        return Err(PlatformError::NotFound(mykey_platform::NotFound::Ppid).into());
    }
    let found: Vec<Value> = found.iter().map(ppid_json).collect();
    Ok(axum::Json(json!({"ppids": found})))
}
