//! `mykey admin rp …` against `mykey serve`: the operator token it wrote, relying parties
//! registered, approved, listed, suspended and re-keyed.

use crate::support::{Serve, mykey, s};

#[test]
fn the_operator_registers_approves_and_suspends_a_relying_party() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let token = data.path().join("operator-token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&token).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "rp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data.path())]);
        mykey(&all)
    };
    let out = admin(&crate::support::register_args(
        "デジタル市役所",
        "public-authority",
    ))
    .ok();
    let rp: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rp["status"], "pending");
    let id = rp["id"].to_string();
    let secret = rp["client_secret"].as_str().unwrap().to_owned();
    admin(&["approve", &id]).ok();
    let list = admin(&["list"]).ok().stdout;
    assert!(
        list.contains("approved") && list.contains("デジタル市役所"),
        "{list}"
    );
    assert!(
        !list.contains(&secret),
        "a listed relying party shows no secret"
    );
    let rotated: serde_json::Value =
        serde_json::from_str(&admin(&["rotate-secret", &id]).ok().stdout).unwrap();
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);
    // Keys for private_key_jwt: a public JWK Set from a file; a private key is refused.
    let jwks = data.path().join("jwks.json");
    std::fs::write(&jwks, p256_jwks("k1", false).to_string()).unwrap();
    admin(&["set-jwks", &id, s(&jwks)]).ok();
    std::fs::write(&jwks, p256_jwks("k2", true).to_string()).unwrap();
    admin(&["set-jwks", &id, s(&jwks)]).fails_with("private parts");
    std::fs::write(&jwks, p256_jwks("k3", false).to_string()).unwrap();
    let registered: serde_json::Value = serde_json::from_str(
        &admin(
            &[
                crate::support::register_args("鍵の銀行", "business"),
                vec!["--jwks", s(&jwks)],
            ]
            .concat(),
        )
        .ok()
        .stdout,
    )
    .unwrap();
    assert_eq!(registered["status"], "pending");
    admin(&["set-jwks", &id, "/nonexistent/jwks.json"]).fails_with("cannot read");
    admin(&["suspend", &id]).ok();
    // A wrong token is refused.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("operator-token"),
        "not-the-token-not-the-token",
    )
    .unwrap();
    mykey(&[
        "admin",
        "rp",
        "list",
        "--platform",
        &serve.url,
        "--data",
        s(bad.path()),
    ])
    .fails_with("401");
    admin(&["approve", "999999"]).fails_with("404");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_links_a_customer_id_that_the_card_holder_approves() {
    use crate::support::{PIN, issue_card};
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let cards = tempfile::tempdir().unwrap();
    let card = cards.path().join("card.json");
    issue_card(&serve.jlis, &card, &[]).ok();
    let platform = ["--platform", serve.url.as_str()];
    // A Service ID needs a My Key ID (Art 17.1).
    let session: serde_json::Value = serde_json::from_str(
        &mykey(
            &[
                &["card", "login", "--card", s(&card), "--pin", PIN][..],
                &platform[..],
            ]
            .concat(),
        )
        .ok()
        .stdout,
    )
    .unwrap();
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/v1/me/my-key-id", serve.url))
        .bearer_auth(session["token"].as_str().unwrap())
        .json(&crate::support::my_key_id_creation(None))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "rp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data.path())]);
        mykey(&all)
    };
    let rp: serde_json::Value = serde_json::from_str(
        &admin(&crate::support::register_args("みらい銀行", "business"))
            .ok()
            .stdout,
    )
    .unwrap();
    admin(&["approve", &rp["id"].to_string()]).ok();
    let (client_id, secret) = (
        rp["client_id"].as_str().unwrap(),
        rp["client_secret"].as_str().unwrap(),
    );
    let request: serde_json::Value = http
        .post(format!("{}/v1/rp/service-id-requests", serve.url))
        .basic_auth(client_id, Some(secret))
        .json(&serde_json::json!({"customer_id": "C-000123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link_url = request["link_url"].as_str().unwrap();
    let out = mykey(
        &[
            &["card", "link", "--card", s(&card), "--pin", PIN][..],
            &platform[..],
            &[link_url][..],
        ]
        .concat(),
    )
    .ok();
    assert!(
        out.stderr.contains("みらい銀行") && out.stderr.contains("C-000123"),
        "{out:?}"
    );
    let links: serde_json::Value = http
        .get(format!(
            "{}/v1/rp/service-ids?customer_id=C-000123",
            serve.url
        ))
        .basic_auth(client_id, Some(secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        links["service_ids"][0]["customer_id"], "C-000123",
        "{links}"
    );
    // The same request cannot be answered twice.
    mykey(
        &[
            &["card", "link", "--card", s(&card), "--pin", PIN][..],
            &platform[..],
            &[link_url][..],
        ]
        .concat(),
    )
    .fails_with("409");
}

/// A JWK Set with one fresh P-256 public key (and its private part, when `private`).
fn p256_jwks(kid: &str, private: bool) -> serde_json::Value {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    let doc = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    let mut key = serde_json::json!({
        "kty": "EC", "crv": "P-256", "kid": kid,
        "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..65]),
    });
    if private {
        key["d"] = serde_json::json!(B64URL.encode([7u8; 32]));
    }
    serde_json::json!({"keys": [key]})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_makes_a_key_and_gets_a_token_with_an_assertion() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "rp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data.path())]);
        mykey(&all)
    };
    let rp: serde_json::Value = serde_json::from_str(
        &admin(&crate::support::register_args("鍵の銀行", "business"))
            .ok()
            .stdout,
    )
    .unwrap();
    let id = rp["id"].to_string();
    admin(&["approve", &id]).ok();
    let client_id = rp["client_id"].as_str().unwrap();
    let keys = tempfile::tempdir().unwrap();
    mykey(&["client", "keygen", "--out", s(keys.path())]).ok();
    let key = keys.path().join("client-key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let jwks = std::fs::read_to_string(keys.path().join("jwks.json")).unwrap();
    assert!(
        !jwks.contains("\"d\""),
        "the public set holds no private part"
    );
    admin(&["set-jwks", &id, s(&keys.path().join("jwks.json"))]).ok();
    let assertion = |client: &str| {
        mykey(&[
            "client",
            "assertion",
            "--key",
            s(&key),
            "--client-id",
            client,
            "--platform",
            &serve.url,
        ])
    };
    let a = assertion(client_id).ok().stdout.trim().to_owned();
    // The platform's issuer is the URL it listens on, so the audience matches.
    let http = reqwest::Client::new();
    let token = |a: String| {
        http.post(format!("{}/oidc/token", serve.url))
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", a.as_str()),
            ])
            .send()
    };
    let resp = token(a.clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    let links = http
        .get(format!("{}/v1/rp/service-ids", serve.url))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(links.status(), 200);
    // Used once only; an assertion for another client does not verify under its keys.
    assert_eq!(token(a).await.unwrap().status(), 401);
    let other = assertion("rp_someone_else").ok().stdout.trim().to_owned();
    assert_eq!(token(other).await.unwrap().status(), 401);
    // A file that is no key is refused with a plain message.
    mykey(&[
        "client",
        "assertion",
        "--key",
        s(&keys.path().join("jwks.json")),
        "--client-id",
        client_id,
    ])
    .fails_with("not a PEM private key");
}

/// `mykey admin keys rotate` on `data` with `extra` arguments, where no node runs (nothing to
/// publish the new key to first); it must succeed.
fn rotate_keys(data: &std::path::Path, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "admin",
        "keys",
        "rotate",
        "--publish-secs",
        "0",
        "--data",
        s(data),
    ];
    args.extend_from_slice(extra);
    mykey(&args).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platform_signing_key_rotates_and_the_old_one_stays_published() {
    let data = tempfile::tempdir().unwrap();
    let kids = |url: String| async move {
        let jwks: serde_json::Value = reqwest::get(format!("{url}/oidc/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| {
                assert!(
                    k.get("d").is_none() && k.get("p").is_none(),
                    "a private part published: {k}"
                );
                // The ES256 keys rotate; the RS256 key (for clients that chose it) is the last.
                (k["kty"] == "EC").then(|| k["kid"].as_str().unwrap().to_owned())
            })
            .collect::<Vec<_>>()
    };
    let serve = Serve::start(data.path());
    let before = kids(serve.url.clone()).await;
    assert_eq!(before.len(), 1);
    assert!(
        serve.terminate().success(),
        "a node stopped gives its leases up"
    );
    let out = rotate_keys(data.path(), &[]);
    assert!(!out.stdout.contains(&before[0]), "{out:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["signing-key", "signing-key.previous"] {
            let mode = std::fs::metadata(data.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
    let serve = Serve::start(data.path());
    let after = kids(serve.url.clone()).await;
    assert_eq!(after.len(), 2);
    assert_ne!(after[0], before[0], "a new key signs");
    assert_eq!(after[1], before[0], "the old one still verifies");
    assert!(out.stdout.contains(&after[0]), "{out:?}");
    // The RS256 key rotates the same way.
    let rsa_kids = |url: String| async move {
        let jwks: serde_json::Value = reqwest::get(format!("{url}/oidc/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["kty"] == "RSA")
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let rsa_before = rsa_kids(serve.url.clone()).await;
    assert_eq!(rsa_before.len(), 1);
    assert!(
        serve.terminate().success(),
        "a node stopped gives its leases up"
    );
    let out = rotate_keys(data.path(), &["--alg", "RS256"]);
    let serve = Serve::start(data.path());
    let rsa_after = rsa_kids(serve.url.clone()).await;
    assert_eq!(rsa_after.len(), 2);
    assert_ne!(rsa_after[0], rsa_before[0]);
    assert_eq!(rsa_after[1], rsa_before[0]);
    assert!(out.stdout.contains(&rsa_after[0]), "{out:?}");
    assert_eq!(
        kids(serve.url.clone()).await,
        after,
        "the ES256 keys untouched"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path().join("signing-key.rs256"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the RS256 key is kept like the others");
    }
}

#[test]
fn the_operator_publishes_terms_seven_days_ahead_and_anyone_lists_them() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let at = |days: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(days))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let publish = |version: &str, effective_at: &str, extra: &[&str]| {
        let mut all = vec![
            "admin",
            "terms",
            "publish",
            "--platform",
            &serve.url,
            "--data",
            s(data.path()),
            "--version",
            version,
            "--effective-at",
            effective_at,
        ];
        all.extend_from_slice(extra);
        mykey(&all)
    };
    // Art 12.2: less than seven days' notice is refused, saying why, and nothing is published.
    publish("2027-01", &at(3), &["--summary", "Art 17 changes"]).fails_with("Art 12.2");
    // Neither a text nor a summary: refused.
    publish("2027-01", &at(8), &[]).fails_with("summary");
    let summary = data.path().join("summary.txt");
    std::fs::write(&summary, "Art 17 changes\nArt 20 too").unwrap();
    let out = publish(
        "2027-01",
        &at(8),
        &[
            "--summary-file",
            s(&summary),
            "--text-url",
            "https://mykey.example/terms/2027-01",
        ],
    )
    .ok();
    let published: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(published["version"], "2027-01");
    assert_eq!(published["summary"], "Art 17 changes\nArt 20 too");
    // The same name again is a conflict; an urgent change may come sooner, with its reason.
    publish("2027-01", &at(9), &["--summary", "again"]).fails_with("already");
    publish(
        "2026-12-urgent",
        &at(1),
        &["--summary", "fix", "--urgent", "a court order"],
    )
    .ok();
    // Anyone lists them (no operator token): the seeded version is in force, the new ones
    // announced.
    let list = mykey(&["admin", "terms", "list", "--platform", &serve.url]).ok();
    let terms: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(terms["in_force"], "2026-11-01", "{terms}");
    let names: Vec<&str> = terms["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"2027-01") && names.contains(&"2026-12-urgent"),
        "{names:?}"
    );
    let urgent = terms["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == "2026-12-urgent")
        .unwrap();
    assert_eq!(urgent["urgent_reason"], "a court order");
}

/// `mykey admin operators|people|log` and `mykey card login --token-only`, as the README's
/// tour runs them: the bootstrap token makes the first administrator and is retired; operators
/// then send their card's session.
#[tokio::test(flavor = "multi_thread")]
async fn operators_sign_in_with_their_cards_and_the_help_desk_suspends_a_holder() {
    use crate::support::{PIN, issue_card, mykey_with};
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let cards = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    // A person: a card, a session, a My Key ID.
    let person = |name: &str| {
        let card = cards.path().join(format!("{name}.json"));
        issue_card(&serve.jlis, &card, &[]).ok();
        let token = card_session(&serve, &card);
        (card, token)
    };
    let mut ids = Vec::new();
    let mut people = Vec::new();
    for name in ["admin", "desk", "holder"] {
        let (card, token) = person(name);
        let created: serde_json::Value = http
            .post(format!("{}/v1/me/my-key-id", serve.url))
            .bearer_auth(&token)
            .json(&crate::support::my_key_id_creation(None))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
        people.push((card, token));
    }
    let target = ["--platform", serve.url.as_str(), "--data", s(data.path())];
    let admin = |args: &[&str], session: Option<&str>| {
        let all = [args, &target[..]].concat();
        match session {
            Some(t) => mykey_with(&all, &[("MYKEY_OPERATOR_TOKEN", t)]),
            None => mykey(&all),
        }
    };
    let added = admin(
        &[
            "admin",
            "operators",
            "add",
            "--my-key-id",
            &ids[0],
            "--name",
            "Aoki",
            "--role",
            "administrator",
        ],
        None,
    )
    .ok();
    assert!(added.stdout.contains("administrator"), "{added:?}");
    // The bootstrap token is retired.
    admin(&["admin", "rp", "list"], None).fails_with("401");
    let a = people[0].1.as_str();
    admin(
        &[
            "admin",
            "operators",
            "add",
            "--my-key-id",
            &ids[1],
            "--name",
            "Baba",
            "--role",
            "help-desk",
        ],
        Some(a),
    )
    .ok();
    let list = admin(&["admin", "operators", "list"], Some(a)).ok().stdout;
    assert!(
        list.contains("Aoki") && list.contains("help-desk"),
        "{list}"
    );
    let d = people[1].1.as_str();
    admin(&["admin", "rp", "list"], Some(d)).fails_with("help-desk role");
    let shown = admin(&["admin", "people", "show", &ids[2]], Some(d))
        .ok()
        .stdout;
    assert!(shown.contains(&ids[2]), "{shown}");
    admin(
        &[
            "admin",
            "people",
            "suspend",
            &ids[2],
            "--reason",
            "card reported stolen",
        ],
        Some(d),
    )
    .ok();
    mykey(&[
        "card",
        "login",
        "--card",
        s(&people[2].0),
        "--pin",
        PIN,
        "--platform",
        &serve.url,
    ])
    .fails_with("suspended");
    admin(
        &[
            "admin",
            "people",
            "resume",
            &ids[2],
            "--reason",
            "identity confirmed",
        ],
        Some(d),
    )
    .ok();
    let log = admin(&["admin", "people", "log", &ids[2]], Some(d))
        .ok()
        .stdout;
    assert!(
        log.contains("person.suspended") && log.contains("card reported stolen"),
        "{log}"
    );
    // The help desk does not read the operator log; it verifies for an auditor.
    admin(&["admin", "log", "verify"], Some(d)).fails_with("403");
    admin(&["admin", "operators", "end", "2"], Some(a)).ok();
    admin(&["admin", "people", "show", &ids[2]], Some(d)).fails_with("not an operator");
}

/// The whole log of a run, at the `debug` level and as JSON lines: every line an object, the
/// requests named by their IDs (a `traceparent`'s trace ID carried), and no secret in it — no
/// PIN, session or bootstrap token, client secret, issuance number, link request or code.
#[tokio::test(flavor = "multi_thread")]
async fn the_json_log_of_a_run_names_requests_and_holds_no_secret() {
    use crate::support::{PIN, SIGN_PASSWORD, issue_card};
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let serve = Serve::start_logged(
        data.path(),
        &["--log-format", "json"],
        "debug",
        std::process::Stdio::from(log),
    );
    let cards = tempfile::tempdir().unwrap();
    let card = cards.path().join("card.json");
    let number = issue_card(&serve.jlis, &card, &[])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let token = card_session(&serve, &card);
    let http = reqwest::Client::new();
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let created = http
        .post(format!("{}/v1/me/my-key-id", serve.url))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&crate::support::my_key_id_creation(None))
        .send()
        .await
        .unwrap();
    assert_eq!(created.headers()["x-request-id"], trace);
    let admin = |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data.path())]);
        mykey(&all)
    };
    let mut register = vec!["rp"];
    register.extend(crate::support::register_args("みらい銀行", "business"));
    let rp: serde_json::Value = serde_json::from_str(&admin(&register).ok().stdout).unwrap();
    admin(&["rp", "approve", &rp["id"].to_string()]).ok();
    let (client_id, secret) = (
        rp["client_id"].as_str().unwrap(),
        rp["client_secret"].as_str().unwrap(),
    );
    let request: serde_json::Value = http
        .post(format!("{}/v1/rp/service-id-requests", serve.url))
        .basic_auth(client_id, Some(secret))
        .json(&serde_json::json!({"customer_id": "C-000123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link_url = request["link_url"].as_str().unwrap();
    mykey(&[
        "card",
        "link",
        "--card",
        s(&card),
        "--pin",
        PIN,
        "--platform",
        &serve.url,
        link_url,
    ])
    .ok();
    // A wrong secret and a wrong PIN are refused, and are not written either.
    let wrong = http
        .get(format!("{}/v1/rp/service-ids", serve.url))
        .basic_auth(client_id, Some("not-the-secret-0123456789"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let operator_token = std::fs::read_to_string(data.path().join("operator-token")).unwrap();
    drop(serve);
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.lines().count() > 10, "{text}");
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string(), "{line}");
    }
    assert!(
        text.lines()
            .any(|l| l.contains(trace) && l.contains("mykey::access")),
        "the request with a traceparent is named by its trace ID"
    );
    let request_id = link_url.rsplit('/').next().unwrap();
    for (what, secret) in [
        ("the PIN", format!("\"{PIN}\"")),
        ("the signing password", SIGN_PASSWORD.to_owned()),
        ("the session token", token.clone()),
        ("the bootstrap token", operator_token.trim().to_owned()),
        ("the client secret", secret.to_owned()),
        ("the issuance number", number.clone()),
        ("the link request", request_id.to_owned()),
        ("the wrong secret", "not-the-secret-0123456789".to_owned()),
    ] {
        assert!(!secret.is_empty());
        assert!(!text.contains(&secret), "{what} is in the log");
    }
}

/// `mykey card login --token-only` with the standard holder's PIN: the session token.
fn card_session(serve: &Serve, card: &std::path::Path) -> String {
    let platform = serve.url.as_str();
    let args = [
        "card",
        "login",
        "--card",
        s(card),
        "--pin",
        crate::support::PIN,
    ];
    let rest = ["--platform", platform, "--token-only"];
    mykey(&[&args[..], &rest[..]].concat())
        .ok()
        .stdout
        .trim()
        .to_owned()
}

#[test]
fn the_operator_announces_a_maintenance_window_and_ends_it_and_anyone_lists_them() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let at = |hours: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::hours(hours))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let announce = |extra: &[&str]| {
        let mut all = vec![
            "admin",
            "maintenance",
            "announce",
            "--platform",
            &serve.url,
            "--data",
            s(data.path()),
            "--notice-en",
            "Login is being upgraded",
            "--notice-ja",
            "ログインを更新しています",
        ];
        all.extend_from_slice(extra);
        mykey(&all)
    };
    // Art 9.3: less than 24 hours ahead is refused, saying why; an unknown function is named.
    let (soon, later, end) = (at(2), at(48), at(50));
    announce(&[
        "--starts-at",
        &soon,
        "--ends-at",
        &end,
        "--function",
        "card-login",
    ])
    .fails_with("24 hours");
    announce(&[
        "--starts-at",
        &later,
        "--ends-at",
        &end,
        "--function",
        "logins",
    ])
    .fails_with("card-login, oidc");
    let out = announce(&[
        "--starts-at",
        &later,
        "--ends-at",
        &end,
        "--function",
        "card-login",
        "--function",
        "oidc",
    ])
    .ok();
    let window: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        window["functions"],
        serde_json::json!(["card-login", "oidc"])
    );
    // Urgent: in effect at once, with the reason.
    let urgent = announce(&[
        "--ends-at",
        &at(1),
        "--function",
        "points",
        "--urgent",
        "a failed disk",
    ])
    .ok();
    let urgent: serde_json::Value = serde_json::from_str(&urgent.stdout).unwrap();
    assert_eq!(urgent["in_effect"], true, "{urgent}");
    let list = mykey(&["admin", "maintenance", "list", "--platform", &serve.url]).ok();
    let list: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(list["windows"].as_array().unwrap().len(), 2, "{list}");
    let id = urgent["id"].to_string();
    let end = |id: &str| {
        mykey(&[
            "admin",
            "maintenance",
            "end",
            "--platform",
            &serve.url,
            "--data",
            s(data.path()),
            id,
        ])
    };
    let ended: serde_json::Value = serde_json::from_str(&end(&id).ok().stdout).unwrap();
    assert_eq!(ended["ended_early"], true);
    end(&id).fails_with("maintenance window");
}

#[test]
fn the_operator_announces_the_end_of_the_system_three_months_ahead_and_withdraws_it() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let at = |days: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(days))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let op = |args: &[&str]| {
        let mut all = vec!["admin", "termination"];
        all.extend_from_slice(&args[..1]);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data.path())]);
        all.extend_from_slice(&args[1..]);
        mykey(&all)
    };
    let notice = [
        "--notice-en",
        "The platform closes",
        "--notice-ja",
        "運用を終了します",
    ];
    let announce = |when: &str| {
        let mut args = vec!["announce", "--terminates-at", when];
        args.extend_from_slice(&notice);
        op(&args)
    };
    announce(&at(30)).fails_with("three months");
    let end: serde_json::Value = serde_json::from_str(&announce(&at(100)).ok().stdout).unwrap();
    assert_eq!(end["terminated"], false);
    announce(&at(120)).fails_with("announced already");
    let shown = mykey(&["admin", "termination", "show", "--platform", &serve.url]).ok();
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["termination"]["id"], end["id"]);
    op(&["withdraw"]).ok();
    op(&["withdraw"]).fails_with("no end of the system");
}

