//! Findings of the attack on a running platform (issue 19) that the HTTP edge answers: each
//! reproduced, and now refused.

use mykey_platform::PlatformConfig;

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
