//! `/v1/rp/stream`: the relying party's event stream (after the Shared Signals Framework's stream
//! configuration): push (RFC 8935, `urn:ietf:rfc:8935`) or poll (RFC 8936, `urn:ietf:rfc:8936`),
//! the event types it wants, and the delivery's state. Operators read any relying party's at
//! `/v1/ops/relying-parties/{id}/stream`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use mykey_api::streams::{
    Delivery as DeliveryBody, POLL, PUSH, Stream as StreamBody, StreamConfiguration, StreamStatus,
};
use mykey_platform::{
    Delivery, EventKind, Platform, PlatformError, RelyingPartyId, Stream, StreamConfig,
};

use super::operators::{Operator, duty};
use super::rp::RelyingPartyClient;
use super::{ApiError, JsonBody, rfc3339};

pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/v1/rp/stream", get(show).put(configure).delete(remove))
        .route("/v1/ops/relying-parties/{id}/stream", get(show_to_operator))
}

fn config(body: StreamConfiguration) -> Result<StreamConfig, ApiError> {
    let delivery = match (body.delivery.method.as_str(), body.delivery.endpoint_url) {
        (PUSH, Some(endpoint_url)) => Delivery::Push {
            endpoint_url,
            authorization_header: body.delivery.authorization_header,
        },
        (PUSH, None) => {
            return Err(PlatformError::Invalid(mykey_platform::InvalidError::Stream(
                "push delivery needs an endpoint_url",
            ))
            .into());
        }
        (POLL, None) if body.delivery.authorization_header.is_none() => Delivery::Poll,
        (POLL, _) => {
            return Err(PlatformError::Invalid(mykey_platform::InvalidError::Stream(
                "poll delivery takes no endpoint",
            ))
            .into());
        }
        _ => {
            return Err(PlatformError::Invalid(mykey_platform::InvalidError::Stream(
                "delivery.method is urn:ietf:rfc:8935 (push) or urn:ietf:rfc:8936 (poll)",
            ))
            .into());
        }
    };
    // Types this platform does not send are left out (SSF: events_delivered is the overlap).
    let mut events_requested = Vec::new();
    for k in body
        .events_requested
        .iter()
        .filter_map(|u| EventKind::from_uri(u))
    {
        if !events_requested.contains(&k) {
            events_requested.push(k);
        }
    }
    Ok(StreamConfig {
        delivery,
        events_requested,
    })
}

/// The stream as JSON; the authorization header, a secret of the receiver's, is never shown.
fn stream_json(s: &Stream) -> StreamBody {
    let delivery = match &s.config.delivery {
        Delivery::Push {
            endpoint_url,
            authorization_header,
        } => DeliveryBody {
            method: PUSH.to_owned(),
            endpoint_url: endpoint_url.clone(),
            authorization_header_set: Some(authorization_header.is_some()),
        },
        Delivery::Poll => DeliveryBody {
            method: POLL.to_owned(),
            endpoint_url: "/v1/rp/events".to_owned(),
            authorization_header_set: None,
        },
    };
    let delivered: Vec<String> = s
        .config
        .events_requested
        .iter()
        .map(|k| k.uri().to_owned())
        .collect();
    StreamBody {
        delivery,
        events_supported: EventKind::ALL.iter().map(|k| k.uri().to_owned()).collect(),
        events_requested: delivered.clone(),
        events_delivered: delivered,
        status: StreamStatus {
            pending: s.pending,
            failed_attempts: s.attempts,
            next_attempt_at: rfc3339(s.next_attempt_at),
            last_error: s.last_error.clone(),
            last_delivered_at: s.last_delivered_at.map(rfc3339),
        },
    }
}

