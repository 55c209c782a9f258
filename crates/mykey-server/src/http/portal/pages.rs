//! The portal's pages. Text is escaped where it is put in; every form posts the session's form
//! token; headings, labels, tables with headers and `role="status"` messages make the pages
//! usable with a screen reader, and plain forms and links make them usable by keyboard.

use axum::http::StatusCode;
use axum::response::Response;
use mykey_pki::UnixTime;
use mykey_platform::{
    LogEntry, MY_KEY_ID_CONSENT, MyKeyIdState, PersonLink, PersonPpidService, TermsVersion,
};

use crate::http::catalogue::words::{Moment, consent_item, detail_lines, log_kind};
use crate::http::catalogue::{Lang, Texts, render};

/// The cookie tying a portal login to its browser.
pub(super) fn login_cookie(handle: &str) -> String {
    format!("mykey-portal-{}", handle.get(..12).unwrap_or(handle))
}

/// What the overview shows of the person, and what is coming for everyone.
pub(super) struct Held<'a> {
    pub(super) my_key_id: Option<&'a MyKeyIdState>,
    pub(super) links: &'a [PersonLink],
    pub(super) ppids: &'a [PersonPpidService],
    /// Terms versions published and not yet in force (Art 12.2).
    pub(super) coming_terms: &'a [TermsVersion],
    /// The terms version in force, which creating a My Key ID accepts.
    pub(super) terms_version: &'a str,
    /// Maintenance windows in effect or coming (Art 9.3).
    pub(super) notices: &'a crate::http::maintenance::Notices,
}

pub(super) fn overview(lang: Lang, form: &str, held: Held<'_>, done: Option<&str>) -> Response {
    let Held {
        my_key_id: id,
        links,
        ppids,
        coming_terms,
        terms_version,
        notices,
    } = held;
    let t = lang.texts();
    let items = |items: &[String]| {
        items
            .iter()
            .map(|i| (i.clone(), consent_item(t, i)))
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
            at: Moment::new(lang, m.since),
        }),
        links: links
            .iter()
            .map(|l| LinkRow {
                id: l.id.get(),
                relying_party: &l.relying_party,
                customer_id: l.customer_id.as_str(),
                at: Moment::new(lang, l.linked_at),
                items: items(&l.consent.items),
                via: (l.route == mykey_platform::LinkRoute::MyKeyId)
                    .then_some(lang.texts().linked_with_my_key_id),
                profile: l.relying_party_profile.as_ref(),
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
                    profile: s.relying_party_profile.as_ref(),
                    at: Moment::new(lang, consent.given_at),
                    items: items(&consent.items),
                }),
                _ => None,
            })
            .collect(),
        terms_version,
        // What creating a My Key ID accepts (Art 16.1), in words.
        my_key_id_items: MY_KEY_ID_CONSENT
            .iter()
            .map(|i| (i.name.to_owned(), consent_item(t, i.name)))
            .collect(),
        coming_terms: coming_terms
            .iter()
            .map(|c| ComingTerms {
                version: &c.version,
                at: Moment::new(lang, c.effective_at),
                summary: c.summary.as_deref(),
                text_url: c.text_url.as_deref(),
            })
            .collect(),
        notices,
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
    terms_version: &'a str,
    my_key_id_items: Items,
    coming_terms: Vec<ComingTerms<'a>>,
    notices: &'a crate::http::maintenance::Notices,
}

/// A terms version announced and not yet in force.
struct ComingTerms<'a> {
    version: &'a str,
    /// When it takes effect.
    at: Moment,
    summary: Option<&'a str>,
    /// Its full text (an http(s) URL, checked when it was published).
    text_url: Option<&'a str>,
}

/// The person's My Key ID as shown.
struct Shown {
    id: String,
    at: Moment,
}

/// A Service ID link as the overview shows it.
struct LinkRow<'a> {
    id: i64,
    relying_party: &'a str,
    customer_id: &'a str,
    at: Moment,
    items: Items,
    /// How it was made, when not with the card: the relying party applied with the My Key ID.
    via: Option<&'static str>,
    /// Where the person turns to the relying party.
    profile: Option<&'a mykey_platform::RelyingPartyProfile>,
}

/// A PPID service with a standing consent, as the overview shows it.
struct PpidRow<'a> {
    id: i64,
    name: &'a str,
    relying_party: &'a str,
    /// Where the person turns to the relying party.
    profile: Option<&'a mykey_platform::RelyingPartyProfile>,
    at: Moment,
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
                at: Moment::new(lang, at),
                what: log_kind(t, &e.kind),
                detail: detail_lines(t, &e.detail),
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
    at: Moment,
    what: std::borrow::Cow<'static, str>,
    /// The details as labelled words (`catalogue::words::detail_lines`).
    detail: Vec<(std::borrow::Cow<'static, str>, String)>,
}
