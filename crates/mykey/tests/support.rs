//! Running the built `mykey`: one-shot commands with a time limit, and a child J-LIS simulator
//! on a free port with a fresh data folder, killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test.
pub(crate) const MYKEY: &str = env!("CARGO_BIN_EXE_mykey");
/// Longest any one-shot command may take (RSA key generation in a debug build included).
const COMMAND_LIMIT: Duration = Duration::from_secs(120);
/// A URL nothing listens on (the discard port): commands that must fail before any request.
pub(crate) const NOWHERE: &str = "http://127.0.0.1:9";

/// The holder's values, used by every card test.
pub(crate) const NAME: &str = "山田\u{3000}花子";
pub(crate) const ADDRESS: &str = "東京都千代田区霞が関二丁目１番２号";
pub(crate) const BIRTH: &str = "1985-06-15";
pub(crate) const PIN: &str = "4739";
pub(crate) const SIGN_PASSWORD: &str = "QZ7K9WXP";
pub(crate) const TICKET_PIN: &str = "6182";
pub(crate) const EXPIRY_YEAR: &str = "2034";
pub(crate) const SECURITY_CODE: &str = "0815";

/// What a finished command did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts success and returns the output.
    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        assert!(self.status.success(), "expected success: {self:#?}");
        self
    }

    /// Asserts failure with a message on stderr containing `needle`.
    #[track_caller]
    pub(crate) fn fails_with(self, needle: &str) -> Self {
        assert!(!self.status.success(), "expected failure: {self:#?}");
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {self:#?}"
        );
        self
    }
}

/// Runs `mykey args…` to completion (killed after [`COMMAND_LIMIT`]).
pub(crate) fn mykey(args: &[&str]) -> Run {
    mykey_with(args, &[])
}

