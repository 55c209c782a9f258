//! The platform killed with SIGKILL under write load, then restarted on the same data: every
//! acknowledged My Key ID change is there, and nobody holds two active My Key IDs.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use mykey_jlis::JlisClient;
use mykey_jlis::api::IssueRequest;
use mykey_pki::issue::SigningKey;
use serde_json::{Value, json};

use crate::support::Serve;

pub(crate) async fn post(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Result<(u16, Value), reqwest::Error> {
    let mut r = http.post(url).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

pub(crate) async fn login(
    http: &reqwest::Client,
    base: &str,
    key: &SigningKey,
    cert: &[u8],
) -> String {
    let (_, c) = post(
        http,
        format!("{base}/v1/auth/challenges"),
        None,
        json!({"purpose": "login"}),
    )
    .await
    .unwrap();
    let nonce = c["nonce"].as_str().unwrap();
    let body = json!({
        "nonce": nonce,
        "purpose": "login",
        "certificate": B64.encode(cert),
        "signature": B64.encode(key.sign(&B64URL.decode(nonce).unwrap())),
    });
    let (status, s) = post(http, format!("{base}/v1/auth/responses"), None, body)
        .await
        .unwrap();
    assert_eq!(status, 201, "{s}");
    s["token"].as_str().unwrap().to_owned()
}

fn random_id() -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b.iter().map(|x| A[usize::from(*x) % 36] as char).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_my_key_ids_survive_a_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let jlis = JlisClient::new(&serve.jlis, Duration::from_secs(30));
    let key = Arc::new(SigningKey::generate().unwrap());
    let mut certs = Vec::new();
    for i in 0..8 {
        let issued = jlis
            .issue(&IssueRequest {
                name: format!("耐久\u{3000}試験{i}"),
                address: "東京都千代田区永田町一丁目".into(),
                birth_date: "1980-01-01".into(),
                sex: 9,
                user_identification_public_key: B64.encode(key.spki_der()),
                signature_public_key: None,
            })
            .await
            .unwrap();
        certs.push(
            B64.decode(issued.user_identification_certificate.unwrap())
                .unwrap(),
        );
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // Each writer changes its person's My Key ID over and over, remembering the last change the
    // platform acknowledged and the one in flight.
    let mut writers = Vec::new();
    for cert in certs.clone() {
        let (http, base, key) = (http.clone(), serve.url.clone(), key.clone());
        writers.push(tokio::spawn(async move {
            let token = login(&http, &base, &key, &cert).await;
            let mut acknowledged: Option<String> = None;
            loop {
                let id = random_id();
                let req = if acknowledged.is_none() {
                    http.post(format!("{base}/v1/me/my-key-id"))
                } else {
                    http.put(format!("{base}/v1/me/my-key-id"))
                };
                match req
                    .bearer_auth(&token)
                    .json(&json!({"id": id}))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => acknowledged = Some(id),
                    Ok(r) if r.status() == 409 => {} // taken: nothing changed
                    Ok(r) => panic!("unexpected {}", r.status()),
                    // The connection broke: this change may or may not have been committed.
                    Err(_) => return (acknowledged, Some(id)),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(serve); // SIGKILL
    let mut expected = Vec::new();
    for w in writers {
        expected.push(w.await.unwrap());
    }
    assert!(
        expected.iter().all(|(ack, _)| ack.is_some()),
        "every writer got at least one change in"
    );

    let serve = Serve::start(data.path());
    for (cert, (acknowledged, in_flight)) in certs.iter().zip(&expected) {
        let token = login(&http, &serve.url, &key, cert).await;
        let me: Value = http
            .get(format!("{}/v1/me", serve.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let now = me["my_key_id"]["id"].as_str().map(str::to_owned);
        assert!(
            now == *acknowledged || (now.is_some() && now == *in_flight),
            "after the crash {now:?}; acknowledged {acknowledged:?}, in flight {in_flight:?}"
        );
    }
    drop(serve);
    let db = people_with_two_active_ids(&data.path().join("platform.sqlite3")).await;
    assert_eq!(db, 0, "someone holds two active My Key IDs");
}

/// People holding more than one active My Key ID, read straight from the database file.
async fn people_with_two_active_ids(path: &Path) -> i64 {
    use sqlx::Row;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query(
        "SELECT count(*) FROM (SELECT person_id FROM my_key_ids WHERE ended_at IS NULL GROUP BY person_id HAVING count(*) > 1)",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0)
}
