//! The card-point programme from the command line: the secretariat's `mykey admin points`, the
//! card holder's `mykey card points` (the phone app), a kiosk's `mykey kiosk apply`, a payment
//! provider over the API.

use serde_json::{Value, json};

use crate::support::{
    PIN, Serve, issue_card, my_key_id_creation, mykey, mykey_with, register_args, s,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_applies_with_the_card_and_the_secretariat_reads_the_statement() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let target = ["--platform", serve.url.as_str(), "--data", s(data.path())];
    let admin = |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&target);
        mykey(&all).ok()
    };
    let mut register = vec!["rp"];
    register.extend(register_args("ペイ払い", "payment-provider"));
    let rp: Value = serde_json::from_str(&admin(&register).stdout).unwrap();
    assert_eq!(rp["kind"], "payment-provider");
    admin(&["rp", "approve", &rp["id"].to_string()]);
    let (client, secret) = (
        rp["client_id"].as_str().unwrap(),
        rp["client_secret"].as_str(),
    );
    let http = reqwest::Client::new();
    let service: Value = http
        .post(format!("{}/v1/rp/payment-services", serve.url))
        .basic_auth(client, secret)
        .json(&json!({"name": "ペイ払い QR", "kind": "qr-code", "id_shape": {"alphabet": "digits", "min_length": 8, "max_length": 8}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let service = service["id"].to_string();
    admin(&["points", "approve", &service]);
    let round: Value =
        serde_json::from_str(&admin(&["points", "define", "--name", "第2弾"]).stdout).unwrap();
    assert_eq!(
        (
            round["purchase_rate"].as_u64(),
            round["purchase_cap"].as_u64()
        ),
        (Some(25), Some(5000))
    );
    let round = round["id"].to_string();
    admin(&["points", "open", &round]);

    // The holder: a card, a My Key ID, then the application from the phone side.
    let card = data.path().join("card.json");
    issue_card(&serve.jlis, &card, &[]).ok();
    let login: Value = serde_json::from_str(
        &mykey(&[
            "card",
            "login",
            "--card",
            s(&card),
            "--pin",
            PIN,
            "--platform",
            &serve.url,
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    let created = http
        .post(format!("{}/v1/me/my-key-id", serve.url))
        .bearer_auth(login["token"].as_str().unwrap())
        .json(&my_key_id_creation(None))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let apply = |id: &str| {
        mykey(&[
            "card",
            "points",
            "apply",
            "--card",
            s(&card),
            "--pin",
            PIN,
            "--platform",
            &serve.url,
            "--round",
            &round,
            "--service",
            &service,
            "--payment-service-id",
            id,
        ])
    };
    apply("1234567").fails_with("not of the service's length");
    let run = apply("12345678").ok();
    assert!(run.stderr.contains("Art 23.1.1"), "{}", run.stderr);
    let applied: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(applied["state"], "submitted");
    apply("87654321").fails_with("one application per person per round");

    // The provider validates from its queue; the holder sees it.
    let validated = http
        .post(format!(
            "{}/v1/rp/point-applications/{}/validation",
            serve.url,
            applied["id"].as_str().unwrap()
        ))
        .basic_auth(client, secret)
        .json(&json!({"valid": true, "settlement_user_id": "PAY-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(validated.status(), 200);
    let list: Value = serde_json::from_str(
        &mykey(&[
            "card",
            "points",
            "list",
            "--card",
            s(&card),
            "--pin",
            PIN,
            "--platform",
            &serve.url,
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    assert_eq!(list["applications"][0]["state"], "validated");

    // The holder registers the card as a health-insurance card at Mynaportal, then claims the
    // points for it; and an account with the registry, checked before anything is sent.
    let application = applied["id"].as_str().unwrap();
    mykey(&[
        "registries",
        "health-insurance",
        "--card",
        s(&card),
        "--insurer",
        "06123456",
        "--mynaportal-url",
        &serve.mynaportal,
    ])
    .ok();
    let claim = |extra: &[&str]| {
        let mut args = vec![
            "card",
            "points",
            "claim",
            application,
            "--card",
            s(&card),
            "--pin",
            PIN,
            "--platform",
            &serve.url,
        ];
        args.extend_from_slice(extra);
        mykey(&args)
    };
    let run = claim(&["--kind", "health-insurance"]).ok();
    assert!(run.stderr.contains("Art 24"), "{}", run.stderr);
    let t: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (t["state"].as_str(), t["points"].as_u64()),
        (Some("registered"), Some(7500))
    );
    let account = |number: &'static str| {
        [
            "--kind",
            "public-fund-account",
            "--bank",
            "0001",
            "--branch",
            "123",
            "--number",
            number,
            "--holder-name",
            "ヤマダ\u{3000}タロウ",
        ]
    };
    claim(&account("123456")).fails_with("number: an account number is 7 digits");
    // Registered at the registry itself (`mykey registries account`), then claimed without one.
    mykey(&[
        "registries",
        "account",
        "--card",
        s(&card),
        "--bank",
        "0001",
        "--branch",
        "123",
        "--number",
        "1234567",
        "--holder",
        "ヤマダ\u{3000}タロウ",
        "--account-registry-url",
        &serve.account_registry,
    ])
    .ok();
    let t: Value =
        serde_json::from_str(&claim(&["--kind", "public-fund-account"]).ok().stdout).unwrap();
    assert_eq!(t["state"], "registered");

    // A kiosk applies for another holder in front of it, over her card file, PIN typed there.
    let mut register = vec!["rp"];
    register.extend(register_args("駅前ATM", "kiosk"));
    let kiosk: Value = serde_json::from_str(&admin(&register).stdout).unwrap();
    admin(&["rp", "approve", &kiosk["id"].to_string()]);
    let hanako = data.path().join("hanako.json");
    issue_card(&serve.jlis, &hanako, &[]).ok();
    let login: Value = serde_json::from_str(
        &mykey(&[
            "card",
            "login",
            "--card",
            s(&hanako),
            "--pin",
            PIN,
            "--platform",
            &serve.url,
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    http.post(format!("{}/v1/me/my-key-id", serve.url))
        .bearer_auth(login["token"].as_str().unwrap())
        .json(&my_key_id_creation(None))
        .send()
        .await
        .unwrap();
    let kiosk_apply = |secret: &str| {
        mykey_with(
            &[
                "kiosk",
                "apply",
                "--card",
                s(&hanako),
                "--pin",
                PIN,
                "--platform",
                &serve.url,
                "--client-id",
                kiosk["client_id"].as_str().unwrap(),
                "--round",
                &round,
                "--service",
                &service,
                "--payment-service-id",
                "55556666",
            ],
            &[("MYKEY_CLIENT_SECRET", secret)],
        )
    };
    kiosk_apply("not-the-secret").fails_with("401");
    let run = kiosk_apply(kiosk["client_secret"].as_str().unwrap()).ok();
    assert!(run.stderr.contains("Art 23.1.3"), "{}", run.stderr);
    let at_kiosk: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (at_kiosk["kiosk"].as_str(), at_kiosk["state"].as_str()),
        (Some("駅前ATM"), Some("submitted"))
    );

    let csv = admin(&["points", "statement", &round, "--csv"]).stdout;
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("provider_id,provider,applications"),
        "{csv}"
    );
    assert!(
        lines.next().unwrap().contains(",\"ペイ払い\",1,0,0,"),
        "{csv}"
    );
}
