//! `/v1/me`: the person, with a session. The session is the first thing every handler takes.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::get;
use mykey_api::me::{
    Log, LogEntry as LogEntryBody, LogPage, LogVerdict, Me as MeBody, MyKeyId as MyKeyIdBody,
    MyKeyIdCreation, MyKeyIdRequest, PersonPpidService as PersonPpidServiceBody,
    PersonPpidServices, PpidConsentRecorded, ServiceId, ServiceIds,
};
use mykey_api::{ConsentRecorded, RelyingPartyShown};
use mykey_platform::{
    LogEntry, MyKeyId, PersonLink, PersonPpidService, Platform, PlatformError, Session,
    verify_chain,
};

use super::{ApiError, JsonBody, OptionalJson, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/me", get(overview))
        .route(
            "/v1/me/my-key-id",
            get(show).post(create).put(change).delete(revoke),
        )
        .route("/v1/me/my-key-id/consent", get(consent))
        .route("/v1/me/log", get(log))
        .route("/v1/me/log/verify", get(verify))
        .route("/v1/me/service-ids", get(service_ids))
        .route("/v1/me/service-ids/{id}", axum::routing::delete(withdraw))
        .route("/v1/me/ppid-services", get(ppid_services))
        .route(
            "/v1/me/ppid-services/{id}",
            axum::routing::delete(withdraw_ppid),
        )
}

/// A person's session from `Authorization: Bearer <token>`.
pub(crate) struct Me(pub(super) Session);

impl FromRequestParts<Arc<Platform>> for Me {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, ApiError> {
        let token = super::bearer(parts).ok_or(ApiError::Platform(PlatformError::Access(
            mykey_platform::AccessError::Unauthenticated,
        )))?;
        Ok(Me(platform.authenticate(token).await?))
    }
}

fn requested(OptionalJson(req): OptionalJson<MyKeyIdRequest>) -> Result<Option<MyKeyId>, ApiError> {
    match req.and_then(|r| r.id) {
        Some(s) => Ok(Some(s.parse().map_err(PlatformError::from)?)),
        None => Ok(None),
    }
}

