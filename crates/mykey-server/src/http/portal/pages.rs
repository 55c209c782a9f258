//! The portal's pages. Text is escaped where it is put in; every form posts the session's form
//! token; headings, labels, tables with headers and `role="status"` messages make the pages
//! usable with a screen reader, and plain forms and links make them usable by keyboard.

use axum::http::StatusCode;
use axum::response::Response;
use mykey_pki::UnixTime;
use mykey_platform::oidc::PortalBegun;
use mykey_platform::{LogEntry, MyKeyIdState, PersonLink, PersonPpidService};

use crate::http::catalogue::{Texts, render};
use crate::http::oidc::page::{Lang, esc, page};
use crate::http::rfc3339;
use crate::http::words::{consent_item, log_kind, time_element, when};

/// The cookie tying a portal login to its browser.
pub(super) fn login_cookie(handle: &str) -> String {
    format!("mykey-portal-{}", handle.get(..12).unwrap_or(handle))
}

pub(super) fn login(lang: Lang, b: &PortalBegun, approve: &str) -> Response {
    let next = format!("/portal/login/continue?request={}", b.handle);
    let status = format!("/portal/login/status?request={}", b.handle);
    let head = format!(
        "<meta name=\"mykey-approve-url\" content=\"{}\"><meta name=\"mykey-continue-url\" content=\"{}\">\
         <meta name=\"mykey-status-url\" content=\"{}\"><script src=\"/static/authorize.js\" defer></script>",
        esc(approve),
        esc(&next),
        esc(&status)
    );
    let qr = crate::http::oidc::authorize::qr_svg(approve);
    let body = format!(
        "<h1>{h1}</h1><p>{intro}</p>\
         <figure class=\"qr\" role=\"img\" aria-label=\"{qr_label}\">{qr}</figure>\
         <p>{code_label} <strong class=\"code\">{code}</strong></p>\
         <p>{until_label} {until}</p>\
         <p id=\"live\" role=\"status\" aria-live=\"polite\" data-done=\"{done}\">{waiting}</p>\
         <form method=\"get\" action=\"/portal/login/continue\"><input type=\"hidden\" name=\"request\" value=\"{handle}\">\
         <button type=\"submit\">{cont}</button></form>\
         <p><a href=\"?lang={other}\" lang=\"{other}\">{other_name}</a></p>",
        h1 = esc(lang.t("MyKeyポータルにログイン", "Log in to your MyKey portal")),
        intro = esc(lang.t(
            "スマートフォンのMyKeyアプリでQRコードを読み取るか短いコードを入力し、マイナンバーカードで承認してください。",
            "In the MyKey app on your phone, scan the QR code or type the short code, then approve with your My Number Card.",
        )),
        qr_label = esc(lang.t("承認用のQRコード", "QR code for approving")),
        code_label = esc(lang.t("短いコード:", "Short code:")),
        code = esc(&b.short_code),
        until_label = esc(lang.t("有効期限:", "Valid until:")),
        until = time_element(lang, b.expires_at),
        done = esc(lang.t("承認されました。移動します…", "Approved. Continuing…")),
        waiting = esc(lang.t("スマートフォンでの承認を待っています…", "Waiting for your phone…")),
        handle = esc(&b.handle),
        cont = esc(lang.t("承認したら続ける", "Continue after approving")),
        other = match lang {
            Lang::Ja => "en",
            Lang::En => "ja",
        },
        other_name = match lang {
            Lang::Ja => "English",
            Lang::En => "日本語",
        },
    );
    page(
        StatusCode::OK,
        lang,
        lang.t("ログイン", "Log in"),
        &head,
        &body,
    )
}

pub(super) fn waiting(lang: Lang, handle: &str, until: UnixTime) -> Response {
    page(
        StatusCode::OK,
        lang,
        lang.t("承認待ち", "Waiting"),
        "",
        &format!(
            "<h1>{}</h1><p>{} {}</p>\
             <form method=\"get\" action=\"/portal/login/continue\"><input type=\"hidden\" name=\"request\" value=\"{}\">\
             <button type=\"submit\">{}</button></form>",
            esc(lang.t("まだ承認されていません", "Not approved yet")),
            esc(lang.t(
                "スマートフォンで承認してから、もう一度押してください。期限:",
                "Approve on your phone, then press again. Valid until:",
            )),
            time_element(lang, until),
            esc(handle),
            esc(lang.t("承認したら続ける", "Continue after approving")),
        ),
    )
}

