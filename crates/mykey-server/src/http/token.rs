//! `POST /oidc/token` (RFC 6749 §3.2): the token endpoint. It answers the `authorization_code`
//! grant (§4.1.3, with PKCE, RFC 7636 §4.5) with an ID token and an access token for userinfo,
//! and the `client_credentials` grant (§4.4) with an access token for `/v1/rp`; the client authenticates
//! with `client_secret_basic` (§2.3.1) or `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core
//! §9). Errors are the standard JSON of §5.2, not problem documents.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mykey_api::token::TokenResponse;
use mykey_platform::{CLIENT_ASSERTION_TYPE, CLIENT_TOKEN_TTL, Platform, PlatformError};

use super::oauth::{OAuthRefusal, no_store};
use super::rp::basic_credentials;

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new().route("/oidc/token", post(token))
}

/// The form parameters this grant reads; a parameter given twice is refused (§3.2), others are
/// ignored.
#[derive(Default)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    scope: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

impl TokenForm {
    /// Reads an `application/x-www-form-urlencoded` body (RFC 6749 §4.1.3, §4.4.2).
    async fn read(req: Request) -> Result<Self, OAuthRefusal> {
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(OAuthRefusal::request(
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let body = axum::body::to_bytes(req.into_body(), super::MAX_BODY)
            .await
            .map_err(|_| {
                OAuthRefusal::request("invalid_request", "the body is too large or was cut off")
            })?;
        let mut form = Self::default();
        for (name, value) in url::form_urlencoded::parse(&body) {
            let slot = match name.as_ref() {
                "grant_type" => &mut form.grant_type,
                "client_id" => &mut form.client_id,
                "client_assertion_type" => &mut form.client_assertion_type,
                "client_assertion" => &mut form.client_assertion,
                "scope" => &mut form.scope,
                "code" => &mut form.code,
                "redirect_uri" => &mut form.redirect_uri,
                "code_verifier" => &mut form.code_verifier,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(OAuthRefusal::request(
                    "invalid_request",
                    format!("{name} is given more than once"),
                ));
            }
        }
        Ok(form)
    }
}

#[utoipa::path(
    post,
    path = "/oidc/token",
    operation_id = "token_token",
    tag = "openid-connect",
    summary = "The token endpoint: authorization_code (PKCE S256) → ID token + access token for userinfo; client_credentials → an access token for /v1/rp (client_secret_basic or private_key_jwt)",
    request_body(content = mykey_api::token::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "OK (Cache-Control: no-store)", body = mykey_api::token::TokenResponse, content_type = "application/json"),
        (status = 400, description = "OAuth error (RFC 6749 §5.2)", body = mykey_api::token::OAuthError, content_type = "application/json"),
        (status = 401, description = "OAuth error (RFC 6749 §5.2)", body = mykey_api::token::OAuthError, content_type = "application/json")
    ),
    security(("client" = []), ())
)]
async fn token(State(p): State<Arc<Platform>>, req: Request) -> Response {
    let tried_basic = req.headers().contains_key(header::AUTHORIZATION);
    match grant(&p, req).await {
        Ok(r) => r,
        Err(e) => e.token_response(tried_basic),
    }
}

