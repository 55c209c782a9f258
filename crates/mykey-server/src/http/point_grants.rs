//! Card points granted (`mykey_platform` `points/grants.rs`): a payment provider's reports of
//! charges and purchases, its batches of grant instructions and their confirmation (`/v1/rp`),
//! and the point secretariat's statement of a round, as JSON and as CSV (`/v1/ops`).

use std::fmt::Write;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_api::points::{
    PointGrant, PointGrantBatch, PointGrants, PointGrantsQuery, PointStatement,
    PointTransactionIntake, PointTransactionReport, StatementLine,
};
use mykey_platform::{InvalidError, NewPointTransaction, Platform, PlatformError, PointRoundId};

use super::operators::{Operator, duty};
use super::rp::RelyingPartyClient;
use super::{ApiError, JsonBody, rfc3339};

const DEFAULT_PAGE: usize = 100;

/// Largest report of transactions: 1000 of them at up to about 250 bytes each.
pub(crate) const MAX_REPORT_BODY: usize = 256 * 1024;

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route(
            "/v1/rp/point-rounds/{id}/transactions",
            post(report).layer(axum::extract::DefaultBodyLimit::max(MAX_REPORT_BODY)),
        )
        .route("/v1/rp/point-rounds/{id}/grant-batches", post(instruct))
        .route("/v1/rp/point-grant-batches/{id}/grants", get(grants))
        .route(
            "/v1/rp/point-grant-batches/{id}/confirmation",
            post(confirm),
        )
        .route("/v1/ops/point-rounds/{id}/statement", get(statement))
        .route(
            "/v1/ops/point-rounds/{id}/statement.csv",
            get(statement_csv),
        )
}

/// A batch's ID from its 16 hexadecimal characters.
fn batch_id(s: &str) -> Result<i64, ApiError> {
    (s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| i64::from_str_radix(s, 16).ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::InvalidRequest("a batch's ID is 16 lower-case hexadecimal characters".into())
        })
}

fn batch_json(b: &mykey_platform::PointGrantBatch) -> PointGrantBatch {
    PointGrantBatch {
        id: format!("{:016x}", b.id),
        round: b.round.get(),
        grants: b.grants,
        points: b.points,
        ended_grants: b.ended_grants,
        ended_points: b.ended_points,
        created_at: rfc3339(b.created_at),
        confirmed_at: b.confirmed_at.map(rfc3339),
    }
}

/// An RFC 3339 time, as a transaction's `occurred_at`.
fn moment(index: usize, s: &str) -> Result<mykey_pki::UnixTime, ApiError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| u64::try_from(t.unix_timestamp()).ok())
        .map(mykey_pki::UnixTime::from_secs)
        .ok_or(ApiError::Platform(PlatformError::Invalid(
            InvalidError::PointTransaction {
                index,
                why: "occurred_at is an RFC 3339 time",
            },
        )))
}

