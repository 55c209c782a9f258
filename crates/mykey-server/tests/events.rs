//! Events for relying parties: written with the change that causes them, polled (RFC 8936) as
//! Security Event Tokens the platform's published keys verify, about the relying party's own
//! identifier for the person only, delivered until acknowledged.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;
use crate::ppids::{ppid_consent, ppid_of, ppid_service};

/// A poll by `client`, acknowledging `ack`: the SETs by `jti`, and `moreAvailable`.
async fn poll(w: &World, client: &Client, body: Value) -> (serde_json::Map<String, Value>, bool) {
    let (status, got) = rp(w, client, Method::POST, "/v1/rp/events", Some(body)).await;
    assert_eq!(status, 200, "{got}");
    (
        got["sets"].as_object().unwrap().clone(),
        got["moreAvailable"].as_bool().unwrap(),
    )
}

/// A SET checked against the platform's published JWK Set: its claims.
async fn verified(w: &World, client: &Client, set: &str) -> Value {
    let jwks: JwkSet = w
        .http
        .get(format!("{}/oidc/jwks", w.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(set).unwrap();
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    let key = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut v = Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[client.client_id.as_str()]);
    v.set_issuer(&[w.platform.issuer()]);
    v.set_required_spec_claims(&["iss", "aud"]);
    v.validate_exp = false; // a SET has no exp (RFC 8417 §2.2)
    jsonwebtoken::decode::<Value>(set, &DecodingKey::from_jwk(key).unwrap(), &v)
        .unwrap()
        .claims
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawn_link_is_told_to_its_relying_party_until_acknowledged() {
    let w = world().await;
    let bank = relying_party(&w, "通知銀行").await;
    let other = relying_party(&w, "他社").await;
    let (_card, token) = linked(&w, &bank, "C-1").await;
    assert!(
        poll(&w, &bank, json!({})).await.0.is_empty(),
        "a new link is no event"
    );

    let (_, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    let link = mine["service_ids"][0]["id"].to_string();
    let (status, _) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/service-ids/{link}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 204);

    let (sets, more) = poll(&w, &bank, json!({})).await;
    assert_eq!((sets.len(), more), (1, false));
    let (jti, set) = sets.iter().next().unwrap();
    let claims = verified(&w, &bank, set.as_str().unwrap()).await;
    assert_eq!(claims["jti"], jti.as_str());
    assert_eq!(claims["sub_id"], json!({"format": "opaque", "id": "C-1"}));
    assert_eq!(
        claims["events"],
        json!({"urn:mykey:secevent:service-id-ended": {"reason": "withdrawn"}})
    );
    // The other relying party hears nothing, and cannot acknowledge the bank's event.
    assert!(poll(&w, &other, json!({"ack": [jti]})).await.0.is_empty());
    // Not acknowledged: it comes again; acknowledged: it is gone.
    let (again, _) = poll(&w, &bank, json!({"maxEvents": 10})).await;
    assert!(again.contains_key(jti));
    let (after, _) = poll(&w, &bank, json!({"ack": [jti]})).await;
    assert!(after.is_empty(), "{after:?}");

    // Bad polls: a precise 422, nothing acknowledged.
    let (status, body) = rp(
        &w,
        &bank,
        Method::POST,
        "/v1/rp/events",
        Some(json!({"ack": "x"})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:invalid-request")
    );
    let (status, _) = rp(
        &w,
        &bank,
        Method::POST,
        "/v1/rp/events",
        Some(json!({"wait": true})),
    )
    .await;
    assert_eq!(status, 422);
    let resp = w
        .http
        .post(format!("{}/v1/rp/events", w.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_and_a_revoked_my_key_id_reach_every_relying_party_under_its_own_identifier() {
    let w = world().await;
    let bank = relying_party(&w, "更新銀行").await;
    let city = relying_party(&w, "更新市").await;
    let stranger = relying_party(&w, "無関係").await;
    let (card, _) = linked(&w, &bank, "C-7").await;
    let service = ppid_service(&w, &city, "市民ポータル").await;
    let ppid = ppid_of(&w, &card, service, Some(ppid_consent())).await;

    let new = renewed(&w, &card).await;
    let token = login(&w, &new).await;

    let change = json!({
        "https://schemas.openid.net/secevent/caep/event-type/credential-change": {
            "credential_type": "x509", "change_type": "update",
        }
    });
    let (sets, _) = poll(&w, &bank, json!({})).await;
    assert_eq!(sets.len(), 1);
    let c = verified(&w, &bank, sets.values().next().unwrap().as_str().unwrap()).await;
    assert_eq!(c["sub_id"], json!({"format": "opaque", "id": "C-7"}));
    let uri = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
    assert_eq!(c["events"][uri]["change_type"], change[uri]["change_type"]);
    let (sets, _) = poll(&w, &city, json!({})).await;
    assert_eq!(sets.len(), 1);
    let c = verified(&w, &city, sets.values().next().unwrap().as_str().unwrap()).await;
    assert_eq!(
        c["sub_id"],
        json!({"format": "iss_sub", "iss": w.platform.issuer(), "sub": ppid})
    );
    assert_eq!(c["events"][uri]["credential_type"], "x509");
    assert!(poll(&w, &stranger, json!({})).await.0.is_empty());
    // Nothing names the card: no issuance number in any SET.
    let bank_jti: Vec<String> = poll(&w, &bank, json!({})).await.0.keys().cloned().collect();
    for set in poll(&w, &bank, json!({})).await.0.values() {
        let claims = verified(&w, &bank, set.as_str().unwrap()).await.to_string();
        assert!(!claims.contains(&card.number) && !claims.contains(&new.number));
    }

    // Revoking the My Key ID ends the link: the bank hears "account disabled", after the renewal.
    poll(&w, &bank, json!({"ack": bank_jti})).await;
    let (status, _) = call(&w, Method::DELETE, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 204);
    let (sets, _) = poll(&w, &bank, json!({})).await;
    assert_eq!(sets.len(), 1);
    let c = verified(&w, &bank, sets.values().next().unwrap().as_str().unwrap()).await;
    assert_eq!(
        c["events"],
        json!({"https://schemas.openid.net/secevent/risc/event-type/account-disabled": {"reason": "my-key-id-revoked"}})
    );
    assert!(
        poll(&w, &city, json!({})).await.0.len() == 1,
        "the PPID service is not a Service ID"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawn_ppid_consent_is_told_once_and_nothing_follows_it() {
    let w = world().await;
    let city = relying_party(&w, "撤回市").await;
    let card = card(&w).await;
    let service = ppid_service(&w, &city, "市民ポータル").await;
    let ppid = ppid_of(&w, &card, service, Some(ppid_consent())).await;
    let token = login(&w, &card).await;
    let (status, _) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/ppid-services/{service}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 204);

    // The city is told, under its PPID, that the consent is withdrawn.
    let (sets, _) = poll(&w, &city, json!({})).await;
    assert_eq!(sets.len(), 1, "{sets:?}");
    let (jti, set) = sets.iter().next().unwrap();
    let c = verified(&w, &city, set.as_str().unwrap()).await;
    assert_eq!(
        c["sub_id"],
        json!({"format": "iss_sub", "iss": w.platform.issuer(), "sub": ppid})
    );
    assert_eq!(
        c["events"]["urn:mykey:secevent:ppid-consent-withdrawn"]["reason"],
        "withdrawn"
    );
    poll(&w, &city, json!({"ack": [jti]})).await;

    // A later renewal is no longer the city's business.
    let new = renewed(&w, &card).await;
    login(&w, &new).await;
    assert!(poll(&w, &city, json!({})).await.0.is_empty());
    // Withdrawing again changes nothing and tells nothing.
    let token = login(&w, &new).await;
    let (status, _) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/ppid-services/{service}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 404);
    assert!(poll(&w, &city, json!({})).await.0.is_empty());
    // Consenting again: the city knows the person under the same PPID, and hears of them again.
    assert_eq!(ppid_of(&w, &new, service, Some(ppid_consent())).await, ppid);
    let newer = renewed(&w, &new).await;
    login(&w, &newer).await;
    let (sets, _) = poll(&w, &city, json!({})).await;
    assert_eq!(sets.len(), 1, "{sets:?}");
}