#[utoipa::path(
    get,
    path = "/v1/rp/stream",
    operation_id = "streams_show",
    tag = "rp",
    summary = "The relying party's event stream and its delivery state",
    responses(
        (status = 200, description = "OK", body = mykey_api::streams::Stream, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn show(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(stream_json(&p.stream(&rp).await?)))
}

#[utoipa::path(
    put,
    path = "/v1/rp/stream",
    operation_id = "streams_configure",
    tag = "rp",
    summary = "Create or replace the event stream: push (RFC 8935, in order, retried with back-off up to an hour apart) or poll (RFC 8936)",
    request_body(content = mykey_api::streams::StreamConfiguration, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = mykey_api::streams::Stream, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn configure(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
    JsonBody(body): JsonBody<StreamConfiguration>,
) -> Result<impl IntoResponse, ApiError> {
    let config = config(body)?;
    if let Delivery::Push { endpoint_url, .. } = &config.delivery {
        refuse_private_name(endpoint_url, p.pushes_to_private_addresses()).await?;
    }
    let stream = p.set_stream(&rp, &config).await?;
    Ok(axum::Json(stream_json(&stream)))
}

/// A push endpoint whose name resolves to an address the platform may not send to is refused
/// now (every push checks again: DNS may change). A name that does not resolve yet is taken:
/// pushes wait until it does.
async fn refuse_private_name(endpoint_url: &str, private: bool) -> Result<(), ApiError> {
    let Ok(url) = url::Url::parse(endpoint_url) else {
        return Ok(()); // the platform refuses it, saying why
    };
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    let lookup = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::net::lookup_host((host, 0)),
    )
    .await;
    if let Ok(Ok(addrs)) = lookup {
        let addrs: Vec<_> = addrs.collect();
        if !private
            && addrs
                .iter()
                .any(|a| !mykey_platform::is_public_address(a.ip()))
        {
            return Err(PlatformError::Invalid(mykey_platform::InvalidError::Stream(
                "endpoint_url's host resolves to an address that is not on the public Internet",
            ))
            .into());
        }
    }
    Ok(())
}

#[utoipa::path(
    delete,
    path = "/v1/rp/stream",
    operation_id = "streams_remove",
    tag = "rp",
    summary = "Remove the stream (events stay, to be polled)",
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("client" = []), ("clientToken" = []))
)]
async fn remove(
    RelyingPartyClient(rp): RelyingPartyClient,
    State(p): State<Arc<Platform>>,
) -> Result<impl IntoResponse, ApiError> {
    p.delete_stream(&rp).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/ops/relying-parties/{id}/stream",
    operation_id = "streams_show_to_operator",
    tag = "ops",
    summary = "A relying party's event stream and delivery state",
    params(
        ("id" = i64, Path, description = "The relying party's ID")
    ),
    responses(
        (status = 200, description = "OK", body = mykey_api::streams::Stream, content_type = "application/json"),
        (status = 401, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Problem (RFC 9457)", body = mykey_api::problem::Problem, content_type = "application/problem+json")
    ),
    security(("operator" = []))
)]
async fn show_to_operator(
    _: Operator<duty::RelyingParties>,
    State(p): State<Arc<Platform>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = id.parse().map(RelyingPartyId::new).map_err(|_| {
        ApiError::from(PlatformError::NotFound(
            mykey_platform::NotFound::RelyingParty,
        ))
    })?;
    let rp = p
        .store()
        .relying_party(id)
        .await
        .map_err(PlatformError::from)?
        .ok_or(PlatformError::NotFound(
            mykey_platform::NotFound::RelyingParty,
        ))?;
    Ok(axum::Json(stream_json(&p.stream(&rp).await?)))
}

#[cfg(test)]
mod tests {
    use mykey_api::streams::EventType;
    use mykey_platform::EventKind;

    #[test]
    fn the_document_names_every_event_the_platform_sends() {
        // Each kind's URI is an `EventType` of the wire models, and there are no others.
        for k in EventKind::ALL {
            let named: Result<EventType, _> =
                serde_json::from_value(serde_json::Value::String(k.uri().to_owned()));
            assert!(named.is_ok(), "{} is not an EventType", k.uri());
        }
        let described = described_event_types();
        assert_eq!(described, EventKind::ALL.len());
    }

    /// How many event types the wire models name (each serialises to its own URI).
    fn described_event_types() -> usize {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(crate::http::openapi::ApiDoc::openapi()).unwrap_or_default();
        doc["components"]["schemas"]["EventType"]["enum"]
            .as_array()
            .map_or(0, Vec::len)
    }
}
