//! The OpenAPI 3.1 document at `/v1/openapi.json`, derived from the wire models
//! (`mykey_api`, `ToSchema`) and the handlers' `#[utoipa::path]`: nothing in it is written by
//! hand but the introduction (`openapi.md`) and the security schemes. Built once.
//!
//! The HTML pages of the OpenID Connect provider are served by `oidc/`; their operations are
//! described here, on functions that only carry the description, so that the pages' modules
//! hold only pages. `/oidc/userinfo` answers GET and POST alike and is described once for both.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{
    auth, authorizations, events, export, link_requests, maintenance, me, oidc, operators, ops,
    pinless, point_applications, point_grants, points, ppid_services, rp, rp_ppid,
    service_id_logins, streams, terms, token,
};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "MyKey Platform", version = "1", description = include_str!("openapi.md")),
    paths(
        super::health,
        super::live,
        super::ready,
        openapi_json,
        auth::challenge,
        auth::respond,
        me::overview,
        me::show,
        me::create,
        me::change,
        me::consent,
        me::revoke,
        me::log,
        me::verify,
        me::service_ids,
        me::withdraw,
        me::ppid_services,
        me::withdraw_ppid,
        export::export,
        link_requests::show,
        link_requests::challenge,
        link_requests::approve,
        link_requests::refuse,
        ppid_services::show,
        ppid_services::challenge,
        ppid_services::authenticate,
        authorizations::show,
        authorizations::challenge,
        authorizations::approve,
        authorizations::refuse,
        service_id_logins::challenge,
        service_id_logins::authenticate,
        rp::open_request,
        rp::apply,
        rp::profile,
        rp::set_profile,
        rp::list,
        rp::remove,
        rp::check_facts,
        rp_ppid::list,
        rp_ppid::register,
        rp_ppid::redeem,
        rp_ppid::ppids,
        rp_ppid::associate,
        service_id_logins::redeem,
        pinless::open,
        pinless::show,
        pinless::approve,
        points::rounds,
        points::define,
        points::open,
        points::close,
        points::all_services,
        points::approve,
        points::withdraw,
        points::own_services,
        points::register,
        points::programme,
        point_applications::mine,
        point_applications::apply,
        point_applications::withdraw,
        point_applications::claim,
        point_applications::queue,
        point_applications::one,
        point_applications::answer,
        point_applications::kiosk_challenge,
        point_applications::kiosk_apply,
        point_grants::report,
        point_grants::instruct,
        point_grants::grants,
        point_grants::confirm,
        point_grants::statement,
        point_grants::statement_csv,
        events::poll,
        streams::show,
        streams::configure,
        streams::remove,
        terms::list,
        terms::publish,
        maintenance::list,
        maintenance::announce,
        maintenance::end,
        maintenance::termination,
        maintenance::announce_termination,
        maintenance::withdraw_termination,
        ops::list,
        ops::register,
        ops::approve,
        ops::suspend,
        ops::rotate,
        ops::set_jwks,
        ops::remove_jwks,
        ops::show_oidc_client,
        ops::set_oidc_client,
        ops::reports,
        operators::list,
        operators::add,
        operators::end,
        operators::log,
        operators::verify,
        operators::person,
        operators::person_log,
        operators::suspend_person,
        operators::resume_person,
        operators::suspend_my_key_id,
        operators::resume_my_key_id,
        operators::forfeit_points,
        streams::show_to_operator,
        token::token,
        events::jwks,
        oidc::discovery,
        oidc::userinfo,
        pages::authorize_page,
        pages::authorize_form,
        pages::authorize_status,
        pages::authorize_continue,
        pages::authorize_confirm,
        pages::logout_page,
        pages::logout_form,
        pages::metrics,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Card login"),
        (name = "me", description = "The person, with a session"),
        (name = "card", description = "What the card holder answers with the card: link requests, PPID services, logins by Service ID, cross-device logins"),
        (name = "rp", description = "Relying parties, as OAuth clients"),
        (name = "ops", description = "Operators: relying parties, Terms versions, reported logins"),
        (name = "operators", description = "Operator accounts and roles, the operator log, and the help desk (Terms Art 8.2, 18)"),
        (name = "points", description = "The card-point programme (Terms Chapter 5): payment providers' services and applications, and what anyone may read before applying"),
        (name = "terms", description = "Terms of use"),
        (name = "maintenance", description = "Maintenance windows (Terms Art 9.3) and the end of the system (Art 10): what is announced"),
        (name = "openid-connect", description = "The OpenID Connect provider"),
        (name = "platform", description = "The platform itself")
    )
)]
pub(crate) struct ApiDoc;

