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

/// A new, empty PostgreSQL database on the local server, dropped by [`FreshDb::drop`].
pub struct FreshDb {
    /// Its URL.
    pub url: String,
    admin: String,
    name: String,
}

impl FreshDb {
    /// Drops the database, whoever is still connected.
    pub async fn drop(self) {
        if let Ok(pool) = sqlx::PgPool::connect(&self.admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&pool)
            .await;
        }
    }
}

/// A new, empty database on the local PostgreSQL server (`MYKEY_TEST_POSTGRES` overrides the
/// admin URL); `None`, with `test` skipped (see [`skip`]), where the server cannot be reached.
pub async fn fresh_postgres(test: &str) -> Option<FreshDb> {
    let admin = std::env::var("MYKEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pool = match sqlx::PgPool::connect(&admin).await {
        Ok(p) => p,
        Err(e) => {
            skip(test, &format!("PostgreSQL at {admin} is unreachable: {e}"));
            return None;
        }
    };
    static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "mykey_test_{}_{nanos}_{}",
        std::process::id(),
        MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("a new database");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin.clone());
    Some(FreshDb {
        url: format!("{base}/{name}"),
        admin,
        name,
    })
}
