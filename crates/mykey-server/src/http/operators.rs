//! Who may use `/v1/ops`, and the record of what they did (docs/architecture.md §9).
//!
//! Every operator handler takes an [`Operator`] typed by its duty: the extractor signs the
//! operator in (their card's session, or the bootstrap token until the first administrator
//! exists) and refuses a role the duty is not given to — reading for `GET` (and `HEAD`),
//! changing for anything else — so no handler can forget to check. [`record_acts`] then appends every
//! request of a signed-in operator to the operator log, refused ones too: who, which role,
//! what (method and route), on what (the path), from where, the answer, and what the handler
//! noted (a suspension's reason).
//!
//! ```text
//! GET|POST /v1/ops/operators · DELETE /v1/ops/operators/{id}      accounts     (administrator)
//! GET    /v1/ops/operator-log · /v1/ops/operator-log/verify      the chain    (auditor)
//! GET    /v1/ops/people/{my_key_id} · …/log                      inquiries    (help desk)
//! POST   /v1/ops/people/{my_key_id}/suspension|resumption        Art 8.2      (help desk)
//! POST   /v1/ops/people/{my_key_id}/my-key-id/suspension|resumption           (help desk)
//! POST   /v1/ops/people/{my_key_id}/point-forfeiture  Art 27.1.2        (point secretariat)
//! ```

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mykey_api::me::LogPage;
use mykey_api::operators::{
    OperatorAccount as AccountBody, OperatorAccounts, OperatorLog, OperatorLogPage,
    OperatorRegistration, OperatorRole as RoleBody, PersonRecord, Reason,
};
use mykey_platform::{
    Access, Duty, OperatorAccount, OperatorId, OperatorRole, Platform, PlatformError, Suspendable,
};
use serde_json::{Value, json};

use super::{ApiError, JsonBody, rfc3339};

/// The duty a handler serves: [`Operator`]'s type parameter.
pub(crate) trait OperatorDuty {
    /// Which.
    const DUTY: Duty;
}

macro_rules! duties {
    ($($name:ident),*) => {
        /// Markers of the duties, one per [`Duty`].
        pub(crate) mod duty {
            $(
                #[derive(Debug)]
                pub(crate) struct $name;
                impl super::OperatorDuty for $name {
                    const DUTY: mykey_platform::Duty = mykey_platform::Duty::$name;
                }
            )*
        }
    };
}
duties!(
    RelyingParties,
    Terms,
    Operators,
    PointProgramme,
    People,
    Reports,
    OperatorLog,
    Maintenance
);

/// What [`record_acts`] writes down of one request: filled by the extractor and the handler.
#[derive(Debug, Default)]
struct Act {
    operator: Option<mykey_platform::Operator>,
    route: Option<String>,
    notes: serde_json::Map<String, Value>,
}

#[derive(Clone, Debug, Default)]
struct ActSlot(Arc<parking_lot::Mutex<Act>>);

/// A signed-in operator whose role reaches the duty `D`.
#[derive(Debug)]
pub(crate) struct Operator<D> {
    pub(crate) who: mykey_platform::Operator,
    slot: Option<ActSlot>,
    duty: PhantomData<D>,
}

impl<D> Operator<D> {
    /// Adds `key: value` to the operator log's record of this act.
    pub(crate) fn note(&self, key: &str, value: impl Into<Value>) {
        if let Some(slot) = &self.slot {
            slot.0.lock().notes.insert(key.to_owned(), value.into());
        }
    }
}

impl<D: OperatorDuty + Send> FromRequestParts<Arc<Platform>> for Operator<D> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, ApiError> {
        let who = platform
            .authenticate_operator(super::bearer(parts).unwrap_or(""))
            .await?;
        let slot = parts.extensions.get::<ActSlot>().cloned();
        if let Some(slot) = &slot {
            let mut act = slot.0.lock();
            act.operator = Some(who.clone());
            act.route = parts
                .extensions
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_owned());
        }
        let access = if parts.method == Method::GET || parts.method == Method::HEAD {
            Access::Read
        } else {
            Access::Change
        };
        who.may(D::DUTY, access)?;
        Ok(Operator {
            who,
            slot,
            duty: PhantomData,
        })
    }
}

