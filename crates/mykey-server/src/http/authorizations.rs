//! `/v1/authorizations/{handle}`: the phone's side of a cross-device login (docs/architecture.md §7.2).
//! The handle is the QR code's (unguessable); the short code the browser shows works in its
//! place, within a budget for guessing per source address and for the whole platform
//! (`mykey_platform::oidc::ShortCodeGuard`; over it: 429 with Retry-After). No session is
//! needed: approval is proved with the card.
//!
//! Against phishing and swapped sessions (the OAuth cross-device practice), the view says when
//! and from where the browser began the request and what approving gives it, in words
//! (`summary`); where the browser could be someone else's, the approval answers a
//! `confirmation_code` for the person to type into their browser; and a refusal may report
//! the request as not the person's own (`{"report": true}`), for the operator.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use mykey_api::authorizations::{
    AuthorizationApproval, AuthorizationApproved, AuthorizationRefusal, AuthorizationShown, Began,
    LinkOffered, PpidServiceNamed, Summary,
};
use mykey_platform::{Platform, PlatformError};

use base64::Engine;

use super::auth::{challenge_body, decode_card};
use super::link_requests::{consent_asked, new_consent};
use super::me::shown;
use super::{ApiError, JsonBody, OptionalJson, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/authorizations/{handle}", get(show))
        .route("/v1/authorizations/{handle}/challenges", post(challenge))
        .route("/v1/authorizations/{handle}/approval", post(approve))
        .route("/v1/authorizations/{handle}/refusal", post(refuse))
}

/// Where a request comes from: the peer's address, when the server was started with it
/// (`mykey serve` is; behind a reverse proxy it is the proxy's).
type From = Option<Extension<ConnectInfo<SocketAddr>>>;

fn source(from: From) -> Option<IpAddr> {
    from.map(|Extension(ConnectInfo(a))| a.ip())
}

/// What approving does, in words a person understands, in Japanese and English.
fn summary(v: &mykey_platform::oidc::AuthorizationView, now: u64) -> Summary {
    let ago = now.saturating_sub(v.began_at.as_secs());
    let (where_ja, where_en) = match (&v.began.address, &v.began.browser) {
        (Some(a), Some(b)) => (format!("{a}（{b}）"), format!("{a} ({b})")),
        (Some(a), None) => (a.clone(), a.clone()),
        (None, Some(b)) => (b.clone(), b.clone()),
        (None, None) => ("不明な場所".to_owned(), "an unknown place".to_owned()),
    };
    let (what_ja, what_en) = match &v.relying_party {
        None => (
            "あなたのMyKeyポータルへのログイン。承認すると、そのブラウザーであなたのMy Key ID、連携、記録を見て変更し、データを書き出せます。".to_owned(),
            "logging in to your MyKey portal. If you approve, that browser can see and change your My Key ID, your links and your log, and export your data.".to_owned(),
        ),
        Some(rp) => match (&v.service, &v.link) {
            (Some(s), _) => (
                format!("{}（{}）へのログイン。承認すると、そのブラウザーで{}にあなたとしてログインします。", rp.name, s.name, rp.name),
                format!("logging in to {} ({}). If you approve, that browser is logged in to {} as you.", rp.name, s.name, rp.name),
            ),
            (None, Some(l)) => (
                format!("{}へのログインと、{}の番号「{}」とあなたのMy Key IDの連携（サービスID）。承認すると連携され、そのブラウザーで{}にその番号の利用者としてログインします。", rp.name, rp.name, l.customer_id.as_str(), rp.name),
                format!("logging in to {} and linking its customer number {} with your My Key ID (a Service ID). If you approve, it is linked and that browser is logged in to {} as that customer.", rp.name, l.customer_id.as_str(), rp.name),
            ),
            (None, None) => (
                format!("{}へのサービスIDでのログイン。承認すると、そのブラウザーで{}に、あなたと連携している番号の利用者としてログインします。", rp.name, rp.name),
                format!("logging in to {} by your Service ID. If you approve, that browser is logged in to {} as the customer your card is linked to.", rp.name, rp.name),
            ),
        },
    };
    let confirm_ja = if v.confirm_in_browser {
        "承認後に表示される6桁の番号を、目の前の自分のブラウザーに入力します。その番号を誰にも教えないでください。"
    } else {
        ""
    };
    let confirm_en = if v.confirm_in_browser {
        " After approving, type the six-digit code shown into your own browser in front of you; never tell it to anyone."
    } else {
        ""
    };
    Summary {
        ja: format!(
            "{ago}秒前に{where_ja}のブラウザーが始めた、{what_ja}自分で始めたものでなければ、承認せずに拒否して報告してください。{confirm_ja}"
        ),
        en: format!(
            "A browser at {where_en} began this {ago} seconds ago, for {what_en} If you did not start it yourself, do not approve: refuse and report it.{confirm_en}"
        ),
    }
}

