use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

const DAY: u64 = 86_400;

async fn publish(w: &World, body: Value) -> (u16, Value) {
    ops(w, Method::POST, "/v1/ops/terms", Some(body)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn terms_are_announced_seven_days_ahead_and_consents_name_the_one_in_force() {
    let w = world().await;
    // A fresh install has the seeded version in force.
    let (status, terms) = call(&w, Method::GET, "/v1/terms", None).await;
    assert_eq!(status, 200);
    assert_eq!(terms["in_force"], "2026-11-01");
    assert_eq!(terms["versions"][0]["in_force"], true);

    // Less than seven days' notice: refused, with the earliest moment said.
    let (status, body) = publish(
        &w,
        json!({"version": "2027-01", "effective_at": at(&w, 7 * DAY - 1), "summary": "Art 8 clarified"}),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:terms-notice-too-short"),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains(&at(&w, 7 * DAY)),
        "{body}"
    );
    // Malformed: no text or summary, a bad time, a bad name, urgent without a reason.
    for bad in [
        json!({"version": "2027-01", "effective_at": at(&w, 8 * DAY)}),
        json!({"version": "2027-01", "effective_at": "next week", "summary": "s"}),
        json!({"version": "2027 01", "effective_at": at(&w, 8 * DAY), "summary": "s"}),
        json!({"version": "2027-01", "effective_at": at(&w, 8 * DAY), "text_url": "ftp://x"}),
        json!({"version": "2027-01", "effective_at": at(&w, DAY), "summary": "s", "urgent": true}),
        json!({"version": "2027-01", "effective_at": at(&w, 8 * DAY), "summary": "s", "reason": "r"}),
    ] {
        let (status, body) = publish(&w, bad.clone()).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-request"),
            "{bad} → {body}"
        );
    }
    // More than ten years ahead (a "9999-12-31" placeholder) is a mistake, and a published
    // version cannot be taken back: refused.
    let (status, body) = publish(
        &w,
        json!({"version": "forever", "effective_at": "9999-12-31T23:59:59Z", "summary": "s"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("ten years"),
        "{body}"
    );
    // Only operators publish.
    let (status, _) = post(
        &w,
        "/v1/ops/terms",
        None,
        json!({"version": "x", "effective_at": at(&w, 8 * DAY), "summary": "s"}),
    )
    .await;
    assert_eq!(status, 401);

    // Exactly seven days ahead: published, not yet in force.
    let (status, published) = publish(
        &w,
        json!({"version": "2027-01", "effective_at": at(&w, 7 * DAY), "text_url": "https://example.invalid/terms/2027-01"}),
    )
    .await;
    assert_eq!(status, 201, "{published}");
    assert_eq!(
        (&published["in_force"], &published["urgent"]),
        (&json!(false), &json!(false))
    );
    let (status, body) = publish(
        &w,
        json!({"version": "2027-01", "effective_at": at(&w, 9 * DAY), "summary": "again"}),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:terms-version-exists")
    );
    let (_, terms) = call(&w, Method::GET, "/v1/terms", None).await;
    assert_eq!(terms["in_force"], "2026-11-01");
    assert_eq!(terms["versions"].as_array().unwrap().len(), 2);

    // Consents name the version in force: the announced one is not yet it.
    let city = relying_party(&w, "City").await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    let id = link_request(&w, &city, "C-1").await;
    let mut early = full_consent();
    early["terms_version"] = json!("2027-01");
    let (status, body) = approve(&w, &card, &id, early.clone()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:consent-incomplete")
    );

    // An urgent change takes effect at once, its reason recorded; consents must name it.
    let (status, urgent) = publish(
        &w,
        json!({"version": "2026-11-fix", "effective_at": at(&w, 0), "summary": "security fix",
               "urgent": true, "reason": "a vulnerability in the consent flow"}),
    )
    .await;
    assert_eq!(status, 201, "{urgent}");
    assert_eq!(urgent["in_force"], true);
    let (_, terms) = call(&w, Method::GET, "/v1/terms", None).await;
    assert_eq!(terms["in_force"], "2026-11-fix");
    let fix = terms["versions"].as_array().unwrap()[1].clone();
    assert_eq!(
        (&fix["version"], &fix["urgent"], &fix["urgent_reason"]),
        (
            &json!("2026-11-fix"),
            &json!(true),
            &json!("a vulnerability in the consent flow")
        )
    );
    let (status, body) = approve(&w, &card, &id, full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:consent-incomplete")
    );
    let mut fixed = full_consent();
    fixed["terms_version"] = json!("2026-11-fix");
    let (status, linked) = approve(&w, &card, &id, fixed.clone()).await;
    assert_eq!(status, 201, "{linked}");
    assert_eq!(linked["consent"]["terms_version"], "2026-11-fix");

    // Seven days on (the platform's clock advanced), the announced version is in force, and
    // consents naming the one before are refused.
    w.clock.advance(7 * DAY);
    let (_, terms) = call(&w, Method::GET, "/v1/terms", None).await;
    assert_eq!(terms["in_force"], "2027-01");
    let flags: Vec<&Value> = terms["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["in_force"])
        .collect();
    assert_eq!(flags, [&json!(false), &json!(false), &json!(true)]);
    let id = link_request(&w, &city, "C-2").await;
    let (_, shown) = call(&w, Method::GET, &format!("/v1/link-requests/{id}"), None).await;
    assert_eq!(shown["consent"]["terms_version"], "2027-01");
    let (status, body) = approve(&w, &card, &id, fixed).await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:consent-incomplete")
    );

    // Even urgent, a change never takes effect in the past.
    let before = time::OffsetDateTime::from_unix_timestamp(w.platform.now().as_secs() as i64 - 60)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, body) = publish(
        &w,
        json!({"version": "late", "effective_at": before, "summary": "s", "urgent": true, "reason": "r"}),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:terms-notice-too-short")
    );
}
