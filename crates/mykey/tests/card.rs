//! A virtual card's life through the command line: issue, show, sign, read the facts, lock the
//! PIN out, renew — each step a separate run of `mykey`, so that everything the card remembers
//! lives in its file.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mykey_pki::{IssuanceNumber, UserIdentificationCertificate, verify_challenge};
use serde_json::Value;

use crate::support::{
    self, EXPIRY_YEAR, Jlis, PIN, SECURITY_CODE, SIGN_PASSWORD, TICKET_PIN, expected_facts,
    issue_card, mykey, s,
};

fn show(card: &str) -> Value {
    let run = mykey(&["card", "show", "--card", card, "--pem"]).ok();
    serde_json::from_str(&run.stdout).unwrap()
}

fn sign(card: &str, pin: &str, data: &str) -> support::Run {
    mykey(&["card", "sign", "--card", card, "--pin", pin, data])
}

/// The user-identification certificate `show --pem` gives.
fn ui_certificate(shown: &Value) -> UserIdentificationCertificate {
    let pem = shown["certificates"]["user_identification"]["pem"]
        .as_str()
        .unwrap();
    let der = mykey_pki::pem_blocks(pem, "CERTIFICATE").unwrap().remove(0);
    UserIdentificationCertificate::from_der(&der).unwrap()
}

/// Every string and number in `v`, with the key it sits under.
fn leaves<'a>(v: &'a Value, key: &'a str, out: &mut Vec<(&'a str, String)>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| leaves(v, k, out)),
        Value::Array(a) => a.iter().for_each(|v| leaves(v, key, out)),
        Value::String(x) => out.push((key, x.clone())),
        Value::Number(n) => out.push((key, n.to_string())),
        _ => {}
    }
}

