//! Finding 7 of the security issue: a cross-device login phished (a victim types the attacker's
//! short code) or swapped (someone who read the victim's code approves with their own card)
//! gives the other browser nothing. The phone is told where and when the browser began and what
//! approving gives it; a portal login, and a login found by its short code, finish only in a
//! browser that types the code the approving phone shows; a refusal can be reported.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::portal::{Browser as PortalBrowser, phone_logs_in};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";

fn code_of(approval: &Value) -> String {
    let code = approval["confirmation_code"].as_str().unwrap().to_owned();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    code
}

/// The short code a started request shows, looked up the way a phone does by the handle.
async fn short_code_of(w: &World, handle: &str) -> String {
    let (_, shown) = call(
        w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    shown["short_code"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phished_portal_login_gives_the_phishers_browser_no_session() {
    let w = world().await;
    let victim = card(&w).await;
    // The attacker opens the portal login in their own browser...
    let mut attacker = PortalBrowser::with_user_agent(FIREFOX);
    let html = attacker
        .get(&format!("{}/portal/login", w.url))
        .await
        .text()
        .await
        .unwrap();
    let handle = meta(&html, "mykey-approve-url")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let short = short_code_of(&w, &handle).await;
    // ...and has the victim type its short code on their phone, which says what is going on.
    let (status, shown) = call(
        &w,
        Method::GET,
        &format!("/v1/authorizations/{short}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["purpose"], "portal");
    assert_eq!(shown["began"]["from"], "127.0.0.1");
    assert_eq!(shown["began"]["browser"], "Firefox on Linux");
    assert!(shown["began"]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(shown["confirm_in_browser"], true);
    let en = shown["summary"]["en"].as_str().unwrap();
    assert!(
        en.contains("127.0.0.1 (Firefox on Linux)")
            && en.contains("MyKey portal")
            && en.contains("export your data")
            && en.contains("refuse and report")
            && en.contains("never tell it to anyone"),
        "{en}"
    );
    assert!(
        shown["summary"]["ja"]
            .as_str()
            .unwrap()
            .contains("ポータル")
    );
    // The victim approves anyway: the code goes to the victim's phone, not to the browser.
    let (status, approved) = phone_logs_in(&w, &victim, &short).await;
    assert_eq!(status, 200, "{approved}");
    let code = code_of(&approved);
    let next = format!("{}{}", w.url, meta(&html, "mykey-continue-url"));
    let resp = attacker.get(&next).await;
    assert_eq!(resp.status(), 200, "asked for the code, not logged in");
    assert!(resp.text().await.unwrap().contains("name=\"confirmation\""));
    // Guessing is cut short: four wrong codes are told so, the fifth declines the login.
    let confirm = format!("{}/portal/login/continue", w.url);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..mykey_platform::oidc::CONFIRM_TRIES).rev() {
        let resp = attacker
            .post(&confirm, &[("request", &handle), ("confirmation", wrong)])
            .await;
        assert_eq!(resp.status(), 422);
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains(&format!("Tries left: {left}"))
        );
    }
    let resp = attacker
        .post(&confirm, &[("request", &handle), ("confirmation", wrong)])
        .await;
    assert_eq!(resp.status(), 403);
    // Even the right code is too late now; no session was ever set.
    let resp = attacker
        .post(&confirm, &[("request", &handle), ("confirmation", &code)])
        .await;
    assert_eq!(resp.status(), 403);
    assert!(
        attacker
            .cookies
            .iter()
            .all(|c| !c.starts_with("mykey-session=")),
        "{:?}",
        attacker.cookies
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_login_found_by_short_code_finishes_only_with_the_approving_phones_code() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &[], "ES256").await;
    let victim_browser = {
        let mut b = Browser::new();
        b.http = reqwest::Client::builder()
            .user_agent(FIREFOX)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        b
    };
    let mut victim_browser = victim_browser;
    let (_, challenge) = pkce();
    let (handle, _) = begin(
        &w,
        &mut victim_browser,
        &params(&shop, "openid", &challenge),
    )
    .await;
    // Someone who read the code off the victim's screen approves it with their own card.
    let short = short_code_of(&w, &handle).await;
    let stranger = card(&w).await;
    let (status, approved) = phone_approves(&w, &stranger, &short, None).await;
    assert_eq!(status, 200, "{approved}");
    let code = code_of(&approved);
    // The victim's browser is not logged in to the shop as the stranger: it is asked for a
    // code only the stranger's phone shows.
    let continue_url = format!("{}/oidc/authorize/continue", w.url);
    let resp = victim_browser
        .get(&format!("{continue_url}?request={handle}"))
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("name=\"confirmation\""));
    let post = |typed: &str| {
        victim_browser
            .http
            .post(&continue_url)
            .header("cookie", victim_browser.cookie.clone().unwrap())
            .form(&[("request", handle.as_str()), ("confirmation", typed)])
            .send()
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(post(wrong).await.unwrap().status(), 422);
    // The person who approved, in their own browser, types it (full-width digits too) and
    // goes on to the shop with a code.
    let full_width: String = code
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    let resp = post(&full_width).await.unwrap();
    assert_eq!(resp.status(), 303);
    let q = location_query(&resp);
    assert!(get(&q, "code").is_some(), "{q:?}");

    // Found by the QR code's handle (the camera was in front of the screen): no code asked.
    let mut browser = Browser::new();
    let (handle, _) = begin(&w, &mut browser, &params(&shop, "openid", &challenge)).await;
    let (_, shown) = call(
        &w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    assert_eq!(shown["confirm_in_browser"], false);
    let (status, approved) = phone_approves(&w, &stranger, &handle, None).await;
    assert_eq!(status, 200);
    assert!(approved.get("confirmation_code").is_none(), "{approved}");
    continue_to_client(&w, &browser, &handle).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_can_be_reported_and_the_operator_sees_where_it_came_from() {
    let w = world().await;
    let (shop, _) = oidc_client(&w, "Hakata Books", &[], "ES256").await;
    let mut browser = Browser::new();
    browser.http = reqwest::Client::builder()
        .user_agent(FIREFOX)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (_, challenge) = pkce();
    let (handle, _) = begin(&w, &mut browser, &params(&shop, "openid", &challenge)).await;
    let short = short_code_of(&w, &handle).await;
    let refusal = format!("/v1/authorizations/{short}/refusal");
    // A bad body is refused and leaves the request pending.
    for bad in [
        json!({"report": "yes"}),
        json!({"report": true, "x": 1}),
        json!([true]),
        json!([]),
    ] {
        let (status, body) = post(&w, &refusal, None, bad).await;
        assert_eq!(
            (status, body["type"].as_str()),
            (422, Some("urn:mykey:problem:invalid-request")),
            "{body}"
        );
    }
    let (_, none) = ops(&w, Method::GET, "/v1/ops/authorization-reports", None).await;
    assert_eq!(none["reports"], json!([]));
    let (status, _) = post(&w, &refusal, None, json!({"report": true})).await;
    assert_eq!(status, 204);
    let (status, listed) = ops(&w, Method::GET, "/v1/ops/authorization-reports", None).await;
    assert_eq!(status, 200, "{listed}");
    let r = &listed["reports"][0];
    assert_eq!(r["purpose"], "openid-connect");
    assert_eq!(r["relying_party_id"], json!(shop.id));
    assert_eq!(
        (&r["began_from"], &r["browser"], &r["by_short_code"]),
        (
            &json!("127.0.0.1"),
            &json!("Firefox on Linux"),
            &json!(true)
        )
    );
    assert_eq!(listed["next"], Value::Null);
    // Refused once: the browser is told no, and the request cannot be reported again.
    let (status, _) = post(&w, &refusal, None, json!({"report": true})).await;
    assert_eq!(status, 404);
    let q = continue_to_client(&w, &browser, &handle).await;
    assert_eq!(get(&q, "error"), Some("access_denied"));
    // Anyone can start a request and report it: reports are held to a quota per address
    // (three, then one every ten minutes), and over it nothing is written.
    let mut last = 0;
    for _ in 0..3 {
        let (handle, _) = begin(&w, &mut browser, &params(&shop, "openid", &challenge)).await;
        let refusal = format!("/v1/authorizations/{handle}/refusal");
        let (status, body) = post(&w, &refusal, None, json!({"report": true})).await;
        last = status;
        if status == 429 {
            assert_eq!(body["type"], "urn:mykey:problem:quota-exceeded");
            let (_, shown) = call(
                &w,
                Method::GET,
                &format!("/v1/authorizations/{handle}"),
                None,
            )
            .await;
            assert!(shown["short_code"].is_string(), "still pending: {shown}");
        }
    }
    assert_eq!(last, 429);
    let (_, listed) = ops(&w, Method::GET, "/v1/ops/authorization-reports", None).await;
    assert_eq!(listed["reports"].as_array().unwrap().len(), 3);
    // Only operators read reports; the cursor pages.
    let (status, _) = call(&w, Method::GET, "/v1/ops/authorization-reports", None).await;
    assert_eq!(status, 401);
    let id = r["id"].as_i64().unwrap();
    let (_, after) = ops(
        &w,
        Method::GET,
        &format!("/v1/ops/authorization-reports?after={id}&limit=1"),
        None,
    )
    .await;
    assert_eq!(after["reports"].as_array().unwrap().len(), 1);
    let next = after["next"].as_i64().unwrap();
    assert_eq!(after["reports"][0]["id"], next);
    let last = listed["reports"][2]["id"].as_i64().unwrap();
    let (_, after) = ops(
        &w,
        Method::GET,
        &format!("/v1/ops/authorization-reports?after={last}"),
        None,
    )
    .await;
    assert_eq!(after["reports"], json!([]));
    let (status, _) = ops(
        &w,
        Method::GET,
        "/v1/ops/authorization-reports?after=x",
        None,
    )
    .await;
    assert_eq!(status, 422);
}
