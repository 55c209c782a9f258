//! Maintenance windows (Terms Art 9.3): `GET /v1/maintenance-windows` for anyone (relying
//! parties, the portal), `POST /v1/ops/maintenance-windows` and `…/{id}/ending` for
//! administrators; the end of the system (Art 10): `GET /v1/termination` for anyone,
//! `POST /v1/ops/termination` and `…/withdrawal` for administrators; and [`gate`], which answers a request for a function under maintenance
//! with `503` and `Retry-After` — a problem document (`maintenance`) on the JSON API, an OAuth
//! error (`temporarily_unavailable`) at the token and userinfo endpoints, the failure page in the
//! person's language on the pages — before its handler runs.
//!
//! Every route belongs to one [`Function`] or to what maintenance never takes down
//! ([`Gate::Never`]: the operator API, health, the terms and these announcements, discovery,
//! the keys, the document, the static files); [`gate_of`] says which, and a test holds every
//! routed operation to it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mykey_api::maintenance::{
    MaintenanceAnnouncement, MaintenanceWindow as WindowBody, MaintenanceWindows,
    Notice as NoticeBody, Termination as TerminationBody, TerminationAnnouncement,
    TerminationState,
};
use mykey_platform::{
    Function, MaintenanceWindow, NewMaintenance, NewTermination, Notice, Platform, Termination,
};

use super::catalogue::Lang;
use super::operators::{Operator, duty};
use super::terms::parse_rfc3339;
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/maintenance-windows", get(list))
        .route("/v1/ops/maintenance-windows", post(announce))
        .route("/v1/ops/maintenance-windows/{id}/ending", post(end))
        .route("/v1/termination", get(termination))
        .route("/v1/ops/termination", post(announce_termination))
        .route("/v1/ops/termination/withdrawal", post(withdraw_termination))
}

/// What maintenance does to a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Never taken down.
    Never,
    /// Taken down with its function.
    Function(Function),
    /// Partly its function's, which the handler checks for that part: the token endpoint's
    /// codes (not its client credentials, which every function's relying parties use).
    Partly(Function),
}

/// The gate of a route as declared (`/v1/rp/service-ids/{customer_id}`); `None` for a route
/// this table does not know, which the test of the router forbids.
pub(crate) fn gate_of(route: &str) -> Option<Gate> {
    use Function as F;
    let r = route;
    let starts = |p: &str| r.starts_with(p);
    let never = [
        "/v1/ops/",
        "/health",
        "/static/",
        "/.well-known/",
        "/metrics",
    ];
    if never.iter().any(|p| starts(p))
        || matches!(
            r,
            "/v1/terms"
                | "/v1/maintenance-windows"
                | "/v1/termination"
                | "/v1/openapi.json"
                | "/oidc/jwks"
        )
    {
        return Some(Gate::Never);
    }
    if r == "/oidc/token" {
        return Some(Gate::Partly(F::Oidc));
    }
    let f = if starts("/v1/auth/") {
        F::CardLogin
    } else if starts("/oidc/") || starts("/v1/authorizations/") {
        F::Oidc
    } else if starts("/v1/link-requests/")
        || starts("/v1/rp/service-id")
        || starts("/v1/service-id-logins/")
        || starts("/v1/me/service-ids")
        || starts("/portal/service-ids/")
    {
        F::ServiceIds
    } else if starts("/v1/rp/ppid-services")
        || starts("/v1/ppid-services/")
        || starts("/v1/pinless-requests/")
        || starts("/v1/me/ppid-services")
        || starts("/portal/ppid-services/")
    {
        F::Ppids
    } else if starts("/v1/rp/point-")
        || starts("/v1/rp/payment-services")
        || starts("/v1/me/point-applications")
        || r == "/v1/point-programme"
        || starts("/portal/point")
    {
        F::Points
    } else if matches!(r, "/v1/rp/events" | "/v1/rp/stream") {
        F::Events
    } else if r == "/v1/me" || starts("/v1/me/") || r == "/portal" || starts("/portal/") {
        F::Portal
    } else if r == "/v1/rp/profile" {
        F::RelyingParties
    } else {
        return None;
    };
    Some(Gate::Function(f))
}