#[utoipa::path(
    get,
    path = "/v1/me",
    operation_id = "me_overview",
    tag = "me",
    summary = "The person's overview",
    responses(
        (status = 200, description = "OK", body = mykey_api::me::Me, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn overview(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let id = p.my_key_id(&s).await?;
    Ok(axum::Json(MeBody {
        my_key_id: id.map(|m| MyKeyIdBody {
            id: m.id.as_str().to_owned(),
            since: Some(rfc3339(m.since)),
        }),
        session_expires_at: rfc3339(s.expires_at),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/me/my-key-id",
    operation_id = "me_show",
    tag = "me",
    summary = "The active My Key ID",
    responses(
        (status = 200, description = "OK", body = mykey_api::me::MyKeyId, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn show(Me(s): Me, State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    let m = p
        .my_key_id(&s)
        .await?
        .ok_or(PlatformError::NotFound(mykey_platform::NotFound::MyKeyId))?;
    Ok(axum::Json(MyKeyIdBody {
        id: m.id.as_str().to_owned(),
        since: Some(rfc3339(m.since)),
    }))
}

#[utoipa::path(
    post,
    path = "/v1/me/my-key-id",
    operation_id = "me_create",
    tag = "me",
    summary = "Create (at most one active, Art 15.1), accepting the matters of Art 16.1 under the terms in force (recorded as a consent)",
    request_body(content = mykey_api::me::MyKeyIdCreation, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = mykey_api::me::MyKeyId, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn create(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<MyKeyIdCreation>,
) -> Result<impl IntoResponse, ApiError> {
    let wanted = requested(OptionalJson(Some(MyKeyIdRequest { id: req.id })))?;
    let consent = super::link_requests::new_consent(req.consent);
    let id = p.create_my_key_id(&s, wanted, &consent).await?;
    Ok((StatusCode::CREATED, axum::Json(new_id(&id))))
}

/// What creating a My Key ID asks the person to accept: the matters of Art 16.1, under the
/// terms version in force.
#[utoipa::path(
    get,
    path = "/v1/me/my-key-id/consent",
    operation_id = "me_my_key_id_consent",
    tag = "me",
    summary = "What creating a My Key ID asks the person to accept (Art 16.1), under the terms in force",
    responses(
        (status = 200, description = "OK", body = mykey_api::ConsentAsked, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn consent(Me(_): Me, State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(super::link_requests::consent_asked(
        &mykey_platform::MY_KEY_ID_CONSENT,
        p.terms_version().await?,
    )))
}

#[utoipa::path(
    put,
    path = "/v1/me/my-key-id",
    operation_id = "me_change",
    tag = "me",
    summary = "Change to another free value",
    request_body(content = Option<mykey_api::me::MyKeyIdRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = mykey_api::me::MyKeyId, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn change(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
    req: OptionalJson<MyKeyIdRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let id = p.change_my_key_id(&s, requested(req)?).await?;
    Ok(axum::Json(new_id(&id)))
}

/// A My Key ID just made or changed.
fn new_id(id: &MyKeyId) -> MyKeyIdBody {
    MyKeyIdBody {
        id: id.as_str().to_owned(),
        since: None,
    }
}

#[utoipa::path(
    delete,
    path = "/v1/me/my-key-id",
    operation_id = "me_revoke",
    tag = "me",
    summary = "Revoke: every function using it ends — every Service ID with it, in the same transaction (Art 15.3)",
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn revoke(Me(s): Me, State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    p.revoke_my_key_id(&s).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Entries a page holds unless `limit` says otherwise.
const LOG_PAGE: usize = 100;

#[utoipa::path(
    get,
    path = "/v1/me/log",
    operation_id = "me_log",
    tag = "me",
    summary = "The person's own hash-chained log, oldest first",
    description = "Oldest first, in pages: `next` is the cursor of the next page (null on the last, which carries the chain's `head`).",
    params(
        mykey_api::me::LogPage
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::me::Log, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457): `after` or `limit` malformed or out of range, or an unknown parameter", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn log(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
    q: Result<axum::extract::Query<LogPage>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let axum::extract::Query(q) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let limit = page_limit(&q)?;
    let (entries, next) = p.log_page(&s, q.after, false, limit).await?;
    Ok(axum::Json(log_page_json(&entries, next)))
}

/// A log page's size (`limit`, default 100), or the problem that says it is out of range.
pub(super) fn page_limit(q: &LogPage) -> Result<usize, ApiError> {
    let limit = q.limit.unwrap_or(LOG_PAGE);
    if limit == 0 || limit > mykey_platform::MAX_LOG_PAGE {
        return Err(ApiError::InvalidRequest(format!(
            "limit is 1 to {}",
            mykey_platform::MAX_LOG_PAGE
        )));
    }
    Ok(limit)
}

/// A page of a person's log as answered, with the chain's head on the page that ends with it.
pub(super) fn log_page_json(entries: &[LogEntry], next: Option<u64>) -> Log {
    Log {
        entries: entries.iter().map(log_json).collect(),
        head: next
            .is_none()
            .then(|| entries.last().map(|e| e.hash.to_string()))
            .flatten(),
        next: next.map(|n| n.to_string()),
    }
}

/// A log entry as the person sees it.
pub(super) fn log_json(e: &LogEntry) -> LogEntryBody {
    LogEntryBody {
        seq: e.seq,
        at: rfc3339(mykey_pki::UnixTime::from_secs(e.at)),
        kind: e.kind.clone(),
        detail: serde_json::from_str(&e.detail)
            .unwrap_or_else(|_| serde_json::Value::String(e.detail.clone())),
        hash: e.hash.to_string(),
    }
}

#[utoipa::path(
    get,
    path = "/v1/me/log/verify",
    operation_id = "me_verify",
    tag = "me",
    summary = "Checks the whole chain",
    responses(
        (status = 200, description = "OK", body = mykey_api::me::LogVerdict, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn verify(Me(s): Me, State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    let entries = p.log(&s).await?;
    let verdict = verify_chain(&entries);
    Ok(axum::Json(LogVerdict {
        valid: verdict.is_ok(),
        entries: entries.len(),
        head: verdict.as_ref().ok().map(ToString::to_string),
        error: verdict.err().map(|e| e.to_string()),
    }))
}

/// A Service ID as the person sees it.
pub(super) fn link_json(l: &PersonLink) -> ServiceId {
    ServiceId {
        id: l.id.get(),
        relying_party: shown(
            &l.relying_party,
            l.relying_party_kind,
            l.relying_party_profile.as_ref(),
        ),
        customer_id: l.customer_id.as_str().to_owned(),
        linked_at: rfc3339(l.linked_at),
        consent: consent_recorded(&l.consent),
        route: l.route.as_str().to_owned(),
    }
}

/// A relying party as a person sees it, with where they turn to it.
pub(super) fn shown(
    name: &str,
    kind: mykey_platform::RelyingPartyKind,
    profile: Option<&mykey_platform::RelyingPartyProfile>,
) -> RelyingPartyShown {
    RelyingPartyShown {
        name: name.to_owned(),
        kind: kind.as_str().to_owned(),
        contact: profile.map(|p| p.contact.clone()),
        privacy_policy_url: profile.map(|p| p.privacy_policy_url.clone()),
        terms_url: profile.map(|p| p.terms_url.clone()),
    }
}

/// A consent as recorded.
pub(super) fn consent_recorded(c: &mykey_platform::Consent) -> ConsentRecorded {
    ConsentRecorded {
        items: c.items.clone(),
        terms_version: c.terms_version.clone(),
        given_at: rfc3339(c.given_at),
    }
}

#[utoipa::path(
    get,
    path = "/v1/me/service-ids",
    operation_id = "me_service_ids",
    tag = "me",
    summary = "The person's active Service IDs with the consent each was made under",
    responses(
        (status = 200, description = "OK", body = mykey_api::me::ServiceIds, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn service_ids(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let service_ids = p.my_links(&s).await?.iter().map(link_json).collect();
    Ok(axum::Json(ServiceIds { service_ids }))
}

#[utoipa::path(
    delete,
    path = "/v1/me/service-ids/{id}",
    operation_id = "me_withdraw",
    tag = "me",
    summary = "Withdraw the consent: the link ends at once; both are logged",
    params(
        ("id" = i64, Path, description = "The Service ID's id from GET /v1/me/service-ids")
    ),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn withdraw(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: mykey_platform::LinkId = id
        .parse()
        .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::ServiceId))?;
    p.withdraw_link(&s, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A PPID service as the person sees it: their PPID and their latest consent.
pub(super) fn ppid_service_json(s: &PersonPpidService) -> PersonPpidServiceBody {
    PersonPpidServiceBody {
        id: s.id.get(),
        name: s.name.clone(),
        relying_party: shown(
            &s.relying_party,
            s.relying_party_kind,
            s.relying_party_profile.as_ref(),
        ),
        ppid: s.ppid.map(|(p, _)| p.to_string()),
        issued_at: s.ppid.map(|(_, t)| rfc3339(t)),
        consent: s
            .consent
            .as_ref()
            .map(|(c, withdrawn)| PpidConsentRecorded {
                items: c.items.clone(),
                terms_version: c.terms_version.clone(),
                given_at: rfc3339(c.given_at),
                withdrawn_at: withdrawn.map(rfc3339),
            }),
    }
}

#[utoipa::path(
    get,
    path = "/v1/me/ppid-services",
    operation_id = "me_ppid_services",
    tag = "me",
    summary = "The person's PPID services with their PPID and latest consent",
    responses(
        (status = 200, description = "OK", body = mykey_api::me::PersonPpidServices, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn ppid_services(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let ppid_services = p
        .my_ppid_services(&s)
        .await?
        .iter()
        .map(ppid_service_json)
        .collect();
    Ok(axum::Json(PersonPpidServices { ppid_services }))
}

#[utoipa::path(
    delete,
    path = "/v1/me/ppid-services/{id}",
    operation_id = "me_withdraw_ppid",
    tag = "me",
    summary = "Withdraw the consent: further authentications need a new one (the PPID stays the same); logged",
    params(
        ("id" = i64, Path, description = "The PPID service's ID from GET /v1/me/ppid-services")
    ),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn withdraw_ppid(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = super::ppid_services::service_id(&id)?;
    p.withdraw_ppid_consent(&s, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
