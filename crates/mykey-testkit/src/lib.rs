//! What the workspace's tests share across crates: a test whose system component (OpenSSL's
//! command line, pcscd with vpcd, OpenSC, Chromium, PostgreSQL, the PyPI peers) is missing
//! skips with a printed reason — and fails instead when `MYKEY_REQUIRE_ALL=1`, as `.ci/run`
//! sets it. Because cargo hides the output of tests that pass (and a skipped test passes), each
//! skip is also appended to the file `MYKEY_SKIP_LOG` names, from which `scripts/test` prints a
//! summary at the end.

use std::io::Write;

/// Whether every system component is required (`MYKEY_REQUIRE_ALL=1`).
pub fn required() -> bool {
    std::env::var("MYKEY_REQUIRE_ALL").as_deref() == Ok("1")
}

/// Ends a test whose system component is missing: panics when every component is required,
/// otherwise prints `SKIPPED {test}: {reason}` and records it for the summary.
#[track_caller]
pub fn skip(test: &str, reason: &str) {
    if required() {
        panic!("MYKEY_REQUIRE_ALL=1 but {reason} ({test})");
    }
    let line = format!("SKIPPED {test}: {reason}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("MYKEY_SKIP_LOG") {
        // One short append per line: lines from tests running at once do not interleave.
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
    }
}

/// Whether `openssl` can be run; when it cannot, `test` is skipped (see [`skip`]).
#[track_caller]
pub fn have_openssl(test: &str) -> bool {
    let ok = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip(
            test,
            "the openssl command-line tool cannot be run (apt-get install openssl)",
        );
    }
    ok
}
