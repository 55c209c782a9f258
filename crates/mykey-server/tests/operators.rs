//! Operators are people with roles: card sign-in, each role's reach, the operator log, and the
//! help desk's look-ups and suspensions (docs/architecture.md §9).

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// A person with a session and an active My Key ID: (card, session, My Key ID).
async fn person(w: &World) -> (Card, String, String) {
    let card = card(w).await;
    let token = login(w, &card).await;
    let (status, body) = post(w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    (card, token, id)
}

/// A call with a bearer token and an optional JSON body.
async fn as_(
    w: &World,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    send(w, method, path, Some(&auth), body).await
}

/// An operator account for a new person, made with `by` (the bootstrap token or an
/// administrator's session); answers the operator's session and My Key ID.
async fn operator(w: &World, by: &str, name: &str, role: &str) -> (String, String) {
    let (_, session, my_key_id) = person(w).await;
    let (status, body) = as_(
        w,
        by,
        Method::POST,
        "/v1/ops/operators",
        Some(json!({"my_key_id": my_key_id, "name": name, "role": role})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["role"], role);
    (session, my_key_id)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bootstrap_token_makes_the_first_administrator_and_is_retired_by_it() {
    let w = world().await;
    let (admin, admin_id) = operator(&w, OPERATOR_TOKEN, "Aoki", "administrator").await;
    let (status, body) = ops(&w, Method::GET, "/v1/ops/relying-parties", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (401, "urn:mykey:problem:operator-token-retired")
    );
    // The administrator signs in with their card's session and does what the token did.
    let (status, body) = as_(&w, &admin, Method::GET, "/v1/ops/relying-parties", None).await;
    assert_eq!(status, 200, "{body}");
    // A person without an account is no operator; nothing is no one.
    let (_, someone, _) = person(&w).await;
    let (status, body) = as_(&w, &someone, Method::GET, "/v1/ops/relying-parties", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:not-an-operator")
    );
    let (status, _) = call(&w, Method::GET, "/v1/ops/relying-parties", None).await;
    assert_eq!(status, 401);
    // One account per person; an unknown My Key ID is no one.
    let (status, body) = as_(
        &w,
        &admin,
        Method::POST,
        "/v1/ops/operators",
        Some(json!({"my_key_id": admin_id, "name": "Aoki again", "role": "auditor"})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:operator-exists")
    );
    let (status, body) = as_(
        &w,
        &admin,
        Method::POST,
        "/v1/ops/operators",
        Some(json!({"my_key_id": "AAAAAAAA", "name": "Nobody", "role": "auditor"})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:no-person"),
        "{body}"
    );
    // The last administrator cannot end their own account (nobody would be left).
    let (_, list) = as_(&w, &admin, Method::GET, "/v1/ops/operators", None).await;
    let own = list["operators"][0]["id"].as_i64().unwrap();
    let (status, body) = as_(
        &w,
        &admin,
        Method::DELETE,
        &format!("/v1/ops/operators/{own}"),
        None,
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:last-administrator")
    );
    // An ended account signs in no more.
    let (helper, _) = operator(&w, &admin, "Baba", "help-desk").await;
    let id = 2;
    let (status, _) = as_(
        &w,
        &admin,
        Method::DELETE,
        &format!("/v1/ops/operators/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = as_(&w, &helper, Method::GET, "/v1/ops/people/AAAAAAAA", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:not-an-operator")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_reaches_only_its_functions_and_every_act_is_logged() {
    let w = world().await;
    let (admin, _) = operator(&w, OPERATOR_TOKEN, "Aoki", "administrator").await;
    let (desk, _) = operator(&w, &admin, "Baba", "help-desk").await;
    let (auditor, _) = operator(&w, &admin, "Chiba", "auditor").await;
    let (secretariat, _) = operator(&w, &admin, "Doi", "point-secretariat").await;
    let (status, created) = as_(
        &w,
        &admin,
        Method::POST,
        "/v1/ops/relying-parties",
        Some(json!({
            "name": "City", "kind": "public-authority", "contact": "desk",
            "privacy_policy_url": "https://city.example/privacy",
            "terms_url": "https://city.example/terms",
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let approval = format!("/v1/ops/relying-parties/{}/approval", created["id"]);
    let refused = |body: &Value| problem_type(body) == "urn:mykey:problem:operator-role-refused";
    // Neither the help desk, the auditor nor the secretariat approves a relying party.
    for who in [&desk, &auditor, &secretariat] {
        let (status, body) = as_(&w, who, Method::POST, &approval, None).await;
        assert!(status == 403 && refused(&body), "{status} {body}");
    }
    // The help desk does not even read them; the auditor reads, the secretariat does not.
    let (status, _) = as_(&w, &desk, Method::GET, "/v1/ops/relying-parties", None).await;
    assert_eq!(status, 403);
    let (status, _) = as_(&w, &auditor, Method::GET, "/v1/ops/relying-parties", None).await;
    assert_eq!(status, 200);
    let (status, _) = as_(
        &w,
        &secretariat,
        Method::GET,
        "/v1/ops/relying-parties",
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = as_(&w, &secretariat, Method::GET, "/v1/ops/point-rounds", None).await;
    assert_eq!(status, 200);
    // Forfeiting point rights (Art 27.1.2) is the secretariat's, not the help desk's.
    let forfeit = "/v1/ops/people/AAAAAAAA/point-forfeiture";
    let why = Some(json!({"reason": "x"}));
    let (status, body) = as_(&w, &desk, Method::POST, forfeit, why.clone()).await;
    assert!(status == 403 && refused(&body), "{status} {body}");
    let (status, _) = as_(&w, &secretariat, Method::POST, forfeit, why).await;
    assert_eq!(status, 404);
    // Publishing terms and making accounts are the administrator's; the auditor changes nothing.
    let (status, _) = as_(
        &w,
        &auditor,
        Method::POST,
        "/v1/ops/operators",
        Some(json!({"my_key_id": "AAAAAAAA", "name": "X", "role": "auditor"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = as_(&w, &admin, Method::POST, &approval, None).await;
    assert_eq!(status, 200, "{body}");
    // The operator log: the auditor's alone, complete and intact.
    let (status, _) = as_(&w, &admin, Method::GET, "/v1/ops/operator-log", None).await;
    assert_eq!(status, 403);
    let log = operator_log(&w, &auditor).await;
    let entries = log["entries"].as_array().unwrap();
    let approved: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "POST /v1/ops/relying-parties/{id}/approval")
        .collect();
    // Three refusals and the approval, each with who, role, target, source and answer.
    assert_eq!(approved.len(), 4, "{log}");
    let last = approved[3]["detail"].clone();
    assert_eq!(last["name"], "Aoki");
    assert_eq!(last["role"], "administrator");
    assert_eq!(last["target"], approval);
    assert_eq!(last["from"], "127.0.0.1");
    assert_eq!(last["status"], 200);
    assert_eq!(approved[0]["detail"]["role"], "help-desk");
    assert_eq!(approved[0]["detail"]["status"], 403);
    // The first entry is the bootstrap token making the first administrator.
    assert_eq!(entries[0]["kind"], "POST /v1/ops/operators");
    assert_eq!(entries[0]["detail"]["name"], "bootstrap token");
    assert_eq!(entries[0]["detail"]["operator"], Value::Null);
    // Nothing secret is written: no bearer token, no client secret.
    let text = log.to_string();
    for secret in [
        admin.as_str(),
        desk.as_str(),
        created["client_secret"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret));
    }
    let (status, verdict) = as_(
        &w,
        &auditor,
        Method::GET,
        "/v1/ops/operator-log/verify",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert!(verdict["entries"].as_u64().unwrap() as usize >= entries.len());
    // An outsider's tries are not the operator log's to keep (nobody signed in).
    let before = verdict["entries"].as_u64().unwrap();
    for _ in 0..3 {
        call(&w, Method::POST, &approval, Some("guess")).await;
    }
    let (_, verdict) = as_(
        &w,
        &auditor,
        Method::GET,
        "/v1/ops/operator-log/verify",
        None,
    )
    .await;
    // Only the first verification was added.
    assert_eq!(verdict["entries"].as_u64().unwrap(), before + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_help_desk_finds_a_person_by_my_key_id_and_suspends_and_resumes_them() {
    let w = world().await;
    let (admin, _) = operator(&w, OPERATOR_TOKEN, "Aoki", "administrator").await;
    let (desk, _) = operator(&w, &admin, "Baba", "help-desk").await;
    let (auditor, _) = operator(&w, &admin, "Chiba", "auditor").await;
    let city = relying_party_with(&w, &admin).await;
    let (card, token, my_key_id) = person(&w).await;
    let id = link_request(&w, &city, "C-7").await;
    assert_eq!(approve(&w, &card, &id, full_consent()).await.0, 201);

    let at = format!("/v1/ops/people/{my_key_id}");
    let (status, record) = as_(&w, &desk, Method::GET, &at, None).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["my_key_id"], my_key_id);
    assert_eq!(record["suspended_at"], Value::Null);
    assert_eq!(record["service_ids"][0]["customer_id"], "C-7");
    // Never by anything else: an issuance number or a name is no My Key ID.
    let (status, _) = as_(&w, &desk, Method::GET, "/v1/ops/people/Taro%20Yamada", None).await;
    assert_eq!(status, 404);
    // The person sees that the help desk looked.
    assert!(
        log_kinds(&w, &token)
            .await
            .contains(&"operator.read".to_owned())
    );

    // A reason is required, and bounded.
    for bad in [
        json!({"reason": " "}),
        json!({"reason": "x".repeat(1001)}),
        json!({}),
    ] {
        let (status, body) = as_(
            &w,
            &desk,
            Method::POST,
            &format!("{at}/suspension"),
            Some(bad),
        )
        .await;
        assert_eq!(status, 422, "{body}");
    }
    let (status, body) = as_(
        &w,
        &desk,
        Method::POST,
        &format!("{at}/suspension"),
        Some(json!({"reason": "reported spoofing, inquiry 2026-118"})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    // The session ends and the card is refused everywhere, a login first.
    let (status, _) = call(&w, Method::GET, "/v1/me", Some(&token)).await;
    assert_eq!(status, 401);
    let nonce = challenge(&w).await;
    let (status, body) = post(&w, "/v1/auth/responses", None, answer_for(&card, &nonce)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:person-suspended")
    );
    let (status, body) = as_(
        &w,
        &desk,
        Method::POST,
        &format!("{at}/suspension"),
        Some(json!({"reason": "again"})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:already-suspended")
    );
    let (_, record) = as_(&w, &auditor, Method::GET, &at, None).await;
    assert!(record["suspended_at"].is_string(), "{record}");
    let (status, _) = as_(
        &w,
        &desk,
        Method::POST,
        &format!("{at}/resumption"),
        Some(json!({"reason": "identity confirmed at the counter"})),
    )
    .await;
    assert_eq!(status, 204);
    // The refused answer spent its challenge: resumed, the holder needs a new one.
    let (status, body) = post(&w, "/v1/auth/responses", None, answer_for(&card, &nonce)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:challenge-unknown")
    );
    let token = login(&w, &card).await;
    // Both logs hold the suspension with its reason.
    let (_, log) = call(&w, Method::GET, "/v1/me/log?limit=1000", Some(&token)).await;
    let suspended = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "person.suspended")
        .cloned()
        .unwrap();
    assert_eq!(
        suspended["detail"],
        json!({"operator": 2, "role": "help-desk", "grounds": "reported spoofing, inquiry 2026-118"})
    );
    let oplog = operator_log(&w, &auditor).await;
    assert!(oplog["entries"].as_array().unwrap().iter().any(|e| {
        e["kind"] == "POST /v1/ops/people/{my_key_id}/suspension"
            && e["detail"]["reason"] == "reported spoofing, inquiry 2026-118"
            && e["detail"]["status"] == 204
    }));

    // The My Key ID alone: it can no longer be changed or linked by; the person still logs in.
    let (status, _) = as_(
        &w,
        &desk,
        Method::POST,
        &format!("{at}/my-key-id/suspension"),
        Some(json!({"reason": "ID shown to a fraudster"})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = call(&w, Method::PUT, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:my-key-id-suspended")
    );
    let id = link_request(&w, &city, "C-8").await;
    let (status, body) = approve(&w, &card, &id, full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:my-key-id-suspended"),
        "{body}"
    );
    // Revoking it and making another does not escape: the suspension is the person's.
    let (status, _) = call(&w, Method::DELETE, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 204);
    let (status, created) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201, "{created}");
    let id = link_request(&w, &city, "C-9").await;
    let (status, body) = approve(&w, &card, &id, full_consent()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:my-key-id-suspended"),
        "{body}"
    );
    let (status, _) = as_(
        &w,
        &desk,
        Method::POST,
        &format!("{at}/my-key-id/resumption"),
        Some(json!({"reason": "new ID issued"})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(&w, Method::PUT, "/v1/me/my-key-id", Some(&token)).await;
    assert_eq!(status, 200);
    // The operator log names the person by the canonical My Key ID, however the path spelt it.
    let lower = format!("/v1/ops/people/{}", my_key_id.to_lowercase());
    let (status, _) = as_(&w, &desk, Method::GET, &lower, None).await;
    assert_eq!(status, 200);
    let oplog = operator_log(&w, &auditor).await;
    let last = oplog["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["kind"] == "GET /v1/ops/people/{my_key_id}")
        .unwrap()
        .clone();
    assert_eq!(last["detail"]["my_key_id"], my_key_id);
    // An operator is not suspended from under their account: an administrator ends it first.
    let (_, mine) = call(&w, Method::GET, "/v1/me/my-key-id", Some(&auditor)).await;
    let (status, body) = as_(
        &w,
        &desk,
        Method::POST,
        &format!("/v1/ops/people/{}/suspension", mine["id"].as_str().unwrap()),
        Some(json!({"reason": "locking the auditor out"})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:mykey:problem:operator-account-holder")
    );
}

/// A public authority registered and approved by the administrator `admin`.
async fn relying_party_with(w: &World, admin: &str) -> Client {
    let (status, created) = as_(
        w,
        admin,
        Method::POST,
        "/v1/ops/relying-parties",
        Some(json!({
            "name": "City", "kind": "public-authority", "contact": "desk",
            "privacy_policy_url": "https://city.example/privacy",
            "terms_url": "https://city.example/terms",
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, _) = as_(
        w,
        admin,
        Method::POST,
        &format!("/v1/ops/relying-parties/{id}/approval"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    Client {
        id,
        client_id: created["client_id"].as_str().unwrap().to_owned(),
        secret: created["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// A client who hangs up mid-request cannot leave a done act unrecorded: every suspension the
/// person's log holds is in the operator log too (found by an attack that closed the socket
/// right after sending).
#[tokio::test(flavor = "multi_thread")]
async fn an_act_whose_client_hangs_up_is_still_recorded() {
    use tokio::io::AsyncWriteExt;
    let w = world().await;
    let (admin, _) = operator(&w, OPERATOR_TOKEN, "Aoki", "administrator").await;
    let (desk, _) = operator(&w, &admin, "Baba", "help-desk").await;
    let (auditor, _) = operator(&w, &admin, "Chiba", "auditor").await;
    let (_, token, my_key_id) = person(&w).await;
    let host = w
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    for i in 0..40 {
        let act = if i % 2 == 0 {
            "suspension"
        } else {
            "resumption"
        };
        let body = r#"{"reason":"hang-up test"}"#;
        let request = format!(
            "POST /v1/ops/people/{my_key_id}/my-key-id/{act} HTTP/1.1\r\nhost: {host}\r\n\
             authorization: Bearer {desk}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut socket = tokio::net::TcpStream::connect(&host).await.unwrap();
        socket.write_all(request.as_bytes()).await.unwrap();
        // Hang up at once, or after the platform has begun.
        if i % 4 < 2 {
            tokio::time::sleep(std::time::Duration::from_micros(300 * (i % 7) as u64)).await;
        }
        drop(socket);
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, log) = call(&w, Method::GET, "/v1/me/log?limit=1000", Some(&token)).await;
    let done = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "my-key-id.suspended" || e["kind"] == "my-key-id.resumed")
        .count();
    let oplog = operator_log(&w, &auditor).await;
    let recorded = oplog["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"].as_str().unwrap().contains("/my-key-id/") && e["detail"]["status"] == 204
        })
        .count();
    // Some acts were done (the test is not empty), and each of them recorded.
    assert!(done > 0, "{log}");
    assert_eq!(done, recorded, "{log}");
}

/// The whole operator log as an auditor reads it (one page of 1000).
async fn operator_log(w: &World, auditor: &str) -> Value {
    let (status, log) = as_(
        w,
        auditor,
        Method::GET,
        "/v1/ops/operator-log?limit=1000",
        None,
    )
    .await;
    assert_eq!(status, 200, "{log}");
    log
}