pub(super) fn overview(
    lang: Lang,
    form: &str,
    id: Option<&MyKeyIdState>,
    links: &[PersonLink],
    ppids: &[PersonPpidService],
    done: Option<&str>,
) -> Response {
    let t = lang.texts();
    let items = |items: &[String]| {
        items
            .iter()
            .map(|i| (i.clone(), consent_item(lang, i)))
            .collect::<Vec<_>>()
    };
    let page = OverviewPage {
        t,
        title: t.portal_title,
        form,
        done: match done {
            Some("created") => Some(t.done_created),
            Some("changed") => Some(t.done_changed),
            Some("revoked") => Some(t.done_revoked),
            Some("withdrawn") => Some(t.done_withdrawn),
            _ => None,
        },
        my_key_id: id.map(|m| Shown {
            id: m.id.as_str().to_owned(),
            datetime: rfc3339(m.since),
            when: when(lang, m.since),
        }),
        links: links
            .iter()
            .map(|l| LinkRow {
                id: l.id.get(),
                relying_party: &l.relying_party,
                customer_id: l.customer_id.as_str(),
                datetime: rfc3339(l.linked_at),
                when: when(lang, l.linked_at),
                items: items(&l.consent.items),
            })
            .collect(),
        // The PPID services whose consent stands.
        ppids: ppids
            .iter()
            .filter_map(|s| match &s.consent {
                Some((consent, None)) => Some(PpidRow {
                    id: s.id.get(),
                    name: &s.name,
                    relying_party: &s.relying_party,
                    datetime: rfc3339(consent.given_at),
                    when: when(lang, consent.given_at),
                    items: items(&consent.items),
                }),
                _ => None,
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}

type Items = Vec<(String, std::borrow::Cow<'static, str>)>;

/// The overview (`templates/portal/overview.html`).
#[derive(askama::Template)]
#[template(path = "portal/overview.html")]
struct OverviewPage<'a> {
    t: &'static Texts,
    title: &'a str,
    form: &'a str,
    done: Option<&'static str>,
    my_key_id: Option<Shown>,
    links: Vec<LinkRow<'a>>,
    ppids: Vec<PpidRow<'a>>,
}

/// The person's My Key ID as shown.
struct Shown {
    id: String,
    datetime: String,
    when: String,
}

/// A Service ID link as the overview shows it.
struct LinkRow<'a> {
    id: i64,
    relying_party: &'a str,
    customer_id: &'a str,
    datetime: String,
    when: String,
    items: Items,
}

/// A PPID service with a standing consent, as the overview shows it.
struct PpidRow<'a> {
    id: i64,
    name: &'a str,
    relying_party: &'a str,
    datetime: String,
    when: String,
    items: Items,
}

/// A page of the log, `entries` newest first; `next`, the cursor of the older page.
pub(super) fn log(
    lang: Lang,
    form: &str,
    entries: &[LogEntry],
    next: Option<u64>,
    chain_ok: bool,
) -> Response {
    let t = lang.texts();
    let rows = entries
        .iter()
        .map(|e| {
            let at = UnixTime::from_secs(e.at);
            LogRow {
                kind: &e.kind,
                seq: e.seq,
                datetime: crate::http::rfc3339(at),
                when: crate::http::words::when(lang, at),
                what: log_kind(lang, &e.kind),
                detail: &e.detail,
            }
        })
        .collect();
    render(
        StatusCode::OK,
        &LogPage {
            t,
            title: t.my_log,
            form,
            chain_ok,
            entries: rows,
            next,
        },
    )
}

/// The log page (`templates/portal/log.html`).
#[derive(askama::Template)]
#[template(path = "portal/log.html")]
struct LogPage<'a> {
    t: &'static Texts,
    title: &'a str,
    form: &'a str,
    chain_ok: bool,
    entries: Vec<LogRow<'a>>,
    next: Option<u64>,
}

/// One entry as the log page shows it.
struct LogRow<'a> {
    kind: &'a str,
    seq: u64,
    datetime: String,
    when: String,
    what: std::borrow::Cow<'static, str>,
    detail: &'a str,
}
