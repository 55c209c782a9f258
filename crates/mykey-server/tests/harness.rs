use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use mykey_jlis::api::IssueRequest;
use mykey_jlis::{Config, Jlis, SystemClock};
use mykey_jlis_client::JlisClient;
use mykey_pki::UnixTime;
use mykey_pki::issue::SigningKey;
use mykey_platform::{Platform, PlatformConfig};
use mykey_server::{JlisPort, Node, NodeConfig};
use serde_json::{Value, json};

/// The clock the tests move; starts at the real time (certificates are issued at the real time).
pub type TestClock = mykey_platform::ManualClock;

pub struct World {
    pub url: String,
    pub http: reqwest::Client,
    /// The router, driven in process by the JSON helpers below (`send`); the socket at `url`
    /// serves the tests whose point is the socket (long polls, browsers, the peers).
    pub router: axum::Router,
    pub jlis: JlisClient,
    jlis_task: tokio::task::JoinHandle<()>,
    jlis_stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The simulator's configuration, to start it again where it was.
    pub jlis_config: Config,
    pub port: Arc<JlisPort>,
    pub platform: Arc<Platform>,
    /// The node's leases of background work, none taken until a test renews them.
    pub leases: Arc<mykey_server::Leases>,
    pub clock: Arc<TestClock>,
    /// Simulated Mynaportal and the account registry, as `mykey serve` starts them.
    pub mynaportal: String,
    pub account_registry: String,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    task: tokio::task::JoinHandle<()>,
    registries: [tokio::task::JoinHandle<std::io::Result<()>>; 2],
}

impl Drop for World {
    fn drop(&mut self) {
        self.task.abort();
        self.jlis_task.abort();
        for t in &self.registries {
            t.abort();
        }
    }
}

pub async fn world() -> World {
    world_with(|_| {}).await
}

/// The operator token the test platforms accept.
pub const OPERATOR_TOKEN: &str = "test-operator-token";

/// The token that reads their `/metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// A world whose simulator configuration is adjusted by `tweak`.
pub async fn world_with(tweak: impl FnOnce(&mut Config)) -> World {
    let config = PlatformConfig {
        operator_token_hash: Some(PlatformConfig::hash_operator_token(OPERATOR_TOKEN)),
        metrics_token_hash: Some(PlatformConfig::hash_operator_token(METRICS_TOKEN)),
        ppid_key: Some(mykey_platform::PpidSecret::from_bytes(&[42; 32]).unwrap()),
        // The test receivers listen on loopback.
        push_to_private_addresses: true,
        ..PlatformConfig::default()
    };
    world_configured(tweak, config).await
}

