//! The platform's side of J-LIS, apart from the simulator and from the HTTP server, so that the
//! production platform links neither:
//!
//! - [`api`]: the JSON J-LIS speaks (the simulator serves it; `docs/jpki.md` §18).
//! - [`JlisClient`]: the HTTP client for that JSON, every call with a timeout.
//! - [`OcspClient`]: OCSP over HTTP (RFC 6960 Appendix A).
//! - [`JlisPort`] (feature `port`, on by default): what the platform asks J-LIS — previous
//!   issuance numbers, and revocation from a CRL index kept fresh in the background with OCSP
//!   when it is stale — and the background work that keeps it so (CRL refresh, the facts sweep).

pub mod api;
mod client;
mod ocsp;
#[cfg(feature = "port")]
mod port;

pub use client::{
    CertificateStanding, CertificateStatus, ClientError, JlisClient, SignatureCertificates,
};
pub use ocsp::{OcspClient, OcspError};
#[cfg(feature = "port")]
pub use port::{JlisPort, MAX_STATUS_AGE};
