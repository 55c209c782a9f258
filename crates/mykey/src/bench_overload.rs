//! `mykey bench overload`: what the platform does when offered more logins than it can take
//! (Terms Art 9.2, issue 23). Three phases against one `mykey serve` with a limit on requests in
//! flight:
//! 1. unloaded: one client logging in after another — the p99 of a login nobody waits behind;
//! 2. capacity: closed-loop clients, as many as the limit — the logins a second it completes;
//! 3. overload: logins started at a fixed pace (open loop) of `--offer` times that capacity for
//!    as long, each counted as admitted (both requests answered) or refused (a `503`
//!    `overloaded` answer), with the refusals' own answer times.
//!
//! Printed as one JSON line with the ratios the issue sets: completed ÷ capacity (≥ 0.9),
//! admitted p99 ÷ unloaded p99 (≤ 2), the refusals' p99 in milliseconds (≤ 5), and the
//! server's resident memory before and after (flat). The client shares the machine with the
//! server: its RSA signatures are part of what a login costs here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use clap::Args;
use mykey_jlis_client::JlisClient;
use mykey_pki::issue::SigningKey;
use serde_json::json;

use crate::bench::{ChildServer, certificates, percentiles};

#[derive(Debug, Args)]
pub(crate) struct OverloadArgs {
    /// Seconds each loaded phase lasts.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The server's limit on requests in flight (`mykey serve --max-in-flight`); the capacity
    /// phase runs as many clients.
    #[arg(long, default_value_t = 8)]
    max_in_flight: usize,
    /// How many times the capacity the overload phase offers.
    #[arg(long, default_value_t = 2.0)]
    offer: f64,
    /// Logins in the unloaded phase.
    #[arg(long, default_value_t = 200)]
    unloaded: usize,
}

/// How one login ended.
enum Outcome {
    /// Both requests answered: the whole login's time.
    Admitted(Duration),
    /// Refused at once (`503`): that answer's time.
    Refused(Duration),
}

/// One card login (challenge, then the card's answer), telling a refusal apart.
async fn login(
    http: &reqwest::Client,
    base: &str,
    key: &Arc<SigningKey>,
    cert: &[u8],
) -> Result<Outcome, String> {
    let started = Instant::now();
    let post = |url: String, body: serde_json::Value| {
        let http = http.clone();
        async move {
            let t0 = Instant::now();
            let r = http
                .post(url)
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap_or_default();
            Ok::<_, String>((status, v, t0.elapsed()))
        }
    };
    let (status, challenge, took) = post(
        format!("{base}/v1/auth/challenges"),
        json!({"purpose": "login"}),
    )
    .await?;
    match status {
        201 => {}
        503 => return Ok(Outcome::Refused(took)),
        s => return Err(format!("challenge answered {s}: {challenge}")),
    }
    let nonce = challenge["nonce"].as_str().ok_or("no nonce")?.to_owned();
    let raw = B64URL.decode(&nonce).map_err(|e| e.to_string())?;
    // The card's RSA signature off the runtime's threads, so that the client's own work does
    // not hold up the answers it is timing.
    let signer = key.clone();
    let signature = tokio::task::spawn_blocking(move || signer.sign(&raw))
        .await
        .map_err(|e| e.to_string())?;
    let (status, body, took) = post(
        format!("{base}/v1/auth/responses"),
        json!({
            "nonce": nonce,
            "purpose": "login",
            "certificate": B64.encode(cert),
            "signature": B64.encode(signature),
        }),
    )
    .await?;
    match status {
        201 => Ok(Outcome::Admitted(started.elapsed())),
        503 => Ok(Outcome::Refused(took)),
        s => Err(format!("response answered {s}: {body}")),
    }
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

pub(crate) async fn run(a: OverloadArgs) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let max_in_flight = a.max_in_flight.max(1).to_string();
    let (server, _, jlis, _) = ChildServer::platform_on(
        &crate::placement::Placement::shared(),
        dir.path(),
        None,
        &["--max-in-flight", &max_in_flight],
    )?;
    let client = JlisClient::new(&jlis, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let key = Arc::new(SigningKey::generate().map_err(|e| e.to_string())?);
    let certs = Arc::new(certificates(&client, &key, 32).await?);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| e.to_string())?;
    let base = server.url.clone();
    // Warm-up: every card once.
    for c in certs.iter() {
        login(&http, &base, &key, c).await?;
    }

    // 1. Unloaded.
    let mut unloaded = Vec::with_capacity(a.unloaded);
    for i in 0..a.unloaded.max(1) {
        if let Outcome::Admitted(t) = login(&http, &base, &key, &certs[i % certs.len()]).await? {
            unloaded.push(micros(t));
        }
    }
    let (_, unloaded_p99) = percentiles(&mut unloaded);

    // 2. Capacity: as many closed-loop clients as the server takes at once.
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(a.duration.max(1));
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..a.max_in_flight.max(1) {
        let (http, base, key, certs, done) = (
            http.clone(),
            base.clone(),
            key.clone(),
            certs.clone(),
            done.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut i = c;
            while Instant::now() < deadline {
                if let Outcome::Admitted(_) =
                    login(&http, &base, &key, &certs[i % certs.len()]).await?
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
            Ok::<_, String>(())
        }));
    }
    for c in clients {
        c.await.map_err(|e| e.to_string())??;
    }
    let capacity = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();

    // 3. Overload: logins started at `offer` × capacity a second, whatever is answered.
    let rss_before = rss_kib(server.pid());
    let offered = (capacity * a.offer).max(1.0);
    let every = Duration::from_secs_f64(1.0 / offered);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.duration.max(1));
    let mut running = tokio::task::JoinSet::new();
    let mut i = 0usize;
    while Instant::now() < deadline {
        tick.tick().await;
        let (http, base, key, certs) = (http.clone(), base.clone(), key.clone(), certs.clone());
        running.spawn(async move { login(&http, &base, &key, &certs[i % certs.len()]).await });
        i += 1;
    }
    let (mut admitted, mut refused) = (Vec::new(), Vec::new());
    while let Some(r) = running.join_next().await {
        match r.map_err(|e| e.to_string())?? {
            Outcome::Admitted(t) => admitted.push(micros(t)),
            Outcome::Refused(t) => refused.push(micros(t)),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rss_after = rss_kib(server.pid());
    let completed = admitted.len() as f64 / elapsed;
    let (_, admitted_p99) = percentiles(&mut admitted);
    let (_, refused_p99) = percentiles(&mut refused);
    println!(
        "{}",
        json!({
            "bench": "overload",
            "max_in_flight": a.max_in_flight,
            "unloaded_p99_ms": unloaded_p99,
            "capacity_logins_per_s": capacity,
            "offered_logins_per_s": offered,
            "started": i,
            "admitted": admitted.len(),
            "refused": refused.len(),
            "completed_logins_per_s": completed,
            "completed_over_capacity": completed / capacity,
            "admitted_p99_ms": admitted_p99,
            "admitted_p99_over_unloaded": if unloaded_p99 > 0.0 { admitted_p99 / unloaded_p99 } else { 0.0 },
            "refused_p99_ms": refused_p99,
            "rss_kib_before": rss_before,
            "rss_kib_after": rss_after,
        })
    );
    Ok(())
}