#[test]
fn a_card_is_issued_shown_used_locked_out_and_renewed() {
    let jlis = Jlis::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let card = s(&path);

    // Issue: the keys are born in the card, J-LIS certifies them, the file is the owner's only.
    let issued = issue_card(&jlis.url, &path, &[]).ok();
    let first: IssuanceNumber = issued.stdout.trim().parse().unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "card file mode {mode:o}");
    }

    // Show: certificates, counters, facts — and no secret.
    let run = mykey(&["card", "show", "--card", card, "--pem"]).ok();
    let shown: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        shown["certificates"]["user_identification"]["serial"],
        first.to_string()
    );
    assert_eq!(ui_certificate(&shown).issuance_number(), first);
    for cert in ["user_identification_ca", "signature", "signature_ca"] {
        assert!(shown["certificates"][cert]["subject"].is_string(), "{cert}");
    }
    assert_eq!(shown["facts"], expected_facts());
    assert_eq!(shown["awaiting_certificates"], false);
    let counters = &shown["retry_counters"];
    for (counter, max) in [
        ("user_identification_pin", 3),
        ("signature_password", 5),
        ("ticket_pin", 3),
        ("access_key_b", 10),
    ] {
        assert_eq!(counters[counter]["left"], max, "{counter}");
        assert_eq!(counters[counter]["max"], max, "{counter}");
    }
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(!text.contains(SIGN_PASSWORD));
    assert!(!text.contains("PRIVATE KEY"));
    let mut values = Vec::new();
    leaves(&shown, "", &mut values);
    for (key, value) in &values {
        for secret in [PIN, TICKET_PIN, SECURITY_CODE, SIGN_PASSWORD] {
            assert_ne!(value, secret, "a secret under {key:?}");
        }
    }
    // Nor any part of a private key: the card file's keys, each compared by a long prefix.
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for key in ["user_identification_key", "signature_key"] {
        let b64 = stored["jpki"][key].as_str().unwrap();
        assert!(!text.contains(&b64[..48]), "{key} shown");
    }

    // Sign: the signature verifies against the card's certificate exactly as the platform checks.
    let cert = ui_certificate(&shown);
    let challenge = "nonce-7f3a9c from a relying party";
    let signature = B64
        .decode(sign(card, PIN, challenge).ok().stdout.trim())
        .unwrap();
    verify_challenge(&cert, challenge.as_bytes(), &signature).unwrap();
    let binary = [0u8, 0xFF, 0x80, 0x0A, 0x0D, 0x00, 0x7F];
    let run = mykey(&[
        "card",
        "sign",
        "--card",
        card,
        "--pin",
        PIN,
        "--data-base64",
        &B64.encode(binary),
    ])
    .ok();
    let signature = B64.decode(run.stdout.trim()).unwrap();
    verify_challenge(&cert, &binary, &signature).unwrap();
    assert!(verify_challenge(&cert, b"another challenge", &signature).is_err());

    // Facts: by the ticket-item PIN, and by access key B (no PIN) from the card's face.
    let facts = |args: &[&str]| -> Value {
        let mut all = vec!["card", "facts", "--card", card];
        all.extend_from_slice(args);
        serde_json::from_str(&mykey(&all).ok().stdout).unwrap()
    };
    assert_eq!(facts(&["--pin", TICKET_PIN]), expected_facts());
    let key_b = [
        "--access-key-birth",
        "850615",
        "--expiry-year",
        EXPIRY_YEAR,
        "--security-code",
        SECURITY_CODE,
    ];
    assert_eq!(facts(&key_b), expected_facts());
    // A wrong access key counts down key B only.
    mykey(&[
        "card",
        "facts",
        "--card",
        card,
        "--access-key-birth",
        "850616",
        "--expiry-year",
        EXPIRY_YEAR,
        "--security-code",
        SECURITY_CODE,
    ])
    .fails_with("wrong access key B: 9 tries left");
    assert_eq!(show(card)["retry_counters"]["access_key_b"]["left"], 9);
    assert_eq!(facts(&key_b), expected_facts());
    assert_eq!(show(card)["retry_counters"]["access_key_b"]["left"], 10);

    // A wrong PIN counts down across runs; the third blocks it, and it stays blocked.
    sign(card, "0000", challenge).fails_with("wrong user-identification PIN: 2 tries left");
    sign(card, "0001", challenge).fails_with("1 try left");
    sign(card, "0002", challenge).fails_with("user-identification PIN is blocked");
    let run = sign(card, PIN, challenge).fails_with("blocked");
    assert!(run.stdout.is_empty(), "a blocked card signed: {run:#?}");
    let shown = show(card);
    assert_eq!(
        shown["retry_counters"]["user_identification_pin"]["left"],
        0
    );
    assert_eq!(
        shown["retry_counters"]["user_identification_pin"]["blocked"],
        true
    );
    // The ticket-item AP has its own PIN, untouched.
    assert_eq!(facts(&["--pin", TICKET_PIN]), expected_facts());

    // Renew: a new issuance number, linked at J-LIS to the old one.
    let run = mykey(&["card", "renew", "--jlis", &jlis.url, "--card", card]).ok();
    let second: IssuanceNumber = run.stdout.trim().parse().unwrap();
    assert_ne!(second, first);
    let shown = show(card);
    assert_eq!(ui_certificate(&shown).issuance_number(), second);
    assert_eq!(shown["awaiting_certificates"], false);
    assert_eq!(shown["facts"], expected_facts());
    let status = mykey(&[
        "jlis",
        "status",
        "--jlis",
        &jlis.url,
        "--issuance-number",
        &second.to_string(),
    ])
    .ok();
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["previous"][0], first.to_string(), "{status:#}");
    let old = mykey(&[
        "jlis",
        "status",
        "--jlis",
        &jlis.url,
        "--serial",
        &first.to_string(),
    ])
    .ok();
    let old: Value = serde_json::from_str(&old.stdout).unwrap();
    assert_eq!(old["status"], "revoked");
    assert_eq!(old["reason"], "superseded");
    // New certificates on the same card: the PIN stays blocked.
    sign(card, PIN, challenge).fails_with("blocked");

    // Inserting needs pcscd's vpcd listening; without it the command says so at once.
    mykey(&["card", "insert", card, "--vpcd", "127.0.0.1:9"]).fails_with("is pcscd running");

    // An existing card is replaced only when asked.
    issue_card(&jlis.url, &path, &[]).fails_with("--force");
    assert_eq!(ui_certificate(&show(card)).issuance_number(), second);
    let third: IssuanceNumber = issue_card(&jlis.url, &path, &["--force"])
        .ok()
        .stdout
        .trim()
        .parse()
        .unwrap();
    let shown = show(card);
    assert_eq!(ui_certificate(&shown).issuance_number(), third);
    assert_eq!(
        shown["retry_counters"]["user_identification_pin"]["left"],
        3
    );
    let signature = B64
        .decode(sign(card, PIN, challenge).ok().stdout.trim())
        .unwrap();
    verify_challenge(&ui_certificate(&shown), challenge.as_bytes(), &signature).unwrap();
}

#[test]
fn no_card_for_someone_under_fifteen() {
    let jlis = Jlis::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("child.json");
    // Born 2020-01-01: under 15 until 2035.
    mykey(&[
        "card",
        "issue",
        "--jlis",
        &jlis.url,
        "--name",
        "山田\u{3000}太郎",
        "--address",
        support::ADDRESS,
        "--birth",
        "2020-01-01",
        "--sex",
        "1",
        "--pin",
        PIN,
        "--sign-password",
        SIGN_PASSWORD,
        "--out",
        s(&out),
    ])
    .fails_with("under 15");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
