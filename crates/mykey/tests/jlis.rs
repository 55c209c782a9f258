//! `mykey jlis …` end to end against a child simulator: issue, status, revoke, renew, CA.

use mykey_pki::{CaCertificate, IssuanceNumber, Purpose, UserIdentificationCertificate};
use serde_json::Value;

use crate::support::{ADDRESS, BIRTH, Jlis, NAME, mykey, s};

fn status(jlis: &Jlis, flag: &str, value: &str) -> Value {
    let run = mykey(&["jlis", "status", "--jlis", &jlis.url, flag, value]).ok();
    serde_json::from_str(&run.stdout).unwrap()
}

fn read_certificate(path: &std::path::Path) -> Vec<u8> {
    let pem = std::fs::read_to_string(path).unwrap();
    mykey_pki::pem_blocks(&pem, "CERTIFICATE")
        .unwrap()
        .remove(0)
}

#[test]
fn issue_status_revoke_renew_and_the_cas() {
    use std::os::unix::fs::PermissionsExt as _;

    let jlis = Jlis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("person");
    let run = mykey(&[
        "jlis",
        "issue",
        "--jlis",
        &jlis.url,
        "--name",
        NAME,
        "--address",
        ADDRESS,
        "--birth",
        BIRTH,
        "--sex",
        "2",
        "--out",
        s(&out),
    ])
    .ok();
    let number: IssuanceNumber = run.stdout.trim().parse().unwrap();
    for (file, mode) in [
        ("user-identification.pem", 0o644),
        ("user-identification.key", 0o600),
        ("signature.pem", 0o644),
        ("signature.key", 0o600),
        ("ca-user-identification.pem", 0o644),
        ("ca-signature.pem", 0o644),
    ] {
        let meta = std::fs::metadata(out.join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
    let ui = UserIdentificationCertificate::from_der(&read_certificate(
        &out.join("user-identification.pem"),
    ))
    .unwrap();
    assert_eq!(ui.issuance_number(), number);

    // The CA the simulator publishes issued it (chosen by key identifier, as docs/jpki.md §17 says).
    let run = mykey(&[
        "jlis",
        "ca",
        "--jlis",
        &jlis.url,
        "--kind",
        "user-identification",
    ])
    .ok();
    let cas = CaCertificate::from_pem_chain(&run.stdout).unwrap();
    assert!(!cas.is_empty());
    assert!(
        cas.iter()
            .all(|c| c.purpose() == Purpose::UserIdentification)
    );
    assert!(
        cas.iter()
            .any(|c| Some(c.key_id()) == ui.authority_key_id())
    );
    let run = mykey(&["jlis", "ca", "--jlis", &jlis.url, "--kind", "signature"]).ok();
    assert!(
        CaCertificate::from_pem_chain(&run.stdout)
            .unwrap()
            .iter()
            .all(|c| c.purpose() == Purpose::Signature)
    );

    let n = number.to_string();
    let state = status(&jlis, "--serial", &n);
    assert_eq!(state["status"], "good");
    assert_eq!(state["purpose"], "user-identification");
    let both = status(&jlis, "--issuance-number", &n);
    assert_eq!(both["previous"], serde_json::json!([]));
    let signature_serial = both["signature_certificate"]["paired"]["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(both["signature_certificate"]["paired"]["status"], "good");

    // Renew: new number, the old one superseded and linked.
    let renewed = dir.path().join("renewed");
    let run = mykey(&[
        "jlis",
        "renew",
        "--jlis",
        &jlis.url,
        "--issuance-number",
        &n,
        "--out",
        s(&renewed),
    ])
    .ok();
    let m = run.stdout.trim().to_owned();
    assert_ne!(m, n);
    assert_eq!(status(&jlis, "--issuance-number", &m)["previous"][0], n);
    assert_eq!(status(&jlis, "--serial", &n)["reason"], "superseded");
    // A number renews once.
    mykey(&[
        "jlis",
        "renew",
        "--jlis",
        &jlis.url,
        "--issuance-number",
        &n,
        "--out",
        s(&renewed),
    ])
    .fails_with("already renewed");

    // Revoke the new signature certificate: the status says so, with the reason.
    let new_signature =
        status(&jlis, "--issuance-number", &m)["signature_certificate"]["paired"]["serial"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_ne!(new_signature, signature_serial);
    let run = mykey(&[
        "jlis",
        "revoke",
        "--jlis",
        &jlis.url,
        "--serial",
        &new_signature,
        "--reason",
        "key-compromise",
    ])
    .ok();
    let revoked: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["reason"], "keyCompromise");
    let state = status(&jlis, "--issuance-number", &m);
    assert_eq!(
        state["signature_certificate"]["paired"]["status"],
        "revoked"
    );
    assert_eq!(state["certificate"]["status"], "good");

    // Unknown serials and malformed ones are refused, not guessed at.
    mykey(&[
        "jlis",
        "status",
        "--jlis",
        &jlis.url,
        "--serial",
        "7FFFFFFFFFFF",
    ])
    .fails_with("404");
    mykey(&["jlis", "revoke", "--jlis", &jlis.url, "--serial", "not-hex"]).fails_with("J-LIS");
}