/// Appends each request a signed-in operator made under `/v1/ops` to the operator log, with
/// its answer. The request and its record run in a task of their own, so that a client who
/// hangs up cannot leave a done act unrecorded (the connection's future is dropped; the task
/// is not). A request whose record cannot be written is answered 500 (the act may have been
/// done: the operator must look before trying again), never silently unrecorded.
pub(crate) async fn record_acts(
    State(p): State<Arc<Platform>>,
    mut req: Request,
    next: Next,
) -> Response {
    if !req.uri().path().starts_with("/v1/ops/") {
        return next.run(req).await;
    }
    let slot = ActSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = req.method().clone();
    let target = req.uri().path().to_owned();
    let from = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string());
    let task = tokio::spawn(async move {
        let response = next.run(req).await;
        let act = std::mem::take(&mut *slot.0.lock());
        let Some(operator) = act.operator else {
            return response;
        };
        let mut detail = operator.who();
        detail["target"] = json!(target);
        detail["from"] = json!(from);
        detail["status"] = json!(response.status().as_u16());
        for (k, v) in act.notes {
            detail[k] = v;
        }
        let kind = format!("{method} {}", act.route.as_deref().unwrap_or(&target));
        match p.record_operator_act(&kind, &detail).await {
            Ok(_) => response,
            Err(e) => {
                tracing::error!(error = %e, act = %kind, "an operator act could not be recorded");
                ApiError::Platform(PlatformError::Internal(mykey_platform::Internal(
                    "the operator log could not be written",
                )))
                .into_response()
            }
        }
    });
    match task.await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "an operator request's task failed");
            ApiError::Platform(PlatformError::Internal(mykey_platform::Internal(
                "the operator request failed",
            )))
            .into_response()
        }
    }
}

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/ops/operators", get(list).post(add))
        .route("/v1/ops/operators/{id}", axum::routing::delete(end))
        .route("/v1/ops/operator-log", get(log))
        .route("/v1/ops/operator-log/verify", get(verify))
        .route("/v1/ops/people/{my_key_id}", get(person))
        .route("/v1/ops/people/{my_key_id}/log", get(person_log))
        .route(
            "/v1/ops/people/{my_key_id}/suspension",
            post(suspend_person),
        )
        .route("/v1/ops/people/{my_key_id}/resumption", post(resume_person))
        .route(
            "/v1/ops/people/{my_key_id}/my-key-id/suspension",
            post(suspend_my_key_id),
        )
        .route(
            "/v1/ops/people/{my_key_id}/my-key-id/resumption",
            post(resume_my_key_id),
        )
        .route(
            "/v1/ops/people/{my_key_id}/point-forfeiture",
            post(forfeit_points),
        )
}

fn role_body(r: OperatorRole) -> RoleBody {
    match r {
        OperatorRole::Administrator => RoleBody::Administrator,
        OperatorRole::PointSecretariat => RoleBody::PointSecretariat,
        OperatorRole::HelpDesk => RoleBody::HelpDesk,
        OperatorRole::Auditor => RoleBody::Auditor,
    }
}

fn account_json(a: &OperatorAccount) -> AccountBody {
    AccountBody {
        id: a.id.get(),
        name: a.name.clone(),
        role: role_body(a.role),
        created_at: rfc3339(a.created_at),
        ended_at: a.ended_at.map(rfc3339),
    }
}