/// [`mykey`] with environment variables set.
pub(crate) fn mykey_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(MYKEY)
        .args(args)
        .envs(env.iter().copied())
        .env("MYKEY_LOG", "warn")
        .env_remove("MYKEY_JLIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = wait(&mut child, COMMAND_LIMIT)
        .unwrap_or_else(|| panic!("mykey {args:?} did not finish in {COMMAND_LIMIT:?}"));
    Run {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Reads a pipe to its end on a thread.
pub(crate) fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` up to `limit`; kills it and gives `None` if it is still running.
pub(crate) fn wait(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `path` as the `&str` the command line takes (temporary folders are UTF-8 here).
pub(crate) fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `mykey jlis serve` on a free port with a fresh data folder; killed on drop.
pub(crate) struct Jlis {
    child: Child,
    pub(crate) url: String,
    _dir: tempfile::TempDir,
}

impl Jlis {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(MYKEY)
            .args(["jlis", "serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("jlis"))
            .env("MYKEY_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        // Keep draining so the simulator never writes into a full or closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("simulator did not say where it listens: {first:?}"))
            .to_owned();
        Self {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for Jlis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mykey card issue` for the standard holder into `out`, with `extra` arguments.
pub(crate) fn issue_card(jlis_url: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "card",
        "issue",
        "--jlis",
        jlis_url,
        "--name",
        NAME,
        "--address",
        ADDRESS,
        "--birth",
        BIRTH,
        "--sex",
        "2",
        "--pin",
        PIN,
        "--sign-password",
        SIGN_PASSWORD,
        "--ticket-pin",
        TICKET_PIN,
        "--expiry-year",
        EXPIRY_YEAR,
        "--security-code",
        SECURITY_CODE,
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    mykey(&args)
}

/// The four facts JSON the holder's card gives.
pub(crate) fn expected_facts() -> serde_json::Value {
    serde_json::json!({
        "name": NAME,
        "address": ADDRESS,
        "birth_date": BIRTH,
        "sex": 2,
    })
}

/// Ends a test whose system component is missing: it skips with a printed reason, unless
/// `MYKEY_REQUIRE_ALL=1` demands every component.
pub(crate) fn missing(test: &str, reason: &str) {
    mykey_testkit::skip(test, reason);
}

/// `mykey serve` on free ports (the platform and its three simulators), before `--data`.
const SERVE_ON_FREE_PORTS: [&str; 9] = [
    "serve",
    "--listen",
    "127.0.0.1:0",
    "--jlis-listen",
    "127.0.0.1:0",
    "--mynaportal-listen",
    "127.0.0.1:0",
    "--account-registry-listen",
    "127.0.0.1:0",
];

/// `mykey serve` over `data` on free ports with `extra` arguments, run to its end: for starts
/// that must be refused (one that serves runs until the command's time limit).
pub(crate) fn serve_once(data: &Path, extra: &[&str]) -> Run {
    let mut args = SERVE_ON_FREE_PORTS.to_vec();
    args.extend_from_slice(&["--data", s(data)]);
    args.extend_from_slice(extra);
    mykey(&args)
}

/// `mykey serve` on free ports over `data`; killed (SIGKILL) on drop.
pub(crate) struct Serve {
    child: Child,
    pub(crate) url: String,
    pub(crate) jlis: String,
    pub(crate) mynaportal: String,
    pub(crate) account_registry: String,
}

impl Serve {
    /// Starts on `data`, first made its owner's alone (0700) as `mykey serve` demands (a
    /// temporary folder is made under the umask of the test run).
    pub(crate) fn start(data: &Path) -> Self {
        Self::start_with(data, &[])
    }

    /// [`Serve::start`] with more arguments.
    pub(crate) fn start_with(data: &Path, extra: &[&str]) -> Self {
        Self::start_logged(data, extra, "warn", Stdio::inherit())
    }

    /// [`Serve::start_with`] logging at `level` to `stderr`.
    pub(crate) fn start_logged(data: &Path, extra: &[&str], level: &str, stderr: Stdio) -> Self {
        if data.exists() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut child = Command::new(MYKEY)
            .args(SERVE_ON_FREE_PORTS)
            .arg("--data")
            .arg(data)
            .args(extra)
            .env("MYKEY_LOG", level)
            .env_remove("MYKEY_JLIS_URL")
            .env_remove("MYKEY_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        while !lines
            .iter()
            .any(|l: &String| l.contains("account registry:"))
        {
            let mut line = String::new();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "serve exited: {lines:?}"
            );
            lines.push(line);
        }
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url_in = |l: &str| {
            l.split_whitespace()
                .find(|w| w.starts_with("http://") || w.starts_with("https://"))
                .unwrap()
                .to_owned()
        };
        let jlis = url_in(lines.iter().find(|l| l.contains("J-LIS:")).unwrap());
        let line = |what: &str| url_in(lines.iter().find(|l| l.contains(what)).unwrap());
        Self {
            mynaportal: line("Mynaportal:"),
            account_registry: line("account registry:"),
            url: url_in(lines.iter().find(|l| l.contains("listening on")).unwrap()),
            jlis,
            child,
        }
    }
}

impl Serve {
    /// Stops the server as an operator does (SIGTERM) and waits for it to end.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        wait(&mut self.child, Duration::from_secs(30)).expect("serve ends on SIGTERM")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body that creates a My Key ID (`id`, or a random one): the person accepts Art 16.1 under
/// the seeded terms.
pub(crate) fn my_key_id_creation(id: Option<&str>) -> serde_json::Value {
    let mut body = serde_json::json!({
        "consent": {
            "items": [
                "my-key-id.validity-check",
                "my-key-id.previous-issuance-numbers",
                "my-key-id.jlis-previous-number-search",
            ],
            "terms_version": "2026-11-01",
        }
    });
    if let Some(id) = id {
        body["id"] = serde_json::json!(id);
    }
    body
}

/// `mykey admin rp register` for `name` of `kind`, with where people turn to it (required).
pub(crate) fn register_args<'a>(name: &'a str, kind: &'a str) -> Vec<&'a str> {
    vec![
        "register",
        "--name",
        name,
        "--kind",
        kind,
        "--contact",
        "窓口",
        "--privacy-policy-url",
        "https://rp.example/privacy",
        "--terms-url",
        "https://rp.example/terms",
    ]
}
