use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mykey_jlis::api::RevokeRequest;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_card_logs_in_and_manages_its_my_key_id_and_reads_its_log() {
    let w = world().await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    let (status, me) = call(&w, Method::GET, "/v1/me", Some(&token)).await;
    assert_eq!(
        (status, me["my_key_id"].clone()),
        (200, serde_json::Value::Null)
    );

    // Creating one accepts Art 16.1 under the terms in force: the platform says what, and
    // refuses a creation that does not name exactly that, creating nothing.
    let (status, asked) = call(&w, Method::GET, "/v1/me/my-key-id/consent", Some(&token)).await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(asked["terms_version"], "2026-11-01");
    let names: Vec<&str> = asked["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "my-key-id.validity-check",
            "my-key-id.previous-issuance-numbers",
            "my-key-id.jlis-previous-number-search"
        ]
    );
    let mut partial = my_key_id_creation();
    partial["consent"]["items"] = json!(["my-key-id.validity-check"]);
    let mut old_terms = my_key_id_creation();
    old_terms["consent"]["terms_version"] = json!("1999-01-01");
    for bad in [partial, old_terms] {
        let (status, body) = post(&w, "/v1/me/my-key-id", Some(&token), bad).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:consent-incomplete"),
            "{body}"
        );
    }
    let (status, body) = post(&w, "/v1/me/my-key-id", Some(&token), json!({})).await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:invalid-request"),
        "{body}"
    );
    let (_, me) = call(&w, Method::GET, "/v1/me", Some(&token)).await;
    assert_eq!(me["my_key_id"], serde_json::Value::Null, "nothing created");

    let (status, created) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 8);
    let (status, body) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:my-key-id-already-active")
    );
    let changed = w
        .http
        .put(format!("{}/v1/me/my-key-id", w.url))
        .bearer_auth(&token)
        .json(&json!({"id": "ab12cd34"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let (_, shown) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(shown["id"], "AB12CD34");
    let (status, _) = call(&w, Method::DELETE, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 204);
    let (status, body) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:no-my-key-id")
    );

    let (status, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "jlis.query",
            "person.created",
            "login",
            "my-key-id.created",
            "my-key-id.changed",
            "my-key-id.revoked"
        ]
    );
    let (_, verdict) = call(&w, Method::GET, "/v1/me/log/verify", Some(&token)).await;
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["head"], log["head"]);
    // Issuance numbers never leave the platform.
    for body in [&me, &log, &verdict, &shown] {
        assert!(!body.to_string().contains(&card.number), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_expired_forged_and_foreign_answers_are_refused_and_store_nothing() {
    let w = world().await;
    let card = card(&w).await;
    let nonce = challenge(&w).await;
    // Forged: signed over something else.
    let mut forged = answer_for(&card, &nonce);
    forged["signature"] = json!(B64.encode(card.key.sign(b"something else")));
    let (status, body) = post(&w, "/v1/auth/responses", None, forged).await;
    assert_eq!(
        (status, problem_type(&body)),
        (401, "urn:mykey:problem:certificate-refused"),
        "{body}"
    );
    // The challenge was spent by that attempt: replaying it, even correctly signed, is refused.
    let (status, body) = post(&w, "/v1/auth/responses", None, answer_for(&card, &nonce)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:challenge-unknown")
    );
    // Expired.
    let nonce = challenge(&w).await;
    w.clock.advance(121);
    let (status, body) = post(&w, "/v1/auth/responses", None, answer_for(&card, &nonce)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:challenge-expired")
    );
    // A certificate from a CA the platform does not trust.
    let stranger_key = mykey_pki::issue::SigningKey::generate().unwrap();
    let stranger = mykey_pki::issue::ca_certificate(
        &stranger_key,
        mykey_pki::Purpose::UserIdentification,
        mykey_pki::IssuanceNumber::from_u64(9).unwrap(),
        w.clock_now().minus(3600),
        w.clock_now().plus(86_400),
    )
    .unwrap();
    let foreign = mykey_pki::issue::end_entity_certificate(
        &stranger_key,
        &stranger,
        &mykey_pki::issue::EndEntity {
            purpose: mykey_pki::Purpose::UserIdentification,
            serial: mykey_pki::IssuanceNumber::from_u64(77).unwrap(),
            subject_cn: "X",
            spki_der: key().spki_der(),
            not_before: w.clock_now().minus(60),
            not_after: w.clock_now().plus(86_400),
            facts: None,
            urls: &Default::default(),
        },
    )
    .unwrap();
    let nonce = challenge(&w).await;
    let mut body = answer_for(&card, &nonce);
    body["certificate"] = json!(B64.encode(&foreign));
    let (status, resp) = post(&w, "/v1/auth/responses", None, body).await;
    assert_eq!(
        (status, problem_type(&resp)),
        (401, "urn:mykey:problem:certificate-refused"),
        "{resp}"
    );
    // Malformed and oversized bodies.
    let resp = w
        .http
        .post(format!("{}/v1/auth/responses", w.url))
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = w
        .http
        .post(format!("{}/v1/auth/challenges", w.url))
        .header("content-type", "application/json")
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let (status, _) = post(
        &w,
        "/v1/auth/challenges",
        None,
        json!({"purpose": "anything"}),
    )
    .await;
    assert_eq!(status, 422);
    // None of it created a person.
    let n: mykey_pki::IssuanceNumber = card.number.parse().unwrap();
    assert_eq!(
        w.platform
            .store()
            .person_by_issuance_number(n)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_certificate_is_refused_from_the_crl_index() {
    let w = world().await;
    let card = card(&w).await;
    w.jlis
        .revoke(&RevokeRequest {
            serial: card.number.clone(),
            reason: "keyCompromise".into(),
        })
        .await
        .unwrap();
    w.jlis.publish_crls().await.unwrap();
    // The new CRL's thisUpdate is J-LIS's (real) now: not in the platform's future.
    w.clock.catch_up();
    w.port.refresh().await;
    let nonce = challenge(&w).await;
    let (status, body) = post(&w, "/v1/auth/responses", None, answer_for(&card, &nonce)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:certificate-revoked"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewed_card_leads_to_the_same_person() {
    let w = world().await;
    let old = card(&w).await;
    let token = login(&w, &old).await;
    let (_, created) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    let new = renewed(&w, &old).await;
    let token = login(&w, &new).await;
    let (_, me) = call(&w, Method::GET, "/v1/me", Some(&token)).await;
    assert_eq!(me["my_key_id"]["id"], created["id"]);
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    assert!(log.to_string().contains("card.renewed"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_jlis_a_fresh_index_still_serves_and_a_stale_one_fails_closed() {
    let mut w = world().await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    assert!(!token.is_empty());
    w.stop_jlis().await;
    // Known person, fresh index: no J-LIS needed.
    login(&w, &card).await;
    // Past the delta CRL's nextUpdate with J-LIS gone: refused, quickly, with Retry-After.
    w.clock.advance(2 * 3600);
    let nonce = challenge(&w).await;
    let started = std::time::Instant::now();
    let resp = w
        .http
        .post(format!("{}/v1/auth/responses", w.url))
        .json(&answer_for(&card, &nonce))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread")]
async fn me_needs_a_valid_session() {
    let w = world().await;
    let (status, body) = call(&w, Method::GET, "/v1/me", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (401, "urn:mykey:problem:unauthenticated")
    );
    let (status, _) = call(&w, Method::GET, "/v1/me/log", Some("not-a-token")).await;
    assert_eq!(status, 401);
    let card = card(&w).await;
    let token = login(&w, &card).await;
    w.clock.advance(901);
    let (status, _) = call(&w, Method::GET, "/v1/me", Some(&token)).await;
    assert_eq!(status, 401);
}

trait Now {
    fn clock_now(&self) -> mykey_pki::UnixTime;
}

impl Now for World {
    fn clock_now(&self) -> mykey_pki::UnixTime {
        mykey_platform::Clock::now(self.clock.as_ref())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_index_falls_back_to_ocsp_and_the_query_is_logged() {
    // Complete and delta CRLs valid for seconds: the index goes stale while J-LIS stays up,
    // whether or not the delta was still in time when the node read it (on a loaded machine
    // it may not be, and then the complete CRL alone bounds the index).
    let w = world_with(|c| {
        c.crl_period = 2;
        c.delta_crl_period = 1;
    })
    .await;
    let card = card(&w).await;
    // The index was read when the node was assembled, its delta good for one second of the
    // simulator's (real) time: past that by the platform's clock, however long the assembly took
    // on a loaded machine, the index is stale. Well past it: a refresh the index makes
    // meanwhile (a delta valid one second from the simulator's real now) must still be stale
    // by the platform's clock however slowly this test runs (CI once took over two seconds).
    w.clock.catch_up();
    w.clock.advance(30);
    let token = login(&w, &card).await;
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let ocsp = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "jlis.query" && e["detail"]["service"] == "ocsp");
    assert!(ocsp, "{log}");
    // And a revocation is seen through OCSP once the answer kept for the card is older than
    // the bound (60 s).
    w.jlis
        .revoke(&RevokeRequest {
            serial: card.number.clone(),
            reason: "superseded".into(),
        })
        .await
        .unwrap();
    w.clock.advance(mykey_server::MAX_STATUS_AGE + 3);
    let nonce = challenge(&w).await;
    let (status, body) = post(&w, "/v1/auth/responses", None, answer_for(&card, &nonce)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:certificate-revoked"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platform_recovers_by_itself_when_jlis_returns() {
    // Delta CRLs valid for two seconds, so the index goes stale quickly while J-LIS is away.
    let mut w = world_with(|c| c.delta_crl_period = 2).await;
    let card = card(&w).await;
    login(&w, &card).await;
    w.stop_jlis().await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    w.clock.advance(3);
    let nonce = challenge(&w).await;
    let (status, body) = post(&w, "/v1/auth/responses", None, answer_for(&card, &nonce)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (503, "urn:mykey:problem:jlis-unavailable")
    );
    // J-LIS comes back: no restart or operator action on the platform's side.
    w.restart_jlis().await;
    login(&w, &card).await;
    // And the background refresh brings the index back to fresh.
    w.port.refresh().await;
    login(&w, &card).await;
}

/// Readiness tells the truth: ready with a fresh index; not ready (503, with the reason) once
/// the index is older than the limit, while liveness stays ok.
#[tokio::test(flavor = "multi_thread")]
async fn readiness_fails_when_the_revocation_index_is_stale_past_its_limit() {
    let w = world_with(|c| c.delta_crl_period = 1).await;
    w.clock.catch_up();
    let (status, body) = call(&w, Method::GET, "/health/ready", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["revocation_index"], "fresh");
    // Past five minutes (the default limit) by the platform's clock, with nothing refreshed.
    w.clock.advance(301);
    let (status, body) = call(&w, Method::GET, "/health/ready", None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["revocation_index"], "stale");
    assert!(body["revocation_index_age_secs"].as_u64().unwrap() > 300);
    let (status, _) = call(&w, Method::GET, "/health/live", None).await;
    assert_eq!(status, 200);
}

/// With J-LIS unreachable, logins fail closed once the index is past the 60 s bound — unless
/// the operator set an outage grace: within it the index answers as of its newest CRL (a card
/// revoked before then is still refused, and no J-LIS query is logged), past it logins fail
/// closed again.
#[tokio::test(flavor = "multi_thread")]
async fn an_outage_grace_lets_the_index_answer_while_jlis_is_away() {
    let mut w = world_with(|c| c.delta_crl_period = 2).await;
    let card = card(&w).await;
    let revoked = crate::harness::card(&w).await;
    login(&w, &revoked).await;
    w.jlis
        .revoke(&RevokeRequest {
            serial: revoked.number.clone(),
            reason: "keyCompromise".into(),
        })
        .await
        .unwrap();
    w.jlis.publish_crls().await.unwrap();
    w.clock.catch_up();
    w.port.refresh().await;
    let token = login(&w, &card).await;
    w.stop_jlis().await;
    w.clock.advance(mykey_server::MAX_STATUS_AGE + 30);
    async fn answer(w: &World, c: &Card) -> (u16, serde_json::Value) {
        let nonce = challenge(w).await;
        post(w, "/v1/auth/responses", None, answer_for(c, &nonce)).await
    }
    let (status, body) = answer(&w, &card).await;
    assert_eq!(
        (status, problem_type(&body)),
        (503, "urn:mykey:problem:jlis-unavailable")
    );
    w.port.set_outage_grace(600);
    let (status, body) = answer(&w, &card).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = answer(&w, &revoked).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:certificate-revoked")
    );
    // Past the grace: closed again.
    w.clock.advance(600);
    let (status, body) = answer(&w, &card).await;
    assert_eq!(
        (status, problem_type(&body)),
        (503, "urn:mykey:problem:jlis-unavailable")
    );
    drop(token);
}
