//! `/v1/rp`: relying parties, authenticated as OAuth clients. Every handler takes the
//! [`RelyingPartyClient`] first, and sees only that relying party's own links.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mykey_api::rp::{
    FactsCheck, LinkRequestOpened, LinkRequestOpening, LinksQuery, RelyingPartyServiceId,
    RelyingPartyServiceIds, ServiceIdApplication,
};
use mykey_platform::{CustomerId, Platform, PlatformError, RelyingParty};

use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/rp/service-id-requests", post(open_request))
        .route("/v1/rp/service-ids", get(list).post(apply))
        .route("/v1/rp/profile", get(profile).put(set_profile))
        .route("/v1/rp/service-ids/{customer_id}", delete(remove))
        .route(
            "/v1/rp/service-ids/{customer_id}/facts-check",
            post(check_facts),
        )
}

/// An approved relying party, authenticated by `client_secret_basic` (RFC 6749 §2.3.1):
/// `Authorization: Basic base64(client_id ":" client_secret)`, or by an access token from the
/// token endpoint (`Authorization: Bearer …`, RFC 6750), which is how a client that
/// authenticates with `private_key_jwt` calls this API.
pub(crate) struct RelyingPartyClient(pub(super) RelyingParty);

impl FromRequestParts<Arc<Platform>> for RelyingPartyClient {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, axum::response::Response> {
        let rp = match super::bearer(parts) {
            Some(token) => platform.authenticate_client_token(token).await,
            None => match basic_credentials(&parts.headers) {
                Some((id, secret)) => platform.authenticate_client(&id, &secret).await,
                None => Err(PlatformError::Access(
                    mykey_platform::AccessError::InvalidClient,
                )),
            },
        }
        .map_err(|e| ApiError::Platform(e).into_response())?;
        // Its own rate, however many tokens it holds (`rate.rs`).
        crate::rate::charge_relying_party(parts.extensions.get(), rp.id)?;
        Ok(RelyingPartyClient(rp))
    }
}

/// The client ID and secret of an `Authorization: Basic` header. Our client IDs and secrets are
/// base64url, which form-urlencoding leaves unchanged, so no decoding step is needed.
pub(super) fn basic_credentials(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b)| B64.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(i, p)| (i.to_owned(), p.to_owned())))
}

fn customer(s: &str) -> Result<CustomerId, ApiError> {
    Ok(s.parse().map_err(PlatformError::from)?)
}