/// The ways a caller proves who it is.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, scheme, description) in [
            (
                "session",
                HttpAuthScheme::Bearer,
                "A session token from POST /v1/auth/responses",
            ),
            (
                "operator",
                HttpAuthScheme::Bearer,
                "An operator's session: the session token of a card login (POST /v1/auth/responses) by a person with an active operator account; each role reaches only its functions (403 operator-role-refused). Until the first administrator account exists, the bootstrap token (the data folder's operator-token) stands in for an administrator; after, it is refused (401 operator-token-retired).",
            ),
            (
                "client",
                HttpAuthScheme::Basic,
                "client_secret_basic (RFC 6749 §2.3.1): client_id and client_secret of an approved relying party.",
            ),
            (
                "metrics",
                HttpAuthScheme::Bearer,
                "The metrics token: MYKEY_METRICS_TOKEN, or the data folder's metrics-token (made on first start, 0600)",
            ),
            (
                "clientToken",
                HttpAuthScheme::Bearer,
                "An access token from POST /oidc/token (client_credentials; the client authenticated there with client_secret_basic or private_key_jwt)",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(scheme)
                        .description(Some(description))
                        .build(),
                ),
            );
        }
    }
}

/// The document as served, made once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    absent_not_null(&mut doc);
    maintenance_answers(&mut doc);
    termination_answers(&mut doc);
    doc.to_string()
});

/// A body that may be left out (`request_body = Option<T>`) is described by utoipa as `T` or
/// JSON `null`; the handlers take an empty body for "none" and refuse `null`, so the optional
/// bodies are described as `T`, not required.
fn absent_not_null(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for op in paths.values_mut().filter_map(|p| p.as_object_mut()) {
        for body in op.values_mut().filter_map(|o| o.get_mut("requestBody")) {
            if body.get("required") == Some(&serde_json::Value::Bool(true)) {
                continue;
            }
            let Some(content) = body.get_mut("content").and_then(|c| c.as_object_mut()) else {
                continue;
            };
            for media in content.values_mut() {
                let Some(one_of) = media["schema"]["oneOf"].as_array() else {
                    continue;
                };
                if let [t, null] = one_of.as_slice()
                    && null == &serde_json::json!({"type": "null"})
                {
                    media["schema"] = t.clone();
                }
            }
        }
    }
}

/// Every operation of a function maintenance can take down (`maintenance::gate_of`) may be
/// answered `503` with `Retry-After` while a window is in effect: a problem document
/// (`maintenance`) on the JSON API, an OAuth error at the token and userinfo endpoints, the
/// failure page on the pages.
fn maintenance_answers(doc: &mut serde_json::Value) {
    use serde_json::json;
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for (path, ops) in paths.iter_mut() {
        if !matches!(
            super::maintenance::gate_of(path),
            Some(super::maintenance::Gate::Function(_) | super::maintenance::Gate::Partly(_))
        ) {
            continue;
        }
        let content = if path.starts_with("/v1/") {
            json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}})
        } else if matches!(path.as_str(), "/oidc/token" | "/oidc/userinfo") {
            json!({"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}})
        } else {
            json!({"text/html": {"schema": {"type": "string"}}})
        };
        for op in ops.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            responses.entry("503").or_insert_with(|| {
                json!({
                    "description": "Unavailable: the function is under maintenance (Art 9.3), or the platform is overloaded",
                    "headers": {"Retry-After": {"description": "Seconds until the window ends", "schema": {"type": "integer"}}},
                    "content": content,
                })
            });
        }
    }
}