#[utoipa::path(
    post,
    path = "/v1/rp/point-rounds/{id}/transactions",
    operation_id = "rp_point_transactions",
    tag = "points",
    summary = "A payment provider reports 1 to 1000 charges or purchases (a body of at most 256 KiB) of its validated applicants in a round, all or nothing; each counts for the round's rate of its amount, rounded down. A transaction ID it reported before, in any round, is the same transaction: not counted again (`repeated`). Refused with 422 invalid-point-transaction, naming the first offending one: an amount of 0 or over 10,000,000 yen, a time in the future, before the application or after the round closed, a settlement user ID none of its applications in the round has, or one whose application has ended. Purchases made while the round was open may be reported until 30 days after it closes; later: 409 point-reporting-ended. An unknown or draft round: 404.",
    params(("id" = i64, Path, description = "The round's ID")),
    request_body(content = mykey_api::points::PointTransactionReport, content_type = "application/json"),
    responses(
        (status = 200, description = "Taken", body = mykey_api::points::PointTransactionIntake, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn report(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PointTransactionReport>,
) -> Result<impl IntoResponse, ApiError> {
    let round = PointRoundId::new(super::points::number(&id, "a round's ID")?);
    let transactions = req
        .transactions
        .iter()
        .enumerate()
        .map(|(index, t)| {
            Ok(NewPointTransaction {
                settlement_user_id: t.settlement_user_id.parse().map_err(|_| {
                    PlatformError::Invalid(InvalidError::PointTransaction {
                        index,
                        why: "settlement_user_id is 1 to 128 printable ASCII characters",
                    })
                })?,
                transaction_id: t.transaction_id.clone(),
                amount: t.amount,
                occurred_at: moment(index, &t.occurred_at)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let intake = p
        .report_point_transactions(&rp, round, &transactions)
        .await?;
    Ok(axum::Json(PointTransactionIntake {
        accepted: intake.accepted,
        repeated: intake.repeated,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/rp/point-rounds/{id}/grant-batches",
    operation_id = "rp_point_grant_batch",
    tag = "points",
    summary = "The payment provider asks what to grant in a round: a new batch (a random ID) with, per validated application whose transactions were not yet counted, their points within what remains of the round's cap per person. No points due since the last batch (nothing new, or only shares of nothing, holders at the cap or ended applications): 409 point-grants-none-due, and no batch is kept; an unknown or draft round: 404; past 3 batches at once per round (10 per provider), one a minute: 429 quota-exceeded with Retry-After. Read its grants at GET /v1/rp/point-grant-batches/{id}/grants, confirm it when granted.",
    params(("id" = i64, Path, description = "The round's ID")),
    responses(
        (status = 201, description = "Made", body = mykey_api::points::PointGrantBatch, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn instruct(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let round = PointRoundId::new(super::points::number(&id, "a round's ID")?);
    let b = p.instruct_point_grants(&rp, round).await?;
    Ok((StatusCode::CREATED, axum::Json(batch_json(&b))))
}

#[utoipa::path(
    get,
    path = "/v1/rp/point-grant-batches/{id}/grants",
    operation_id = "rp_point_grants",
    tag = "points",
    summary = "A page of one of the provider's batches: each grant's settlement user ID, points and state. Another provider's batch is unknown (404).",
    params(("id" = String, Path, description = "The batch's ID"), PointGrantsQuery),
    responses(
        (status = 200, description = "OK", body = mykey_api::points::PointGrants, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn grants(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    query: Result<Query<PointGrantsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let batch = batch_id(&id)?;
    let Query(q) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let limit = q.limit.map_or(DEFAULT_PAGE, |l| l as usize);
    let after = q
        .after
        .as_deref()
        .map(|a| a.parse().map_err(PlatformError::from))
        .transpose()?;
    let page = p.point_grants(&rp, batch, after, limit).await?;
    let next = (page.len() == limit)
        .then(|| page.last().map(|g| g.application.to_string()))
        .flatten();
    Ok(axum::Json(PointGrants {
        grants: page
            .iter()
            .map(|g| PointGrant {
                application: g.application.to_string(),
                settlement_user_id: g.settlement_user_id.as_str().to_owned(),
                kind: g.kind.as_str().to_owned(),
                points: g.points,
                state: g.state.as_str().to_owned(),
                confirmed_at: g.confirmed_at.map(rfc3339),
            })
            .collect(),
        next,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/rp/point-grant-batches/{id}/confirmation",
    operation_id = "rp_point_grants_confirm",
    tag = "points",
    summary = "The provider confirms it granted a batch: its instructed grants become confirmed (those forfeited or withdrawn meanwhile stay so, and are not to be granted); each holder's log records theirs. Once (409 point-grant-batch-confirmed).",
    params(("id" = String, Path, description = "The batch's ID")),
    responses(
        (status = 200, description = "Confirmed", body = mykey_api::points::PointGrantBatch, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn confirm(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let batch = batch_id(&id)?;
    Ok(axum::Json(batch_json(
        &p.confirm_point_grants(&rp, batch).await?,
    )))
}

async fn lines(p: &Platform, id: &str) -> Result<(i64, Vec<StatementLine>), ApiError> {
    let round = super::points::number(id, "a round's ID")?;
    let lines = p
        .point_statement(PointRoundId::new(round))
        .await?
        .into_iter()
        .map(|l| StatementLine {
            provider_id: l.provider.get(),
            provider: l.provider_name,
            applications: l.applications,
            transactions: l.transactions,
            amount: l.amount,
            points_reported: l.points_reported,
            points_instructed: l.points_instructed,
            points_health_insurance: l.points_health_insurance,
            points_public_fund_account: l.points_public_fund_account,
            points_confirmed: l.points_confirmed,
            points_ended: l.points_ended,
            points_outstanding: l.points_outstanding,
        })
        .collect();
    Ok((round, lines))
}

#[utoipa::path(
    get,
    path = "/v1/ops/point-rounds/{id}/statement",
    operation_id = "ops_point_statement",
    tag = "ops",
    summary = "A round's statement for the point secretariat: per payment provider, its validated applications, the transactions it reported and their amounts, and the points reported, instructed (of which for health-insurance cards and public-fund accounts, Art 24, 25), confirmed, ended and outstanding, in yen (instructed = confirmed + ended + outstanding)",
    params(("id" = i64, Path, description = "The round's ID")),
    responses(
        (status = 200, description = "OK", body = mykey_api::points::PointStatement, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn statement(
    _: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (round, lines) = lines(&p, &id).await?;
    Ok(axum::Json(PointStatement { round, lines }))
}

/// A CSV field (RFC 4180): quoted, its quotes doubled; a leading `=`, `+`, `-` or `@` is
/// kept from a spreadsheet's formula reading by a leading apostrophe.
fn field(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

#[utoipa::path(
    get,
    path = "/v1/ops/point-rounds/{id}/statement.csv",
    operation_id = "ops_point_statement_csv",
    tag = "ops",
    summary = "The same statement as CSV (RFC 4180, UTF-8, a header row, CRLF line ends; the provider's name quoted)",
    params(("id" = i64, Path, description = "The round's ID")),
    responses(
        (status = 200, description = "OK", body = String, content_type = "text/csv"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn statement_csv(
    _: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (_, lines) = lines(&p, &id).await?;
    let mut csv = String::from(
        "provider_id,provider,applications,transactions,amount,points_reported,points_instructed,points_health_insurance,points_public_fund_account,points_confirmed,points_ended,points_outstanding\r\n",
    );
    for l in &lines {
        let _ = write!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            l.provider_id,
            field(&l.provider),
            l.applications,
            l.transactions,
            l.amount,
            l.points_reported,
            l.points_instructed,
            l.points_health_insurance,
            l.points_public_fund_account,
            l.points_confirmed,
            l.points_ended,
            l.points_outstanding
        );
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/csv; charset=utf-8; header=present",
        )],
        csv,
    ))
}
