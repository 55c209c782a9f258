//! The platform over HTTP, and its port to J-LIS.
//!
//! - [`app`]: the REST API under `/v1` (described by `/v1/openapi.json`), errors as RFC 9457
//!   problems with a stable `type` each; authorization is the first step of every handler.
//! - [`JlisPort`]: what the platform asks J-LIS — previous issuance numbers, and revocation from a
//!   CRL index kept fresh in the background, with OCSP when the index is stale.
//! - [`Deliverer`]: pushes events to relying parties' endpoints (RFC 8935), in order per stream.
//! - [`Node`]: one node assembled — the port, the platform over a store, the router and the
//!   background work — as `mykey serve` and the tests run it.
//! - [`serve`]: the listener, with time limits for slow clients and a cap on connections per
//!   source address; [`serve_tls`] the same over TLS (HTTP/2 and HTTP/1.1), with the
//!   [`Certificates`] read again when their files change.

mod delivery;
mod http;
mod leases;
mod listen;
mod node;
mod rate;
mod registries;
mod tls;

pub use delivery::Deliverer;
pub use http::app;
pub use leases::{LEASE_SECS, Leases, RENEW_EVERY, TRUSTED_SECS, Work, check_node_id};
pub use listen::{Limits, serve, serve_tls};
pub use mykey_jlis_client::{JlisPort, MAX_STATUS_AGE};
pub use node::{Background, Node, NodeConfig};
pub use rate::{BAD_CREDENTIALS_FREE, BAD_CREDENTIALS_MAX_WAIT, Network, Rate, RateLimits};
pub use registries::RegistryClient;
pub use tls::{Certificates, TlsFiles};
