//! Terms versions (Terms Art 3, 12): `GET /v1/terms` for anyone, `POST /v1/ops/terms` for
//! operators (who take the [`Operator`] first).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_api::terms::{TermsPublication, TermsVersion as TermsVersionBody, TermsVersions};
use mykey_platform::{NewTerms, Platform, TermsVersion};

use super::operators::{Operator, duty};
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/terms", get(list))
        .route("/v1/ops/terms", post(publish))
}

/// A moment from RFC 3339 text.
pub(super) fn parse_rfc3339(s: &str) -> Result<mykey_pki::UnixTime, ApiError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| u64::try_from(t.unix_timestamp()).ok())
        .map(mykey_pki::UnixTime::from_secs)
        .ok_or_else(|| ApiError::InvalidRequest(format!("{s:?} is not an RFC 3339 time")))
}

/// The reason of an urgent announcement (`urgent` with a `reason`), which only an urgent one
/// gives; `what` is the thing announced, for the refusal's words.
pub(super) fn urgent_reason(
    urgent: bool,
    reason: Option<String>,
    what: &str,
) -> Result<Option<String>, ApiError> {
    match (urgent, reason) {
        (true, Some(r)) => Ok(Some(r)),
        (true, None) => Err(ApiError::InvalidRequest(format!(
            "an urgent {what} needs a \"reason\""
        ))),
        (false, Some(_)) => Err(ApiError::InvalidRequest(format!(
            "\"reason\" is only for an urgent {what} (\"urgent\": true)"
        ))),
        (false, None) => Ok(None),
    }
}

fn terms_json(t: &TermsVersion, in_force: Option<&str>) -> TermsVersionBody {
    TermsVersionBody {
        version: t.version.clone(),
        effective_at: rfc3339(t.effective_at),
        text_url: t.text_url.clone(),
        summary: t.summary.clone(),
        published_at: rfc3339(t.published_at),
        urgent: t.urgent_reason.is_some(),
        urgent_reason: t.urgent_reason.clone(),
        in_force: in_force == Some(t.version.as_str()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/terms",
    operation_id = "terms_list",
    tag = "terms",
    summary = "Every published terms version and the one in force now (Art 3, 12)",
    responses(
        (status = 200, description = "OK", body = mykey_api::terms::TermsVersions, content_type = "application/json")
    )
)]
async fn list(State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    let (all, in_force) = p.terms().await?;
    let versions = all
        .iter()
        .map(|t| terms_json(t, in_force.as_deref()))
        .collect();
    Ok(axum::Json(TermsVersions { in_force, versions }))
}

#[utoipa::path(
    post,
    path = "/v1/ops/terms",
    operation_id = "terms_publish",
    tag = "ops",
    summary = "Publish a terms version: effective_at at least 7 days ahead (Art 12.2; 422 terms-notice-too-short), unless urgent with a reason (recorded; then not before now); a taken name or moment is 409 terms-version-exists",
    request_body(content = mykey_api::terms::TermsPublication, content_type = "application/json"),
    responses(
        (status = 201, description = "Published", body = mykey_api::terms::TermsVersion, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn publish(
    _: Operator<duty::Terms>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<TermsPublication>,
) -> Result<impl IntoResponse, ApiError> {
    let urgent_reason = urgent_reason(req.urgent, req.reason, "change")?;
    let t = p
        .publish_terms(NewTerms {
            version: req.version,
            effective_at: parse_rfc3339(&req.effective_at)?,
            text_url: req.text_url,
            summary: req.summary,
            urgent_reason,
        })
        .await?;
    let (_, in_force) = p.terms().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(terms_json(&t, in_force.as_deref())),
    ))
}
