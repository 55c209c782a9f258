//! Card-point applications (Terms Art 22–23, 27): the card holder's (`/v1/me`) — apply,
//! list, withdraw — and a payment provider's (`/v1/rp`) — its queue, one application, its
//! answer. A provider is shown an application's ID, round, service, the Payment Service ID
//! and its own settlement user ID: never a person, a My Key ID or an issuance number.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_api::points::{
    KioskPointApplication, MyPointApplication, MyPointApplications, PartyPointApplication,
    PartyPointApplications, PointApplicationRequest, PointApplicationsQuery, PointTriggerClaim,
    PointValidation,
};
use mykey_platform::{
    InvalidError, PaymentServiceId, Platform, PlatformError, PointApplication, PointApplicationId,
    PointApplicationState, PointRoundId, PointTrigger, PointTriggerKind, PublicFundAccount,
    ValidationAnswer,
};

use super::link_requests::new_consent;
use super::me::Me;
use super::rp::RelyingPartyClient;
use super::{ApiError, JsonBody, rfc3339};

/// Default page of a party's applications.
const DEFAULT_PAGE: usize = 100;

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/me/point-applications", get(mine).post(apply))
        .route("/v1/me/point-applications/{id}/withdrawal", post(withdraw))
        .route("/v1/me/point-applications/{id}/triggers", post(claim))
        .route("/v1/rp/point-applications", get(queue).post(kiosk_apply))
        .route(
            "/v1/rp/point-applications/challenges",
            post(kiosk_challenge),
        )
        .route("/v1/rp/point-applications/{id}", get(one))
        .route("/v1/rp/point-applications/{id}/validation", post(answer))
}

fn trigger_json(t: &PointTrigger) -> mykey_api::points::PointTrigger {
    mykey_api::points::PointTrigger {
        kind: t.kind.as_str().to_owned(),
        state: t.state.as_str().to_owned(),
        points: t.points,
        claimed_at: rfc3339(t.claimed_at),
        checked_at: t.checked_at.map(rfc3339),
        registered_at: t.registered_at.map(rfc3339),
        grant: t.grant.map(|g| g.as_str().to_owned()),
    }
}

/// The application as its holder sees it, with those of `triggers` claimed on it.
pub(super) fn mine_json(a: &PointApplication, triggers: &[PointTrigger]) -> MyPointApplication {
    MyPointApplication {
        id: a.id.to_string(),
        round: a.round.get(),
        round_name: a.round_name.clone(),
        payment_service: a.service.get(),
        payment_service_name: a.service_name.clone(),
        provider: a.provider_name.clone(),
        payment_service_user_id: a.payment_service_user_id.clone(),
        kiosk: a.kiosk.clone(),
        state: a.state.as_str().to_owned(),
        reason: a.reason.clone(),
        submitted_at: rfc3339(a.submitted_at),
        decided_at: a.decided_at.map(rfc3339),
        ended_at: a.ended_at.map(rfc3339),
        triggers: triggers
            .iter()
            .filter(|t| t.application == a.id)
            .map(trigger_json)
            .collect(),
    }
}

fn party_json(a: &PointApplication) -> PartyPointApplication {
    PartyPointApplication {
        id: a.id.to_string(),
        round: a.round.get(),
        payment_service: a.service.get(),
        payment_service_user_id: a.payment_service_user_id.clone(),
        payment_service_code: a.payment_service_code.clone(),
        kiosk: a.kiosk.clone(),
        state: a.state.as_str().to_owned(),
        settlement_user_id: a.settlement_user_id.as_ref().map(|s| s.as_str().to_owned()),
        reason: a.reason.clone(),
        submitted_at: rfc3339(a.submitted_at),
        decided_at: a.decided_at.map(rfc3339),
        ended_at: a.ended_at.map(rfc3339),
    }
}

fn application_id(s: &str) -> Result<PointApplicationId, ApiError> {
    Ok(s.parse().map_err(PlatformError::from)?)
}

fn bad(why: &'static str) -> ApiError {
    ApiError::Platform(PlatformError::Invalid(InvalidError::PointRequest(why)))
}

