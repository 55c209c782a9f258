//! `mykey serve` issues PPIDs with a key it keeps in the data folder (0600), and a person's
//! PPID for a service is the same after a restart.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use mykey_jlis::api::IssueRequest;
use mykey_jlis_client::JlisClient;
use mykey_pki::issue::SigningKey;
use serde_json::{Value, json};

use crate::crash::post;
use crate::support::{Serve, mykey, s};

async fn ppid(
    http: &reqwest::Client,
    base: &str,
    service: &str,
    key: &SigningKey,
    cert: &[u8],
) -> String {
    let shown: Value = http
        .get(format!("{base}/v1/ppid-services/{service}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items: Vec<&str> = shown["consent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let (_, c) = post(
        http,
        format!("{base}/v1/ppid-services/{service}/challenges"),
        None,
        json!({}),
    )
    .await
    .unwrap();
    let nonce = c["nonce"].as_str().unwrap();
    let body = json!({
        "nonce": nonce,
        "certificate": B64.encode(cert),
        "signature": B64.encode(key.sign(&B64URL.decode(nonce).unwrap())),
        "consent": {"items": items, "terms_version": shown["consent"]["terms_version"]},
    });
    let (status, answer) = post(
        http,
        format!("{base}/v1/ppid-services/{service}/authentications"),
        None,
        body,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{answer}");
    answer["ppid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn ppids_survive_a_restart_of_the_platform() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path().join("ppid-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let admin = |url: &str, args: &[&str]| {
        let mut all = vec!["admin", "rp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", url, "--data", s(data.path())]);
        mykey(&all).ok()
    };
    let rp: Value = serde_json::from_str(
        &admin(
            &serve.url,
            &crate::support::register_args("福岡市健康ポータル", "public-authority"),
        )
        .stdout,
    )
    .unwrap();
    admin(&serve.url, &["approve", &rp["id"].to_string()]);
    let http = reqwest::Client::new();
    let service: Value = http
        .post(format!("{}/v1/rp/ppid-services", serve.url))
        .basic_auth(
            rp["client_id"].as_str().unwrap(),
            rp["client_secret"].as_str(),
        )
        .json(&json!({"name": "歩数記録"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let service = service["id"].to_string();
    let key = SigningKey::generate().unwrap();
    let issued = JlisClient::new(&serve.jlis, Duration::from_secs(30))
        .unwrap()
        .issue(&IssueRequest {
            name: "佐藤\u{3000}三郎".into(),
            address: "京都府京都市上京区".into(),
            birth_date: "1990-03-03".into(),
            sex: 1,
            user_identification_public_key: B64.encode(key.spki_der()),
            signature_public_key: None,
        })
        .await
        .unwrap();
    let cert = B64
        .decode(issued.user_identification_certificate.unwrap())
        .unwrap();
    let first = ppid(&http, &serve.url, &service, &key, &cert).await;
    assert_eq!(first.len(), 32);
    drop(serve);
    let serve = Serve::start(data.path());
    assert_eq!(ppid(&http, &serve.url, &service, &key, &cert).await, first);
}

/// The PIN-less route of Terms Art 20.2 end to end: a card issued by `mykey card issue` (J-LIS
/// writes its ticket-item facts and signature), `mykey card pinless` reading it by access key B
/// with the date of birth the city holds, and the city redeeming the code for the facts.
#[tokio::test(flavor = "multi_thread")]
async fn a_card_answers_a_pinless_request_by_access_key_b() {
    use crate::support::{ADDRESS, BIRTH, EXPIRY_YEAR, NAME, SECURITY_CODE, issue_card};
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "rp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data.path())]);
        mykey(&all).ok()
    };
    let rp: Value = serde_json::from_str(
        &admin(&crate::support::register_args("熊本市", "public-authority")).stdout,
    )
    .unwrap();
    admin(&["approve", &rp["id"].to_string()]);
    let (client, secret) = (
        rp["client_id"].as_str().unwrap(),
        rp["client_secret"].as_str(),
    );
    let http = reqwest::Client::new();
    let service: Value = http
        .post(format!("{}/v1/rp/ppid-services", serve.url))
        .basic_auth(client, secret)
        .json(&json!({"name": "窓口"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let card = data.path().join("card.json");
    issue_card(&serve.jlis, &card, &[]).ok();
    let open = || async {
        let opened: Value = http
            .post(format!(
                "{}/v1/rp/ppid-services/{}/pinless-requests",
                serve.url, service["id"]
            ))
            .basic_auth(client, secret)
            .json(&json!({"birth_date": BIRTH}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        opened["request"].as_str().unwrap().to_owned()
    };
    let pinless = |handle: &str, code: &str| {
        mykey(&[
            "card",
            "pinless",
            "--card",
            s(&card),
            "--expiry-year",
            EXPIRY_YEAR,
            "--security-code",
            code,
            "--platform",
            &serve.url,
            handle,
        ])
    };

    // A wrong security code: the card refuses key B and counts the try; nothing is sent.
    let handle = open().await;
    pinless(&handle, "0816").fails_with("wrong access key B: 9 tries left");
    let run = pinless(&handle, SECURITY_CODE).ok();
    assert!(run.stderr.contains("Art 20.2.2"), "{}", run.stderr);
    let approved: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(approved["issued"], true);
    let redeemed: Value = http
        .post(format!(
            "{}/v1/rp/ppid-services/{}/authentications/{}",
            serve.url,
            service["id"],
            approved["code"].as_str().unwrap()
        ))
        .basic_auth(client, secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(redeemed["ppid"], approved["ppid"]);
    assert_eq!(
        redeemed["facts"],
        json!({
            "name": NAME,
            "address": {"formatted": ADDRESS},
            "birthdate": BIRTH,
            "gender": "female",
        })
    );
    // The request is used up.
    pinless(&handle, SECURITY_CODE).fails_with("no such PIN-less request");
}