async fn grant(p: &Platform, req: Request) -> Result<Response, OAuthRefusal> {
    let basic = basic_credentials(req.headers());
    let door = req.extensions().get::<crate::rate::Door>().cloned();
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let form = TokenForm::read(req).await?;
    // The request's shape first, so that a malformed request spends no assertion.
    let code_grant = match form.grant_type.as_deref() {
        Some("client_credentials") => false,
        Some("authorization_code") => true,
        Some(other) => {
            return Err(OAuthRefusal::request(
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported here"),
            ));
        }
        None => {
            return Err(OAuthRefusal::request(
                "invalid_request",
                "grant_type is missing",
            ));
        }
    };
    if code_grant && form.code.is_none() {
        return Err(OAuthRefusal::request("invalid_request", "code is missing"));
    }
    // A login's code is the OpenID Connect function's, which a maintenance window may take
    // down; client credentials (relying parties' access to /v1/rp) are every function's.
    if code_grant && let Err(e) = p.under_maintenance(mykey_platform::Function::Oidc).await {
        let mut r = OAuthRefusal::of(&e).token_response(false);
        if let Some(secs) = e.retry_after() {
            r.headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        return Ok(r);
    }
    if !code_grant
        && form
            .scope
            .as_deref()
            .is_some_and(|s| !s.split(' ').all(|x| x == "rp"))
    {
        return Err(OAuthRefusal::request(
            "invalid_scope",
            "the only scope is \"rp\"",
        ));
    }
    let mut jti = None;
    let rp = match (
        basic,
        form.client_assertion_type.as_deref(),
        &form.client_assertion,
    ) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(OAuthRefusal::request(
                "invalid_request",
                "use one client authentication method, not two",
            ));
        }
        (Some((id, secret)), None, None) => p
            .authenticate_client(&id, &secret)
            .await
            .map_err(|e| OAuthRefusal::of(&e))?,
        (None, Some(CLIENT_ASSERTION_TYPE), Some(assertion)) => {
            // The client it names, unverified, slowed down after failures from this source as
            // a Basic client is at the door (`rate.rs`).
            let named = form
                .client_id
                .clone()
                .or_else(|| unverified_subject(assertion))
                .unwrap_or_default();
            let failures = match door.as_ref().map(|d| d.0.assertion_admitted(&named, peer)) {
                Some(Err(slowed)) => return Ok(slowed),
                Some(Ok(key)) => key,
                None => None,
            };
            let counted = |accepted: bool| {
                if let (Some(d), Some(key)) = (&door, failures) {
                    d.0.assertion_answered(key, accepted);
                }
            };
            let endpoint = format!("{}/oidc/token", p.issuer());
            let audiences = [endpoint.as_str(), p.issuer()];
            // The code grant spends the assertion's jti in the exchange's own transaction.
            let (rp, spent) = if code_grant {
                p.verify_client_assertion(assertion, &audiences)
                    .await
                    .map(|(rp, n)| (rp, Some(n)))
            } else {
                p.authenticate_client_assertion(assertion, &audiences)
                    .await
                    .map(|rp| (rp, None))
            }
            .map_err(|e| {
                if matches!(
                    e,
                    PlatformError::Access(mykey_platform::AccessError::InvalidClient)
                ) {
                    counted(false);
                }
                OAuthRefusal::of(&e)
            })?;
            if form.client_id.as_deref().is_some_and(|c| c != rp.client_id) {
                counted(false);
                return Err(OAuthRefusal::of(&PlatformError::Access(
                    mykey_platform::AccessError::InvalidClient,
                )));
            }
            counted(true);
            jti = spent;
            rp
        }
        (None, Some(other), _) => {
            return Err(OAuthRefusal::request(
                "invalid_request",
                format!("unsupported client_assertion_type {other:?}"),
            ));
        }
        (None, None, Some(_)) => {
            return Err(OAuthRefusal::request(
                "invalid_request",
                "client_assertion_type is missing",
            ));
        }
        (None, _, None) => {
            return Err(OAuthRefusal {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_client",
                description: "authenticate with client_secret_basic or private_key_jwt".into(),
            });
        }
    };
    // The relying party's own rate, however it authenticated (`rate.rs`).
    if let Err(r) = crate::rate::charge_relying_party(door.as_ref(), rp.id) {
        return Ok(r);
    }
    if code_grant {
        let t = p
            .exchange_code(
                &rp,
                jti,
                form.code.as_deref().unwrap_or_default(),
                form.redirect_uri.as_deref(),
                form.code_verifier.as_deref(),
            )
            .await
            .map_err(|e| OAuthRefusal::of(&e))?;
        let mut r = axum::Json(TokenResponse {
            access_token: t.access_token,
            token_type: "Bearer".to_owned(),
            expires_in: t.expires_in,
            id_token: Some(t.id_token),
            scope: t.scope,
        })
        .into_response();
        no_store(r.headers_mut());
        return Ok(r);
    }
    let (token, _) = p
        .issue_client_token(&rp)
        .await
        .map_err(|e| OAuthRefusal::of(&e))?;
    let mut r = axum::Json(TokenResponse {
        access_token: token.as_str().to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: CLIENT_TOKEN_TTL,
        id_token: None,
        scope: "rp".to_owned(),
    })
    .into_response();
    no_store(r.headers_mut());
    Ok(r)
}

/// The `sub` of a JWT's claims, unverified and at most 256 characters: whom a client assertion
/// says it comes from, before it is checked.
fn unverified_subject(jwt: &str) -> Option<String> {
    use base64::Engine;
    let claims = jwt.split('.').nth(1)?;
    if claims.len() > 4096 {
        return None;
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    v["sub"]
        .as_str()
        .filter(|s| s.len() <= 256)
        .map(str::to_owned)
}
