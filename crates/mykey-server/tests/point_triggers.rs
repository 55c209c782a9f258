//! The health-insurance and public-fund-account points (Terms Art 24, 25) over HTTP, against
//! the simulated Mynaportal and account registry the harness starts as `mykey serve` does: the
//! claim and its consent, the registry asked at once and by the sweep, the grant once through
//! the holder's provider, the account's shape checked before anything is kept, a renewed card
//! found through its previous issuance numbers, and every refusal leaving nothing behind.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;
use crate::points::{apply, eligible_service, holder, mine, open_round, provider};

const TERMS: &str = "2026-11-01";

fn consent(kind: &str) -> Value {
    let items: &[&str] = match kind {
        "health-insurance" => &["points.issuance-number-to-mynaportal"],
        _ => &[
            "points.issuance-numbers-to-account-registry",
            "points.account-registration-from-registry",
        ],
    };
    json!({"items": items, "terms_version": TERMS})
}

fn account(number: &str) -> Value {
    json!({
        "bank_code": "0001",
        "branch_code": "123",
        "account_type": "ordinary",
        "number": number,
        "holder": "ヤマダ\u{3000}ハナコ",
    })
}

async fn claim(w: &World, token: &str, application: &str, body: Value) -> (u16, Value) {
    let path = format!("/v1/me/point-applications/{application}/triggers");
    post(w, &path, Some(token), body).await
}

/// A holder with a validated application at `pay` (settlement user ID `su`): card, session and
/// the application's ID.
async fn validated_holder(
    w: &World,
    pay: &Client,
    round: i64,
    service: i64,
    id: &str,
    su: &str,
) -> (Card, String, String) {
    let (card, token) = holder(w).await;
    let (status, a) = apply(w, &token, round, service, id).await;
    assert_eq!(status, 201, "{a}");
    let application = a["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/rp/point-applications/{application}/validation");
    let body = json!({"valid": true, "settlement_user_id": su});
    let (status, got) = rp(w, pay, Method::POST, &path, Some(body)).await;
    assert_eq!(status, 200, "{got}");
    (card, token, application)
}

