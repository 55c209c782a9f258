use std::sync::Arc;
use std::time::Duration;

use mykey_jlis::ManualClock;
use mykey_jlis::api::RevokeRequest;
use mykey_jlis_client::OcspClient;
use mykey_pki::ocsp::{CertStatus, Request};
use mykey_pki::{
    Crl, CrlKind, IssuanceNumber, Purpose, RevocationIndex, RevocationReason, RevocationStatus,
    UnixTime,
};

use crate::harness::*;

async fn ocsp_url(sim: &Sim) -> String {
    format!("{}/ocsp/user-identification", sim.url)
}

#[tokio::test(flavor = "multi_thread")]
async fn ocsp_answers_good_then_revoked_by_get_and_post() {
    let sim = start().await;
    let issued = issue(&sim).await;
    let n: IssuanceNumber = issued.issuance_number.parse().unwrap();
    let ca = sim
        .client
        .ca_certificates(Purpose::UserIdentification)
        .await
        .unwrap()
        .remove(0);
    let client = OcspClient::new(Duration::from_secs(5)).unwrap();
    let url = ocsp_url(&sim).await;
    let a = client.check(&url, &ca, n, UnixTime::now()).await.unwrap();
    assert_eq!(a.status, CertStatus::Good);
    // Without a nonce the answer is reused within its window…
    let plain = Request::without_nonce(&ca, n).unwrap();
    let first = client.send(&url, &plain).await.unwrap();
    assert_eq!(client.send(&url, &plain).await.unwrap(), first);
    // …until the certificate is revoked.
    sim.client
        .revoke(&RevokeRequest {
            serial: issued.issuance_number.clone(),
            reason: "superseded".into(),
        })
        .await
        .unwrap();
    let a = client.check(&url, &ca, n, UnixTime::now()).await.unwrap();
    assert!(matches!(
        a.status,
        CertStatus::Revoked {
            reason: Some(RevocationReason::Superseded),
            ..
        }
    ));
    let again = client.send(&url, &plain).await.unwrap();
    assert!(matches!(
        plain
            .verify_response(&again, &ca, UnixTime::now())
            .unwrap()
            .status,
        CertStatus::Revoked { .. }
    ));
    // A serial never issued is unknown.
    let a = client
        .check(
            &url,
            &ca,
            IssuanceNumber::from_u64(12345).unwrap(),
            UnixTime::now(),
        )
        .await
        .unwrap();
    assert_eq!(a.status, CertStatus::Unknown);
}

#[tokio::test(flavor = "multi_thread")]
async fn ocsp_refuses_garbage_foreign_cas_and_long_nonces() {
    let sim = start().await;
    let http = reqwest::Client::new();
    let post = |body: Vec<u8>| {
        http.post(format!("{}/ocsp/user-identification", sim.url))
            .header("content-type", "application/ocsp-request")
            .body(body)
            .send()
    };
    // malformedRequest (1)
    let r = post(b"garbage".to_vec())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&r[..], &[0x30, 0x03, 0x0a, 0x01, 0x01]);
    // A CertID of the signature CA sent to the user-identification responder: unauthorized (6).
    let sig_ca = sim
        .client
        .ca_certificates(Purpose::Signature)
        .await
        .unwrap()
        .remove(0);
    let req = Request::without_nonce(&sig_ca, IssuanceNumber::from_u64(1).unwrap()).unwrap();
    let r = post(req.der().to_vec())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&r[..], &[0x30, 0x03, 0x0a, 0x01, 0x06]);
    // A 33-octet nonce is refused (RFC 8954).
    let ca = sim
        .client
        .ca_certificates(Purpose::UserIdentification)
        .await
        .unwrap()
        .remove(0);
    let mut der = Request::new(&ca, IssuanceNumber::from_u64(1).unwrap())
        .unwrap()
        .der()
        .to_vec();
    let long = long_nonce_request(&ca);
    let r = post(long).await.unwrap().bytes().await.unwrap();
    assert_eq!(&r[..], &[0x30, 0x03, 0x0a, 0x01, 0x01]);
    // The wrong content type is a client error of HTTP, not of OCSP.
    der.truncate(10);
    let resp = http
        .post(format!("{}/ocsp/user-identification", sim.url))
        .body(der)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
}

fn long_nonce_request(ca: &mykey_pki::CaCertificate) -> Vec<u8> {
    use der::Encode;
    let id = mykey_pki::ocsp::cert_id_for(ca, IssuanceNumber::from_u64(1).unwrap()).unwrap();
    x509_ocsp::OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: id,
                single_request_extensions: None,
            }],
            request_extensions: Some(vec![mykey_pki::ocsp::nonce_extension(&[7u8; 33]).unwrap()]),
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn crls_come_on_a_cadence_with_increasing_numbers_and_deltas() {
    let t0 = UnixTime::now();
    let clock = Arc::new(ManualClock::new(t0));
    let sim = start_with(clock.clone(), |c| {
        c.crl_period = 3_600;
        c.delta_crl_period = 600;
    })
    .await;
    let ca = sim
        .jlis
        .ca_certificates(Purpose::UserIdentification)
        .remove(0);
    let fetch = |delta: bool| {
        let path = format!(
            "/crl/user-identification-g1{}.crl",
            if delta { "-delta" } else { "" }
        );
        let client = sim.client.clone();
        async move { Crl::from_der(client.get_bytes(&path).await.unwrap()).unwrap() }
    };
    let full = fetch(false).await;
    full.verify(&ca, clock.now_for_test()).unwrap();
    assert_eq!((full.kind(), full.number()), (CrlKind::Full, 1));
    let delta = fetch(true).await;
    assert_eq!(
        (delta.kind(), delta.number(), delta.base_number()),
        (CrlKind::Delta, 2, Some(1))
    );

    let issued = issue(&sim).await;
    let n: IssuanceNumber = issued.issuance_number.parse().unwrap();
    sim.client
        .revoke(&RevokeRequest {
            serial: issued.issuance_number.clone(),
            reason: "keyCompromise".into(),
        })
        .await
        .unwrap();
    // Until the delta period passes, the published delta is unchanged.
    assert_eq!(fetch(true).await.number(), 2);
    clock.advance(600);
    let delta = fetch(true).await;
    assert_eq!((delta.number(), delta.base_number()), (3, Some(1)));
    let mut index = RevocationIndex::from_full_crl(&full, &ca, clock.now_for_test()).unwrap();
    assert_eq!(
        index.lookup(&n, clock.now_for_test()),
        RevocationStatus::Good
    );
    index
        .apply_delta(&delta, &ca, clock.now_for_test())
        .unwrap();
    assert!(matches!(
        index.lookup(&n, clock.now_for_test()),
        RevocationStatus::Revoked {
            reason: Some(RevocationReason::KeyCompromise),
            ..
        }
    ));
    // After the complete-CRL period a new complete CRL carries the entry, and a new delta follows it.
    clock.advance(3_000);
    let full2 = fetch(false).await;
    assert_eq!(full2.number(), 4);
    assert_eq!(full2.entries().count(), 1);
    let delta2 = fetch(true).await;
    assert_eq!((delta2.number(), delta2.base_number()), (5, Some(4)));
}

trait NowForTest {
    fn now_for_test(&self) -> UnixTime;
}

impl NowForTest for ManualClock {
    fn now_for_test(&self) -> UnixTime {
        mykey_jlis::Clock::now(self)
    }
}
