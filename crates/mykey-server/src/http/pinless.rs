//! The PIN-less route of Terms Art 20.2 (`mykey_platform` `pinless.rs`): the relying party
//! opens a request with the date of birth it holds; the terminal that reads the card shows it,
//! then answers with the user-identification certificate and the ticket-item AP's facts and
//! J-LIS's signature, read with access key B; the relying party redeems the code for the PPID
//! and the four facts (`POST /v1/rp/ppid-services/{id}/authentications/{code}`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mykey_api::pinless::{
    PinlessApproval, PinlessApproved, PinlessRequestOpen, PinlessRequestOpened, PinlessRequestShown,
};
use mykey_api::ppid_services::PpidServiceRef;
use mykey_pki::ticket::TicketSignature;
use mykey_platform::{PINLESS_CONSENT, PPID_CONSENT, Platform, PlatformError};

use super::link_requests::{consent_asked, new_consent};
use super::me::shown;
use super::ppid_services::service_id;
use super::rp::RelyingPartyClient;
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/rp/ppid-services/{id}/pinless-requests", post(open))
        .route("/v1/pinless-requests/{handle}", get(show))
        .route("/v1/pinless-requests/{handle}/approval", post(approve))
}

#[utoipa::path(
    post,
    path = "/v1/rp/ppid-services/{id}/pinless-requests",
    operation_id = "rp_pinless_request_open",
    tag = "rp",
    summary = "Open a PIN-less request (Terms Art 20.2) for its PPID service with the date of birth it holds; answers the handle for the terminal that reads the card. A date that is not YYYY-MM-DD, is in the future or before 1868: 422 invalid-pinless-request. At most 1,000 open per relying party, over all its services (429).",
    params(
        ("id" = i64, Path, description = "The PPID service's ID")
    ),
    request_body(content = mykey_api::pinless::PinlessRequestOpen, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = mykey_api::pinless::PinlessRequestOpened, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn open(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PinlessRequestOpen>,
) -> Result<impl IntoResponse, ApiError> {
    let id = service_id(&id)?;
    let birth = mykey_platform::parse_iso_date(&req.birth_date).ok_or(PlatformError::Invalid(
        mykey_platform::InvalidError::PinlessRequest("birth_date must be a date, YYYY-MM-DD"),
    ))?;
    let (request, expires_at) = p.open_pinless_request(&rp, id, birth).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(PinlessRequestOpened {
            request,
            expires_at: rfc3339(expires_at),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/pinless-requests/{handle}",
    operation_id = "pinless_request_show",
    tag = "card",
    summary = "The PIN-less request (no session; the handle is the secret): who asks, for which PPID service, the date of birth for access key B, and the consent items — the six of Art 20.1 and the two of Art 20.2 — under the terms in force. Unknown, used and expired handles: 404 pinless-request-unknown.",
    params(
        ("handle" = String, Path, description = "The request's handle")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::pinless::PinlessRequestShown, content_type = "application/json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn show(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    let r = p.pinless_request(&handle).await?;
    let terms = p.terms_version().await?;
    let items: Vec<_> = PPID_CONSENT
        .iter()
        .chain(PINLESS_CONSENT.iter())
        .copied()
        .collect();
    let rp = &r.service.relying_party;
    Ok(axum::Json(PinlessRequestShown {
        relying_party: shown(&rp.name, rp.kind, rp.profile.as_ref()),
        ppid_service: PpidServiceRef {
            id: r.service.id.get(),
            name: r.service.name.clone(),
        },
        birth_date: mykey_platform::iso_date(r.birth_date),
        consent: consent_asked(&items, terms),
        expires_at: rfc3339(r.expires_at),
    }))
}

#[utoipa::path(
    post,
    path = "/v1/pinless-requests/{handle}/approval",
    operation_id = "pinless_request_approve",
    tag = "card",
    summary = "Answer a PIN-less request with what the card gave without a PIN: the user-identification certificate (checked as at login, but it signs nothing), file 0002 of the ticket-item AP and J-LIS's signature over it (file 0003). J-LIS must confirm it signed those facts for the card the holder has now (401 ticket-items-invalid, 409 ticket-items-outdated) and that the certificate is not revoked as of now (403 certificate-revoked); five answers that reach J-LIS spend the request (then 404); their date of birth must be the relying party's (409 birth-date-mismatch). Consent: all eight items shown (422 consent-incomplete). The request is used up; the answer is the PPID and a one-time code the relying party redeems for it and the four facts. Nothing is stored on a refusal.",
    params(
        ("handle" = String, Path, description = "The request's handle")
    ),
    request_body(content = mykey_api::pinless::PinlessApproval, content_type = "application/json"),
    responses(
        (status = 201, description = "Accepted", body = mykey_api::pinless::PinlessApproved, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn approve(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
    JsonBody(req): JsonBody<PinlessApproval>,
) -> Result<impl IntoResponse, ApiError> {
    let bad = |what: &str| ApiError::InvalidRequest(format!("{what} must be base64"));
    let certificate = B64
        .decode(&req.certificate)
        .map_err(|_| bad("certificate"))?;
    let facts_file = B64
        .decode(&req.ticket_facts)
        .map_err(|_| bad("ticket_facts"))?;
    if facts_file.len() > mykey_pki::ticket::MAX_FACTS_FILE_LEN {
        return Err(ApiError::InvalidRequest(
            "ticket_facts is longer than the ticket-item AP's facts file can be".into(),
        ));
    }
    let t = &req.ticket_signature;
    let signature = TicketSignature::from_text(&t.facts_digest, &t.item_id, &t.signature)
        .map_err(|e| ApiError::InvalidRequest(format!("ticket_signature: {e}")))?;
    let a = p
        .approve_pinless(
            &handle,
            &mykey_platform::PinlessEvidence {
                certificate: &certificate,
                facts_file: &facts_file,
                signature: &signature,
            },
            &new_consent(req.consent),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(PinlessApproved {
            ppid: a.ppid.to_string(),
            issued: a.first,
            code: a.code.as_str().to_owned(),
            code_expires_at: rfc3339(a.code_expires_at),
        }),
    ))
}
