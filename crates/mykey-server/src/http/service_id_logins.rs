//! `/v1/service-id-logins/{client_id}` and `/v1/rp/service-id-logins/{code}`: logging in by
//! Service ID through the REST API (Terms Art 2.13, 17). The person's client needs no session:
//! the card proves who it is, bound to the relying party (and to the link request offered, if
//! any); the relying party learns its customer ID by redeeming the code with its own
//! credentials.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use mykey_api::service_id_logins::{
    ServiceIdLoggedIn, ServiceIdLoginAuthentication, ServiceIdLoginChallenge,
    ServiceIdLoginRedeemed,
};
use mykey_platform::{LinkRequestId, Platform, PlatformError};

use super::auth::{challenge_body, decode_card};
use super::link_requests::new_consent;
use super::me::shown;
use super::rp::RelyingPartyClient;
use super::{ApiError, JsonBody, OptionalJson, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route(
            "/v1/service-id-logins/{client_id}/challenges",
            post(challenge),
        )
        .route(
            "/v1/service-id-logins/{client_id}/authentications",
            post(authenticate),
        )
        .route("/v1/rp/service-id-logins/{code}", post(redeem))
}

/// A link request's ID from a body; a malformed one names no request.
fn link_request(s: Option<&str>) -> Result<Option<LinkRequestId>, ApiError> {
    s.map(|s| {
        s.parse()
            .map_err(|_| PlatformError::NotFound(mykey_platform::NotFound::LinkRequest).into())
    })
    .transpose()
}

#[utoipa::path(
    post,
    path = "/v1/service-id-logins/{client_id}/challenges",
    operation_id = "service_id_logins_challenge",
    tag = "card",
    summary = "A one-time challenge (purpose authorization) for logging in by Service ID at the relying party, bound to it and to the link request offered, if any (another party's or an answered one: 404 link-request-unknown, 409, 410)",
    params(
        ("client_id" = String, Path, description = "The relying party's client ID")
    ),
    request_body(content = Option<mykey_api::service_id_logins::ServiceIdLoginChallenge>, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = mykey_api::auth::Challenge, content_type = "application/json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn challenge(
    Path(client_id): Path<String>,
    State(p): State<Arc<Platform>>,
    OptionalJson(req): OptionalJson<ServiceIdLoginChallenge>,
) -> Result<impl IntoResponse, ApiError> {
    let link = link_request(req.unwrap_or_default().link_request.as_deref())?;
    let c = p.service_id_login_challenge(&client_id, link).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_body(&c))))
}

#[utoipa::path(
    post,
    path = "/v1/service-id-logins/{client_id}/authentications",
    operation_id = "service_id_logins_authenticate",
    tag = "card",
    summary = "Log in by Service ID with the card: checked as at login (renewals followed); a one-time code the relying party redeems for the customer ID the person's Service ID links there (the most recently linked, where there are several; the answer does not name it). With link_request, the request is approved first under the consent (every Art 17.2 item and the terms version in force, 422 consent-incomplete; no My Key ID: 409 no-my-key-id). Without a Service ID there and with none offered: 409 service-id-required. Logged (login, purpose service-id-login). Nothing is stored on a refusal.",
    params(
        ("client_id" = String, Path, description = "The relying party's client ID")
    ),
    request_body(content = mykey_api::service_id_logins::ServiceIdLoginAuthentication, content_type = "application/json"),
    responses(
        (status = 201, description = "Logged in", body = mykey_api::service_id_logins::ServiceIdLoggedIn, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn authenticate(
    Path(client_id): Path<String>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<ServiceIdLoginAuthentication>,
) -> Result<impl IntoResponse, ApiError> {
    let card = decode_card(&req.nonce, &req.certificate, &req.signature)?;
    let link = match (link_request(req.link_request.as_deref())?, req.consent) {
        (Some(id), Some(c)) => Some((id, new_consent(c))),
        (None, None) => None,
        (Some(_), None) => {
            return Err(
                PlatformError::Invalid(mykey_platform::InvalidError::ConsentIncomplete).into(),
            );
        }
        (None, Some(_)) => {
            return Err(ApiError::InvalidRequest(
                "consent is given only with link_request".to_owned(),
            ));
        }
    };
    let a = p
        .authenticate_by_service_id(&client_id, &card.answer(), link)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ServiceIdLoggedIn {
            relying_party: shown(
                &a.relying_party.name,
                a.relying_party.kind,
                a.relying_party.profile.as_ref(),
            ),
            linked: a.linked,
            code: a.code.as_str().to_owned(),
            code_expires_at: rfc3339(a.code_expires_at),
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/rp/service-id-logins/{code}",
    operation_id = "rp_service_id_login_redeem",
    tag = "rp",
    summary = "Redeem a person's one-time login code for the customer ID they logged in as, once (400 login-code-invalid when unknown, used, expired or another party's)",
    params(
        ("code" = String, Path, description = "The code from the person's login")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::service_id_logins::ServiceIdLoginRedeemed, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn redeem(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(code): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let customer_id = p.redeem_service_id_login(&rp, &code).await?;
    Ok(axum::Json(ServiceIdLoginRedeemed {
        customer_id: customer_id.as_str().to_owned(),
    }))
}
