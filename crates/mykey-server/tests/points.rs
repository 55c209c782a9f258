//! The card-point programme over HTTP (Terms Chapter 5): the secretariat's rounds and its
//! approval of services, a payment provider's services, queue, events and answers, the card
//! holder's application, withdrawal and the Art 27 forfeiture — each party seeing only its own,
//! and every refusal a documented problem type that leaves nothing behind.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

const TERMS: &str = "2026-11-01";

pub(crate) fn point_consent() -> Value {
    json!({
        "items": [
            "points.payment-service-id-to-provider",
            "points.validation-and-settlement-user-id",
            "points.application-to-provider",
        ],
        "terms_version": TERMS,
    })
}

pub(crate) async fn provider(w: &World, name: &str) -> Client {
    relying_party_of_kind(w, name, "payment-provider").await
}

/// A provider's eligible QR-code service whose IDs are eight digits; its ID.
pub(crate) async fn eligible_service(w: &World, provider: &Client, name: &str) -> i64 {
    let (status, s) = rp(
        w,
        provider,
        Method::POST,
        "/v1/rp/payment-services",
        Some(json!({
            "name": name,
            "kind": "qr-code",
            "id_shape": {"alphabet": "digits", "min_length": 8, "max_length": 8},
        })),
    )
    .await;
    assert_eq!(
        (status, s["status"].as_str()),
        (201, Some("pending")),
        "{s}"
    );
    let id = s["id"].as_i64().unwrap();
    let path = format!("/v1/ops/payment-services/{id}/approval");
    let (status, s) = ops(w, Method::POST, &path, None).await;
    assert_eq!(
        (status, s["status"].as_str()),
        (200, Some("eligible")),
        "{s}"
    );
    id
}

/// An open round of 25 % up to ¥5,000, with ¥7,500 for each trigger; its ID.
pub(crate) async fn open_round(w: &World, name: &str) -> i64 {
    let (status, r) = ops(
        w,
        Method::POST,
        "/v1/ops/point-rounds",
        Some(json!({
            "name": name,
            "purchase_rate": 25,
            "purchase_cap": 5000,
            "health_insurance_points": 7500,
            "public_fund_account_points": 7500,
        })),
    )
    .await;
    assert_eq!((status, r["state"].as_str()), (201, Some("draft")), "{r}");
    let id = r["id"].as_i64().unwrap();
    let path = format!("/v1/ops/point-rounds/{id}/opening");
    let (status, r) = ops(w, Method::POST, &path, None).await;
    assert_eq!((status, r["state"].as_str()), (200, Some("open")), "{r}");
    id
}

/// A card holder with a My Key ID: their card and session.
pub(crate) async fn holder(w: &World) -> (Card, String) {
    let card = card(w).await;
    let token = login(w, &card).await;
    let (status, _) = post(w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    (card, token)
}

pub(crate) async fn apply(
    w: &World,
    token: &str,
    round: i64,
    service: i64,
    id: &str,
) -> (u16, Value) {
    post(
        w,
        "/v1/me/point-applications",
        Some(token),
        json!({
            "round": round,
            "payment_service": service,
            "payment_service_user_id": id,
            "consent": point_consent(),
        }),
    )
    .await
}

pub(crate) async fn mine(w: &World, token: &str) -> Vec<Value> {
    let (status, body) = call(w, Method::GET, "/v1/me/point-applications", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body["applications"].as_array().unwrap().clone()
}

async fn queue(w: &World, party: &Client, query: &str) -> Vec<Value> {
    let path = format!("/v1/rp/point-applications{query}");
    let (status, body) = rp(w, party, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body["applications"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_holder_applies_and_the_provider_validates_from_its_queue_and_its_events() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let other = provider(&w, "B-Card").await;
    let (status, empty) = call(&w, Method::GET, "/v1/point-programme", None).await;
    assert_eq!(status, 200);
    assert_eq!(empty["rounds"], json!([]));
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "第2弾").await;
    let (_, programme) = call(&w, Method::GET, "/v1/point-programme", None).await;
    assert_eq!(programme["rounds"][0]["name"], "第2弾");
    assert_eq!(programme["services"][0]["provider"], "A-Pay");
    assert_eq!(programme["consent"]["items"].as_array().unwrap().len(), 3);

    let (card, token) = holder(&w).await;
    let (status, a) = apply(&w, &token, round, service, "12345678").await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["state"], "submitted");
    let id = a["id"].as_str().unwrap().to_owned();

    // The provider's queue and its event; the other provider sees nothing.
    assert!(queue(&w, &other, "").await.is_empty());
    let waiting = queue(&w, &pay, "?state=submitted").await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["id"], id.as_str());
    assert_eq!(waiting[0]["payment_service_user_id"], "12345678");
    let (status, got) = rp(&w, &pay, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    assert_eq!(status, 200, "{got}");
    let sets = got["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1);
    let (claims, kind) = set_claims(sets.values().next().unwrap().as_str().unwrap());
    assert_eq!(kind, "urn:mykey:secevent:point-application-submitted");
    assert_eq!(claims["sub_id"], json!({"format": "opaque", "id": id}));
    assert_eq!(
        claims["events"][&kind]["payment_service_user_id"],
        "12345678"
    );
    assert_private(&card, &[&got, &Value::Array(waiting)]);

    // The answer, once; the holder sees it and their log records it.
    let path = format!("/v1/rp/point-applications/{id}/validation");
    let valid = json!({"valid": true, "settlement_user_id": "SU-0001"});
    let (status, body) = rp(&w, &other, Method::POST, &path, Some(valid.clone())).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:point-application-unknown")
    );
    let (status, body) = rp(&w, &pay, Method::POST, &path, Some(valid.clone())).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("validated")),
        "{body}"
    );
    assert_eq!(body["settlement_user_id"], "SU-0001");
    let (status, body) = rp(&w, &pay, Method::POST, &path, Some(valid)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:point-application-answered")
    );
    let mine = mine(&w, &token).await;
    assert_eq!(mine[0]["state"], "validated");
    // The person's export holds it too.
    let (status, export) = call(&w, Method::GET, "/v1/me/export", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        export["point_applications"][0]["state"], "validated",
        "{export}"
    );
    assert_eq!(mine[0]["provider"], "A-Pay");
    let kinds = log_kinds(&w, &token).await;
    for k in ["consent.given", "point.applied", "point.validated"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    // One application per person per round.
    let (status, body) = apply(&w, &token, round, service, "87654321").await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:point-application-exists")
    );
}