/// The operations that start something new, refused once the system has ended (Art 10): 410
/// `system-terminated` (`Platform::refuse_after_termination`).
pub(crate) const APPLICATIONS: [(&str, &str); 10] = [
    ("post", "/v1/me/my-key-id"),
    ("post", "/v1/ops/relying-parties"),
    ("post", "/v1/rp/service-id-requests"),
    ("post", "/v1/rp/service-ids"),
    ("post", "/v1/link-requests/{id}/approval"),
    ("post", "/v1/rp/ppid-services"),
    ("post", "/v1/rp/payment-services"),
    ("post", "/v1/ops/point-rounds"),
    ("post", "/v1/me/point-applications"),
    ("post", "/v1/rp/point-applications"),
];

fn termination_answers(doc: &mut serde_json::Value) {
    for (method, path) in APPLICATIONS {
        if let Some(responses) = doc["paths"][path][method]
            .get_mut("responses")
            .and_then(|r| r.as_object_mut())
        {
            responses.entry("410").or_insert_with(|| {
                serde_json::json!({
                    "description": "The system has ended (Art 10): nothing new is started (problem system-terminated)",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                })
            });
        }
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    operation_id = "openapi_json",
    tag = "platform",
    summary = "This document (OpenAPI 3.1)",
    responses((status = 200, description = "OK", body = Object, content_type = "application/json"))
)]
pub(super) async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

