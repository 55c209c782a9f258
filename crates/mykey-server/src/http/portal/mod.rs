//! `/portal`: the card holder's own pages — server-rendered HTML, Japanese and English, usable by
//! keyboard and screen reader, with one small script (the login page's wait). Logging in is the
//! cross-device flow; the session lives in an `HttpOnly`, `SameSite=Strict` cookie scoped to
//! `/portal`, and every form carries a token derived from it (CSRF), checked before anything
//! changes.
//!
//! ```text
//! GET  /portal                      overview: My Key ID, linked services and their consents
//! GET  /portal/login[/status|/continue]   the cross-device login (POST …/continue with the
//!                                   code the phone showed: the browser proves it is the person's)
//! POST /portal/my-key-id            create, change or revoke (revoking asks for confirmation)
//! POST /portal/service-ids/{id}/withdrawal · /portal/ppid-services/{id}/withdrawal
//! GET  /portal/points               card points: applications, withdrawals, registrations (points.rs)
//! GET  /portal/log                  the person's log and its chain check
//! GET  /portal/export               everything held, as one JSON download (the log streamed by pages)
//! POST /portal/logout
//! ```

mod pages;
mod points;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mykey_platform::oidc::PortalContinuation;
use mykey_platform::{
    MY_KEY_ID_CONSENT, MyKeyId, NewConsent, Platform, PlatformError, Session, SessionToken,
};
use serde::Deserialize;

use super::oidc::authorize::{cookie, origin, wait_for_answer};
use crate::http::catalogue::Lang;
use crate::http::pages::{Waiting, approve_page, confirm_page, error_page, waiting_page};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/portal", get(overview))
        .route("/portal/login", get(login))
        .route("/portal/login/status", get(login_status))
        .route(
            "/portal/login/continue",
            get(login_continue).post(login_confirm),
        )
        .route("/portal/my-key-id", post(my_key_id))
        .route(
            "/portal/service-ids/{id}/withdrawal",
            post(withdraw_service_id),
        )
        .route("/portal/ppid-services/{id}/withdrawal", post(withdraw_ppid))
        .route("/portal/points", get(points::page))
        .route("/portal/point-applications", post(points::apply))
        .route(
            "/portal/point-applications/{id}/withdrawal",
            post(points::withdraw),
        )
        .route(
            "/portal/point-applications/{id}/triggers",
            post(points::claim),
        )
        .route("/portal/log", get(log))
        .route("/portal/export", get(export))
        .route("/portal/logout", post(logout))
}

const SESSION_COOKIE: &str = "mykey-session";
const LANG_COOKIE: &str = "mykey-lang";

fn secure(p: &Platform) -> &'static str {
    if p.issuer().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

#[derive(Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
    /// The log page's cursor (`/portal/log?before=SEQ`).
    before: Option<u64>,
    request: Option<String>,
    wait: Option<u64>,
    done: Option<String>,
    /// The code the phone showed (the confirmation form's `POST`).
    confirmation: Option<String>,
}

/// The page language: `?lang=` (remembered in a cookie), the cookie, then `Accept-Language`.
fn lang_of(q: &LangQuery, headers: &HeaderMap) -> Lang {
    let chosen = q.lang.as_deref().or(cookie(headers, LANG_COOKIE));
    Lang::pick(chosen, headers)
}

fn remember_lang(r: &mut Response, q: &LangQuery, lang: Lang) {
    if q.lang.is_some()
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/portal; Max-Age=31536000; SameSite=Lax",
            lang.texts().lang
        ))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The person's session from the cookie, and its token.
async fn session<'a>(p: &Platform, headers: &'a HeaderMap) -> Option<(Session, &'a str)> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let s = p.authenticate(token).await.ok()?;
    Some((s, token))
}

fn to_login() -> Response {
    Redirect::to("/portal/login").into_response()
}

fn failure(lang: Lang, e: &PlatformError) -> Response {
    super::oidc::failure::failure_page(lang, e)
}

