//! Software no one here wrote against the virtual card: pcsc-lite's `pcscd` with vsmartcard's
//! `vpcd` reader driver, OpenSC's `opensc-tool`, `pkcs15-tool` and PKCS#11 module, and OpenSSL —
//! and, with the `pcsc` feature, our own client through the `pcsc` crate, in the same run.
//!
//! Needs the Debian packages `pcscd vsmartcard-vpcd opensc openssl` (and `libpcsclite-dev` to build
//! the `pcsc` feature). Without them the test prints why and passes, unless `MYKEY_REQUIRE_ALL=1`.
//! Only one pcscd can run on a machine: the test takes the lock `/tmp/mykey-pcscd.lock`, starts its
//! own pcscd with a reader configuration of its own on free ports, and stops it by PID (also when
//! the test panics).

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mykey_card::vpcd::{Vpcd, VpcdError, VpcdStopper};
use mykey_card::{CardFile, Certificates, MemoryTransport};

use crate::fixtures::{self, FreshCard};

const PCSCD: &str = "/usr/sbin/pcscd";
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
const PKCS11_MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
const LOCK: &str = "/tmp/mykey-pcscd.lock";
const FRIENDLY_NAME: &str = "MyKey Test VPCD";

/// Ends the test: a missing component skips it, unless every component is required.
fn missing(reason: &str) {
    mykey_testkit::skip(
        "mykey-card opensc_takes_the_virtual_card_for_a_jpki_card",
        reason,
    );
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

fn components_missing() -> Option<String> {
    for file in [PCSCD, VPCD_DRIVER, PKCS11_MODULE] {
        if !Path::new(file).exists() {
            return Some(format!("{file} is not installed"));
        }
    }
    [
        "opensc-tool",
        "pkcs15-tool",
        "pkcs11-tool",
        "openssl",
        "kill",
    ]
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
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        // SIGTERM lets pcscd remove its socket; `sh`'s built-in kill needs no extra package.
        let _ = Command::new("sh")
            .args(["-c", "kill -TERM \"$1\"", "sh", &pid])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.exited() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The virtual card in vpcd's first slot, served on a thread until stopped.
struct Inserted {
    stopper: VpcdStopper,
    thread: Option<JoinHandle<Result<(), VpcdError>>>,
}

impl Inserted {
    fn connect(port: u16, file: CardFile) -> Self {
        let deadline = Instant::now() + Duration::from_secs(20);
        let vpcd = loop {
            match Vpcd::connect(format!("127.0.0.1:{port}")) {
                Ok(v) => break v,
                Err(e) if Instant::now() > deadline => panic!("vpcd never listened: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        let stopper = vpcd.stopper().unwrap();
        let card = file.load().unwrap();
        let thread =
            std::thread::spawn(move || vpcd.serve(&mut MemoryTransport::with_store(card, file)));
        Self {
            stopper,
            thread: Some(thread),
        }
    }
}

impl Drop for Inserted {
    fn drop(&mut self) {
        self.stopper.stop();
        if let Some(t) = self.thread.take() {
            let result = t.join();
            if !std::thread::panicking() {
                result.unwrap().unwrap();
            }
        }
    }
}

/// Runs a tool with OpenSC's caches in `home`; returns its output.
fn tool(home: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout_ok(home: &Path, program: &str, args: &[&str]) -> String {
    let out = tool(home, program, args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    let blocks = mykey_pki::pem_blocks(pem, "CERTIFICATE").unwrap();
    assert_eq!(blocks.len(), 1, "{pem}");
    blocks.into_iter().next().unwrap()
}

/// Tries left that `pkcs15-tool --list-pins` reports for the user-identification PIN.
fn ui_pin_tries(home: &Path) -> String {
    let pins = stdout_ok(home, "pkcs15-tool", &["--list-pins"]);
    let section = pins
        .split("PIN [")
        .find(|s| s.starts_with("User Authentication PIN"))
        .unwrap_or_else(|| panic!("{pins}"));
    let line = section
        .lines()
        .find(|l| l.contains("Tries left"))
        .unwrap_or_else(|| panic!("{pins}"));
    line.rsplit(':').next().unwrap().trim().to_owned()
}

#[test]
fn opensc_takes_the_virtual_card_for_a_jpki_card() {
    if let Some(reason) = components_missing() {
        return missing(&reason);
    }
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK)
        .unwrap();
    lock.lock().unwrap();

    let fresh = FreshCard::new();
    let certs: Certificates = fresh.load().certificates().unwrap().clone();
    let work = fresh.dir.path();
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
            return missing(&format!("another pcscd is running: {}", log.trim()));
        }
        panic!("pcscd did not start:\n{log}");
    }
    let _card = Inserted::connect(port, fresh.file.clone());

    // OpenSC sees a card and names the driver that took it, without being told which.
    let deadline = Instant::now() + Duration::from_secs(20);
    let name = loop {
        let out = tool(work, "opensc-tool", &["-n"]);
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no card seen: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            pcscd.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        name.lines().any(|l| l.trim() == "jpki"),
        "opensc-tool -n said: {name}"
    );

    let listed = stdout_ok(work, "pkcs15-tool", &["--list-certificates"]);
    for label in [
        "User Authentication Certificate",
        "User Authentication Certificate CA",
        "Digital Signature Certificate CA",
    ] {
        assert!(listed.contains(label), "{label} missing from:\n{listed}");
    }

    for (id, der) in [
        ("01", &certs.user_identification),
        ("03", &certs.user_identification_ca),
        ("04", &certs.signature_ca),
    ] {
        let pem = stdout_ok(work, "pkcs15-tool", &["--read-certificate", id]);
        assert_eq!(&pem_to_der(&pem), der, "certificate {id}");
    }

    assert_eq!(ui_pin_tries(work), "3");
    // A wrong PIN through the PKCS#11 module counts down, as the card says.
    let wrong = tool(
        work,
        "pkcs11-tool",
        &[
            "--module",
            PKCS11_MODULE,
            "--login",
            "--pin",
            "0000",
            "--list-objects",
        ],
    );
    assert!(!wrong.status.success(), "login with a wrong PIN succeeded");
    assert_eq!(ui_pin_tries(work), "2");

    // A signature with the user-identification key, verified by OpenSSL against the certificate.
    let data = work.join("challenge.bin");
    fs::write(&data, b"challenge from a relying party").unwrap();
    let sig = work.join("challenge.sig");
    stdout_ok(
        work,
        "pkcs11-tool",
        &[
            "--module",
            PKCS11_MODULE,
            "--login",
            "--pin",
            fixtures::UI_PIN,
            "--sign",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--id",
            "01",
            "--input-file",
            data.to_str().unwrap(),
            "--output-file",
            sig.to_str().unwrap(),
        ],
    );
    assert_eq!(fs::metadata(&sig).unwrap().len(), 256);
    let cert = work.join("ui.der");
    fs::write(&cert, &certs.user_identification).unwrap();
    let public = work.join("ui.pub.pem");
    let pem = stdout_ok(
        work,
        "openssl",
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            cert.to_str().unwrap(),
            "-pubkey",
            "-noout",
        ],
    );
    fs::write(&public, pem).unwrap();
    let verified = stdout_ok(
        work,
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-verify",
            public.to_str().unwrap(),
            "-signature",
            sig.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
    );
    assert!(verified.contains("Verified OK"), "{verified}");
    assert_eq!(ui_pin_tries(work), "3", "a right PIN restores the tries");
    assert_eq!(fresh.file.load().unwrap().summary().ui_pin.left, 3);

    #[cfg(feature = "pcsc")]
    our_client_through_pcsc(&certs);
    #[cfg(not(feature = "pcsc"))]
    eprintln!("(our client over PC/SC not checked: build with --features pcsc)");

    drop(lock);
}

/// The same checks through our own client, the `pcsc` crate and the same pcscd.
#[cfg(feature = "pcsc")]
fn our_client_through_pcsc(certs: &Certificates) {
    use mykey_card::{CertificateFile, CredentialId, FactsAccess, JpkiCard, PcscTransport, Pin};

    let reader = format!("{FRIENDLY_NAME} 00 00");
    let readers = PcscTransport::readers().unwrap();
    assert!(readers.contains(&reader), "{readers:?}");
    let mut card = JpkiCard::new(PcscTransport::connect(Some(&reader)).unwrap());
    assert_eq!(card.token_label().unwrap(), "JPKIAPICCTOKEN2");
    let ui = card
        .read_certificate(CertificateFile::UserIdentification)
        .unwrap();
    assert_eq!(ui, certs.user_identification);
    assert_eq!(
        card.read_certificate(CertificateFile::SignatureCa).unwrap(),
        certs.signature_ca
    );
    assert_eq!(card.tries_left(CredentialId::UiPin).unwrap(), 3);
    let challenge = b"challenge over PC/SC";
    let signature = card
        .sign_challenge(&Pin::new(fixtures::UI_PIN).unwrap(), challenge)
        .unwrap();
    let cert = mykey_pki::UserIdentificationCertificate::from_der(&ui).unwrap();
    mykey_pki::verify_challenge(&cert, challenge, &signature).unwrap();
    let pin = Pin::new(fixtures::TICKET_PIN).unwrap();
    assert_eq!(
        card.read_facts(FactsAccess::Pin(&pin)).unwrap(),
        fixtures::facts()
    );
    // The same timing the issue budgets: a complete challenge signature through pcscd and vpcd.
    let start = Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        card.sign_challenge(&Pin::new(fixtures::UI_PIN).unwrap(), challenge)
            .unwrap();
    }
    eprintln!(
        "challenge signature through pcscd+vpcd: {:?} each (RSA included)",
        start.elapsed() / rounds
    );
}
