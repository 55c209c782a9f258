//! Logging in by Service ID through OpenID Connect (Terms Art 2.13, 17; issue 21.1): a client
//! registered for Service-ID subjects gets its own customer ID as `sub`, never a PPID; a person
//! with no link is offered the relying party's link request in the same flow; one with neither
//! is refused and the browser sent back.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;

/// An approved relying party whose OpenID Connect client logs people in by Service ID.
pub(crate) async fn service_id_client(w: &World, name: &str, scopes: &[&str]) -> Client {
    let client = relying_party(w, name).await;
    let (status, body) = ops(
        w,
        Method::PUT,
        &format!("/v1/ops/relying-parties/{}/oidc-client", client.id),
        Some(json!({
            "subject": "service-id",
            "redirect_uris": [CALLBACK],
            "scopes": scopes,
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subject"], "service-id");
    assert_eq!(body["ppid_service_id"], Value::Null);
    client
}

/// A whole login by Service ID with `extra` authorization parameters: the phone's view, its
/// approval's answer, and (when approved) the redirect's query.
async fn log_in(
    w: &World,
    client: &Client,
    card: &Card,
    scope: &str,
    extra: &[(&str, &str)],
) -> (Value, (u16, Value), Vec<(String, String)>, String) {
    let (verifier, challenge) = pkce();
    let mut p = params(client, scope, &challenge);
    p.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let mut browser = Browser::new();
    let (handle, _) = begin(w, &mut browser, &p).await;
    let (_, shown) = call(
        w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    let approved = phone_approves(w, card, &handle, card.signature.as_deref()).await;
    let resp = browser
        .get(&format!(
            "{}/oidc/authorize/continue?request={handle}",
            w.url
        ))
        .await;
    let q = if resp.status() == 303 {
        location_query(&resp)
    } else {
        Vec::new()
    };
    (shown, approved, q, verifier)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_customer_logs_in_by_service_id_and_sub_is_the_customer_id() {
    let w = world().await;
    let library = service_id_client(&w, "Hakata Library", &["name"]).await;
    let (card, token) = linked(&w, &library, "LIB-0042").await;

    let (shown, (status, approved), q, verifier) = log_in(&w, &library, &card, "openid", &[]).await;
    assert_eq!(shown["subject"], "service-id", "{shown}");
    // Where the person turns to the relying party, before they approve.
    assert_eq!(shown["relying_party"]["contact"], "窓口 092-000-0000");
    assert_eq!(
        shown["relying_party"]["terms_url"],
        "https://rp.example/terms"
    );
    assert_eq!(shown["ppid_service"], Value::Null);
    assert!(shown.get("link").is_none());
    // Nothing to consent to: the link's consent was given when it was made.
    assert_eq!(shown["consent"]["items"], json!([]));
    assert!(
        shown["summary"]["en"]
            .as_str()
            .unwrap()
            .contains("by your Service ID")
    );
    assert_eq!(status, 200, "{approved}");
    let code = get(&q, "code").unwrap();
    let (status, tokens) = exchange(&w, &library, code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verify_id_token(&w, &library, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "LIB-0042");
    let (status, info) = userinfo(&w, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!((status, &info), (200, &json!({"sub": "LIB-0042"})));

    // No PPID was made; the person's log says who logged them in as which customer.
    let (_, services) = call(&w, Method::GET, "/v1/me/ppid-services", Some(&token)).await;
    assert_eq!(services["ppid_services"], json!([]));
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let login = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["kind"] == "login")
        .unwrap();
    assert_eq!(
        login["detail"],
        json!({
            "purpose": "service-id-login",
            "via": "openid-connect",
            "relying_party": "Hakata Library",
            "customer_id": "LIB-0042",
            "scope": "openid",
        })
    );
    assert_private(&card, &[&tokens, &info, &claims]);
}

#[tokio::test(flavor = "multi_thread")]
async fn facts_come_with_a_login_by_service_id_from_the_signature_certificate() {
    let w = world().await;
    let bank = service_id_client(&w, "Chikuzen Bank", &["name", "birthdate"]).await;
    let card = issued_card(&w, true).await;
    let token = login(&w, &card).await;
    let (status, _) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    let id = link_request(&w, &bank, "ACCT-9").await;
    let (status, body) = approve(&w, &card, &id, full_consent()).await;
    assert_eq!(status, 201, "{body}");

    let (shown, (status, approved), q, verifier) =
        log_in(&w, &bank, &card, "openid name birthdate", &[]).await;
    let items: Vec<&str> = shown["consent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["facts.name", "facts.birthdate"]);
    assert_eq!(status, 200, "{approved}");
    let (_, tokens) = exchange(&w, &bank, get(&q, "code").unwrap(), Some(&verifier)).await;
    let (_, info) = userinfo(&w, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["sub"], "ACCT-9");
    assert!(
        info["name"].is_string() && info["birthdate"].is_string(),
        "{info}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_without_a_link_is_offered_the_link_request_in_the_same_flow() {
    let w = world().await;
    let library = service_id_client(&w, "Hakata Library", &[]).await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    let (status, _) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    let request = link_request(&w, &library, "LIB-7").await;

    let (shown, (status, approved), q, verifier) = log_in(
        &w,
        &library,
        &card,
        "openid",
        &[("link_request", request.as_str())],
    )
    .await;
    assert_eq!(shown["link"], json!({"customer_id": "LIB-7"}));
    assert_eq!(shown["consent"]["terms_version"], "2026-11-01");
    let names: Vec<Value> = shown["consent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].clone())
        .collect();
    assert_eq!(Value::from(names), full_consent()["items"]);
    assert_eq!(status, 200, "{approved}");
    let (_, tokens) = exchange(&w, &library, get(&q, "code").unwrap(), Some(&verifier)).await;
    let claims = verify_id_token(&w, &library, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "LIB-7");

    let kinds = log_kinds(&w, &token).await;
    let tail: Vec<&str> = kinds
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(tail, ["consent.given", "service-id.linked", "login"]);
    // Linked: the relying party lists it, the person sees it made with the card, and the
    // request is used.
    let (_, list) = rp(&w, &library, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(list["service_ids"][0]["customer_id"], "LIB-7");
    let (_, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    assert_eq!(mine["service_ids"][0]["route"], "card");
    assert_eq!(
        mine["service_ids"][0]["consent"]["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (status, body) = call(
        &w,
        Method::GET,
        &format!("/v1/link-requests/{request}"),
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:link-request-answered")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_offered_to_a_card_holder_without_a_my_key_id_writes_nothing() {
    let w = world().await;
    let library = service_id_client(&w, "Hakata Library", &[]).await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    let request = link_request(&w, &library, "LIB-8").await;
    let before = log_kinds(&w, &token).await.len();
    let (_, (status, body), q, _) = log_in(
        &w,
        &library,
        &card,
        "openid",
        &[("link_request", request.as_str())],
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:no-my-key-id")
    );
    assert!(q.is_empty(), "the browser still waits: {q:?}");
    let (status, _) = call(
        &w,
        Method::GET,
        &format!("/v1/link-requests/{request}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "the request is still open");
    let (_, list) = rp(&w, &library, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(list["service_ids"], json!([]));
    // Only the certificate check of the card's answer is in the log.
    let after = log_kinds(&w, &token).await;
    assert!(
        after[before..].iter().all(|k| k == "jlis.query"),
        "{:?}",
        &after[before..]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_service_id_the_login_is_refused_and_the_browser_goes_back() {
    let w = world().await;
    let library = service_id_client(&w, "Hakata Library", &[]).await;
    let other = relying_party(&w, "Other Shop").await;
    // Linked elsewhere only: nothing there makes a Service ID here.
    let (card, _) = linked(&w, &other, "C-1").await;
    let (_, (status, body), q, _) = log_in(&w, &library, &card, "openid", &[]).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:service-id-required")
    );
    assert_eq!(get(&q, "error"), Some("access_denied"));
    assert_eq!(get(&q, "state"), Some("st-123"));
    assert!(get(&q, "code").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn link_requests_in_the_authorization_request_are_checked_and_registrations_too() {
    let w = world().await;
    let library = service_id_client(&w, "Hakata Library", &[]).await;
    let other = relying_party(&w, "Other Shop").await;
    let foreign = link_request(&w, &other, "C-1").await;
    let (ppid_client, _) = oidc_client(&w, "PPID Shop", &[], "ES256").await;
    let own = link_request(&w, &ppid_client, "C-2").await;
    let (_, challenge) = pkce();
    for (client, link) in [
        (&library, foreign.as_str()),
        (&library, "not-a-request-id"),
        (&library, "AAAAAAAAAAAAAAAAAAAAAA"),
        (&ppid_client, own.as_str()),
    ] {
        let mut p = params(client, "openid", &challenge);
        p.push(("link_request".into(), link.into()));
        let resp = Browser::new().get(&authorize_url(&w, &p)).await;
        assert_eq!(resp.status(), 303, "{link}");
        let q = location_query(&resp);
        assert_eq!(get(&q, "error"), Some("invalid_request"), "{link}: {q:?}");
        assert!(
            get(&q, "error_description")
                .unwrap()
                .contains("link_request")
        );
    }
    // The other party's request is untouched.
    let (status, _) = call(
        &w,
        Method::GET,
        &format!("/v1/link-requests/{foreign}"),
        None,
    )
    .await;
    assert_eq!(status, 200);

    let path = format!("/v1/ops/relying-parties/{}/oidc-client", library.id);
    for bad in [
        json!({"subject": "service-id", "ppid_service_id": 1, "redirect_uris": [CALLBACK]}),
        json!({"subject": "ppid", "redirect_uris": [CALLBACK]}),
        json!({"redirect_uris": [CALLBACK]}),
        json!({"subject": "email", "redirect_uris": [CALLBACK]}),
    ] {
        let (status, body) = ops(&w, Method::PUT, &path, Some(bad.clone())).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-request"),
            "{bad}"
        );
    }
    let (_, kept) = ops(&w, Method::GET, &path, None).await;
    assert_eq!(kept["subject"], "service-id");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_that_ends_ends_the_logins_by_it() {
    let w = world().await;
    let library = service_id_client(&w, "Hakata Library", &[]).await;
    let (card, token) = linked(&w, &library, "LIB-1").await;
    // A whole login, its tokens in the library's hands.
    let (_, (status, _), q, verifier) = log_in(&w, &library, &card, "openid", &[]).await;
    assert_eq!(status, 200);
    let (_, tokens) = exchange(&w, &library, get(&q, "code").unwrap(), Some(&verifier)).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&w, access).await.0, 200);
    // A second one approved on the phone, not yet continued in the browser.
    let (_, challenge) = pkce();
    let mut browser = Browser::new();
    let (handle, _) = begin(&w, &mut browser, &params(&library, "openid", &challenge)).await;
    let (status, _) = phone_approves(&w, &card, &handle, None).await;
    assert_eq!(status, 200);

    // The person withdraws the link.
    withdraw_first_link(&w, &token).await;
    let (status, body) = userinfo(&w, access).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let resp = browser
        .get(&format!(
            "{}/oidc/authorize/continue?request={handle}",
            w.url
        ))
        .await;
    let q = location_query(&resp);
    assert_eq!(get(&q, "error"), Some("access_denied"), "{q:?}");
}

/// A window that takes the Service IDs down (Art 9.3) refuses a link offered within an OpenID
/// Connect login — the failure page, 503 with Retry-After, the request left open — while the
/// same client's plain logins go on; after the window the same offer links.
#[tokio::test(flavor = "multi_thread")]
async fn a_link_offered_in_a_login_waits_out_a_service_ids_window() {
    let w = world().await;
    let library = service_id_client(&w, "Hakata Library", &[]).await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    let (status, _) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    let request = link_request(&w, &library, "LIB-9").await;
    let (status, window) = ops(
        &w,
        Method::POST,
        "/v1/ops/maintenance-windows",
        Some(json!({
            "ends_at": at(&w, 300),
            "functions": ["service-ids"],
            "notice": {"en": "Links are being moved.", "ja": "連携を移行しています。"},
            "urgent": true,
            "reason": "a storage move",
        })),
    )
    .await;
    assert_eq!(status, 201, "{window}");

    let (_, challenge) = pkce();
    let mut p = params(&library, "openid", &challenge);
    let plain = authorize_url(&w, &p);
    p.push(("link_request".into(), request.clone()));
    let resp = Browser::new().get(&authorize_url(&w, &p)).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "300");
    let page = resp.text().await.unwrap();
    assert!(page.contains("連携を移行しています。"), "{page}");
    // The login without the offer is not the Service IDs' work: its page is shown.
    let resp = Browser::new().get(&plain).await;
    assert_eq!(resp.status(), 200);
    // The request itself is the Service IDs' too.
    let (status, body) = call(
        &w,
        Method::GET,
        &format!("/v1/link-requests/{request}"),
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (503, "urn:mykey:problem:maintenance")
    );

    // Once the window is over, the same offer (still open: nothing was linked) links.
    // (Five minutes: the request, valid ten, is still open.)
    w.clock.advance(300);
    let (shown, (status, approved), _, _) = log_in(
        &w,
        &library,
        &card,
        "openid",
        &[("link_request", request.as_str())],
    )
    .await;
    assert_eq!(shown["link"], json!({"customer_id": "LIB-9"}));
    assert_eq!(status, 200, "{approved}");
    let (_, list) = rp(&w, &library, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(list["service_ids"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["service_ids"][0]["customer_id"], "LIB-9");
}
