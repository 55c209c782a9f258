//! `/v1/rp/ppid-services`: a relying party's PPID services and PPIDs (Terms Art 19, 20.1.3).
//! Every handler takes the [`RelyingPartyClient`] first; another party's services are unknown
//! to it (404), whatever it asks.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use mykey_api::rp_ppid::{
    PpidAssociation, PpidRedeemed, PpidService as PpidServiceBody, PpidServiceRegistration,
    PpidServices, PpidsQuery, ServicePpid as ServicePpidBody, ServicePpids,
};
use mykey_platform::{CustomerId, Platform, PlatformError, Ppid, PpidService, ServicePpid};

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

fn service_json(s: &PpidService) -> PpidServiceBody {
    PpidServiceBody {
        id: s.id.get(),
        name: s.name.clone(),
        created_at: rfc3339(s.created_at),
    }
}

fn ppid_json(p: &ServicePpid) -> ServicePpidBody {
    ServicePpidBody {
        ppid: p.ppid.to_string(),
        customer_id: p.customer_id.as_ref().map(|c| c.as_str().to_owned()),
        issued_at: rfc3339(p.issued_at),
    }
}

fn customer(s: &str) -> Result<CustomerId, ApiError> {
    Ok(s.parse().map_err(PlatformError::from)?)
}

#[utoipa::path(
    post,
    path = "/v1/rp/ppid-services",
    operation_id = "rp_ppid_register",
    tag = "rp",
    summary = "Register a PPID service (Art 19)",
    request_body(content = mykey_api::rp_ppid::PpidServiceRegistration, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = mykey_api::rp_ppid::PpidService, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn register(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<PpidServiceRegistration>,
) -> Result<impl IntoResponse, ApiError> {
    let s = p.register_ppid_service(&rp, &req.name).await?;
    Ok((StatusCode::CREATED, axum::Json(service_json(&s))))
}

#[utoipa::path(
    get,
    path = "/v1/rp/ppid-services",
    operation_id = "rp_ppid_list",
    tag = "rp",
    summary = "Its own PPID services",
    responses(
        (status = 200, description = "OK", body = mykey_api::rp_ppid::PpidServices, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn list(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let ppid_services = p
        .relying_party_ppid_services(&rp)
        .await?
        .iter()
        .map(service_json)
        .collect();
    Ok(axum::Json(PpidServices { ppid_services }))
}

#[utoipa::path(
    post,
    path = "/v1/rp/ppid-services/{id}/authentications/{code}",
    operation_id = "rp_ppid_redeem",
    tag = "rp",
    summary = "Redeem a person's one-time code for their PPID, once, with the four facts when the code answered a PIN-less request (Terms Art 20.2; logged facts.given) (400 ppid-code-invalid when unknown, used, expired or of another service); another party's service is 404 ppid-service-unknown",
    params(
        ("id" = i64, Path, description = "The PPID service's ID"),
        ("code" = String, Path, description = "The code from the person's authentication")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::rp_ppid::PpidRedeemed, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn redeem(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path((id, code)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let (ppid, facts) = p.redeem_ppid_code(&rp, service_id(&id)?, &code).await?;
    // The facts were written by the platform as claims JSON; unreadable ones are a store fault.
    let facts = facts
        .map(|f| serde_json::from_str(&f))
        .transpose()
        .map_err(|_| {
            PlatformError::Store(mykey_platform::StoreError::corrupt(
                "stored PIN-less facts are not claims",
            ))
        })?;
    Ok(axum::Json(PpidRedeemed {
        ppid: ppid.to_string(),
        facts,
    }))
}

#[utoipa::path(
    put,
    path = "/v1/rp/ppid-services/{id}/ppids/{ppid}",
    operation_id = "rp_ppid_associate",
    tag = "rp",
    summary = "Associate its customer ID with an issued PPID of its service (Art 20.1.3); logged to the person; 404 ppid-unknown for a PPID the service never issued or whose person withdrew their consent",
    params(
        ("id" = i64, Path, description = "The PPID service's ID"),
        ("ppid" = String, Path, description = "The PPID")
    ),
    request_body(content = mykey_api::rp_ppid::PpidAssociation, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = mykey_api::rp_ppid::ServicePpid, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn associate(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path((id, ppid)): Path<(String, String)>,
    JsonBody(req): JsonBody<PpidAssociation>,
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

#[utoipa::path(
    get,
    path = "/v1/rp/ppid-services/{id}/ppids",
    operation_id = "rp_ppid_ppids",
    tag = "rp",
    summary = "The issued PPIDs of its service; with customer_id, those associated with it (404 ppid-unknown when none). Each person read is told in their log (ppid.read), once a day",
    params(
        ("id" = i64, Path, description = "The PPID service's ID"),
        mykey_api::rp_ppid::PpidsQuery
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::rp_ppid::ServicePpids, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
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
    let ppids = found.iter().map(ppid_json).collect();
    Ok(axum::Json(ServicePpids { ppids }))
}
