//! Relying parties as OAuth clients: `private_key_jwt` against a registered JWK Set (RFC 7523),
//! `client_secret_basic`, the token endpoint's `client_credentials` grant, and the access token
//! it gives used on `/v1/rp`. Every refusal is the standard error, and nothing is issued.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mykey_platform::Clock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An ES256 key of a relying party: its private half (PKCS#8) and its public JWK.
struct ClientKey {
    pkcs8: Vec<u8>,
    kid: String,
}

impl ClientKey {
    fn new(kid: &str) -> Self {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        Self {
            pkcs8: doc.as_ref().to_vec(),
            kid: kid.into(),
        }
    }

    fn jwk(&self) -> Value {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.pkcs8).unwrap();
        let point = pair.public_key().as_ref(); // 0x04 ‖ x ‖ y
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..65]),
        })
    }

    /// A client assertion with `claims`, signed by this key.
    fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&h, claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

fn claims(w: &World, client_id: &str, jti: &str) -> Value {
    let now = w.clock.now().as_secs();
    json!({
        "iss": client_id, "sub": client_id, "jti": jti,
        "aud": format!("{}/oidc/token", w.platform.issuer()),
        "iat": now, "exp": now + 120,
    })
}

/// `POST /oidc/token` with form `params` (and HTTP Basic, where given).
async fn token(
    w: &World,
    params: &[(&str, &str)],
    basic: Option<&Client>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut r = w.http.post(format!("{}/oidc/token", w.url)).form(params);
    if let Some(c) = basic {
        r = r.basic_auth(&c.client_id, Some(&c.secret));
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.json().await.unwrap_or(Value::Null), headers)
}

async fn with_assertion(w: &World, assertion: &str) -> (u16, Value) {
    let (status, body, _) = token(
        w,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
        None,
    )
    .await;
    (status, body)
}

