//! `GET /v1/me/export`: everything held about the person as one JSON document (session), the
//! log's first page in it and the rest through `/v1/me/log?after=` from its `log.next` (cursor);
//! the portal's download streams every page into one file ([`complete_download`]). It names no
//! issuance number and no internal ID: only the person's own identifiers (My Key IDs, customer
//! IDs, PPIDs) and names.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use mykey_api::export::{
    EXPORT_FORMAT, Export as ExportBody, ExportedConsent, ExportedMyKeyId, ExportedPpidService,
    ExportedServiceId,
};
use mykey_api::me::Log;
use mykey_platform::{ConsentRecord, Export, MyKeyIdRecord, Platform, ServiceIdRecord};

use super::me::{Me, consent_recorded, log_json, shown};
use super::{ApiError, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new().route("/v1/me/export", get(export))
}

fn my_key_id_json(m: &MyKeyIdRecord) -> ExportedMyKeyId {
    ExportedMyKeyId {
        my_key_id: m.id.as_str().to_owned(),
        created_at: rfc3339(m.created_at),
        ended_at: m.ended.as_ref().map(|(t, _)| rfc3339(*t)),
        end_reason: m.ended.as_ref().map(|(_, why)| why.clone()),
    }
}

fn service_id_json(r: &ServiceIdRecord) -> ExportedServiceId {
    let l = &r.link;
    ExportedServiceId {
        relying_party: shown(
            &l.relying_party,
            l.relying_party_kind,
            l.relying_party_profile.as_ref(),
        ),
        customer_id: l.customer_id.as_str().to_owned(),
        linked_at: rfc3339(l.linked_at),
        ended_at: r.ended.as_ref().map(|(t, _)| rfc3339(*t)),
        end_reason: r.ended.as_ref().map(|(_, why)| why.clone()),
        consent: consent_recorded(&l.consent),
        route: l.route.as_str().to_owned(),
    }
}

fn consent_json(c: &ConsentRecord) -> ExportedConsent {
    ExportedConsent {
        function: c.function.clone(),
        relying_party: c.relying_party.clone(),
        ppid_service: c.ppid_service.clone(),
        items: c.consent.items.clone(),
        terms_version: c.consent.terms_version.clone(),
        given_at: rfc3339(c.consent.given_at),
        withdrawn_at: c.withdrawn_at.map(rfc3339),
    }
}

pub(crate) fn export_json(e: &Export) -> ExportBody {
    ExportBody {
        format: EXPORT_FORMAT.to_owned(),
        exported_at: rfc3339(e.at),
        my_key_ids: e.my_key_ids.iter().map(my_key_id_json).collect(),
        service_ids: e.service_ids.iter().map(service_id_json).collect(),
        ppid_services: e
            .ppid_services
            .iter()
            .map(|s| ExportedPpidService {
                name: s.name.clone(),
                relying_party: shown(
                    &s.relying_party,
                    s.relying_party_kind,
                    s.relying_party_profile.as_ref(),
                ),
                ppid: s.ppid.map(|(p, _)| p.to_string()),
                issued_at: s.ppid.map(|(_, t)| rfc3339(t)),
            })
            .collect(),
        consents: e.consents.iter().map(consent_json).collect(),
        point_applications: e
            .point_applications
            .iter()
            .map(|a| super::point_applications::mine_json(a, &e.point_triggers))
            .collect(),
        log: Log {
            entries: e.log.iter().map(log_json).collect(),
            head: e.head.map(|h| h.to_string()),
            next: e.log_next.map(|n| n.to_string()),
        },
    }
}

/// The whole export as one JSON file, streamed: the document with the log's first page, then
/// the log's further pages read one at a time as the download goes (memory stays bounded by
/// a page however long the log is). A page that cannot be read ends the file short, so the
/// download fails as invalid JSON rather than passing for complete.
pub(crate) fn complete_download(
    p: Arc<Platform>,
    s: mykey_platform::Session,
    e: &Export,
) -> axum::body::Body {
    let mut doc = export_json(e);
    let first = std::mem::take(&mut doc.log.entries);
    doc.log.next = None;
    // The log's entries are its first member, so they open the log object: no string can
    // forge this text (quotes inside strings are escaped).
    let text = serde_json::to_string(&doc).unwrap_or_default();
    const OPEN: &str = "\"log\":{\"entries\":[";
    let at = text.find(OPEN).map_or(text.len(), |i| i + OPEN.len());
    let first: Vec<String> = first
        .iter()
        .filter_map(|entry| serde_json::to_string(entry).ok())
        .collect();
    let opening = format!("{}{}", &text[..at], first.join(","));
    /// Where the download stands: the next page's cursor, and the document's end until sent.
    struct Rest {
        p: Arc<Platform>,
        s: mykey_platform::Session,
        next: Option<u64>,
        tail: Option<String>,
    }
    let rest = Rest {
        p,
        s,
        next: e.log_next,
        tail: Some(text[at..].to_owned()),
    };
    let upto = e.upto;
    let pages = futures_util::stream::unfold(rest, move |mut r| async move {
        // Sent the end already (or failed): done.
        let tail = r.tail.take()?;
        let Some(after) = r.next else {
            return Some((Ok(tail), r));
        };
        let (entries, more) = match r
            .p
            .log_page(&r.s, Some(after), false, mykey_platform::MAX_LOG_PAGE)
            .await
        {
            Ok(page) => page,
            Err(e) => return Some((Err(std::io::Error::other(e.to_string())), r)),
        };
        // The log as exported ends with the export's own entry.
        let mut chunk = String::new();
        for entry in entries.iter().filter(|e| e.seq <= upto) {
            chunk.push(',');
            chunk.push_str(&serde_json::to_string(&log_json(entry)).unwrap_or_default());
        }
        r.next = more.filter(|_| entries.last().is_some_and(|e| e.seq < upto));
        r.tail = Some(tail);
        Some((Ok(chunk), r))
    });
    let opening = futures_util::stream::once(async move { Ok::<_, std::io::Error>(opening) });
    axum::body::Body::from_stream(futures_util::StreamExt::chain(opening, pages))
}

#[utoipa::path(
    get,
    path = "/v1/me/export",
    operation_id = "export_export",
    tag = "me",
    summary = "Everything held about the person as one JSON document (My Key IDs, Service IDs, PPID services and PPIDs, consents, the log's first page of 1,000 entries with `log.next`, the cursor for `/v1/me/log?after=`, and the head); logged as export.downloaded. The portal's `/portal/export` download streams every page into one file.",
    responses(
        (status = 200, description = "OK", body = mykey_api::export::Export, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("session" = []))
)]
async fn export(Me(s): Me, State(p): State<Arc<Platform>>) -> Result<impl IntoResponse, ApiError> {
    let e = p.export(&s).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"mykey-export.json\"",
        )],
        axum::Json(export_json(&e)),
    ))
}
