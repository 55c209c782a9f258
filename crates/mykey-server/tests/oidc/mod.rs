//! The OpenID Connect provider end to end, with the cross-device login: a "browser" (a client
//! that keeps the request's cookie and follows no redirects), a "phone" answering over
//! `/v1/authorizations`, and a relying party exchanging the code. Every refusal of the
//! security list is the standard error.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;
use crate::ppids::{ppid_consent, ppid_service};

mod cross_device;
mod security;
mod service_id;

const CALLBACK: &str = "https://rp.example/callback";
const BYE: &str = "https://rp.example/bye";

/// An approved relying party with a PPID service and an OpenID Connect registration allowing
/// `scopes`, its ID tokens signed with `alg`.
async fn oidc_client(w: &World, name: &str, scopes: &[&str], alg: &str) -> (Client, i64) {
    let client = relying_party(w, name).await;
    let service = ppid_service(w, &client, &format!("{name} login")).await;
    let (status, body) = ops(
        w,
        Method::PUT,
        &format!("/v1/ops/relying-parties/{}/oidc-client", client.id),
        Some(json!({
            "ppid_service_id": service,
            "redirect_uris": [CALLBACK],
            "post_logout_redirect_uris": [BYE],
            "scopes": scopes,
            "id_token_signed_response_alg": alg,
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id_token_signed_response_alg"], alg);
    (client, service)
}

/// A browser: no redirects followed, the request's cookie kept by hand.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        let mut r = self.http.get(url);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        r.send().await.unwrap()
    }
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = B64URL.encode(rand32());
    let challenge = B64URL.encode(digest(&SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

fn rand32() -> [u8; 32] {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b
}

/// The authorization request's parameters, which a test may change or drop.
fn params(client: &Client, scope: &str, challenge: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", scope),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn authorize_url(w: &World, params: &[(String, String)]) -> String {
    let mut u = url::Url::parse(&format!("{}/oidc/authorize", w.url)).unwrap();
    u.query_pairs_mut().extend_pairs(params);
    u.into()
}

/// The query of a redirect's `Location`.
fn location_query(resp: &reqwest::Response) -> Vec<(String, String)> {
    let loc = resp.headers()["location"].to_str().unwrap();
    url::Url::parse(loc)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str())
}

/// A started login: the page's handle, with the browser holding its cookie.
async fn begin(w: &World, browser: &mut Browser, params: &[(String, String)]) -> (String, String) {
    let resp = browser.get(&authorize_url(w, params)).await;
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    browser.cookie = Some(cookie.split(';').next().unwrap().to_owned());
    let html = resp.text().await.unwrap();
    let approve = meta(&html, "mykey-approve-url");
    let handle = approve.rsplit('/').next().unwrap().to_owned();
    (handle, html)
}

/// The phone approves `handle` with `card`, sending `signature` (base64) as the certificate of
/// the facts asked for.
async fn phone_approves(
    w: &World,
    card: &Card,
    handle: &str,
    signature: Option<&[u8]>,
) -> (u16, Value) {
    let (status, shown) = call(
        w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    if status != 200 {
        return (status, shown);
    }
    let items: Vec<Value> = shown["consent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].clone())
        .collect();
    let (status, c) = post(
        w,
        &format!("/v1/authorizations/{handle}/challenges"),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    let mut body = answer_for(card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = json!({"items": items, "terms_version": shown["consent"]["terms_version"]});
    if let Some(sig) = signature {
        body["signature_certificate"] = json!(B64.encode(sig));
    }
    post(
        w,
        &format!("/v1/authorizations/{handle}/approval"),
        None,
        body,
    )
    .await
}

/// The browser continues; answers the redirect's query.
async fn continue_to_client(w: &World, browser: &Browser, handle: &str) -> Vec<(String, String)> {
    let resp = browser
        .get(&format!(
            "{}/oidc/authorize/continue?request={handle}",
            w.url
        ))
        .await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.starts_with(CALLBACK), "{loc}");
    location_query(&resp)
}

/// `POST /oidc/token` for the code grant with `client_secret_basic`.
async fn exchange(w: &World, client: &Client, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let resp = w
        .http
        .post(format!("{}/oidc/token", w.url))
        .basic_auth(&client.client_id, Some(&client.secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn userinfo(w: &World, token: &str) -> (u16, Value) {
    let resp = w
        .http
        .get(format!("{}/oidc/userinfo", w.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The ID token's claims, verified with the platform's published keys.
async fn verify_id_token(w: &World, client: &Client, id_token: &str) -> Value {
    let (_, jwks) = call(w, Method::GET, "/oidc/jwks", None).await;
    let jwks: JwkSet = serde_json::from_value(jwks).unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let key = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_audience(&[&client.client_id]);
    v.set_issuer(&[w.platform.issuer()]);
    jsonwebtoken::decode::<Value>(id_token, &DecodingKey::from_jwk(key).unwrap(), &v)
        .unwrap()
        .claims
}

/// A whole login with `name` and `birthdate`: the code, and the verifier.
async fn logged_in(w: &World, client: &Client, card: &Card) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut browser = Browser::new();
    let (handle, _) = begin(
        w,
        &mut browser,
        &params(client, "openid name birthdate", &challenge),
    )
    .await;
    let (status, body) = phone_approves(w, card, &handle, card.signature.as_deref()).await;
    assert_eq!(status, 200, "{body}");
    let q = continue_to_client(w, &browser, &handle).await;
    (get(&q, "code").unwrap().to_owned(), verifier)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_logs_in_across_devices_and_the_relying_party_gets_the_pairwise_sub_and_consented_facts()
 {
    let w = world().await;
    let (shop, service) = oidc_client(
        &w,
        "Hakata Books",
        &["name", "birthdate", "address"],
        "ES256",
    )
    .await;
    let card = issued_card(&w, true).await;
    let (verifier, challenge) = pkce();
    let mut browser = Browser::new();
    let resp = browser
        .get(&authorize_url(
            &w,
            &params(&shop, "openid name birthdate", &challenge),
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["cache-control"], "no-store");
    browser.cookie = Some(
        h["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("<svg"), "a QR code");
    assert!(html.contains("Hakata Books"));
    let handle = meta(&html, "mykey-approve-url")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(meta(&html, "mykey-continue-url").ends_with(&format!("request={handle}")));

    // The phone looks the request up by the short code as well as by the handle.
    let (_, shown) = call(
        &w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    assert_eq!(shown["relying_party"]["name"], "Hakata Books");
    assert_eq!(shown["facts"], json!(["name", "birthdate"]));
    let short = shown["short_code"].as_str().unwrap().to_owned();
    assert!(html.contains(&short));
    let typed = short.to_lowercase().replace('-', "");
    let (status, by_code) = call(
        &w,
        Method::GET,
        &format!("/v1/authorizations/{typed}"),
        None,
    )
    .await;
    assert_eq!(
        (status, &by_code["short_code"]),
        (200, &shown["short_code"])
    );

    // Before the phone answers, the browser waits.
    let status_url = format!("{}/oidc/authorize/status?request={handle}", w.url);
    let s: Value = browser.get(&status_url).await.json().await.unwrap();
    assert_eq!(s["status"], "pending");
    let early = browser
        .get(&format!(
            "{}/oidc/authorize/continue?request={handle}",
            w.url
        ))
        .await;
    assert_eq!(early.status(), 200, "the waiting page again");

    let (status, body) = phone_approves(&w, &card, &handle, card.signature.as_deref()).await;
    assert_eq!(status, 200, "{body}");
    let s: Value = browser.get(&status_url).await.json().await.unwrap();
    assert_eq!(s["status"], "approved");
    let q = continue_to_client(&w, &browser, &handle).await;
    assert_eq!(get(&q, "state"), Some("st-123"));
    assert_eq!(get(&q, "iss"), Some(w.platform.issuer()));
    let code = get(&q, "code").unwrap();

    let (status, tokens) = exchange(&w, &shop, code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid name birthdate");
    let claims = verify_id_token(&w, &shop, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["sid"].as_str().map(str::len), Some(22));
    assert!(claims.get("name").is_none(), "facts go to userinfo only");
    let access = tokens["access_token"].as_str().unwrap();
    let at_hash = B64URL.encode(&digest(&SHA256, access.as_bytes()).as_ref()[..16]);
    assert_eq!(claims["at_hash"], at_hash);

    // sub is the person's PPID for the client's PPID service.
    let (_, ppids) = rp(
        &w,
        &shop,
        Method::GET,
        &format!("/v1/rp/ppid-services/{service}/ppids"),
        None,
    )
    .await;
    assert_eq!(claims["sub"], ppids["ppids"][0]["ppid"], "{ppids}");

    let (status, info) = userinfo(&w, access).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(
        info,
        json!({"sub": claims["sub"], "name": "鈴木\u{3000}次郎", "birthdate": "1975-09-09"})
    );

    // Everything landed in the person's log.
    let token = login(&w, &card).await;
    let kinds = log_kinds(&w, &token).await;
    for k in ["consent.given", "ppid.issued", "facts.given"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let entries = log["entries"].as_array().unwrap();
    let oidc_login = entries
        .iter()
        .find(|e| e["kind"] == "login" && e["detail"]["purpose"] == "openid-connect");
    assert!(oidc_login.is_some(), "{log}");
    let facts_consent = entries
        .iter()
        .find(|e| e["kind"] == "consent.given" && e["detail"]["function"] == "facts")
        .unwrap();
    assert_eq!(
        facts_consent["detail"]["items"],
        json!(["facts.name", "facts.birthdate"])
    );

    // A second login with the same card: the same sub, no new PPID consent.
    let (code, verifier) = logged_in(&w, &shop, &card).await;
    let (_, tokens) = exchange(&w, &shop, &code, Some(&verifier)).await;
    let again = verify_id_token(&w, &shop, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(again["sub"], claims["sub"]);
    assert_ne!(again["sid"], claims["sid"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn subs_are_pairwise_and_rs256_is_available() {
    let w = world().await;
    let (a, _) = oidc_client(&w, "Shop A", &["name", "birthdate"], "ES256").await;
    let (b, _) = oidc_client(&w, "Shop B", &["name", "birthdate"], "RS256").await;
    let card = issued_card(&w, true).await;
    let (code, verifier) = logged_in(&w, &a, &card).await;
    let (_, ta) = exchange(&w, &a, &code, Some(&verifier)).await;
    let (code, verifier) = logged_in(&w, &b, &card).await;
    let (status, tb) = exchange(&w, &b, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tb}");
    let header = jsonwebtoken::decode_header(tb["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let ca = verify_id_token(&w, &a, ta["id_token"].as_str().unwrap()).await;
    let cb = verify_id_token(&w, &b, tb["id_token"].as_str().unwrap()).await;
    assert_ne!(ca["sub"], cb["sub"]);
    // The discovery document describes the provider.
    let (status, d) = call(&w, Method::GET, "/.well-known/openid-configuration", None).await;
    assert_eq!(status, 200);
    assert_eq!(d["issuer"], w.platform.issuer());
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["subject_types_supported"], json!(["pairwise"]));
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_authorization_requests_get_the_standard_errors() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &["name"], "ES256").await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let good = params(&shop, "openid name", &challenge);

    // Client or redirect URI not to be trusted: an error page, never a redirect.
    for (key, value) in [
        ("redirect_uri", "https://rp.example/callback/"),
        ("redirect_uri", "https://evil.example/callback"),
        ("client_id", "no-such-client"),
    ] {
        let mut p = good.clone();
        p.retain(|(k, _)| k != key);
        p.push((key.into(), value.into()));
        let resp = browser.get(&authorize_url(&w, &p)).await;
        assert_eq!(resp.status(), 400, "{key}={value}");
        assert!(resp.headers().get("location").is_none());
        assert_eq!(resp.headers()["x-frame-options"], "DENY");
    }
    let mut twice = good.clone();
    twice.push(("state".into(), "other".into()));
    assert_eq!(browser.get(&authorize_url(&w, &twice)).await.status(), 400);

    // The rest go back to the client with the error and the state.
    let cases: [(&str, Option<&str>, &str); 9] = [
        ("state", None, "invalid_request"),
        ("nonce", None, "invalid_request"),
        ("code_challenge", None, "invalid_request"),
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge", Some("too-short"), "invalid_request"),
        ("scope", Some("openid address"), "invalid_scope"),
        ("scope", Some("name"), "invalid_scope"),
        ("response_type", Some("token"), "unsupported_response_type"),
        ("prompt", Some("none"), "login_required"),
    ];
    for (key, value, error) in cases {
        let mut p = good.clone();
        p.retain(|(k, _)| k != key);
        if let Some(v) = value {
            p.push((key.into(), v.into()));
        }
        let resp = browser.get(&authorize_url(&w, &p)).await;
        assert_eq!(resp.status(), 303, "{key}={value:?}");
        let q = location_query(&resp);
        assert_eq!(get(&q, "error"), Some(error), "{key}={value:?}: {q:?}");
        assert_eq!(get(&q, "iss"), Some(w.platform.issuer()));
        let state = if key == "state" { None } else { Some("st-123") };
        assert_eq!(get(&q, "state"), state);
        assert!(resp.headers().get("set-cookie").is_none(), "nothing stored");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_are_single_use_bound_to_pkce_client_and_time() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &["name", "birthdate"], "ES256").await;
    let (other, _) = oidc_client(&w, "Other Shop", &["name", "birthdate"], "ES256").await;
    let card = issued_card(&w, true).await;

    // PKCE missing or wrong, another client, wrong client authentication: refused, and the
    // code still works for its own client afterwards.
    let (code, verifier) = logged_in(&w, &shop, &card).await;
    let (status, e) = exchange(&w, &shop, &code, None).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    let (status, e) = exchange(&w, &shop, &code, Some(&pkce().0)).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    let (status, e) = exchange(&w, &other, &code, Some(&verifier)).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    let wrong = Client {
        secret: "wrong".into(),
        ..shop.clone()
    };
    let (status, e) = exchange(&w, &wrong, &code, Some(&verifier)).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (401, Some("invalid_client")),
        "{e}"
    );
    let resp = w
        .http
        .post(format!("{}/oidc/token", w.url))
        .basic_auth(&shop.client_id, Some(&shop.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://rp.example/other"),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (status, tokens) = exchange(&w, &shop, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&w, access).await.0, 200);

    // Reused: refused, and the tokens the first exchange gave are revoked.
    let (status, e) = exchange(&w, &shop, &code, Some(&verifier)).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    let resp = w
        .http
        .get(format!("{}/oidc/userinfo", w.url))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // Expired: a code lives 60 seconds.
    let (code, verifier) = logged_in(&w, &shop, &card).await;
    w.clock.advance(61);
    let (status, e) = exchange(&w, &shop, &code, Some(&verifier)).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert_eq!(userinfo(&w, "not-a-token").await.0, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_phone_must_answer_exactly_what_was_asked_and_only_the_starting_browser_continues() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &["name", "birthdate"], "ES256").await;
    let card = issued_card(&w, true).await;
    let (_, challenge) = pkce();
    let mut browser = Browser::new();
    let (handle, _) = begin(
        &w,
        &mut browser,
        &params(&shop, "openid name birthdate", &challenge),
    )
    .await;

    // Facts the phone states, no certificate for the facts asked, a certificate that is not one,
    // an incomplete consent: refused, nothing written (the request is still pending).
    let (status, c) = post(
        &w,
        &format!("/v1/authorizations/{handle}/challenges"),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 201);
    let mut stated = answer_for(&card, c["nonce"].as_str().unwrap());
    stated.as_object_mut().unwrap().remove("purpose");
    stated["consent"] = json!({"items": [], "terms_version": "2026-11-01"});
    stated["facts"] = json!({"name": "偽\u{3000}名", "birth_date": "1950-01-01"});
    let (status, body) = post(
        &w,
        &format!("/v1/authorizations/{handle}/approval"),
        None,
        stated,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:invalid-request"),
        "stated facts are no field of the approval: {body}"
    );
    for sig in [
        None,
        Some(b"not a certificate".as_slice()),
        Some(card.cert.as_slice()),
    ] {
        let (status, body) = phone_approves(&w, &card, &handle, sig).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-facts"),
            "{body}"
        );
    }
    let (status, c) = post(
        &w,
        &format!("/v1/authorizations/{handle}/challenges"),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 201);
    let mut body = answer_for(&card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = ppid_consent();
    body["signature_certificate"] = json!(B64.encode(card.signature.as_ref().unwrap()));
    let (status, e) = post(
        &w,
        &format!("/v1/authorizations/{handle}/approval"),
        None,
        body,
    )
    .await;
    assert_eq!(
        (status, problem_type(&e)),
        (422, "urn:mykey:problem:consent-incomplete")
    );
    let s: Value = browser
        .get(&format!("{}/oidc/authorize/status?request={handle}", w.url))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "pending");

    // A challenge answers only the request it was asked for, even of the same relying party.
    let mut other_browser = Browser::new();
    let (other, _) = begin(
        &w,
        &mut other_browser,
        &params(&shop, "openid name birthdate", &challenge),
    )
    .await;
    let (_, c) = post(
        &w,
        &format!("/v1/authorizations/{other}/challenges"),
        None,
        json!({}),
    )
    .await;
    let mut body = answer_for(&card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    let (_, shown) = call(
        &w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    let items: Vec<Value> = shown["consent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].clone())
        .collect();
    body["consent"] = json!({"items": items, "terms_version": "2026-11-01"});
    body["signature_certificate"] = json!(B64.encode(card.signature.as_ref().unwrap()));
    let (status, e) = post(
        &w,
        &format!("/v1/authorizations/{handle}/approval"),
        None,
        body,
    )
    .await;
    assert_eq!(
        (status, problem_type(&e)),
        (400, "urn:mykey:problem:challenge-unknown"),
        "{e}"
    );

    let (status, body) = phone_approves(&w, &card, &handle, card.signature.as_deref()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = phone_approves(&w, &card, &handle, card.signature.as_deref()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:authorization-answered")
    );

    // Another browser (no cookie, or a forged one) cannot continue it.
    let stranger = Browser {
        cookie: Some(format!("mykey-authz-{}=forged", &handle[..12])),
        ..Browser::new()
    };
    let resp = stranger
        .get(&format!(
            "{}/oidc/authorize/continue?request={handle}",
            w.url
        ))
        .await;
    assert_eq!(resp.status(), 404);
    assert!(resp.headers().get("location").is_none());
    // The starting browser does, once.
    continue_to_client(&w, &browser, &handle).await;
    let resp = browser
        .get(&format!(
            "{}/oidc/authorize/continue?request={handle}",
            w.url
        ))
        .await;
    assert_eq!(resp.status(), 409);

    // Declined: the client hears access_denied.
    let mut browser = Browser::new();
    let (handle, _) = begin(&w, &mut browser, &params(&shop, "openid", &challenge)).await;
    let (status, _) = post(
        &w,
        &format!("/v1/authorizations/{handle}/refusal"),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let q = continue_to_client(&w, &browser, &handle).await;
    assert_eq!(get(&q, "error"), Some("access_denied"));
    assert_eq!(get(&q, "state"), Some("st-123"));

    // Expired before the phone answered.
    let mut browser = Browser::new();
    let (handle, _) = begin(&w, &mut browser, &params(&shop, "openid", &challenge)).await;
    w.clock.advance(301);
    let (status, body) = call(
        &w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (410, "urn:mykey:problem:authorization-expired")
    );
    let q = continue_to_client(&w, &browser, &handle).await;
    assert_eq!(get(&q, "error"), Some("access_denied"));
    let (status, _) = call(&w, Method::GET, "/v1/authorizations/nonsense", None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiting_browser_hears_the_phones_approval_or_refusal_and_otherwise_times_out_pending() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &["name"], "ES256").await;
    let card = issued_card(&w, true).await;
    let long_poll = |browser: &Browser, handle: &str, wait: u64| {
        let b = Browser {
            http: browser.http.clone(),
            cookie: browser.cookie.clone(),
        };
        let url = format!(
            "{}/oidc/authorize/status?request={handle}&wait={wait}",
            w.url
        );
        tokio::spawn(async move {
            let v: Value = b.get(&url).await.json().await.unwrap();
            v["status"].as_str().unwrap().to_owned()
        })
    };

    // Nobody answers: the long poll ends at its time, still pending.
    let (_, challenge) = pkce();
    let mut browser = Browser::new();
    let (handle, _) = begin(&w, &mut browser, &params(&shop, "openid", &challenge)).await;
    assert_eq!(long_poll(&browser, &handle, 1).await.unwrap(), "pending");

    // The phone approves while the browser waits.
    let waiting = long_poll(&browser, &handle, 20);
    let (status, body) = phone_approves(&w, &card, &handle, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(waiting.await.unwrap(), "approved");

    // Another request, refused while the browser waits.
    let (_, challenge) = pkce();
    let mut browser = Browser::new();
    let (handle, _) = begin(&w, &mut browser, &params(&shop, "openid", &challenge)).await;
    let waiting = long_poll(&browser, &handle, 20);
    let (status, _) = call(
        &w,
        Method::POST,
        &format!("/v1/authorizations/{handle}/refusal"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(waiting.await.unwrap(), "declined");
}
