//! The card-point programme's rounds and services (`mykey_platform` `points/`): the point
//! secretariat's operator API, a payment provider's own services, and what anyone may read
//! before applying. Applications are in `point_applications.rs`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_api::points::{
    IdShape, PaymentService, PaymentServiceRegistration, PaymentServices, PointProgramme,
    PointRound, PointRoundDefinition, PointRounds,
};
use mykey_platform::{
    IdAlphabet, IdCheck, InvalidError, POINT_CONSENT, PaymentServiceId, PaymentServiceKind,
    PaymentServiceStatus, Platform, PlatformError, PointRoundId, PointRoundTerms,
};

use super::link_requests::consent_asked;
use super::operators::{Operator, duty};
use super::rp::RelyingPartyClient;
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/ops/point-rounds", get(rounds).post(define))
        .route("/v1/ops/point-rounds/{id}/opening", post(open))
        .route("/v1/ops/point-rounds/{id}/closing", post(close))
        .route("/v1/ops/payment-services", get(all_services))
        .route("/v1/ops/payment-services/{id}/approval", post(approve))
        .route("/v1/ops/payment-services/{id}/withdrawal", post(withdraw))
        .route("/v1/rp/payment-services", get(own_services).post(register))
        .route("/v1/point-programme", get(programme))
}

pub(super) fn round_json(r: &mykey_platform::PointRound) -> PointRound {
    PointRound {
        id: r.id.get(),
        name: r.name.clone(),
        purchase_rate: r.terms.purchase_rate,
        purchase_cap: r.terms.purchase_cap,
        health_insurance_points: r.terms.health_insurance_points,
        public_fund_account_points: r.terms.public_fund_account_points,
        state: r.state.as_str().to_owned(),
        created_at: rfc3339(r.created_at),
        opened_at: r.opened_at.map(rfc3339),
        closed_at: r.closed_at.map(rfc3339),
    }
}

pub(super) fn service_json(s: &mykey_platform::PaymentService) -> PaymentService {
    PaymentService {
        id: s.id.get(),
        provider: s.provider_name.clone(),
        name: s.name.clone(),
        kind: s.kind.as_str().to_owned(),
        id_shape: IdShape {
            alphabet: s.shape.alphabet.as_str().to_owned(),
            min_length: s.shape.min_length,
            max_length: s.shape.max_length,
            prefix: s.shape.prefix.clone(),
            check: s.shape.check.as_str().to_owned(),
            code_digits: s.shape.code_digits,
        },
        status: s.status.as_str().to_owned(),
        created_at: rfc3339(s.created_at),
    }
}

pub(super) fn number(s: &str, what: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::InvalidRequest(format!("{what} is a positive whole number")))
}

fn bad(why: &'static str) -> ApiError {
    ApiError::Platform(PlatformError::Invalid(InvalidError::PointRequest(why)))
}

