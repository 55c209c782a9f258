//! `GET /v1/me/export`: everything held about the person as one JSON document (session). It
//! names no issuance number and no internal ID: only the person's own identifiers (My Key IDs,
//! customer IDs, PPIDs) and names.

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
        },
    })
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