async fn rp_with_token(w: &World, access_token: &str) -> (u16, Value) {
    let resp = w
        .http
        .get(format!("{}/v1/rp/service-ids", w.url))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

async fn set_jwks(w: &World, client: &Client, jwks: Value) -> (u16, Value) {
    ops(
        w,
        Method::PUT,
        &format!("/v1/ops/relying-parties/{}/jwks", client.id),
        Some(jwks),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_authenticates_with_a_signed_assertion_and_calls_the_api_with_its_token() {
    let w = world().await;
    let bank = relying_party(&w, "鍵の銀行").await;
    let k1 = ClientKey::new("k1");
    let (status, body) = set_jwks(&w, &bank, json!({"keys": [k1.jwk()]})).await;
    assert_eq!(status, 200, "{body}");

    let assertion = k1.sign(&claims(&w, &bank.client_id, "jti-1"));
    let (status, body, headers) = token(
        &w,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
            ("client_id", &bank.client_id),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("Bearer"), Some(300))
    );
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        rp_with_token(&w, &access).await,
        (200, json!({"service_ids": []}))
    );

    // The same assertion again: refused (its jti is remembered until it expires).
    let (status, body) = with_assertion(&w, &assertion).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("used before"),
        "{body}"
    );

    // Also audience = the issuer; client_secret_basic still works at the token endpoint.
    let mut c = claims(&w, &bank.client_id, "jti-2");
    c["aud"] = json!(w.platform.issuer());
    assert_eq!(with_assertion(&w, &k1.sign(&c)).await.0, 200);
    let (status, body, _) = token(&w, &[("grant_type", "client_credentials")], Some(&bank)).await;
    assert_eq!(status, 200, "{body}");

    // The token expires; a suspended client's token stops working at once.
    w.clock.advance(301);
    assert_eq!(rp_with_token(&w, &access).await.0, 401);
    let (_, body) = with_assertion(&w, &k1.sign(&claims(&w, &bank.client_id, "jti-3"))).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    ops(
        &w,
        Method::POST,
        &format!("/v1/ops/relying-parties/{}/suspension", bank.id),
        None,
    )
    .await;
    // The suspension ended the token with it (issue 19, finding 6).
    let (status, body) = rp_with_token(&w, &access).await;
    assert_eq!(
        (status, problem_type(&body)),
        (401, "urn:mykey:problem:invalid-client")
    );
    let (status, body) = with_assertion(&w, &k1.sign(&claims(&w, &bank.client_id, "jti-4"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_assertions_are_refused_with_the_standard_error_and_issue_nothing() {
    let w = world().await;
    let bank = relying_party(&w, "慎重銀行").await;
    let other = relying_party(&w, "他社").await;
    let k1 = ClientKey::new("k1");
    set_jwks(&w, &bank, json!({"keys": [k1.jwk()]})).await;
    let now = w.clock.now().as_secs();
    let stranger = ClientKey::new("k1");
    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut c = claims(&w, &bank.client_id, "a");
    c["aud"] = json!("https://elsewhere.example/token");
    cases.push(("neither the token endpoint", k1.sign(&c)));
    let mut c = claims(&w, &bank.client_id, "b");
    c["exp"] = json!(now - 1);
    cases.push(("expired", k1.sign(&c)));
    let mut c = claims(&w, &bank.client_id, "c");
    c["exp"] = json!(now + 3600);
    cases.push(("ten minutes", k1.sign(&c)));
    let mut c = claims(&w, &bank.client_id, "d");
    c["nbf"] = json!(now + 600);
    cases.push(("not valid yet", k1.sign(&c)));
    let mut c = claims(&w, &bank.client_id, "e");
    c["iss"] = json!(other.client_id);
    cases.push(("must be the client ID", k1.sign(&c)));
    // Until the signature verifies, a known client's refusal is an unknown one's (issue 19,
    // finding 14): a wrong key, an unknown kid, a client without keys.
    let unknown = "client authentication failed";
    cases.push((unknown, stranger.sign(&claims(&w, &bank.client_id, "f"))));
    cases.push((
        unknown,
        ClientKey::new("k9").sign(&claims(&w, &bank.client_id, "g")),
    ));
    cases.push((unknown, k1.sign(&claims(&w, &other.client_id, "h"))));
    cases.push((
        "client authentication failed",
        k1.sign(&claims(&w, "rp_nobody", "i")),
    ));
    // alg "none", and an HMAC "signed" with the public key's text: both refused.
    let unsigned = format!(
        "{}.{}.",
        B64URL.encode(br#"{"alg":"none","kid":"k1"}"#),
        B64URL.encode(claims(&w, &bank.client_id, "j").to_string())
    );
    cases.push(("header", unsigned));
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let hmac = jsonwebtoken::encode(
        &hs,
        &claims(&w, &bank.client_id, "k"),
        &EncodingKey::from_secret(k1.jwk().to_string().as_bytes()).unwrap(),
    )
    .unwrap();
    cases.push((unknown, hmac));
    cases.push(("not a JWT", "garbage".into()));
    for (why, assertion) in cases {
        let (status, body) = with_assertion(&w, &assertion).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{why}: {body}"
        );
        let described = body["error_description"].as_str().unwrap();
        assert!(described.contains(why), "{why}: {described}");
        if why == unknown {
            assert_eq!(
                described, unknown,
                "nothing more than for an unknown client"
            );
        }
    }

    // Malformed requests.
    let good = k1.sign(&claims(&w, &bank.client_id, "z"));
    for (params, basic, status, error) in [
        (
            vec![
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", good.as_str()),
            ],
            None,
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", good.as_str()),
            ],
            None,
            400,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", good.as_str()),
            ],
            None,
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_assertion", good.as_str()),
            ],
            None,
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:x"),
                ("client_assertion", good.as_str()),
            ],
            None,
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", good.as_str()),
            ],
            Some(&bank),
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            Some(&bank),
            400,
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("scope", "openid")],
            Some(&bank),
            400,
            "invalid_scope",
        ),
        (
            vec![("grant_type", "client_credentials")],
            None,
            401,
            "invalid_client",
        ),
    ] {
        let (got, body, _) = token(&w, &params, basic).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{params:?}: {body}"
        );
    }
    let wrong = Client {
        secret: "wrong".into(),
        ..bank.clone()
    };
    let (status, body, headers) =
        token(&w, &[("grant_type", "client_credentials")], Some(&wrong)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(headers.contains_key("www-authenticate"));
    // The good assertion was never used by the refused requests around it.
    assert_eq!(with_assertion(&w, &good).await.0, 200);
    // A person's session is no client token.
    let card = card(&w).await;
    let session = login(&w, &card).await;
    assert_eq!(rp_with_token(&w, &session).await.0, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_rotate_and_bad_key_sets_are_refused() {
    let w = world().await;
    let (k1, k2) = (ClientKey::new("k1"), ClientKey::new("k2"));
    let (status, rp) = ops(
        &w,
        Method::POST,
        "/v1/ops/relying-parties",
        Some(json!({"name": "回転銀行", "kind": "business", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms", "jwks": {"keys": [k1.jwk()]}})),
    )
    .await;
    assert_eq!(status, 201, "{rp}");
    let bank = Client {
        id: rp["id"].as_i64().unwrap(),
        client_id: rp["client_id"].as_str().unwrap().to_owned(),
        secret: rp["client_secret"].as_str().unwrap().to_owned(),
    };
    // Pending: authenticated, but not allowed in.
    let (status, body) = with_assertion(&w, &k1.sign(&claims(&w, &bank.client_id, "p"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    ops(
        &w,
        Method::POST,
        &format!("/v1/ops/relying-parties/{}/approval", bank.id),
        None,
    )
    .await;
    assert_eq!(
        with_assertion(&w, &k1.sign(&claims(&w, &bank.client_id, "1")))
            .await
            .0,
        200
    );
    // Rotation: old and new together, then the new alone.
    assert_eq!(
        set_jwks(&w, &bank, json!({"keys": [k1.jwk(), k2.jwk()]}))
            .await
            .0,
        200
    );
    assert_eq!(
        with_assertion(&w, &k2.sign(&claims(&w, &bank.client_id, "2")))
            .await
            .0,
        200
    );
    assert_eq!(
        with_assertion(&w, &k1.sign(&claims(&w, &bank.client_id, "3")))
            .await
            .0,
        200
    );
    assert_eq!(
        set_jwks(&w, &bank, json!({"keys": [k2.jwk()]})).await.0,
        200
    );
    assert_eq!(
        with_assertion(&w, &k1.sign(&claims(&w, &bank.client_id, "4")))
            .await
            .0,
        401
    );
    assert_eq!(
        with_assertion(&w, &k2.sign(&claims(&w, &bank.client_id, "5")))
            .await
            .0,
        200
    );
    // Removed: only the secret is left.
    let (status, _) = ops(
        &w,
        Method::DELETE,
        &format!("/v1/ops/relying-parties/{}/jwks", bank.id),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        with_assertion(&w, &k2.sign(&claims(&w, &bank.client_id, "6")))
            .await
            .0,
        401
    );

    let mut private = k1.jwk();
    private["d"] = json!(B64URL.encode([1u8; 32]));
    let mut p384 = k1.jwk();
    p384["crv"] = json!("P-384");
    let mut encryption = k1.jwk();
    encryption["use"] = json!("enc");
    let mut no_kid = k1.jwk();
    no_kid.as_object_mut().unwrap().remove("kid");
    for (jwks, why) in [
        (json!({"keys": []}), "1 to 10"),
        (json!({"keys": [private]}), "private"),
        (json!({"keys": [k1.jwk(), k1.jwk()]}), "share"),
        (json!({"keys": [p384]}), "P-256"),
        (json!({"keys": [encryption]}), "sig"),
        (json!({"keys": [no_kid]}), "kid"),
        (json!({"nokeys": 1}), "keys"),
        (
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}),
            "",
        ),
    ] {
        let (status, body) = set_jwks(&w, &bank, jwks).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-jwks"),
            "{why}: {body}"
        );
        assert!(
            body["detail"].as_str().unwrap().contains(why),
            "{why}: {body}"
        );
    }
    let (status, _) = set_jwks(
        &w,
        &Client {
            id: 999_999,
            ..bank.clone()
        },
        json!({"keys": [k1.jwk()]}),
    )
    .await;
    assert_eq!(status, 404);
}

/// Forged `private_key_jwt` assertions naming a client slow that client down at the address
/// they come from, as wrong Basic secrets do — and only there.
#[tokio::test(flavor = "multi_thread")]
async fn forged_assertions_slow_their_client_down_at_their_address_only() {
    let w = world().await;
    let bank = relying_party(&w, "Bank").await;
    let url = serve_with_rates(
        &w,
        mykey_server::RateLimits {
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..Default::default()
        },
    )
    .await;
    let forger = ClientKey::new("forged");
    let forged = |from: &'static str, jti: &str| {
        w.http
            .post(format!("{url}/oidc/token"))
            .header("x-forwarded-for", from)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                (
                    "client_assertion",
                    &forger.sign(&claims(&w, &bank.client_id, jti)),
                ),
            ])
            .send()
    };
    for i in 0..=mykey_server::BAD_CREDENTIALS_FREE {
        let resp = forged("198.51.100.9", &format!("f-{i}")).await.unwrap();
        assert_eq!(resp.status(), 401);
    }
    let slowed = forged("198.51.100.9", "f-next").await.unwrap();
    assert_eq!(slowed.status(), 429);
    assert_eq!(slowed.headers()["retry-after"], "1");
    // Elsewhere the same client is not held back, by assertion or by secret.
    assert_eq!(
        forged("198.51.100.10", "f-there").await.unwrap().status(),
        401
    );
    let resp = w
        .http
        .post(format!("{url}/oidc/token"))
        .header("x-forwarded-for", "198.51.100.9")
        .basic_auth(&bank.client_id, Some(&bank.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        429,
        "the bank's own key at that address waits too"
    );
}
