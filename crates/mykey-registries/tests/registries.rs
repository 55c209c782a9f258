//! Both simulators over HTTP: what they keep, what they refuse, and their OpenAPI documents
//! in step with their routes.

use mykey_registries::{AccountRegistry, Mynaportal};
use serde_json::{Value, json};

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(mykey_registries::serve(
        router,
        listener,
        std::future::pending(),
    ));
    url
}

async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.expect("an answer");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn account(number: &str, holder: &str) -> Value {
    json!({"bank_code": "0005", "branch_code": "001", "account_type": "savings",
           "number": number, "holder": holder})
}

#[tokio::test]
async fn mynaportal_keeps_registrations_across_a_restart_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let url = serve(Mynaportal::open(dir.path()).await.unwrap().router()).await;
    let register = |body: Value| {
        http.post(format!("{url}/v1/health-insurance-registrations"))
            .json(&body)
    };
    let (status, got) = send(register(
        json!({"issuance_number": "1A2B", "insurer_number": "06123456"}),
    ))
    .await;
    assert_eq!(status, 201, "{got}");
    for (bad, why) in [
        (
            json!({"issuance_number": "1A2B", "insurer_number": "0612345"}),
            "insurer_number",
        ),
        (
            json!({"issuance_number": "nothex", "insurer_number": "123456"}),
            "issuance_number",
        ),
        (json!({"issuance_number": "1A2B"}), "insurer_number"),
        (
            json!({"issuance_number": "1A2B", "insurer_number": "123456", "name": "x"}),
            "name",
        ),
    ] {
        let (status, got) = send(register(bad)).await;
        assert_eq!(status, 422, "{got}");
        assert!(got["detail"].as_str().unwrap().contains(why), "{got}");
        assert_eq!(got["type"], "urn:mykey:registry:problem:invalid-request");
    }
    // A restart on the same folder keeps what was acknowledged.
    let again = serve(Mynaportal::open(dir.path()).await.unwrap().router()).await;
    let ask = |n: &str| {
        http.post(format!("{again}/v1/health-insurance-inquiries"))
            .json(&json!({"issuance_number": n}))
    };
    let (_, yes) = send(ask("1a2b")).await;
    assert_eq!(yes["registered"], true, "{yes}");
    assert!(yes["registered_at"].is_u64());
    let (_, no) = send(ask("1A2C")).await;
    assert_eq!(
        (no["registered"].as_bool(), no["registered_at"].is_null()),
        (Some(false), true)
    );
    let big = "A".repeat(20_000);
    let (status, got) = send(ask(&big)).await;
    assert_eq!(status, 413, "{got}");
}

#[tokio::test]
async fn the_account_registry_checks_the_shape_and_answers_for_a_chain_of_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let url = serve(AccountRegistry::open(dir.path()).await.unwrap().router()).await;
    let put = |n: &str, body: Value| http.put(format!("{url}/v1/accounts/{n}")).json(&body);
    for (bad, field) in [
        (account("123456", "ヤマダ\u{3000}タロウ"), "number"),
        (account("1234567", "YAMADA TARO"), "holder"),
        (account("1234567", "ﾔﾏﾀﾞ"), "holder"),
        (
            json!({"bank_code": "05", "branch_code": "001", "account_type": "savings", "number": "1234567", "holder": "ヤマダ"}),
            "bank_code",
        ),
        (
            json!({"bank_code": "0005", "branch_code": "001", "account_type": "fixed", "number": "1234567", "holder": "ヤマダ"}),
            "account_type",
        ),
    ] {
        let (status, got) = send(put("0A", bad)).await;
        assert_eq!(
            (status, got["type"].as_str()),
            (422, Some("urn:mykey:registry:problem:invalid-account")),
            "{got}"
        );
        assert!(got["detail"].as_str().unwrap().starts_with(field), "{got}");
    }
    let ask = |numbers: Value| {
        http.post(format!("{url}/v1/registration-inquiries"))
            .json(&json!({"issuance_numbers": numbers}))
    };
    let (_, none) = send(ask(json!(["0A"]))).await;
    assert_eq!(none["registered"], false, "a refused account is not kept");
    let (status, got) = send(put("0A", account("1234567", "ヤマダ\u{3000}タロウ"))).await;
    assert_eq!(status, 200, "{got}");
    // Asked with the renewed card's number first, then the old one.
    let (_, found) = send(ask(json!(["0B", "0A"]))).await;
    assert_eq!(found["registered"], true, "{found}");
    let (_, other) = send(ask(json!(["0C"]))).await;
    assert_eq!(other["registered"], false);
    for bad in [json!([]), json!(vec!["0A"; 33]), json!(["xyz"])] {
        let (status, got) = send(ask(bad)).await;
        assert_eq!(status, 422, "{got}");
    }
}

#[tokio::test]
async fn each_openapi_document_describes_exactly_its_routes() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let myna = serve(Mynaportal::open(dir.path()).await.unwrap().router()).await;
    let accounts = serve(AccountRegistry::open(dir.path()).await.unwrap().router()).await;
    for (url, ops) in [
        (
            myna,
            vec![
                ("/health", "get"),
                ("/v1/openapi.json", "get"),
                ("/v1/health-insurance-registrations", "post"),
                ("/v1/health-insurance-inquiries", "post"),
            ],
        ),
        (
            accounts,
            vec![
                ("/health", "get"),
                ("/v1/openapi.json", "get"),
                ("/v1/accounts/{issuance_number}", "put"),
                ("/v1/registration-inquiries", "post"),
            ],
        ),
    ] {
        let (status, doc) = send(http.get(format!("{url}/v1/openapi.json"))).await;
        assert_eq!((status, doc["openapi"].as_str()), (200, Some("3.1.0")));
        let mut described: Vec<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(p, m)| {
                m.as_object()
                    .unwrap()
                    .keys()
                    .map(move |k| (p.clone(), k.clone()))
            })
            .collect();
        described.sort();
        let mut served: Vec<(String, String)> = ops
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect();
        served.sort();
        assert_eq!(described, served);
        let (status, _) = send(http.get(format!("{url}/v1/no-such"))).await;
        assert_eq!(status, 404);
    }
}