#[tokio::test]
async fn a_rejected_holder_may_apply_again_and_a_withdrawal_is_final() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    let (_, token) = holder(&w).await;
    let (_, a) = apply(&w, &token, round, service, "11112222").await;
    let path = format!(
        "/v1/rp/point-applications/{}/validation",
        a["id"].as_str().unwrap()
    );
    let no = json!({"valid": false, "reason": "口座が見つかりません"});
    let (status, body) = rp(&w, &pay, Method::POST, &path, Some(no)).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("rejected")),
        "{body}"
    );
    assert_eq!(mine(&w, &token).await[0]["reason"], "口座が見つかりません");
    let (status, b) = apply(&w, &token, round, service, "11113333").await;
    assert_eq!(status, 201, "{b}");
    let path = format!(
        "/v1/me/point-applications/{}/withdrawal",
        b["id"].as_str().unwrap()
    );
    let (status, body) = post(&w, &path, Some(&token), json!({})).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("withdrawn")),
        "{body}"
    );
    let (status, body) = post(&w, &path, Some(&token), json!({})).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:point-application-ended")
    );
    let (status, body) = apply(&w, &token, round, service, "11114444").await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:point-application-exists")
    );
    // Someone else's application is unknown to this holder.
    let (_, other) = holder(&w).await;
    let (status, body) = post(&w, &path, Some(&other), json!({})).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:point-application-unknown")
    );
}

#[tokio::test]
async fn revoking_the_my_key_id_forfeits_the_rights_and_tells_the_provider() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    let (_, token) = holder(&w).await;
    let (_, a) = apply(&w, &token, round, service, "22223333").await;
    let (status, _) = call(&w, Method::DELETE, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 204);
    let gone = mine(&w, &token).await;
    assert_eq!(
        (gone[0]["state"].as_str(), gone[0]["reason"].as_str()),
        (Some("forfeited"), Some("my-key-id-revoked"))
    );
    assert!(
        log_kinds(&w, &token)
            .await
            .contains(&"point.forfeited".to_owned())
    );
    let seen = queue(&w, &pay, "").await;
    assert_eq!(
        (seen[0]["id"].clone(), seen[0]["state"].as_str()),
        (a["id"].clone(), Some("forfeited"))
    );
    let (_, got) = rp(&w, &pay, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    let kinds: Vec<String> = got["sets"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| set_claims(s.as_str().unwrap()).1)
        .collect();
    assert!(
        kinds.contains(&"urn:mykey:secevent:point-application-forfeited".to_owned()),
        "{kinds:?}"
    );

    // A re-created My Key ID brings back neither the application nor the right.
    let (status, _) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    let (status, body) = apply(&w, &token, round, service, "22224444").await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:point-rights-forfeited")
    );
    let (_, never) = holder(&w).await;
    call(&w, Method::DELETE, "/v1/me/my-key-id", Some(&never)).await;
    post(&w, "/v1/me/my-key-id", Some(&never), my_key_id_creation()).await;
    let (status, body) = apply(&w, &never, round, service, "22225555").await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:point-rights-forfeited")
    );
}

/// Art 27.1.2: the point secretariat forfeits a holder's rights for breaking the Terms; the
/// holder's log, the provider's queue and its events say so, and the holder cannot apply
/// again. The help desk cannot do it.
#[tokio::test(flavor = "multi_thread")]
async fn the_secretariat_forfeits_the_rights_of_a_holder_who_broke_the_terms() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    let (_, token) = holder(&w).await;
    let (status, a) = apply(&w, &token, round, service, "22223333").await;
    assert_eq!(status, 201, "{a}");
    let (_, mine_id) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    let path = format!(
        "/v1/ops/people/{}/point-forfeiture",
        mine_id["id"].as_str().unwrap()
    );
    let (status, body) = ops(&w, Method::POST, &path, Some(json!({"reason": ""}))).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = ops(
        &w,
        Method::POST,
        &path,
        Some(json!({"reason": "applications under borrowed cards, case 2026-41"})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let gone = mine(&w, &token).await;
    assert_eq!(
        (gone[0]["state"].as_str(), gone[0]["reason"].as_str()),
        (Some("forfeited"), Some("terms-violation"))
    );
    let seen = queue(&w, &pay, "").await;
    assert_eq!(seen[0]["state"].as_str(), Some("forfeited"));
    let (status, body) = apply(&w, &token, round, service, "22224444").await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:point-rights-forfeited")
    );
    assert!(
        log_kinds(&w, &token)
            .await
            .contains(&"point.forfeited".to_owned())
    );
}

