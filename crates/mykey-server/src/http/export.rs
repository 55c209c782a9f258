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
use mykey_platform::{ConsentRecord, Export, MyKeyIdRecord, Platform, ServiceIdRecord};
use serde_json::{Value, json};

use super::me::{Me, log_json};
use super::{ApiError, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new().route("/v1/me/export", get(export))
}

fn my_key_id_json(m: &MyKeyIdRecord) -> Value {
    json!({
        "my_key_id": m.id.as_str(),
        "created_at": rfc3339(m.created_at),
        "ended_at": m.ended.as_ref().map(|(t, _)| rfc3339(*t)),
        "end_reason": m.ended.as_ref().map(|(_, why)| why),
    })
}

fn service_id_json(r: &ServiceIdRecord) -> Value {
    let l = &r.link;
    json!({
        "relying_party": {"name": l.relying_party, "kind": l.relying_party_kind.as_str()},
        "customer_id": l.customer_id.as_str(),
        "linked_at": rfc3339(l.linked_at),
        "ended_at": r.ended.as_ref().map(|(t, _)| rfc3339(*t)),
        "end_reason": r.ended.as_ref().map(|(_, why)| why),
        "consent": {
            "items": l.consent.items,
            "terms_version": l.consent.terms_version,
            "given_at": rfc3339(l.consent.given_at),
        },
    })
}

fn consent_json(c: &ConsentRecord) -> Value {
    json!({
        "function": c.function,
        "relying_party": c.relying_party,
        "ppid_service": c.ppid_service,
        "items": c.consent.items,
        "terms_version": c.consent.terms_version,
        "given_at": rfc3339(c.consent.given_at),
        "withdrawn_at": c.withdrawn_at.map(rfc3339),
    })
}

pub(crate) fn export_json(e: &Export) -> Value {
    json!({
        "format": "mykey-export-v1",
        "exported_at": rfc3339(e.at),
        "my_key_ids": e.my_key_ids.iter().map(my_key_id_json).collect::<Vec<_>>(),
        "service_ids": e.service_ids.iter().map(service_id_json).collect::<Vec<_>>(),
        "ppid_services": e.ppid_services.iter().map(|s| {
            json!({
                "name": s.name,
                "relying_party": {"name": s.relying_party, "kind": s.relying_party_kind.as_str()},
                "ppid": s.ppid.map(|(p, _)| p.to_string()),
                "issued_at": s.ppid.map(|(_, t)| rfc3339(t)),
            })
        }).collect::<Vec<_>>(),
        "consents": e.consents.iter().map(consent_json).collect::<Vec<_>>(),
        "log": {
            "entries": e.log.iter().map(log_json).collect::<Vec<_>>(),
            "head": e.head.map(|h| h.to_string()),
            "next": e.log_next.map(|n| n.to_string()),
        },
    })
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
    let first = doc["log"]["entries"].take();
    doc["log"]["entries"] = json!([]);
    doc["log"]["next"] = Value::Null;
    // Keys are sorted, so the log's entries open the log object: no string can forge this
    // text (quotes inside strings are escaped).
    let text = doc.to_string();
    const OPEN: &str = "\"log\":{\"entries\":[";
    let at = text.find(OPEN).map_or(text.len(), |i| i + OPEN.len());
    let first: Vec<String> = first
        .as_array()
        .map(|a| a.iter().map(Value::to_string).collect())
        .unwrap_or_default();
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
            chunk.push_str(&log_json(entry).to_string());
        }
        r.next = more.filter(|_| entries.last().is_some_and(|e| e.seq < upto));
        r.tail = Some(tail);
        Some((Ok(chunk), r))
    });
    let opening = futures_util::stream::once(async move { Ok::<_, std::io::Error>(opening) });
    axum::body::Body::from_stream(futures_util::StreamExt::chain(opening, pages))
}

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