/// Refuses a request for a function under maintenance (see the module's text); lets every
/// other request through. Asking costs a request a look at the windows held in memory.
pub(crate) async fn gate(State(p): State<Arc<Platform>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str());
    let Some(Gate::Function(f)) = route.and_then(gate_of) else {
        return next.run(req).await;
    };
    let Err(e) = p.under_maintenance(f).await else {
        return next.run(req).await;
    };
    let route = route.unwrap_or_default();
    let mut r = if route.starts_with("/v1/") {
        ApiError::Platform(e).into_response()
    } else {
        let retry = e.retry_after();
        let mut r = if route == "/oidc/userinfo" {
            super::oauth::OAuthRefusal::of(&e).token_response(false)
        } else {
            super::oidc::failure::failure_page(Lang::pick(None, req.headers()), &e)
        };
        if let Some(secs) = retry {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A window as the API answers it; its urgent reason only to operators (`to_operator`): it is
/// for the record, not for the public.
fn window_json(w: &MaintenanceWindow, now: mykey_pki::UnixTime, to_operator: bool) -> WindowBody {
    WindowBody {
        id: w.id,
        starts_at: rfc3339(w.starts_at),
        ends_at: rfc3339(w.end()),
        functions: w.functions.iter().map(|f| f.as_str().to_owned()).collect(),
        notice: NoticeBody {
            en: w.notice.en.clone(),
            ja: w.notice.ja.clone(),
        },
        announced_at: rfc3339(w.announced_at),
        urgent: w.urgent_reason.is_some(),
        urgent_reason: w.urgent_reason.clone().filter(|_| to_operator),
        ended_early: w.ended_at.is_some(),
        in_effect: w.in_effect(now),
    }
}

#[utoipa::path(
    get,
    path = "/v1/maintenance-windows",
    operation_id = "maintenance_list",
    tag = "maintenance",
    summary = "The maintenance windows in effect or coming, soonest first (Art 9.3)",
    responses(
        (status = 200, description = "OK", body = mykey_api::maintenance::MaintenanceWindows, content_type = "application/json")
    )
)]
async fn list(State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    let windows = p.maintenance_windows().await?;
    let now = p.now();
    Ok(axum::Json(MaintenanceWindows {
        windows: windows.iter().map(|w| window_json(w, now, false)).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/v1/ops/maintenance-windows",
    operation_id = "maintenance_announce",
    tag = "ops",
    summary = "Announce a maintenance window: starts_at at least 24 hours ahead (Art 9.3; 422 maintenance-notice-too-short), or urgent with a reason and no starts_at (starts at once); ends within 7 days; every approved relying party gets a maintenance-announced event",
    request_body(content = mykey_api::maintenance::MaintenanceAnnouncement, content_type = "application/json"),
    responses(
        (status = 201, description = "Announced", body = mykey_api::maintenance::MaintenanceWindow, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn announce(
    op: Operator<duty::Maintenance>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<MaintenanceAnnouncement>,
) -> Result<impl IntoResponse, ApiError> {
    let urgent_reason = super::terms::urgent_reason(req.urgent, req.reason, "window")?;
    let functions = req
        .functions
        .iter()
        .map(|f| {
            Function::parse(f).ok_or_else(|| {
                ApiError::InvalidRequest(format!(
                    "{f:?} is not a function; the functions are {}",
                    Function::ALL.map(Function::as_str).join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let starts_at = req.starts_at.as_deref().map(parse_rfc3339).transpose()?;
    let w = p
        .announce_maintenance(NewMaintenance {
            starts_at,
            ends_at: parse_rfc3339(&req.ends_at)?,
            functions,
            notice: Notice::new(&req.notice.en, &req.notice.ja)?,
            urgent_reason,
        })
        .await?;
    op.note("maintenance_window", w.id);
    if let Some(r) = &w.urgent_reason {
        op.note("reason", r.as_str());
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(window_json(&w, p.now(), true)),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/ops/maintenance-windows/{id}/ending",
    operation_id = "maintenance_end",
    tag = "ops",
    summary = "End a maintenance window now, or call off one not yet begun; every approved relying party gets a maintenance-ended event (404 maintenance-window-unknown when none has the ID or it is over)",
    params(("id" = i64, Path, description = "The window's ID")),
    responses(
        (status = 200, description = "Ended", body = mykey_api::maintenance::MaintenanceWindow, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn end(
    op: Operator<duty::Maintenance>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    op.note("maintenance_window", id);
    let w = p.end_maintenance(id).await?;
    Ok(axum::Json(window_json(&w, p.now(), true)))
}

/// What the portal and the authorize page show of a window.
pub(crate) struct Shown {
    pub(crate) starts: super::catalogue::words::Moment,
    pub(crate) ends: super::catalogue::words::Moment,
    pub(crate) in_effect: bool,
    pub(crate) notice: String,
}

/// What they show of the end of the system.
pub(crate) struct ShownEnd {
    pub(crate) at: super::catalogue::words::Moment,
    pub(crate) terminated: bool,
    pub(crate) notice: String,
}

/// The announcements a page shows: maintenance windows in effect or coming (Art 9.3), and the
/// end of the system (Art 10).
#[derive(Default)]
pub(crate) struct Notices {
    pub(crate) maintenance: Vec<Shown>,
    pub(crate) termination: Option<ShownEnd>,
}

fn in_lang(n: &Notice, lang: Lang) -> String {
    match lang {
        Lang::Ja => n.ja.clone(),
        Lang::En => n.en.clone(),
    }
}

/// The announcements for a page in `lang`, as held in memory; none that cannot be read (the
/// page is shown without them rather than refused).
pub(crate) async fn notices(p: &Platform, lang: Lang) -> Notices {
    use super::catalogue::words::Moment;
    let now = p.now();
    Notices {
        maintenance: p
            .announced_maintenance()
            .await
            .iter()
            .map(|w| Shown {
                starts: Moment::new(lang, w.starts_at),
                ends: Moment::new(lang, w.end()),
                in_effect: w.in_effect(now),
                notice: in_lang(&w.notice, lang),
            })
            .collect(),
        termination: p.announced_termination().await.map(|t| ShownEnd {
            at: Moment::new(lang, t.terminates_at),
            terminated: t.terminates_at <= now,
            notice: in_lang(&t.notice, lang),
        }),
    }
}

/// The termination as the API answers it; its urgent reason only to operators.
fn termination_json(
    t: &Termination,
    now: mykey_pki::UnixTime,
    to_operator: bool,
) -> TerminationBody {
    TerminationBody {
        id: t.id,
        terminates_at: rfc3339(t.terminates_at),
        notice: NoticeBody {
            en: t.notice.en.clone(),
            ja: t.notice.ja.clone(),
        },
        announced_at: rfc3339(t.announced_at),
        urgent: t.urgent_reason.is_some(),
        urgent_reason: t.urgent_reason.clone().filter(|_| to_operator),
        terminated: t.terminates_at <= now,
        carried_out_at: t.carried_out_at.map(rfc3339),
    }
}

#[utoipa::path(
    get,
    path = "/v1/termination",
    operation_id = "termination_show",
    tag = "maintenance",
    summary = "The announced end of the system, if there is one (Art 10)",
    responses(
        (status = 200, description = "OK", body = mykey_api::maintenance::TerminationState, content_type = "application/json")
    )
)]
async fn termination(State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    let t = p.termination().await?;
    let now = p.now();
    Ok(axum::Json(TerminationState {
        termination: t.as_ref().map(|t| termination_json(t, now, false)),
    }))
}

#[utoipa::path(
    post,
    path = "/v1/ops/termination",
    operation_id = "termination_announce",
    tag = "ops",
    summary = "Announce the end of the system: terminates_at at least three months (92 days) ahead (Art 10; 422 termination-notice-too-short), unless urgent with a reason (then not before now); one at a time (409 termination-announced); every approved relying party gets a termination-announced event. On the date new applications stop (410 system-terminated) and the card-point rights are forfeited (Art 27.1.3)",
    request_body(content = mykey_api::maintenance::TerminationAnnouncement, content_type = "application/json"),
    responses(
        (status = 201, description = "Announced", body = mykey_api::maintenance::Termination, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn announce_termination(
    op: Operator<duty::Maintenance>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<TerminationAnnouncement>,
) -> Result<impl IntoResponse, ApiError> {
    let urgent_reason = super::terms::urgent_reason(req.urgent, req.reason, "end")?;
    let t = p
        .announce_termination(NewTermination {
            terminates_at: parse_rfc3339(&req.terminates_at)?,
            notice: Notice::new(&req.notice.en, &req.notice.ja)?,
            urgent_reason,
        })
        .await?;
    op.note("termination", t.id);
    if let Some(r) = &t.urgent_reason {
        op.note("reason", r.as_str());
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(termination_json(&t, p.now(), true)),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/ops/termination/withdrawal",
    operation_id = "termination_withdraw",
    tag = "ops",
    summary = "Withdraw the announced end of the system, before its date (404 termination-unknown when none is announced; 410 system-terminated once the date has come); every approved relying party gets a termination-withdrawn event",
    responses(
        (status = 200, description = "Withdrawn", body = mykey_api::maintenance::Termination, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn withdraw_termination(
    op: Operator<duty::Maintenance>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let t = p.withdraw_termination().await?;
    op.note("termination", t.id);
    Ok(axum::Json(termination_json(&t, p.now(), true)))
}

/// The refusal of a function under maintenance, for [`PlatformError`]'s answer on the JSON API.
pub(crate) fn detail(m: &mykey_platform::Maintenance) -> String {
    format!(
        "{} is under maintenance until {} (Art 9.3): {}",
        m.function.as_str(),
        rfc3339(m.until),
        m.notice.en
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation the document describes, and every page, belongs to a function or is
    /// never taken down: a new route must be placed here before it is served.
    #[test]
    fn every_route_has_a_gate() {
        let doc =
            serde_json::to_value(<super::super::openapi::ApiDoc as utoipa::OpenApi>::openapi())
                .expect("the document serialises");
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() > 50, "{} paths", paths.len());
        for (method, path) in super::super::openapi::APPLICATIONS {
            assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        }
        for path in paths.keys() {
            assert!(gate_of(path).is_some(), "{path} has no gate");
        }
        for page in [
            "/portal",
            "/portal/login",
            "/portal/login/status",
            "/portal/login/continue",
            "/portal/my-key-id",
            "/portal/log",
            "/portal/export",
            "/portal/logout",
        ] {
            assert_eq!(
                gate_of(page),
                Some(Gate::Function(Function::Portal)),
                "{page}"
            );
        }
        for (route, f) in [
            ("/portal/service-ids/{id}/withdrawal", Function::ServiceIds),
            ("/portal/ppid-services/{id}/withdrawal", Function::Ppids),
            ("/portal/points", Function::Points),
            ("/portal/point-applications/{id}/triggers", Function::Points),
            ("/v1/auth/challenges", Function::CardLogin),
            ("/v1/authorizations/{handle}/approval", Function::Oidc),
            ("/v1/me/service-ids/{id}", Function::ServiceIds),
            ("/v1/me/point-applications", Function::Points),
            ("/v1/me/my-key-id", Function::Portal),
            ("/v1/rp/stream", Function::Events),
            ("/v1/rp/profile", Function::RelyingParties),
        ] {
            assert_eq!(gate_of(route), Some(Gate::Function(f)), "{route}");
        }
        for never in [
            "/v1/ops/maintenance-windows",
            "/v1/ops/relying-parties/{id}/approval",
            "/health/ready",
            "/v1/terms",
            "/v1/maintenance-windows",
            "/oidc/jwks",
            "/.well-known/openid-configuration",
            "/static/mykey.css",
            "/v1/openapi.json",
        ] {
            assert_eq!(gate_of(never), Some(Gate::Never), "{never}");
        }
        assert_eq!(gate_of("/oidc/token"), Some(Gate::Partly(Function::Oidc)));
        assert_eq!(gate_of("/v1/unknown"), None);
    }
}