async fn overview(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&q, &headers);
    let Some((s, token)) = session(&p, &headers).await else {
        return to_login();
    };
    let form = SessionToken::form_token(token);
    let data = async {
        Ok::<_, PlatformError>((
            p.my_key_id(&s).await?,
            p.my_links(&s).await?,
            p.my_ppid_services(&s).await?,
            p.coming_terms().await?,
            p.terms_version().await?,
        ))
    }
    .await;
    let notices = crate::http::maintenance::notices(&p, lang).await;
    let mut r = match data {
        Ok((id, links, ppids, coming, terms_version)) => pages::overview(
            lang,
            &form,
            pages::Held {
                my_key_id: id.as_ref(),
                links: &links,
                ppids: &ppids,
                coming_terms: &coming,
                terms_version: &terms_version,
                notices: &notices,
            },
            q.done.as_deref(),
        ),
        Err(e) => failure(lang, &e),
    };
    remember_lang(&mut r, &q, lang);
    r
}

async fn login(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    extensions: axum::http::Extensions,
) -> Response {
    let lang = lang_of(&q, &headers);
    let b = match p.begin_portal_login(origin(&headers, &extensions)).await {
        Ok(b) => b,
        Err(e) => return failure(lang, &e),
    };
    let approve = format!("{}/v1/authorizations/{}", p.issuer(), b.handle);
    let mut r = approve_page(
        lang,
        &Waiting {
            handle: &b.handle,
            short_code: &b.short_code,
            expires_at: b.expires_at,
            approve: &approve,
            continue_path: "/portal/login/continue",
            status_path: "/portal/login/status",
            notices: &crate::http::maintenance::notices(&p, lang).await,
        },
        None,
    );
    let ttl = b.expires_at.as_secs().saturating_sub(p.now().as_secs());
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}={}; Path=/portal/login; Max-Age={ttl}; HttpOnly; SameSite=Lax{}",
        pages::login_cookie(&b.handle),
        b.browser_secret,
        secure(&p)
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    remember_lang(&mut r, &q, lang);
    r
}

async fn login_status(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let handle = q.request.clone().unwrap_or_default();
    let secret = cookie(&headers, &pages::login_cookie(&handle)).unwrap_or_default();
    wait_for_answer(&p, &handle, secret, q.wait.unwrap_or(0)).await
}

async fn login_continue(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    go_on(
        &p,
        &headers,
        LangQuery {
            confirmation: None,
            ..q
        },
    )
    .await
}

async fn login_confirm(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Query(lang): Query<LangQuery>,
    Form(q): Form<LangQuery>,
) -> Response {
    go_on(
        &p,
        &headers,
        LangQuery {
            lang: lang.lang,
            ..q
        },
    )
    .await
}

async fn go_on(p: &Platform, headers: &HeaderMap, q: LangQuery) -> Response {
    let lang = lang_of(&q, headers);
    let handle = q.request.clone().unwrap_or_default();
    let secret = cookie(headers, &pages::login_cookie(&handle)).unwrap_or_default();
    match p
        .continue_portal_login(&handle, secret, q.confirmation.as_deref())
        .await
    {
        Ok(PortalContinuation::LoggedIn(token)) => {
            let mut r = Redirect::to("/portal").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={}; Path=/portal; HttpOnly; SameSite=Strict{}",
                token.as_str(),
                secure(p)
            )) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(PortalContinuation::Confirm { tries_left, wrong }) => {
            confirm_page(lang, "/portal/login/continue", &handle, tries_left, wrong)
        }
        Ok(PortalContinuation::Pending { expires_at }) => {
            waiting_page(lang, "/portal/login/continue", &handle, expires_at)
        }
        Ok(PortalContinuation::Refused) => {
            error_page(StatusCode::FORBIDDEN, lang, lang.texts().login_refused)
        }
        Err(e) => failure(lang, &e),
    }
}

#[derive(Deserialize)]
struct MyKeyIdForm {
    /// What to do: create, change or revoke.
    #[serde(default)]
    action: String,
    #[serde(default)]
    csrf: String,
    /// The ID wanted (create or change); empty for a random free one.
    #[serde(default)]
    id: String,
    /// Revoking needs this ticked.
    #[serde(default)]
    confirm: Option<String>,
    /// Creating needs this ticked: the person accepts Art 16.1 …
    #[serde(default)]
    accept: Option<String>,
    /// … under the terms version the page showed.
    #[serde(default)]
    terms_version: String,
}

/// The session, if the form's token is this session's; else the answer to give.
async fn form_session(
    p: &Platform,
    headers: &HeaderMap,
    lang: Lang,
    csrf: &str,
) -> Result<Session, Response> {
    let Some((s, token)) = session(p, headers).await else {
        return Err(to_login());
    };
    if SessionToken::form_token_matches(token, csrf) {
        Ok(s)
    } else {
        Err(error_page(
            StatusCode::FORBIDDEN,
            lang,
            lang.texts().form_unverified,
        ))
    }
}