#[utoipa::path(
    get,
    path = "/v1/ops/point-rounds",
    operation_id = "ops_point_rounds",
    tag = "ops",
    summary = "The programme's rounds, oldest first (the point secretariat, Art 22.1.3)",
    responses(
        (status = 200, description = "OK", body = mykey_api::points::PointRounds, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn rounds(
    _: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let rounds = p.point_rounds(None).await?.iter().map(round_json).collect();
    Ok(axum::Json(PointRounds { rounds }))
}

#[utoipa::path(
    post,
    path = "/v1/ops/point-rounds",
    operation_id = "ops_point_round_define",
    tag = "ops",
    summary = "Define a round, as a draft: its purchase rate and cap and its fixed points for the health-insurance card and the public-fund account, in yen. Out of range: 422 invalid-point-request; a name in use: 409 point-round-exists.",
    request_body(content = mykey_api::points::PointRoundDefinition, content_type = "application/json"),
    responses(
        (status = 201, description = "Defined", body = mykey_api::points::PointRound, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn define(
    _: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<PointRoundDefinition>,
) -> Result<impl IntoResponse, ApiError> {
    let round = p
        .define_point_round(
            &req.name,
            PointRoundTerms {
                purchase_rate: req.purchase_rate,
                purchase_cap: req.purchase_cap,
                health_insurance_points: req.health_insurance_points,
                public_fund_account_points: req.public_fund_account_points,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(round_json(&round))))
}

#[utoipa::path(
    post,
    path = "/v1/ops/point-rounds/{id}/opening",
    operation_id = "ops_point_round_open",
    tag = "ops",
    summary = "Open a draft round for applications (409 point-round-state if it is not a draft)",
    params(("id" = i64, Path, description = "The round's ID")),
    responses(
        (status = 200, description = "Opened", body = mykey_api::points::PointRound, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn open(
    _: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = PointRoundId::new(number(&id, "a round's ID")?);
    Ok(axum::Json(round_json(&p.open_point_round(id).await?)))
}

#[utoipa::path(
    post,
    path = "/v1/ops/point-rounds/{id}/closing",
    operation_id = "ops_point_round_close",
    tag = "ops",
    summary = "Close an open round: no new applications (409 point-round-state if it is not open)",
    params(("id" = i64, Path, description = "The round's ID")),
    responses(
        (status = 200, description = "Closed", body = mykey_api::points::PointRound, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn close(
    _: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = PointRoundId::new(number(&id, "a round's ID")?);
    Ok(axum::Json(round_json(&p.close_point_round(id).await?)))
}

#[utoipa::path(
    get,
    path = "/v1/ops/payment-services",
    operation_id = "ops_payment_services",
    tag = "ops",
    summary = "Every registered payment service, of every provider, oldest first",
    responses(
        (status = 200, description = "OK", body = mykey_api::points::PaymentServices, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn all_services(
    _: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let services = p
        .payment_services(None)
        .await?
        .iter()
        .map(service_json)
        .collect();
    Ok(axum::Json(PaymentServices { services }))
}

async fn set_status(
    p: &Platform,
    id: &str,
    status: PaymentServiceStatus,
) -> Result<axum::Json<PaymentService>, ApiError> {
    let id = PaymentServiceId::new(number(id, "a payment service's ID")?);
    Ok(axum::Json(service_json(
        &p.set_payment_service_status(id, status).await?,
    )))
}

#[utoipa::path(
    post,
    path = "/v1/ops/payment-services/{id}/approval",
    operation_id = "ops_payment_service_approve",
    tag = "ops",
    summary = "Approve a payment service: it becomes an eligible cashless payment service (Art 22.1.6) people may choose",
    params(("id" = i64, Path, description = "The service's ID")),
    responses(
        (status = 200, description = "Eligible", body = mykey_api::points::PaymentService, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn approve(
    _: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    set_status(&p, &id, PaymentServiceStatus::Eligible).await
}

#[utoipa::path(
    post,
    path = "/v1/ops/payment-services/{id}/withdrawal",
    operation_id = "ops_payment_service_withdraw",
    tag = "ops",
    summary = "Withdraw a payment service: no new applications through it; those made stand",
    params(("id" = i64, Path, description = "The service's ID")),
    responses(
        (status = 200, description = "Withdrawn", body = mykey_api::points::PaymentService, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn withdraw(
    _: Operator<duty::PointProgramme>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    set_status(&p, &id, PaymentServiceStatus::Withdrawn).await
}

#[utoipa::path(
    get,
    path = "/v1/rp/payment-services",
    operation_id = "rp_payment_services",
    tag = "points",
    summary = "The payment provider's own services, oldest first (403 payment-provider-only for any other relying party)",
    responses(
        (status = 200, description = "OK", body = mykey_api::points::PaymentServices, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn own_services(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let services = p
        .own_payment_services(&rp)
        .await?
        .iter()
        .map(service_json)
        .collect();
    Ok(axum::Json(PaymentServices { services }))
}

#[utoipa::path(
    post,
    path = "/v1/rp/payment-services",
    operation_id = "rp_payment_service_register",
    tag = "points",
    summary = "A payment provider registers one of its cashless payment services (Art 22.1.5-7) with the shape of its Payment Service IDs; pending until the secretariat approves it. A shape no ID can have: 422 invalid-point-request; a name it uses already: 409 payment-service-exists.",
    request_body(content = mykey_api::points::PaymentServiceRegistration, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered, pending", body = mykey_api::points::PaymentService, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn register(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<PaymentServiceRegistration>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = PaymentServiceKind::parse(&req.kind)
        .ok_or_else(|| bad("kind is e-money, qr-code or credit-card"))?;
    let s = &req.id_shape;
    let shape = mykey_platform::IdShape::new(
        IdAlphabet::parse(&s.alphabet).ok_or_else(|| bad("alphabet is digits or alphanumeric"))?,
        s.min_length,
        s.max_length,
        s.prefix.clone(),
        IdCheck::parse(&s.check).ok_or_else(|| bad("check is none or luhn"))?,
        s.code_digits,
    )?;
    let service = p
        .register_payment_service(&rp, &req.name, kind, shape)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(service_json(&service))))
}

#[utoipa::path(
    get,
    path = "/v1/point-programme",
    operation_id = "point_programme",
    tag = "points",
    summary = "What anyone may read before applying for card points: the open rounds, the eligible payment services with the shape of their Payment Service IDs, and the three matters of Art 23.1 an application accepts under the terms in force",
    responses(
        (status = 200, description = "OK", body = mykey_api::points::PointProgramme, content_type = "application/json")
    )
)]
async fn programme(State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    let programme = p.point_programme().await?;
    let terms = p.terms_version().await?;
    Ok(axum::Json(PointProgramme {
        rounds: programme.rounds.iter().map(round_json).collect(),
        services: programme.services.iter().map(service_json).collect(),
        consent: consent_asked(&POINT_CONSENT, terms.clone()),
        health_insurance_consent: consent_asked(
            &mykey_platform::HEALTH_INSURANCE_CONSENT,
            terms.clone(),
        ),
        public_fund_account_consent: consent_asked(
            &mykey_platform::PUBLIC_FUND_ACCOUNT_CONSENT,
            terms,
        ),
    }))
}