#[utoipa::path(
    get,
    path = "/v1/me/point-applications",
    operation_id = "me_point_applications",
    tag = "me",
    summary = "The person's card-point applications, newest first, with their state and the provider's or the forfeiture's reason",
    responses(
        (status = 200, description = "OK", body = mykey_api::points::MyPointApplications, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn mine(Me(s): Me, State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    let triggers = p.my_point_triggers(&s).await?;
    let applications = p
        .my_point_applications(&s)
        .await?
        .iter()
        .map(|a| mine_json(a, &triggers))
        .collect();
    Ok(axum::Json(MyPointApplications { applications }))
}

#[utoipa::path(
    post,
    path = "/v1/me/point-applications",
    operation_id = "me_point_apply",
    tag = "me",
    summary = "Apply for card points in an open round through one eligible payment service, with the Payment Service ID the person knows it by, accepting the three matters of Art 23.1 (GET /v1/point-programme). Refused, storing nothing: a Payment Service ID not of the service's shape (422 payment-service-user-id-shape), consent not exactly the items (422 consent-incomplete), an unknown round or service (404), a round not open (409 point-round-not-open), a service not eligible (409 payment-service-not-eligible), no active My Key ID (409 no-my-key-id), the right forfeited (409 point-rights-forfeited), an application in the round already (409 point-application-exists: one per person per round, across renewals and a re-created My Key ID), a security code missing or not of the service's digits (422 payment-service-user-id-shape). A draft round or a pending service is unknown (404). The provider is told by its event stream and reads the Payment Service ID and its security code from its queue.",
    request_body(content = mykey_api::points::PointApplicationRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Submitted", body = mykey_api::points::MyPointApplication, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn apply(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<PointApplicationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let a = p
        .apply_for_points(
            &s,
            PointRoundId::new(req.round),
            PaymentServiceId::new(req.payment_service),
            &req.payment_service_user_id,
            req.payment_service_code.as_deref(),
            &new_consent(req.consent),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(mine_json(&a, &[]))))
}

#[utoipa::path(
    post,
    path = "/v1/me/point-applications/{id}/withdrawal",
    operation_id = "me_point_withdraw",
    tag = "me",
    summary = "Withdraw a submitted or validated application: final for the round; the provider is told (409 point-application-ended if it has ended)",
    params(("id" = String, Path, description = "The application's ID")),
    responses(
        (status = 200, description = "Withdrawn", body = mykey_api::points::MyPointApplication, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn withdraw(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let a = p
        .withdraw_point_application(&s, application_id(&id)?)
        .await?;
    let triggers = p.my_point_triggers(&s).await?;
    Ok(axum::Json(mine_json(&a, &triggers)))
}

#[utoipa::path(
    post,
    path = "/v1/me/point-applications/{id}/triggers",
    operation_id = "me_point_trigger",
    tag = "me",
    summary = "Claim the round's fixed points for using the card as a health-insurance card (kind health-insurance, Art 24: the issuance number goes to Mynaportal) or for a public-fund receiving account (kind public-fund-account, Art 25.1: the issuance number and the previous ones go to the account registry, which answers whether an account is registered), consenting to the kind's matters (GET /v1/point-programme). With `account`, the account is first registered with the registry (its shape checked here and there; the platform keeps none of it). The registry is asked at once and, while the round is open, again until the registration is found; a registered trigger is granted once, through the application's provider, in its next batch. Claiming again asks again. Refused, storing nothing: consent not exactly the items (422 consent-incomplete), an account not of a bank account's shape or refused by the registry (422 invalid-public-fund-account, naming the part), an account with the health-insurance points (422 invalid-point-request), not the holder's application (404), an application that has ended (409 point-application-ended), a round not open (409 point-round-not-open), a round offering no such points (409 point-trigger-not-offered), the registry unreachable when an account is to be registered or none configured (503 registry-unavailable). A person's claims are rationed: ten at once, then one a minute (429 quota-exceeded).",
    params(("id" = String, Path, description = "The application's ID")),
    request_body(content = mykey_api::points::PointTriggerClaim, content_type = "application/json"),
    responses(
        (status = 200, description = "Claimed (awaiting-registration or registered)", body = mykey_api::points::PointTrigger, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn claim(
    Me(s): Me,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PointTriggerClaim>,
) -> Result<impl IntoResponse, ApiError> {
    let id = application_id(&id)?;
    let kind = PointTriggerKind::parse(&req.kind)
        .ok_or_else(|| bad("kind is health-insurance or public-fund-account"))?;
    let account = req
        .account
        .map(|a| {
            PublicFundAccount::new(
                &a.bank_code,
                &a.branch_code,
                &a.account_type,
                &a.number,
                &a.holder,
            )
        })
        .transpose()?;
    let t = p
        .claim_point_trigger(&s, id, kind, &new_consent(req.consent), account.as_ref())
        .await?;
    Ok(axum::Json(trigger_json(&t)))
}

#[utoipa::path(
    get,
    path = "/v1/rp/point-applications",
    operation_id = "rp_point_applications",
    tag = "points",
    summary = "A payment provider's applications (a kiosk's: those it made), in ID order: `state=submitted` is the provider's queue to validate (the same applications its stream pushes or answers as point-application-submitted events). Pages of `limit` (1 to 1000, default 100) after `after`.",
    params(PointApplicationsQuery),
    responses(
        (status = 200, description = "OK", body = mykey_api::points::PartyPointApplications, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn queue(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    query: Result<Query<PointApplicationsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let state = q
        .state
        .as_deref()
        .map(|s| {
            PointApplicationState::parse(s).ok_or_else(|| {
                bad("state is submitted, validated, rejected, withdrawn or forfeited")
            })
        })
        .transpose()?;
    let after = q.after.as_deref().map(application_id).transpose()?;
    let limit = q.limit.map_or(DEFAULT_PAGE, |l| l as usize);
    let page = p.party_point_applications(&rp, state, after, limit).await?;
    let next = (page.len() == limit)
        .then(|| page.last().map(|a| a.id.to_string()))
        .flatten();
    Ok(axum::Json(PartyPointApplications {
        applications: page.iter().map(party_json).collect(),
        next,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/rp/point-applications/{id}",
    operation_id = "rp_point_application",
    tag = "points",
    summary = "One of the provider's (or the kiosk's) applications; another party's is unknown (404)",
    params(("id" = String, Path, description = "The application's ID")),
    responses(
        (status = 200, description = "OK", body = mykey_api::points::PartyPointApplication, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn one(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let a = p.party_point_application(&rp, application_id(&id)?).await?;
    Ok(axum::Json(party_json(&a)))
}

#[utoipa::path(
    post,
    path = "/v1/rp/point-applications/{id}/validation",
    operation_id = "rp_point_application_validate",
    tag = "points",
    summary = "The payment provider answers one of its submitted applications (Art 23.1.2): valid with its settlement user ID, or not valid with the reason the holder reads. Once: an answered, withdrawn or forfeited one is 409 point-application-answered; another provider's is 404; a settlement user ID it gave another application in the round is 409 settlement-user-id-taken; valid for a Payment Service ID another validated application in the round holds is 409 payment-service-user-id-taken; the security code is erased with the answer; a malformed answer 422 invalid-point-request. The holder's log records the answer.",
    params(("id" = String, Path, description = "The application's ID")),
    request_body(content = mykey_api::points::PointValidation, content_type = "application/json"),
    responses(
        (status = 200, description = "Answered", body = mykey_api::points::PartyPointApplication, content_type = "application/json"),
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
async fn answer(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PointValidation>,
) -> Result<impl IntoResponse, ApiError> {
    let id = application_id(&id)?;
    let answer = match (req.valid, req.settlement_user_id, req.reason) {
        (true, Some(s), None) => ValidationAnswer::Valid(s.parse().map_err(PlatformError::from)?),
        (false, None, Some(r)) => ValidationAnswer::Invalid(r),
        (true, ..) => return Err(bad("valid: true takes settlement_user_id and no reason")),
        (false, ..) => return Err(bad("valid: false takes a reason and no settlement_user_id")),
    };
    let a = p.answer_point_application(&rp, id, answer).await?;
    Ok(axum::Json(party_json(&a)))
}

#[utoipa::path(
    post,
    path = "/v1/rp/point-applications/challenges",
    operation_id = "kiosk_point_challenge",
    tag = "points",
    summary = "A kiosk (Art 26.1.2) asks for a challenge for the card in front of it, answerable only with this kiosk (purpose point-application); 403 kiosk-only for any other relying party",
    responses(
        (status = 201, description = "Created", body = mykey_api::auth::Challenge, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn kiosk_challenge(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.kiosk_challenge(&rp).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(super::auth::challenge_body(&c)),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/rp/point-applications",
    operation_id = "kiosk_point_apply",
    tag = "points",
    summary = "A kiosk applies for the card holder in front of it (Art 22.1.10, 26.1.2): the card's answer to the kiosk's challenge (PIN entered at the kiosk), the round, service, Payment Service ID (and its security code) and the holder's consent to Art 23.1. Checked as the holder's own application (the same refusals), and the card as at login; a card whose holder the platform does not know, or who has no active My Key ID, is 409 no-my-key-id. The kiosk's name is recorded on the application and in the holder's log; the kiosk sees the applications it made, nothing else.",
    request_body(content = mykey_api::points::KioskPointApplication, content_type = "application/json"),
    responses(
        (status = 201, description = "Submitted", body = mykey_api::points::PartyPointApplication, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn kiosk_apply(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<KioskPointApplication>,
) -> Result<impl IntoResponse, ApiError> {
    let card = super::auth::decode_card(&req.nonce, &req.certificate, &req.signature)?;
    let a = p
        .apply_at_kiosk(
            &rp,
            &card.answer(),
            mykey_platform::KioskChoice {
                round: PointRoundId::new(req.round),
                service: PaymentServiceId::new(req.payment_service),
                payment_service_user_id: &req.payment_service_user_id,
                payment_service_code: req.payment_service_code.as_deref(),
            },
            &new_consent(req.consent),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(party_json(&a))))
}
