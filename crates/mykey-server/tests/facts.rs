//! Changes of the four facts (Art 17.2.2): the sweep of the signature CA's CRLs tells every
//! relying party linked to a person whose signature certificate J-LIS revoked for a change of
//! facts, once; a relying party's on-demand check asks J-LIS about one person.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mykey_jlis::api::ChangeFactsRequest;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

const FACTS: &str = "urn:mykey:secevent:basic-facts-changed";

async fn link(w: &World, card: &Card, client: &Client, customer_id: &str) {
    let id = link_request(w, client, customer_id).await;
    let (status, body) = approve(w, card, &id, full_consent()).await;
    assert_eq!(status, 201, "{body}");
}

async fn person(w: &World, clients: &[(&Client, &str)]) -> (Card, String) {
    let card = issued_card(w, true).await;
    let token = login(w, &card).await;
    post(w, "/v1/me/my-key-id", Some(&token), json!({})).await;
    for (client, customer_id) in clients {
        link(w, &card, client, customer_id).await;
    }
    (card, token)
}

async fn move_house(w: &World, card: &Card) {
    w.jlis
        .change_facts(&ChangeFactsRequest {
            issuance_number: card.number.clone(),
            address: Some("北海道札幌市中央区北一条西二丁目".into()),
            signature_public_key: B64.encode(key().spki_der()),
            ..ChangeFactsRequest::default()
        })
        .await
        .unwrap();
}

async fn sweep(w: &World) -> (u64, u64) {
    w.jlis.publish_crls().await.unwrap();
    w.clock.catch_up();
    let (mut people, mut events) = (0, 0);
    for (crl, ca) in w.port.signature_crls(true).await {
        let s = w.platform.sweep_signature_crl(&crl, &ca).await.unwrap();
        people += s.people;
        events += s.events;
    }
    (people, events)
}

/// The relying party's pending events: (event type, customer ID).
async fn told(w: &World, client: &Client) -> Vec<(String, String)> {
    let (status, body) = rp(w, client, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    body["sets"]
        .as_object()
        .unwrap()
        .values()
        .map(|set| {
            let (claims, kind) = set_claims(set.as_str().unwrap());
            (kind, claims["sub_id"]["id"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_is_found_in_the_crl_and_told_once_to_every_linked_relying_party() {
    let w = world().await;
    let bank = relying_party(&w, "転居銀行").await;
    let city = relying_party(&w, "転居市").await;
    let stranger = relying_party(&w, "無縁").await;
    let (mover, token) = person(&w, &[(&bank, "C-F"), (&city, "S-F")]).await;
    let (_stayer, _) = person(&w, &[(&bank, "C-N")]).await;
    // Linking asked J-LIS which signature certificate each holds; the log says so.
    assert!(
        log_kinds(&w, &token)
            .await
            .iter()
            .filter(|k| *k == "jlis.query")
            .count()
            >= 2
    );

    move_house(&w, &mover).await;
    assert_eq!(sweep(&w).await, (1, 2));
    assert_eq!(
        told(&w, &bank).await,
        [(FACTS.to_owned(), "C-F".to_owned())]
    );
    assert_eq!(
        told(&w, &city).await,
        [(FACTS.to_owned(), "S-F".to_owned())]
    );
    assert!(told(&w, &stranger).await.is_empty());
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let shared = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "facts-change.shared")
        .unwrap_or_else(|| panic!("{log}"));
    assert!(shared.to_string().contains("転居銀行") && shared.to_string().contains("転居市"));
    // The same CRLs again: nobody is told twice.
    assert_eq!(sweep(&w).await, (0, 0));
    assert_eq!(told(&w, &bank).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_checks_one_person_on_demand() {
    let w = world().await;
    let bank = relying_party(&w, "確認銀行").await;
    let other = relying_party(&w, "他行").await;
    let (card, _) = person(&w, &[(&bank, "C-Q")]).await;
    let check = |client: &Client, customer_id: &str| {
        let path = format!("/v1/rp/service-ids/{customer_id}/facts-check");
        let client = client.clone();
        let w = &w;
        async move { rp(w, &client, Method::POST, &path, None).await }
    };
    let (status, body) = check(&bank, "C-Q").await;
    assert_eq!(
        (status, body["basic_facts_changed"].as_bool()),
        (200, Some(false)),
        "{body}"
    );

    move_house(&w, &card).await;
    let (status, body) = check(&bank, "C-Q").await;
    assert_eq!(
        (status, body["basic_facts_changed"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_eq!(
        told(&w, &bank).await,
        [(FACTS.to_owned(), "C-Q".to_owned())]
    );
    // Told once: the sweep finds nothing new, a second check reports no further change.
    assert_eq!(sweep(&w).await, (0, 0));
    let (_, body) = check(&bank, "C-Q").await;
    assert_eq!(body["basic_facts_changed"], false);
    // Another relying party, or a customer ID nobody linked: no such Service ID.
    for (client, customer_id) in [(&other, "C-Q"), (&bank, "C-NONE")] {
        let (status, body) = check(client, customer_id).await;
        assert_eq!(
            (status, problem_type(&body)),
            (404, "urn:mykey:problem:service-id-unknown")
        );
    }
    let (status, _) = check(&bank, "bad id with spaces").await;
    assert_eq!(status, 422);
}
