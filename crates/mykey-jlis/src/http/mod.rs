//! The simulator's HTTP surface. `GET /v1/openapi.json` describes the JSON parts.
//!
//! ```text
//! GET  /ca/{purpose}.pem                 every generation of a CA (PEM)
//! GET  /ca/{purpose}-g{n}.der|.pem       one generation (the certificates' caIssuers URL)
//! GET  /crl/{purpose}-g{n}.crl           the current complete CRL (DER)
//! GET  /crl/{purpose}-g{n}-delta.crl     the current delta CRL (DER)
//! POST /ocsp/{purpose}                   OCSP (application/ocsp-request)
//! GET  /ocsp/{purpose}/{base64 request}  OCSP for small requests
//! GET  /v1/cas                          every CA generation with its CRL and OCSP URLs
//! GET  /v1/issuance-numbers/{n}/previous
//! GET  /v1/issuance-numbers/{n}/signature-certificate-status
//! POST /v1/issuance-numbers/{n}/ticket-items
//! POST /v1/admin/certificates | renewals | revocations | fact-changes | crls
//! GET  /v1/admin/certificates/{serial}
//! POST /v1/admin/cas/{purpose}/rollover
//! ```

mod problem;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use mykey_pki::Purpose;

use crate::api;
use crate::{Jlis, JlisError};

/// Largest request body accepted (OCSP requests and JSON alike).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The simulator's routes.
pub fn router(jlis: Arc<Jlis>) -> axum::Router {
    axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/v1/openapi.json", get(openapi))
        .route("/ca/{file}", get(ca_file))
        .route("/crl/{file}", get(crl_file))
        .route("/ocsp/{purpose}", post(ocsp_post))
        .route("/ocsp/{purpose}/{*request}", get(ocsp_get))
        .route("/v1/cas", get(cas))
        .route("/v1/issuance-numbers/{n}/previous", get(previous))
        .route(
            "/v1/issuance-numbers/{n}/signature-certificate-status",
            get(signature_status),
        )
        .route("/v1/issuance-numbers/{n}/ticket-items", post(ticket_items))
        .route("/v1/admin/certificates", post(issue))
        .route("/v1/admin/certificates/{serial}", get(certificate))
        .route("/v1/admin/renewals", post(renew))
        .route("/v1/admin/revocations", post(revoke))
        .route("/v1/admin/fact-changes", post(change_facts))
        .route("/v1/admin/crls", post(publish))
        .route("/v1/admin/cas/{purpose}/rollover", post(rollover))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(jlis)
}

type Result<T> = std::result::Result<T, JlisError>;

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi.json"),
    )
        .into_response()
}

fn purpose(s: &str) -> Result<Purpose> {
    Purpose::from_slug(s).ok_or_else(|| JlisError::NotFound {
        what: "CA",
        id: s.to_owned(),
    })
}

async fn ca_file(State(j): State<Arc<Jlis>>, Path(file): Path<String>) -> Result<Response> {
    if let Some(p) = file.strip_suffix(".pem").and_then(Purpose::from_slug) {
        let pem: String = j.ca_certificates(p).iter().map(|c| c.to_pem()).collect();
        return Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response());
    }
    let (stem, pem) = match (file.strip_suffix(".der"), file.strip_suffix(".pem")) {
        (Some(s), _) => (s, false),
        (_, Some(s)) => (s, true),
        _ => {
            return Err(JlisError::NotFound {
                what: "CA file",
                id: file,
            });
        }
    };
    let g = j
        .authority
        .read()
        .by_stem(stem)
        .ok_or_else(|| JlisError::NotFound {
            what: "CA file",
            id: file.clone(),
        })?;
    Ok(if pem {
        (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            g.cert.to_pem(),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/pkix-cert")],
            g.cert.der().to_vec(),
        )
            .into_response()
    })
}

