//! The card holder's portal: the cross-device login into a session cookie, My Key ID create,
//! change and revoke (with its warning and confirmation), withdrawing a link, the log and its
//! chain, the export download, log-out — and every form refused without its CSRF token, every
//! page refusing to be framed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// A browser: cookies kept by hand, no redirects followed.
pub(crate) struct Browser {
    http: reqwest::Client,
    pub(crate) cookies: Vec<String>,
}

impl Browser {
    pub(crate) fn new() -> Self {
        Self::with_user_agent("")
    }

    /// One that says it is `user_agent` (none when empty).
    pub(crate) fn with_user_agent(user_agent: &str) -> Self {
        let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if !user_agent.is_empty() {
            http = http.user_agent(user_agent.to_owned());
        }
        Self {
            http: http.build().unwrap(),
            cookies: Vec::new(),
        }
    }

    fn keep(&mut self, resp: &reqwest::Response) {
        for c in resp.headers().get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap().to_owned();
            let name = pair.split('=').next().unwrap().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !pair.ends_with('=') {
                self.cookies.push(pair);
            }
        }
    }

    pub(crate) async fn get(&mut self, url: &str) -> reqwest::Response {
        let resp = self
            .http
            .get(url)
            .header("cookie", self.cookies.join("; "))
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        resp
    }

    pub(crate) async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookies.join("; "))
            .header("accept-language", "en")
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        resp
    }
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap();
    let rest = &html[at + 19..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The phone approves a portal login.
pub(crate) async fn phone_logs_in(w: &World, card: &Card, handle: &str) -> (u16, Value) {
    let (status, shown) = call(
        w,
        Method::GET,
        &format!("/v1/authorizations/{handle}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["purpose"], "portal");
    assert_eq!(shown["consent"]["items"], json!([]));
    let (_, c) = post(
        w,
        &format!("/v1/authorizations/{handle}/challenges"),
        None,
        json!({}),
    )
    .await;
    assert_eq!(c["purpose"], "login");
    let mut body = answer_for(card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = json!({"items": [], "terms_version": shown["consent"]["terms_version"]});
    post(
        w,
        &format!("/v1/authorizations/{handle}/approval"),
        None,
        body,
    )
    .await
}

/// Logs `card` in to the portal in `browser`; answers the overview page.
pub(crate) async fn portal_login(w: &World, browser: &mut Browser, card: &Card) -> String {
    let resp = browser.get(&format!("{}/portal", w.url)).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/portal/login");
    let resp = browser.get(&format!("{}/portal/login", w.url)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let html = resp.text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("lang=\"en\""));
    let handle = meta(&html, "mykey-approve-url")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let next = format!("{}{}", w.url, meta(&html, "mykey-continue-url"));
    assert_eq!(browser.get(&next).await.status(), 200, "waiting");
    let (status, body) = phone_logs_in(w, card, &handle).await;
    assert_eq!(status, 200, "{body}");
    // The browser proves it is the person's: it types the code the phone shows.
    let resp = browser.get(&next).await;
    assert_eq!(resp.status(), 200);
    let form = resp.text().await.unwrap();
    assert!(
        form.contains("name=\"confirmation\"")
            && form.contains("action=\"/portal/login/continue\""),
        "{form}"
    );
    let code = body["confirmation_code"].as_str().unwrap();
    let resp = browser
        .post(
            &format!("{}/portal/login/continue", w.url),
            &[("request", &handle), ("confirmation", code)],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let session = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        session.starts_with("mykey-session=")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Strict"),
        "{session}"
    );
    let resp = browser.get(&format!("{}/portal", w.url)).await;
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_looks_after_their_data_in_the_portal() {
    let w = world().await;
    let city = relying_party(&w, "Fukuoka City").await;
    let (card, _) = linked(&w, &city, "C-77").await;
    let mut browser = Browser::new();
    let html = portal_login(&w, &mut browser, &card).await;
    assert!(
        html.contains("Fukuoka City") && html.contains("C-77"),
        "{html}"
    );
    // The revocation warning names what ends (Art 15.3) and the card-point rights forfeited
    // with it (Art 27.1.1).
    assert!(
        html.contains("Art 15.3") && html.contains("Art 27.1.1") && html.contains("card points"),
        "the revocation warning"
    );
    assert!(!html.contains("Coming changes"), "no terms announced yet");
    // A terms version announced for eight days from now is shown, with its date, its summary
    // (escaped) and its full text (Art 12.2).
    let effective =
        time::OffsetDateTime::from_unix_timestamp((w.platform.now().as_secs() + 8 * 86_400) as i64)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
    let (status, body) = ops(
        &w,
        Method::POST,
        "/v1/ops/terms",
        Some(json!({
            "version": "2027-01-01",
            "effective_at": effective,
            "summary": "Art 17 <changes>",
            "text_url": "https://mykey.example/terms/2027-01-01",
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let html = browser
        .get(&format!("{}/portal", w.url))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Coming changes to the Terms of Use (Art 12.2)")
            && html.contains("data-version=\"2027-01-01\"")
            && html.contains("Art 17 &#60;changes&#62;")
            && html.contains("href=\"https://mykey.example/terms/2027-01-01\"")
            && html.contains(&format!("datetime=\"{effective}\"")),
        "{html}"
    );
    // What was consented to, in words with its article, not as item codes.
    assert!(
        html.contains("linking your customer ID and My Key ID (Art 17.2.1)")
            && html.contains("data-item=\"service-id.link\"")
            && !html.contains(">service-id.link<"),
        "{html}"
    );
    let token = csrf(&html);
    let url = |p: &str| format!("{}{p}", w.url);

    // Change the My Key ID; a bad one is refused with a page.
    let resp = browser
        .post(
            &url("/portal/my-key-id"),
            &[("csrf", &token), ("action", "change"), ("id", "PORTAL01")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let html = browser
        .get(&url("/portal?done=changed"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("PORTAL01") && html.contains("role=\"status\""));
    let resp = browser
        .post(
            &url("/portal/my-key-id"),
            &[("csrf", &token), ("action", "change"), ("id", "bad id!")],
        )
        .await;
    assert_eq!(resp.status(), 400);

    // Every form refuses a missing or foreign CSRF token, and changes nothing.
    for form in [
        vec![("action", "change"), ("id", "EVIL0001")],
        vec![("csrf", "forged"), ("action", "change"), ("id", "EVIL0001")],
    ] {
        let resp = browser.post(&url("/portal/my-key-id"), &form).await;
        assert_eq!(resp.status(), 403);
    }
    for path in [
        "/portal/service-ids/1/withdrawal",
        "/portal/ppid-services/1/withdrawal",
        "/portal/logout",
    ] {
        assert_eq!(
            browser
                .post(&url(path), &[("csrf", "forged")])
                .await
                .status(),
            403,
            "{path}"
        );
    }
    let html = browser.get(&url("/portal")).await.text().await.unwrap();
    assert!(html.contains("PORTAL01") && !html.contains("EVIL0001") && html.contains("C-77"));

    // Withdraw the link.
    let at = html.find("/portal/service-ids/").unwrap();
    let action = &html[at..at + html[at..].find('"').unwrap()];
    let resp = browser.post(&url(action), &[("csrf", &token)]).await;
    assert_eq!(resp.status(), 303);
    let html = browser.get(&url("/portal")).await.text().await.unwrap();
    assert!(!html.contains("C-77"));
    let (_, links) = rp(&w, &city, Method::GET, "/v1/rp/service-ids", None).await;
    assert_eq!(links["service_ids"], json!([]), "{links}");

    // Revoking needs the confirmation.
    let resp = browser
        .post(
            &url("/portal/my-key-id"),
            &[("csrf", &token), ("action", "revoke")],
        )
        .await;
    assert_eq!(resp.status(), 400);
    let resp = browser
        .post(
            &url("/portal/my-key-id"),
            &[("csrf", &token), ("action", "revoke"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let html = browser.get(&url("/portal")).await.text().await.unwrap();
    assert!(html.contains("You have no My Key ID yet."));
    // Creating one again shows what it accepts (Art 16.1, in words, under the terms in force)
    // and needs the box ticked, naming the terms version the page showed.
    assert!(
        html.contains("What you accept by creating a My Key ID (Terms Art 16.1)")
            && html.contains("data-item=\"my-key-id.validity-check\"")
            && html.contains("(Art 16.1.3)")
            && html.contains("name=\"terms_version\" value=\"2026-11-01\""),
        "{html}"
    );
    let create = |extra: &[(&'static str, &'static str)]| {
        let mut form = vec![("action", "create"), ("id", "AGAIN001")];
        form.extend_from_slice(extra);
        form
    };
    let mut refused = Vec::new();
    for extra in [
        &[("terms_version", "2026-11-01")][..],
        &[("accept", "yes"), ("terms_version", "1999-01-01")][..],
    ] {
        let mut form = create(extra);
        form.push(("csrf", &token));
        refused.push(
            browser
                .post(&url("/portal/my-key-id"), &form)
                .await
                .status(),
        );
    }
    assert_eq!(refused, [400, 400]);
    let html = browser.get(&url("/portal")).await.text().await.unwrap();
    assert!(
        html.contains("You have no My Key ID yet."),
        "nothing was created"
    );
    let mut form = create(&[("accept", "yes"), ("terms_version", "2026-11-01")]);
    form.push(("csrf", &token));
    assert_eq!(
        browser
            .post(&url("/portal/my-key-id"), &form)
            .await
            .status(),
        303
    );
    let html = browser.get(&url("/portal")).await.text().await.unwrap();
    assert!(html.contains("AGAIN001"), "{html}");

    // The log, its chain, and the export.
    let resp = browser.get(&url("/portal/log")).await;
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let html = resp.text().await.unwrap();
    assert!(html.contains("data-chain=\"intact\""));
    // Each entry in words (this browser reads English), its kind kept for machines.
    for (kind, words) in [
        ("login", "Login"),
        ("my-key-id.changed", "My Key ID changed"),
        ("consent.withdrawn", "Consent withdrawn"),
        ("my-key-id.revoked", "My Key ID revoked"),
    ] {
        assert!(
            html.contains(&format!("data-kind=\"{kind}\""))
                && html.contains(&format!("<td>{words}</td>")),
            "{kind} in the log page"
        );
    }
    // Times in Japan's time zone, in words.
    assert!(html.contains(" JST</time>"), "{html}");
    // And each entry's details: labelled, with the codes the platform writes in words.
    assert!(
        html.contains("<dt>Reason</dt><dd>you withdrew it</dd>")
            && html.contains("<dt>Purpose</dt><dd>the MyKey portal</dd>")
            && !html.contains("\"relying_party\""),
        "{html}"
    );
    let resp = browser.get(&url("/portal/export")).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let export: Value = resp.json().await.unwrap();
    assert_eq!(export["format"], "mykey-export-v1");
    assert_eq!(
        export["my_key_ids"].as_array().map(Vec::len),
        Some(3),
        "{export}"
    );
    // The acceptance of Art 16.1 is among the consents held.
    assert!(
        export["consents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["function"] == "my-key-id"),
        "{export}"
    );
    assert_eq!(export["service_ids"][0]["customer_id"], "C-77", "{export}");

    // Japanese on request, remembered.
    let html = browser
        .get(&url("/portal?lang=ja"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("lang=\"ja\"") && html.contains("MyKeyポータル"));
    let html = browser.get(&url("/portal/log")).await.text().await.unwrap();
    assert!(html.contains("私の記録"));

    // Log out: the session ends.
    let resp = browser
        .post(&url("/portal/logout"), &[("csrf", &token)])
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(browser.get(&url("/portal")).await.status(), 303);
    assert_eq!(browser.get(&url("/portal/export")).await.status(), 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_portal_login_continues_only_in_its_browser_and_once() {
    let w = world().await;
    let card = card(&w).await;
    let mut browser = Browser::new();
    let html = browser
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
    let next = format!("{}{}", w.url, meta(&html, "mykey-continue-url"));
    let (status, approved) = phone_logs_in(&w, &card, &handle).await;
    assert_eq!(status, 200);
    let code = approved["confirmation_code"].as_str().unwrap();
    let confirm = format!("{}/portal/login/continue", w.url);
    let typed = [("request", handle.as_str()), ("confirmation", code)];
    let mut stranger = Browser::new();
    assert_eq!(stranger.get(&next).await.status(), 404);
    assert_eq!(stranger.post(&confirm, &typed).await.status(), 404);
    assert!(
        stranger.cookies.is_empty(),
        "no session for another browser, even with the code"
    );
    assert_eq!(browser.post(&confirm, &typed).await.status(), 303);
    // Already answered: the same page, and status, as the authorization endpoint's (409).
    assert_eq!(browser.get(&next).await.status(), 409, "once");
    assert_eq!(browser.post(&confirm, &typed).await.status(), 409, "once");
    // A portal request is not an OpenID Connect one, and facts are not sent to the portal.
    let html = Browser::new()
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
    let (_, c) = post(
        &w,
        &format!("/v1/authorizations/{handle}/challenges"),
        None,
        json!({}),
    )
    .await;
    let mut body = answer_for(&card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = json!({"items": [], "terms_version": "2026-11-01"});
    body["signature_certificate"] = json!("MIIB");
    let (status, e) = post(
        &w,
        &format!("/v1/authorizations/{handle}/approval"),
        None,
        body,
    )
    .await;
    assert_eq!(
        (status, problem_type(&e)),
        (422, "urn:mykey:problem:invalid-facts")
    );
}

/// The card-point page: applying with the consent ticked, claiming the health-insurance points
/// once Mynaportal has the registration, a malformed account refused with nothing kept, and
/// withdrawing — each form refused without its token.
#[tokio::test(flavor = "multi_thread")]
async fn a_person_applies_for_card_points_and_claims_a_registration_in_the_portal() {
    use crate::points::{eligible_service, open_round, provider};
    let w = world().await;
    let pay = provider(&w, "A-Pay").await;
    let service = eligible_service(&w, &pay, "A-Pay QR").await;
    open_round(&w, "第2弾").await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    let (status, _) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    let mut browser = Browser::new();
    portal_login(&w, &mut browser, &card).await;
    let html = points_page(&w, &mut browser).await;
    assert!(
        html.contains("Your applications") && html.contains("points.application-to-provider"),
        "{html}"
    );
    let form = csrf(&html);
    let round = html
        .split("name=\"round\"><option value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let fields = |csrf: &str, accept: bool| {
        let mut f = vec![
            ("csrf", csrf.to_owned()),
            ("round", round.clone()),
            ("service", service.to_string()),
            ("payment_service_user_id", "12345678".to_owned()),
            ("terms_version", "2026-11-01".to_owned()),
        ];
        if accept {
            f.push(("accept", "yes".to_owned()));
        }
        f
    };
    let resp = post_form(
        &w,
        &mut browser,
        "/portal/point-applications".into(),
        fields("forged", true),
    )
    .await;
    assert_eq!(resp.status(), 403);
    let resp = post_form(
        &w,
        &mut browser,
        "/portal/point-applications".into(),
        fields(&form, false),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(mine_of(&w, &token).await.is_empty());
    let resp = post_form(
        &w,
        &mut browser,
        "/portal/point-applications".into(),
        fields(&form, true),
    )
    .await;
    assert_eq!(
        (resp.status(), resp.headers()["location"].to_str().unwrap()),
        (
            reqwest::StatusCode::SEE_OTHER,
            "/portal/points?done=applied"
        )
    );
    let applications = mine_of(&w, &token).await;
    assert_eq!(applications.len(), 1);
    let id = applications[0]["id"].as_str().unwrap().to_owned();
    let html = points_page(&w, &mut browser).await;
    assert!(
        html.contains(&format!(
            "data-application=\"{id}\" data-state=\"submitted\""
        )),
        "{html}"
    );
    assert!(
        html.contains("Claim the points for using your card as a health-insurance card"),
        "{html}"
    );

    // A malformed account: refused with its words, nothing kept.
    let claim = |kind: &str, number: &str| {
        vec![
            ("csrf", form.clone()),
            ("kind", kind.to_owned()),
            ("accept", "yes".to_owned()),
            ("terms_version", "2026-11-01".to_owned()),
            (
                "bank_code",
                if number.is_empty() {
                    String::new()
                } else {
                    "0001".to_owned()
                },
            ),
            (
                "branch_code",
                if number.is_empty() {
                    String::new()
                } else {
                    "123".to_owned()
                },
            ),
            ("account_type", "ordinary".to_owned()),
            ("number", number.to_owned()),
            (
                "holder",
                if number.is_empty() {
                    String::new()
                } else {
                    "ヤマダ\u{3000}タロウ".to_owned()
                },
            ),
        ]
    };
    let triggers = format!("/portal/point-applications/{id}/triggers");
    let resp = post_form(
        &w,
        &mut browser,
        triggers.clone(),
        claim("public-fund-account", "123"),
    )
    .await;
    assert_eq!(
        resp.status(),
        400,
        "a page tells a malformed form as a bad request"
    );
    let words = resp.text().await.unwrap();
    assert!(
        words.contains("number: an account number is 7 digits"),
        "{words}"
    );
    assert_eq!(mine_of(&w, &token).await[0]["triggers"], json!([]));

    // The card registered at Mynaportal; the claim finds it.
    let r = w
        .http
        .post(format!(
            "{}/v1/health-insurance-registrations",
            w.mynaportal
        ))
        .json(&json!({"issuance_number": card.number, "insurer_number": "06123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let resp = post_form(
        &w,
        &mut browser,
        triggers.clone(),
        claim("health-insurance", ""),
    )
    .await;
    assert_eq!(
        (resp.status(), resp.headers()["location"].to_str().unwrap()),
        (
            reqwest::StatusCode::SEE_OTHER,
            "/portal/points?done=claimed"
        )
    );
    let html = points_page(&w, &mut browser).await;
    assert!(
        html.contains("data-kind=\"health-insurance\" data-state=\"registered\""),
        "{html}"
    );
    assert!(
        !html.contains("value=\"health-insurance\""),
        "claimed: no second form"
    );

    // Withdrawn: final, no forms left on it.
    let resp = post_form(
        &w,
        &mut browser,
        format!("/portal/point-applications/{id}/withdrawal"),
        vec![("csrf", form.clone())],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let html = points_page(&w, &mut browser).await;
    assert!(
        html.contains(&format!(
            "data-application=\"{id}\" data-state=\"withdrawn\""
        )),
        "{html}"
    );
    assert!(!html.contains(&format!("/portal/point-applications/{id}/withdrawal")));
}

async fn mine_of(w: &World, token: &str) -> Vec<Value> {
    let (status, body) = call(w, Method::GET, "/v1/me/point-applications", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body["applications"].as_array().unwrap().clone()
}

async fn points_page(w: &World, b: &mut Browser) -> String {
    b.get(&format!("{}/portal/points", w.url))
        .await
        .text()
        .await
        .unwrap()
}

async fn post_form(
    w: &World,
    b: &mut Browser,
    path: String,
    fields: Vec<(&'static str, String)>,
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(&format!("{}{path}", w.url), &pairs).await
}
