//! The two services' HTTP surfaces, with RFC 9457 problems (`urn:mykey:registry:problem:…`)
//! for what they refuse.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use mykey_pki::IssuanceNumber;
use mykey_platform::{PlatformError, PublicFundAccount};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use crate::store::Store;

/// Most issuance numbers one inquiry names (a card and its renewals).
const MAX_NUMBERS: usize = 32;

/// Simulated Mynaportal: the cards registered as health-insurance cards.
#[derive(Debug)]
pub struct Mynaportal {
    pub(crate) store: Store,
}

/// Simulated public-fund account registry.
#[derive(Debug)]
pub struct AccountRegistry {
    pub(crate) store: Store,
}

/// A refusal, as problem+json.
struct Problem(StatusCode, &'static str, String);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let Problem(status, kind, detail) = self;
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            json!({
                "type": format!("urn:mykey:registry:problem:{kind}"),
                "title": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "detail": detail,
            })
            .to_string(),
        )
            .into_response()
    }
}

fn invalid(detail: impl Into<String>) -> Problem {
    Problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-request",
        detail.into(),
    )
}

fn storage(e: sqlx::Error) -> Problem {
    tracing::error!(error = %e, "registry store failed");
    Problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the store failed; try again".into(),
    )
}

fn body<T>(b: Result<axum::Json<T>, JsonRejection>) -> Result<T, Problem> {
    b.map(|axum::Json(t)| t).map_err(|e| {
        // axum tells an over-long body by its words where the limit error is wrapped.
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE
            || e.body_text().contains("length limit exceeded")
        {
            Problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "the limit is 16 KiB".into(),
            )
        } else {
            invalid(e.body_text())
        }
    })
}

fn number(s: &str) -> Result<IssuanceNumber, Problem> {
    s.parse()
        .map_err(|_| invalid("issuance_number: the certificate's serial number in hexadecimal"))
}

fn now() -> i64 {
    i64::try_from(mykey_pki::UnixTime::now().as_secs()).unwrap_or(i64::MAX)
}

fn openapi(text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// Every router: bodies up to 16 KiB, `GET /health`.
fn common<S: Clone + Send + Sync + 'static>(r: Router<S>) -> Router<S> {
    r.route("/health", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(16 * 1024))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthInsuranceRegistration {
    issuance_number: String,
    insurer_number: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthInsuranceInquiry {
    issuance_number: String,
}

impl Mynaportal {
    /// `POST /v1/health-insurance-registrations` (the holder's own act at Mynaportal),
    /// `POST /v1/health-insurance-inquiries` (the platform's question), `GET /v1/openapi.json`.
    pub fn router(self: Arc<Self>) -> Router {
        common(
            Router::new()
                .route(
                    "/v1/openapi.json",
                    get(|| async { openapi(include_str!("../openapi/mynaportal.json")) }),
                )
                .route("/v1/health-insurance-registrations", post(register))
                .route("/v1/health-insurance-inquiries", post(inquire)),
        )
        .with_state(self)
    }
}

async fn register(
    State(m): State<Arc<Mynaportal>>,
    b: Result<axum::Json<HealthInsuranceRegistration>, JsonRejection>,
) -> Result<Response, Problem> {
    let b = body(b)?;
    let n = number(&b.issuance_number)?;
    let insurer = &b.insurer_number;
    if !(insurer.len() == 6 || insurer.len() == 8) || !insurer.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid("insurer_number: 6 or 8 digits"));
    }
    let row = sqlx::query(
        "INSERT INTO health_insurance (issuance_number, insurer_number, registered_at) \
         VALUES ($1, $2, $3) ON CONFLICT (issuance_number) \
         DO UPDATE SET insurer_number = excluded.insurer_number RETURNING registered_at",
    )
    .bind(n.to_string())
    .bind(insurer)
    .bind(now())
    .fetch_all(&m.store.pool)
    .await
    .map_err(storage)?;
    // Every statement is stepped to its end (`fetch_all`), so that none keeps a read open
    // and holds back the write-ahead log's checkpoint.
    let at: i64 = row
        .first()
        .map(|r| r.get(0))
        .ok_or_else(|| storage(sqlx::Error::RowNotFound))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"issuance_number": n.to_string(), "registered_at": at})),
    )
        .into_response())
}

