//! Integration tests of the `mykey` binary: one test binary (see jiff's layout) that runs the
//! built command against a J-LIS simulator it starts as a child process.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

mod admin;
mod bad_input;
mod browser;
mod card;
mod cluster;
mod crash;
mod failover;
mod insert;
mod jlis;
mod oidc;
mod pitr;
mod points;
mod ppid;
mod scale;
mod security;