#[utoipa::path(
    post,
    path = "/v1/rp/service-id-requests",
    operation_id = "rp_open_request",
    tag = "rp",
    summary = "Open a link request for one of its customer IDs (valid 10 minutes); the person opens link_url",
    request_body(content = mykey_api::rp::LinkRequestOpening, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = mykey_api::rp::LinkRequestOpened, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn open_request(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<LinkRequestOpening>,
) -> Result<impl IntoResponse, ApiError> {
    let r = p
        .open_link_request(&rp, customer(&req.customer_id)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(LinkRequestOpened {
            request_id: r.id.to_string(),
            customer_id: r.customer_id.as_str().to_owned(),
            expires_at: rfc3339(r.expires_at),
            link_url: format!("/v1/link-requests/{}", r.id),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/rp/profile",
    operation_id = "rp_profile",
    tag = "rp",
    summary = "Where people turn to it, as they see it in every consent screen, the portal and the phone's view (Art 17.2.3, 18, 21); null fields: none given yet",
    responses(
        (status = 200, description = "OK", body = mykey_api::RelyingPartyShown, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn profile(RelyingPartyClient(rp): RelyingPartyClient) -> impl IntoResponse {
    axum::Json(super::me::shown(&rp.name, rp.kind, rp.profile.as_ref()))
}

#[utoipa::path(
    put,
    path = "/v1/rp/profile",
    operation_id = "rp_set_profile",
    tag = "rp",
    summary = "Replace where people turn to it: its contact point (1 to 200 characters) and its privacy-policy and terms URLs (absolute https); people see the new one at once",
    request_body(content = mykey_api::RelyingPartyProfile, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = mykey_api::RelyingPartyShown, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn set_profile(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<mykey_api::RelyingPartyProfile>,
) -> Result<impl IntoResponse, ApiError> {
    let profile = mykey_platform::RelyingPartyProfile::new(
        &req.contact,
        &req.privacy_policy_url,
        &req.terms_url,
    )?;
    p.set_relying_party_profile(&rp, &profile).await?;
    Ok(axum::Json(super::me::shown(
        &rp.name,
        rp.kind,
        Some(&profile),
    )))
}

#[utoipa::path(
    post,
    path = "/v1/rp/service-ids",
    operation_id = "rp_apply",
    tag = "rp",
    summary = "Apply for a Service ID with the My Key ID the person gave it (Art 17.1) and the Art 17.2 consent it obtained from them (422 consent-incomplete unless every item and the terms version in force). The person sees the link at once and can withdraw it; the answer names only the customer ID. An unknown, changed or ended My Key ID is 404 no-my-key-id; a customer ID already linked 409 service-id-exists; 20 applications at once, then one every 30 s, and 3 per My Key ID, then one every 10 minutes (429 quota-exceeded). Nothing is stored on a refusal.",
    request_body(content = mykey_api::rp::ServiceIdApplication, content_type = "application/json"),
    responses(
        (status = 201, description = "Linked", body = mykey_api::rp::RelyingPartyServiceId, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn apply(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<ServiceIdApplication>,
) -> Result<impl IntoResponse, ApiError> {
    let my_key_id = req
        .my_key_id
        .parse::<mykey_platform::MyKeyId>()
        .map_err(PlatformError::from)?;
    let customer_id = customer(&req.customer_id)?;
    let consent = super::link_requests::new_consent(req.consent);
    let link = p
        .apply_for_service_id(&rp, my_key_id, customer_id, consent)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(RelyingPartyServiceId {
            customer_id: link.customer_id.as_str().to_owned(),
            linked_at: rfc3339(link.linked_at),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/rp/service-ids",
    operation_id = "rp_list",
    tag = "rp",
    summary = "Its own active Service IDs; with customer_id, that one (404 service-id-unknown when it has none). Each person read is told in their log (service-id.read), once a day",
    params(
        mykey_api::rp::LinksQuery
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::rp::RelyingPartyServiceIds, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn list(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    query: Result<Query<LinksQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let wanted = q.customer_id.as_deref().map(customer).transpose()?;
    let links = p.relying_party_links(&rp, wanted.as_ref()).await?;
    if wanted.is_some() && links.is_empty() {
        return Err(PlatformError::NotFound(mykey_platform::NotFound::ServiceId).into());
    }
    let service_ids = links
        .iter()
        .map(|l| RelyingPartyServiceId {
            customer_id: l.customer_id.as_str().to_owned(),
            linked_at: rfc3339(l.linked_at),
        })
        .collect();
    Ok(axum::Json(RelyingPartyServiceIds { service_ids }))
}

#[utoipa::path(
    delete,
    path = "/v1/rp/service-ids/{customer_id}",
    operation_id = "rp_remove",
    tag = "rp",
    summary = "Remove its link of customer_id; the person's log records it",
    params(
        ("customer_id" = String, Path, description = "The customer ID (percent-encoded)")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn remove(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(customer_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    // A malformed customer ID cannot be linked: it is simply not one of this party's.
    let c: CustomerId = customer_id
        .parse()
        .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::ServiceId))?;
    p.remove_link(&rp, &c).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Art 17.2.2 on demand: have the four facts of the person behind this link changed since they
/// linked, or was the signature certificate they linked with revoked for another reason? J-LIS
/// is asked; what it found is also sent as an event.
#[utoipa::path(
    post,
    path = "/v1/rp/service-ids/{customer_id}/facts-check",
    operation_id = "rp_check_facts",
    tag = "rp",
    summary = "Art 17.2.2 on demand: have the four facts of the person behind this link changed since they linked? J-LIS is asked (the person's log says so); what it found is also sent as an event (basic-facts-changed, or signature-certificate-revoked with J-LIS's reason)",
    params(
        ("customer_id" = String, Path)
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::rp::FactsCheck, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn check_facts(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(customer_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let revoked = p.check_facts(&rp, &customer(&customer_id)?).await?;
    Ok(axum::Json(FactsCheck {
        customer_id,
        basic_facts_changed: revoked.is_some_and(|r| r.facts_changed()),
        revocation_reason: revoked.map(|r| r.reason_name().to_owned()),
        checked_at: rfc3339(p.now()),
    }))
}
