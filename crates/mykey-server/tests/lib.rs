//! The platform's API end to end: a J-LIS simulator and the platform, both in-process on loopback
//! ports, a "card" (an RSA key certified by the simulator) signing the challenges.
#![allow(unreachable_pub)]
// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod card_ends;
mod clients;
mod events;
mod export;
mod facts;
mod harness;
mod kinds;
mod login;
mod maintenance;
mod metrics;
mod oidc;
mod openapi;
mod operators;
mod pinless;
mod point_triggers;
mod points;
mod portal;
mod ppids;
mod push;
mod relying_parties;
mod security;
mod service_id_logins;
mod service_ids;
mod terms;
mod tls;
