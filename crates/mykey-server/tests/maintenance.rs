//! Maintenance windows (Terms Art 9.3): announced ahead or urgently, shown and told, honoured
//! with 503 and Retry-After for the functions they name and no others, ended early.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

const HOUR: u64 = 3600;

async fn announce(w: &World, body: Value) -> (u16, Value) {
    ops(w, Method::POST, "/v1/ops/maintenance-windows", Some(body)).await
}

fn notice() -> Value {
    json!({"en": "Card login is being upgraded.", "ja": "カードログインを更新しています。"})
}

/// The events `client` has waiting, as (type URI, sub_id, payload), acknowledging them.
async fn events(w: &World, client: &Client) -> Vec<(String, Value, Value)> {
    let (status, got) = rp(w, client, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    assert_eq!(status, 200, "{got}");
    let sets = got["sets"].as_object().unwrap();
    let mut out = Vec::new();
    for set in sets.values() {
        let payload = set.as_str().unwrap().split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        let (uri, detail) = claims["events"].as_object().unwrap().iter().next().unwrap();
        out.push((uri.clone(), claims["sub_id"].clone(), detail.clone()));
    }
    let ack: Vec<&String> = sets.keys().collect();
    rp(
        w,
        client,
        Method::POST,
        "/v1/rp/events",
        Some(json!({"ack": ack})),
    )
    .await;
    out
}

/// A request over the socket: status, `Retry-After`, content type and body text.
async fn raw(
    w: &World,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Option<u64>, String, String) {
    let mut req = w.http.request(method, format!("{}{path}", w.url));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, retry, kind, resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_is_announced_ahead_takes_down_only_its_functions_and_can_end_early() {
    let w = world().await;
    let bank = relying_party(&w, "Bank").await;

    // Less than 24 hours' notice: refused, with the earliest start said.
    let (status, body) = announce(
        &w,
        json!({"starts_at": at(&w, HOUR), "ends_at": at(&w, 2 * HOUR), "functions": ["card-login"], "notice": notice()}),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:maintenance-notice-too-short"),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(&at(&w, 24 * HOUR)),
        "{body}"
    );
    // Malformed: each a precise 422, nothing kept, nobody told.
    let day = 24 * HOUR;
    for bad in [
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 2 * day + HOUR), "functions": [], "notice": notice()}),
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 2 * day + HOUR), "functions": ["ops"], "notice": notice()}),
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 2 * day), "functions": ["oidc"], "notice": notice()}),
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 9 * day + 1), "functions": ["oidc"], "notice": notice()}),
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 2 * day + HOUR), "functions": ["oidc"], "notice": {"en": "Down", "ja": ""}}),
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 2 * day + HOUR), "functions": ["oidc"], "notice": {"en": "Down"}}),
        json!({"starts_at": "tomorrow", "ends_at": at(&w, 2 * day + HOUR), "functions": ["oidc"], "notice": notice()}),
        json!({"ends_at": at(&w, HOUR), "functions": ["oidc"], "notice": notice()}),
        json!({"ends_at": at(&w, HOUR), "functions": ["oidc"], "notice": notice(), "urgent": true}),
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 2 * day + HOUR), "functions": ["oidc"], "notice": notice(), "reason": "r"}),
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 2 * day + HOUR), "functions": ["oidc"], "notice": notice(), "urgent": true, "reason": "fire"}),
    ] {
        let (status, body) = announce(&w, bad.clone()).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-request"),
            "{bad} → {body}"
        );
    }
    let (status, list) = call(&w, Method::GET, "/v1/maintenance-windows", None).await;
    assert_eq!(
        (status, list["windows"].as_array().unwrap().len()),
        (200, 0)
    );
    assert!(events(&w, &bank).await.is_empty());

    // A planned window two days ahead, for card login and the point programme.
    let (status, window) = announce(
        &w,
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 2 * day + 2 * HOUR), "functions": ["points", "card-login", "points"], "notice": notice()}),
    )
    .await;
    assert_eq!(status, 201, "{window}");
    assert_eq!(window["functions"], json!(["card-login", "points"]));
    assert_eq!(
        (window["in_effect"].as_bool(), window["urgent"].as_bool()),
        (Some(false), Some(false))
    );
    let id = window["id"].as_i64().unwrap();
    let (_, list) = call(&w, Method::GET, "/v1/maintenance-windows", None).await;
    assert_eq!(list["windows"], json!([window]));
    // Every approved relying party is told, about the window and no one.
    let told = events(&w, &bank).await;
    assert_eq!(told.len(), 1, "{told:?}");
    let (uri, sub, detail) = &told[0];
    assert_eq!(uri, "urn:mykey:secevent:maintenance-announced");
    assert_eq!(
        sub,
        &json!({"format": "opaque", "id": format!("maintenance-window-{id}")})
    );
    assert_eq!(detail["functions"], json!(["card-login", "points"]));
    assert_eq!(detail["notice"], notice());
    assert_eq!(detail["urgent"], false);
    // The portal's login page (a page people reach before logging in) shows it, coming.
    let (status, _, _, page) = raw(&w, Method::GET, "/portal/login", None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("カードログインを更新しています。") && !page.contains("data-in-effect"),
        "{page}"
    );

    // Not yet in effect: card login works.
    challenge(&w).await;
    // In effect: card login and the programme answer 503 until the window's end; the rest works.
    w.clock.advance(2 * day);
    let (status, retry, kind, body) = raw(
        &w,
        Method::POST,
        "/v1/auth/challenges",
        Some(json!({"purpose": "login"})),
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (503, "application/problem+json"),
        "{body}"
    );
    assert_eq!(retry, Some(2 * HOUR));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem_type(&body), "urn:mykey:problem:maintenance");
    assert!(
        body["detail"].as_str().unwrap().contains(&at(&w, 2 * HOUR))
            && body["detail"]
                .as_str()
                .unwrap()
                .contains("Card login is being upgraded."),
        "{body}"
    );
    let (status, _) = call(&w, Method::GET, "/v1/point-programme", None).await;
    assert_eq!(status, 503);
    for open in [
        "/v1/terms",
        "/v1/maintenance-windows",
        "/health/live",
        "/oidc/jwks",
    ] {
        assert_eq!(call(&w, Method::GET, open, None).await.0, 200, "{open}");
    }
    let (status, _) = rp(&w, &bank, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(status, 200);
    let (status, page) = call(&w, Method::GET, "/portal/login", None).await;
    assert_eq!(status, 200);
    assert!(page.as_str().unwrap().contains("data-in-effect"));
    let (_, list) = call(&w, Method::GET, "/v1/maintenance-windows", None).await;
    assert_eq!(list["windows"][0]["in_effect"], true);

    // Ended early: card login works again at once, relying parties are told, and a window
    // that is over cannot be ended again.
    w.clock.advance(HOUR);
    let (status, ended) = ops(
        &w,
        Method::POST,
        &format!("/v1/ops/maintenance-windows/{id}/ending"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(
        (ended["ended_early"].as_bool(), ended["in_effect"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(ended["ends_at"], at(&w, 0));
    challenge(&w).await;
    let told = events(&w, &bank).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "urn:mykey:secevent:maintenance-ended");
    assert_eq!(told[0].2["called_off"], false);
    let (status, body) = ops(
        &w,
        Method::POST,
        &format!("/v1/ops/maintenance-windows/{id}/ending"),
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:maintenance-window-unknown")
    );
    let (_, list) = call(&w, Method::GET, "/v1/maintenance-windows", None).await;
    assert_eq!(list["windows"], json!([]));

    // A window called off before it begins never takes effect.
    let (_, window) = announce(
        &w,
        json!({"starts_at": at(&w, 2 * day), "ends_at": at(&w, 2 * day + HOUR), "functions": ["card-login"], "notice": notice()}),
    )
    .await;
    let id = window["id"].as_i64().unwrap();
    let (status, _) = ops(
        &w,
        Method::POST,
        &format!("/v1/ops/maintenance-windows/{id}/ending"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    w.clock.advance(2 * day + 1);
    challenge(&w).await;
    // (A poll's SETs are an object by jti: in no order.)
    let mut kinds: Vec<String> = events(&w, &bank)
        .await
        .into_iter()
        .map(|e| format!("{} {}", e.0, e.2["called_off"]))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "urn:mykey:secevent:maintenance-announced null",
            "urn:mykey:secevent:maintenance-ended true"
        ]
    );
    // Each act is in the operator log.
    let (_, log) = ops(&w, Method::GET, "/v1/ops/operator-log", None).await;
    let routes = log.to_string();
    assert!(
        routes.contains("/v1/ops/maintenance-windows/{id}/ending")
            && routes.contains(&format!("\"maintenance_window\":{id}")),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_urgent_window_starts_at_once_and_each_kind_of_client_is_told_in_its_own_way() {
    let w = world().await;
    let bank = relying_party(&w, "Bank").await;
    let (status, window) = announce(
        &w,
        json!({"ends_at": at(&w, HOUR), "functions": ["oidc", "portal", "events"], "notice": notice(), "urgent": true, "reason": "a failed disk"}),
    )
    .await;
    assert_eq!(status, 201, "{window}");
    assert_eq!(
        (
            window["in_effect"].as_bool(),
            window["urgent_reason"].as_str()
        ),
        (Some(true), Some("a failed disk"))
    );
    assert_eq!(window["starts_at"], at(&w, 0));

    // The token endpoint: an OAuth error. The pages: the failure page with the notice. The
    // JSON API: the problem. Each with Retry-After.
    let resp = w
        .http
        .post(format!("{}/oidc/token", w.url))
        .basic_auth(&bank.client_id, Some(&bank.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("code_verifier", &"v".repeat(43)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers()["retry-after"], HOUR.to_string().as_str());
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
    // Client credentials are every function's: relying parties keep their access to /v1/rp.
    let resp = w
        .http
        .post(format!("{}/oidc/token", w.url))
        .basic_auth(&bank.client_id, Some(&bank.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // The public list does not publish the reason; the operator's answer had it.
    let (_, list) = call(&w, Method::GET, "/v1/maintenance-windows", None).await;
    assert_eq!(list["windows"][0]["urgent_reason"], Value::Null);
    assert_eq!(list["windows"][0]["urgent"], true);
    let (status, retry, kind, body) =
        raw(&w, Method::GET, "/oidc/authorize?client_id=x", None).await;
    assert_eq!((status, retry), (503, Some(HOUR)), "{body}");
    assert!(
        kind.starts_with("text/html") && body.contains("カードログインを更新しています。"),
        "{body}"
    );
    let (status, retry, _, _) = raw(&w, Method::GET, "/v1/me", None).await;
    assert_eq!((status, retry), (503, Some(HOUR)));
    let (status, body) = rp(&w, &bank, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    assert_eq!(
        (status, problem_type(&body)),
        (503, "urn:mykey:problem:maintenance")
    );
    // What maintenance never takes down.
    for open in [
        "/.well-known/openid-configuration",
        "/oidc/jwks",
        "/v1/openapi.json",
    ] {
        assert_eq!(call(&w, Method::GET, open, None).await.0, 200, "{open}");
    }
    // Card login is not named: it works.
    challenge(&w).await;
    // The document says that the operations of a function may be answered 503.
    let (_, doc) = call(&w, Method::GET, "/v1/openapi.json", None).await;
    for (path, method) in [
        ("/v1/me", "get"),
        ("/oidc/token", "post"),
        ("/oidc/authorize", "get"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"]["503"].is_object(),
            "{method} {path}"
        );
    }
    assert!(doc["paths"]["/v1/terms"]["get"]["responses"]["503"].is_null());

    // When it ends by itself, the functions are back, and the events waited for them.
    w.clock.advance(HOUR);
    let told = events(&w, &bank).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].2["urgent"], true);
    let (status, _) = call(&w, Method::GET, "/v1/me", None).await;
    assert_eq!(status, 401);
}

async fn announce_end(w: &World, body: Value) -> (u16, Value) {
    ops(w, Method::POST, "/v1/ops/termination", Some(body)).await
}

fn farewell() -> Value {
    json!({"en": "The platform closes; download your data.", "ja": "運用を終了します。情報をダウンロードしてください。"})
}

/// Art 10: three months' notice (or urgent with a reason), one at a time, withdrawable before
/// the date; from the announcement the pages say so; on the date new applications stop and the
/// card-point rights are forfeited (Art 27.1.3), while logins, the person's data and export go on.
#[tokio::test(flavor = "multi_thread")]
async fn the_end_of_the_system_is_announced_three_months_ahead_and_carried_out_on_its_date() {
    use crate::points::{apply, eligible_service, holder, mine, open_round, provider};
    let w = world().await;
    let bank = relying_party(&w, "Bank").await;
    let day = 24 * HOUR;

    // Less than 92 days: refused, with the earliest date; malformed: a precise 422.
    let (status, body) = announce_end(
        &w,
        json!({"terminates_at": at(&w, 91 * day), "notice": farewell()}),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:termination-notice-too-short"),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains(&at(&w, 92 * day)),
        "{body}"
    );
    for bad in [
        json!({"terminates_at": at(&w, 100 * day), "notice": farewell(), "urgent": true}),
        json!({"terminates_at": at(&w, 100 * day), "notice": farewell(), "reason": "r"}),
        json!({"terminates_at": at(&w, 100 * day), "notice": {"en": "", "ja": "終了"}}),
        json!({"terminates_at": "soon", "notice": farewell()}),
    ] {
        let (status, body) = announce_end(&w, bad.clone()).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-request"),
            "{bad} → {body}"
        );
    }
    let (_, state) = call(&w, Method::GET, "/v1/termination", None).await;
    assert_eq!(state, json!({"termination": null}));

    // Announced: shown, told, one at a time; withdrawn before the date.
    let (status, end) = announce_end(
        &w,
        json!({"terminates_at": at(&w, 92 * day), "notice": farewell()}),
    )
    .await;
    assert_eq!(status, 201, "{end}");
    assert_eq!(
        (end["terminated"].as_bool(), end["urgent"].as_bool()),
        (Some(false), Some(false))
    );
    let (_, state) = call(&w, Method::GET, "/v1/termination", None).await;
    assert_eq!(state["termination"], end);
    let (status, body) = announce_end(
        &w,
        json!({"terminates_at": at(&w, 200 * day), "notice": farewell()}),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:termination-announced")
    );
    let told = events(&w, &bank).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "urn:mykey:secevent:termination-announced");
    assert_eq!(
        told[0].1,
        json!({"format": "opaque", "id": format!("termination-{}", end["id"])})
    );
    assert_eq!(told[0].2["notice"], farewell());
    let (_, page) = call(&w, Method::GET, "/portal/login", None).await;
    let page = page.as_str().unwrap();
    assert!(
        page.contains("運用を終了します。情報をダウンロードしてください。")
            && page.contains("href=\"/portal/export\""),
        "{page}"
    );
    let (status, _) = ops(&w, Method::POST, "/v1/ops/termination/withdrawal", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        events(&w, &bank).await[0].0,
        "urn:mykey:secevent:termination-withdrawn"
    );
    let (status, body) = ops(&w, Method::POST, "/v1/ops/termination/withdrawal", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:termination-unknown")
    );

    // A holder with an application in flight; then an urgent end, in two seconds.
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    let round = open_round(&w, "Round").await;
    let (card, token) = holder(&w).await;
    let (status, a) = apply(&w, &token, round, service, "22223333").await;
    assert_eq!(status, 201, "{a}");
    let opened = link_request(&w, &bank, "C-before").await;
    let (status, end) = announce_end(
        &w,
        json!({"terminates_at": at(&w, 2), "notice": farewell(), "urgent": true, "reason": "the law that founds it was repealed"}),
    )
    .await;
    assert_eq!(status, 201, "{end}");
    // Before the date nothing is forfeited, and applications are still taken.
    assert_eq!(w.platform.carry_out_termination().await.unwrap(), 0);
    holder(&w).await;

    // On the date: new applications stop (410), the rights are forfeited once, the provider
    // is told; logins, the person's data and export go on; the end cannot be withdrawn.
    w.clock.advance(2);
    let fresh = login(&w, &crate::harness::card(&w).await).await;
    let refused = [
        post(&w, "/v1/me/my-key-id", Some(&fresh), my_key_id_creation()).await,
        apply(&w, &token, round, service, "22224444").await,
        ops(
            &w,
            Method::POST,
            "/v1/ops/relying-parties",
            Some(json!({"name": "Late", "kind": "business", "contact": "窓口", "privacy_policy_url": "https://late.example/p", "terms_url": "https://late.example/t"})),
        )
        .await,
        rp(
            &w,
            &bank,
            Method::POST,
            "/v1/rp/service-id-requests",
            Some(json!({"customer_id": "C-9"})),
        )
        .await,
        // A link request opened before the date is not linked after it, by any route.
        post(
            &w,
            &format!("/v1/service-id-logins/{}/challenges", bank.client_id),
            None,
            json!({"link_request": opened}),
        )
        .await,
        // Nor are points instructed.
        rp(
            &w,
            &pay,
            Method::POST,
            &format!("/v1/rp/point-rounds/{round}/grant-batches"),
            None,
        )
        .await,
    ];
    for (status, body) in &refused {
        assert_eq!(
            (*status, problem_type(body)),
            (410, "urn:mykey:problem:system-terminated"),
            "{body}"
        );
    }
    // Not in the seconds another node may not have seen it yet; then once.
    assert_eq!(w.platform.carry_out_termination().await.unwrap(), 0);
    w.clock.advance(10);
    assert_eq!(w.platform.carry_out_termination().await.unwrap(), 1);
    assert_eq!(w.platform.carry_out_termination().await.unwrap(), 0);
    let gone = mine(&w, &token).await;
    assert_eq!(
        (gone[0]["state"].as_str(), gone[0]["reason"].as_str()),
        (Some("forfeited"), Some("system-terminated"))
    );
    let (_, got) = rp(&w, &pay, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    let forfeited: Vec<Value> = got["sets"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| set_claims(s.as_str().unwrap()).0)
        .filter_map(|c| {
            c["events"]
                .get("urn:mykey:secevent:point-application-forfeited")
                .cloned()
        })
        .collect();
    assert_eq!(forfeited, [json!({"reason": "system-terminated"})], "{got}");
    let token = login(&w, &card).await;
    assert_eq!(
        call(&w, Method::GET, "/v1/me/export", Some(&token)).await.0,
        200
    );
    let (_, state) = call(&w, Method::GET, "/v1/termination", None).await;
    assert_eq!(
        (
            state["termination"]["terminated"].as_bool(),
            state["termination"]["carried_out_at"].is_string()
        ),
        (Some(true), true),
        "{state}"
    );
    let (status, body) = ops(&w, Method::POST, "/v1/ops/termination/withdrawal", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (410, "urn:mykey:problem:system-terminated")
    );
    let (_, page) = call(&w, Method::GET, "/portal/login", None).await;
    assert!(page.as_str().unwrap().contains("運用を終了しました"));
    // The document says which operations the end refuses.
    let (_, doc) = call(&w, Method::GET, "/v1/openapi.json", None).await;
    for (path, method) in [
        ("/v1/me/my-key-id", "post"),
        ("/v1/me/point-applications", "post"),
        ("/v1/ops/relying-parties", "post"),
        ("/v1/rp/service-id-requests", "post"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"]["410"].is_object(),
            "{method} {path}"
        );
    }
}
