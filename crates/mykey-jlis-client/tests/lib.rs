//! The clients' own behaviour, apart from any J-LIS (the simulator's tests exercise the protocol
//! end to end).

use std::time::{Duration, Instant};

use mykey_jlis_client::{OcspClient, OcspError};
use mykey_pki::issue::{SigningKey, ca_certificate};
use mykey_pki::{IssuanceNumber, Purpose, UnixTime};

#[tokio::test]
async fn the_ocsp_client_gives_up_after_its_timeout() {
    let now = UnixTime::now();
    let key = SigningKey::generate().unwrap();
    let one = IssuanceNumber::from_u64(1).unwrap();
    let ca = ca_certificate(
        &key,
        Purpose::UserIdentification,
        one,
        now.minus(86_400),
        now.plus(86_400),
    )
    .unwrap();
    // A server that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ocsp", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (s, _) = listener.accept().await.unwrap();
            held.push(s);
        }
    });
    let client = OcspClient::new(Duration::from_millis(200)).unwrap();
    let started = Instant::now();
    let err = client.check(&url, &ca, one, now).await.unwrap_err();
    assert!(
        matches!(err, OcspError::Timeout { millis: 200, .. }),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    hold.abort();
    // Nobody listening at all: a prompt HTTP error, not a hang.
    let err = client
        .check("http://127.0.0.1:9/ocsp", &ca, one, now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OcspError::Http { .. } | OcspError::Timeout { .. }),
        "{err}"
    );
}

/// A J-LIS that answers every request with `body` (JSON, 200).
async fn answering(body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(answer.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn the_client_answers_issuance_numbers_and_reasons_typed_and_refuses_anything_else() {
    use mykey_jlis_client::{CertificateStanding, ClientError, JlisClient};
    use mykey_pki::RevocationReason;
    let n = IssuanceNumber::from_u64(0x1234).unwrap();
    let url = answering(
        r#"{"issuance_number":"1234","paired":{"serial":"0A","purpose":"signature","status":"revoked","not_before":"","not_after":"","reason":"affiliationChanged"},"current":{"serial":"0B","purpose":"signature","status":"good","not_before":"","not_after":""}}"#,
    )
    .await;
    let c = JlisClient::new(&url, Duration::from_secs(2)).unwrap();
    let s = c.signature_certificates(n).await.unwrap();
    let paired = s.paired.unwrap();
    assert_eq!(paired.serial, IssuanceNumber::from_u64(0x0A).unwrap());
    assert_eq!(
        paired.state,
        CertificateStanding::Revoked(Some(RevocationReason::AffiliationChanged))
    );
    assert_eq!(s.current.unwrap().state, CertificateStanding::Good);

    // A J-LIS that sends something other than issuance numbers is refused, not believed.
    let url = answering(r#"{"issuance_number":"1234","previous":["not-a-number"]}"#).await;
    let c = JlisClient::new(&url, Duration::from_secs(2)).unwrap();
    let err = c.earlier_issuance_numbers(n).await.unwrap_err();
    assert!(matches!(err, ClientError::BadAnswer { .. }), "{err}");
}
