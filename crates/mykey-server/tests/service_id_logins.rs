//! Logging in by Service ID through the REST API, and the Terms' own route for registering a
//! link: the relying party applies with the My Key ID the person gave it (Art 17.1; issue 21.1).

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// The person's client logs in by Service ID at `client` with `card` (a link request and the
/// consent with it, if given): the challenge, then the authentication's answer.
async fn rest_login(
    w: &World,
    client: &Client,
    card: &Card,
    link: Option<(&str, Value)>,
) -> (u16, Value) {
    let base = format!("/v1/service-id-logins/{}", client.client_id);
    let asked = match &link {
        Some((id, _)) => json!({"link_request": id}),
        None => json!({}),
    };
    let (status, c) = post(w, &format!("{base}/challenges"), None, asked).await;
    if status != 201 {
        return (status, c);
    }
    let mut body = answer_for(card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    if let Some((id, consent)) = link {
        body["link_request"] = json!(id);
        body["consent"] = consent;
    }
    post(w, &format!("{base}/authentications"), None, body).await
}

async fn redeem(w: &World, client: &Client, code: &str) -> (u16, Value) {
    rp(
        w,
        client,
        Method::POST,
        &format!("/v1/rp/service-id-logins/{code}"),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_back_office_logs_a_linked_customer_in_with_the_card_and_a_one_time_code() {
    let w = world().await;
    let bank = relying_party(&w, "Chikuzen Bank").await;
    let other = relying_party(&w, "Other Shop").await;
    let (card, token) = linked(&w, &bank, "ACCT-1").await;

    let (status, answer) = rest_login(&w, &bank, &card, None).await;
    assert_eq!(status, 201, "{answer}");
    // The terminal that relayed the card's answer is not told the customer ID.
    assert!(!answer.to_string().contains("ACCT-1"), "{answer}");
    assert_eq!(answer["linked"], false);
    assert_eq!(answer["relying_party"]["name"], "Chikuzen Bank");
    let code = answer["code"].as_str().unwrap();
    // Another party cannot redeem it, and trying does not spend it.
    let (status, body) = redeem(&w, &other, code).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:login-code-invalid")
    );
    let (status, got) = redeem(&w, &bank, code).await;
    assert_eq!((status, got), (200, json!({"customer_id": "ACCT-1"})));
    let (status, body) = redeem(&w, &bank, code).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:login-code-invalid")
    );
    let (status, _) = redeem(&w, &bank, "nonsense").await;
    assert_eq!(status, 400);
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let login = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["kind"] == "login")
        .unwrap();
    assert_eq!(
        login["detail"],
        json!({"purpose": "service-id-login", "relying_party": "Chikuzen Bank", "customer_id": "ACCT-1"})
    );
    assert_private(&card, &[&answer]);

    // A card holder with no Service ID there is refused, and nothing is written.
    let stranger = super::harness::card(&w).await;
    let (status, body) = rest_login(&w, &other, &card, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:service-id-required")
    );
    let (status, body) = rest_login(&w, &bank, &stranger, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:service-id-required")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rest_login_links_in_the_same_flow_and_refuses_bad_input() {
    let w = world().await;
    let bank = relying_party(&w, "Chikuzen Bank").await;
    let other = relying_party(&w, "Other Shop").await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    let (status, _) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    let request = link_request(&w, &bank, "ACCT-2").await;
    let base = format!("/v1/service-id-logins/{}", bank.client_id);

    // Refusals first; none writes anything.
    let (status, body) = rest_login(
        &w,
        &bank,
        &card,
        Some((
            &request,
            json!({"items": [], "terms_version": "2026-11-01"}),
        )),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:consent-incomplete")
    );
    let foreign = link_request(&w, &other, "X-1").await;
    let (status, body) = rest_login(&w, &bank, &card, Some((&foreign, full_consent()))).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:link-request-unknown")
    );
    for (path, body, want) in [
        (
            "/v1/service-id-logins/no-such-client/challenges".to_owned(),
            json!({}),
            (404, "urn:mykey:problem:relying-party-unknown"),
        ),
        (
            format!("{base}/challenges"),
            json!({"link_request": "x"}),
            (404, "urn:mykey:problem:link-request-unknown"),
        ),
        (
            format!("{base}/challenges"),
            json!({"extra": 1}),
            (422, "urn:mykey:problem:invalid-request"),
        ),
        (
            format!("{base}/challenges"),
            json!([1]),
            (422, "urn:mykey:problem:invalid-request"),
        ),
        (
            format!("{base}/authentications"),
            json!({"nonce": "x", "certificate": "x", "signature": "x"}),
            (422, "urn:mykey:problem:invalid-request"),
        ),
    ] {
        let (status, got) = post(&w, &path, None, body.clone()).await;
        assert_eq!((status, problem_type(&got)), want, "{path} {body}: {got}");
    }
    // An answer fetched for a plain login links nothing: the challenge is bound to the request.
    let (_, c) = post(&w, &format!("{base}/challenges"), None, json!({})).await;
    let mut body = answer_for(&card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["link_request"] = json!(request);
    body["consent"] = full_consent();
    let (status, got) = post(&w, &format!("{base}/authentications"), None, body).await;
    assert_eq!(
        (status, problem_type(&got)),
        (400, "urn:mykey:problem:challenge-unknown")
    );
    // Consent without a link request, and a link request without consent.
    let (_, c) = post(&w, &format!("{base}/challenges"), None, json!({})).await;
    let mut body = answer_for(&card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = full_consent();
    let (status, _) = post(&w, &format!("{base}/authentications"), None, body.clone()).await;
    assert_eq!(status, 422);
    body.as_object_mut().unwrap().remove("consent");
    body["link_request"] = json!(request);
    let (status, got) = post(&w, &format!("{base}/authentications"), None, body).await;
    assert_eq!(
        (status, problem_type(&got)),
        (422, "urn:mykey:problem:consent-incomplete")
    );
    let (_, list) = rp(&w, &bank, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(list["service_ids"], json!([]));

    let (status, answer) = rest_login(&w, &bank, &card, Some((&request, full_consent()))).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["linked"], true);
    let (status, got) = redeem(&w, &bank, answer["code"].as_str().unwrap()).await;
    assert_eq!((status, got["customer_id"].as_str()), (200, Some("ACCT-2")));
    // Logged in again later, without the request.
    let (status, again) = rest_login(&w, &bank, &card, None).await;
    assert_eq!(status, 201);
    let (status, got) = redeem(&w, &bank, again["code"].as_str().unwrap()).await;
    assert_eq!((status, got["customer_id"].as_str()), (200, Some("ACCT-2")));
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_handed_out_before_a_link_ends_logs_anyone_in_by_it_after() {
    let w = world().await;
    let bank = relying_party(&w, "Chikuzen Bank").await;
    // Withdrawn by the person: the code given just before redeems nothing.
    let (card, token) = linked(&w, &bank, "ACCT-W").await;
    let (_, answer) = rest_login(&w, &bank, &card, None).await;
    withdraw_first_link(&w, &token).await;
    let (status, body) = redeem(&w, &bank, answer["code"].as_str().unwrap()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:login-code-invalid")
    );
    // Removed by the relying party: the same.
    let (card, _) = linked(&w, &bank, "ACCT-R").await;
    let (_, answer) = rest_login(&w, &bank, &card, None).await;
    let (status, _) = rp(&w, &bank, Method::DELETE, "/v1/rp/service-ids/ACCT-R", None).await;
    assert_eq!(status, 204);
    let (status, _) = redeem(&w, &bank, answer["code"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    // The My Key ID revoked: the same.
    let (card, token) = linked(&w, &bank, "ACCT-M").await;
    let (_, answer) = rest_login(&w, &bank, &card, None).await;
    let (status, _) = call(&w, Method::DELETE, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 204);
    let (status, _) = redeem(&w, &bank, answer["code"].as_str().unwrap()).await;
    assert_eq!(status, 400);
}

/// Applies for a Service ID at `client` with `my_key_id` for `customer_id`.
async fn apply(
    w: &World,
    client: &Client,
    my_key_id: &str,
    customer_id: &str,
    consent: Value,
) -> (u16, Value) {
    rp(
        w,
        client,
        Method::POST,
        "/v1/rp/service-ids",
        Some(json!({"my_key_id": my_key_id, "customer_id": customer_id, "consent": consent})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_applies_with_the_my_key_id_the_person_gave_it() {
    let w = world().await;
    let city = relying_party(&w, "Fukuoka City").await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    let (status, created) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    let my_key_id = created["id"].as_str().unwrap().to_owned();

    let (status, linked) = apply(&w, &city, &my_key_id, "RES-1", full_consent()).await;
    assert_eq!(status, 201, "{linked}");
    assert_eq!(linked.as_object().unwrap().len(), 2, "{linked}");
    assert_eq!(linked["customer_id"], "RES-1");
    assert!(!linked.to_string().contains(&my_key_id));
    // The person sees it at once, made with their My Key ID, and the consent the city obtained.
    let (_, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    let link = &mine["service_ids"][0];
    assert_eq!(
        (link["customer_id"].as_str(), link["route"].as_str()),
        (Some("RES-1"), Some("my-key-id"))
    );
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let made = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["kind"] == "service-id.linked")
        .unwrap();
    assert_eq!(made["detail"]["via"], "my-key-id");
    // The portal says who applied with it.
    let mut browser = crate::portal::Browser::new();
    let html = crate::portal::portal_login(&w, &mut browser, &card).await;
    assert!(
        html.contains("RES-1")
            && html.contains("data-via=\"my-key-id\"")
            && html.contains("applied for by the relying party with the My Key ID you gave it"),
        "{html}"
    );
    // The city logs the person in by that Service ID like any other.
    let (status, answer) = rest_login(&w, &city, &card, None).await;
    assert_eq!(status, 201);
    let (_, got) = redeem(&w, &city, answer["code"].as_str().unwrap()).await;
    assert_eq!(got["customer_id"], "RES-1");

    // Refusals: none writes anything, and an unknown My Key ID is one answer. A customer ID
    // already linked is refused before the My Key ID is looked at: a live one and a made-up one
    // get the same answer.
    for id in [my_key_id.as_str(), "ZZZZ9998"] {
        let (status, body) = apply(&w, &city, id, "RES-1", full_consent()).await;
        assert_eq!(
            (status, problem_type(&body)),
            (409, "urn:mykey:problem:service-id-exists"),
            "{id}"
        );
    }
    for (id, customer, consent, want) in [
        (
            "ZZZZ9999",
            "RES-2",
            full_consent(),
            (404, "urn:mykey:problem:no-my-key-id"),
        ),
        (
            "abc",
            "RES-2",
            full_consent(),
            (422, "urn:mykey:problem:invalid-request"),
        ),
        (
            &my_key_id,
            "",
            full_consent(),
            (422, "urn:mykey:problem:invalid-request"),
        ),
        (
            &my_key_id,
            "RES-2",
            json!({"items": ["service-id.link"], "terms_version": "2026-11-01"}),
            (422, "urn:mykey:problem:consent-incomplete"),
        ),
    ] {
        let (status, body) = apply(&w, &city, id, customer, consent).await;
        assert_eq!(
            (status, problem_type(&body)),
            want,
            "{id} {customer}: {body}"
        );
    }
    let (status, _) = rp(
        &w,
        &city,
        Method::POST,
        "/v1/rp/service-ids",
        Some(json!({"my_key_id": my_key_id})),
    )
    .await;
    assert_eq!(status, 422);
    let (_, list) = rp(&w, &city, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(list["service_ids"].as_array().unwrap().len(), 1);

    // The person withdraws: the city is told, with its customer ID only.
    let id = link["id"].as_i64().unwrap();
    let (status, _) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/service-ids/{id}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 204);
    let (_, got) = rp(
        &w,
        &city,
        Method::POST,
        "/v1/rp/events",
        Some(json!({"returnImmediately": true})),
    )
    .await;
    let sets: Vec<(Value, String)> = got["sets"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| set_claims(s.as_str().unwrap()))
        .collect();
    let ended = sets
        .iter()
        .find(|(_, kind)| kind == "urn:mykey:secevent:service-id-ended")
        .unwrap();
    assert_eq!(
        ended.0["sub_id"],
        json!({"format": "opaque", "id": "RES-1"})
    );
    assert!(!got.to_string().contains(&my_key_id));
    // The withdrawal stands: the city cannot apply again with the My Key ID it holds (only
    // the person, with the card, links there again), and it cannot tell why.
    let (status, body) = apply(&w, &city, &my_key_id, "RES-1", full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:no-my-key-id")
    );
    let (_, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    assert_eq!(mine["service_ids"], json!([]));

    // A changed My Key ID's old value links no one (asked by another party, whose quota for
    // it is untouched).
    let (status, _) = call(&w, Method::PUT, "/v1/me/my-key-id", Some(&token)).await;
    assert!(status == 200 || status == 201, "{status}");
    let town = relying_party(&w, "Fukuoka Town").await;
    let (status, body) = apply(&w, &town, &my_key_id, "RES-3", full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:no-my-key-id")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn applications_with_a_my_key_id_are_held_to_a_quota() {
    let w = world().await;
    let city = relying_party(&w, "Fukuoka City").await;
    // Guessing one My Key ID: three tries, then one every ten minutes.
    for i in 0..3 {
        let (status, _) = apply(&w, &city, "AAAA0000", &format!("G-{i}"), full_consent()).await;
        assert_eq!(status, 404);
    }
    let (status, body) = apply(&w, &city, "AAAA0000", "G-3", full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (429, "urn:mykey:problem:quota-exceeded")
    );
    // Guessing many: twenty at once per relying party.
    let mut limited = false;
    for i in 0..20 {
        let (status, _) = apply(&w, &city, &format!("BBBB{i:04}"), "G", full_consent()).await;
        limited |= status == 429;
    }
    assert!(limited);
    // Another relying party is not held up.
    let shop = relying_party(&w, "Shop").await;
    let (status, _) = apply(&w, &shop, "CCCC0000", "G", full_consent()).await;
    assert_eq!(status, 404);
    // Colluding relying parties share one budget per My Key ID: ten, then one every ten
    // minutes.
    let mut tries = 0;
    for i in 0..5 {
        let party = relying_party(&w, &format!("Colluder {i}")).await;
        for _ in 0..3 {
            let (status, _) = apply(&w, &party, "DDDD0000", "G", full_consent()).await;
            if status == 429 {
                assert_eq!(tries, 10);
                return;
            }
            assert_eq!(status, 404);
            tries += 1;
        }
    }
    panic!("fifteen tries on one My Key ID went through");
}
