//! mykey-pki's integration tests: one binary (see STYLE.md), fixtures made by code at a fixed time.
#![allow(unreachable_pub)] // test helpers shared between modules of one binary

mod certs;
mod crl;
mod fixtures;
mod ocsp;
mod openssl;
