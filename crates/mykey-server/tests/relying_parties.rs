use mykey_platform::PlatformConfig;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn without_a_bootstrap_token_no_token_is_an_operator() {
    let w = world_configured(|_| {}, PlatformConfig::default()).await;
    for token in [None, Some(OPERATOR_TOKEN)] {
        let (status, body) = call(&w, Method::GET, "/v1/ops/relying-parties", token).await;
        assert_eq!(
            (status, problem_type(&body)),
            (401, "urn:mykey:problem:unauthenticated")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_admit_suspend_and_rekey_relying_parties() {
    let w = world().await;
    for token in [None, Some("wrong"), Some("")] {
        let (status, body) = call(&w, Method::GET, "/v1/ops/relying-parties", token).await;
        assert_eq!(
            (status, problem_type(&body)),
            (401, "urn:mykey:problem:unauthenticated")
        );
    }
    let (status, created) = ops(
        &w,
        Method::POST,
        "/v1/ops/relying-parties",
        Some(json!({"name": "Fukuoka City", "kind": "public-authority", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["kind"], "public-authority");
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "32 bytes, base64url");
    let id = created["id"].as_i64().unwrap();
    let mut client = Client {
        id,
        client_id: created["client_id"].as_str().unwrap().to_owned(),
        secret,
    };
    // The secret is shown once: the list has none.
    let (_, all) = ops(&w, Method::GET, "/v1/ops/relying-parties", None).await;
    assert_eq!(all["relying_parties"][0]["client_id"], created["client_id"]);
    assert!(!all.to_string().contains(&client.secret), "{all}");
    assert!(all["relying_parties"][0].get("client_secret").is_none());

    // Pending: authenticated, not approved.
    let (status, body) = rp(&w, &client, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:relying-party-not-approved")
    );
    let (status, _) = ops(
        &w,
        Method::POST,
        &format!("/v1/ops/relying-parties/{id}/approval"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = rp(&w, &client, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!((status, body), (200, json!({"service_ids": []})));

    // Wrong secret and unknown client: one answer, with the Basic challenge.
    let wrong = Client {
        secret: "x".repeat(43),
        ..client.clone()
    };
    let unknown = Client {
        client_id: "rp_nobody".into(),
        ..client.clone()
    };
    let mut answers = Vec::new();
    for c in [&wrong, &unknown] {
        let resp = w
            .http
            .get(format!("{}/v1/rp/service-ids", w.url))
            .basic_auth(&c.client_id, Some(&c.secret))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        answers.push(resp.text().await.unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    let (status, body) = call(
        &w,
        Method::GET,
        "/v1/rp/service-ids",
        Some("a-bearer-token"),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (401, "urn:mykey:problem:invalid-client")
    );

    // Rotation: the old secret stops working at once.
    let (status, rotated) = ops(
        &w,
        Method::POST,
        &format!("/v1/ops/relying-parties/{id}/secret"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let old = client.clone();
    client.secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(old.secret, client.secret);
    let (status, _) = rp(&w, &old, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(status, 401);
    let (status, _) = rp(&w, &client, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(status, 200);

    // Suspension.
    let (status, body) = ops(
        &w,
        Method::POST,
        &format!("/v1/ops/relying-parties/{id}/suspension"),
        None,
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("suspended")));
    let (status, body) = rp(&w, &client, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:relying-party-not-approved")
    );

    // Bad input.
    for path in [
        "/v1/ops/relying-parties/999/approval",
        "/v1/ops/relying-parties/x/secret",
    ] {
        let (status, body) = ops(&w, Method::POST, path, None).await;
        assert_eq!(
            (status, problem_type(&body)),
            (404, "urn:mykey:problem:relying-party-unknown")
        );
    }
    for bad in [
        json!({"name": "Bank", "kind": "bank", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"}),
        json!({"name": " ", "kind": "business", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"}),
        json!({"name": "Bank"}),
        // Issue 19, finding 13: names that would show as another on a consent screen.
        json!({"name": "Bank \u{202E}knaB live", "kind": "business", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"}),
        json!({"name": "みらい\u{200B}銀行", "kind": "business", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"}),
        json!({"name": "\u{E000}銀行", "kind": "business", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"}),
    ] {
        let (status, body) = ops(&w, Method::POST, "/v1/ops/relying-parties", Some(bad)).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-request")
        );
    }
    // A decomposed name is kept composed (NFC).
    let (status, body) = ops(
        &w,
        Method::POST,
        "/v1/ops/relying-parties",
        Some(json!({"name": "か\u{3099}ん銀行", "kind": "business", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"})),
    )
    .await;
    assert_eq!(
        (status, body["name"].as_str()),
        (201, Some("がん銀行")),
        "{body}"
    );
}