#[tokio::test]
async fn the_programme_s_parties_reach_only_the_programme_and_others_not_the_programme() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let kiosk = relying_party_of_kind(&w, "Copier", "kiosk").await;
    let shop = business(&w, "Shop").await;
    for (party, method, path, body) in [
        (
            &pay,
            Method::POST,
            "/v1/rp/service-id-requests",
            Some(json!({"customer_id": "C-1"})),
        ),
        (
            &pay,
            Method::POST,
            "/v1/rp/ppid-services",
            Some(json!({"name": "x"})),
        ),
        (
            &kiosk,
            Method::POST,
            "/v1/rp/service-id-requests",
            Some(json!({"customer_id": "C-1"})),
        ),
    ] {
        let (status, got) = rp(&w, party, method, path, body).await;
        assert_eq!(
            (status, problem_type(&got)),
            (403, "urn:mykey:problem:point-programme-only"),
            "{path}"
        );
    }
    let register = json!({"name": "S", "kind": "e-money", "id_shape": {"alphabet": "digits", "min_length": 4, "max_length": 4}});
    for (party, method, path, body) in [
        (
            &shop,
            Method::POST,
            "/v1/rp/payment-services",
            Some(register.clone()),
        ),
        (
            &kiosk,
            Method::POST,
            "/v1/rp/payment-services",
            Some(register),
        ),
        (&shop, Method::GET, "/v1/rp/point-applications", None),
    ] {
        let (status, got) = rp(&w, party, method, path, body).await;
        assert_eq!(
            (status, problem_type(&got)),
            (403, "urn:mykey:problem:payment-provider-only"),
            "{path}"
        );
    }
    assert!(queue(&w, &kiosk, "").await.is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_with_its_problem_type_and_leaves_nothing_behind() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    let round_body = |rate: u32, cap: u32| json!({"name": format!("R{rate}-{cap}"), "purchase_rate": rate, "purchase_cap": cap, "health_insurance_points": 0, "public_fund_account_points": 0});
    for body in [
        round_body(0, 5000),
        round_body(101, 5000),
        round_body(25, 0),
        round_body(25, 2_000_000),
    ] {
        let (status, got) = ops(&w, Method::POST, "/v1/ops/point-rounds", Some(body)).await;
        assert_eq!(
            (status, problem_type(&got)),
            (422, "urn:mykey:problem:invalid-point-request"),
            "{got}"
        );
    }
    let (status, got) = ops(&w, Method::POST, "/v1/ops/point-rounds", Some(json!({"name": "Round", "purchase_rate": 25, "purchase_cap": 5000, "health_insurance_points": 0, "public_fund_account_points": 0}))).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-round-exists")
    );
    let path = format!("/v1/ops/point-rounds/{round}/opening");
    let (status, got) = ops(&w, Method::POST, &path, None).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-round-state")
    );
    let (status, got) = ops(&w, Method::POST, "/v1/ops/point-rounds/999/closing", None).await;
    assert_eq!(
        (status, problem_type(&got)),
        (404, "urn:mykey:problem:point-round-unknown")
    );
    for shape in [
        json!({"alphabet": "alphanumeric", "min_length": 8, "max_length": 8, "check": "luhn"}),
        json!({"alphabet": "digits", "min_length": 9, "max_length": 8}),
        json!({"alphabet": "digits", "min_length": 4, "max_length": 8, "prefix": "AB"}),
        json!({"alphabet": "hex", "min_length": 4, "max_length": 8}),
    ] {
        let body = json!({"name": "S", "kind": "e-money", "id_shape": shape});
        let (status, got) = rp(
            &w,
            &pay,
            Method::POST,
            "/v1/rp/payment-services",
            Some(body),
        )
        .await;
        assert_eq!(
            (status, problem_type(&got)),
            (422, "urn:mykey:problem:invalid-point-request"),
            "{got}"
        );
    }
    let (status, got) = rp(&w, &pay, Method::GET, "/v1/rp/payment-services", None).await;
    assert_eq!(
        (status, got["services"].as_array().unwrap().len()),
        (200, 1)
    );

    // The holder's refusals: none writes an application or a log entry.
    let (_, token) = holder(&w).await;
    let before = log_kinds(&w, &token).await.len();
    for (round, service, id, status, kind) in [
        (
            round,
            service,
            "1234567",
            422,
            "payment-service-user-id-shape",
        ),
        (
            round,
            service,
            "1234567X",
            422,
            "payment-service-user-id-shape",
        ),
        (round, 999, "12345678", 404, "payment-service-unknown"),
        (999, service, "12345678", 404, "point-round-unknown"),
    ] {
        let (got_status, got) = apply(&w, &token, round, service, id).await;
        assert_eq!(
            (got_status, problem_type(&got)),
            (status, format!("urn:mykey:problem:{kind}").as_str()),
            "{got}"
        );
    }
    let (status, got) = post(&w, "/v1/me/point-applications", Some(&token), json!({"round": round, "payment_service": service, "payment_service_user_id": "12345678", "consent": {"items": ["points.application-to-provider"], "terms_version": TERMS}})).await;
    assert_eq!(
        (status, problem_type(&got)),
        (422, "urn:mykey:problem:consent-incomplete")
    );
    let (status, _) = post(
        &w,
        "/v1/me/point-applications",
        Some(&token),
        json!({"round": round, "payment_service": service}),
    )
    .await;
    assert_eq!(status, 422);
    let no_id = login(&w, &card(&w).await).await;
    let (status, got) = apply(&w, &no_id, round, service, "12345678").await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:no-my-key-id")
    );
    let closed = open_round(&w, "Closed").await;
    ops(
        &w,
        Method::POST,
        &format!("/v1/ops/point-rounds/{closed}/closing"),
        None,
    )
    .await;
    let (status, got) = apply(&w, &token, closed, service, "12345678").await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-round-not-open")
    );
    assert!(mine(&w, &token).await.is_empty());
    assert!(mine(&w, &no_id).await.is_empty());
    assert_eq!(log_kinds(&w, &token).await.len(), before);
    assert!(queue(&w, &pay, "").await.is_empty());

    // The provider's malformed answers and queries.
    let (_, a) = apply(&w, &token, round, service, "12345678").await;
    let path = format!(
        "/v1/rp/point-applications/{}/validation",
        a["id"].as_str().unwrap()
    );
    for body in [
        json!({"valid": true}),
        json!({"valid": true, "settlement_user_id": "S 1"}),
        json!({"valid": false}),
        json!({"valid": false, "reason": "\u{202e}x"}),
        json!({"valid": true, "settlement_user_id": "S1", "reason": "x"}),
    ] {
        let (status, got) = rp(&w, &pay, Method::POST, &path, Some(body.clone())).await;
        assert!(matches!(status, 400 | 422), "{body}: {status} {got}");
    }
    for query in ["?state=lost", "?after=zz", "?limit=0", "?limit=1001"] {
        let (status, _) = rp(
            &w,
            &pay,
            Method::GET,
            &format!("/v1/rp/point-applications{query}"),
            None,
        )
        .await;
        assert!(matches!(status, 400 | 422), "{query}: {status}");
    }
    assert_eq!(queue(&w, &pay, "?state=submitted").await.len(), 1);
}

