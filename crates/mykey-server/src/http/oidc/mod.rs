//! The OpenID Connect provider's endpoints (the token endpoint is `../token.rs`, the JWK Set
//! `../events.rs`):
//!
//! ```text
//! GET  /.well-known/openid-configuration   Discovery 1.0 §4
//! GET|POST /oidc/authorize                 the cross-device page (authorize.rs)
//! GET  /oidc/authorize/status · /oidc/authorize/continue
//! GET|POST /oidc/userinfo                  Core §5.3 (Bearer)
//! GET|POST /oidc/logout                    RP-Initiated Logout 1.0
//! GET  /static/{mykey.css,authorize.js}
//! ```

pub(crate) mod authorize;
pub(crate) mod failure;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use mykey_platform::oidc::{ACR_CARD, FactScope, LogoutOutcome, LogoutRequest};
use mykey_platform::{Platform, PlatformError};

use crate::http::catalogue::{Lang, Texts, render};
use crate::http::pages::{self, error_page};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/oidc/logout", get(logout).post(logout))
        .route(
            "/static/mykey.css",
            get(|| static_file("text/css", pages::CSS)),
        )
        .route(
            "/static/authorize.js",
            get(|| static_file("text/javascript", pages::AUTHORIZE_JS)),
        )
        .merge(authorize::routes())
}

async fn static_file(kind: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    operation_id = "oidc_discovery",
    tag = "openid-connect",
    summary = "OpenID Connect Discovery 1.0 metadata",
    responses(
        (status = 200, description = "OK", body = mykey_api::oidc::ProviderMetadata, content_type = "application/json")
    )
)]
async fn discovery(State(p): State<Arc<Platform>>) -> Response {
    let iss = p.issuer();
    let mut scopes = vec!["openid"];
    scopes.extend(FactScope::ALL.iter().map(|f| f.as_str()));
    let v = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut r = axum::Json(mykey_api::oidc::ProviderMetadata {
        issuer: iss.to_owned(),
        authorization_endpoint: format!("{iss}/oidc/authorize"),
        token_endpoint: format!("{iss}/oidc/token"),
        userinfo_endpoint: format!("{iss}/oidc/userinfo"),
        jwks_uri: format!("{iss}/oidc/jwks"),
        end_session_endpoint: format!("{iss}/oidc/logout"),
        scopes_supported: v(&scopes),
        response_types_supported: v(&["code"]),
        response_modes_supported: v(&["query"]),
        grant_types_supported: v(&["authorization_code", "client_credentials"]),
        subject_types_supported: v(&["pairwise"]),
        id_token_signing_alg_values_supported: v(&["ES256", "RS256"]),
        token_endpoint_auth_methods_supported: v(&["private_key_jwt", "client_secret_basic"]),
        token_endpoint_auth_signing_alg_values_supported: v(&["ES256", "RS256", "PS256"]),
        code_challenge_methods_supported: v(&["S256"]),
        claims_supported: v(&[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "acr",
            "amr",
            "azp",
            "at_hash",
            "name",
            "address",
            "birthdate",
            "gender",
        ]),
        acr_values_supported: v(&[ACR_CARD]),
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        authorization_response_iss_parameter_supported: true,
        ui_locales_supported: v(&["ja", "en"]),
        claim_types_supported: v(&["normal"]),
    })
    .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

#[utoipa::path(
    method(get, post),
    path = "/oidc/userinfo",
    operation_id = "oidc_userinfo",
    tag = "openid-connect",
    summary = "Userinfo (Bearer access token): sub and the facts consented to in that login (by GET or POST)",
    responses(
        (status = 200, description = "OK", body = mykey_api::oidc::UserInfo, content_type = "application/json"),
        (status = 401, description = "RFC 6750 error (WWW-Authenticate: Bearer error=\"invalid_token\")")
    )
)]
async fn userinfo(State(p): State<Arc<Platform>>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let Some(token) = super::bearer(&parts) else {
        // RFC 6750 §3.1: no credentials, no error code.
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    };
    match p.userinfo(token).await {
        Ok(claims) => {
            let mut r = axum::Json(claims).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => super::oauth::OAuthRefusal::of(&e).bearer_response(),
    }
}

/// Asks the person whether to log out (no `id_token_hint` named the login): the same request
/// again, by POST with `logout_confirmed=yes`, or nothing.
fn confirm_logout(lang: Lang, asked_by: Option<&str>, r: &LogoutRequest) -> Response {
    let hidden = [
        ("client_id", &r.client_id),
        ("post_logout_redirect_uri", &r.post_logout_redirect_uri),
        ("state", &r.state),
        ("ui_locales", &r.ui_locales),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value.as_deref()?)))
    .collect();
    logout_page(lang, Some(LogoutQuestion { asked_by, hidden }))
}

/// The logout page: the question, or (`None`) that the person is logged out.
fn logout_page(lang: Lang, question: Option<LogoutQuestion<'_>>) -> Response {
    let t = lang.texts();
    let title = if question.is_some() {
        t.logout_title
    } else {
        t.logged_out
    };
    render(StatusCode::OK, &LogoutPage { t, title, question })
}

#[derive(askama::Template)]
#[template(path = "pages/logout.html")]
struct LogoutPage<'a> {
    t: &'static Texts,
    title: &'static str,
    question: Option<LogoutQuestion<'a>>,
}

/// What the logout question shows and posts back.
struct LogoutQuestion<'a> {
    /// The relying party asking, when the request named it.
    asked_by: Option<&'a str>,
    /// The request's parameters, posted back with the answer.
    hidden: Vec<(&'static str, &'a str)>,
}

async fn logout(State(p): State<Arc<Platform>>, req: Request) -> Response {
    let headers = req.headers().clone();
    let posted = req.method() == axum::http::Method::POST;
    let params = if req.method() == axum::http::Method::POST {
        axum::Form::<LogoutRequest>::from_request(req, &())
            .await
            .map(|f| f.0)
            .map_err(|e| e.body_text())
    } else {
        Query::<LogoutRequest>::try_from_uri(req.uri())
            .map(|q| q.0)
            .map_err(|e| e.body_text())
    };
    let lang = Lang::pick(
        params.as_ref().ok().and_then(|r| r.ui_locales.as_deref()),
        &headers,
    );
    let mut params = match params {
        Ok(r) => r,
        Err(detail) => return error_page(StatusCode::BAD_REQUEST, lang, &detail),
    };
    if !posted {
        // The person's answer comes only from the question's own form (a POST).
        params.logout_confirmed = None;
    }
    match p.logout(&params).await {
        Ok(LogoutOutcome::Redirect(to)) => Redirect::to(&to).into_response(),
        Ok(LogoutOutcome::Confirm { asked_by }) => {
            confirm_logout(lang, asked_by.as_deref(), &params)
        }
        Ok(LogoutOutcome::Done) => logout_page(lang, None),
        Err(e @ PlatformError::Invalid(mykey_platform::InvalidError::Logout(_))) => {
            error_page(StatusCode::BAD_REQUEST, lang, &e.to_string())
        }
        Err(e) => super::ApiError::from(e).into_response(),
    }
}
