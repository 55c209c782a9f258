//! The J-LIS simulator's integration tests: one binary, the simulator started in-process on a
//! free loopback port for each test.
#![allow(unreachable_pub)]
// helpers shared between modules of one binary

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod harness;
mod lifecycle;
mod openssl;
mod revocation;
mod sealing;
