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