async fn registry(w: &World, method: Method, url: String, body: Value) -> (u16, Value) {
    let r = w
        .http
        .request(method, url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn batch(w: &World, pay: &Client, round: i64) -> (u16, Value) {
    let path = format!("/v1/rp/point-rounds/{round}/grant-batches");
    rp(w, pay, Method::POST, &path, None).await
}

#[tokio::test]
async fn health_insurance_points_follow_mynaportal_and_are_granted_once_through_the_provider() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "第2弾").await;
    let (_, programme) = call(&w, Method::GET, "/v1/point-programme", None).await;
    assert_eq!(
        programme["health_insurance_consent"]["items"][0]["name"],
        "points.issuance-number-to-mynaportal"
    );
    let (card, token, application) =
        validated_holder(&w, &pay, round, service, "10000001", "SU-1").await;

    // Not registered yet: the claim awaits, and the provider has nothing to grant.
    let hi = consent("health-insurance");
    let (status, t) = claim(
        &w,
        &token,
        &application,
        json!({"kind": "health-insurance", "consent": hi}),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        (
            t["state"].as_str(),
            t["points"].as_u64(),
            t["grant"].is_null()
        ),
        (Some("awaiting-registration"), Some(7500), true),
        "{t}"
    );
    let kinds = log_kinds(&w, &token).await;
    assert!(
        kinds.ends_with(&["consent.given".into(), "point.trigger-claimed".into()]),
        "{kinds:?}"
    );
    let (status, got) = batch(&w, &pay, round).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-grants-none-due")
    );

    // The holder registers the card at Mynaportal; the sweep finds it.
    let (status, got) = registry(
        &w,
        Method::POST,
        format!("{}/v1/health-insurance-registrations", w.mynaportal),
        json!({"issuance_number": card.number, "insurer_number": "06123456"}),
    )
    .await;
    assert_eq!(status, 201, "{got}");
    let swept = w.platform.sweep_point_triggers(300).await.unwrap();
    assert_eq!(swept.checked, 0, "asked a moment ago: not yet again");
    w.clock.advance(301);
    let swept = w.platform.sweep_point_triggers(300).await.unwrap();
    assert_eq!((swept.checked, swept.registered), (1, 1));
    let mine_now = mine(&w, &token).await;
    assert_eq!(
        mine_now[0]["triggers"][0]["state"], "registered",
        "{mine_now:?}"
    );
    assert_eq!(
        log_kinds(&w, &token).await.last().unwrap(),
        "point.trigger-registered"
    );

    // Granted once, through the provider, under its settlement user ID; never an issuance number.
    let (status, b) = batch(&w, &pay, round).await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(
        (b["grants"].as_u64(), b["points"].as_u64()),
        (Some(1), Some(7500)),
        "{b}"
    );
    let id = b["id"].as_str().unwrap().to_owned();
    let grants_path = format!("/v1/rp/point-grant-batches/{id}/grants");
    let (_, page) = rp(&w, &pay, Method::GET, &grants_path, None).await;
    assert_eq!(
        (
            page["grants"][0]["kind"].as_str(),
            page["grants"][0]["settlement_user_id"].as_str()
        ),
        (Some("health-insurance"), Some("SU-1")),
        "{page}"
    );
    assert!(!page.to_string().contains(&card.number), "{page}");
    let confirm = format!("/v1/rp/point-grant-batches/{id}/confirmation");
    let (status, got) = rp(&w, &pay, Method::POST, &confirm, None).await;
    assert_eq!(status, 200, "{got}");
    let (status, got) = batch(&w, &pay, round).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-grants-none-due")
    );

    // Claiming again asks again and changes nothing: no second consent, no second grant.
    let before = log_kinds(&w, &token).await.len();
    let (status, t) = claim(
        &w,
        &token,
        &application,
        json!({"kind": "health-insurance", "consent": hi}),
    )
    .await;
    assert_eq!(
        (status, t["state"].as_str(), t["grant"].as_str()),
        (200, Some("registered"), Some("confirmed")),
        "{t}"
    );
    assert_eq!(log_kinds(&w, &token).await.len(), before);

    // The statement says what it was for, to the yen.
    let (_, st) = ops(
        &w,
        Method::GET,
        &format!("/v1/ops/point-rounds/{round}/statement"),
        None,
    )
    .await;
    let line = &st["lines"][0];
    assert_eq!(
        (
            line["points_instructed"].as_u64(),
            line["points_health_insurance"].as_u64(),
            line["points_public_fund_account"].as_u64(),
            line["points_confirmed"].as_u64()
        ),
        (Some(7500), Some(7500), Some(0), Some(7500)),
        "{st}"
    );
    // The holder's export carries the trigger with its application.
    let (_, export) = call(&w, Method::GET, "/v1/me/export", Some(&token)).await;
    assert_eq!(
        export["point_applications"][0]["triggers"][0]["kind"], "health-insurance",
        "{export}"
    );
}