/// A validated applicant of `pay` in `round` with settlement user ID `su`; their session.
async fn validated(
    w: &World,
    pay: &Client,
    round: i64,
    service: i64,
    id: &str,
    su: &str,
) -> String {
    let (_, token) = holder(w).await;
    let (status, a) = apply(w, &token, round, service, id).await;
    assert_eq!(status, 201, "{a}");
    let path = format!(
        "/v1/rp/point-applications/{}/validation",
        a["id"].as_str().unwrap()
    );
    let (status, body) = rp(
        w,
        pay,
        Method::POST,
        &path,
        Some(json!({"valid": true, "settlement_user_id": su})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    token
}

fn purchase(su: &str, id: &str, amount: u64) -> Value {
    json!({"settlement_user_id": su, "transaction_id": id, "amount": amount, "occurred_at": "set by report"})
}

/// Reports `txs`; those whose time is not set happened a minute ago.
async fn report(w: &World, pay: &Client, round: i64, mut txs: Vec<Value>) -> (u16, Value) {
    for t in &mut txs {
        if t["occurred_at"] == "set by report" {
            t["occurred_at"] = json!(at(w, -60));
        }
    }
    let path = format!("/v1/rp/point-rounds/{round}/transactions");
    rp(
        w,
        pay,
        Method::POST,
        &path,
        Some(json!({"transactions": txs})),
    )
    .await
}

#[tokio::test]
async fn purchases_become_grants_within_the_cap_and_the_statement_reconciles_in_python_s_csv() {
    let w = world().await;
    let pay = provider(&w, "A-Pay, \"QR\"").await;
    let other = provider(&w, "B-Card").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    eligible_service(&w, &other, "B-Card").await;
    let round = open_round(&w, "Round").await;
    let hanako = validated(&w, &pay, round, service, "10000001", "SU-1").await;
    let taro = validated(&w, &pay, round, service, "10000002", "SU-2").await;
    // The purchases come after the applications.
    w.clock.advance(600);

    // 25 % of 19,999 is 4,999 (rounded down); the repeat of T-1 counts once.
    let (status, got) = report(
        &w,
        &pay,
        round,
        vec![
            purchase("SU-1", "T-1", 19_999),
            purchase("SU-2", "T-2", 4_000),
        ],
    )
    .await;
    assert_eq!(
        (status, got["accepted"].as_u64(), got["repeated"].as_u64()),
        (200, Some(2), Some(0)),
        "{got}"
    );
    let (_, got) = report(
        &w,
        &pay,
        round,
        vec![
            purchase("SU-1", "T-1", 19_999),
            purchase("SU-1", "T-3", 400),
        ],
    )
    .await;
    assert_eq!(
        (got["accepted"].as_u64(), got["repeated"].as_u64()),
        (Some(1), Some(1))
    );
    let path = format!("/v1/rp/point-rounds/{round}/grant-batches");
    let (status, batch) = rp(&w, &pay, Method::POST, &path, None).await;
    assert_eq!(status, 201, "{batch}");
    // Hanako: 4,999 + 100, capped at 5,000; Taro: 1,000.
    assert_eq!(
        (batch["grants"].as_u64(), batch["points"].as_u64()),
        (Some(2), Some(6000)),
        "{batch}"
    );
    let id = batch["id"].as_str().unwrap().to_owned();
    let (status, page) = rp(
        &w,
        &pay,
        Method::GET,
        &format!("/v1/rp/point-grant-batches/{id}/grants"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let mut grants: Vec<(String, u64)> = page["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["settlement_user_id"].as_str().unwrap().to_owned(),
                g["points"].as_u64().unwrap(),
            )
        })
        .collect();
    grants.sort();
    assert_eq!(
        grants,
        [("SU-1".to_owned(), 5000), ("SU-2".to_owned(), 1000)]
    );
    // Another provider sees no batch of this one's.
    let (status, got) = rp(
        &w,
        &other,
        Method::GET,
        &format!("/v1/rp/point-grant-batches/{id}/grants"),
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (404, "urn:mykey:problem:point-grant-batch-unknown")
    );
    // Past the cap, more purchases instruct nothing more for Hanako.
    report(
        &w,
        &pay,
        round,
        vec![purchase("SU-1", "T-4", 8_000), purchase("SU-2", "T-5", 800)],
    )
    .await;
    let (_, second) = rp(&w, &pay, Method::POST, &path, None).await;
    assert_eq!(
        (second["grants"].as_u64(), second["points"].as_u64()),
        (Some(1), Some(200)),
        "{second}"
    );

    // Taro withdraws before the second batch is confirmed: his 200 there are not granted.
    let confirm = |b: &str| format!("/v1/rp/point-grant-batches/{b}/confirmation");
    let (status, got) = rp(&w, &pay, Method::POST, &confirm(&id), None).await;
    assert!(got["confirmed_at"].is_string(), "{status} {got}");
    let (_, his) = call(&w, Method::GET, "/v1/me/point-applications", Some(&taro)).await;
    let withdraw = format!(
        "/v1/me/point-applications/{}/withdrawal",
        his["applications"][0]["id"].as_str().unwrap()
    );
    post(&w, &withdraw, Some(&taro), json!({})).await;
    let (status, got) = rp(
        &w,
        &pay,
        Method::POST,
        &confirm(second["id"].as_str().unwrap()),
        None,
    )
    .await;
    // The batch's one grant was Taro's: nothing stands, 200 ended.
    assert_eq!(
        (status, got["grants"].as_u64(), got["ended_points"].as_u64()),
        (200, Some(0), Some(200)),
        "{got}"
    );
    let (status, got) = rp(&w, &pay, Method::POST, &confirm(&id), None).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-grant-batch-confirmed")
    );
    assert!(
        log_kinds(&w, &hanako)
            .await
            .contains(&"point.granted".to_owned())
    );

    // The statement: per provider, reconciling to the yen; the CSV read back by Python.
    let (status, st) = ops(
        &w,
        Method::GET,
        &format!("/v1/ops/point-rounds/{round}/statement"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{st}");
    let line = &st["lines"][0];
    assert_eq!(line["provider"], "A-Pay, \"QR\"");
    let n = |k: &str| line[k].as_u64().unwrap();
    assert_eq!(
        (n("applications"), n("transactions"), n("amount")),
        (2, 5, 19_999 + 4_000 + 400 + 8_000 + 800)
    );
    assert_eq!(
        (
            n("points_instructed"),
            n("points_confirmed"),
            n("points_ended"),
            n("points_outstanding")
        ),
        (6200, 6000, 200, 0)
    );
    assert_eq!(n("points_reported"), 4_999 + 1_000 + 100 + 2_000 + 200);
    let (status, csv) = ops(
        &w,
        Method::GET,
        &format!("/v1/ops/point-rounds/{round}/statement.csv"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let csv = csv.as_str().unwrap().to_owned();
    let script = "import csv, json, sys\n\
        rows = list(csv.DictReader(sys.stdin))\n\
        keys = ['applications','transactions','amount','points_reported','points_instructed','points_confirmed','points_ended','points_outstanding']\n\
        print(json.dumps({'providers': [r['provider'] for r in rows], 'sums': {k: sum(int(r[k]) for r in rows) for k in keys}}))\n";
    let python = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut python) = python else {
        return mykey_testkit::skip("points::statement csv", "python3 is not installed");
    };
    use std::io::Write as _;
    python
        .stdin
        .take()
        .unwrap()
        .write_all(csv.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success());
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["providers"], json!(["A-Pay, \"QR\"", "B-Card"]));
    let lines = st["lines"].as_array().unwrap();
    for (k, sum) in read["sums"].as_object().unwrap() {
        let api: u64 = lines.iter().map(|l| l[k].as_u64().unwrap()).sum();
        assert_eq!(sum.as_u64().unwrap(), api, "{k}");
    }
}

#[tokio::test]
async fn bad_transactions_are_refused_whole_and_counted_nowhere() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let other = provider(&w, "B-Card").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    let token = validated(&w, &pay, round, service, "10000001", "SU-1").await;
    w.clock.advance(600);
    let good = purchase("SU-1", "T-ok", 1_000);
    let mut early = purchase("SU-1", "T-early", 1_000);
    early["occurred_at"] = json!(at(&w, -86_400));
    let mut future = purchase("SU-1", "T-future", 1_000);
    future["occurred_at"] = json!(at(&w, 86_400));
    let mut negative = purchase("SU-1", "T-neg", 1);
    negative["amount"] = json!(-5);
    for (txs, status, kind) in [
        (
            vec![good.clone(), purchase("SU-1", "T-0", 0)],
            422,
            "invalid-point-transaction",
        ),
        (
            vec![good.clone(), purchase("SU-1", "T-big", 10_000_001)],
            422,
            "invalid-point-transaction",
        ),
        (
            vec![good.clone(), purchase("SU-9", "T-who", 1_000)],
            422,
            "invalid-point-transaction",
        ),
        (vec![good.clone(), early], 422, "invalid-point-transaction"),
        (vec![good.clone(), future], 422, "invalid-point-transaction"),
        (
            vec![good.clone(), purchase("SU-1", "T 1", 1_000)],
            422,
            "invalid-point-transaction",
        ),
        (vec![], 422, "invalid-point-request"),
        (vec![good.clone(), negative], 422, "invalid-request"),
    ] {
        let (got_status, got) = report(&w, &pay, round, txs).await;
        assert_eq!(
            (got_status, problem_type(&got)),
            (status, format!("urn:mykey:problem:{kind}").as_str()),
            "{got}"
        );
    }
    let (status, got) = report(
        &w,
        &pay,
        round,
        (0..1001)
            .map(|i| purchase("SU-1", &format!("T-{i}"), 1))
            .collect(),
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (422, "urn:mykey:problem:invalid-point-request")
    );
    // Another provider cannot report for this one's applicant; a business cannot report at all.
    let (status, got) = report(&w, &other, round, vec![good.clone()]).await;
    assert_eq!(
        (status, problem_type(&got)),
        (422, "urn:mykey:problem:invalid-point-transaction")
    );
    let shop = business(&w, "Shop").await;
    let (status, got) = report(&w, &shop, round, vec![good.clone()]).await;
    assert_eq!(
        (status, problem_type(&got)),
        (403, "urn:mykey:problem:payment-provider-only")
    );
    let (status, got) = report(&w, &pay, 999, vec![good]).await;
    assert_eq!(
        (status, problem_type(&got)),
        (404, "urn:mykey:problem:point-round-unknown")
    );
    // None of it was taken: the statement shows no transaction.
    let (_, st) = ops(
        &w,
        Method::GET,
        &format!("/v1/ops/point-rounds/{round}/statement"),
        None,
    )
    .await;
    assert_eq!(st["lines"][0]["transactions"], 0, "{st}");
    // Forfeited applicants' transactions are refused; their instructed points forfeited.
    report(&w, &pay, round, vec![purchase("SU-1", "T-ok", 1_000)]).await;
    rp(
        &w,
        &pay,
        Method::POST,
        &format!("/v1/rp/point-rounds/{round}/grant-batches"),
        None,
    )
    .await;
    call(&w, Method::DELETE, "/v1/me/my-key-id", Some(&token)).await;
    let (status, got) = report(&w, &pay, round, vec![purchase("SU-1", "T-late", 1_000)]).await;
    assert_eq!(
        (status, problem_type(&got)),
        (422, "urn:mykey:problem:invalid-point-transaction")
    );
    let (_, st) = ops(
        &w,
        Method::GET,
        &format!("/v1/ops/point-rounds/{round}/statement"),
        None,
    )
    .await;
    assert_eq!(
        (
            st["lines"][0]["points_ended"].as_u64(),
            st["lines"][0]["points_outstanding"].as_u64()
        ),
        (Some(250), Some(0)),
        "{st}"
    );
}

/// A closed round takes the purchases made while it was open for 30 days more, none made after
/// it closed, and nothing after those 30 days — while batches go on granting what was
/// reported. A draft round takes nothing.
#[tokio::test]
async fn a_closed_round_takes_purchases_made_while_open_for_30_days() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    validated(&w, &pay, round, service, "10000001", "SU-1").await;
    w.clock.advance(600);
    let path = format!("/v1/ops/point-rounds/{round}/closing");
    let (status, r) = ops(&w, Method::POST, &path, None).await;
    assert_eq!((status, r["state"].as_str()), (200, Some("closed")), "{r}");
    // Bought a minute before the close, reported after it.
    let (status, got) = report(&w, &pay, round, vec![purchase("SU-1", "T-1", 1_000)]).await;
    assert_eq!((status, got["accepted"].as_u64()), (200, Some(1)), "{got}");
    w.clock.advance(600);
    let (status, got) = report(&w, &pay, round, vec![purchase("SU-1", "T-2", 1_000)]).await;
    assert_eq!(
        (status, problem_type(&got)),
        (422, "urn:mykey:problem:invalid-point-transaction"),
        "{got}"
    );
    assert!(
        got["detail"]
            .as_str()
            .is_some_and(|d| d.contains("after the round closed")),
        "{got}"
    );
    let batches = format!("/v1/rp/point-rounds/{round}/grant-batches");
    let (status, b) = rp(&w, &pay, Method::POST, &batches, None).await;
    assert_eq!((status, b["points"].as_u64()), (201, Some(250)), "{b}");
    // 30 days on, even a purchase made while the round was open is too late.
    w.clock.advance(mykey_platform::REPORTING_SECS_AFTER_CLOSE);
    let mut late = purchase("SU-1", "T-3", 1_000);
    late["occurred_at"] = json!(at(
        &w,
        -(mykey_platform::REPORTING_SECS_AFTER_CLOSE as i64) - 900
    ));
    let (status, got) = report(&w, &pay, round, vec![late]).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-reporting-ended"),
        "{got}"
    );
    let (status, got) = rp(&w, &pay, Method::POST, &batches, None).await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-grants-none-due"),
        "{got}"
    );
    let (_, st) = ops(
        &w,
        Method::GET,
        &format!("/v1/ops/point-rounds/{round}/statement"),
        None,
    )
    .await;
    assert_eq!(st["lines"][0]["transactions"], 1, "{st}");
    // A draft round is unknown to providers.
    let (status, draft) = ops(
        &w,
        Method::POST,
        "/v1/ops/point-rounds",
        Some(
            json!({"name": "Draft", "purchase_rate": 25, "purchase_cap": 5000,
                    "health_insurance_points": 0, "public_fund_account_points": 0}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    let draft = draft["id"].as_i64().unwrap();
    let (status, got) = report(&w, &pay, draft, vec![purchase("SU-1", "T-4", 1_000)]).await;
    assert_eq!(
        (status, problem_type(&got)),
        (404, "urn:mykey:problem:point-round-unknown"),
        "{got}"
    );
}

/// A Payment Service ID is proved by the security code its service issues with it: another
/// person who knows only the ID applies, but locks nobody out, and the provider validates the
/// one whose code is right; the code is erased with the answer. A draft round and a pending
/// service are unknown to people; a suspended provider's services are not offered; a batch
/// with nothing to count is not kept.
#[tokio::test]
async fn a_payment_service_id_is_proved_by_its_code_and_nobody_is_locked_out() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let (status, s) = rp(
        &w,
        &pay,
        Method::POST,
        "/v1/rp/payment-services",
        Some(json!({"name": "A-Pay QR", "kind": "qr-code", "id_shape": {"alphabet": "digits", "min_length": 8, "max_length": 8, "code_digits": 4}})),
    )
    .await;
    assert_eq!(
        (status, s["id_shape"]["code_digits"].as_u64()),
        (201, Some(4)),
        "{s}"
    );
    let service = s["id"].as_i64().unwrap();
    let (_, draft) = ops(&w, Method::POST, "/v1/ops/point-rounds", Some(json!({"name": "Draft", "purchase_rate": 25, "purchase_cap": 5000, "health_insurance_points": 0, "public_fund_account_points": 0}))).await;
    let (_, owner) = holder(&w).await;
    let (_, squatter) = holder(&w).await;
    let with_code = |round: i64, code: Option<&str>| {
        let mut body = json!({"round": round, "payment_service": service, "payment_service_user_id": "20000001", "consent": point_consent()});
        if let Some(c) = code {
            body["payment_service_code"] = json!(c);
        }
        body
    };
    // Pending service, draft round: unknown.
    let round = open_round(&w, "Round").await;
    let (status, got) = post(
        &w,
        "/v1/me/point-applications",
        Some(&owner),
        with_code(round, Some("1234")),
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (404, "urn:mykey:problem:payment-service-unknown")
    );
    ops(
        &w,
        Method::POST,
        &format!("/v1/ops/payment-services/{service}/approval"),
        None,
    )
    .await;
    let (status, got) = post(
        &w,
        "/v1/me/point-applications",
        Some(&owner),
        with_code(draft["id"].as_i64().unwrap(), Some("1234")),
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (404, "urn:mykey:problem:point-round-unknown")
    );
    // The code is required, of the service's digits.
    for code in [None, Some("123"), Some("12a4")] {
        let (status, got) = post(
            &w,
            "/v1/me/point-applications",
            Some(&owner),
            with_code(round, code),
        )
        .await;
        assert_eq!(
            (status, problem_type(&got)),
            (422, "urn:mykey:problem:payment-service-user-id-shape"),
            "{code:?}"
        );
    }
    // The squatter applies first with the owner's ID and a guessed code; the owner still can.
    let (status, bad) = post(
        &w,
        "/v1/me/point-applications",
        Some(&squatter),
        with_code(round, Some("0000")),
    )
    .await;
    assert_eq!(status, 201, "{bad}");
    let (status, good) = post(
        &w,
        "/v1/me/point-applications",
        Some(&owner),
        with_code(round, Some("1234")),
    )
    .await;
    assert_eq!(status, 201, "{good}");
    let queue = queue(&w, &pay, "?state=submitted").await;
    let code_of = |id: &Value| {
        queue
            .iter()
            .find(|a| a["id"] == *id)
            .map(|a| a["payment_service_code"].clone())
            .unwrap()
    };
    assert_eq!(
        (code_of(&bad["id"]), code_of(&good["id"])),
        (json!("0000"), json!("1234"))
    );
    let answer = |id: &Value, body: Value| {
        let path = format!(
            "/v1/rp/point-applications/{}/validation",
            id.as_str().unwrap()
        );
        let (w, pay) = (&w, &pay);
        async move { rp(w, pay, Method::POST, &path, Some(body)).await }
    };
    let (status, got) = answer(
        &good["id"],
        json!({"valid": true, "settlement_user_id": "SU-OWNER"}),
    )
    .await;
    assert_eq!(
        (status, got["payment_service_code"].clone()),
        (200, Value::Null),
        "{got}"
    );
    // Only one application in the round is validated with that ID.
    let (status, got) = answer(
        &bad["id"],
        json!({"valid": true, "settlement_user_id": "SU-X"}),
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:payment-service-user-id-taken")
    );
    let (status, _) = answer(
        &bad["id"],
        json!({"valid": false, "reason": "wrong security code"}),
    )
    .await;
    assert_eq!(status, 200);

    // Nothing reported: no batch is kept.
    let (status, got) = rp(
        &w,
        &pay,
        Method::POST,
        &format!("/v1/rp/point-rounds/{round}/grant-batches"),
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-grants-none-due")
    );
    // A suspended provider's services are not offered.
    ops(
        &w,
        Method::POST,
        &format!("/v1/ops/relying-parties/{}/suspension", pay.id),
        None,
    )
    .await;
    let (_, programme) = call(&w, Method::GET, "/v1/point-programme", None).await;
    assert_eq!(programme["services"], json!([]), "{programme}");
}

/// A kiosk applies for the card holder in front of it: its own challenge, the card's answer,
/// the holder's choice and consent; the application is the holder's (one per round, in their
/// log with the kiosk's name), and the kiosk sees the ones it made only. A card not known to
/// the platform, a challenge of another kiosk, and a relying party of another kind get nothing.
#[tokio::test]
async fn a_kiosk_applies_for_the_card_holder_in_front_of_it() {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    let kiosk = relying_party_of_kind(&w, "コンビニ マルチコピー機", "kiosk").await;
    let other_kiosk = relying_party_of_kind(&w, "Bank ATM", "kiosk").await;
    let (card, token) = holder(&w).await;
    let challenge = |k: &Client| {
        let (w, k) = (&w, k.clone());
        async move {
            let (status, c) = rp(
                w,
                &k,
                Method::POST,
                "/v1/rp/point-applications/challenges",
                None,
            )
            .await;
            assert_eq!(status, 201, "{c}");
            c["nonce"].as_str().unwrap().to_owned()
        }
    };
    let body = |card: &Card, nonce: &str, id: &str| {
        json!({
            "nonce": nonce,
            "certificate": B64.encode(&card.cert),
            "signature": B64.encode(card.key.sign(&B64URL.decode(nonce).unwrap())),
            "round": round,
            "payment_service": service,
            "payment_service_user_id": id,
            "consent": point_consent(),
        })
    };
    // Another kiosk's challenge is not this kiosk's.
    let foreign = challenge(&other_kiosk).await;
    let (status, got) = rp(
        &w,
        &kiosk,
        Method::POST,
        "/v1/rp/point-applications",
        Some(body(&card, &foreign, "30000001")),
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (400, "urn:mykey:problem:challenge-unknown"),
        "{got}"
    );
    let nonce = challenge(&kiosk).await;
    let (status, a) = rp(
        &w,
        &kiosk,
        Method::POST,
        "/v1/rp/point-applications",
        Some(body(&card, &nonce, "30000001")),
    )
    .await;
    assert_eq!(
        (status, a["kiosk"].as_str()),
        (201, Some("コンビニ マルチコピー機")),
        "{a}"
    );
    // The same answer again: the challenge is spent.
    let (status, got) = rp(
        &w,
        &kiosk,
        Method::POST,
        "/v1/rp/point-applications",
        Some(body(&card, &nonce, "30000001")),
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (400, "urn:mykey:problem:challenge-unknown")
    );
    // The holder's own: one per round, with the kiosk named in their log.
    let mine = mine(&w, &token).await;
    assert_eq!(
        (mine.len(), mine[0]["kiosk"].as_str()),
        (1, Some("コンビニ マルチコピー機"))
    );
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    for kind in ["consent.given", "point.applied"] {
        assert!(
            log["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == kind
                    && e["detail"]["via"] == "kiosk"
                    && e["detail"]["kiosk"] == "コンビニ マルチコピー機"),
            "{kind}: {log}"
        );
    }
    let (status, got) = apply(&w, &token, round, service, "30000002").await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:point-application-exists")
    );
    // Each kiosk sees what it made; the provider sees it too, with the kiosk's name.
    assert_eq!(queue(&w, &kiosk, "").await.len(), 1);
    assert!(queue(&w, &other_kiosk, "").await.is_empty());
    assert_eq!(
        queue(&w, &pay, "").await[0]["kiosk"],
        "コンビニ マルチコピー機"
    );
    // A card the platform has never seen creates nobody, and applies for nothing.
    let stranger = crate::harness::card(&w).await;
    let nonce = challenge(&kiosk).await;
    let (status, got) = rp(
        &w,
        &kiosk,
        Method::POST,
        "/v1/rp/point-applications",
        Some(body(&stranger, &nonce, "30000003")),
    )
    .await;
    assert_eq!(
        (status, problem_type(&got)),
        (409, "urn:mykey:problem:no-my-key-id"),
        "{got}"
    );
    // A payment provider or a business is no kiosk.
    for party in [&pay, &business(&w, "Shop").await] {
        let (status, got) = rp(
            &w,
            party,
            Method::POST,
            "/v1/rp/point-applications/challenges",
            None,
        )
        .await;
        assert_eq!(
            (status, problem_type(&got)),
            (403, "urn:mykey:problem:kiosk-only")
        );
    }
}

/// A batch counts every transaction not yet counted in its round, so a provider asks for at
/// most three at once per round (ten in all), then one a minute: the fourth is 429 with
/// Retry-After, and another round still has its own.
#[tokio::test(flavor = "multi_thread")]
async fn batches_of_grants_are_held_to_a_quota_per_round() {
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    eligible_service(&w, &pay, "A-Pay QR").await;
    let first = open_round(&w, "Round").await;
    let second = open_round(&w, "Round 2").await;
    let batch = |round: i64| {
        let w = &w;
        let pay = &pay;
        async move {
            rp(
                w,
                pay,
                Method::POST,
                &format!("/v1/rp/point-rounds/{round}/grant-batches"),
                None,
            )
            .await
        }
    };
    for _ in 0..3 {
        let (status, body) = batch(first).await;
        assert_eq!(
            (status, problem_type(&body)),
            (409, "urn:mykey:problem:point-grants-none-due")
        );
    }
    let (status, body) = batch(first).await;
    assert_eq!(
        (status, problem_type(&body)),
        (429, "urn:mykey:problem:quota-exceeded"),
        "{body}"
    );
    assert_eq!(batch(second).await.0, 409);
}