fn done(what: &str) -> Response {
    Redirect::to(&format!("/portal?done={what}")).into_response()
}

async fn my_key_id(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Form(f): Form<MyKeyIdForm>,
) -> Response {
    let lang = lang_of(&LangQuery::default(), &headers);
    let s = match form_session(&p, &headers, lang, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let wanted = match f.id.trim() {
        "" => None,
        id => match id.parse::<MyKeyId>() {
            Ok(id) => Some(id),
            Err(e) => return failure(lang, &PlatformError::from(e)),
        },
    };
    let outcome = match f.action.as_str() {
        "create" if f.accept.as_deref() == Some("yes") => {
            let consent = NewConsent {
                items: MY_KEY_ID_CONSENT
                    .iter()
                    .map(|i| i.name.to_owned())
                    .collect(),
                terms_version: f.terms_version.clone(),
            };
            p.create_my_key_id(&s, wanted, &consent)
                .await
                .map(|_| "created")
        }
        "create" => {
            return error_page(StatusCode::BAD_REQUEST, lang, lang.texts().accept_unticked);
        }
        "change" => p.change_my_key_id(&s, wanted).await.map(|_| "changed"),
        "revoke" if f.confirm.as_deref() == Some("yes") => {
            p.revoke_my_key_id(&s).await.map(|_| "revoked")
        }
        "revoke" => {
            return error_page(StatusCode::BAD_REQUEST, lang, lang.texts().revoke_unticked);
        }
        _ => return error_page(StatusCode::BAD_REQUEST, lang, lang.texts().unknown_action),
    };
    match outcome {
        Ok(what) => done(what),
        Err(e) => failure(lang, &e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn withdraw_service_id(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let lang = lang_of(&LangQuery::default(), &headers);
    let s = match form_session(&p, &headers, lang, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<mykey_platform::LinkId>() else {
        return failure(
            lang,
            &PlatformError::NotFound(mykey_platform::NotFound::ServiceId),
        );
    };
    match p.withdraw_link(&s, id).await {
        Ok(()) => done("withdrawn"),
        Err(e) => failure(lang, &e),
    }
}

async fn withdraw_ppid(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let lang = lang_of(&LangQuery::default(), &headers);
    let s = match form_session(&p, &headers, lang, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match p
        .withdraw_ppid_consent(&s, mykey_platform::PpidServiceId::new(id))
        .await
    {
        Ok(()) => done("withdrawn"),
        Err(e) => failure(lang, &e),
    }
}

/// Log entries on one portal page.
const LOG_PAGE: usize = 50;

async fn log(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&q, &headers);
    let Some((s, token)) = session(&p, &headers).await else {
        return to_login();
    };
    let form = SessionToken::form_token(token);
    let page = async {
        let whole = p.log(&s).await?;
        let chain_ok = mykey_platform::verify_chain(&whole).is_ok();
        let (entries, next) = p.log_page(&s, q.before, true, LOG_PAGE).await?;
        Ok::<_, mykey_platform::PlatformError>((entries, next, chain_ok))
    };
    match page.await {
        Ok((entries, next, chain_ok)) => pages::log(lang, &form, &entries, next, chain_ok),
        Err(e) => failure(lang, &e),
    }
}

async fn export(State(p): State<Arc<Platform>>, headers: HeaderMap) -> Response {
    let lang = lang_of(&LangQuery::default(), &headers);
    let Some((s, _)) = session(&p, &headers).await else {
        return to_login();
    };
    match p.export(&s).await {
        Ok(e) => {
            let body = super::export::complete_download(p.clone(), s, &e);
            let mut r = body.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"mykey-export.json\""),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        Err(e) => failure(lang, &e),
    }
}

async fn logout(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let lang = lang_of(&LangQuery::default(), &headers);
    if let Err(r) = form_session(&p, &headers, lang, &f.csrf).await {
        return r;
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = p.end_session(token).await
    {
        return failure(lang, &e);
    }
    let mut r = Redirect::to("/portal/login").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "mykey-session=; Path=/portal; Max-Age=0; HttpOnly; SameSite=Strict",
        ),
    );
    r
}