/// `mykey serve --tls-cert --tls-key`: the pair checked before anything listens, and then the
/// issuer (and with it the cookies' `Secure`) is https.
#[tokio::test(flavor = "multi_thread")]
async fn serve_terminates_tls_itself_and_the_issuer_follows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pair = |name: &str| {
        std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=mykey.test"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(d.join(format!("{name}.key")))
            .arg("-out")
            .arg(d.join(format!("{name}.crt")))
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !pair("a") || !pair("b") {
        return crate::support::missing(
            module_path!(),
            "OpenSSL's command line is missing (apt-get install openssl)",
        );
    }
    let data = d.join("data");
    let crt = d.join("a.crt");
    let wrong_key = d.join("b.key");
    mykey(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        s(&data),
        "--tls-cert",
        s(&crt),
        "--tls-key",
        s(&wrong_key),
    ])
    .fails_with("does not fit");
    mykey(&["serve", "--data", s(&data), "--tls-cert", s(&crt)]).fails_with("--tls-key");
    let key = d.join("a.key");
    let serve = Serve::start_with(&data, &["--tls-cert", s(&crt), "--tls-key", s(&key)]);
    assert!(serve.url.starts_with("https://127.0.0.1:"), "{}", serve.url);
    let pem = std::fs::read(&crt).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .no_proxy()
        .build()
        .unwrap();
    let discovery: serde_json::Value = http
        .get(format!("{}/.well-known/openid-configuration", serve.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], serve.url.as_str());
    // Plain HTTP on the TLS port gets nowhere.
    assert!(
        reqwest::get(serve.url.replace("https://", "http://") + "/health/live")
            .await
            .is_err()
    );
}

