//! The pages the provider and the portal share, each an askama template (`templates/pages/`)
//! reading its words from the page language's catalogue (`catalogue/`), escaped by the engine;
//! and what every page carries: no framing (clickjacking), a strict content security policy
//! (scripts only from the platform), no caching, no referrer.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use mykey_pki::UnixTime;

use super::catalogue::words::Moment;
use super::catalogue::{Lang, Texts, render};

/// The headers every page carries.
pub(crate) fn page_headers(h: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CACHE_CONTROL, "no-store");
}

/// The style sheet and scripts pages load (`script-src 'self'` allows no inline code).
pub(crate) const CSS: &str = include_str!("../../static/mykey.css");
pub(crate) const AUTHORIZE_JS: &str = include_str!("../../static/authorize.js");

/// A page saying why nothing can go on (nothing is redirected when the client cannot be
/// trusted): `message` from the catalogue, or a detail the domain gave.
pub(crate) fn error_page(status: StatusCode, lang: Lang, message: &str) -> Response {
    let t = lang.texts();
    render(
        status,
        &ErrorPage {
            t,
            title: t.cannot_log_in,
            message,
        },
    )
}

#[derive(askama::Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    t: &'static Texts,
    title: &'a str,
    message: &'a str,
}

/// Who asks a person to log in, and for which facts, as the authorization page says it.
pub(crate) struct Asker<'a> {
    pub(crate) relying_party: &'a str,
    /// The PPID service's name, or what a login by Service ID is (with the link offered).
    pub(crate) service: std::borrow::Cow<'a, str>,
    /// The facts asked for, by name and joined; `None` when none are.
    pub(crate) facts: Option<String>,
}

/// A cross-device request waiting for the person's phone, as its page shows it.
pub(crate) struct Waiting<'a> {
    /// The request's handle, posted back by the page's form.
    pub(crate) handle: &'a str,
    pub(crate) short_code: &'a str,
    pub(crate) expires_at: UnixTime,
    /// The URL the phone opens (in the QR code).
    pub(crate) approve: &'a str,
    /// Where the page goes on (`…/continue`) and where its script waits (`…/status`), without
    /// the query.
    pub(crate) continue_path: &'a str,
    pub(crate) status_path: &'a str,
    /// Maintenance windows in effect or coming (Art 9.3).
    pub(crate) notices: &'a crate::http::maintenance::Notices,
}

/// The page a cross-device login waits on: the QR code and short code for the phone, the
/// deadline, and a form to go on (the script `authorize.js` goes on by itself). With an
/// `asker`, the authorization endpoint's (who asks, for which facts, in three steps); without,
/// the portal's (with a link to the other language).
pub(crate) fn approve_page(lang: Lang, w: &Waiting<'_>, asker: Option<Asker<'_>>) -> Response {
    let t = lang.texts();
    let query = format!("?request={}", w.handle);
    let qr = qr_svg(w.approve);
    render(
        StatusCode::OK,
        &ApprovePage {
            t,
            title: t.log_in,
            heading: if asker.is_some() {
                t.card_login_heading
            } else {
                t.portal_login_heading
            },
            asker,
            approve: w.approve,
            next: &format!("{}{query}", w.continue_path),
            status: &format!("{}{query}", w.status_path),
            qr: &qr,
            code: w.short_code,
            code_spelled: &spelled(w.short_code),
            until: Moment::new(lang, w.expires_at),
            action: w.continue_path,
            handle: w.handle,
            notices: w.notices,
        },
    )
}

/// `text` as a QR code (SVG); empty if it cannot be one (the short code stays usable).
fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // A URL of this size always fits in a QR code; the short code stays usable anyway.
        Err(_) => String::new(),
    }
}

/// `code` one character at a time, for a screen reader (`ABCD` → `A B C D`).
fn spelled(code: &str) -> String {
    code.chars().map(String::from).collect::<Vec<_>>().join(" ")
}

#[derive(askama::Template)]
#[template(path = "pages/approve.html")]
struct ApprovePage<'a> {
    t: &'static Texts,
    title: &'static str,
    heading: &'static str,
    asker: Option<Asker<'a>>,
    approve: &'a str,
    next: &'a str,
    status: &'a str,
    /// The QR code's SVG, made by `qrcode` from the approve URL (markup, not text).
    qr: &'a str,
    code: &'a str,
    code_spelled: &'a str,
    until: Moment,
    action: &'a str,
    handle: &'a str,
    notices: &'a crate::http::maintenance::Notices,
}

/// The page for a request not approved yet, whose form (to `action`) tries again.
pub(crate) fn waiting_page(lang: Lang, action: &str, handle: &str, until: UnixTime) -> Response {
    let t = lang.texts();
    render(
        StatusCode::OK,
        &WaitingPage {
            t,
            title: t.waiting_title,
            until: Moment::new(lang, until),
            action,
            handle,
        },
    )
}

#[derive(askama::Template)]
#[template(path = "pages/waiting.html")]
struct WaitingPage<'a> {
    t: &'static Texts,
    title: &'static str,
    until: Moment,
    action: &'a str,
    handle: &'a str,
}

/// The page asking the browser for the code the phone showed after approving (the browser
/// proves it is the person's own: `mykey_platform`'s `oidc/confirm.rs`); `action` is where the
/// form posts, `handle` the request's; after a wrong code, 422 and the tries left.
pub(crate) fn confirm_page(
    lang: Lang,
    action: &str,
    handle: &str,
    tries_left: u32,
    wrong: bool,
) -> Response {
    let t = lang.texts();
    render(
        if wrong {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &ConfirmPage {
            t,
            title: t.confirm_title,
            wrong: wrong.then_some(tries_left),
            action,
            handle,
        },
    )
}

#[derive(askama::Template)]
#[template(path = "pages/confirm.html")]
struct ConfirmPage<'a> {
    t: &'static Texts,
    title: &'static str,
    wrong: Option<u32>,
    action: &'a str,
    handle: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> String {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn what_a_page_is_given_is_escaped_and_its_words_are_the_language_s() {
        let r = error_page(StatusCode::BAD_REQUEST, Lang::En, "<a href=\"x\">&'");
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
        let html = body(r).await;
        assert!(
            html.contains("&#60;a href=&#34;x&#34;&#62;&#38;&#39;"),
            "{html}"
        );
        assert!(html.contains("<html lang=\"en\">") && html.contains("Cannot log in"));
        let w = Waiting {
            handle: "h\"><script>",
            short_code: "ABCD",
            expires_at: UnixTime::from_secs(1_796_513_510),
            approve: "https://mykey.example/v1/authorizations/h",
            continue_path: "/oidc/authorize/continue",
            status_path: "/oidc/authorize/status",
            notices: &Default::default(),
        };
        let asker = Asker {
            relying_party: "Shop <b>",
            service: "Points".into(),
            facts: None,
        };
        let html = body(approve_page(Lang::Ja, &w, Some(asker))).await;
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(html.contains("Shop &#60;b&#62;（Points）がログインを求めています。"));
        assert!(html.contains("aria-label=\"A B C D\"") && html.contains("<svg"));
        assert!(html.contains("2026年12月6日 8:31"));
        let r = confirm_page(Lang::En, "/portal/login/continue", "h", 2, true);
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body(r).await.contains("Tries left: 2"));
    }
}
