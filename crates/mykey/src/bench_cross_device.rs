//! `mykey bench cross-device`: the working group's 60-second procedure, with the person's own
//! time taken out — what is left is the platform's share, all server and card work, which must
//! stay under one second. Each login runs every step in turn as the browser, the phone and the
//! relying party would: the authorization page, the phone's view, a challenge, the card's
//! signature (RSA-2048, as the card computes it), the approval with consent and facts, the
//! browser's status check and return, the code exchange, userinfo. Prints one JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use clap::Args;
use mykey_jlis_client::JlisClient;
use mykey_pki::issue::SigningKey;
use serde_json::{Value, json};

use crate::bench::{ChildServer, oidc_relying_party, percentiles};

#[derive(Debug, Args)]
pub(crate) struct CrossDeviceArgs {
    /// Logins to run.
    #[arg(long, default_value_t = 200)]
    logins: usize,
    /// Logins run at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// A PostgreSQL URL to run against (a fresh, empty database); default SQLite in a temp folder.
    #[arg(long)]
    database: Option<String>,
}

const REDIRECT: &str = "https://rp.example/callback";

struct Setup {
    base: String,
    client_id: String,
    secret: String,
    key: SigningKey,
    /// Each card's user-identification and signature certificates.
    certs: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    http: reqwest::Client,
}

async fn json_of(r: reqwest::RequestBuilder) -> Result<Value, String> {
    let resp = r.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("{status}: {v}"));
    }
    Ok(v)
}

fn meta(html: &str, name: &str) -> Option<String> {
    let tag = format!("<meta name=\"{name}\" content=\"");
    let at = html.find(&tag)? + tag.len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

/// One login; answers the time the card took to sign.
async fn one(s: &Setup, i: usize) -> Result<Duration, String> {
    let verifier = B64URL.encode(rand::<32>());
    let challenge = B64URL.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    let mut u =
        url::Url::parse(&format!("{}/oidc/authorize", s.base)).map_err(|e| e.to_string())?;
    u.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", s.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid name birthdate"),
        ("state", "bench"),
        ("nonce", "bench"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let page = s
        .http
        .get(u.as_str())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("no cookie")?
        .to_owned();
    let html = page.text().await.map_err(|e| e.to_string())?;
    let approve = meta(&html, "mykey-approve-url").ok_or("no approval URL")?;
    let next = meta(&html, "mykey-continue-url").ok_or("no continue URL")?;
    let handle = approve.rsplit('/').next().unwrap_or_default().to_owned();
    let approve = format!("{}/v1/authorizations/{handle}", s.base);

    // The phone.
    let shown = json_of(s.http.get(&approve)).await?;
    let items: Vec<Value> = shown["consent"]["items"]
        .as_array()
        .map(|a| a.iter().map(|x| x["name"].clone()).collect())
        .unwrap_or_default();
    let c = json_of(
        s.http
            .post(format!("{approve}/challenges"))
            .json(&json!({})),
    )
    .await?;
    let nonce = c["nonce"].as_str().ok_or("no nonce")?.to_owned();
    let raw = B64URL.decode(&nonce).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let signature = s.key.sign(&raw);
    let card = t0.elapsed();
    json_of(s.http.post(format!("{approve}/approval")).json(&json!({
        "nonce": nonce,
        "certificate": B64.encode(&s.certs[i % s.certs.len()].0),
        "signature": B64.encode(signature),
        "consent": {"items": items, "terms_version": shown["consent"]["terms_version"]},
        "signature_certificate": s.certs[i % s.certs.len()].1.as_ref().map(|c| B64.encode(c)),
    })))
    .await?;

    // The browser notices and continues.
    let status = json_of(
        s.http
            .get(format!("{}/oidc/authorize/status?request={handle}", s.base))
            .header("cookie", &cookie),
    )
    .await?;
    if status["status"] != "approved" {
        return Err(format!("not approved: {status}"));
    }
    let back = s
        .http
        .get(format!("{}{next}", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = back
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("no redirect")?;
    let code = url::Url::parse(location)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("no code")?;

    // The relying party.
    let tokens = json_of(
        s.http
            .post(format!("{}/oidc/token", s.base))
            .basic_auth(&s.client_id, Some(&s.secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier.as_str()),
            ]),
    )
    .await?;
    let access = tokens["access_token"].as_str().ok_or("no access token")?;
    json_of(
        s.http
            .get(format!("{}/oidc/userinfo", s.base))
            .bearer_auth(access),
    )
    .await?;
    Ok(card)
}

fn rand<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The system RNG failing is not recoverable.
    aws_lc_rs::rand::fill(&mut b).expect("system randomness");
    b
}

pub(crate) async fn run(a: CrossDeviceArgs) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (server, database, jlis_url, operator) =
        ChildServer::platform(dir.path(), a.database.as_deref())?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(a.concurrency.max(1) * 2)
        .build()
        .map_err(|e| e.to_string())?;
    let base = server.url.clone();
    let (client_id, secret) =
        oidc_relying_party(&base, &operator, None, &["name", "birthdate"], REDIRECT).await?;
    let key = SigningKey::generate().map_err(|e| e.to_string())?;
    let cards = a.logins.clamp(1, 64);
    let certs = crate::bench::cards(
        &JlisClient::new(&jlis_url, Duration::from_secs(30)).map_err(|e| e.to_string())?,
        &key,
        cards,
        true,
    )
    .await?;
    let setup = Arc::new(Setup {
        base,
        client_id,
        secret,
        key,
        certs,
        http,
    });
    // Warm-up: every card logs in once (its person and PPID are made, its certificate checked).
    for i in 0..cards {
        one(&setup, i).await?;
    }
    let cpu_before = server.cpu();
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency.max(1) {
        let (setup, next, total) = (setup.clone(), next.clone(), a.logins);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(out);
                }
                let t0 = Instant::now();
                let card = one(&setup, i).await?;
                out.push((t0.elapsed(), card));
            }
        }));
    }
    let mut runs = Vec::new();
    for t in tasks {
        runs.extend(t.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.cpu().saturating_sub(cpu_before);
    let n = runs.len().max(1);
    let card_ms = runs.iter().map(|(_, c)| c.as_secs_f64()).sum::<f64>() * 1000.0 / n as f64;
    let mut all: Vec<u32> = runs.iter().map(|(t, _)| t.as_micros() as u32).collect();
    let (p50, p99) = percentiles(&mut all);
    let cpu_ms = cpu.as_secs_f64() * 1000.0 / n as f64;
    println!(
        "{}",
        json!({
            "bench": "cross-device",
            "database": if database.starts_with("sqlite://") { "sqlite" } else { "postgres" },
            "logins": runs.len(),
            "concurrency": a.concurrency,
            "logins_per_s": runs.len() as f64 / elapsed,
            "platform_share_p50_ms": p50,
            "platform_share_p99_ms": p99,
            "server_cpu_ms_per_login": cpu_ms,
            "card_signature_ms": card_ms,
            "http_requests_per_login": 10,
            "target_ms": 1000,
            "within_target": p99 < 1000.0,
        })
    );
    Ok(())
}
