//! `mykey card insert` puts the card into pcscd's virtual reader: OpenSC takes it for a JPKI card,
//! `mykey card sign/facts --reader` (feature `pcsc`) use it through PC/SC, the card file stays
//! locked and its counters saved, the bridge survives pcscd restarting, and SIGTERM takes the
//! card out.
//!
//! Needs the Debian packages `pcscd vsmartcard-vpcd opensc`; without them the test prints why and
//! passes, unless `MYKEY_REQUIRE_ALL=1`. Only one pcscd can run on a machine: like mykey-card's
//! OpenSC test, this one takes `/tmp/mykey-pcscd.lock` and starts its own pcscd with a reader
//! configuration of its own on free ports, stopped by PID.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{Jlis, MYKEY, PIN, issue_card, missing, mykey, s, wait};

const TEST: &str = "card_insert_serves_pcsc_until_terminated";
const PCSCD: &str = "/usr/sbin/pcscd";
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
const LOCK: &str = "/tmp/mykey-pcscd.lock";
const FRIENDLY_NAME: &str = "MyKey CLI VPCD";

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

fn components_missing() -> Option<String> {
    for file in [PCSCD, VPCD_DRIVER] {
        if !Path::new(file).exists() {
            return Some(format!("{file} is not installed"));
        }
    }
    ["opensc-tool", "pkcs15-tool", "kill"]
        .into_iter()
        .find(|tool| !on_path(tool))
        .map(|tool| format!("{tool} is not on PATH"))
}

/// Two consecutive free TCP ports (vpcd opens one per slot, two slots per reader line).
fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let first = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("0.0.0.0", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free ports");
}

/// Sends SIGTERM to `child` (through `sh`'s built-in kill: no extra crate, no unsafe).
fn terminate(child: &Child) {
    let pid = child.id().to_string();
    let _ = Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "sh", &pid])
        .status();
}

/// Our pcscd, stopped (SIGTERM, then SIGKILL) when dropped.
struct Pcscd {
    child: Child,
    log: PathBuf,
}

impl Pcscd {
    fn start(config_dir: &Path, log: PathBuf) -> Self {
        let out = fs::File::create(&log).unwrap();
        let child = Command::new(PCSCD)
            .args(["--foreground", "--info", "--config"])
            .arg(config_dir)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }

