use reqwest::Method;
use serde_json::json;

use crate::harness::*;

/// A person with a session and an active My Key ID.
async fn person_with_my_key_id(w: &World) -> (Card, String) {
    let card = card(w).await;
    let token = login(w, &card).await;
    let (status, body) = post(w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201, "{body}");
    (card, token)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_links_a_customer_id_with_the_card_and_consent() {
    let w = world().await;
    let city = relying_party(&w, "Fukuoka City").await;
    let (card, token) = person_with_my_key_id(&w).await;

    let (status, opened) = rp(
        &w,
        &city,
        Method::POST,
        "/v1/rp/service-id-requests",
        Some(json!({"customer_id": "C-0001"})),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    let id = opened["request_id"].as_str().unwrap();
    assert_eq!(opened["link_url"], format!("/v1/link-requests/{id}"));

    // The person sees who asks, for what, and what they are asked to agree to (no session).
    let (status, shown) = call(&w, Method::GET, &format!("/v1/link-requests/{id}"), None).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        shown["relying_party"],
        json!({
            "name": "Fukuoka City",
            "kind": "public-authority",
            "contact": "窓口 092-000-0000",
            "privacy_policy_url": "https://rp.example/privacy",
            "terms_url": "https://rp.example/terms",
        })
    );
    assert_eq!(shown["customer_id"], "C-0001");
    assert_eq!(shown["consent"]["terms_version"], "2026-11-01");
    let items: Vec<&str> = shown["consent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        items,
        [
            "service-id.link",
            "service-id.facts-change-check",
            "service-id.inquiries-to-relying-party"
        ]
    );
    assert!(
        shown["consent"]["items"][1]["text"]
            .as_str()
            .unwrap()
            .contains("J-LIS")
    );

    let (status, linked) = approve(&w, &card, id, full_consent()).await;
    assert_eq!(status, 201, "{linked}");
    assert_eq!(linked["customer_id"], "C-0001");
    assert_eq!(linked["relying_party"]["name"], "Fukuoka City");
    // Used once.
    let (status, body) = approve(&w, &card, id, full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:link-request-answered")
    );

    // The relying party lists and looks up its link; the person sees it with the consent.
    let (status, list) = rp(&w, &city, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["service_ids"][0]["customer_id"], "C-0001");
    let (status, one) = rp(
        &w,
        &city,
        Method::GET,
        "/v1/rp/service-ids?customer_id=C-0001",
        None,
    )
    .await;
    assert_eq!(
        (status, one["service_ids"].as_array().unwrap().len()),
        (200, 1)
    );
    let (status, body) = rp(
        &w,
        &city,
        Method::GET,
        "/v1/rp/service-ids?customer_id=C-9",
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:service-id-unknown")
    );
    let (status, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    assert_eq!(status, 200);
    let link = &mine["service_ids"][0];
    assert_eq!(link["relying_party"]["name"], "Fukuoka City");
    assert_eq!(link["customer_id"], "C-0001");
    assert_eq!(link["consent"]["terms_version"], "2026-11-01");
    assert_eq!(link["consent"]["items"].as_array().unwrap().len(), 3);

    // The log says what was agreed to and what was linked, and still verifies.
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let entries = log["entries"].as_array().unwrap();
    let given = entries
        .iter()
        .find(|e| e["kind"] == "consent.given")
        .unwrap();
    assert_eq!(given["detail"]["relying_party"], "Fukuoka City");
    assert_eq!(given["detail"]["terms_version"], "2026-11-01");
    let made = entries
        .iter()
        .find(|e| e["kind"] == "service-id.linked")
        .unwrap();
    assert_eq!(
        made["detail"],
        json!({"relying_party": "Fukuoka City", "customer_id": "C-0001"})
    );
    let (_, verdict) = call(&w, Method::GET, "/v1/me/log/verify", Some(&token)).await;
    assert_eq!(verdict["valid"], true);

    assert_private(&card, &[&opened, &shown, &linked, &list, &one, &mine]);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_approvals_store_nothing() {
    let w = world().await;
    let city = relying_party(&w, "City").await;
    let bank = relying_party(&w, "Bank").await;
    let (card, token) = person_with_my_key_id(&w).await;
    let before = log_kinds(&w, &token).await;
    let id = link_request(&w, &city, "C-1").await;

    // Consent: a missing item, an extra one, a duplicate, an old terms version.
    let mut consents = Vec::new();
    for items in [
        json!(["service-id.link", "service-id.facts-change-check"]),
        json!([
            "service-id.link",
            "service-id.facts-change-check",
            "service-id.inquiries-to-relying-party",
            "ppid.basic-facts"
        ]),
        json!([
            "service-id.link",
            "service-id.link",
            "service-id.facts-change-check"
        ]),
    ] {
        consents.push(json!({"items": items, "terms_version": "2026-11-01"}));
    }
    let mut old = full_consent();
    old["terms_version"] = json!("2025-01-01");
    consents.push(old);
    for consent in consents {
        let (status, body) = approve(&w, &card, &id, consent).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:consent-incomplete")
        );
    }
    // A login challenge, or one issued for another relying party, does not approve a link.
    let nonce = challenge(&w).await;
    let mut body = answer_for(&card, &nonce);
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = full_consent();
    let (status, resp) = post(&w, &format!("/v1/link-requests/{id}/approval"), None, body).await;
    assert_eq!(
        (status, problem_type(&resp)),
        (400, "urn:mykey:problem:challenge-unknown")
    );
    let other = link_request(&w, &bank, "B-1").await;
    let (_, c) = post(
        &w,
        &format!("/v1/link-requests/{other}/challenges"),
        None,
        json!({}),
    )
    .await;
    let mut body = answer_for(&card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = full_consent();
    let (status, resp) = post(&w, &format!("/v1/link-requests/{id}/approval"), None, body).await;
    assert_eq!(
        (status, problem_type(&resp)),
        (400, "urn:mykey:problem:challenge-unknown")
    );
    // Issue 19, finding 8: nor one fetched for another request of the same relying party (the
    // card holder meant to approve that one, not this).
    let sibling = link_request(&w, &city, "C-2").await;
    let (_, c) = post(
        &w,
        &format!("/v1/link-requests/{sibling}/challenges"),
        None,
        json!({}),
    )
    .await;
    let mut body = answer_for(&card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = full_consent();
    let (status, resp) = post(&w, &format!("/v1/link-requests/{id}/approval"), None, body).await;
    assert_eq!(
        (status, problem_type(&resp)),
        (400, "urn:mykey:problem:challenge-unknown")
    );

    // A card holder without a My Key ID (Art 17.1): refused, and no person is made for them.
    let stranger = crate::harness::card(&w).await;
    let (status, body) = approve(&w, &stranger, &id, full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:no-my-key-id"),
        "{body}"
    );
    let n: mykey_pki::IssuanceNumber = stranger.number.parse().unwrap();
    assert_eq!(
        w.platform
            .store()
            .person_by_issuance_number(n)
            .await
            .unwrap(),
        None
    );

    // The customer ID is already linked to someone else.
    let (other_card, _) = person_with_my_key_id(&w).await;
    let first = link_request(&w, &city, "C-1").await;
    let (status, _) = approve(&w, &other_card, &first, full_consent()).await;
    assert_eq!(status, 201);
    let (status, body) = approve(&w, &card, &id, full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:service-id-exists")
    );

    // Nothing of the refused attempts was stored for the person.
    assert_eq!(log_kinds(&w, &token).await, before);
    let (_, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    assert_eq!(mine, json!({"service_ids": []}));

    // Expired; declined; unknown; malformed.
    let late = link_request(&w, &city, "C-2").await;
    w.clock.advance(601);
    for path in [
        format!("/v1/link-requests/{late}"),
        format!("/v1/link-requests/{late}/challenges"),
    ] {
        let method = if path.ends_with("challenges") {
            Method::POST
        } else {
            Method::GET
        };
        let (status, body) = call(&w, method, &path, None).await;
        assert_eq!(
            (status, problem_type(&body)),
            (410, "urn:mykey:problem:link-request-expired")
        );
    }
    let declined = link_request(&w, &city, "C-3").await;
    let (status, _) = call(
        &w,
        Method::POST,
        &format!("/v1/link-requests/{declined}/refusal"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = approve(&w, &card, &declined, full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:link-request-answered")
    );
    for bad in ["AAAAAAAAAAAAAAAAAAAAAA", "nope"] {
        let (status, body) = call(&w, Method::GET, &format!("/v1/link-requests/{bad}"), None).await;
        assert_eq!(
            (status, problem_type(&body)),
            (404, "urn:mykey:problem:link-request-unknown")
        );
    }
    // A suspended relying party's open requests can no longer be approved.
    let pending = link_request(&w, &city, "C-4").await;
    ops(
        &w,
        Method::POST,
        &format!("/v1/ops/relying-parties/{}/suspension", city.id),
        None,
    )
    .await;
    let (status, body) = approve(&w, &card, &pending, full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:relying-party-not-approved")
    );
    assert_eq!(log_kinds(&w, &token).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_never_sees_or_changes_another_s_links() {
    let w = world().await;
    let city = relying_party(&w, "City").await;
    let bank = relying_party(&w, "Bank").await;
    let (card, token) = person_with_my_key_id(&w).await;
    let id = link_request(&w, &city, "C-1").await;
    assert_eq!(approve(&w, &card, &id, full_consent()).await.0, 201);

    // GET /v1/rp/service-ids: its own links only, and no look-up of another's customer ID.
    let (status, list) = rp(&w, &bank, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!((status, list), (200, json!({"service_ids": []})));
    let (status, body) = rp(
        &w,
        &bank,
        Method::GET,
        "/v1/rp/service-ids?customer_id=C-1",
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:service-id-unknown")
    );
    // DELETE /v1/rp/service-ids/{customer_id}: another's link is not found, and stays.
    let (status, body) = rp(&w, &bank, Method::DELETE, "/v1/rp/service-ids/C-1", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:service-id-unknown")
    );
    let (_, list) = rp(&w, &city, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(list["service_ids"].as_array().unwrap().len(), 1);
    // POST /v1/rp/service-id-requests: the same customer ID at another party is another link,
    // shown to the person under that party's name, and it leaves the first one alone.
    let theirs = link_request(&w, &bank, "C-1").await;
    let (_, shown) = call(
        &w,
        Method::GET,
        &format!("/v1/link-requests/{theirs}"),
        None,
    )
    .await;
    assert_eq!(shown["relying_party"]["name"], "Bank");
    assert_eq!(approve(&w, &card, &theirs, full_consent()).await.0, 201);
    let (_, city_list) = rp(&w, &city, Method::GET, "/v1/rp/service-ids", None).await;
    let (_, bank_list) = rp(&w, &bank, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(city_list["service_ids"].as_array().unwrap().len(), 1);
    assert_eq!(bank_list["service_ids"].as_array().unwrap().len(), 1);
    assert_private(&card, &[&city_list, &bank_list, &shown]);
    // Removing its own leaves the other's.
    let (status, _) = rp(&w, &bank, Method::DELETE, "/v1/rp/service-ids/C-1", None).await;
    assert_eq!(status, 204);
    let (_, city_list) = rp(
        &w,
        &city,
        Method::GET,
        "/v1/rp/service-ids?customer_id=C-1",
        None,
    )
    .await;
    assert_eq!(city_list["service_ids"][0]["customer_id"], "C-1");
    // A person cannot withdraw someone else's link.
    let (_, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    let link_id = mine["service_ids"][0]["id"].as_i64().unwrap();
    let (_, other) = person_with_my_key_id(&w).await;
    let (status, body) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/service-ids/{link_id}"),
        Some(&other),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:service-id-unknown")
    );
    let (_, mine_after) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    assert_eq!(mine_after, mine);
}

#[tokio::test(flavor = "multi_thread")]
async fn withdrawal_removal_and_revocation_end_links_at_once_and_are_logged() {
    let w = world().await;
    let city = relying_party(&w, "City").await;
    let (card, token) = person_with_my_key_id(&w).await;
    let link = |customer: &'static str| {
        let (w, city, card) = (&w, &city, &card);
        async move {
            let id = link_request(w, city, customer).await;
            let (status, body) = approve(w, card, &id, full_consent()).await;
            assert_eq!(status, 201, "{body}");
            body["id"].as_i64().unwrap()
        }
    };
    let count = |c: &'static str| {
        let (w, city) = (&w, &city);
        async move {
            let (_, l) = rp(
                w,
                city,
                Method::GET,
                &format!("/v1/rp/service-ids?customer_id={c}"),
                None,
            )
            .await;
            l["service_ids"].as_array().map_or(0, Vec::len)
        }
    };

    // The person withdraws: the link ends at once.
    let id = link("C-1").await;
    let (status, _) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/service-ids/{id}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(count("C-1").await, 0);
    let (status, _) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/service-ids/{id}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 404);
    // The relying party removes.
    link("C-1").await;
    let (status, _) = rp(&w, &city, Method::DELETE, "/v1/rp/service-ids/C-1", None).await;
    assert_eq!(status, 204);
    assert_eq!(count("C-1").await, 0);
    // Revoking the My Key ID ends every link (Art 15.3).
    link("C-1").await;
    link("C-2").await;
    let (status, _) = call(&w, Method::DELETE, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 204);
    assert_eq!((count("C-1").await, count("C-2").await), (0, 0));
    let (_, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    assert_eq!(mine, json!({"service_ids": []}));

    let kinds = log_kinds(&w, &token).await;
    let tail: Vec<&str> = kinds
        .iter()
        .skip_while(|k| *k != "consent.given")
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "consent.given",
            "service-id.linked",
            "consent.withdrawn",
            "service-id.withdrawn",
            "jlis.query",
            "consent.given",
            "service-id.linked",
            "service-id.removed",
            "jlis.query",
            "consent.given",
            "service-id.linked",
            "jlis.query",
            "consent.given",
            "service-id.linked",
            "my-key-id.revoked",
            "service-id.ended",
            "service-id.ended",
        ]
    );
    let (_, verdict) = call(&w, Method::GET, "/v1/me/log/verify", Some(&token)).await;
    assert_eq!(verdict["valid"], true);
    // Without a session, no one reads or withdraws links.
    let (status, _) = call(&w, Method::GET, "/v1/me/service-ids", None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewed_card_approves_a_link_for_the_same_person() {
    let w = world().await;
    let city = relying_party(&w, "City").await;
    let (old, token) = person_with_my_key_id(&w).await;
    let new = renewed(&w, &old).await;
    // The new number has never been seen: J-LIS leads it to the person, who has a My Key ID.
    let id = link_request(&w, &city, "C-1").await;
    let (status, linked) = approve(&w, &new, &id, full_consent()).await;
    assert_eq!(status, 201, "{linked}");
    let (_, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    assert_eq!(mine["service_ids"][0]["customer_id"], "C-1");
    let kinds = log_kinds(&w, &token).await;
    assert!(kinds.iter().any(|k| k == "card.renewed"), "{kinds:?}");
    assert_private(&new, &[&linked, &mine]);
    assert_private(&old, &[&linked, &mine]);
}

/// A relying party reading its links is in each linked person's log — once a day per relying
/// party, however often it lists, and only for the people the read covered.
#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_reading_a_link_is_in_the_person_s_log_once_a_day() {
    let w = world().await;
    let bank = relying_party(&w, "参照銀行").await;
    let (_, taro) = linked(&w, &bank, "C-T").await;
    let (_, hanako) = linked(&w, &bank, "C-H").await;
    let reads = |token: String| {
        let w = &w;
        async move {
            log_kinds(w, &token)
                .await
                .iter()
                .filter(|k| *k == "service-id.read")
                .count()
        }
    };
    // One customer asked about: only that person is told.
    let (status, _) = rp(
        &w,
        &bank,
        Method::GET,
        "/v1/rp/service-ids?customer_id=C-T",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (reads(taro.clone()).await, reads(hanako.clone()).await),
        (1, 0)
    );
    // The whole list, three times: each person told once today.
    for _ in 0..3 {
        let (status, _) = rp(&w, &bank, Method::GET, "/v1/rp/service-ids", None).await;
        assert_eq!(status, 200);
    }
    assert_eq!(
        (reads(taro.clone()).await, reads(hanako.clone()).await),
        (1, 1)
    );
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&taro)).await;
    let read = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "service-id.read")
        .unwrap();
    assert_eq!(read["detail"], json!({"relying_party": "参照銀行"}));
    // (The next day's read is told again: the store's conformance story shows it.)
}