async fn crl_file(State(j): State<Arc<Jlis>>, Path(file): Path<String>) -> Result<Response> {
    let stem = file
        .strip_suffix(".crl")
        .ok_or_else(|| JlisError::NotFound {
            what: "CRL",
            id: file.clone(),
        })?;
    let (stem, delta) = match stem.strip_suffix("-delta") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let der = j.crl(stem, delta).await?;
    Ok(([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response())
}

async fn ocsp_post(
    State(j): State<Arc<Jlis>>,
    Path(p): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let p = purpose(&p)?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/ocsp-request") {
        return Err(JlisError::invalid(
            "content-type",
            "expected application/ocsp-request",
        ));
    }
    let reply = j.ocsp(p, &body).await;
    Ok(ocsp_response(reply, false))
}

async fn ocsp_get(
    State(j): State<Arc<Jlis>>,
    Path((p, request)): Path<(String, String)>,
) -> Result<Response> {
    let p = purpose(&p)?;
    // RFC 6960 A.1: the path segment is base64 (standard alphabet), URL-encoded.
    let der = base64::engine::general_purpose::STANDARD
        .decode(request.trim_start_matches('/'))
        .map_err(|_| JlisError::invalid("request", "not base64"))?;
    let reply = j.ocsp(p, &der).await;
    Ok(ocsp_response(reply, true))
}

fn ocsp_response(reply: crate::ocsp::OcspReply, get: bool) -> Response {
    let mut r = (
        [(header::CONTENT_TYPE, "application/ocsp-response")],
        reply.der.to_vec(),
    )
        .into_response();
    if let (true, Some(age)) = (get, reply.max_age)
        && let Ok(v) = HeaderValue::from_str(&format!(
            "max-age={age}, public, no-transform, must-revalidate"
        ))
    {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    r
}

async fn cas(State(j): State<Arc<Jlis>>) -> Json<Vec<api::CaEntry>> {
    let base = j.config().base_url.trim_end_matches('/').to_owned();
    let entries = j
        .authority
        .read()
        .all()
        .iter()
        .map(|g| {
            let stem = g.stem();
            api::CaEntry {
                purpose: g.purpose.slug().to_owned(),
                generation: g.generation,
                key_id: hex::encode(g.cert.key_id()),
                certificate_url: format!("{base}/ca/{stem}.der"),
                crl_url: format!("{base}/crl/{stem}.crl"),
                delta_crl_url: format!("{base}/crl/{stem}-delta.crl"),
                ocsp_url: format!("{base}/ocsp/{}", g.purpose.slug()),
            }
        })
        .collect();
    Json(entries)
}

async fn previous(
    State(j): State<Arc<Jlis>>,
    Path(n): Path<String>,
) -> Result<Json<api::PreviousIssuanceNumbers>> {
    Ok(Json(j.previous_issuance_numbers(&n).await?))
}

async fn signature_status(
    State(j): State<Arc<Jlis>>,
    Path(n): Path<String>,
) -> Result<Json<api::SignatureCertificateStatus>> {
    Ok(Json(j.signature_certificate_status(&n).await?))
}

async fn ticket_items(
    State(j): State<Arc<Jlis>>,
    Path(n): Path<String>,
    b: std::result::Result<Json<api::TicketItemCheck>, JsonRejection>,
) -> Result<Json<api::TicketItemStatus>> {
    Ok(Json(j.ticket_item_status(&n, &body(b)?).await?))
}

fn body<T>(b: std::result::Result<Json<T>, JsonRejection>) -> Result<T> {
    b.map(|Json(t)| t).map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => JlisError::TooLarge { limit: MAX_BODY },
        _ => JlisError::invalid("body", e.body_text()),
    })
}

async fn issue(
    State(j): State<Arc<Jlis>>,
    b: std::result::Result<Json<api::IssueRequest>, JsonRejection>,
) -> Result<Response> {
    let issued = j.issue(&body(b)?).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

async fn renew(
    State(j): State<Arc<Jlis>>,
    b: std::result::Result<Json<api::RenewRequest>, JsonRejection>,
) -> Result<Response> {
    let issued = j.renew(&body(b)?).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

async fn revoke(
    State(j): State<Arc<Jlis>>,
    b: std::result::Result<Json<api::RevokeRequest>, JsonRejection>,
) -> Result<Json<api::CertificateState>> {
    Ok(Json(j.revoke(&body(b)?).await?))
}

async fn change_facts(
    State(j): State<Arc<Jlis>>,
    b: std::result::Result<Json<api::ChangeFactsRequest>, JsonRejection>,
) -> Result<Response> {
    let issued = j.change_facts(&body(b)?).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

async fn certificate(
    State(j): State<Arc<Jlis>>,
    Path(serial): Path<String>,
) -> Result<Json<api::CertificateState>> {
    Ok(Json(j.certificate(&serial).await?))
}

async fn publish(
    State(j): State<Arc<Jlis>>,
    Query(q): Query<PublishQuery>,
) -> Result<Json<api::Published>> {
    let message = match q.only.as_deref() {
        None => {
            j.publish_due_crls(true).await?;
            "published complete and delta CRLs for every CA generation"
        }
        Some("delta") => {
            j.publish_delta_crls().await?;
            "published delta CRLs for every CA generation"
        }
        Some(_) => return Err(JlisError::invalid("only", "the only value is delta")),
    };
    Ok(Json(api::Published {
        message: message.into(),
    }))
}

/// `POST /v1/admin/crls?only=delta`: deltas alone (a complete CRL only where one is due).
#[derive(serde::Deserialize)]
struct PublishQuery {
    only: Option<String>,
}

async fn rollover(State(j): State<Arc<Jlis>>, Path(p): Path<String>) -> Result<Response> {
    let g = j.rollover(purpose(&p)?).await?;
    let message = format!("created {}", g.stem());
    Ok((StatusCode::CREATED, Json(api::Published { message })).into_response())
}
