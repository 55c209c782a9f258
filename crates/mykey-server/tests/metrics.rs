//! `/metrics`: only for the metrics token; counters that move with what happens; and the text
//! accepted by Prometheus's own Python client (`prometheus_client` from PyPI), scraped while a
//! load runs.

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

/// The metrics text over the socket, with the status and content type.
async fn scrape(w: &World, token: Option<&str>) -> (u16, String, String) {
    let mut req = w.http.get(format!("{}/metrics", w.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, resp.text().await.unwrap())
}

/// The value of the sample `name{labels}` (labels as the text writes them), if present.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(name_and_labels)?
            .strip_prefix(' ')?
            .parse()
            .ok()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_for_the_token_only_and_count_what_happens() {
    let w = world().await;
    assert_eq!(scrape(&w, None).await.0, 401);
    assert_eq!(scrape(&w, Some(OPERATOR_TOKEN)).await.0, 401);

    // A login that fails (a signature over another nonce), one that succeeds.
    let card = card(&w).await;
    let other = challenge(&w).await;
    let nonce = challenge(&w).await;
    let mut wrong = answer_for(&card, &other);
    wrong["nonce"] = json!(nonce);
    let (status, body) = post(&w, "/v1/auth/responses", None, wrong).await;
    assert!(status >= 400, "{body}");
    let refused = problem_type(&body)
        .trim_start_matches("urn:mykey:problem:")
        .to_owned();
    login(&w, &card).await;
    // A relying party with an event waiting; a function under maintenance.
    let bank = relying_party(&w, "Bank").await;
    let (status, _) = ops(
        &w,
        Method::POST,
        "/v1/ops/maintenance-windows",
        Some(json!({"ends_at": at(&w, 600), "functions": ["points"], "notice": {"en": "x", "ja": "x"}, "urgent": true, "reason": "test"})),
    )
    .await;
    assert_eq!(status, 201);

    let (status, kind, text) = scrape(&w, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let auth = "route=\"/v1/auth/responses\"";
    assert_eq!(
        sample(
            &text,
            &format!("mykey_card_authentications_total{{{auth},result=\"ok\"}}")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("mykey_card_authentications_total{{{auth},result=\"{refused}\"}}")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "mykey_http_requests_total{route=\"/v1/auth/challenges\",method=\"POST\",status=\"201\"}"
        ),
        Some(3.0),
        "{text}"
    );
    assert!(
        text.contains("mykey_http_request_duration_seconds_bucket{le=\"0.001\",route=\"/v1/auth/challenges\",method=\"POST\"}"),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("mykey_events_pending{{relying_party=\"{}\"}}", bank.id)
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "mykey_maintenance_in_effect{function=\"points\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "mykey_maintenance_in_effect{function=\"card-login\"}"
        ),
        Some(0.0)
    );
    assert!(
        text.contains("mykey_jlis_crl_index_age_seconds{ca=\""),
        "{text}"
    );
    assert!(sample(&text, "mykey_db_connections{state=\"max\"}").is_some_and(|n| n >= 1.0));
    assert_eq!(sample(&text, "mykey_termination_announced"), Some(0.0));
    // No path, handle or token is ever a label: only routes as declared.
    for line in text.lines().filter(|l| l.contains("route=\"")) {
        let route = line
            .split("route=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(route == "unmatched" || route.starts_with('/'), "{line}");
        assert!(
            !route.contains(&bank.client_id) && !line.contains(METRICS_TOKEN),
            "{line}"
        );
    }
    // Polled: the event gone, its gauge with it.
    let (_, got) = rp(&w, &bank, Method::POST, "/v1/rp/events", Some(json!({}))).await;
    let jtis: Vec<&String> = got["sets"].as_object().unwrap().keys().collect();
    rp(
        &w,
        &bank,
        Method::POST,
        "/v1/rp/events",
        Some(json!({"ack": jtis})),
    )
    .await;
    let (_, _, text) = scrape(&w, Some(METRICS_TOKEN)).await;
    assert_eq!(
        sample(
            &text,
            &format!("mykey_events_pending{{relying_party=\"{}\"}}", bank.id)
        ),
        None,
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_there_are_no_metrics() {
    let w = world_configured(|_| {}, mykey_platform::PlatformConfig::default()).await;
    assert_eq!(scrape(&w, Some(METRICS_TOKEN)).await.0, 404);
}

/// Prometheus's own Python client parses the text while logins run, and finds the counters
/// moving between two scrapes.
#[tokio::test(flavor = "multi_thread")]
async fn prometheus_s_own_parser_reads_the_metrics_during_a_load() {
    let python = std::env::var("MYKEY_PEERS_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/peers/bin/python").to_string()
    });
    let ok = std::process::Command::new(&python)
        .args(["-c", "import prometheus_client.openmetrics.parser"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return mykey_testkit::skip(
            module_path!(),
            "prometheus_client from PyPI is missing (scripts/test installs it in target/peers)",
        );
    }
    let w = std::sync::Arc::new(world().await);
    let load = {
        let w = w.clone();
        tokio::spawn(async move {
            let card = card(&w).await;
            for _ in 0..40 {
                login(&w, &card).await;
            }
        })
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/scrape.py");
    let url = format!("{}/metrics", w.url);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .args([script, &url, METRICS_TOKEN])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    load.await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(report["families"].as_u64().unwrap() >= 10, "{report}");
    assert!(
        report["requests_after"].as_f64().unwrap() > report["requests_before"].as_f64().unwrap(),
        "{report}"
    );
    assert!(
        report["histogram_buckets"].as_u64().unwrap() > 0,
        "{report}"
    );
}
