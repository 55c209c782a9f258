use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mykey_jlis::api::{IssueRequest, IssuedCertificates};
use mykey_jlis::{Clock, Config, Jlis, SystemClock};
use mykey_jlis_client::JlisClient;
use mykey_pki::issue::SigningKey;

pub struct Sim {
    pub jlis: Arc<Jlis>,
    pub url: String,
    pub client: JlisClient,
    pub dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A simulator on the system clock.
pub async fn start() -> Sim {
    start_with(Arc::new(SystemClock), |_| {}).await
}

/// A simulator on `clock`, with its configuration adjusted by `tweak`.
pub async fn start_with(clock: Arc<dyn Clock>, tweak: impl FnOnce(&mut Config)) -> Sim {
    let dir = tempfile::tempdir().unwrap();
    start_in(dir, clock, tweak).await
}

/// A simulator whose store lives in `dir` (to restart one on the same data).
pub async fn start_in(
    dir: tempfile::TempDir,
    clock: Arc<dyn Clock>,
    tweak: impl FnOnce(&mut Config),
) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config::new(dir.path(), &url);
    tweak(&mut config);
    let jlis = Jlis::open(config, clock).await.unwrap();
    let app = mykey_jlis::router(jlis.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let client = JlisClient::new(&url, Duration::from_secs(10)).unwrap();
    Sim {
        jlis,
        url,
        client,
        dir,
        task,
    }
}

/// Keys generated once per test run (RSA generation is slow; J-LIS does not need them distinct).
pub fn keys() -> &'static (SigningKey, SigningKey) {
    static K: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    K.get_or_init(|| {
        (
            SigningKey::generate().unwrap(),
            SigningKey::generate().unwrap(),
        )
    })
}

pub fn spki(k: &SigningKey) -> String {
    B64.encode(k.spki_der())
}

pub fn person(birth: &str) -> IssueRequest {
    IssueRequest {
        name: "佐藤\u{3000}一郎".into(),
        address: "大阪府大阪市北区中之島一丁目３番２０号".into(),
        birth_date: birth.into(),
        sex: 1,
        user_identification_public_key: spki(&keys().0),
        signature_public_key: Some(spki(&keys().1)),
    }
}

pub async fn issue(sim: &Sim) -> IssuedCertificates {
    sim.client.issue(&person("1980-05-05")).await.unwrap()
}

pub fn der(b64: &Option<String>) -> Vec<u8> {
    B64.decode(b64.as_deref().unwrap()).unwrap()
}

/// Whether `openssl` can be run; without it the test is skipped, unless MYKEY_REQUIRE_ALL=1.
pub fn have_openssl() -> bool {
    mykey_testkit::have_openssl("mykey-jlis's OpenSSL cross-checks")
}
