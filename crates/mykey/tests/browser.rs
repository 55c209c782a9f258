//! End to end in a real browser: headless Chromium (Debian's `chromium`), driven through
//! chromedriver's W3C WebDriver protocol, logs in to the portal while `mykey card approve` (the
//! phone) approves with a virtual card; creates a My Key ID with the page's form; withdraws a
//! link made meanwhile by `mykey card link`; reads the log and its chain check. The page's own
//! script notices the approval and continues, as it would for a person.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{PIN, Serve, issue_card, missing, mykey, s};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, with one browser session; both ended on drop.
struct Driver {
    child: Child,
    http: reqwest::Client,
    session: String,
    _profile: tempfile::TempDir,
}

impl Driver {
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--lang=en-US", format!("--user-data-dir={}", profile.path().display())],
            },
        }}});
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {v}"))
            .to_owned();
        Self {
            child,
            http,
            session: format!("{base}/session/{session}"),
            _profile: profile,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let v: Value = r.send().await.unwrap().json().await.unwrap();
        assert!(v["value"].get("error").is_none(), "{path}: {v}");
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn script(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn text(&self) -> String {
        self.script("return document.body.innerText")
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits until the page's text contains `needle`.
    async fn wait_for(&self, needle: &str) {
        let started = Instant::now();
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no {needle:?} in {text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_logs_in_to_the_portal_withdraws_a_link_and_reads_the_log() {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        return missing(
            module_path!(),
            "Chromium is missing (apt-get install chromium chromium-driver)",
        );
    }
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::start(data.path());
    let work = tempfile::tempdir().unwrap();
    let card = work.path().join("card.json");
    issue_card(&serve.jlis, &card, &[]).ok();
    let browser = Driver::start().await;

    // Log in: the page shows the QR code; the phone approves and shows a code; the page goes on
    // by itself to ask for it, and the person types it into the browser.
    browser.go(&format!("{}/portal", serve.url)).await;
    assert!(browser.url().await.ends_with("/portal/login"));
    assert_eq!(
        browser
            .script("return document.querySelectorAll('.qr svg').length")
            .await,
        1
    );
    let approve = browser
        .script("return document.querySelector('meta[name=\"mykey-approve-url\"]').content")
        .await;
    let run = mykey(&[
        "card",
        "approve",
        "--card",
        s(&card),
        "--pin",
        PIN,
        "--platform",
        &serve.url,
        approve.as_str().unwrap(),
    ])
    .ok();
    assert!(
        run.stderr.contains("logging in to your MyKey portal")
            && run.stderr.contains("into your own browser"),
        "{}",
        run.stderr
    );
    let approved: Value = serde_json::from_str(&run.stdout).unwrap();
    let code = approved["confirmation_code"].as_str().unwrap();
    browser.wait_for("Type the code your phone shows").await;
    browser.type_into("#confirmation", code).await;
    browser
        .click("form[action='/portal/login/continue'] button")
        .await;
    browser.wait_for("You have no My Key ID yet.").await;
    assert!(browser.url().await.ends_with("/portal"));

    // Create a My Key ID with the form, accepting Art 16.1.
    browser.type_into("#new-id", "CHROME01").await;
    browser.click("#accept").await;
    browser
        .click("form[action='/portal/my-key-id'] button")
        .await;
    browser.wait_for("CHROME01").await;

    // A relying party links its customer ID; the card holder approves with the CLI.
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "rp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--platform", &serve.url, "--data", s(data.path())]);
        mykey(&all).ok()
    };
    let rp: Value = serde_json::from_str(
        &admin(&crate::support::register_args("みらい銀行", "business")).stdout,
    )
    .unwrap();
    admin(&["approve", &rp["id"].to_string()]);
    let request: Value = reqwest::Client::new()
        .post(format!("{}/v1/rp/service-id-requests", serve.url))
        .basic_auth(
            rp["client_id"].as_str().unwrap(),
            rp["client_secret"].as_str(),
        )
        .json(&json!({"customer_id": "C-4242"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    mykey(&[
        "card",
        "link",
        "--card",
        s(&card),
        "--pin",
        PIN,
        "--platform",
        &serve.url,
        request["link_url"].as_str().unwrap(),
    ])
    .ok();
    browser.go(&format!("{}/portal", serve.url)).await;
    browser.wait_for("C-4242").await;

    // Withdraw it.
    browser
        .click("form[action^='/portal/service-ids/'] button")
        .await;
    browser.wait_for("The link was withdrawn.").await;
    assert!(!browser.text().await.contains("C-4242"));

    // Read the log: the chain checks out, and the withdrawal is there.
    browser.go(&format!("{}/portal/log", serve.url)).await;
    browser.wait_for("nothing was altered").await;
    // What a person reads: what happened, in words (this browser asks for English).
    let text = browser.text().await;
    for words in [
        "Login",
        "My Key ID created",
        "Service ID linked",
        "Consent withdrawn",
    ] {
        assert!(text.contains(words), "{words} in {text}");
    }
    assert_eq!(
        browser
            .script("return document.getElementById('chain').dataset.chain")
            .await,
        "intact"
    );
}