/// A world with the platform configured by `config`.
pub async fn world_configured(
    tweak: impl FnOnce(&mut Config),
    platform_config: PlatformConfig,
) -> World {
    let jlis_dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jlis_url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config::new(jlis_dir.path(), &jlis_url);
    tweak(&mut config);
    let jlis_config = config.clone();
    let jlis = Jlis::open(config, Arc::new(SystemClock)).await.unwrap();
    let (jlis_task, jlis_stop) = serve_jlis(listener, jlis);
    let clock = Arc::new(TestClock::new(UnixTime::now()));
    let dir = tempfile::tempdir().unwrap();
    let store = mykey_store::open(&format!(
        "sqlite://{}",
        dir.path().join("platform.sqlite3").display()
    ))
    .await
    .unwrap();
    // Assembled as `mykey serve` assembles it; the background work is left to each test, which
    // drives it (the CRL refresh, the sweep, the pushes) when its story needs it.
    let (registries, mynaportal, account_registry) = start_registries(dir.path()).await;
    let mut node_config = NodeConfig::new(jlis_url.clone(), platform_config);
    node_config.jlis_timeout = Duration::from_secs(2);
    node_config.mynaportal_url = Some(mynaportal.clone());
    node_config.account_registry_url = Some(account_registry.clone());
    let node = Node::assemble(
        store,
        clock.clone(),
        Arc::new(mykey_platform::SystemRng),
        node_config,
    )
    .await
    .unwrap();
    let (platform, port, leases) = (
        node.platform.clone(),
        node.port.clone(),
        node.leases.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // As `mykey serve` runs it: with the peer's address (the short-code budget).
    let app = node
        .router()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    World {
        url,
        http: reqwest::Client::new(),
        router: node.router(),
        jlis: JlisClient::new(&jlis_url, Duration::from_secs(5)).unwrap(),
        jlis_task,
        jlis_stop: Some(jlis_stop),
        jlis_config,
        port,
        platform,
        leases,
        clock,
        mynaportal,
        account_registry,
        _dirs: (jlis_dir, dir),
        task,
        registries,
    }
}

impl World {
    /// Stops simulated Mynaportal and the account registry: they no longer answer.
    pub async fn stop_registries(&self) {
        for t in &self.registries {
            t.abort();
        }
        for t in &self.registries {
            while !t.is_finished() {
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Simulated Mynaportal and account registry on loopback, their stores under `dir`.
async fn start_registries(
    dir: &std::path::Path,
) -> (
    [tokio::task::JoinHandle<std::io::Result<()>>; 2],
    String,
    String,
) {
    let serve = |router: axum::Router, listener: tokio::net::TcpListener| {
        tokio::spawn(mykey_registries::serve(
            router,
            listener,
            std::future::pending(),
        ))
    };
    let (a, b) = (
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let urls = (
        format!("http://{}", a.local_addr().unwrap()),
        format!("http://{}", b.local_addr().unwrap()),
    );
    let myna = mykey_registries::Mynaportal::open(dir).await.unwrap();
    let accounts = mykey_registries::AccountRegistry::open(dir).await.unwrap();
    (
        [serve(myna.router(), a), serve(accounts.router(), b)],
        urls.0,
        urls.1,
    )
}

/// A card: its user-identification key and certificate (and signature certificate, if any).
pub struct Card {
    pub key: &'static SigningKey,
    pub cert: Vec<u8>,
    pub number: String,
    pub signature: Option<Vec<u8>>,
}

pub fn key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::generate().unwrap())
}

pub async fn card(w: &World) -> Card {
    issued_card(w, false).await
}

/// A card from the simulator; with `signature`, a signature certificate too (for the four
/// facts and their changes), certified for the same key.
pub async fn issued_card(w: &World, signature: bool) -> Card {
    let issued = w
        .jlis
        .issue(&IssueRequest {
            name: "鈴木\u{3000}次郎".into(),
            address: "福岡県福岡市中央区天神一丁目".into(),
            birth_date: "1975-09-09".into(),
            sex: 1,
            user_identification_public_key: B64.encode(key().spki_der()),
            signature_public_key: signature.then(|| B64.encode(key().spki_der())),
        })
        .await
        .unwrap();
    Card {
        key: key(),
        cert: B64
            .decode(issued.user_identification_certificate.unwrap())
            .unwrap(),
        number: issued.issuance_number,
        signature: issued.signature_certificate.map(|c| B64.decode(c).unwrap()),
    }
}

/// The claims of a Security Event Token, read without checking it, and its one event type.
pub fn set_claims(set: &str) -> (Value, String) {
    let payload = set.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&B64URL.decode(payload).unwrap()).unwrap();
    let kind = claims["events"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    (claims, kind)
}

/// The card renewed at J-LIS: new certificates for the same key, a new issuance number linked
/// there to the old one.
pub async fn renewed(w: &World, card: &Card) -> Card {
    let renewed = w
        .jlis
        .renew(&mykey_jlis::api::RenewRequest {
            issuance_number: card.number.clone(),
            user_identification_public_key: B64.encode(key().spki_der()),
            signature_public_key: card
                .signature
                .is_some()
                .then(|| B64.encode(key().spki_der())),
        })
        .await
        .unwrap();
    Card {
        key: key(),
        cert: B64
            .decode(renewed.user_identification_certificate.unwrap())
            .unwrap(),
        number: renewed.issuance_number,
        signature: renewed
            .signature_certificate
            .map(|c| B64.decode(c).unwrap()),
    }
}

pub async fn post(w: &World, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    send(w, reqwest::Method::POST, path, auth.as_deref(), Some(body)).await
}

pub async fn call(
    w: &World,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    send(w, method, path, auth.as_deref(), None).await
}

/// One request through the router in process — no socket — as from a loopback peer (the
/// address the short-code budget counts by); answers the status and the body (JSON if it is).
pub async fn send(
    w: &World,
    method: reqwest::Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    use tower::ServiceExt;
    // As a client would send it: what a URI cannot hold, percent-encoded.
    let mut uri = String::new();
    for b in path.bytes() {
        if b.is_ascii_graphic() {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    let mut req = axum::http::Request::builder().method(method).uri(uri);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(axum::body::Body::from(b.to_string())),
        None => req.body(axum::body::Body::empty()),
    };
    let mut req = req.unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40_000,
        ))));
    let resp = w.router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A fresh challenge's nonce.
pub async fn challenge(w: &World) -> String {
    let (status, body) = post(w, "/v1/auth/challenges", None, json!({"purpose": "login"})).await;
    assert_eq!(status, 201, "{body}");
    body["nonce"].as_str().unwrap().to_owned()
}

/// The card's answer to `nonce`, as JSON.
pub fn answer_for(card: &Card, nonce: &str) -> Value {
    let raw = B64URL.decode(nonce).unwrap();
    json!({
        "nonce": nonce,
        "purpose": "login",
        "certificate": B64.encode(&card.cert),
        "signature": B64.encode(card.key.sign(&raw)),
    })
}

/// Logs in with `card`; returns the session token.
pub async fn login(w: &World, card: &Card) -> String {
    let nonce = challenge(w).await;
    let (status, body) = post(w, "/v1/auth/responses", None, answer_for(card, &nonce)).await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// The platform clock's time, `offset` seconds on (or back), as RFC 3339.
pub fn at(w: &World, offset: impl Into<i128>) -> String {
    let t = i128::from(w.platform.now().as_secs()) + offset.into();
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(t).unwrap())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

pub fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or("")
}

/// An operator call.
pub async fn ops(
    w: &World,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = format!("Bearer {OPERATOR_TOKEN}");
    send(w, method, path, Some(&auth), body).await
}

/// A relying party's client credentials.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: i64,
    pub client_id: String,
    pub secret: String,
}

/// Registers and approves a relying party: a public authority, which may use every function.
pub async fn relying_party(w: &World, name: &str) -> Client {
    relying_party_of_kind(w, name, "public-authority").await
}

/// Registers and approves a business relying party (Service IDs; no PPIDs or facts unless the
/// operator's policy allows them).
pub async fn business(w: &World, name: &str) -> Client {
    relying_party_of_kind(w, name, "business").await
}

pub async fn relying_party_of_kind(w: &World, name: &str, kind: &str) -> Client {
    let (status, rp) = ops(
        w,
        reqwest::Method::POST,
        "/v1/ops/relying-parties",
        Some(json!({"name": name, "kind": kind, "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"})),
    )
    .await;
    assert_eq!(status, 201, "{rp}");
    let id = rp["id"].as_i64().unwrap();
    let (status, body) = ops(
        w,
        reqwest::Method::POST,
        &format!("/v1/ops/relying-parties/{id}/approval"),
        None,
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("approved")));
    Client {
        id,
        client_id: rp["client_id"].as_str().unwrap().to_owned(),
        secret: rp["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// A relying party's call, authenticated by `client_secret_basic`.
pub async fn rp(
    w: &World,
    client: &Client,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let basic = B64.encode(format!("{}:{}", client.client_id, client.secret));
    send(w, method, path, Some(&format!("Basic {basic}")), body).await
}

/// Opens a link request of `client` for `customer_id`; returns its ID.
pub async fn link_request(w: &World, client: &Client, customer_id: &str) -> String {
    let (status, body) = rp(
        w,
        client,
        reqwest::Method::POST,
        "/v1/rp/service-id-requests",
        Some(json!({"customer_id": customer_id})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["request_id"].as_str().unwrap().to_owned()
}

/// Every consent item the platform asks for, under the terms in force.
pub fn full_consent() -> Value {
    json!({
        "items": ["service-id.link", "service-id.facts-change-check", "service-id.inquiries-to-relying-party"],
        "terms_version": "2026-11-01",
    })
}

/// The card's approval of link request `id` with `consent`: a fresh challenge, signed.
pub async fn approve(w: &World, card: &Card, id: &str, consent: Value) -> (u16, Value) {
    let (status, c) = post(
        w,
        &format!("/v1/link-requests/{id}/challenges"),
        None,
        json!({}),
    )
    .await;
    if status != 201 {
        return (status, c);
    }
    let nonce = c["nonce"].as_str().unwrap();
    let mut body = answer_for(card, nonce);
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = consent;
    post(w, &format!("/v1/link-requests/{id}/approval"), None, body).await
}

/// A person with a My Key ID whose customer ID at `client` is linked.
pub async fn linked(w: &World, client: &Client, customer_id: &str) -> (Card, String) {
    let card = card(w).await;
    let token = login(w, &card).await;
    let (status, _) = post(w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    assert_eq!(status, 201);
    let id = link_request(w, client, customer_id).await;
    let (status, body) = approve(w, &card, &id, full_consent()).await;
    assert_eq!(status, 201, "{body}");
    (card, token)
}

/// The person withdraws their first active Service ID.
pub async fn withdraw_first_link(w: &World, token: &str) {
    let (_, mine) = call(w, reqwest::Method::GET, "/v1/me/service-ids", Some(token)).await;
    let id = mine["service_ids"][0]["id"].as_i64().unwrap();
    let path = format!("/v1/me/service-ids/{id}");
    let (status, body) = call(w, reqwest::Method::DELETE, &path, Some(token)).await;
    assert_eq!(status, 204, "{body}");
}

/// A person's log entries' kinds.
pub async fn log_kinds(w: &World, token: &str) -> Vec<String> {
    let (status, log) = call(w, reqwest::Method::GET, "/v1/me/log", Some(token)).await;
    assert_eq!(status, 200, "{log}");
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

impl World {
    /// Takes J-LIS away: it stops accepting and closes its idle keep-alive connections too (a
    /// bare abort would leave spawned connection tasks answering on old connections).
    pub async fn stop_jlis(&mut self) {
        if let Some(stop) = self.jlis_stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.jlis_task).await;
        self.jlis_task.abort();
    }

    /// Starts the J-LIS simulator again on its old address and data after [`World::stop_jlis`]
    /// (J-LIS coming back after an outage).
    pub async fn restart_jlis(&mut self) {
        let addr = self
            .jlis_config
            .base_url
            .trim_start_matches("http://")
            .to_owned();
        let listener = loop {
            match tokio::net::TcpListener::bind(&addr).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let jlis = Jlis::open(self.jlis_config.clone(), Arc::new(SystemClock))
            .await
            .unwrap();
        let (task, stop) = serve_jlis(listener, jlis);
        self.jlis_task = task;
        self.jlis_stop = Some(stop);
    }
}

/// No answer holds an issuance number or an internal person ID.
pub fn assert_private(card: &Card, bodies: &[&Value]) {
    for body in bodies {
        let text = body.to_string();
        assert!(
            !text.contains(&card.number),
            "issuance number leaked: {text}"
        );
        assert!(!text.contains("person"), "person ID leaked: {text}");
    }
}

/// Serves the simulator until the returned sender fires (graceful: idle connections close).
fn serve_jlis(
    listener: tokio::net::TcpListener,
    jlis: Arc<Jlis>,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, mykey_jlis::router(jlis))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (task, stop)
}

/// The content of a page's `<meta name="{name}">` (the cross-device pages' approve and continue
/// URLs).
pub fn meta<'a>(html: &'a str, name: &str) -> &'a str {
    let tag = format!("<meta name=\"{name}\" content=\"");
    let at = html
        .find(&tag)
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + tag.len()..];
    &rest[..rest.find('"').unwrap()]
}

/// The body that creates a My Key ID: the person accepts Art 16.1 under the seeded terms.
pub fn my_key_id_creation() -> Value {
    json!({
        "consent": {
            "items": [
                "my-key-id.validity-check",
                "my-key-id.previous-issuance-numbers",
                "my-key-id.jlis-previous-number-search",
            ],
            "terms_version": "2026-11-01",
        }
    })
}

/// The platform of `w` served on a listener of its own, with `rates` at the door (as
/// `mykey serve` sets them); answers its URL.
pub async fn serve_with_rates(w: &World, rates: mykey_server::RateLimits) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(mykey_server::serve(
        listener,
        mykey_server::app(w.platform.clone()),
        mykey_server::Limits {
            rates,
            ..mykey_server::Limits::default()
        },
        std::future::pending(),
    ));
    url
}
