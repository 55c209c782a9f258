//! The pages' words, one catalogue per language (`ja.rs`, `en.rs`, both filling in the one shape
//! of `texts.rs`): a template (`templates/`) reads every text from the [`Texts`] of the page's
//! language, never from literals of its own, so a page is written once and read in Japanese or
//! English, and a language missing a text does not build. `words.rs` says codes and times in
//! words.

mod en;
mod ja;
mod texts;
pub(crate) mod words;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub(crate) use texts::{PointTexts, Texts};

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

    /// This language's catalogue.
    pub(crate) fn texts(self) -> &'static Texts {
        match self {
            Lang::Ja => &ja::JA,
            Lang::En => &en::EN,
        }
    }
}

/// A rendered template as a page, with the headers every page carries.
pub(crate) fn render(status: StatusCode, page: &impl askama::Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut r = (status, html).into_response();
            super::pages::page_headers(r.headers_mut());
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn languages_are_picked_and_both_catalogues_are_their_own() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::pick(None, &h), Lang::Ja);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-GB,en;q=0.8,ja;q=0.5"),
        );
        assert_eq!(Lang::pick(None, &h), Lang::En);
        assert_eq!(Lang::pick(Some("ja-JP"), &h), Lang::Ja);
        assert_eq!(Lang::pick(Some("fr"), &h), Lang::En);
        let (ja, en) = (Lang::Ja.texts(), Lang::En.texts());
        assert_eq!((ja.lang, en.lang), ("ja", "en"));
        assert_eq!((ja.other_lang, en.other_lang), ("en", "ja"));
        assert_ne!(ja.confirm_heading, en.confirm_heading);
    }
}