#[utoipa::path(
    get,
    path = "/v1/authorizations/{handle}",
    operation_id = "authorizations_show",
    tag = "card",
    summary = "The phone: who asks for what in a cross-device login",
    params(
        ("handle" = String, Path, description = "The QR code's handle, or the short code (limited: see 429)")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::authorizations::AuthorizationShown, content_type = "application/json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many short codes that named no request, from this address (10 at once, then one every 6 s), from its IPv6 /48 (30 at once, then one every 3 s), or, for addresses that missed in the last ten minutes, from everywhere (600 at once, then 20 a second): `too-many-attempts`, with Retry-After in seconds. Only lookups by short code count; the QR code's handle is never limited.", body = mykey_api::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
async fn show(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
    from: From,
) -> Result<impl IntoResponse, ApiError> {
    let v = p.authorization_view(&handle, source(from)).await?;
    let summary = summary(&v, p.now().as_secs());
    Ok(axum::Json(AuthorizationShown {
        short_code: v.short_code.clone(),
        purpose: if v.relying_party.is_some() {
            "openid-connect"
        } else {
            "portal"
        }
        .to_owned(),
        relying_party: v
            .relying_party
            .as_ref()
            .map(|rp| shown(&rp.name, rp.kind, rp.profile.as_ref())),
        ppid_service: v.service.as_ref().map(|s| PpidServiceNamed {
            name: s.name.clone(),
        }),
        subject: v.relying_party.as_ref().map(|_| {
            if v.service.is_some() {
                "ppid"
            } else {
                "service-id"
            }
            .to_owned()
        }),
        link: v.link.as_ref().map(|l| LinkOffered {
            customer_id: l.customer_id.as_str().to_owned(),
        }),
        facts: v.facts.iter().map(|f| f.as_str().to_owned()).collect(),
        expires_at: rfc3339(v.expires_at),
        consent: consent_asked(&v.consent_items, v.terms_version.clone()),
        began: Began {
            at: rfc3339(v.began_at),
            from: v.began.address.clone(),
            browser: v.began.browser.clone(),
        },
        confirm_in_browser: v.confirm_in_browser,
        summary,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/authorizations/{handle}/challenges",
    operation_id = "authorizations_challenge",
    tag = "card",
    summary = "A one-time challenge for the card, bound to the request's relying party",
    params(
        ("handle" = String, Path, description = "The QR code's handle, or the short code (limited: see 429)")
    ),
    responses(
        (status = 201, description = "Created", body = mykey_api::auth::Challenge, content_type = "application/json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many short codes that named no request, from this address (10 at once, then one every 6 s), from its IPv6 /48 (30 at once, then one every 3 s), or, for addresses that missed in the last ten minutes, from everywhere (600 at once, then 20 a second): `too-many-attempts`, with Retry-After in seconds. Only lookups by short code count; the QR code's handle is never limited.", body = mykey_api::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
async fn challenge(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
    from: From,
) -> Result<impl IntoResponse, ApiError> {
    let c = p.authorization_challenge(&handle, source(from)).await?;
    Ok((StatusCode::CREATED, axum::Json(challenge_body(&c))))
}

#[utoipa::path(
    post,
    path = "/v1/authorizations/{handle}/approval",
    operation_id = "authorizations_approve",
    tag = "card",
    summary = "The card approves: signature, consent to every item shown, the facts asked for",
    params(
        ("handle" = String, Path, description = "The QR code's handle, or the short code (limited: see 429)")
    ),
    request_body(content = mykey_api::authorizations::AuthorizationApproval, content_type = "application/json"),
    responses(
        (status = 200, description = "Approved. Where `confirm_in_browser` was true, `confirmation_code` (six digits) is the code the person types into their own browser: show it on the phone only, and tell the person never to give it to anyone.", body = mykey_api::authorizations::AuthorizationApproved, content_type = "application/json"),
        (status = 400, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many short codes that named no request, from this address (10 at once, then one every 6 s), from its IPv6 /48 (30 at once, then one every 3 s), or, for addresses that missed in the last ten minutes, from everywhere (600 at once, then 20 a second): `too-many-attempts`, with Retry-After in seconds. Only lookups by short code count; the QR code's handle is never limited.", body = mykey_api::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn approve(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
    from: From,
    JsonBody(req): JsonBody<AuthorizationApproval>,
) -> Result<impl IntoResponse, ApiError> {
    let card = decode_card(&req.nonce, &req.certificate, &req.signature)?;
    let consent = new_consent(req.consent);
    let signature_certificate = match &req.signature_certificate {
        Some(b64) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| {
                    PlatformError::Invalid(mykey_platform::InvalidError::Facts(
                        "signature_certificate is not base64",
                    ))
                })?,
        ),
        None => None,
    };
    let approved = p
        .approve_authorization(
            &handle,
            source(from),
            &card.answer(),
            &consent,
            signature_certificate.as_deref(),
        )
        .await?;
    Ok(axum::Json(AuthorizationApproved {
        approved: true,
        confirmation_code: approved.confirmation_code,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/authorizations/{handle}/refusal",
    operation_id = "authorizations_refuse",
    tag = "card",
    summary = "The card holder declines",
    params(
        ("handle" = String, Path, description = "The QR code's handle, or the short code (limited: see 429)")
    ),
    request_body(content = Option<mykey_api::authorizations::AuthorizationRefusal>, content_type = "application/json", description = "Optional. `report: true` says the request is not the person's own (someone asked them to approve it, or they did not start it): recorded for the operator with where and when the browser began it."),
    responses(
        (status = 204, description = "Declined"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many short codes that named no request, from this address (10 at once, then one every 6 s), from its IPv6 /48 (30 at once, then one every 3 s), or, for addresses that missed in the last ten minutes, from everywhere (600 at once, then 20 a second): `too-many-attempts`, with Retry-After in seconds. Only lookups by short code count; the QR code's handle is never limited.", body = mykey_api::problem::Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn refuse(
    Path(handle): Path<String>,
    State(p): State<Arc<Platform>>,
    from: From,
    OptionalJson(body): OptionalJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<impl IntoResponse, ApiError> {
    // An object or nothing (serde would also take `[true]` for the struct).
    let report = match body {
        None => false,
        Some(map) => {
            serde_json::from_value::<AuthorizationRefusal>(serde_json::Value::Object(map))
                .map_err(|e| ApiError::InvalidRequest(format!("malformed JSON body: {e}")))?
                .report
        }
    };
    p.decline_authorization(&handle, source(from), report)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
