//! Server-rendered pages of the provider (and later the portal): escaped text, Japanese or
//! English, and the headers every page carries — no framing (clickjacking), a strict content
//! security policy (scripts only from the platform), no caching, no referrer.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The page language: `ui_locales` first (OpenID Connect Core §3.1.2.1), then
/// `Accept-Language`; Japanese unless English is preferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    Ja,
    En,
}

impl Lang {
    pub(crate) fn pick(ui_locales: Option<&str>, headers: &HeaderMap) -> Self {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let wanted = ui_locales.unwrap_or_default().split(' ').chain(
            accept
                .split(',')
                .map(|t| t.split(';').next().unwrap_or_default()),
        );
        for tag in wanted {
            let tag = tag.trim().to_ascii_lowercase();
            if tag == "ja" || tag.starts_with("ja-") {
                return Lang::Ja;
            }
            if tag == "en" || tag.starts_with("en-") {
                return Lang::En;
            }
        }
        Lang::Ja
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The text in this language.
    pub(crate) fn t(self, ja: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

/// `s` safe inside HTML text and double-quoted attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

/// A whole page: `head` extra (meta tags), `body` already escaped.
pub(crate) fn page(
    status: StatusCode,
    lang: Lang,
    title: &str,
    head: &str,
    body: &str,
) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/static/mykey.css\">{head}</head>\
         <body><a class=\"skip\" href=\"#main\">{skip}</a><header><p class=\"brand\">MyKey Platform</p></header><main id=\"main\">{body}</main></body></html>",
        lang = lang.code(),
        title = esc(title),
        skip = esc(lang.t("本文へ移動", "Skip to the content")),
    );
    let mut r = (status, html).into_response();
    page_headers(r.headers_mut());
    r
}

/// An error page (nothing is redirected when the client cannot be trusted).
pub(crate) fn error_page(status: StatusCode, lang: Lang, message: &str) -> Response {
    let title = lang.t("ログインできません", "Cannot log in");
    page(
        status,
        lang,
        title,
        "",
        &format!(
            "<h1>{}</h1><p role=\"alert\">{}</p>",
            esc(title),
            esc(message)
        ),
    )
}

/// The page asking the browser for the code the phone showed after approving (the browser
/// proves it is the person's own: `mykey_platform`'s `oidc/confirm.rs`); `action` is where the
/// form posts, `handle` the request's.
pub(crate) fn confirm_page(
    lang: Lang,
    action: &str,
    handle: &str,
    tries_left: u32,
    wrong: bool,
) -> Response {
    let wrong = if wrong {
        format!(
            "<p role=\"alert\">{} {tries_left}</p>",
            esc(lang.t(
                "番号が違います。残りの回数:",
                "That is not the code. Tries left:"
            ))
        )
    } else {
        String::new()
    };
    page(
        if wrong.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        lang,
        lang.t("確認番号", "Confirmation code"),
        "",
        &format!(
            "<h1>{h1}</h1><p>{why}</p>{wrong}\
             <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"request\" value=\"{handle}\">\
             <label for=\"confirmation\">{label}</label> \
             <input id=\"confirmation\" name=\"confirmation\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
             maxlength=\"16\" required autofocus> <button type=\"submit\">{go}</button></form>\
             <p>{not_me}</p>",
            h1 = esc(lang.t(
                "スマートフォンに表示された番号を入力してください",
                "Type the code your phone shows"
            )),
            why = esc(lang.t(
                "承認したスマートフォンに6桁の番号が表示されています。このブラウザーがあなたのものであることを確かめるため、その番号を入力してください。",
                "The phone that approved shows a six-digit code. Type it here so that we know this browser is yours.",
            )),
            action = esc(action),
            handle = esc(handle),
            label = esc(lang.t("確認番号", "Code")),
            go = esc(lang.t("続ける", "Continue")),
            not_me = esc(lang.t(
                "誰かに番号を教えるよう求められた場合は、教えないでください。このブラウザーを始めたのがあなたでないなら、ログインは完了しません。",
                "If someone asks you for the code, do not give it: a login you did not start in your own browser is never completed.",
            )),
        ),
    )
}

/// The style sheet and scripts pages load (`script-src 'self'` allows no inline code).
pub(crate) const CSS: &str = include_str!("static/mykey.css");
pub(crate) const AUTHORIZE_JS: &str = include_str!("static/authorize.js");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_languages_are_picked() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let mut h = HeaderMap::new();
        assert_eq!(Lang::pick(None, &h), Lang::Ja);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-GB,en;q=0.8,ja;q=0.5"),
        );
        assert_eq!(Lang::pick(None, &h), Lang::En);
        assert_eq!(Lang::pick(Some("ja-JP"), &h), Lang::Ja);
        assert_eq!(Lang::pick(Some("fr"), &h), Lang::En);
    }
}
