//! Integration tests of mykey-card: one binary (see jiff's layout).

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod fixtures;

mod client;
mod opensc;
mod store;
mod vpcd;