#[tokio::test]
async fn an_account_is_checked_before_anything_is_kept_and_found_across_a_renewal() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    let (card, token, application) =
        validated_holder(&w, &pay, round, service, "10000001", "SU-1").await;
    let pfa = consent("public-fund-account");
    let inquire = |numbers: Vec<String>| {
        registry(
            &w,
            Method::POST,
            format!("{}/v1/registration-inquiries", w.account_registry),
            json!({"issuance_numbers": numbers}),
        )
    };

    // Each bad part refused by name, before the registry or the store sees anything.
    let before = log_kinds(&w, &token).await;
    for (bad, field) in [
        (json!({"number": "123456"}), "number"),
        (json!({"bank_code": "12a4"}), "bank_code"),
        (json!({"branch_code": "1234"}), "branch_code"),
        (json!({"account_type": "普通"}), "account_type"),
        (json!({"holder": "ﾔﾏﾀﾞ ﾊﾅｺ"}), "holder"),
        (json!({"holder": "やまだ\u{3000}はなこ"}), "holder"),
    ] {
        let mut a = account("1234567");
        for (k, v) in bad.as_object().unwrap() {
            a[k] = v.clone();
        }
        let body = json!({"kind": "public-fund-account", "consent": pfa, "account": a});
        let (status, got) = claim(&w, &token, &application, body).await;
        assert_eq!(
            (status, problem_type(&got)),
            (422, "urn:mykey:problem:invalid-public-fund-account"),
            "{got}"
        );
        assert!(got["detail"].as_str().unwrap().starts_with(field), "{got}");
    }
    let body = json!({"kind": "health-insurance", "consent": consent("health-insurance"), "account": account("1234567")});
    let (status, got) = claim(&w, &token, &application, body).await;
    assert_eq!(
        (status, problem_type(&got)),
        (422, "urn:mykey:problem:invalid-point-request"),
        "{got}"
    );
    let body = json!({"kind": "public-fund-account", "consent": consent("health-insurance")});
    let (status, got) = claim(&w, &token, &application, body).await;
    assert_eq!(
        (status, problem_type(&got)),
        (422, "urn:mykey:problem:consent-incomplete"),
        "{got}"
    );
    assert_eq!(log_kinds(&w, &token).await, before);
    assert_eq!(mine(&w, &token).await[0]["triggers"], json!([]));
    let (_, answer) = inquire(vec![card.number.clone()]).await;
    assert_eq!(
        answer["registered"], false,
        "the registry got nothing: {answer}"
    );

    // A good account is registered with the registry and found at once.
    let body =
        json!({"kind": "public-fund-account", "consent": pfa, "account": account("1234567")});
    let (status, t) = claim(&w, &token, &application, body).await;
    assert_eq!(
        (status, t["state"].as_str()),
        (200, Some("registered")),
        "{t}"
    );
    let (_, answer) = inquire(vec![card.number.clone()]).await;
    assert_eq!(answer["registered"], true, "{answer}");
    // Registering another account through a claim again is in the log too (not the account).
    let before = log_kinds(&w, &token).await.len();
    let body =
        json!({"kind": "public-fund-account", "consent": pfa, "account": account("7654321")});
    let (status, _) = claim(&w, &token, &application, body).await;
    assert_eq!(status, 200);
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), before + 1);
    let last = entries.iter().max_by_key(|e| e["seq"].as_u64()).unwrap();
    assert_eq!(
        (
            last["kind"].as_str(),
            last["detail"]["account_registered"].as_bool()
        ),
        (Some("point.trigger-claimed"), Some(true)),
        "{last}"
    );
    assert!(
        !log.to_string().contains("7654321"),
        "no account number in the log"
    );

    // The registry itself refuses a bad account (software that is not the platform's check).
    let (status, got) = registry(
        &w,
        Method::PUT,
        format!("{}/v1/accounts/{}", w.account_registry, card.number),
        account("12345"),
    )
    .await;
    assert_eq!(
        (status, got["type"].as_str()),
        (422, Some("urn:mykey:registry:problem:invalid-account")),
        "{got}"
    );

    // Taro registered his account with his old card; after the renewal it is still his.
    let (taro_card, taro) = holder(&w).await;
    let (status, got) = registry(
        &w,
        Method::PUT,
        format!("{}/v1/accounts/{}", w.account_registry, taro_card.number),
        account("7654321"),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    let renewed = renewed(&w, &taro_card).await;
    let taro_new = login(&w, &renewed).await;
    let (status, a) = apply(&w, &taro_new, round, service, "10000002").await;
    assert_eq!(status, 201, "{a}");
    let body = json!({"kind": "public-fund-account", "consent": pfa});
    let (status, t) = claim(&w, &taro_new, a["id"].as_str().unwrap(), body).await;
    assert_eq!(
        (status, t["state"].as_str()),
        (200, Some("registered")),
        "{t}"
    );
    // Not validated yet: nothing to grant until the provider answers.
    let (status, b) = batch(&w, &pay, round).await;
    assert_eq!(
        (status, b["points"].as_u64()),
        (201, Some(7500)),
        "only Hanako's: {b}"
    );
    drop(taro);
}

