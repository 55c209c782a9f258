//! The one place errors become HTTP: RFC 9457 problem+json with a stable `type` per error.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::JlisError;
use crate::api::Problem;

impl JlisError {
    fn status_and_type(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            JlisError::InvalidRequest { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                "Invalid request",
            ),
            JlisError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            JlisError::Conflict(_) => (
                StatusCode::CONFLICT,
                "conflict",
                "Conflicts with the certificate's state",
            ),
            JlisError::UnderFifteen => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "under-fifteen",
                "No signature certificate under 15",
            ),
            JlisError::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request too large",
            ),
            JlisError::Storage(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }
}

impl IntoResponse for JlisError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.status_and_type();
        // Storage details are logged where they arise, never sent.
        let detail = match &self {
            JlisError::Storage(_) => None,
            e => Some(e.to_string()),
        };
        let problem = Problem {
            kind: format!("urn:mykey:jlis:problem:{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}