/// The pages' operations: functions that only carry a description (the pages are `oidc/`'s).
#[expect(
    dead_code,
    reason = "never called: they carry the pages' descriptions only"
)]
mod pages {
    /// The authorization endpoint (`oidc/authorize.rs` serves it).
    #[utoipa::path(
        get,
        path = "/oidc/authorize",
        operation_id = "authorize_page",
        tag = "openid-connect",
        summary = "Authorization endpoint (code flow, PKCE S256): the cross-device page with a QR code, a short code, <meta name=mykey-approve-url> and <meta name=mykey-continue-url>",
        params(
            ("response_type" = String, Query),
            ("client_id" = String, Query),
            ("redirect_uri" = String, Query),
            ("scope" = String, Query),
            ("state" = String, Query),
            ("nonce" = String, Query),
            ("code_challenge" = String, Query),
            ("code_challenge_method" = String, Query),
            ("prompt" = Option<String>, Query),
            ("ui_locales" = Option<String>, Query)
        ),
        responses(
            (status = 200, description = "The page (sets the request's cookie)", body = String, content_type = "text/html"),
            (status = 303, description = "Back to the client with error, error_description, state, iss"),
            (status = 400, description = "Client or redirect URI not to be trusted", body = String, content_type = "text/html")
        )
    )]
    pub(super) fn authorize_page() {}

    /// The authorization endpoint by POST (`oidc/authorize.rs`).
    #[utoipa::path(
        post,
        path = "/oidc/authorize",
        operation_id = "authorize_form",
        tag = "openid-connect",
        summary = "The same, with form parameters",
        request_body(content = Option<std::collections::HashMap<String, String>>, content_type = "application/x-www-form-urlencoded"),
        responses(
            (status = 200, description = "The page", body = String, content_type = "text/html"),
            (status = 303, description = "Back to the client with an error"),
            (status = 400, description = "Client or redirect URI not to be trusted", body = String, content_type = "text/html")
        )
    )]
    pub(super) fn authorize_form() {}

    /// Where a cross-device login stands, for the waiting browser (`oidc/authorize.rs`).
    #[utoipa::path(
        get,
        path = "/oidc/authorize/status",
        operation_id = "authorize_status",
        tag = "openid-connect",
        summary = "The browser waits (long polling, wait ≤ 25 s) for the phone",
        params(
            ("request" = String, Query, description = "The request's handle"),
            ("wait" = Option<u64>, Query, maximum = 25, description = "Seconds to wait for a change; more is taken as 25")
        ),
        responses(
            (status = 200, description = "pending, approved, declined, continued or redeemed", body = mykey_api::oidc::AuthorizationStatus, content_type = "application/json"),
            (status = 400, description = "The query string is malformed (in words, from the extractor)", body = String, content_type = "text/plain"),
            (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
        )
    )]
    pub(super) fn authorize_status() {}

    /// The browser continues after the phone answered (`oidc/authorize.rs`).
    #[utoipa::path(
        get,
        path = "/oidc/authorize/continue",
        operation_id = "authorize_continue",
        tag = "openid-connect",
        summary = "The browser that began the request continues: to the client with a code (or access_denied)",
        params(
            ("request" = String, Query, description = "The request's handle"),
            ("ui_locales" = Option<String>, Query, description = "`ja` or `en`: the page's language")
        ),
        responses(
            (status = 303, description = "To the redirect URI with code, state, iss"),
            (status = 200, description = "Not approved yet", body = String, content_type = "text/html"),
            (status = 400, description = "The query string is malformed (in words, from the extractor)", body = String, content_type = "text/plain"),
            (status = 404, description = "Unknown, or another browser's", body = String, content_type = "text/html"),
            (status = 409, description = "Already continued", body = String, content_type = "text/html")
        )
    )]
    pub(super) fn authorize_continue() {}

    /// The browser types the code the phone showed (`oidc/authorize.rs`).
    #[utoipa::path(
        post,
        path = "/oidc/authorize/continue",
        operation_id = "authorize_confirm",
        tag = "openid-connect",
        summary = "The browser that began the request gives the confirmation code the phone showed, then continues as by GET",
        request_body(content = ContinueForm, content_type = "application/x-www-form-urlencoded"),
        responses(
            (status = 303, description = "To the redirect URI with code, state, iss"),
            (status = 200, description = "Not approved yet, or the code again", body = String, content_type = "text/html"),
            (status = 415, description = "The body is not a form", body = String, content_type = "text/plain"),
            (status = 422, description = "The form is malformed (in words, from the extractor)", body = String, content_type = "text/plain"),
            (status = 404, description = "Unknown, or another browser's", body = String, content_type = "text/html"),
            (status = 409, description = "Already continued", body = String, content_type = "text/html")
        )
    )]
    pub(super) fn authorize_confirm() {}

    /// The confirmation form of `POST /oidc/authorize/continue`.
    #[derive(utoipa::ToSchema)]
    pub(super) struct ContinueForm {
        /// The request's handle.
        request: String,
        /// The six digits the phone showed.
        confirmation: Option<String>,
        /// `ja` or `en`: the page's language.
        ui_locales: Option<String>,
    }

    /// RP-initiated logout (`oidc/mod.rs`).
    #[utoipa::path(
        get,
        path = "/oidc/logout",
        operation_id = "logout_page",
        tag = "openid-connect",
        summary = "RP-initiated logout: the login's tokens revoked; back to a registered post_logout_redirect_uri",
        params(
            ("id_token_hint" = Option<String>, Query),
            ("client_id" = Option<String>, Query),
            ("post_logout_redirect_uri" = Option<String>, Query),
            ("state" = Option<String>, Query)
        ),
        responses(
            (status = 303, description = "To post_logout_redirect_uri with state"),
            (status = 200, description = "Logged out", body = String, content_type = "text/html"),
            (status = 400, description = "Refused", body = String, content_type = "text/html")
        )
    )]
    pub(super) fn logout_page() {}

    /// RP-initiated logout by POST (`oidc/mod.rs`).
    #[utoipa::path(
        post,
        path = "/oidc/logout",
        operation_id = "logout_form",
        tag = "openid-connect",
        summary = "The same, with form parameters",
        request_body(content = Option<std::collections::HashMap<String, String>>, content_type = "application/x-www-form-urlencoded"),
        responses(
            (status = 303, description = "To post_logout_redirect_uri"),
            (status = 200, description = "Logged out", body = String, content_type = "text/html"),
            (status = 400, description = "Refused", body = String, content_type = "text/html")
        )
    )]
    pub(super) fn logout_form() {}

    /// The metrics (`metrics.rs` serves them).
    #[utoipa::path(
        get,
        path = "/metrics",
        operation_id = "metrics",
        tag = "platform",
        summary = "Prometheus metrics (OpenMetrics text): requests, latency, card authentications and refusals by type, J-LIS freshness, event outbox depth and lag per relying party, the database pool, maintenance and termination; 404 where no metrics token is configured",
        responses(
            (status = 200, description = "The metrics", body = String, content_type = "application/openmetrics-text"),
            (status = 401, description = "Not the metrics token"),
            (status = 404, description = "No metrics token is configured")
        ),
        security(("metrics" = []))
    )]
    pub(super) fn metrics() {}
}
