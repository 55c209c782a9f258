//! The simulator's error type; [`crate::http`] maps it to problem+json once.

/// What can go wrong in the simulator.
#[derive(Debug, thiserror::Error)]
pub enum JlisError {
    /// A request field is missing or malformed.
    #[error("invalid {field}: {reason}")]
    InvalidRequest {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing with that identifier.
    #[error("no {what} {id}")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// Its identifier.
        id: String,
    },
    /// The request conflicts with the certificate's state (e.g. renewing a revoked certificate).
    #[error("{0}")]
    Conflict(String),
    /// No signature certificate is issued to people under 15 (docs/jpki.md §9).
    #[error("no signature certificate for a person under 15")]
    UnderFifteen,
    /// The request body is larger than the documented limit.
    #[error("request body larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The store failed; the detail is logged, never sent.
    #[error("storage failure")]
    Storage(String),
}

impl JlisError {
    pub(crate) fn storage(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        tracing::error!(%detail, "J-LIS store failure");
        JlisError::Storage(detail)
    }

    pub(crate) fn invalid(field: &'static str, reason: impl std::fmt::Display) -> Self {
        JlisError::InvalidRequest {
            field,
            reason: reason.to_string(),
        }
    }
}

impl From<sqlx::Error> for JlisError {
    fn from(e: sqlx::Error) -> Self {
        JlisError::storage(e.to_string())
    }
}
