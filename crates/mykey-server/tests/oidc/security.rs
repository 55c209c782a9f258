//! The OpenID Connect provider under attack (issue 19): facts only as the card certifies them,
//! tokens that end with what they stand on, logout that asks, short codes held to a budget.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::Method;
use serde_json::Value;

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
    let (status, body) = post(w, "/v1/me/my-key-id", Some(&session), my_key_id_creation()).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn rp_initiated_logout_revokes_the_login_and_returns_only_to_registered_uris() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &["name", "birthdate"], "ES256").await;
    let card = issued_card(&w, true).await;
    let (code, verifier) = logged_in(&w, &shop, &card).await;
    let (_, tokens) = exchange(&w, &shop, &code, Some(&verifier)).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let browser = Browser::new();
    let logout = |uri: &str| {
        let mut u = url::Url::parse(&format!("{}/oidc/logout", w.url)).unwrap();
        u.query_pairs_mut()
            .append_pair("id_token_hint", id_token)
            .append_pair("post_logout_redirect_uri", uri)
            .append_pair("state", "bye-1");
        String::from(u)
    };
    let resp = browser.get(&logout("https://evil.example/")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        userinfo(&w, access).await.0,
        200,
        "a refused logout changes nothing"
    );
    let mut forged = id_token.to_owned();
    forged.pop();
    let mut u = url::Url::parse(&format!("{}/oidc/logout", w.url)).unwrap();
    u.query_pairs_mut().append_pair("id_token_hint", &forged);
    assert_eq!(browser.get(u.as_str()).await.status(), 400);

    // Without an ID token naming the login, the person is asked first (issue 19, finding
    // 14): a page with the question, and only its answer goes on.
    let mut u = url::Url::parse(&format!("{}/oidc/logout", w.url)).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", &shop.client_id)
        .append_pair("post_logout_redirect_uri", BYE)
        .append_pair("state", "bye-0");
    let resp = browser.get(u.as_str()).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Hakata Books") && html.contains("name=\"logout_confirmed\""),
        "{html}"
    );
    assert_eq!(userinfo(&w, access).await.0, 200, "asking changes nothing");
    // The answer counts only from the question's own form: a link cannot carry it.
    u.query_pairs_mut().append_pair("logout_confirmed", "yes");
    let resp = browser.get(u.as_str()).await;
    assert_eq!(resp.status(), 200, "asked again, not logged out");
    let resp = browser
        .http
        .post(format!("{}/oidc/logout", w.url))
        .form(&[
            ("client_id", shop.client_id.as_str()),
            ("post_logout_redirect_uri", BYE),
            ("state", "bye-0"),
            ("logout_confirmed", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], format!("{BYE}?state=bye-0"));

    let resp = browser.get(&logout(BYE)).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], format!("{BYE}?state=bye-1"));
    assert_eq!(userinfo(&w, access).await.0, 401);
    // The same hint again ends nothing and adds nothing to the person's log (an old ID token
    // must not let anyone grow it, finding 9).
    for _ in 0..3 {
        assert_eq!(browser.get(&logout(BYE)).await.status(), 303);
    }
    let token = login(&w, &card).await;
    let kinds = log_kinds(&w, &token).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "logout").count(),
        1,
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guessing_short_codes_is_held_to_a_budget_while_the_qr_handle_still_works() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &["name"], "ES256").await;
    let (_, challenge) = pkce();
    let mut browser = Browser::new();
    let (handle, _) = begin(&w, &mut browser, &params(&shop, "openid", &challenge)).await;
    let (_, shown) = call(
        &w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    let real = shown["short_code"].as_str().unwrap().to_owned();

    // Wrong codes (well-formed, naming no request) from this address: ten are answered 404.
    let wrong = |i: usize| format!("ZZZZ-{:04}", 1000 + i);
    assert_ne!(real, wrong(0));
    for i in 0..mykey_platform::oidc::PER_SOURCE_BURST as usize {
        let (status, body) = call(
            &w,
            Method::GET,
            &format!("/v1/authorizations/{}", wrong(i)),
            None,
        )
        .await;
        assert_eq!(
            (status, body["type"].as_str()),
            (404, Some("urn:mykey:problem:authorization-unknown"))
        );
    }
    // The next lookup by short code, even the right one, waits: 429 with Retry-After, no trace
    // of which codes exist.
    for (method, path) in [
        (Method::GET, format!("/v1/authorizations/{}", wrong(99))),
        (Method::GET, format!("/v1/authorizations/{real}")),
        (
            Method::POST,
            format!("/v1/authorizations/{real}/challenges"),
        ),
        (Method::POST, format!("/v1/authorizations/{real}/refusal")),
    ] {
        let resp = w
            .http
            .request(method, format!("{}{path}", w.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429, "{path}");
        let wait: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=6).contains(&wait), "{wait}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["type"], "urn:mykey:problem:too-many-attempts");
    }
    // The QR code's handle is not limited.
    let (status, _) = call(
        &w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Six seconds later one more short code may be tried.
    w.clock
        .advance(mykey_platform::oidc::PER_SOURCE_REFILL_SECS);
    let (status, by_code) =
        call(&w, Method::GET, &format!("/v1/authorizations/{real}"), None).await;
    assert_eq!(
        (status, by_code["short_code"].as_str()),
        (200, Some(real.as_str()))
    );
}

/// Finding 9: each userinfo answer with facts, and each replay of a spent code, added an entry
/// to the person's log, so a relying party grew it at will. Now the first answer for a token
/// is logged, and asking again adds nothing (a new login's token is logged again); a replay is
/// logged when it revokes something.
#[tokio::test(flavor = "multi_thread")]
async fn userinfo_is_logged_once_per_access_token() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &["name", "birthdate"], "ES256").await;
    let card = issued_card(&w, true).await;
    let session = login(&w, &card).await;
    let given = |kinds: Vec<String>| kinds.iter().filter(|k| *k == "facts.given").count();
    for login_round in 1..=2 {
        let (code, verifier) = logged_in(&w, &shop, &card).await;
        let (_, tokens) = exchange(&w, &shop, &code, Some(&verifier)).await;
        let token = tokens["access_token"].as_str().unwrap();
        for _ in 0..5 {
            let (status, claims) = userinfo(&w, token).await;
            assert_eq!(status, 200);
            assert!(claims["name"].is_string(), "{claims}");
        }
        assert_eq!(given(log_kinds(&w, &session).await), login_round);
        // A spent code replayed: the first replay revokes the token and is logged; more
        // replays end nothing and add nothing.
        for _ in 0..4 {
            let (status, _) = exchange(&w, &shop, &code, Some(&verifier)).await;
            assert_eq!(status, 400);
        }
        let kinds = log_kinds(&w, &session).await;
        let reused = kinds.iter().filter(|k| *k == "oidc.code-reused").count();
        assert_eq!(reused, login_round, "{kinds:?}");
    }
}