#[tokio::test]
async fn a_claim_is_refused_where_the_round_or_application_does_not_allow_it() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    let (_, token, application) =
        validated_holder(&w, &pay, round, service, "10000001", "SU-1").await;
    let (_, other) = holder(&w).await;
    let hi = json!({"kind": "health-insurance", "consent": consent("health-insurance")});

    let (status, got) = claim(&w, &other, &application, hi.clone()).await;
    assert_eq!(
        (status, problem_type(&got)),
        (404, "urn:mykey:problem:point-application-unknown"),
        "{got}"
    );
    let (status, got) = claim(
        &w,
        &token,
        &application,
        json!({"kind": "purchase", "consent": consent("health-insurance")}),
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (422, "urn:mykey:problem:invalid-point-request"),
        "{got}"
    );
    let (status, got) = claim(&w, &token, "zz", hi.clone()).await;
    assert_eq!(status, 422, "{got}");

    // A round that offers no such points.
    let (_, r) = ops(
        &w,
        Method::POST,
        "/v1/ops/point-rounds",
        Some(
            json!({"name": "Purchases only", "purchase_rate": 25, "purchase_cap": 5000,
            "health_insurance_points": 0, "public_fund_account_points": 0}),
        ),
    )
    .await;
    let bare = r["id"].as_i64().unwrap();
    ops(
        &w,
        Method::POST,
        &format!("/v1/ops/point-rounds/{bare}/opening"),
        None,
    )
    .await;
    let (_, a) = apply(&w, &other, bare, service, "10000009").await;
    let (status, got) = claim(&w, &other, a["id"].as_str().unwrap(), hi.clone()).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-trigger-not-offered"),
        "{got}"
    );

    // The registries down: a claim waits for the sweep, an account cannot be registered.
    w.stop_registries().await;
    let (status, t) = claim(&w, &token, &application, hi.clone()).await;
    assert_eq!(
        (status, t["state"].as_str(), t["checked_at"].is_null()),
        (200, Some("awaiting-registration"), true),
        "{t}"
    );
    let body = json!({"kind": "public-fund-account", "consent": consent("public-fund-account"), "account": account("1234567")});
    let (status, got) = claim(&w, &token, &application, body).await;
    assert_eq!(
        (status, problem_type(&got)),
        (503, "urn:mykey:problem:registry-unavailable"),
        "{got}"
    );
    w.clock.advance(301);
    let swept = w.platform.sweep_point_triggers(300).await.unwrap();
    assert_eq!((swept.checked, swept.unavailable), (0, 1));

    // A closed round, a withdrawn application.
    ops(
        &w,
        Method::POST,
        &format!("/v1/ops/point-rounds/{bare}/closing"),
        None,
    )
    .await;
    let (status, got) = claim(&w, &other, a["id"].as_str().unwrap(), hi.clone()).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-round-not-open"),
        "{got}"
    );
    let path = format!("/v1/me/point-applications/{application}/withdrawal");
    post(&w, &path, Some(&token), json!({})).await;
    let (status, got) = claim(&w, &token, &application, hi).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-application-ended"),
        "{got}"
    );

    // A person's claims are rationed: ten at once, then one a minute (each may call a registry).
    let (_, third) = holder(&w).await;
    let (status, a) = apply(&w, &third, round, service, "10000003").await;
    assert_eq!(status, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_owned();
    let hi = json!({"kind": "health-insurance", "consent": consent("health-insurance")});
    for _ in 0..10 {
        let (status, got) = claim(&w, &third, &id, hi.clone()).await;
        assert_eq!(status, 200, "{got}");
    }
    let (status, got) = claim(&w, &third, &id, hi.clone()).await;
    assert_eq!(
        (status, problem_type(&got)),
        (429, "urn:mykey:problem:quota-exceeded"),
        "{got}"
    );
    w.clock.advance(60);
    let (status, got) = claim(&w, &third, &id, hi).await;
    assert_eq!(status, 200, "{got}");
}
