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
    post(w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    for (client, customer_id) in clients {
        link(w, &card, client, customer_id).await;
    }
    (card, token)
}

async fn move_house(w: &World, card: &Card) {
    move_to(w, card, "北海道札幌市中央区北一条西二丁目").await;
}

async fn move_to(w: &World, card: &Card, address: &str) {
    w.jlis
        .change_facts(&ChangeFactsRequest {
            issuance_number: card.number.clone(),
            address: Some(address.into()),
            signature_public_key: B64.encode(key().spki_der()),
            ..ChangeFactsRequest::default()
        })
        .await
        .unwrap();
}

/// J-LIS publishes complete and delta CRLs; one pass of the sweep: (people, events).
async fn sweep(w: &World) -> (u64, u64) {
    w.jlis.publish_crls().await.unwrap();
    let s = pass(w).await;
    (s.people, s.events)
}

/// One pass of the platform's sweep, as `mykey serve` runs it every interval.
async fn pass(w: &World) -> mykey_platform::FactsSweep {
    w.clock.catch_up();
    w.port.sweep_facts(&w.platform).await
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
    let (card, token) = person(&w, &[(&bank, "C-Q")]).await;
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
    assert!(body["revocation_reason"].is_null(), "{body}");

    move_house(&w, &card).await;
    let (status, body) = check(&bank, "C-Q").await;
    assert_eq!(
        (status, body["basic_facts_changed"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_eq!(body["revocation_reason"], "affiliationChanged", "{body}");
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
    // Issue 19, finding 9: a relying party cannot grow the person's log or load J-LIS at will:
    // three checks of a link, then one every ten minutes.
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let before = log["entries"].as_array().unwrap().len();
    let (status, body) = check(&bank, "C-Q").await;
    assert_eq!(
        (status, problem_type(&body)),
        (429, "urn:mykey:problem:quota-exceeded"),
        "{body}"
    );
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    assert_eq!(
        log["entries"].as_array().unwrap().len(),
        before,
        "nothing logged"
    );
    w.clock.advance(mykey_platform::PER_LINK_REFILL_SECS);
    assert_eq!(check(&bank, "C-Q").await.0, 200);
}

/// Issue 19: notices of changes were lost in normal operation — after a told change (the next
/// certificate was never followed), after a renewal (the new card's was not), and when a
/// revocation first appeared in a new complete CRL (only deltas were read after the first
/// pass). Each change now reaches the relying party once, in the pass after J-LIS publishes
/// it, without a restart; the sweep goes on from its position after one.
#[tokio::test(flavor = "multi_thread")]
async fn every_change_reaches_the_relying_party_once_whatever_crl_first_holds_it() {
    let w = world().await;
    let bank = relying_party(&w, "追跡銀行").await;
    let (card, _) = person(&w, &[(&bank, "C-T")]).await;
    let facts_told = || async {
        told(&w, &bank)
            .await
            .into_iter()
            .filter(|(kind, id)| kind == FACTS && id == "C-T")
            .count()
    };
    assert_eq!(
        pass(&w).await.people,
        0,
        "the first pass reads what is published: nothing"
    );

    // First published in a delta CRL.
    move_to(&w, &card, "北海道札幌市中央区北一条西二丁目").await;
    w.jlis.publish_delta_crls().await.unwrap();
    assert_eq!(pass(&w).await.events, 1);
    // A second change: the certificate issued at the first is followed.
    move_to(&w, &card, "北海道旭川市六条通九丁目").await;
    w.jlis.publish_delta_crls().await.unwrap();
    assert_eq!(pass(&w).await.events, 1);
    assert_eq!(facts_told().await, 2);

    // After a renewal, the new card's certificate is followed.
    let renewed = renewed(&w, &card).await;
    login(&w, &renewed).await;
    assert_eq!(pass(&w).await.events, 0, "a renewal is no change of facts");
    move_to(&w, &renewed, "青森県青森市長島一丁目").await;
    // First published in a new complete CRL (its delta starts after it).
    w.jlis.publish_crls().await.unwrap();
    assert_eq!(pass(&w).await.events, 1);

    assert_eq!(facts_told().await, 3);

    // Across a gap in CRL numbers: deltas missed in between hold nothing lost.
    move_to(&w, &renewed, "秋田県秋田市山王四丁目").await;
    for _ in 0..3 {
        w.jlis.publish_delta_crls().await.unwrap();
    }
    assert_eq!(pass(&w).await.events, 1);
    // Two complete CRLs missed: the newest is read.
    move_to(&w, &renewed, "岩手県盛岡市内丸").await;
    w.jlis.publish_crls().await.unwrap();
    w.jlis.publish_crls().await.unwrap();
    assert_eq!(pass(&w).await.events, 1);
    assert_eq!(pass(&w).await.events, 0);
    assert_eq!(facts_told().await, 5, "each change told once");
    // Renewed, and the new card's facts changed, before any pass: found all the same.
    let renewed = self::renewed(&w, &renewed).await;
    login(&w, &renewed).await;
    move_to(&w, &renewed, "山形県山形市松波二丁目").await;
    w.jlis.publish_delta_crls().await.unwrap();
    pass(&w).await;
    assert_eq!(pass(&w).await.events, 0);
    assert_eq!(facts_told().await, 6);

    // A new port and platform over the same store (a restart) go on from the kept position:
    // the complete CRL, already read, is not read again.
    let port = std::sync::Arc::new(
        mykey_server::JlisPort::connect(
            &w.jlis_config.base_url,
            std::time::Duration::from_secs(2),
            w.clock.clone(),
        )
        .await
        .unwrap(),
    );
    let again = mykey_platform::Platform::new(
        w.platform.store().clone(),
        port.clone(),
        w.clock.clone(),
        std::sync::Arc::new(mykey_platform::SystemRng),
        port.anchors(),
        mykey_platform::PlatformConfig::default(),
    );
    assert_eq!(
        port.sweep_facts(&again).await,
        mykey_platform::FactsSweep::default()
    );
    move_to(&w, &renewed, "宮城県仙台市青葉区本町三丁目").await;
    w.jlis.publish_delta_crls().await.unwrap();
    w.clock.catch_up();
    assert_eq!(port.sweep_facts(&again).await.events, 1);
    assert_eq!(facts_told().await, 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signature_certificate_revoked_for_another_reason_is_told_with_j_lis_s_reason() {
    let w = world().await;
    let bank = relying_party(&w, "紛失銀行").await;
    let (card, token) = person(&w, &[(&bank, "C-L")]).await;
    // The card is lost: J-LIS revokes its signature certificate for key compromise.
    let signature = card.signature.as_deref().unwrap();
    let serial = mykey_pki::SignatureCertificate::from_der(signature)
        .unwrap()
        .serial_number();
    w.jlis
        .revoke(&mykey_jlis::api::RevokeRequest {
            serial: serial.to_string(),
            reason: "keyCompromise".into(),
        })
        .await
        .unwrap();
    assert_eq!(sweep(&w).await, (1, 1));
    let (status, body) = rp(&w, &bank, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let sets: Vec<_> = body["sets"].as_object().unwrap().values().collect();
    assert_eq!(sets.len(), 1, "{body}");
    let (claims, kind) = set_claims(sets[0].as_str().unwrap());
    assert_eq!(kind, "urn:mykey:secevent:signature-certificate-revoked");
    assert_eq!(claims["sub_id"]["id"], "C-L");
    assert_eq!(
        claims["events"][&kind]["revocation_reason"],
        "keyCompromise"
    );
    // The person's log says who was told, and why.
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let shared = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "facts-change.shared")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(
        shared["detail"]["revocation_reason"], "keyCompromise",
        "{shared}"
    );
    assert_eq!(shared["detail"]["relying_parties"], json!(["紛失銀行"]));
    // Told once.
    assert_eq!(sweep(&w).await, (0, 0));
}
