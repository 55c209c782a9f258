//! OCSP (RFC 6960): requests with nonces (RFC 8954), verified answers, and an HTTP client.

mod request;
mod response;

pub use request::{NONCE_LEN, Request, cert_id_for, nonce_extension};
pub use response::{Answer, CertStatus, MAX_CLOCK_SKEW_SECS};