/// The platform's keys are in its database (docs/operations.md, "Several nodes"): a folder left
/// one rotation behind is brought up to the database's keys; a database that has served but
/// lost its keys gets no new ones (every PPID derived and every signature checked would
/// change) until the folder that holds the old ones gives them back.
#[tokio::test(flavor = "multi_thread")]
async fn a_platform_that_has_served_keeps_its_keys() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let http = reqwest::Client::new();
    crate::crash::bank(&http, &serve, data.path()).await;
    let jwks = |url: String| async move {
        reqwest::get(format!("{url}/oidc/jwks"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(
        serve.terminate().success(),
        "a node stopped gives its leases up"
    );
    let key_files = ["ppid-key", "signing-key", "signing-key.rs256"];
    let before: Vec<Vec<u8>> = key_files
        .iter()
        .map(|f| std::fs::read(data.path().join(f)).unwrap())
        .collect();
    rotate_keys(data.path(), &[]);
    let once = std::fs::read(data.path().join("signing-key")).unwrap();
    rotate_keys(data.path(), &[]);
    // The folder as it was before two rotations (made through another node's folder).
    std::fs::write(data.path().join("signing-key"), &before[1]).unwrap();
    std::fs::remove_file(data.path().join("signing-key.previous")).unwrap();
    // A key planted as the RS256 key used before (the database keeps none): never taken in,
    // never published. It is a real RSA key: another platform's.
    let other = tempfile::tempdir().unwrap();
    drop(Serve::start(other.path()));
    let planted = std::fs::read(other.path().join("signing-key.rs256")).unwrap();
    std::fs::write(data.path().join("signing-key.rs256.previous"), &planted).unwrap();
    let serve = Serve::start(data.path());
    let published = jwks(serve.url.clone()).await;
    drop(serve);
    let twice = std::fs::read(data.path().join("signing-key")).unwrap();
    assert!(
        twice != before[1] && twice != once,
        "brought up to the database's key"
    );
    assert_eq!(
        std::fs::read(data.path().join("signing-key.previous")).unwrap(),
        once
    );
    assert_eq!(
        std::fs::read(data.path().join("signing-key.stale")).unwrap(),
        before[1],
        "the old file is kept beside"
    );
    let planted_kid = {
        let other = Serve::start(other.path());
        let keys: serde_json::Value = serde_json::from_str(&jwks(other.url.clone()).await).unwrap();
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kty"] == "RSA")
            .unwrap()["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(!published.contains(&planted_kid), "{published}");
    std::fs::remove_file(data.path().join("signing-key.rs256.previous")).unwrap();

    // The database loses its keys, and the folder is one that never held them.
    let db = format!(
        "sqlite://{}",
        data.path().join("platform.sqlite3").display()
    );
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    sqlx::query("DELETE FROM cluster_secrets")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let aside = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(data.path()).unwrap().flatten() {
        let name = f.file_name().into_string().unwrap();
        if name.starts_with("signing-key") || name == "ppid-key" {
            std::fs::rename(f.path(), aside.path().join(&name)).unwrap();
        }
    }
    let refused =
        crate::support::serve_once(data.path(), &[]).fails_with("holds relying parties but no");
    assert!(!data.path().join("ppid-key").exists(), "{}", refused.stderr);
    // The folder that holds them gives them back.
    for f in std::fs::read_dir(aside.path()).unwrap().flatten() {
        std::fs::rename(f.path(), data.path().join(f.file_name())).unwrap();
    }
    let serve = Serve::start(data.path());
    assert_eq!(jwks(serve.url.clone()).await, published);
    assert_eq!(
        std::fs::read(data.path().join("ppid-key")).unwrap(),
        before[0]
    );
}
