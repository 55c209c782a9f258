use mykey_platform::PlatformConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// Registers a PPID service of `client`; returns its ID.
pub(crate) async fn ppid_service(w: &World, client: &Client, name: &str) -> i64 {
    let (status, body) = rp(
        w,
        client,
        Method::POST,
        "/v1/rp/ppid-services",
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], name);
    body["id"].as_i64().unwrap()
}

/// The six items of Art 20.1 under the seeded terms.
pub(crate) fn ppid_consent() -> Value {
    json!({
        "items": [
            "ppid.certificate-to-platform",
            "ppid.managed-with-issuance-number",
            "ppid.customer-id-association",
            "ppid.validity-check",
            "ppid.previous-issuance-numbers",
            "ppid.jlis-previous-number-search",
        ],
        "terms_version": "2026-11-01",
    })
}

/// The card authenticates for PPID service `id`, with `consent` if given.
async fn authenticate(w: &World, card: &Card, id: i64, consent: Option<Value>) -> (u16, Value) {
    let (status, c) = post(
        w,
        &format!("/v1/ppid-services/{id}/challenges"),
        None,
        json!({}),
    )
    .await;
    if status != 201 {
        return (status, c);
    }
    assert_eq!(c["purpose"], "authorization");
    let mut body = answer_for(card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    if let Some(consent) = consent {
        body["consent"] = consent;
    }
    post(
        w,
        &format!("/v1/ppid-services/{id}/authentications"),
        None,
        body,
    )
    .await
}

/// A successful authentication's PPID.
pub(crate) async fn ppid_of(w: &World, card: &Card, id: i64, consent: Option<Value>) -> String {
    let (status, body) = authenticate(w, card, id, consent).await;
    assert_eq!(status, 201, "{body}");
    body["ppid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_obtains_a_ppid_that_the_relying_party_redeems_and_associates() {
    let w = world().await;
    let city = relying_party(&w, "Fukuoka City").await;
    let id = ppid_service(&w, &city, "Citizen portal").await;
    let (status, list) = rp(&w, &city, Method::GET, "/v1/rp/ppid-services", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["ppid_services"][0]["id"], id);
    assert_eq!(list["ppid_services"][0]["name"], "Citizen portal");

    // The person sees who asks and the six matters of Art 20.1 with their text.
    let (status, shown) = call(&w, Method::GET, &format!("/v1/ppid-services/{id}"), None).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["relying_party"]["name"], "Fukuoka City");
    assert_eq!(shown["consent"]["terms_version"], "2026-11-01");
    let names: Vec<&str> = shown["consent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(json!(names), ppid_consent()["items"]);

    let card = card(&w).await;
    // No consent, an incomplete one, or an old terms version: refused.
    let mut partial = ppid_consent();
    partial["items"].as_array_mut().unwrap().pop();
    let mut old = ppid_consent();
    old["terms_version"] = json!("2025-01-01");
    for consent in [None, Some(partial), Some(old)] {
        let (status, body) = authenticate(&w, &card, id, consent).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:consent-incomplete"),
            "{body}"
        );
    }
    // A login challenge does not authenticate for a PPID service.
    let nonce = challenge(&w).await;
    let mut body = answer_for(&card, &nonce);
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = ppid_consent();
    let (status, resp) = post(
        &w,
        &format!("/v1/ppid-services/{id}/authentications"),
        None,
        body,
    )
    .await;
    assert_eq!(
        (status, problem_type(&resp)),
        (400, "urn:mykey:problem:challenge-unknown")
    );
    // Nor one fetched for another PPID service of the same relying party (issue 19, finding 8).
    let sibling = ppid_service(&w, &city, "Library").await;
    let (_, c) = post(
        &w,
        &format!("/v1/ppid-services/{sibling}/challenges"),
        None,
        json!({}),
    )
    .await;
    let mut body = answer_for(&card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = ppid_consent();
    let (status, resp) = post(
        &w,
        &format!("/v1/ppid-services/{id}/authentications"),
        None,
        body,
    )
    .await;
    assert_eq!(
        (status, problem_type(&resp)),
        (400, "urn:mykey:problem:challenge-unknown")
    );

    // First time: issued, with a one-time code the relying party redeems once.
    let (status, first) = authenticate(&w, &card, id, Some(ppid_consent())).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["issued"], true);
    assert_eq!(
        first["ppid_service"],
        json!({"id": id, "name": "Citizen portal"})
    );
    let ppid = first["ppid"].as_str().unwrap().to_owned();
    assert_eq!(ppid.len(), 32);
    let code = first["code"].as_str().unwrap();
    let redeem = format!("/v1/rp/ppid-services/{id}/authentications/{code}");
    let (status, redeemed) = rp(&w, &city, Method::POST, &redeem, None).await;
    assert_eq!((status, redeemed), (200, json!({"ppid": ppid})));
    let (status, body) = rp(&w, &city, Method::POST, &redeem, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:ppid-code-invalid")
    );
    // Later: the consent stands, the same PPID is used; an expired code is refused.
    let (status, second) = authenticate(&w, &card, id, None).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(
        (second["ppid"].as_str(), &second["issued"]),
        (Some(ppid.as_str()), &json!(false))
    );
    w.clock.advance(121);
    let late = format!(
        "/v1/rp/ppid-services/{id}/authentications/{}",
        second["code"].as_str().unwrap()
    );
    let (status, body) = rp(&w, &city, Method::POST, &late, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:ppid-code-invalid")
    );

    // Art 20.1.3: the relying party associates its customer ID and looks the PPID up by it.
    let (status, set) = rp(
        &w,
        &city,
        Method::PUT,
        &format!("/v1/rp/ppid-services/{id}/ppids/{ppid}"),
        Some(json!({"customer_id": "K-77"})),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        (set["ppid"].as_str(), set["customer_id"].as_str()),
        (Some(ppid.as_str()), Some("K-77"))
    );
    let (status, found) = rp(
        &w,
        &city,
        Method::GET,
        &format!("/v1/rp/ppid-services/{id}/ppids?customer_id=K-77"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(found["ppids"][0]["ppid"], ppid.as_str());
    let (status, body) = rp(
        &w,
        &city,
        Method::GET,
        &format!("/v1/rp/ppid-services/{id}/ppids?customer_id=K-78"),
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:ppid-unknown")
    );
    // Only issued PPIDs: an unknown or malformed one is not found.
    for other in ["0".repeat(32), "nope".into()] {
        let (status, body) = rp(
            &w,
            &city,
            Method::PUT,
            &format!("/v1/rp/ppid-services/{id}/ppids/{other}"),
            Some(json!({"customer_id": "K-1"})),
        )
        .await;
        assert_eq!(
            (status, problem_type(&body)),
            (404, "urn:mykey:problem:ppid-unknown")
        );
    }

    // The person sees the service, their PPID and their consent; the log tells it all.
    let token = login(&w, &card).await;
    let (status, mine) = call(&w, Method::GET, "/v1/me/ppid-services", Some(&token)).await;
    assert_eq!(status, 200);
    let s = &mine["ppid_services"][0];
    assert_eq!(
        (s["id"].as_i64(), s["name"].as_str()),
        (Some(id), Some("Citizen portal"))
    );
    assert_eq!(s["ppid"], ppid.as_str());
    assert_eq!(s["consent"]["terms_version"], "2026-11-01");
    assert_eq!(s["consent"]["items"].as_array().unwrap().len(), 6);
    assert_eq!(s["consent"]["withdrawn_at"], Value::Null);
    let kinds = log_kinds(&w, &token).await;
    let ours: Vec<&str> = kinds
        .iter()
        .map(String::as_str)
        .filter(|k| k.starts_with("ppid") || k.starts_with("consent"))
        .collect();
    assert_eq!(
        ours,
        [
            "consent.given",
            "ppid.issued",
            "ppid.given",
            "ppid.used",
            "ppid.customer-id-associated",
            // The city's list asked about K-77 (the one that found nothing noted nobody).
            "ppid.read"
        ]
    );
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let read = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ppid.read")
        .unwrap();
    assert_eq!(
        read["detail"],
        json!({"relying_party": "Fukuoka City", "ppid_service": "Citizen portal"}),
        "{read}"
    );
    let (_, verdict) = call(&w, Method::GET, "/v1/me/log/verify", Some(&token)).await;
    assert_eq!(verdict["valid"], true);
    assert_private(&card, &[&shown, &first, &second, &set, &found, &mine]);
}

#[tokio::test(flavor = "multi_thread")]
async fn ppids_are_stable_across_renewal_and_unlinkable_across_services() {
    let w = world().await;
    let city = relying_party(&w, "City").await;
    let bank = relying_party(&w, "Bank").await;
    let portal = ppid_service(&w, &city, "Portal").await;
    let clinic = ppid_service(&w, &city, "Clinic").await;
    let app = ppid_service(&w, &bank, "App").await;
    let old = card(&w).await;
    let a = ppid_of(&w, &old, portal, Some(ppid_consent())).await;
    let b = ppid_of(&w, &old, clinic, Some(ppid_consent())).await;
    let c = ppid_of(&w, &old, app, Some(ppid_consent())).await;
    assert!(
        a != b && b != c && a != c,
        "one PPID per service: {a} {b} {c}"
    );
    // Another person gets another PPID for the same service.
    let stranger = crate::harness::card(&w).await;
    assert_ne!(
        ppid_of(&w, &stranger, portal, Some(ppid_consent())).await,
        a
    );

    // Renewal at J-LIS: the new card, never seen, leads to the same person and the same PPIDs,
    // with no new consent needed.
    let new = renewed(&w, &old).await;
    assert_ne!(new.number, old.number);
    let (status, body) = authenticate(&w, &new, portal, None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["ppid"].as_str(), &body["issued"]),
        (Some(a.as_str()), &json!(false))
    );
    assert_eq!(ppid_of(&w, &new, app, None).await, c);
    let token = login(&w, &new).await;
    let kinds = log_kinds(&w, &token).await;
    assert!(kinds.iter().any(|k| k == "card.renewed"), "{kinds:?}");

    // Revoking the My Key ID does not end PPIDs (Art 15.3 reaches only functions that use it).
    let (status, _) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    let (status, _) = call(&w, Method::DELETE, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 204);
    assert_eq!(ppid_of(&w, &new, clinic, None).await, b);
    assert_private(&new, &[&body]);
    assert_private(&old, &[&body]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_never_sees_or_touches_another_s_ppid_services_or_ppids() {
    let w = world().await;
    let city = relying_party(&w, "City").await;
    let bank = relying_party(&w, "Bank").await;
    let portal = ppid_service(&w, &city, "Portal").await;
    let card = card(&w).await;
    let (status, first) = authenticate(&w, &card, portal, Some(ppid_consent())).await;
    assert_eq!(status, 201);
    let ppid = first["ppid"].as_str().unwrap();
    let code = first["code"].as_str().unwrap();
    let not_found = |body: &Value| problem_type(body) == "urn:mykey:problem:ppid-service-unknown";

    // GET /v1/rp/ppid-services: its own only.
    let (status, list) = rp(&w, &bank, Method::GET, "/v1/rp/ppid-services", None).await;
    assert_eq!((status, list), (200, json!({"ppid_services": []})));
    // POST …/authentications/{code}: another's service is unknown, and the code survives.
    let (status, body) = rp(
        &w,
        &bank,
        Method::POST,
        &format!("/v1/rp/ppid-services/{portal}/authentications/{code}"),
        None,
    )
    .await;
    assert!(status == 404 && not_found(&body), "{status} {body}");
    // PUT …/ppids/{ppid} and GET …/ppids: another's service is unknown.
    let (status, body) = rp(
        &w,
        &bank,
        Method::PUT,
        &format!("/v1/rp/ppid-services/{portal}/ppids/{ppid}"),
        Some(json!({"customer_id": "B-1"})),
    )
    .await;
    assert!(status == 404 && not_found(&body), "{status} {body}");
    for q in ["", "?customer_id=B-1"] {
        let (status, body) = rp(
            &w,
            &bank,
            Method::GET,
            &format!("/v1/rp/ppid-services/{portal}/ppids{q}"),
            None,
        )
        .await;
        assert!(status == 404 && not_found(&body), "{status} {body}");
    }
    // On its own service, another service's PPID was never issued.
    let app = ppid_service(&w, &bank, "App").await;
    let (status, body) = rp(
        &w,
        &bank,
        Method::PUT,
        &format!("/v1/rp/ppid-services/{app}/ppids/{ppid}"),
        Some(json!({"customer_id": "B-1"})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:ppid-unknown")
    );
    let (status, body) = rp(
        &w,
        &bank,
        Method::POST,
        &format!("/v1/rp/ppid-services/{app}/authentications/{code}"),
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:ppid-code-invalid")
    );
    let (_, all) = rp(
        &w,
        &bank,
        Method::GET,
        &format!("/v1/rp/ppid-services/{app}/ppids"),
        None,
    )
    .await;
    assert_eq!(all, json!({"ppids": []}));
    // The owner still redeems its code, and nothing of its PPID changed.
    let (status, redeemed) = rp(
        &w,
        &city,
        Method::POST,
        &format!("/v1/rp/ppid-services/{portal}/authentications/{code}"),
        None,
    )
    .await;
    assert_eq!((status, redeemed["ppid"].as_str()), (200, Some(ppid)));
    let (_, own) = rp(
        &w,
        &city,
        Method::GET,
        &format!("/v1/rp/ppid-services/{portal}/ppids"),
        None,
    )
    .await;
    assert_eq!(own["ppids"][0]["customer_id"], Value::Null);
    // Unknown and malformed service IDs; no credentials at all.
    for id in ["999999", "x"] {
        let (status, body) = rp(
            &w,
            &city,
            Method::GET,
            &format!("/v1/rp/ppid-services/{id}/ppids"),
            None,
        )
        .await;
        assert!(status == 404 && not_found(&body), "{status} {body}");
        let (status, body) = call(&w, Method::GET, &format!("/v1/ppid-services/{id}"), None).await;
        assert!(status == 404 && not_found(&body), "{status} {body}");
    }
    let (status, _) = call(&w, Method::GET, "/v1/rp/ppid-services", None).await;
    assert_eq!(status, 401);
    // A suspended party's services accept no authentications.
    ops(
        &w,
        Method::POST,
        &format!("/v1/ops/relying-parties/{}/suspension", bank.id),
        None,
    )
    .await;
    let (status, body) = authenticate(&w, &card, app, Some(ppid_consent())).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:relying-party-not-approved")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawn_consent_needs_renewing_and_is_logged() {
    let w = world().await;
    let city = relying_party(&w, "City").await;
    let portal = ppid_service(&w, &city, "Portal").await;
    let card = card(&w).await;
    let ppid = ppid_of(&w, &card, portal, Some(ppid_consent())).await;
    let token = login(&w, &card).await;

    // Nobody else withdraws it; an unknown service is not found.
    let other = login(&w, &crate::harness::card(&w).await).await;
    for (who, id) in [
        (&other, portal.to_string()),
        (&token, "999999".into()),
        (&token, "x".into()),
    ] {
        let (status, body) = call(
            &w,
            Method::DELETE,
            &format!("/v1/me/ppid-services/{id}"),
            Some(who),
        )
        .await;
        assert_eq!(
            (status, problem_type(&body)),
            (404, "urn:mykey:problem:ppid-service-unknown")
        );
    }
    let (status, _) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/ppid-services/{portal}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/ppid-services/{portal}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 404);
    let (_, mine) = call(&w, Method::GET, "/v1/me/ppid-services", Some(&token)).await;
    assert!(
        mine["ppid_services"][0]["consent"]["withdrawn_at"].is_string(),
        "{mine}"
    );

    // Further authentications need a new consent, which brings the same PPID back.
    let (status, body) = authenticate(&w, &card, portal, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:consent-incomplete")
    );
    assert_eq!(ppid_of(&w, &card, portal, Some(ppid_consent())).await, ppid);
    let kinds = log_kinds(&w, &token).await;
    let ours: Vec<&str> = kinds
        .iter()
        .map(String::as_str)
        .filter(|k| k.starts_with("ppid") || k.starts_with("consent"))
        .collect();
    assert_eq!(
        ours,
        [
            "consent.given",
            "ppid.issued",
            "consent.withdrawn",
            "consent.given",
            "ppid.used"
        ]
    );
    let (status, _) = call(&w, Method::GET, "/v1/me/ppid-services", None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_ppid_key_no_ppid_is_issued() {
    let config = PlatformConfig {
        operator_token_hash: Some(PlatformConfig::hash_operator_token(OPERATOR_TOKEN)),
        ..PlatformConfig::default()
    };
    let w = world_configured(|_| {}, config).await;
    let city = relying_party(&w, "City").await;
    let portal = ppid_service(&w, &city, "Portal").await;
    let card = card(&w).await;
    let (status, body) = authenticate(&w, &card, portal, Some(ppid_consent())).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:ppid-closed")
    );
}

/// Finding 9: each association of a customer ID with a PPID adds to the person's log, so it is
/// held to a quota per PPID (three, then one every ten minutes) and per relying party.
#[tokio::test(flavor = "multi_thread")]
async fn customer_id_associations_are_held_to_a_quota() {
    let w = world().await;
    let city = relying_party(&w, "Fukuoka City").await;
    let id = ppid_service(&w, &city, "Citizen portal").await;
    let card = card(&w).await;
    let ppid = ppid_of(&w, &card, id, Some(ppid_consent())).await;
    let associate = |customer_id: &'static str| {
        let (w, city, ppid) = (&w, &city, &ppid);
        async move {
            rp(
                w,
                city,
                Method::PUT,
                &format!("/v1/rp/ppid-services/{id}/ppids/{ppid}"),
                Some(json!({"customer_id": customer_id})),
            )
            .await
        }
    };
    for c in ["K-1", "K-2", "K-3"] {
        assert_eq!(associate(c).await.0, 200);
    }
    let (status, body) = associate("K-4").await;
    assert_eq!(
        (status, problem_type(&body)),
        (429, "urn:mykey:problem:quota-exceeded"),
        "{body}"
    );
    let token = login(&w, &card).await;
    let kinds = log_kinds(&w, &token).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "ppid.customer-id-associated")
            .count(),
        3,
        "the refused one left no trace"
    );
    // Ten minutes later, one more.
    w.clock.advance(mykey_platform::PER_LINK_REFILL_SECS);
    assert_eq!(associate("K-4").await.0, 200);
}