#[utoipa::path(
    get,
    path = "/v1/ops/operators",
    operation_id = "operators_list",
    tag = "operators",
    summary = "Every operator account, ended ones too (administrator, auditor)",
    responses(
        (status = 200, description = "OK", body = mykey_api::operators::OperatorAccounts, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn list(
    _: Operator<duty::Operators>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let operators = p.operators().await?.iter().map(account_json).collect();
    Ok(axum::Json(OperatorAccounts { operators }))
}

#[utoipa::path(
    post,
    path = "/v1/ops/operators",
    operation_id = "operators_add",
    tag = "operators",
    summary = "A new operator account, bound to the person holding the My Key ID: they sign in with their card (administrator)",
    request_body(content = mykey_api::operators::OperatorRegistration, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = mykey_api::operators::OperatorAccount, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457): no person has that My Key ID", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457): the person already has an operator account", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn add(
    op: Operator<duty::Operators>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<OperatorRegistration>,
) -> Result<impl IntoResponse, ApiError> {
    let role = match req.role {
        RoleBody::Administrator => OperatorRole::Administrator,
        RoleBody::PointSecretariat => OperatorRole::PointSecretariat,
        RoleBody::HelpDesk => OperatorRole::HelpDesk,
        RoleBody::Auditor => OperatorRole::Auditor,
    };
    let a = p.add_operator(&req.my_key_id, &req.name, role).await?;
    op.note("account", a.id.get());
    op.note("account_role", role.as_str());
    Ok((StatusCode::CREATED, axum::Json(account_json(&a))))
}

#[utoipa::path(
    delete,
    path = "/v1/ops/operators/{id}",
    operation_id = "operators_end",
    tag = "operators",
    summary = "Ends an operator account; never the last administrator's (administrator)",
    params(
        ("id" = i64, Path, description = "The account's ID")
    ),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457): the last administrator account", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn end(
    _: Operator<duty::Operators>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = id
        .parse()
        .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::Operator))?;
    p.end_operator(OperatorId::new(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/ops/operator-log",
    operation_id = "operators_log",
    tag = "operators",
    summary = "The operator log, oldest first: every request of a signed-in operator under /v1/ops and its answer (auditor)",
    params(
        mykey_api::operators::OperatorLogPage
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::operators::OperatorLog, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn log(
    _: Operator<duty::OperatorLog>,
    State(p): State<Arc<Platform>>,
    q: Result<Query<OperatorLogPage>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > mykey_platform::MAX_OPERATOR_LOG_PAGE {
        return Err(ApiError::InvalidRequest(format!(
            "limit is 1 to {}",
            mykey_platform::MAX_OPERATOR_LOG_PAGE
        )));
    }
    let entries = p.operator_log(q.after.unwrap_or(0), limit).await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(axum::Json(OperatorLog {
        entries: entries.iter().map(super::me::log_json).collect(),
        next,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/ops/operator-log/verify",
    operation_id = "operators_log_verify",
    tag = "operators",
    summary = "Checks the whole operator log's chain (auditor)",
    responses(
        (status = 200, description = "OK", body = mykey_api::me::LogVerdict, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn verify(
    _: Operator<duty::OperatorLog>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let (entries, verdict) = p.verify_operator_log().await?;
    Ok(axum::Json(mykey_api::me::LogVerdict {
        valid: verdict.is_ok(),
        entries: entries as usize,
        head: verdict.as_ref().ok().map(ToString::to_string),
        error: verdict.err().map(|e| e.to_string()),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/ops/people/{my_key_id}",
    operation_id = "operators_person",
    tag = "operators",
    summary = "A person found by a My Key ID they hold or held: their My Key ID, suspensions, Service IDs and PPID services; recorded in their log (help desk, auditor)",
    params(
        ("my_key_id" = String, Path, description = "A My Key ID the person holds or held")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::operators::PersonRecord, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn person(
    op: Operator<duty::People>,
    State(p): State<Arc<Platform>>,
    Path(my_key_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let person = looked_up(&op, &p, &my_key_id).await?;
    p.note_operator_read(&op.who, person, "overview").await?;
    let store = p.store();
    let active = store.my_key_id(person).await.map_err(PlatformError::from)?;
    let suspended = p.suspensions(person).await?;
    let links = store
        .person_links(person)
        .await
        .map_err(PlatformError::from)?;
    let ppids = store
        .person_ppid_services(person)
        .await
        .map_err(PlatformError::from)?;
    Ok(axum::Json(PersonRecord {
        my_key_id: active.map(|a| a.id.as_str().to_owned()),
        suspended_at: suspended.person.map(rfc3339),
        my_key_id_suspended_at: suspended.my_key_id.map(rfc3339),
        service_ids: links.iter().map(super::me::link_json).collect(),
        ppid_services: ppids.iter().map(super::me::ppid_service_json).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/ops/people/{my_key_id}/log",
    operation_id = "operators_person_log",
    tag = "operators",
    summary = "A page of the person's log, newest first unless `after` is given; recorded in their log (help desk, auditor)",
    params(
        ("my_key_id" = String, Path, description = "A My Key ID the person holds or held"),
        mykey_api::me::LogPage
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::me::Log, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn person_log(
    op: Operator<duty::People>,
    State(p): State<Arc<Platform>>,
    Path(my_key_id): Path<String>,
    q: Result<Query<LogPage>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let limit = super::me::page_limit(&q)?;
    let person = looked_up(&op, &p, &my_key_id).await?;
    p.note_operator_read(&op.who, person, "log").await?;
    let (entries, next) = p.person_log_page(person, q.after, false, limit).await?;
    Ok(axum::Json(super::me::log_page_json(&entries, next)))
}

/// The person a My Key ID names, noted in the operator log as the My Key ID's canonical text
/// (whatever spelling the path used).
async fn looked_up<D>(
    op: &Operator<D>,
    p: &Platform,
    my_key_id: &str,
) -> Result<mykey_platform::PersonId, ApiError> {
    let person = p.person_by_my_key_id(my_key_id).await?;
    if let Ok(id) = my_key_id.parse::<mykey_platform::MyKeyId>() {
        op.note("my_key_id", id.as_str());
    }
    Ok(person)
}

async fn suspension(
    op: Operator<duty::People>,
    State(p): State<Arc<Platform>>,
    Path(my_key_id): Path<String>,
    JsonBody(r): JsonBody<Reason>,
    what: Suspendable,
    suspend: bool,
) -> Result<StatusCode, ApiError> {
    let person = looked_up(&op, &p, &my_key_id).await?;
    let reason = mykey_platform::reason(&r.reason)?;
    op.note("reason", reason.clone());
    p.set_suspension(&op.who, person, what, suspend, &reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/ops/people/{my_key_id}/point-forfeiture",
    operation_id = "operators_forfeit_points",
    tag = "operators",
    summary = "Forfeits the person's card-point rights for breaking the Terms (Art 27.1.2): the right to apply in every round not closed, applications in flight (their providers told), points instructed and not granted (point secretariat)",
    params(
        ("my_key_id" = String, Path, description = "A My Key ID the person holds or held")
    ),
    request_body(content = mykey_api::operators::Reason, content_type = "application/json"),
    responses(
        (status = 204, description = "Forfeited; in the person's log and the operator log"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn forfeit_points(
    op: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
    Path(my_key_id): Path<String>,
    JsonBody(r): JsonBody<Reason>,
) -> Result<StatusCode, ApiError> {
    let person = looked_up(&op, &p, &my_key_id).await?;
    op.note("reason", mykey_platform::reason(&r.reason)?);
    p.forfeit_for_violation(person).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The four suspension handlers: one body, each with its OpenAPI entry.
macro_rules! suspension_route {
    ($fn:ident, $path:literal, $id:literal, $summary:literal, $what:expr, $suspend:literal) => {
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $id,
            tag = "operators",
            summary = $summary,
            params(
                ("my_key_id" = String, Path, description = "A My Key ID the person holds or held")
            ),
            request_body(content = mykey_api::operators::Reason, content_type = "application/json"),
            responses(
                (status = 204, description = "Done; recorded in the person's log and the operator log"),
                (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
                (status = 404, description = "Problem (RFC 9457): no such person, or no active My Key ID", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
                (status = 409, description = "Problem (RFC 9457): already so", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
                (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
                (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
            ),
            security(("operator" = []))
        )]
        pub(crate) async fn $fn(
            op: Operator<duty::People>,
            p: State<Arc<Platform>>,
            id: Path<String>,
            r: JsonBody<Reason>,
        ) -> Result<StatusCode, ApiError> {
            suspension(op, p, id, r, $what, $suspend).await
        }
    };
}

suspension_route!(
    suspend_person,
    "/v1/ops/people/{my_key_id}/suspension",
    "operators_suspend_person",
    "Suspends the person's use of the system (Art 8.2): every card use refused, sessions and access tokens ended (help desk)",
    Suspendable::Person,
    true
);
suspension_route!(
    resume_person,
    "/v1/ops/people/{my_key_id}/resumption",
    "operators_resume_person",
    "Resumes the person's use of the system (help desk)",
    Suspendable::Person,
    false
);
suspension_route!(
    suspend_my_key_id,
    "/v1/ops/people/{my_key_id}/my-key-id/suspension",
    "operators_suspend_my_key_id",
    "Suspends the use of the person's active My Key ID: no link by it, no change of it (help desk)",
    Suspendable::MyKeyId,
    true
);
suspension_route!(
    resume_my_key_id,
    "/v1/ops/people/{my_key_id}/my-key-id/resumption",
    "operators_resume_my_key_id",
    "Resumes the use of the person's My Key ID (help desk)",
    Suspendable::MyKeyId,
    false
);
