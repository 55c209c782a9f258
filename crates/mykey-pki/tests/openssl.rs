//! OpenSSL's command-line tool as an independent oracle for certificates and CRLs.

use std::path::Path;
use std::process::Command;

use mykey_pki::issue::{CrlTemplate, build_crl};
use mykey_pki::{
    Crl, CrlEntry, Purpose, RevocationIndex, RevocationReason, RevocationStatus, to_pem,
};

use crate::fixtures::*;

/// Whether `openssl` can be run; without it the test is skipped, unless MYKEY_REQUIRE_ALL=1.
fn have_openssl() -> bool {
    mykey_testkit::have_openssl("mykey-pki's OpenSSL cross-checks")
}

fn write(dir: &Path, name: &str, pem: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, pem).unwrap();
    p.to_str().unwrap().to_owned()
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn openssl_verify_accepts_our_chains_and_rejects_bad_ones() {
    if !have_openssl() {
        return;
    }
    let f = fx();
    let dir = tempfile::tempdir().unwrap();
    let at = NOW.as_secs().to_string();
    let ca1 = write(dir.path(), "ca1.pem", &f.ui_g1.cert.to_pem());
    let ca2 = write(dir.path(), "ca2.pem", &f.ui_g2.cert.to_pem());
    let sig_ca = write(dir.path(), "sig.pem", &f.sig.cert.to_pem());
    let ee1 = write(dir.path(), "ee1.pem", &to_pem("CERTIFICATE", &ui(1)));
    let sig_ee = write(
        dir.path(),
        "sig-ee.pem",
        &to_pem(
            "CERTIFICATE",
            &ee(&f.sig, Purpose::Signature, 2, &f.other, NOW.minus(DAY)),
        ),
    );
    let (ok, text) = openssl(&["verify", "-attime", &at, "-CAfile", &ca1, &ee1]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&["verify", "-attime", &at, "-CAfile", &sig_ca, &sig_ee]);
    assert!(ok, "{text}");
    // Same name, other generation: the key identifier decides, and OpenSSL agrees.
    let (ok, text) = openssl(&["verify", "-attime", &at, "-CAfile", &ca2, &ee1]);
    assert!(!ok, "{text}");
    // Expired at the time asked.
    let late = NOW.plus(2 * YEAR).as_secs().to_string();
    let (ok, text) = openssl(&["verify", "-attime", &late, "-CAfile", &ca1, &ee1]);
    assert!(!ok && text.contains("expired"), "{text}");
    // Tampered signature.
    let mut bad = ui(1);
    let n = bad.len();
    bad[n - 3] ^= 1;
    let bad = write(dir.path(), "bad.pem", &to_pem("CERTIFICATE", &bad));
    let (ok, text) = openssl(&["verify", "-attime", &at, "-CAfile", &ca1, &bad]);
    assert!(!ok && text.contains("signature"), "{text}");
}

#[test]
fn openssl_verifies_our_crls_and_agrees_with_the_index() {
    if !have_openssl() {
        return;
    }
    let f = fx();
    let dir = tempfile::tempdir().unwrap();
    let at = NOW.as_secs().to_string();
    let entries = [
        CrlEntry {
            serial: serial(100),
            revoked_at: NOW.minus(DAY),
            reason: Some(RevocationReason::Superseded),
        },
        CrlEntry {
            serial: serial(101),
            revoked_at: NOW.minus(DAY),
            reason: Some(RevocationReason::KeyCompromise),
        },
    ];
    let der = build_crl(
        &f.ui_g1.key,
        &f.ui_g1.cert,
        &CrlTemplate {
            this_update: NOW.minus(60),
            next_update: NOW.plus(DAY),
            number: 12,
            base_number: None,
            entries: &entries,
        },
    )
    .unwrap();
    let crl = Crl::from_der(der.clone()).unwrap();
    let index = RevocationIndex::from_full_crl(&crl, &f.ui_g1.cert, NOW).unwrap();
    let ca = write(dir.path(), "ca.pem", &f.ui_g1.cert.to_pem());
    let crl_pem = write(dir.path(), "crl.pem", &to_pem("X509 CRL", &der));
    let (ok, text) = openssl(&["crl", "-in", &crl_pem, "-CAfile", &ca, "-noout", "-text"]);
    assert!(
        ok && (text.contains("verify OK") || text.contains("Certificate Revocation List")),
        "{text}"
    );
    assert!(
        text.contains("Superseded") && text.contains("Key Compromise"),
        "{text}"
    );
    let (ok, text) = openssl(&["crl", "-in", &crl_pem, "-CAfile", &ca, "-noout"]);
    assert!(ok && text.contains("verify OK"), "{text}");
    // The wrong CA cannot verify it.
    let other = write(dir.path(), "other.pem", &f.ui_g2.cert.to_pem());
    let (_, text) = openssl(&["crl", "-in", &crl_pem, "-CAfile", &other, "-noout"]);
    assert!(!text.contains("verify OK"), "{text}");

    for n in [100u64, 101, 102] {
        let cert = write(
            dir.path(),
            &format!("ee{n}.pem"),
            &to_pem("CERTIFICATE", &ui(n)),
        );
        let (ok, text) = openssl(&[
            "verify",
            "-attime",
            &at,
            "-crl_check",
            "-CAfile",
            &ca,
            "-CRLfile",
            &crl_pem,
            &cert,
        ]);
        let ours = index.lookup(&serial(n), NOW);
        match ours {
            RevocationStatus::Good => assert!(ok, "{n}: {text}"),
            RevocationStatus::Revoked { .. } => {
                assert!(!ok && text.contains("revoked"), "{n}: {text}")
            }
            RevocationStatus::Stale { .. } => panic!("fresh index"),
        }
    }
}
