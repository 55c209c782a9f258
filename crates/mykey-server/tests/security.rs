//! Findings of the attack on a running platform (issue 19) that the HTTP edge answers: each
//! reproduced, and now refused.

use mykey_platform::PlatformConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// Finding 14: answers with a session or personal data could be kept by a browser or a proxy,
/// and a platform reached over https did not tell browsers to stay on https.
#[tokio::test(flavor = "multi_thread")]
async fn personal_answers_are_never_cached_and_https_is_kept() {
    let w = world().await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    for path in [
        "/v1/me",
        "/v1/me/log",
        "/v1/me/export",
        "/v1/me/service-ids",
    ] {
        let r = w
            .http
            .get(format!("{}{path}", w.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "http: no HSTS"
        );
    }
    // Refusals too (they may name what was asked).
    let r = w.http.get(format!("{}/v1/me", w.url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["cache-control"], "no-store");
    // The framework's plain-text refusals, which echo what was sent, are never sniffed as a
    // page, framed or allowed to load anything; and /v1 itself refuses as the API does.
    let r = w
        .http
        .post(format!(
            "{}/portal/ppid-services/%3Cscript%3Ealert(1)%3C%2Fscript%3E/withdrawal",
            w.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let r = w.http.get(format!("{}/v1", w.url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    let https = world_configured(
        |_| {},
        PlatformConfig {
            issuer: "https://mykey.example".into(),
            ..PlatformConfig::default()
        },
    )
    .await;
    let r = https
        .http
        .get(format!("{}/health", https.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
}

/// Finding 3: a relying party made the platform POST to the in-process J-LIS's operator API
/// (`http://127.0.0.1:@other.host/` passed a prefix check; loopback was allowed), and read
/// what the target answered from its stream's status.
#[tokio::test(flavor = "multi_thread")]
async fn push_endpoints_are_https_on_the_public_internet() {
    let w = world_configured(
        |_| {},
        PlatformConfig {
            operator_token_hash: Some(PlatformConfig::hash_operator_token(OPERATOR_TOKEN)),
            ..PlatformConfig::default()
        },
    )
    .await;
    let bank = relying_party(&w, "詮索銀行").await;
    let jlis = w
        .jlis_config
        .base_url
        .trim_start_matches("http://")
        .to_owned();
    for url in [
        format!("http://{jlis}/v1/admin/cas/user-identification/rollover"),
        format!("http://127.0.0.1:@{jlis}/"),
        format!("https://127.0.0.1:@{jlis}/"),
        format!("https://{jlis}/"),
        "https://localhost/events".to_owned(),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://[::ffff:10.0.0.1]/".to_owned(),
        "https://user:secret@rp.example/".to_owned(),
    ] {
        let (status, body) = rp(
            &w,
            &bank,
            reqwest::Method::PUT,
            "/v1/rp/stream",
            Some(serde_json::json!({
                "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": url},
                "events_requested": ["urn:mykey:secevent:service-id-ended"],
            })),
        )
        .await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-stream"),
            "{url}: {body}"
        );
    }
    let (status, _) = rp(&w, &bank, reqwest::Method::GET, "/v1/rp/stream", None).await;
    assert_eq!(status, 404, "nothing configured");
}

/// Finding 5: a card revoked for key compromise kept logging in until the next delta CRL (15
/// minutes), and its sessions lived on. Now no login relies on a status older than 60 s
/// (OCSP when the CRLs are older), and the CRL that carries the revocation ends the sessions
/// made before it.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_stops_logins_within_a_minute_and_ends_earlier_sessions() {
    let w = world().await;
    let card = card(&w).await;
    let other = crate::harness::card(&w).await;
    let session = login(&w, &card).await;
    w.jlis
        .revoke(&mykey_jlis::api::RevokeRequest {
            serial: card.number.clone(),
            reason: "keyCompromise".into(),
        })
        .await
        .unwrap();
    // Within the bound the index (read before the revocation) still answers ...
    login(&w, &other).await;
    // ... past it, J-LIS is asked, whatever the CRLs' nextUpdate says.
    // (The test clock may lag the real one, on which J-LIS signs, by up to a second.)
    w.clock.advance(mykey_server::MAX_STATUS_AGE + 3);
    let nonce = challenge(&w).await;
    let (status, body) = post(&w, "/v1/auth/responses", None, answer_for(&card, &nonce)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:certificate-revoked"),
        "{body}"
    );
    let other_session = login(&w, &other).await;
    assert!(
        log_kinds(&w, &other_session)
            .await
            .iter()
            .any(|k| k == "jlis.query")
    );
    assert_eq!(
        call(&w, reqwest::Method::GET, "/v1/me", Some(&session))
            .await
            .0,
        200
    );

    // J-LIS publishes; the platform reads the CRL and ends what the card opened before.
    w.jlis.publish_crls().await.unwrap();
    let read = w.port.refresh().await;
    assert!(w.platform.end_sessions_of_revoked(&read).await.unwrap() >= 1);
    assert_eq!(
        call(&w, reqwest::Method::GET, "/v1/me", Some(&session))
            .await
            .0,
        401
    );
    assert_eq!(
        call(&w, reqwest::Method::GET, "/v1/me", Some(&other_session))
            .await
            .0,
        200
    );
    // Reading it again ends nothing more.
    assert_eq!(w.platform.end_sessions_of_revoked(&read).await.unwrap(), 0);
}

/// Finding 4: unfinished request lines, dripped bodies and idle keep-alive connections stayed
/// open, and one host could take every connection.
#[tokio::test(flavor = "multi_thread")]
async fn slow_and_greedy_clients_are_cut_off() {
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = mykey_server::Limits {
        header: Duration::from_secs(1),
        request: Duration::from_secs(2),
        per_source: 3,
        total: 100,
        in_flight: 100,
        ..mykey_server::Limits::default()
    };
    let app = mykey_server::app(w.platform.clone());
    tokio::spawn(mykey_server::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    let connect = || async { tokio::net::TcpStream::connect(addr).await.unwrap() };
    // Reads until the server closes; answers what it sent and how long that took.
    async fn until_closed(s: &mut tokio::net::TcpStream) -> (String, Duration) {
        let started = Instant::now();
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
                Err(_) => panic!("still open after 10 s"),
            }
        }
        (
            String::from_utf8_lossy(&all).into_owned(),
            started.elapsed(),
        )
    }

    // An unfinished request line.
    let mut s = connect().await;
    s.write_all(b"GET /heal").await.unwrap();
    let (_, took) = until_closed(&mut s).await;
    assert!(took < Duration::from_secs(3), "{took:?}");

    // An idle keep-alive connection, after one answered request.
    let mut s = connect().await;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (said, took) = until_closed(&mut s).await;
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // A body dripped: 408, and closed.
    let mut s = connect().await;
    s.write_all(
        b"POST /v1/auth/challenges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let (said, took) = until_closed(&mut s).await;
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert!(said.contains("urn:mykey:problem:request-timeout"), "{said}");
    assert!(took < Duration::from_secs(4), "{took:?}");

    // Three connections from one address are served; a fourth is closed at once.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect().await;
        s.write_all(b"GET /hea").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = connect().await;
    let _ = fourth
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let (said, took) = until_closed(&mut fourth).await;
    assert!(
        said.is_empty() && took < Duration::from_millis(500),
        "{said} {took:?}"
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = connect().await;
    again
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (said, _) = until_closed(&mut again).await;
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
}

/// Finding 12: the trust anchors were read once at start, so a legitimate CA rollover at J-LIS
/// kept every new card out until a restart.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_ca_generation_is_checked_and_trusted_without_a_restart() {
    let w = world().await;
    for purpose in ["user-identification", "signature"] {
        let r = w
            .http
            .post(format!(
                "{}/v1/admin/cas/{purpose}/rollover",
                w.jlis_config.base_url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let card = card(&w).await;
    let nonce = challenge(&w).await;
    let (status, body) = post(&w, "/v1/auth/responses", None, answer_for(&card, &nonce)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (401, "urn:mykey:problem:certificate-refused"),
        "not yet known: {body}"
    );
    let new = w.port.refresh_cas().await;
    assert_eq!(new.len(), 2);
    for ca in new {
        assert!(w.platform.trust_ca(ca));
    }
    assert!(w.port.refresh_cas().await.is_empty(), "each is learnt once");
    w.clock.catch_up();
    w.port.refresh().await;
    login(&w, &card).await;
}

/// Finding 9: the log came whole, however long relying parties had made it; now in pages,
/// cursor by cursor.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_comes_in_pages() {
    let w = world().await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    for _ in 0..3 {
        login(&w, &card).await;
    }
    let (_, whole) = call(&w, reqwest::Method::GET, "/v1/me/log", Some(&token)).await;
    let whole = whole["entries"].as_array().unwrap().clone();
    assert!(whole.len() >= 5, "{whole:?}");
    let mut seen = Vec::new();
    let mut path = "/v1/me/log?limit=2".to_owned();
    loop {
        let (status, page) = call(&w, reqwest::Method::GET, &path, Some(&token)).await;
        assert_eq!(status, 200, "{page}");
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 2);
        seen.extend(entries.iter().cloned());
        match page["next"].as_str() {
            Some(n) => {
                assert!(page["head"].is_null());
                path = format!("/v1/me/log?limit=2&after={n}");
            }
            None => {
                assert_eq!(page["head"], entries.last().unwrap()["hash"]);
                break;
            }
        }
    }
    assert_eq!(seen, whole);
    for bad in ["limit=0", "limit=1001", "after=x", "before=3"] {
        let (status, body) = call(
            &w,
            reqwest::Method::GET,
            &format!("/v1/me/log?{bad}"),
            Some(&token),
        )
        .await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-request"),
            "{bad}: {body}"
        );
    }
}

/// Finding 9: the export built the whole log into one answer. Now it holds the first page and a
/// cursor; the portal's download streams every page into one complete file.
#[tokio::test(flavor = "multi_thread")]
async fn the_export_pages_its_log_and_the_download_streams_it_whole() {
    let w = world().await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    let person = w.platform.authenticate(&token).await.unwrap().person;
    let page = mykey_platform::MAX_LOG_PAGE;
    for i in 0..page + 50 {
        let log = mykey_platform::NewLog::new(
            mykey_platform::LogKind::JlisQuery,
            serde_json::json!({"i": i}),
        );
        w.platform
            .store()
            .append_log(person, w.platform.now(), &log)
            .await
            .unwrap();
    }
    let (status, export) = call(&w, reqwest::Method::GET, "/v1/me/export", Some(&token)).await;
    assert_eq!(status, 200);
    let first = export["log"]["entries"].as_array().unwrap().clone();
    assert_eq!(first.len(), page);
    let next = export["log"]["next"].as_str().unwrap();
    let (_, rest) = call(
        &w,
        reqwest::Method::GET,
        &format!("/v1/me/log?after={next}&limit={page}"),
        Some(&token),
    )
    .await;
    let rest = rest["entries"].as_array().unwrap().clone();
    let newest = rest.last().unwrap();
    assert_eq!(newest["kind"], "export.downloaded");
    assert_eq!(export["log"]["head"], newest["hash"]);
    let mut all: Vec<serde_json::Value> = first.into_iter().chain(rest).collect();

    // The portal's download (the same session as a cookie) is the whole log in one file.
    let resp = w
        .http
        .get(format!("{}/portal/export", w.url))
        .header("cookie", format!("mykey-session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let file: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    let entries = file["log"]["entries"].as_array().unwrap();
    // Everything before, and the download's own entry, which its head names.
    all.push(entries.last().unwrap().clone());
    assert_eq!(entries, &all);
    assert_eq!(file["log"]["head"], entries.last().unwrap()["hash"]);
    assert_eq!(file["log"]["next"], serde_json::Value::Null);
    assert_eq!(file["format"], "mykey-export-v1");
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_of_the_json_api_is_a_problem_document() {
    let w = world().await;
    // No route, no such method, a path that is not text: none of them made by a handler.
    for (method, path, status, kind) in [
        (Method::GET, "/v1/no-such-thing", 404, "not-found"),
        (
            Method::DELETE,
            "/v1/auth/challenges",
            405,
            "method-not-allowed",
        ),
        (
            Method::GET,
            "/v1/link-requests/%FF%FE",
            400,
            "invalid-request",
        ),
    ] {
        let (got, body) = send(&w, method.clone(), path, None, None).await;
        assert_eq!(got, status, "{method} {path}: {body}");
        assert_eq!(
            problem_type(&body),
            format!("urn:mykey:problem:{kind}"),
            "{method} {path}: {body}"
        );
        assert_eq!(body["status"], status, "{body}");
    }
    // The pages and the OAuth endpoints keep their own answers.
    let (status, body) = send(&w, Method::GET, "/portal/no-such-page", None, None).await;
    assert_eq!(status, 404);
    assert!(problem_type(&body).is_empty(), "{body}");
}

/// A request body is a JSON object: serde would read a struct from an array by position (past
/// `deny_unknown_fields`) or take `null` and `[]` as nothing; each is refused, and nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_a_json_object_is_refused_and_changes_nothing() {
    let w = world().await;
    let bank = relying_party(&w, "配列銀行").await;
    let (_card, token) = linked(&w, &bank, "C-1").await;
    let (_, before) = call(&w, reqwest::Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    for (method, path, body) in [
        (
            reqwest::Method::PUT,
            "/v1/me/my-key-id",
            json!(["ZZZZZZZ1"]),
        ),
        (reqwest::Method::PUT, "/v1/me/my-key-id", json!(null)),
        (reqwest::Method::PUT, "/v1/me/my-key-id", json!([])),
    ] {
        let resp = w
            .http
            .request(method, format!("{}{path}", w.url))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422, "{path} {body}");
        let problem: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(
            problem["type"], "urn:mykey:problem:invalid-request",
            "{problem}"
        );
    }
    let (_, after) = call(&w, reqwest::Method::GET, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(before, after);
    let (status, body) = rp(
        &w,
        &bank,
        reqwest::Method::POST,
        "/v1/rp/service-id-requests",
        Some(json!(["E-77"])),
    )
    .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (422, Some("the body must be a JSON object")),
        "{body}"
    );
    let (_, links) = rp(&w, &bank, reqwest::Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(links["service_ids"].as_array().unwrap().len(), 1, "{links}");
}

/// Issue 23.6: past the requests in flight the listener allows, one more is refused at once —
/// 503, `Retry-After`, problem `overloaded` — not queued; the health endpoints still answer,
/// and once the slot is free the next request is served.
#[tokio::test(flavor = "multi_thread")]
async fn past_the_requests_in_flight_one_more_is_refused_at_once() {
    use std::time::{Duration, Instant};

    use tokio::io::AsyncWriteExt;

    let w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = mykey_server::Limits {
        request: Duration::from_secs(30),
        in_flight: 1,
        ..mykey_server::Limits::default()
    };
    let app = mykey_server::app(w.platform.clone());
    tokio::spawn(mykey_server::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    // The one slot: a request whose body is still coming.
    let mut holder = tokio::net::TcpStream::connect(addr).await.unwrap();
    holder
        .write_all(
            b"POST /v1/auth/challenges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let http = reqwest::Client::new();
    let url = format!("http://{addr}");
    let started = Instant::now();
    let refused = http
        .post(format!("{url}/v1/auth/challenges"))
        .json(&serde_json::json!({"purpose": "login"}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "urn:mykey:problem:overloaded");
    // At once: queued, it would have waited for the held request's limit (30 s).
    assert!(took < Duration::from_secs(10), "{took:?}");
    let health = http.get(format!("{url}/health/live")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // The held request's client hangs up: the slot is free again.
    drop(holder);
    let mut served = 0;
    for _ in 0..50 {
        served = http
            .post(format!("{url}/v1/auth/challenges"))
            .json(&serde_json::json!({"purpose": "login"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if served != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served, 201);
}

/// Art 9.2 at the door: a source past its rate is refused at once with 429 and Retry-After;
/// behind a trusted proxy each client's forwarded address has its own bucket, and an untrusted
/// peer's `X-Forwarded-For` is not believed; a client that keeps presenting bad credentials
/// from one address is made to wait there, and nowhere else.
#[tokio::test(flavor = "multi_thread")]
async fn rates_per_source_and_bad_credentials_are_held_at_the_door() {
    let w = world().await;
    let bank = relying_party(&w, "Bank").await;
    let per_source = mykey_server::Rate {
        per_second: 0.5,
        burst: 5.0,
    };
    let url = serve_with_rates(
        &w,
        mykey_server::RateLimits {
            per_source: Some(per_source),
            ..Default::default()
        },
    )
    .await;
    let get = |forwarded: Option<&'static str>| {
        let mut r = w.http.get(format!("{url}/v1/terms"));
        if let Some(f) = forwarded {
            r = r.header("x-forwarded-for", f);
        }
        r.send()
    };
    for _ in 0..5 {
        assert_eq!(get(None).await.unwrap().status(), 200);
    }
    let refused = get(None).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "2");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "urn:mykey:problem:rate-limited");
    // Not from a trusted proxy: a forwarded address changes nothing.
    assert_eq!(get(Some("198.51.100.1")).await.unwrap().status(), 429);
    // The health endpoints are never refused.
    assert_eq!(
        w.http
            .get(format!("{url}/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Behind a trusted proxy (loopback here): each forwarded client its own bucket.
    let url = serve_with_rates(
        &w,
        mykey_server::RateLimits {
            per_source: Some(per_source),
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..Default::default()
        },
    )
    .await;
    let get = |forwarded: &'static str| {
        w.http
            .get(format!("{url}/v1/terms"))
            .header("x-forwarded-for", forwarded)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(get("198.51.100.1").await.unwrap().status(), 200);
    }
    assert_eq!(get("198.51.100.1").await.unwrap().status(), 429);
    // What the client claimed before the proxy's own hop is its own word: not believed.
    assert_eq!(
        get("203.0.113.50, 198.51.100.1").await.unwrap().status(),
        429
    );
    assert_eq!(get("198.51.100.2").await.unwrap().status(), 200);

    // Bad credentials: five failures are answered as such; then the client waits, from that
    // address only, even with the right secret.
    let url = serve_with_rates(
        &w,
        mykey_server::RateLimits {
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..Default::default()
        },
    )
    .await;
    let list = |secret: &str, from: &'static str| {
        w.http
            .get(format!("{url}/v1/rp/service-ids"))
            .basic_auth(&bank.client_id, Some(secret))
            .header("x-forwarded-for", from)
            .send()
    };
    for _ in 0..=mykey_server::BAD_CREDENTIALS_FREE {
        assert_eq!(list("wrong", "198.51.100.9").await.unwrap().status(), 401);
    }
    let slowed = list(&bank.secret, "198.51.100.9").await.unwrap();
    assert_eq!(slowed.status(), 429);
    assert_eq!(slowed.headers()["retry-after"], "1");
    assert_eq!(
        list(&bank.secret, "198.51.100.10").await.unwrap().status(),
        200
    );
    // Each further failure doubles the wait.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(list("wrong", "198.51.100.9").await.unwrap().status(), 401);
    assert_eq!(
        list(&bank.secret, "198.51.100.9").await.unwrap().headers()["retry-after"],
        "2"
    );
}

/// Someone who knows only a client's ID cannot spend its rate: the per-client bucket is the
/// credentials' as presented, and a wrong secret is a bucket of its own (and slowed down).
#[tokio::test(flavor = "multi_thread")]
async fn a_client_s_rate_is_its_own() {
    let w = world().await;
    let bank = relying_party(&w, "Bank").await;
    let url = serve_with_rates(
        &w,
        mykey_server::RateLimits {
            per_client: Some(mykey_server::Rate {
                per_second: 0.5,
                burst: 3.0,
            }),
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..Default::default()
        },
    )
    .await;
    let list = |secret: &str, from: &'static str| {
        w.http
            .get(format!("{url}/v1/rp/service-ids"))
            .basic_auth(&bank.client_id, Some(secret))
            .header("x-forwarded-for", from)
            .send()
    };
    // Someone else, with the ID and no secret, from other addresses: their own buckets.
    for from in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
    ] {
        for _ in 0..3 {
            list("", from).await.unwrap();
        }
    }
    for _ in 0..3 {
        assert_eq!(
            list(&bank.secret, "203.0.113.1").await.unwrap().status(),
            200
        );
    }
    assert_eq!(
        list(&bank.secret, "203.0.113.1").await.unwrap().status(),
        429
    );
}

/// Once a relying party is known, its requests share one rate however it authenticates: its
/// access tokens are not each a fresh bucket, nor is the token endpoint that issues them; and
/// another relying party is not held back by it.
#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_s_tokens_share_its_rate() {
    let w = world().await;
    let bank = relying_party(&w, "Bank").await;
    let shop = relying_party(&w, "Shop").await;
    let url = serve_with_rates(
        &w,
        mykey_server::RateLimits {
            per_client: Some(mykey_server::Rate {
                per_second: 0.05,
                burst: 4.0,
            }),
            ..Default::default()
        },
    )
    .await;
    let token = |client: &Client| {
        w.http
            .post(format!("{url}/oidc/token"))
            .basic_auth(&client.client_id, Some(&client.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let list = |bearer: String| {
        w.http
            .get(format!("{url}/v1/rp/service-ids"))
            .bearer_auth(bearer)
            .send()
    };
    // Two tokens, each used once: four of the bank's requests.
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let resp = token(&bank).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        tokens.push(body["access_token"].as_str().unwrap().to_owned());
    }
    for t in &tokens {
        assert_eq!(list(t.clone()).await.unwrap().status(), 200);
    }
    // Each token and the Basic credentials still have room at the door; the bank has none.
    let refused = list(tokens[0].clone()).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        (body["type"].as_str(), body["detail"].as_str()),
        (
            Some("urn:mykey:problem:rate-limited"),
            Some("too many requests from this relying party; try again later")
        )
    );
    let refused = token(&bank).await.unwrap();
    assert_eq!(refused.status(), 429);
    // The shop is another relying party.
    assert_eq!(token(&shop).await.unwrap().status(), 200);
}
