//! OpenSSL's command-line tool, pointed at the running simulator, as an independent oracle.

use std::path::Path;
use std::process::Command;

use mykey_jlis::api::RevokeRequest;
use mykey_pki::{
    Crl, IssuanceNumber, Purpose, RevocationIndex, RevocationStatus, UnixTime, to_pem,
};

use crate::harness::*;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
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

#[tokio::test(flavor = "multi_thread")]
async fn openssl_ocsp_agrees_with_the_responder_and_verifies_it() {
    if !have_openssl() {
        return;
    }
    let sim = start().await;
    let dir = tempfile::tempdir().unwrap();
    let good = issue(&sim).await;
    let bad = issue(&sim).await;
    sim.client
        .revoke(&RevokeRequest {
            serial: bad.issuance_number.clone(),
            reason: "affiliationChanged".into(),
        })
        .await
        .unwrap();
    let ca = sim
        .client
        .ca_certificates(Purpose::UserIdentification)
        .await
        .unwrap()
        .remove(0);
    let ca_pem = write(dir.path(), "ca.pem", &ca.to_pem());
    let url = format!("{}/ocsp/user-identification", sim.url);
    for (issued, nonce) in [(&good, true), (&bad, true), (&bad, false)] {
        let cert = write(
            dir.path(),
            "ee.pem",
            &to_pem("CERTIFICATE", &der(&issued.user_identification_certificate)),
        );
        let mut args = vec![
            "ocsp", "-issuer", &ca_pem, "-cert", &cert, "-url", &url, "-CAfile", &ca_pem,
        ];
        if !nonce {
            args.push("-no_nonce");
        }
        let (ok, text) = tokio::task::spawn_blocking({
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            move || openssl(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .await
        .unwrap();
        assert!(ok && text.contains("Response verify OK"), "{text}");
        let ours = sim
            .client
            .certificate(&issued.issuance_number)
            .await
            .unwrap();
        if ours.status == "good" {
            assert!(text.contains(": good"), "{text}");
        } else {
            assert!(
                text.contains(": revoked") && text.contains("Reason: affiliationChanged"),
                "{text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn openssl_verifies_served_crls_and_agrees_with_our_index() {
    if !have_openssl() {
        return;
    }
    let sim = start().await;
    let dir = tempfile::tempdir().unwrap();
    let good = issue(&sim).await;
    let bad = issue(&sim).await;
    sim.client
        .revoke(&RevokeRequest {
            serial: bad.issuance_number.clone(),
            reason: "keyCompromise".into(),
        })
        .await
        .unwrap();
    sim.client.publish_crls().await.unwrap();
    let ca = sim
        .client
        .ca_certificates(Purpose::UserIdentification)
        .await
        .unwrap()
        .remove(0);
    let crl_der = sim
        .client
        .get_bytes("/crl/user-identification-g1.crl")
        .await
        .unwrap();
    let crl = Crl::from_der(crl_der.clone()).unwrap();
    let index = RevocationIndex::from_full_crl(&crl, &ca, UnixTime::now()).unwrap();
    let ca_pem = write(dir.path(), "ca.pem", &ca.to_pem());
    let crl_pem = write(dir.path(), "crl.pem", &to_pem("X509 CRL", &crl_der));
    let (ok, text) = openssl(&["crl", "-in", &crl_pem, "-CAfile", &ca_pem, "-noout"]);
    assert!(ok && text.contains("verify OK"), "{text}");
    let delta_der = sim
        .client
        .get_bytes("/crl/user-identification-g1-delta.crl")
        .await
        .unwrap();
    let delta_pem = write(dir.path(), "delta.pem", &to_pem("X509 CRL", &delta_der));
    let (ok, text) = openssl(&[
        "crl", "-in", &delta_pem, "-CAfile", &ca_pem, "-noout", "-text",
    ]);
    assert!(
        ok && text.contains("verify OK") && text.contains("Delta CRL Indicator"),
        "{text}"
    );
    for issued in [&good, &bad] {
        let cert = write(
            dir.path(),
            "ee.pem",
            &to_pem("CERTIFICATE", &der(&issued.user_identification_certificate)),
        );
        let (ok, text) = openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            &ca_pem,
            "-CRLfile",
            &crl_pem,
            &cert,
        ]);
        let n: IssuanceNumber = issued.issuance_number.parse().unwrap();
        match index.lookup(&n, UnixTime::now()) {
            RevocationStatus::Good => assert!(ok, "{text}"),
            RevocationStatus::Revoked { .. } => assert!(!ok && text.contains("revoked"), "{text}"),
            RevocationStatus::Stale { .. } => panic!("fresh CRL"),
        }
    }
}
