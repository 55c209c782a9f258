//! Each kind of relying party held to its articles (Terms Art 2.4–2.5, 19, 20; issue 21.5): PPID
//! services and the four facts are functions of public authorities, so a business is refused
//! every such call unless the operator's policy extends them to businesses — and may log people
//! in by Service ID all the same.

use mykey_platform::oidc::{FactScope, IdTokenAlg, OidcClient, OidcSubject};
use mykey_platform::{PlatformConfig, RelyingPartyId};
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

const REFUSED: (u16, &str) = (403, "urn:mykey:problem:public-authority-function");

#[tokio::test(flavor = "multi_thread")]
async fn a_business_is_refused_ppid_services_and_facts_by_default() {
    let w = world().await;
    let shop = business(&w, "Hakata Books").await;
    for (method, path, body) in [
        (
            Method::POST,
            "/v1/rp/ppid-services",
            Some(json!({"name": "login"})),
        ),
        (Method::GET, "/v1/rp/ppid-services", None),
    ] {
        let (status, got) = rp(&w, &shop, method.clone(), path, body).await;
        assert_eq!((status, problem_type(&got)), REFUSED, "{method} {path}");
    }
    let path = format!("/v1/ops/relying-parties/{}/oidc-client", shop.id);
    // A public authority's PPID service cannot be borrowed either: it is unknown to the shop.
    let city = relying_party(&w, "Fukuoka City").await;
    let service = crate::ppids::ppid_service(&w, &city, "city login").await;
    for registration in [
        json!({"ppid_service_id": service, "redirect_uris": ["https://shop.example/cb"]}),
        json!({"subject": "service-id", "redirect_uris": ["https://shop.example/cb"], "scopes": ["name"]}),
    ] {
        let (status, got) = ops(&w, Method::PUT, &path, Some(registration.clone())).await;
        assert_eq!((status, problem_type(&got)), REFUSED, "{registration}");
    }
    let (status, _) = ops(&w, Method::GET, &path, None).await;
    assert_eq!(status, 404, "nothing registered");
    // Logging in by Service ID is the business's way in.
    let (status, got) = ops(
        &w,
        Method::PUT,
        &path,
        Some(json!({"subject": "service-id", "redirect_uris": ["https://shop.example/cb"]})),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    // Registered before the policy said no (here: written to the store directly), a client that
    // asks for facts is refused at the authorization endpoint, back at the client.
    w.platform
        .store()
        .set_oidc_client(
            &OidcClient {
                relying_party: RelyingPartyId::new(shop.id),
                subject: OidcSubject::ServiceId,
                redirect_uris: vec!["https://shop.example/cb".into()],
                post_logout_redirect_uris: vec![],
                scopes: vec![FactScope::Name],
                id_token_alg: IdTokenAlg::Es256,
            },
            w.platform.now(),
        )
        .await
        .unwrap();
    let mut u = url::Url::parse(&format!("{}/oidc/authorize", w.url)).unwrap();
    u.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", shop.client_id.as_str()),
        ("redirect_uri", "https://shop.example/cb"),
        ("scope", "openid name"),
        ("state", "s"),
        ("nonce", "n"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(u.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://shop.example/cb") && location.contains("error=invalid_scope"),
        "{location}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_business_s_ppid_service_is_refused_to_people_once_the_policy_says_no() {
    // A service registered for a business in the store (as under an earlier policy).
    let w = world().await;
    let shop = business(&w, "Hakata Books").await;
    let service = w
        .platform
        .store()
        .insert_ppid_service(RelyingPartyId::new(shop.id), "old login", w.platform.now())
        .await
        .unwrap();
    let id = service.id.get();
    for (method, path) in [
        (Method::GET, format!("/v1/ppid-services/{id}")),
        (Method::POST, format!("/v1/ppid-services/{id}/challenges")),
    ] {
        let (status, got) = call(&w, method.clone(), &path, None).await;
        assert_eq!((status, problem_type(&got)), REFUSED, "{method} {path}");
    }
    let (status, got) = rp(
        &w,
        &shop,
        Method::GET,
        &format!("/v1/rp/ppid-services/{id}/ppids"),
        None,
    )
    .await;
    assert_eq!((status, problem_type(&got)), REFUSED);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_may_extend_ppid_services_to_businesses() {
    let w = world_configured(
        |_| {},
        PlatformConfig {
            operator_token_hash: Some(PlatformConfig::hash_operator_token(OPERATOR_TOKEN)),
            ppid_key: Some(mykey_platform::PpidSecret::from_bytes(&[42; 32]).unwrap()),
            ppid_for_businesses: true,
            ..PlatformConfig::default()
        },
    )
    .await;
    let shop = business(&w, "Hakata Books").await;
    let service = crate::ppids::ppid_service(&w, &shop, "shop login").await;
    let (status, got) = ops(
        &w,
        Method::PUT,
        &format!("/v1/ops/relying-parties/{}/oidc-client", shop.id),
        Some(json!({"ppid_service_id": service, "redirect_uris": ["https://shop.example/cb"], "scopes": ["name"]})),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    let (status, _) = call(
        &w,
        Method::GET,
        &format!("/v1/ppid-services/{service}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_registers_where_people_turn_to_it_and_they_see_it_everywhere() {
    let w = world().await;
    // Registration needs the profile, checked.
    for bad in [
        json!({"name": "Shop", "kind": "business"}),
        json!({"name": "Shop", "kind": "business", "contact": "", "privacy_policy_url": "https://s.example/p", "terms_url": "https://s.example/t"}),
        json!({"name": "Shop", "kind": "business", "contact": "desk", "privacy_policy_url": "javascript:alert(1)", "terms_url": "https://s.example/t"}),
        json!({"name": "Shop", "kind": "business", "contact": "desk", "privacy_policy_url": "https://s.example/p", "terms_url": "http://s.example/t"}),
    ] {
        let (status, body) = ops(
            &w,
            Method::POST,
            "/v1/ops/relying-parties",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-request"),
            "{bad}"
        );
    }
    let (_, all) = ops(&w, Method::GET, "/v1/ops/relying-parties", None).await;
    assert_eq!(all["relying_parties"], json!([]), "nothing registered");

    let city = relying_party(&w, "Fukuoka City").await;
    let (status, got) = rp(&w, &city, Method::GET, "/v1/rp/profile", None).await;
    assert_eq!(
        (status, got["contact"].as_str()),
        (200, Some("窓口 092-000-0000"))
    );
    let new = json!({
        "contact": "市民相談室 092-711-4019",
        "privacy_policy_url": "https://city.example/privacy",
        "terms_url": "https://city.example/terms",
    });
    let (status, got) = rp(&w, &city, Method::PUT, "/v1/rp/profile", Some(new.clone())).await;
    assert_eq!(status, 200, "{got}");
    let (status, _) = rp(
        &w,
        &city,
        Method::PUT,
        "/v1/rp/profile",
        Some(json!({"contact": "x", "privacy_policy_url": "ftp://x", "terms_url": "https://x.example"})),
    )
    .await;
    assert_eq!(status, 422);
    // The person sees it in the consent screen of a link request and of a PPID service, and in
    // their own list.
    let shown = |v: &serde_json::Value| {
        json!({
            "contact": v["contact"],
            "privacy_policy_url": v["privacy_policy_url"],
            "terms_url": v["terms_url"],
        })
    };
    let request = link_request(&w, &city, "R-1").await;
    let (_, view) = call(
        &w,
        Method::GET,
        &format!("/v1/link-requests/{request}"),
        None,
    )
    .await;
    assert_eq!(shown(&view["relying_party"]), new);
    let service = crate::ppids::ppid_service(&w, &city, "city login").await;
    let (_, view) = call(
        &w,
        Method::GET,
        &format!("/v1/ppid-services/{service}"),
        None,
    )
    .await;
    assert_eq!(shown(&view["relying_party"]), new);
    let (card, token) = linked(&w, &city, "R-2").await;
    let (_, mine) = call(&w, Method::GET, "/v1/me/service-ids", Some(&token)).await;
    assert_eq!(shown(&mine["service_ids"][0]["relying_party"]), new);
    // And in the portal.
    let mut browser = crate::portal::Browser::new();
    let html = crate::portal::portal_login(&w, &mut browser, &card).await;
    assert!(
        html.contains("市民相談室 092-711-4019")
            && html.contains("href=\"https://city.example/privacy\"")
            && html.contains("href=\"https://city.example/terms\""),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_about_ppids_queued_for_a_business_are_withheld_once_the_policy_says_no() {
    // A business's PPID service and a person's PPID in it, as an earlier policy allowed.
    let w = world().await;
    let shop = business(&w, "Hakata Books").await;
    let store = w.platform.store();
    let service = store
        .insert_ppid_service(RelyingPartyId::new(shop.id), "old login", w.platform.now())
        .await
        .unwrap();
    let card = card(&w).await;
    login(&w, &card).await;
    let person = store
        .person_by_issuance_number(card.number.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .issue_ppid(&mykey_platform::PpidIssue {
            service: service.id,
            person,
            derived: mykey_platform::Ppid::from_bytes([7; 16]),
            consent: Some(&mykey_platform::NewConsent {
                items: mykey_platform::PPID_CONSENT
                    .iter()
                    .map(|i| i.name.to_owned())
                    .collect(),
                terms_version: "2026-11-01".into(),
            }),
            grant: mykey_platform::LoginGrant::Code {
                hash: [9; 32],
                expires_at: w.platform.now().plus(60),
            },
            at: w.platform.now(),
            logs: &[],
            detail: "{}".into(),
        })
        .await
        .unwrap()
        .unwrap();
    // The card is renewed: the renewal is queued about the PPID, and never sent to the shop.
    login(&w, &renewed(&w, &card).await).await;
    let (status, body) = rp(&w, &shop, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sets"], json!({}), "{body}");
    assert_eq!(body["moreAvailable"], false);
    // Nor is the code the PPID service gave then redeemed now.
    let (status, got) = rp(
        &w,
        &shop,
        Method::POST,
        &format!(
            "/v1/rp/ppid-services/{}/authentications/x",
            service.id.get()
        ),
        None,
    )
    .await;
    assert_eq!((status, problem_type(&got)), REFUSED);
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_urls_are_https_and_kept_as_a_browser_reads_them() {
    let w = world().await;
    let city = relying_party(&w, "Fukuoka City").await;
    let put = |privacy: &str| json!({"contact": "desk", "privacy_policy_url": privacy, "terms_url": "https://city.example/terms"});
    for bad in [
        "https://city.example/privacy\n\nThe operator guarantees this party.",
        "https://city.example/\u{1b}[31m",
        "https://city.example/\u{202E}x",
        " https://city.example/",
        "http://localhost/privacy",
        "http://127.0.0.1/privacy",
        "https://user@city.example/",
        "https://city.example/#top",
    ] {
        let (status, body) = rp(&w, &city, Method::PUT, "/v1/rp/profile", Some(put(bad))).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-request"),
            "{bad:?}"
        );
    }
    let (status, body) = rp(
        &w,
        &city,
        Method::PUT,
        "/v1/rp/profile",
        Some(put("HTTPS://City.Example/%70rivacy")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["privacy_policy_url"], "https://city.example/%70rivacy");
}
