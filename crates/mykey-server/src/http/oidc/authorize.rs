//! `GET|POST /oidc/authorize` (OpenID Connect Core §3.1.2): the cross-device page, with a QR
//! code of the approval URL and a short code for the phone, and the browser's way on —
//! `GET /oidc/authorize/status` (long polling) and `GET /oidc/authorize/continue` (`POST` with
//! the code the phone showed, when the approval asks the browser for it).
//!
//! The page names the approval URL in `<meta name="mykey-approve-url">` and where to continue
//! in `<meta name="mykey-continue-url">`, so that a client without a browser can drive the same
//! flow. The browser that opened the request holds its secret in a cookie scoped to
//! `/oidc/authorize`; only that browser can continue.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use mykey_platform::Platform;
use mykey_platform::oidc::{
    AuthorizationParams, AuthorizeError, Begun, BrowserOrigin, Continuation,
};
use serde::Deserialize;

use crate::http::catalogue::Lang;
use crate::http::catalogue::words::fact_name;
use crate::http::pages::{Asker, Waiting, approve_page, confirm_page, error_page, waiting_page};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/oidc/authorize", get(authorize).post(authorize))
        .route("/oidc/authorize/status", get(status))
        .route("/oidc/authorize/continue", get(proceed).post(confirm))
}

/// The cookie that ties a request to its browser: one per request, so tabs do not collide.
fn cookie_name(handle: &str) -> String {
    format!("mykey-authz-{}", handle.get(..12).unwrap_or(handle))
}

fn browser_secret(headers: &HeaderMap, handle: &str) -> Option<String> {
    cookie(headers, &cookie_name(handle)).map(str::to_owned)
}

/// The value of cookie `name`.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Where a request stands, as JSON, after waiting up to `wait` seconds (at most 25) for the
/// phone to answer: the browser's long poll.
pub(crate) async fn wait_for_answer(
    p: &Platform,
    handle: &str,
    secret: &str,
    wait: u64,
) -> Response {
    match p
        .wait_for_authorization(handle, secret, Duration::from_secs(wait.min(25)))
        .await
    {
        Ok(s) => {
            let mut r = axum::Json(mykey_api::oidc::AuthorizationStatus {
                status: s.as_str().to_owned(),
            })
            .into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => crate::http::ApiError::from(e).into_response(),
    }
}

/// Where the browser of `req` is: its peer address and what its `User-Agent` says.
pub(crate) fn origin(
    req_headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> BrowserOrigin {
    BrowserOrigin::new(
        extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip()),
        req_headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    )
}

async fn authorize(State(p): State<Arc<Platform>>, req: Request) -> Response {
    let headers = req.headers().clone();
    let began = origin(&headers, req.extensions());
    let params = if req.method() == axum::http::Method::POST {
        axum::Form::<AuthorizationParams>::from_request(req, &())
            .await
            .map(|f| f.0)
            .map_err(|e| e.body_text())
    } else {
        Query::<AuthorizationParams>::try_from_uri(req.uri())
            .map(|q| q.0)
            .map_err(|e| e.body_text())
    };
    let lang = Lang::pick(
        params.as_ref().ok().and_then(|p| p.ui_locales.as_deref()),
        &headers,
    );
    let params = match params {
        Ok(p) => p,
        // A parameter given twice, or not text: the request cannot be trusted (RFC 6749 §3.1).
        Err(detail) => return error_page(StatusCode::BAD_REQUEST, lang, &detail),
    };
    match p.begin_authorization(&params, began).await {
        Ok(b) => {
            let notices = crate::http::maintenance::notices(&p, lang).await;
            pending_page(&p, &b, lang, &notices)
        }
        Err(AuthorizeError::Redirect(to)) => Redirect::to(&to).into_response(),
        Err(AuthorizeError::Shown(e)) => super::failure::failure_page(lang, &e),
    }
}

fn pending_page(
    p: &Platform,
    b: &Begun,
    lang: Lang,
    notices: &crate::http::maintenance::Notices,
) -> Response {
    let t = lang.texts();
    let approve = format!("{}/v1/authorizations/{}", p.issuer(), b.handle);
    let facts = (!b.facts.is_empty()).then(|| {
        b.facts
            .iter()
            .map(|f| fact_name(t, *f))
            .collect::<Vec<_>>()
            .join(t.list_separator)
    });
    let mut r = approve_page(
        lang,
        &Waiting {
            handle: &b.handle,
            short_code: &b.short_code,
            expires_at: b.expires_at,
            approve: &approve,
            continue_path: "/oidc/authorize/continue",
            status_path: "/oidc/authorize/status",
            notices,
        },
        Some(Asker {
            relying_party: &b.relying_party.name,
            service: match (&b.service, &b.link) {
                (Some(s), _) => s.name.as_str().into(),
                (None, Some(l)) => {
                    format!("{}{}", t.service_id_link, l.customer_id.as_str()).into()
                }
                (None, None) => t.service_id_login.into(),
            },
            facts,
        }),
    );
    let secure = if p.issuer().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let ttl = b.expires_at.as_secs().saturating_sub(p.now().as_secs());
    let cookie = format!(
        "{}={}; Path=/oidc/authorize; Max-Age={ttl}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(&b.handle),
        b.browser_secret
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct StatusQuery {
    request: String,
    /// Seconds to wait for a change (long polling), at most 25.
    wait: Option<u64>,
}

async fn status(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Query(q): Query<StatusQuery>,
) -> Response {
    let secret = browser_secret(&headers, &q.request).unwrap_or_default();
    wait_for_answer(&p, &q.request, &secret, q.wait.unwrap_or(0)).await
}

#[derive(Deserialize)]
struct ContinueQuery {
    request: String,
    ui_locales: Option<String>,
    /// The code the phone showed (the form's `POST`).
    confirmation: Option<String>,
}

async fn proceed(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Query(q): Query<ContinueQuery>,
) -> Response {
    go_on(
        &p,
        &headers,
        ContinueQuery {
            confirmation: None,
            ..q
        },
    )
    .await
}

async fn confirm(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    axum::Form(q): axum::Form<ContinueQuery>,
) -> Response {
    go_on(&p, &headers, q).await
}

async fn go_on(p: &Platform, headers: &HeaderMap, q: ContinueQuery) -> Response {
    let lang = Lang::pick(q.ui_locales.as_deref(), headers);
    let secret = browser_secret(headers, &q.request).unwrap_or_default();
    match p
        .continue_authorization(&q.request, &secret, q.confirmation.as_deref())
        .await
    {
        Ok(Continuation::Redirect(to)) => Redirect::to(&to).into_response(),
        Ok(Continuation::Confirm { tries_left, wrong }) => confirm_page(
            lang,
            "/oidc/authorize/continue",
            &q.request,
            tries_left,
            wrong,
        ),
        Ok(Continuation::Pending { expires_at }) => {
            waiting_page(lang, "/oidc/authorize/continue", &q.request, expires_at)
        }
        Err(e) => super::failure::failure_page(lang, &e),
    }
}
