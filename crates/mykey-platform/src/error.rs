//! The domain's error: one variant per outcome an edge must tell apart. The HTTP edge maps each
//! to a status and a stable problem type in exactly one place.

use mykey_pki::RevocationReason;

use crate::{IdError, JlisUnavailable, StoreError};

/// Why a platform operation did not happen. Nothing was stored when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The challenge is unknown, already used, or was issued for another purpose or relying party.
    #[error("unknown, used or foreign challenge")]
    ChallengeUnknown,
    /// The challenge's time ran out.
    #[error("challenge expired")]
    ChallengeExpired,
    /// The certificate failed the profile, path, validity or signature checks.
    #[error("certificate refused: {0}")]
    Certificate(#[from] mykey_pki::Error),
    /// The certificate is revoked.
    #[error("certificate revoked ({})", .reason.map_or("no reason given", RevocationReason::name))]
    Revoked {
        /// The reason J-LIS gives.
        reason: Option<RevocationReason>,
    },
    /// J-LIS could not be asked and the answer cannot be known without it: fail closed.
    #[error(transparent)]
    JlisUnavailable(#[from] JlisUnavailable),
    /// No valid session.
    #[error("no valid session")]
    Unauthenticated,
    /// An identifier in the request is malformed.
    #[error(transparent)]
    InvalidId(#[from] IdError),
    /// The person already has an active My Key ID (Art 15.1: at most one at a time).
    #[error("a My Key ID is already active")]
    MyKeyIdAlreadyActive,
    /// The requested My Key ID is taken (or was used before).
    #[error("that My Key ID is not available")]
    MyKeyIdTaken,
    /// The person has no active My Key ID.
    #[error("no active My Key ID")]
    NoMyKeyId,
    /// The store failed; the detail is logged where it arose, never sent.
    #[error("storage failure")]
    Store(#[from] StoreError),
}
