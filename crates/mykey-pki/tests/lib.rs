//! mykey-pki's integration tests: one binary (see docs/architecture.md §0.5), fixtures made by code at a fixed time.
#![allow(unreachable_pub)]
// test helpers shared between modules of one binary

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod certs;
mod crl;
mod fixtures;
mod ocsp;
mod openssl;
