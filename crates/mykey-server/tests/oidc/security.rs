//! Issue 19's findings on the OpenID Connect provider: facts as the card certifies them, and
//! tokens that end with what they stand on.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::Method;
use serde_json::{Value, json};

use super::*;

/// Issue 19, finding 1: a holder logged in to a relying party as someone else by stating the
/// facts on the phone side. Facts are now released only as the signature certificate of the
/// card that signed certifies them, current and unrevoked at J-LIS.
#[tokio::test(flavor = "multi_thread")]
async fn facts_are_released_only_as_the_signing_cards_signature_certificate_certifies_them() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &["name", "birthdate"], "ES256").await;
    let holder = issued_card(&w, true).await;
    let other = issued_card(&w, true).await;
    let moved = |card: &Card, birth: &str| mykey_jlis::api::ChangeFactsRequest {
        issuance_number: card.number.clone(),
        birth_date: Some(birth.into()),
        signature_public_key: B64.encode(card.key.spki_der()),
        ..Default::default()
    };
    // The other person's facts differ from the holder's (a corrected birth date).
    let other_now = w
        .jlis
        .change_facts(&moved(&other, "1950-01-01"))
        .await
        .unwrap();
    let other_signature = B64
        .decode(other_now.signature_certificate.unwrap())
        .unwrap();

    let (verifier, challenge) = pkce();
    let mut browser = Browser::new();
    let (handle, _) = begin(
        &w,
        &mut browser,
        &params(&shop, "openid name birthdate", &challenge),
    )
    .await;
    // Another person's certificate, valid and current at J-LIS, with the holder's card: refused.
    let (status, body) = phone_approves(&w, &holder, &handle, Some(&other_signature)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:invalid-facts"),
        "{body}"
    );
    // The holder's own: the facts it certifies, and none stated.
    let (status, body) = phone_approves(&w, &holder, &handle, holder.signature.as_deref()).await;
    assert_eq!(status, 200, "{body}");
    let facts = released(&w, &shop, &browser, &handle, &verifier).await;
    assert_eq!(facts["name"], "鈴木\u{3000}次郎");
    assert_eq!(facts["birthdate"], "1975-09-09");

    // After his facts change, the certificate read before is revoked: refused; the new one gives
    // the new facts.
    let holder_now = w
        .jlis
        .change_facts(&moved(&holder, "1976-10-10"))
        .await
        .unwrap();
    let (verifier, challenge) = pkce();
    let mut browser = Browser::new();
    let (handle, _) = begin(
        &w,
        &mut browser,
        &params(&shop, "openid name birthdate", &challenge),
    )
    .await;
    let (status, body) = phone_approves(&w, &holder, &handle, holder.signature.as_deref()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:invalid-facts"),
        "{body}"
    );
    let fresh = B64
        .decode(holder_now.signature_certificate.unwrap())
        .unwrap();
    let (status, body) = phone_approves(&w, &holder, &handle, Some(&fresh)).await;
    assert_eq!(status, 200, "{body}");
    let facts = released(&w, &shop, &browser, &handle, &verifier).await;
    assert_eq!(facts["birthdate"], "1976-10-10");
}

/// The browser continues, the relying party exchanges the code: what userinfo releases.
async fn released(
    w: &World,
    client: &Client,
    browser: &Browser,
    handle: &str,
    verifier: &str,
) -> Value {
    let q = continue_to_client(w, browser, handle).await;
    let (status, tokens) = exchange(w, client, get(&q, "code").unwrap(), Some(verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    let (status, info) = userinfo(w, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{info}");
    info
}

/// Issue 19, finding 6: userinfo kept answering for ten minutes after the person withdrew the
/// consent, revoked the My Key ID, or the operator suspended the relying party; a client token
/// outlived a new secret. Each ends the tokens it concerns in its own transaction.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_end_with_the_consent_the_my_key_id_the_relying_party_and_the_secret() {
    let w = world().await;
    let (shop, service) = oidc_client(&w, "Hakata Books", &["name", "birthdate"], "ES256").await;
    let card = issued_card(&w, true).await;
    let w = &w;
    let access_token = |shop: &Client| {
        let (shop, card) = (shop.clone(), &card);
        async move {
            let (code, verifier) = logged_in(w, &shop, card).await;
            let (status, tokens) = exchange(w, &shop, &code, Some(&verifier)).await;
            assert_eq!(status, 200, "{tokens}");
            let token = tokens["access_token"].as_str().unwrap().to_owned();
            assert_eq!(userinfo(w, &token).await.0, 200);
            token
        }
    };

    // Withdrawing the PPID consent: the token ends, and so does a code not yet exchanged.
    let token = access_token(&shop).await;
    let (code, verifier) = logged_in(w, &shop, &card).await;
    let session = login(w, &card).await;
    let path = format!("/v1/me/ppid-services/{service}");
    let (status, body) = call(w, Method::DELETE, &path, Some(&session)).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(userinfo(w, &token).await.0, 401);
    let (status, body) = exchange(w, &shop, &code, Some(&verifier)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // Revoking the My Key ID.
    let token = access_token(&shop).await;
    let (status, body) = post(w, "/v1/me/my-key-id", Some(&session), json!({})).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = call(w, Method::DELETE, "/v1/me/my-key-id", Some(&session)).await;
    assert_eq!(status, 204);
    assert_eq!(userinfo(w, &token).await.0, 401);

    // Suspending the relying party (then approving it again).
    let token = access_token(&shop).await;
    let rp_path = |what: &str| format!("/v1/ops/relying-parties/{}/{what}", shop.id);
    assert_eq!(
        ops(w, Method::POST, &rp_path("suspension"), None).await.0,
        200
    );
    assert_eq!(userinfo(w, &token).await.0, 401);
    assert_eq!(
        ops(w, Method::POST, &rp_path("approval"), None).await.0,
        200
    );

    // A client token, then a new secret: the token ends.
    let resp = w
        .http
        .post(format!("{}/oidc/token", w.url))
        .basic_auth(&shop.client_id, Some(&shop.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let client_token = resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rp_call = |t: String| async move {
        w.http
            .get(format!("{}/v1/rp/service-ids", w.url))
            .bearer_auth(t)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(rp_call(client_token.clone()).await, 200);
    assert_eq!(ops(w, Method::POST, &rp_path("secret"), None).await.0, 200);
    assert_eq!(rp_call(client_token).await, 401);
}
