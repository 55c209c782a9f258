use std::sync::Arc;

use mykey_jlis::SystemClock;
use mykey_jlis::api::{ChangeFactsRequest, RenewRequest, RevokeRequest};
use mykey_jlis_client::ClientError;
use mykey_pki::{
    Purpose, SignatureCertificate, TrustAnchors, UnixTime, UserIdentificationCertificate,
};

use crate::harness::*;

fn problem_kind(e: ClientError) -> (u16, String) {
    match e {
        ClientError::Refused { problem } => (problem.status, problem.kind),
        other => panic!("expected a problem, got {other}"),
    }
}

async fn anchors(sim: &Sim) -> TrustAnchors {
    let mut cas = sim
        .client
        .ca_certificates(Purpose::UserIdentification)
        .await
        .unwrap();
    cas.extend(
        sim.client
            .ca_certificates(Purpose::Signature)
            .await
            .unwrap(),
    );
    TrustAnchors::new(cas)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issued_pair_validates_and_carries_the_four_facts() {
    let sim = start().await;
    let issued = issue(&sim).await;
    let ui = UserIdentificationCertificate::from_der(&der(&issued.user_identification_certificate))
        .unwrap();
    let sig = SignatureCertificate::from_der(&der(&issued.signature_certificate)).unwrap();
    assert_eq!(ui.issuance_number().to_string(), issued.issuance_number);
    let a = anchors(&sim).await;
    a.validate_user_identification(&ui, UnixTime::now())
        .unwrap();
    a.validate_signature(&sig, UnixTime::now()).unwrap();
    assert_eq!(sig.facts().name(), "佐藤\u{3000}一郎");
    assert_eq!(sig.facts().birth_date().to_certificate_form(), "319800505");
    // Valid until the fifth birthday after issue, at the end of that day in Japan.
    let expected =
        mykey_jlis::certificate_not_after(time::macros::date!(1980 - 05 - 05), UnixTime::now());
    assert_eq!(ui.not_after(), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn renewal_supersedes_and_links_the_previous_number() {
    let sim = start().await;
    let first = issue(&sim).await;
    let renew = |n: &str| RenewRequest {
        issuance_number: n.to_owned(),
        user_identification_public_key: spki(&keys().0),
        signature_public_key: Some(spki(&keys().1)),
    };
    let second = sim
        .client
        .renew(&renew(&first.issuance_number))
        .await
        .unwrap();
    let third = sim
        .client
        .renew(&renew(&second.issuance_number))
        .await
        .unwrap();
    let prev = sim
        .client
        .previous_issuance_numbers(&third.issuance_number)
        .await
        .unwrap();
    assert_eq!(
        prev.previous,
        vec![
            second.issuance_number.clone(),
            first.issuance_number.clone()
        ]
    );
    let old = sim
        .client
        .certificate(&first.issuance_number)
        .await
        .unwrap();
    assert_eq!(
        (old.status.as_str(), old.reason.as_deref()),
        ("revoked", Some("superseded"))
    );
    assert!(
        sim.client
            .previous_issuance_numbers(&first.issuance_number)
            .await
            .unwrap()
            .previous
            .is_empty()
    );
    // A number can be renewed once.
    let (status, kind) = problem_kind(
        sim.client
            .renew(&renew(&first.issuance_number))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, kind.as_str()),
        (409, "urn:mykey:jlis:problem:conflict")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_of_facts_revokes_only_the_signature_certificate() {
    let sim = start().await;
    let issued = issue(&sim).await;
    let changed = sim
        .client
        .change_facts(&ChangeFactsRequest {
            issuance_number: issued.issuance_number.clone(),
            address: Some("北海道札幌市中央区北一条西二丁目".into()),
            signature_public_key: spki(&keys().1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(changed.issuance_number, issued.issuance_number);
    assert!(changed.user_identification_certificate.is_none());
    let new_sig = SignatureCertificate::from_der(&der(&changed.signature_certificate)).unwrap();
    assert_eq!(
        new_sig.facts().address(),
        "北海道札幌市中央区北一条西二丁目"
    );
    assert_eq!(new_sig.facts().name(), "佐藤\u{3000}一郎");
    let status = sim
        .client
        .signature_certificate_status(&issued.issuance_number)
        .await
        .unwrap();
    let paired = status.paired.unwrap();
    assert_eq!(
        (paired.status.as_str(), paired.reason.as_deref()),
        ("revoked", Some("affiliationChanged"))
    );
    assert_eq!(status.current.unwrap().status, "good");
    assert_eq!(
        sim.client
            .certificate(&issued.issuance_number)
            .await
            .unwrap()
            .status,
        "good"
    );
    // Nothing changed → refused.
    let (status, _) = problem_kind(
        sim.client
            .change_facts(&ChangeFactsRequest {
                issuance_number: issued.issuance_number.clone(),
                signature_public_key: spki(&keys().1),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_signature_certificate_under_fifteen() {
    let sim = start().await;
    let (status, kind) = problem_kind(sim.client.issue(&person("2020-01-01")).await.unwrap_err());
    assert_eq!(
        (status, kind.as_str()),
        (422, "urn:mykey:jlis:problem:under-fifteen")
    );
    let mut child = person("2020-01-01");
    child.signature_public_key = None;
    let issued = sim.client.issue(&child).await.unwrap();
    assert!(issued.signature_certificate.is_none());
    let status = sim
        .client
        .signature_certificate_status(&issued.issuance_number)
        .await
        .unwrap();
    assert_eq!((status.paired, status.current), (None, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_precise_problems_and_store_nothing() {
    let sim = start().await;
    let cases = [
        (person("1980-13-01"), "birth_date"),
        (
            mykey_jlis::api::IssueRequest {
                sex: 3,
                ..person("1980-01-01")
            },
            "sex",
        ),
        (
            mykey_jlis::api::IssueRequest {
                name: " ".into(),
                ..person("1980-01-01")
            },
            "facts",
        ),
        (
            mykey_jlis::api::IssueRequest {
                user_identification_public_key: "***".into(),
                ..person("1980-01-01")
            },
            "not base64",
        ),
        (
            mykey_jlis::api::IssueRequest {
                user_identification_public_key: "MAA=".into(),
                ..person("1980-01-01")
            },
            "user_identification_public_key",
        ),
    ];
    for (req, needle) in cases {
        let e = sim.client.issue(&req).await.unwrap_err();
        let ClientError::Refused { problem } = e else {
            panic!("{e}")
        };
        assert_eq!(problem.status, 422, "{problem:?}");
        assert!(
            problem.detail.as_deref().unwrap_or("").contains(needle),
            "{problem:?}"
        );
    }
    // Malformed JSON.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/admin/certificates", sim.url))
        .header("content-type", "application/json")
        .body("{\"name\": 1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    // Oversized body.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/admin/certificates", sim.url))
        .header("content-type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // Unknown numbers and serials.
    let (status, _) = problem_kind(
        sim.client
            .previous_issuance_numbers("ABCDEF")
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 404);
    let (status, _) = problem_kind(sim.client.certificate("xyz").await.unwrap_err());
    assert_eq!(status, 422);
    let (status, _) = problem_kind(
        sim.client
            .revoke(&RevokeRequest {
                serial: "01".into(),
                reason: "keyCompromise".into(),
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 404);
    // Nothing was stored by any of it: the first person issued now is the only one.
    let issued = issue(&sim).await;
    let n: i64 = count_persons(&sim).await;
    assert_eq!(n, 1, "{issued:?}");
}

async fn count_persons(sim: &Sim) -> i64 {
    use sqlx::Row;
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        sim.dir.path().join("jlis.sqlite3").display()
    ))
    .await
    .unwrap();
    sqlx::query("SELECT count(*) FROM persons")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_reasons_and_double_revocation() {
    let sim = start().await;
    let issued = issue(&sim).await;
    let req = RevokeRequest {
        serial: issued.issuance_number.clone(),
        reason: "keyCompromise".into(),
    };
    let state = sim.client.revoke(&req).await.unwrap();
    assert_eq!(state.reason.as_deref(), Some("keyCompromise"));
    let (status, _) = problem_kind(sim.client.revoke(&req).await.unwrap_err());
    assert_eq!(status, 409);
    let bad = RevokeRequest {
        serial: issued.issuance_number,
        reason: "removeFromCRL".into(),
    };
    let (status, _) = problem_kind(sim.client.revoke(&bad).await.unwrap_err());
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_survives_a_restart() {
    let sim = start().await;
    let issued = issue(&sim).await;
    let cas = sim.jlis.ca_certificates(Purpose::UserIdentification);
    let dir = tempfile::tempdir().unwrap();
    // Copy the store as it is on disk now, as after a crash, and open a new simulator on it.
    for f in std::fs::read_dir(sim.dir.path()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.path().join(f.file_name())).unwrap();
    }
    drop(sim);
    let again = start_in(dir, Arc::new(SystemClock), |_| {}).await;
    assert_eq!(
        again.jlis.ca_certificates(Purpose::UserIdentification)[0].der(),
        cas[0].der()
    );
    assert_eq!(
        again
            .client
            .certificate(&issued.issuance_number)
            .await
            .unwrap()
            .status,
        "good"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollover_keeps_both_generations_trusted() {
    let sim = start().await;
    let old = issue(&sim).await;
    sim.jlis
        .rollover(Purpose::UserIdentification)
        .await
        .unwrap();
    let new = issue(&sim).await;
    let cas = sim
        .client
        .ca_certificates(Purpose::UserIdentification)
        .await
        .unwrap();
    assert_eq!(cas.len(), 2);
    assert_eq!(cas[0].subject(), cas[1].subject());
    let a = anchors(&sim).await;
    for issued in [&old, &new] {
        let ui =
            UserIdentificationCertificate::from_der(&der(&issued.user_identification_certificate))
                .unwrap();
        a.validate_user_identification(&ui, UnixTime::now())
            .unwrap();
    }
    let ui_new =
        UserIdentificationCertificate::from_der(&der(&new.user_identification_certificate))
            .unwrap();
    assert_eq!(ui_new.authority_key_id(), Some(cas[1].key_id()));
    // CRLs of both generations are served.
    for stem in ["user-identification-g1", "user-identification-g2"] {
        sim.client
            .get_bytes(&format!("/crl/{stem}.crl"))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ca_index_names_every_generation_and_its_urls() {
    let sim = start().await;
    sim.jlis.rollover(Purpose::Signature).await.unwrap();
    let cas = sim.client.cas().await.unwrap();
    assert_eq!(cas.len(), 3);
    for entry in &cas {
        let der = sim.client.get_bytes(&entry.certificate_url).await.unwrap();
        let ca = mykey_pki::CaCertificate::from_der(&der).unwrap();
        assert_eq!(hex::encode(ca.key_id()), entry.key_id);
        assert_eq!(ca.purpose().slug(), entry.purpose);
        let crl =
            mykey_pki::Crl::from_der(sim.client.get_bytes(&entry.crl_url).await.unwrap()).unwrap();
        crl.verify(&ca, UnixTime::now()).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ticket_item_facts_are_signed_and_checked_against_the_holder_now() {
    use mykey_jlis::api::TicketItemCheck;
    use mykey_pki::ticket::{TicketFacts, facts_digest};
    let sim = start().await;
    let issued = issue(&sim).await;
    let signed = issued.ticket_item_signature.clone().expect("facts signed");
    // The digest is of file 0002 exactly as the card's ticket-item AP keeps it.
    let file = TicketFacts::new(
        "佐藤\u{3000}一郎",
        "大阪府大阪市北区中之島一丁目３番２０号",
        time::macros::date!(1980 - 05 - 05),
        mykey_pki::Sex::Male,
    )
    .unwrap()
    .to_tlv();
    assert_eq!(signed.facts_digest, hex::encode(facts_digest(&file)));
    let n: mykey_pki::IssuanceNumber = issued.issuance_number.parse().unwrap();
    let status = |c: TicketItemCheck| {
        let client = sim.client.clone();
        async move { client.ticket_item_status(n, &c).await.map(|s| s.status) }
    };
    assert_eq!(status(signed.clone()).await.unwrap(), "current");

    // A forged signature, and a signature of J-LIS's over someone else's facts.
    let mut forged = signed.clone();
    forged.signature = {
        use base64::Engine;
        let e = base64::engine::general_purpose::STANDARD;
        let mut s = e.decode(&forged.signature).unwrap();
        s[0] ^= 1;
        e.encode(s)
    };
    assert_eq!(status(forged).await.unwrap(), "invalid");
    let other = sim
        .client
        .issue(&mykey_jlis::api::IssueRequest {
            name: "鈴木\u{3000}花子".into(),
            ..person("1990-01-01")
        })
        .await
        .unwrap();
    let theirs = other.ticket_item_signature.unwrap();
    assert_eq!(status(theirs).await.unwrap(), "outdated");
    // The same four facts on another card: another ID, another signature, not this holder's.
    let twin = issue(&sim).await.ticket_item_signature.unwrap();
    assert_eq!(twin.facts_digest, signed.facts_digest);
    assert_ne!(twin.signature, signed.signature);
    assert_eq!(status(twin).await.unwrap(), "outdated");

    // A move: the card's old data is outdated, the data written with the new facts current.
    let moved = sim
        .client
        .change_facts(&ChangeFactsRequest {
            issuance_number: issued.issuance_number.clone(),
            address: Some("大阪府大阪市北区1-1".into()),
            signature_public_key: spki(&keys().1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(status(signed.clone()).await.unwrap(), "outdated");
    assert_eq!(
        status(moved.ticket_item_signature.unwrap()).await.unwrap(),
        "current"
    );

    // Bad input is refused precisely.
    let (code, _) = problem_kind(
        status(TicketItemCheck {
            facts_digest: "00".into(),
            ..signed.clone()
        })
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 422);
    let mut no_id = signed.clone();
    no_id.item_id = "00".into();
    let (code, _) = problem_kind(status(no_id).await.unwrap_err());
    assert_eq!(code, 422);
    let unknown: mykey_pki::IssuanceNumber = "7FFF".parse().unwrap();
    let (code, _) = problem_kind(
        sim.client
            .ticket_item_status(unknown, &signed)
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 404);

    // Revoked: J-LIS says so at once, whatever the facts.
    sim.client
        .revoke(&RevokeRequest {
            serial: issued.issuance_number.clone(),
            reason: "keyCompromise".into(),
        })
        .await
        .unwrap();
    assert_eq!(status(signed).await.unwrap(), "revoked");
}
