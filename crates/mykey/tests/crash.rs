//! The platform killed with SIGKILL under write load, then restarted on the same data: every
//! acknowledged My Key ID change, login (its session), Service ID link and consent is there,
//! nobody holds two active My Key IDs, and an event written with a change is pushed after all.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use mykey_jlis::api::IssueRequest;
use mykey_jlis_client::JlisClient;
use mykey_pki::issue::SigningKey;
use serde_json::{Value, json};

use crate::support::Serve;

pub(crate) async fn post(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Result<(u16, Value), reqwest::Error> {
    let mut r = http.post(url).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

pub(crate) async fn login(
    http: &reqwest::Client,
    base: &str,
    key: &SigningKey,
    cert: &[u8],
) -> String {
    one_login(http, base, key, cert)
        .await
        .expect("the platform answers")
}

/// A session's GET of `url`, as JSON.
pub(crate) async fn get_json(http: &reqwest::Client, url: String, token: &str) -> Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `count` user-identification certificates for one key, from the platform's simulator.
pub(crate) async fn cards(serve: &Serve, count: usize) -> (Arc<SigningKey>, Vec<Vec<u8>>) {
    let jlis = JlisClient::new(&serve.jlis, Duration::from_secs(30)).unwrap();
    let key = Arc::new(SigningKey::generate().unwrap());
    let mut certs = Vec::new();
    for i in 0..count {
        let issued = jlis
            .issue(&IssueRequest {
                name: format!("耐久\u{3000}試験{i}"),
                address: "東京都千代田区永田町一丁目".into(),
                birth_date: "1980-01-01".into(),
                sex: 9,
                user_identification_public_key: B64.encode(key.spki_der()),
                signature_public_key: None,
            })
            .await
            .unwrap();
        certs.push(
            B64.decode(issued.user_identification_certificate.unwrap())
                .unwrap(),
        );
    }
    (key, certs)
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub(crate) fn random_id() -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b.iter().map(|x| A[usize::from(*x) % 36] as char).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_my_key_ids_survive_a_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let (key, certs) = cards(&serve, 8).await;
    let http = client();
    // Each writer changes its person's My Key ID over and over, remembering the last change the
    // platform acknowledged and the one in flight.
    let mut writers = Vec::new();
    for cert in certs.clone() {
        let (http, base, key) = (http.clone(), serve.url.clone(), key.clone());
        writers.push(tokio::spawn(async move {
            let token = login(&http, &base, &key, &cert).await;
            let mut acknowledged: Option<String> = None;
            loop {
                let id = random_id();
                let req = if acknowledged.is_none() {
                    http.post(format!("{base}/v1/me/my-key-id"))
                        .json(&crate::support::my_key_id_creation(Some(&id)))
                } else {
                    http.put(format!("{base}/v1/me/my-key-id"))
                        .json(&json!({"id": id}))
                };
                match req.bearer_auth(&token).send().await {
                    Ok(r) if r.status().is_success() => acknowledged = Some(id),
                    Ok(r) if r.status() == 409 => {} // taken: nothing changed
                    Ok(r) => panic!("unexpected {}", r.status()),
                    // The connection broke: this change may or may not have been committed.
                    Err(_) => return (acknowledged, Some(id)),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(serve); // SIGKILL
    let mut expected = Vec::new();
    for w in writers {
        expected.push(w.await.unwrap());
    }
    assert!(
        expected.iter().all(|(ack, _)| ack.is_some()),
        "every writer got at least one change in"
    );

    let serve = Serve::start(data.path());
    for (cert, (acknowledged, in_flight)) in certs.iter().zip(&expected) {
        let token = login(&http, &serve.url, &key, cert).await;
        let me = get_json(&http, format!("{}/v1/me", serve.url), &token).await;
        let now = me["my_key_id"]["id"].as_str().map(str::to_owned);
        assert!(
            now == *acknowledged || (now.is_some() && now == *in_flight),
            "after the crash {now:?}; acknowledged {acknowledged:?}, in flight {in_flight:?}"
        );
    }
    drop(serve);
    let db = people_with_two_active_ids(&data.path().join("platform.sqlite3")).await;
    assert_eq!(db, 0, "someone holds two active My Key IDs");
}

/// People holding more than one active My Key ID, read straight from the database file.
async fn people_with_two_active_ids(path: &Path) -> i64 {
    use sqlx::Row;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query(
        "SELECT count(*) FROM (SELECT person_id FROM my_key_ids WHERE ended_at IS NULL GROUP BY person_id HAVING count(*) > 1)",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0)
}

/// What one writer saw acknowledged before the crash.
#[derive(Debug, Default)]
struct Acknowledged {
    /// Session tokens the platform answered.
    sessions: Vec<String>,
    /// Customer IDs whose link the platform answered as made.
    links: Vec<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_logins_links_and_consents_survive_a_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let (key, certs) = cards(&serve, 6).await;
    let http = client();
    let (client_id, secret) = bank(&http, &serve, data.path()).await;
    for cert in &certs {
        my_key_id(&http, &serve.url, &key, cert).await;
    }
    // Writers alternate: a login (a session), then a Service ID link approved with the card and
    // a consent; each remembers what the platform acknowledged until the connection breaks.
    let mut writers = Vec::new();
    for (w, cert) in certs.clone().into_iter().enumerate() {
        let (http, base, key) = (http.clone(), serve.url.clone(), key.clone());
        let (client_id, secret) = (client_id.clone(), secret.clone());
        writers.push(tokio::spawn(async move {
            let mut seen = Acknowledged::default();
            for k in 0.. {
                match one_login(&http, &base, &key, &cert).await {
                    Some(token) => seen.sessions.push(token),
                    None => return seen,
                }
                let customer = format!("C-{w}-{k}");
                match one_link(&http, &base, (&client_id, &secret), &key, &cert, &customer).await {
                    Some(()) => seen.links.push(customer),
                    None => return seen,
                }
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(2000)).await;
    drop(serve); // SIGKILL
    let mut seen = Vec::new();
    for w in writers {
        seen.push(w.await.unwrap());
    }
    assert!(
        seen.iter()
            .all(|s| !s.sessions.is_empty() && !s.links.is_empty()),
        "every writer got a login and a link in: {seen:?}"
    );

    let serve = Serve::start(data.path());
    for (cert, seen) in certs.iter().zip(&seen) {
        for token in &seen.sessions {
            let me = http
                .get(format!("{}/v1/me", serve.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(me.status(), 200, "an acknowledged session was lost");
        }
        let token = login(&http, &serve.url, &key, cert).await;
        let mine = get_json(&http, format!("{}/v1/me/service-ids", serve.url), &token).await;
        for customer in &seen.links {
            let link = mine["service_ids"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["customer_id"] == customer.as_str())
                .unwrap_or_else(|| panic!("link {customer} lost: {mine}"));
            assert_eq!(
                link["consent"]["items"].as_array().map(Vec::len),
                Some(3),
                "{link}"
            );
            let theirs: Value = http
                .get(format!(
                    "{}/v1/rp/service-ids?customer_id={customer}",
                    serve.url
                ))
                .basic_auth(&client_id, Some(&secret))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(theirs["service_ids"][0]["customer_id"], customer.as_str());
        }
        let verdict = get_json(&http, format!("{}/v1/me/log/verify", serve.url), &token).await;
        assert_eq!(verdict["valid"], true, "{verdict}");
    }
}

/// An approved relying party registered through the operator API: its client ID and secret.
pub(crate) async fn bank(http: &reqwest::Client, serve: &Serve, data: &Path) -> (String, String) {
    let operator = std::fs::read_to_string(data.join("operator-token")).unwrap();
    let (_, rp) = post(
        http,
        format!("{}/v1/ops/relying-parties", serve.url),
        Some(operator.trim()),
        json!({"name": "耐久銀行", "kind": "business", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"}),
    )
    .await
    .unwrap();
    let (status, _) = post(
        http,
        format!("{}/v1/ops/relying-parties/{}/approval", serve.url, rp["id"]),
        Some(operator.trim()),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    (
        rp["client_id"].as_str().unwrap().to_owned(),
        rp["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// The card holder logs in and creates a My Key ID; the session token.
async fn my_key_id(http: &reqwest::Client, base: &str, key: &SigningKey, cert: &[u8]) -> String {
    let token = login(http, base, key, cert).await;
    let (status, body) = post(
        http,
        format!("{base}/v1/me/my-key-id"),
        Some(&token),
        crate::support::my_key_id_creation(None),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    token
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_acknowledged_as_a_change_survives_a_sigkill_before_its_push() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start_with(data.path(), &["--allow-private-push"]);
    let (key, certs) = cards(&serve, 1).await;
    let http = client();
    let (client_id, secret) = bank(&http, &serve, data.path()).await;
    let token = my_key_id(&http, &serve.url, &key, &certs[0]).await;
    one_link(
        &http,
        &serve.url,
        (&client_id, &secret),
        &key,
        &certs[0],
        "C-KILL",
    )
    .await
    .unwrap();
    // The receiver's port, closed for now: pushes fail until it opens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stream = http
        .put(format!("{}/v1/rp/stream", serve.url))
        .basic_auth(&client_id, Some(&secret))
        .json(&json!({
            "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": format!("http://127.0.0.1:{port}/events")},
            "events_requested": ["https://schemas.openid.net/secevent/risc/event-type/account-disabled"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let revoked = http
        .delete(format!("{}/v1/me/my-key-id", serve.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    drop(serve); // SIGKILL, the event not yet delivered

    let got = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().push(body);
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let serve = Serve::start_with(data.path(), &["--allow-private-push"]);
    // The restarted platform pushes it (its back-off is seconds here); wait for it, bounded.
    for _ in 0..300 {
        if !got.lock().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sets = got.lock().clone();
    assert_eq!(sets.len(), 1, "the event was lost");
    let payload = sets[0].split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&B64URL.decode(payload).unwrap()).unwrap();
    assert_eq!(
        claims["sub_id"],
        json!({"format": "opaque", "id": "C-KILL"})
    );
    assert!(
        claims["events"]["https://schemas.openid.net/secevent/risc/event-type/account-disabled"]
            .is_object(),
        "{claims}"
    );
    drop(serve);
}

/// A login; `None` when the connection broke (the platform is gone).
pub(crate) async fn one_login(
    http: &reqwest::Client,
    base: &str,
    key: &SigningKey,
    cert: &[u8],
) -> Option<String> {
    let (_, c) = post(
        http,
        format!("{base}/v1/auth/challenges"),
        None,
        json!({"purpose": "login"}),
    )
    .await
    .ok()?;
    let nonce = c["nonce"].as_str()?;
    let body = json!({
        "nonce": nonce,
        "purpose": "login",
        "certificate": B64.encode(cert),
        "signature": B64.encode(key.sign(&B64URL.decode(nonce).ok()?)),
    });
    let (status, s) = post(http, format!("{base}/v1/auth/responses"), None, body)
        .await
        .ok()?;
    assert_eq!(status, 201, "{s}");
    Some(s["token"].as_str()?.to_owned())
}

/// The relying party asks to link `customer`, and the card holder approves with the card and
/// the consent the request shows; `None` when the connection broke.
async fn one_link(
    http: &reqwest::Client,
    base: &str,
    rp: (&str, &str),
    key: &SigningKey,
    cert: &[u8],
    customer: &str,
) -> Option<()> {
    let (status, linked) = try_link(http, base, rp, key, cert, customer).await?;
    assert_eq!(status, 201, "{linked}");
    Some(())
}

/// [`one_link`], answering the approval's status and body, whatever it is; `None` when a step
/// before it failed.
pub(crate) async fn try_link(
    http: &reqwest::Client,
    base: &str,
    (client_id, secret): (&str, &str),
    key: &SigningKey,
    cert: &[u8],
    customer: &str,
) -> Option<(u16, Value)> {
    let request: Value = http
        .post(format!("{base}/v1/rp/service-id-requests"))
        .basic_auth(client_id, Some(secret))
        .json(&json!({"customer_id": customer}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let id = request["request_id"].as_str()?;
    let shown: Value = http
        .get(format!("{base}/v1/link-requests/{id}"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let items: Vec<&str> = shown["consent"]["items"]
        .as_array()?
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    let (_, c) = post(
        http,
        format!("{base}/v1/link-requests/{id}/challenges"),
        None,
        json!({}),
    )
    .await
    .ok()?;
    let nonce = c["nonce"].as_str()?;
    let body = json!({
        "nonce": nonce,
        "certificate": B64.encode(cert),
        "signature": B64.encode(key.sign(&B64URL.decode(nonce).ok()?)),
        "consent": {"items": items, "terms_version": shown["consent"]["terms_version"]},
    });
    post(
        http,
        format!("{base}/v1/link-requests/{id}/approval"),
        None,
        body,
    )
    .await
    .ok()
}

/// `mykey admin backup --data DATA --out OUT`.
fn backup(data: &Path, out: &Path) -> crate::support::Run {
    crate::support::mykey(&[
        "admin",
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

/// `mykey admin restore --from FROM --data DATA`.
fn restore(from: &Path, data: &Path) -> crate::support::Run {
    crate::support::mykey(&[
        "admin",
        "restore",
        "--from",
        from.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ])
}

/// `mykey admin backup` while people change their My Key IDs, then `mykey admin restore` into
/// another folder and a platform started on it: each person's My Key ID is the one
/// acknowledged last before the backup began, or one acknowledged after it (never an older one,
/// never one that was not acknowledged or in flight); the keys came along (the same JWK Set,
/// the same operator token). A backup never replaces a file, nor a restore a database.
#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_serving_restores_every_write_acknowledged_before_it() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let (key, certs) = cards(&serve, 4).await;
    let http = client();
    let jwks_before = http
        .get(format!("{}/oidc/jwks", serve.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for cert in certs.clone() {
        let (http, base, key, stop) = (http.clone(), serve.url.clone(), key.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let token = login(&http, &base, &key, &cert).await;
            // Every acknowledged change, with when it was acknowledged.
            let mut acknowledged: Vec<(std::time::Instant, String)> = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = random_id();
                let req = if acknowledged.is_empty() {
                    http.post(format!("{base}/v1/me/my-key-id"))
                        .json(&crate::support::my_key_id_creation(Some(&id)))
                } else {
                    http.put(format!("{base}/v1/me/my-key-id"))
                        .json(&json!({"id": id}))
                };
                let r = req.bearer_auth(&token).send().await.unwrap();
                match r.status().as_u16() {
                    200 | 201 => acknowledged.push((std::time::Instant::now(), id)),
                    409 => {}
                    s => panic!("unexpected {s}"),
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let out = data.path().with_extension("backup");
    let began = std::time::Instant::now();
    let (d, o) = (data.path().to_owned(), out.clone());
    tokio::task::spawn_blocking(move || backup(&d, &o).ok())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen = Vec::new();
    for w in writers {
        seen.push(w.await.unwrap());
    }
    assert!(
        seen.iter().all(|a| a.iter().any(|(at, _)| *at < began))
            && seen.iter().all(|a| a.iter().any(|(at, _)| *at > began)),
        "every writer had changes in before the backup and while it ran"
    );
    // It holds the keys: its owner's alone.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never over a file.
    backup(data.path(), &out).fails_with("never replaces");
    let operator_token = std::fs::read(data.path().join("operator-token")).unwrap();
    drop(serve);

    // Restored elsewhere. J-LIS is not the platform's: it outlives it (its folder comes along).
    let restored = tempfile::tempdir().unwrap();
    let r = &restored.path().join("data");
    restore(&out, r).ok();
    restore(&out, r).fails_with("already");
    assert_eq!(
        std::fs::read(r.join("operator-token")).unwrap(),
        operator_token
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(r.join("ppid-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Nor through a link, even one to nothing.
    let dangling = data.path().with_extension("dangling");
    std::os::unix::fs::symlink(restored.path().join("nowhere"), &dangling).unwrap();
    backup(data.path(), &dangling).fails_with("never replaces");
    assert!(!restored.path().join("nowhere").exists());
    // A backup someone altered to carry a file that is not a secret of the data folder (a
    // name the simulators' folders have, a name with a NUL).
    let crafted = |name: &'static str, file: &str| {
        let path = restored.path().join(file);
        std::fs::copy(&out, &path).unwrap();
        async move {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query("INSERT INTO backup_files (name, contents) VALUES (?, x'00')")
                .bind(name)
                .execute(&mut c)
                .await
                .unwrap();
            c.close().await.unwrap();
            path
        }
    };
    let jlis_named = crafted("jlis", "jlis.backup").await;
    let nul_named = crafted("zz\0x", "nul.backup").await;
    // What is not a backup is refused, and leaves neither database nor keys behind.
    let elsewhere = restored.path().join("other");
    let text = restored.path().join("notes.txt");
    std::fs::write(&text, "not a backup").unwrap();
    for (bad, said) in [
        (
            data.path().join("jlis").join("jlis.sqlite3"),
            "is not a backup",
        ),
        (text, "notes.txt"),
        (jlis_named, "\"jlis\""),
        (nul_named, "which no backup makes"),
    ] {
        restore(&bad, &elsewhere).fails_with(said);
        assert!(!elsewhere.join("platform.sqlite3").exists());
        assert!(!elsewhere.join("platform.sqlite3.partial").exists());
        assert!(!elsewhere.join("ppid-key").exists());
    }
    // A world-readable backup restores to a database its owner's alone.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        let fresh = restored.path().join("fresh");
        restore(&out, &fresh).ok();
        let mode = std::fs::metadata(fresh.join("platform.sqlite3"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::create_dir(r.join("jlis")).unwrap();
    for f in std::fs::read_dir(data.path().join("jlis"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(f.path(), r.join("jlis").join(f.file_name())).unwrap();
    }
    let serve = Serve::start(r);
    let jwks_after = http
        .get(format!("{}/oidc/jwks", serve.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(jwks_after, jwks_before);
    for (cert, acknowledged) in certs.iter().zip(&seen) {
        let token = login(&http, &serve.url, &key, cert).await;
        let me = get_json(&http, format!("{}/v1/me", serve.url), &token).await;
        let now = me["my_key_id"]["id"].as_str().unwrap().to_owned();
        let last_before = acknowledged
            .iter()
            .rposition(|(at, _)| *at < began)
            .unwrap();
        let at = acknowledged.iter().position(|(_, id)| *id == now);
        // (Writers finish the change in flight before they stop: every committed change was
        // acknowledged.)
        assert!(
            at.is_some_and(|i| i >= last_before),
            "restored {now}; acknowledged {acknowledged:?}, the backup began at {began:?}"
        );
    }
}