    fn stop(&mut self) {
        if self.exited() {
            return;
        }
        terminate(&self.child);
        if wait(&mut self.child, Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `mykey card insert` running; its stdout lines arrive on `lines`. Killed on drop.
struct Inserted {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Inserted {
    fn start(card: &Path, port: u16) -> Self {
        let mut child = Command::new(MYKEY)
            .args(["card", "insert", s(card), "--vpcd"])
            .arg(format!("127.0.0.1:{port}"))
            // Its reconnection warning is expected here.
            .env("MYKEY_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next stdout line, waiting up to `limit`.
    fn line(&self, limit: Duration) -> String {
        self.lines
            .recv_timeout(limit)
            .unwrap_or_else(|e| panic!("no line from card insert: {e}"))
    }
}

impl Drop for Inserted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a tool with OpenSC's caches in `home`.
fn tool(home: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Waits until `opensc-tool -n` sees a card, and returns what it says.
fn card_name(home: &Path, pcscd: &Pcscd) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = tool(home, "opensc-tool", &["-n"]);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no card seen: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            pcscd.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn card_insert_serves_pcsc_until_terminated() {
    if let Some(reason) = components_missing() {
        return missing(TEST, &reason);
    }
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK)
        .unwrap();
    lock.lock().unwrap();

    let jlis = Jlis::start();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let card = work.join("card.json");
    issue_card(&jlis.url, &card, &[]).ok();
    drop(jlis);

    let conf = work.join("reader.conf.d");
    fs::create_dir(&conf).unwrap();
    let port = free_port_pair();
    fs::write(
        conf.join("mykey-vpcd"),
        format!(
            "FRIENDLYNAME \"{FRIENDLY_NAME}\"\nDEVICENAME /dev/null:0x{port:04X}\nLIBPATH {VPCD_DRIVER}\nCHANNELID 0x{port:04X}\n"
        ),
    )
    .unwrap();
    let mut pcscd = Pcscd::start(&conf, work.join("pcscd.log"));
    std::thread::sleep(Duration::from_millis(300));
    if pcscd.exited() {
        let log = pcscd.log();
        // Only one pcscd can run on a machine; a system one is not ours to stop.
        if log.contains("seems to be running") {
            return missing(TEST, &format!("another pcscd is running: {}", log.trim()));
        }
        panic!("pcscd did not start:\n{log}");
    }
    // vpcd listens a moment after pcscd starts: wait for the port before inserting, since the
    // first connection failing is an error by design.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "vpcd never listened:\n{}",
            pcscd.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // That probe took vpcd's one connection slot for a moment; vpcd drops it when it closes.
    std::thread::sleep(Duration::from_millis(300));

    let mut inserted = Inserted::start(&card, port);
    let said = inserted.line(Duration::from_secs(30));
    assert!(said.contains("is in the vpcd reader"), "{said}");

    // OpenSC takes it for a JPKI card without being told which driver to use.
    let name = card_name(work, &pcscd);
    assert!(
        name.lines().any(|l| l.trim() == "jpki"),
        "opensc-tool -n: {name}"
    );
    let listed = tool(work, "pkcs15-tool", &["--list-certificates"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("User Authentication Certificate"),
        "{listed}"
    );

    // The file is the card's, and the card is in the reader: no second user of the file.
    mykey(&["card", "sign", "--card", s(&card), "--pin", PIN, "x"]).fails_with("in use");

    #[cfg(feature = "pcsc")]
    through_the_reader(&card);
    #[cfg(not(feature = "pcsc"))]
    eprintln!("(mykey card sign --reader not checked: build with --features pcsc)");

    // pcscd goes away and comes back: the card is back in the reader by itself.
    pcscd.stop();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        inserted.child.try_wait().unwrap().is_none(),
        "card insert ended when pcscd stopped"
    );
    let mut pcscd = Pcscd::start(&conf, work.join("pcscd-2.log"));
    let said = inserted.line(Duration::from_secs(30));
    assert!(said.contains("is in the vpcd reader"), "{said}");
    let name = card_name(work, &pcscd);
    assert!(
        name.lines().any(|l| l.trim() == "jpki"),
        "opensc-tool -n: {name}"
    );

    // SIGTERM takes the card out and releases the file.
    terminate(&inserted.child);
    let status =
        wait(&mut inserted.child, Duration::from_secs(10)).expect("card insert ignored SIGTERM");
    assert!(status.success(), "card insert ended with {status}");
    let said = inserted.line(Duration::from_secs(5));
    assert!(said.contains("removed"), "{said}");
    mykey(&["card", "sign", "--card", s(&card), "--pin", PIN, "x"]).ok();
    pcscd.stop();
    drop(lock);
}

/// `card sign` and `card facts` through pcscd, and the counters they change saved in the file.
#[cfg(feature = "pcsc")]
fn through_the_reader(card: &Path) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use mykey_pki::{UserIdentificationCertificate, verify_challenge};

    use crate::support::{TICKET_PIN, expected_facts};

    let reader = format!("{FRIENDLY_NAME} 00 00");
    let shown = mykey(&["card", "show", "--card", s(card), "--pem"]).ok();
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    let pem = shown["certificates"]["user_identification"]["pem"]
        .as_str()
        .unwrap();
    let cert = UserIdentificationCertificate::from_der(
        &mykey_pki::pem_blocks(pem, "CERTIFICATE").unwrap()[0],
    )
    .unwrap();

    for name in [reader.as_str(), ""] {
        let run = mykey(&["card", "sign", "--reader", name, "--pin", PIN, "over PC/SC"]).ok();
        let signature = B64.decode(run.stdout.trim()).unwrap();
        verify_challenge(&cert, b"over PC/SC", &signature).unwrap();
    }
    let run = mykey(&["card", "facts", "--reader", &reader, "--pin", TICKET_PIN]).ok();
    let facts: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(facts, expected_facts());

    // A wrong PIN through the reader is counted in the card file.
    mykey(&["card", "sign", "--reader", &reader, "--pin", "0000", "x"]).fails_with("2 tries left");
    let shown = mykey(&["card", "show", "--card", s(card)]).ok();
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(
        shown["retry_counters"]["user_identification_pin"]["left"],
        2
    );
    mykey(&["card", "sign", "--reader", &reader, "--pin", PIN, "x"]).ok();

    mykey(&[
        "card",
        "sign",
        "--reader",
        "No Such Reader",
        "--pin",
        PIN,
        "x",
    ])
    .fails_with("no smart-card reader");
}
