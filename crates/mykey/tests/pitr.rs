//! PostgreSQL's own point-in-time recovery (issue 24.3; docs/operations.md, "Restoring"): a
//! private PostgreSQL cluster archiving its WAL (`archive_command`), a base backup
//! (`pg_basebackup`) taken while `mykey serve` writes, a named restore point, writes after it;
//! then the cluster is lost, the base backup restored to the restore point from the archive
//! (`restore_command`, `recovery_target_name`), and a node with a new data folder holding only
//! `secrets.key` serves it: every write acknowledged before the restore point is there, none
//! after, the keys are the platform's (they come with the database), and both the person's log
//! and the operator log verify.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::crash::{cards, client, login, post, random_id};
use crate::support::Serve;

const TEST: &str =
    "cli pitr::postgresql_restores_a_base_backup_to_a_restore_point_from_its_wal_archive";

/// PostgreSQL's programs, and who runs them: `postgres` where the tests run as root (the
/// server refuses to).
pub(crate) struct Pg {
    pub(crate) bin: PathBuf,
    pub(crate) user: Option<(u32, u32)>,
}

impl Pg {
    /// The newest PostgreSQL installed (Debian's layout, else the `PATH`); `None`, with the
    /// test skipped, where there is none.
    pub(crate) fn find(test: &str) -> Option<Self> {
        let debian = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("pg_basebackup").exists())
            .max_by_key(|b| {
                b.parent()
                    .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                    .unwrap_or(0)
            });
        let bin = debian.or_else(|| {
            let out = Command::new("pg_config").arg("--bindir").output().ok()?;
            Some(PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()))
        });
        let Some(bin) =
            bin.filter(|b| b.join("initdb").exists() && b.join("pg_basebackup").exists())
        else {
            mykey_testkit::skip(
                test,
                "PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) are not installed (apt-get install postgresql)",
            );
            return None;
        };
        use std::os::unix::fs::MetadataExt;
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let user = if root {
            let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
            let Some(ids) = passwd.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.first() == Some(&"postgres"))
                    .then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))
                    .flatten()
            }) else {
                mykey_testkit::skip(
                    test,
                    "running as root, and there is no user postgres to run PostgreSQL as",
                );
                return None;
            };
            Some(ids)
        } else {
            None
        };
        Some(Self { bin, user })
    }

    /// Runs PostgreSQL's program `tool` with `args`; it must succeed.
    pub(crate) fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut c = if self.user.is_some() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = c.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A folder `path` of PostgreSQL's user, 0700.
    pub(crate) fn folder(&self, path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(path).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
        }
    }

    fn append(&self, file: &Path, lines: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(file).unwrap();
        f.write_all(lines.as_bytes()).unwrap();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits up to a minute for `query` to answer true on `url`.
async fn until(url: &str, query: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(pool) = sqlx::PgPool::connect(url).await {
            let yes: Result<(bool,), _> = sqlx::query_as(sqlx::AssertSqlSafe(query.to_owned()))
                .fetch_one(&pool)
                .await;
            pool.close().await;
            if yes.is_ok_and(|(y,)| y) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "never true: {query}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A relying party registered through the operator API; its registration's answer.
async fn register(http: &reqwest::Client, base: &str, operator: &str, name: &str) -> Value {
    let (status, rp) = post(
        http,
        format!("{base}/v1/ops/relying-parties"),
        Some(operator),
        json!({"name": name, "kind": "business", "contact": "窓口 03-0000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"}),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{rp}");
    rp
}

async fn get(http: &reqwest::Client, url: String, token: &str) -> Value {
    let r = http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_restores_a_base_backup_to_a_restore_point_from_its_wal_archive() {
    let Some(pg) = Pg::find(TEST) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (primary, archive, restored, logs) = (
        work.path().join("primary"),
        work.path().join("archive"),
        work.path().join("restored"),
        work.path().join("logs"),
    );
    for f in [&primary, &archive, &restored, &logs] {
        pg.folder(f);
    }
    let port = free_port();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    pg.run(
        "initdb",
        &[
            "-D",
            &s(&primary),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ],
    );
    pg.append(
        &primary.join("postgresql.conf"),
        &format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n\
             wal_level = replica\narchive_mode = on\narchive_timeout = 0\n\
             archive_command = 'test ! -f {a}/%f && cp %p {a}/%f'\n",
            a = s(&archive)
        ),
    );
    pg.run(
        "pg_ctl",
        &[
            "-D",
            &s(&primary),
            "-l",
            &s(&logs.join("primary.log")),
            "-w",
            "start",
        ],
    );
    // Stopped at the end, whatever happens.
    struct Stop<'a>(&'a Pg, Vec<String>);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            for d in &self.1 {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.0.run("pg_ctl", &["-D", d, "-m", "immediate", "stop"]);
                }));
            }
        }
    }
    let mut stop = Stop(&pg, vec![s(&primary)]);
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query("CREATE DATABASE mykey")
        .execute(&pool)
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{port}/mykey");

    // Before the base backup: the platform's keys are made, a relying party registered, a
    // person's My Key ID created.
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start_with(data.path(), &["--database", &url]);
    let http = client();
    let operator = std::fs::read_to_string(data.path().join("operator-token")).unwrap();
    let operator = operator.trim();
    let jwks_before = get(&http, format!("{}/oidc/jwks", serve.url), operator).await;
    register(&http, &serve.url, operator, "前の銀行").await;
    let (key, certs) = cards(&serve, 1).await;
    let token = login(&http, &serve.url, &key, &certs[0]).await;
    let first = random_id();
    let (status, body) = post(
        &http,
        format!("{}/v1/me/my-key-id", serve.url),
        Some(&token),
        crate::support::my_key_id_creation(Some(&first)),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    pg.run(
        "pg_basebackup",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-D",
            &s(&restored),
            "-X",
            "none",
            "--checkpoint=fast",
        ],
    );

    // After it, up to the restore point: acknowledged, so to be restored.
    register(&http, &serve.url, operator, "間の銀行").await;
    let kept = random_id();
    let change = |id: String| {
        let (http, base, token) = (http.clone(), serve.url.clone(), token.clone());
        async move {
            let r = http
                .put(format!("{base}/v1/me/my-key-id"))
                .bearer_auth(&token)
                .json(&json!({"id": id}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    change(kept.clone()).await;
    sqlx::query("SELECT pg_create_restore_point('mykey-test')")
        .execute(&pool)
        .await
        .unwrap();
    // Past the restore point: acknowledged too, but past the time restored to.
    register(&http, &serve.url, operator, "後の銀行").await;
    change(random_id()).await;
    let (segment,): (String,) = sqlx::query_as("SELECT pg_walfile_name(pg_switch_wal())")
        .fetch_one(&pool)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !archive.join(&segment).exists() {
        assert!(Instant::now() < deadline, "{segment} never archived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The primary is lost.
    drop(serve);
    pool.close().await;
    pg.run("pg_ctl", &["-D", &s(&primary), "-m", "immediate", "stop"]);
    stop.1.clear();

    // The base backup, recovered from the archive to the restore point.
    std::fs::write(restored.join("recovery.signal"), "").unwrap();
    pg.append(
        &restored.join("postgresql.conf"),
        &format!(
            "\narchive_mode = off\nrestore_command = 'cp {}/%f %p'\n\
             recovery_target_name = 'mykey-test'\nrecovery_target_action = 'promote'\n",
            s(&archive)
        ),
    );
    pg.run(
        "pg_ctl",
        &[
            "-D",
            &s(&restored),
            "-l",
            &s(&logs.join("restored.log")),
            "-w",
            "start",
        ],
    );
    stop.1.push(s(&restored));
    until(&admin, "SELECT NOT pg_is_in_recovery()").await;

    // A node with a new data folder holding only secrets.key (and the J-LIS simulator, which
    // stands for a service outside the platform).
    let node = tempfile::tempdir().unwrap();
    std::fs::copy(
        data.path().join("secrets.key"),
        node.path().join("secrets.key"),
    )
    .unwrap();
    std::fs::create_dir(node.path().join("jlis")).unwrap();
    for f in std::fs::read_dir(data.path().join("jlis"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(f.path(), node.path().join("jlis").join(f.file_name())).unwrap();
    }
    let serve = Serve::start_with(node.path(), &["--database", &url]);
    let operator = std::fs::read_to_string(node.path().join("operator-token")).unwrap();
    let operator = operator.trim();
    assert_eq!(
        get(&http, format!("{}/oidc/jwks", serve.url), operator).await,
        jwks_before,
        "the platform's keys come with the database"
    );
    let listed = get(
        &http,
        format!("{}/v1/ops/relying-parties", serve.url),
        operator,
    )
    .await;
    let mut names: Vec<&str> = listed["relying_parties"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["前の銀行", "間の銀行"], "{listed}");
    let token = login(&http, &serve.url, &key, &certs[0]).await;
    let me = get(&http, format!("{}/v1/me", serve.url), &token).await;
    assert_eq!(me["my_key_id"]["id"], json!(kept));
    let verdict = get(&http, format!("{}/v1/me/log/verify", serve.url), &token).await;
    assert_eq!(verdict["valid"], json!(true), "{verdict}");
    let verdict = get(
        &http,
        format!("{}/v1/ops/operator-log/verify", serve.url),
        operator,
    )
    .await;
    assert_eq!(verdict["valid"], json!(true), "{verdict}");
    assert!(verdict["entries"].as_u64().unwrap() >= 2, "{verdict}");
    drop(serve);
}