async fn inquire(
    State(m): State<Arc<Mynaportal>>,
    b: Result<axum::Json<HealthInsuranceInquiry>, JsonRejection>,
) -> Result<axum::Json<Value>, Problem> {
    let n = number(&body(b)?.issuance_number)?;
    let at: Option<i64> =
        sqlx::query("SELECT registered_at FROM health_insurance WHERE issuance_number = $1")
            .bind(n.to_string())
            .fetch_all(&m.store.pool)
            .await
            .map_err(storage)?
            .first()
            .map(|r| r.get(0));
    Ok(axum::Json(
        json!({"registered": at.is_some(), "registered_at": at}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Account {
    bank_code: String,
    branch_code: String,
    account_type: String,
    number: String,
    holder: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationInquiry {
    issuance_numbers: Vec<String>,
}

impl AccountRegistry {
    /// `PUT /v1/accounts/{issuance_number}` (registering or replacing the holder's account),
    /// `POST /v1/registration-inquiries` (the platform's question), `GET /v1/openapi.json`.
    pub fn router(self: Arc<Self>) -> Router {
        common(
            Router::new()
                .route(
                    "/v1/openapi.json",
                    get(|| async { openapi(include_str!("../openapi/account-registry.json")) }),
                )
                .route("/v1/accounts/{issuance_number}", put(put_account))
                .route("/v1/registration-inquiries", post(registered)),
        )
        .with_state(self)
    }
}

async fn put_account(
    State(r): State<Arc<AccountRegistry>>,
    Path(n): Path<String>,
    b: Result<axum::Json<Account>, JsonRejection>,
) -> Result<Response, Problem> {
    let n = number(&n)?;
    let a = body(b)?;
    let account = PublicFundAccount::new(
        &a.bank_code,
        &a.branch_code,
        &a.account_type,
        &a.number,
        &a.holder,
    )
    .map_err(|e| match e {
        PlatformError::Invalid(i) => Problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-account",
            i.to_string(),
        ),
        other => invalid(other.to_string()),
    })?;
    let row = sqlx::query(
        "INSERT INTO accounts (issuance_number, bank_code, branch_code, account_type, number, \
         holder, registered_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (issuance_number) DO UPDATE SET bank_code = excluded.bank_code, \
         branch_code = excluded.branch_code, account_type = excluded.account_type, \
         number = excluded.number, holder = excluded.holder RETURNING registered_at",
    )
    .bind(n.to_string())
    .bind(account.bank_code())
    .bind(account.branch_code())
    .bind(account.account_type().as_str())
    .bind(account.number())
    .bind(account.holder())
    .bind(now())
    .fetch_all(&r.store.pool)
    .await
    .map_err(storage)?;
    // Every statement is stepped to its end (`fetch_all`), so that none keeps a read open
    // and holds back the write-ahead log's checkpoint.
    let at: i64 = row
        .first()
        .map(|r| r.get(0))
        .ok_or_else(|| storage(sqlx::Error::RowNotFound))?;
    Ok((StatusCode::OK, axum::Json(json!({"registered_at": at}))).into_response())
}

async fn registered(
    State(r): State<Arc<AccountRegistry>>,
    b: Result<axum::Json<RegistrationInquiry>, JsonRejection>,
) -> Result<axum::Json<Value>, Problem> {
    let asked = body(b)?.issuance_numbers;
    if asked.is_empty() || asked.len() > MAX_NUMBERS {
        return Err(invalid("issuance_numbers: 1 to 32 of them"));
    }
    let numbers = asked
        .iter()
        .map(|s| number(s).map(|n| n.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    // The one registered under the newest number wins (the list is newest first).
    for n in &numbers {
        let at: Option<i64> =
            sqlx::query("SELECT registered_at FROM accounts WHERE issuance_number = $1")
                .bind(n)
                .fetch_all(&r.store.pool)
                .await
                .map_err(storage)?
                .first()
                .map(|row| row.get(0));
        if let Some(at) = at {
            return Ok(axum::Json(json!({"registered": true, "registered_at": at})));
        }
    }
    Ok(axum::Json(
        json!({"registered": false, "registered_at": null}),
    ))
}
