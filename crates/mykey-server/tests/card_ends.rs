//! The end of a card ends the My Key ID (Terms Art 15.3; issue 21.2): a revocation of the
//! user-identification certificate for any reason but a renewal, found by the sweep of J-LIS's
//! CRLs, or an expiry with no renewal within the grace period, ends the My Key ID and every
//! Service ID with it; each relying party is told once, and the person's log says why.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// A person with a My Key ID, linked at each of `clients`.
async fn person(w: &World, clients: &[(&Client, &str)]) -> (Card, String) {
    let card = card(w).await;
    let token = login(w, &card).await;
    let (status, _) = post(w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    for (client, customer_id) in clients {
        let id = link_request(w, client, customer_id).await;
        let (status, body) = approve(w, &card, &id, full_consent()).await;
        assert_eq!(status, 201, "{body}");
    }
    (card, token)
}

/// J-LIS publishes its CRLs; one pass of the platform's sweep.
async fn sweep(w: &World) {
    w.jlis.publish_crls().await.unwrap();
    w.clock.catch_up();
    w.port.sweep_facts(&w.platform).await;
}

/// The relying party's pending events: (type, customer ID, payload).
async fn told(w: &World, client: &Client) -> Vec<(String, String, Value)> {
    let (status, body) = rp(w, client, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    body["sets"]
        .as_object()
        .unwrap()
        .values()
        .map(|set| {
            let (claims, kind) = set_claims(set.as_str().unwrap());
            let payload = claims["events"][&kind].clone();
            (
                kind,
                claims["sub_id"]["id"].as_str().unwrap().to_owned(),
                payload,
            )
        })
        .collect()
}

async fn acknowledge_all(w: &World, client: &Client) {
    let (_, body) = rp(w, client, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    let ack: Vec<&String> = body["sets"].as_object().unwrap().keys().collect();
    let (status, _) = rp(
        w,
        client,
        Method::POST,
        "/v1/rp/events",
        Some(json!({"ack": ack})),
    )
    .await;
    assert_eq!(status, 200);
}

async fn revoke(w: &World, card: &Card, reason: &str) {
    w.jlis
        .revoke(&mykey_jlis::api::RevokeRequest {
            serial: card.number.clone(),
            reason: reason.into(),
        })
        .await
        .unwrap();
}

const DISABLED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_card_ends_the_my_key_id_and_every_link_and_each_party_is_told_once() {
    let w = world().await;
    let bank = relying_party(&w, "Chikuzen Bank").await;
    let city = relying_party(&w, "Fukuoka City").await;
    let (card, token) = person(&w, &[(&bank, "B-1"), (&city, "R-1")]).await;
    // Someone else, whose card is untouched.
    let (_, other) = person(&w, &[(&bank, "B-2")]).await;

    revoke(&w, &card, "keyCompromise").await;
    sweep(&w).await;
    for (client, customer) in [(&bank, "B-1"), (&city, "R-1")] {
        let events = told(&w, client).await;
        assert_eq!(events.len(), 1, "{events:?}");
        let (kind, sub, payload) = &events[0];
        assert_eq!((kind.as_str(), sub.as_str()), (DISABLED, customer));
        assert_eq!(
            payload,
            &json!({"reason": "card-revoked", "revocation_reason": "keyCompromise"})
        );
        acknowledge_all(&w, client).await;
    }
    let (_, list) = rp(&w, &bank, Method::GET, "/v1/rp/service-ids", None).await;
    let left: Vec<&str> = list["service_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["B-2"]);
    // The person's log says why (read with the session they still hold).
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let entries = log["entries"].as_array().unwrap();
    let revoked = entries
        .iter()
        .find(|e| e["kind"] == "my-key-id.revoked")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(
        revoked["detail"],
        json!({"reason": "card-revoked", "revocation_reason": "keyCompromise"})
    );
    let ended: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "service-id.ended")
        .collect();
    assert_eq!(ended.len(), 2);
    assert_eq!(ended[0]["detail"]["reason"], "card-revoked");
    let (status, _) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 404);
    let (status, _) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&other)).await;
    assert_eq!(status, 200, "the other person's is untouched");

    // Told once: the next pass finds nothing new.
    sweep(&w).await;
    assert!(told(&w, &bank).await.is_empty());
    assert!(told(&w, &city).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_and_a_suspension_end_nothing() {
    let w = world().await;
    let bank = relying_party(&w, "Chikuzen Bank").await;
    let (card, _) = person(&w, &[(&bank, "B-1")]).await;
    let renewed = renewed(&w, &card).await;
    sweep(&w).await;
    let token = login(&w, &renewed).await;
    let (status, _) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 200);
    // A suspension of the new card (certificateHold) is not its end either.
    revoke(&w, &renewed, "certificateHold").await;
    sweep(&w).await;
    let (status, _) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 200);
    assert!(
        told(&w, &bank)
            .await
            .iter()
            .all(|(kind, _, _)| kind != DISABLED)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_that_expires_without_a_renewal_ends_the_my_key_id_after_the_grace_period() {
    let w = world().await;
    let bank = relying_party(&w, "Chikuzen Bank").await;
    let (card, _) = person(&w, &[(&bank, "B-1")]).await;
    let expires = mykey_pki::UserIdentificationCertificate::from_der(&card.cert)
        .unwrap()
        .not_after();
    let grace = 90 * 86_400;
    // Expired, within the grace period: nothing ends.
    let now = w.platform.now().as_secs();
    w.clock.advance(expires.as_secs() + grace - 86_400 - now);
    assert_eq!(w.platform.end_expired_cards().await.unwrap(), 0);
    // The grace period gone: the My Key ID and the link end, once.
    w.clock.advance(2 * 86_400);
    assert_eq!(w.platform.end_expired_cards().await.unwrap(), 1);
    assert_eq!(w.platform.end_expired_cards().await.unwrap(), 0);
    let events = told(&w, &bank).await;
    assert!(
        events.iter().any(|(kind, sub, payload)| kind == DISABLED
            && sub == "B-1"
            && payload == &json!({"reason": "card-expired"})),
        "{events:?}"
    );
    let history = w
        .platform
        .store()
        .log(
            w.platform
                .store()
                .person_by_issuance_number(card.number.parse().unwrap())
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
    let revoked = history
        .iter()
        .find(|e| e.kind == "my-key-id.revoked")
        .unwrap();
    assert_eq!(revoked.detail, r#"{"reason":"card-expired"}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_card_replaced_before_the_sweep_still_ends_the_my_key_id() {
    let w = world().await;
    let bank = relying_party(&w, "Chikuzen Bank").await;
    let (card, _) = person(&w, &[(&bank, "B-1")]).await;
    // Lost and revoked, then replaced, and the new card used, all before the next pass.
    revoke(&w, &card, "keyCompromise").await;
    // (The platform's clock, which this world holds still, catches up with J-LIS's.)
    w.clock.catch_up();
    w.clock.advance(1);
    let replaced = renewed(&w, &card).await;
    let token = login(&w, &replaced).await;
    sweep(&w).await;
    let (status, _) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 404, "the replacement does not save the My Key ID");
    assert!(
        told(&w, &bank)
            .await
            .iter()
            .any(|(kind, sub, _)| kind == DISABLED && sub == "B-1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_one_applies_with_the_my_key_id_of_a_suspended_card() {
    let w = world().await;
    let city = relying_party(&w, "Fukuoka City").await;
    let (card, token) = person(&w, &[]).await;
    let (_, created) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    let my_key_id = created["id"].as_str().unwrap().to_owned();
    // Suspended (a lost card reported): the My Key ID stays, but no relying party links it.
    revoke(&w, &card, "certificateHold").await;
    sweep(&w).await;
    let (status, _) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 200);
    let (status, body) = rp(
        &w,
        &city,
        Method::POST,
        "/v1/rp/service-ids",
        Some(json!({"my_key_id": my_key_id, "customer_id": "R-9", "consent": full_consent()})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:no-my-key-id")
    );
}
