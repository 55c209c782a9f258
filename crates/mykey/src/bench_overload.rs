//! `mykey bench overload`: what the platform does when offered more logins than it can take
//! (Terms Art 9.2, issue 23). Three phases against one `mykey serve` with a limit on requests in
//! flight:
//! 1. unloaded: one client logging in after another — the p99 of a login nobody waits behind;
//! 2. capacity: closed-loop clients, twice as many as the limit (a refused one tries again a
//!    millisecond later) — the logins a second it completes;
//! 3. overload, twice over: logins started at a fixed pace (open loop) of `--offer` times that
//!    capacity for as long, each counted as admitted (both requests answered) or refused (a
//!    `503` `overloaded` answer), with the refusals' own answer times.
//!
//! Printed as one JSON line with the ratios the issue sets: completed ÷ capacity (≥ 0.9),
//! admitted p99 ÷ unloaded p99 (≤ 2), the refusals' p99 in milliseconds (≤ 5), and the
//! server's resident memory before and after each overload round (flat: the second round
//! grows it no more than the first warmed it).
//!
//! A login here is what it is for the server — a challenge fetched, then the card's answer to
//! a challenge — but the card's RSA signature, which costs the client more than the server's
//! whole login, is made before each phase: every login answers a challenge fetched and signed
//! ahead (challenges are valid two minutes), so the load generator's signing does not take the
//! server's CPU, as it would not on a real network. By default the server and the generator
//! also run on separate CPUs (`--placement split`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use clap::Args;
use mykey_jlis_client::JlisClient;
use mykey_pki::issue::SigningKey;
use serde_json::json;

use crate::bench::{ChildServer, certificates, cpu_of, percentiles};
use crate::placement::PlacementArg;

#[derive(Debug, Args)]
pub(crate) struct OverloadArgs {
    /// Seconds each loaded phase lasts.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// The server's limit on requests in flight (`mykey serve --max-in-flight`); the capacity
    /// phase runs twice as many clients.
    #[arg(long, default_value_t = 4)]
    max_in_flight: usize,
    /// How many times the capacity the overload phase offers.
    #[arg(long, default_value_t = 2.0)]
    offer: f64,
    /// Logins in the unloaded phase.
    #[arg(long, default_value_t = 2000)]
    unloaded: usize,
    /// At most this many logins a second are signed ahead for the capacity phase (it ends
    /// early if they run out, and is then measured over the time it took).
    #[arg(long, default_value_t = 6000)]
    most_per_second: usize,
    /// `split` (default): the server on the upper half of the CPUs, this load generator on the
    /// rest; `shared`: where the scheduler puts them.
    #[arg(long, value_enum, default_value_t = PlacementArg::Split)]
    placement: PlacementArg,
}

/// A card's answer made ahead: a login challenge's nonce, the card that signed it, the
/// signature.
pub(crate) struct Answer {
    nonce: String,
    card: usize,
    signature: String,
}

/// How one login ended.
pub(crate) enum Outcome {
    /// Both requests answered: the whole login's time.
    Admitted(Duration),
    /// Refused at once (`503`): that answer's time.
    Refused(Duration),
    /// The challenge admitted, the card's answer refused at once: that refusal's time. The
    /// challenge was work spent on a login that did not complete.
    RefusedAnswer(Duration),
}

async fn post(
    http: &reqwest::Client,
    url: String,
    body: serde_json::Value,
) -> Result<(u16, serde_json::Value, Duration), String> {
    let t0 = Instant::now();
    let r = http.post(url).json(&body).send().await.map_err(|e| {
        let mut said = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            said = format!("{said}: {c}");
            cause = c.source();
        }
        said
    })?;
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    Ok((status, v, t0.elapsed()))
}

/// `count` login challenges, fetched (16 at a time) and signed by the cards' key on every CPU
/// this process has. A challenge lives 120 s (the platform's default): answers that took more
/// than 90 s to make would start expiring while they are used, so that is an error that says
/// what to lower.
pub(crate) async fn answers(
    http: &reqwest::Client,
    base: &str,
    key: &Arc<SigningKey>,
    cards: usize,
    count: usize,
) -> Result<Vec<Answer>, String> {
    let started = Instant::now();
    let mut fetching = tokio::task::JoinSet::new();
    let mut nonces = Vec::with_capacity(count);
    for i in 0..count {
        if fetching.len() >= 16
            && let Some(n) = fetching.join_next().await
        {
            nonces.push(n.map_err(|e| e.to_string())??);
        }
        let (http, url) = (http.clone(), format!("{base}/v1/auth/challenges"));
        fetching.spawn(async move {
            // Fetched 16 at a time against a server that may hold fewer in flight: a refusal
            // (503) is waited out, since this is preparation, not measurement.
            let mut tries = 0;
            let (status, v) = loop {
                let (status, v, _) = post(&http, url.clone(), json!({"purpose": "login"})).await?;
                tries += 1;
                if status != 503 || tries == 1000 {
                    break (status, v);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            };
            let nonce = v["nonce"]
                .as_str()
                .filter(|_| status == 201)
                .ok_or(format!("a challenge answered {status}: {v}"))?;
            Ok::<_, String>((i, nonce.to_owned()))
        });
    }
    while let Some(n) = fetching.join_next().await {
        nonces.push(n.map_err(|e| e.to_string())??);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = nonces.len().div_ceil(threads).max(1);
    let mut signing = tokio::task::JoinSet::new();
    for part in nonces.chunks(chunk).map(<[_]>::to_vec) {
        let key = key.clone();
        signing.spawn_blocking(move || {
            part.into_iter()
                .map(|(i, nonce)| {
                    let raw = B64URL.decode(&nonce).map_err(|e| e.to_string())?;
                    Ok(Answer {
                        nonce,
                        card: i % cards,
                        signature: B64.encode(key.sign(&raw)),
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        });
    }
    let mut out = Vec::with_capacity(count);
    while let Some(part) = signing.join_next().await {
        out.extend(part.map_err(|e| e.to_string())??);
    }
    let took = started.elapsed();
    if took > Duration::from_secs(90) {
        return Err(format!(
            "making {count} answers ahead took {} s, and the first of their challenges expire \
             120 s after they were fetched: lower --most-per-second (answers a second of the \
             run) or --duration",
            took.as_secs()
        ));
    }
    Ok(out)
}

/// One card login as the server sees it — a challenge, then a card's answer (made ahead) —
/// telling a refusal apart.
pub(crate) async fn login(
    http: &reqwest::Client,
    base: &str,
    answer: &Answer,
    certs: &[Vec<u8>],
) -> Result<Outcome, String> {
    let started = Instant::now();
    let (status, challenge, took) = post(
        http,
        format!("{base}/v1/auth/challenges"),
        json!({"purpose": "login"}),
    )
    .await?;
    match status {
        201 => {}
        503 => return Ok(Outcome::Refused(took)),
        s => return Err(format!("challenge answered {s}: {challenge}")),
    }
    let (status, body, took) = post(
        http,
        format!("{base}/v1/auth/responses"),
        json!({
            "nonce": answer.nonce,
            "purpose": "login",
            "certificate": B64.encode(&certs[answer.card]),
            "signature": answer.signature,
        }),
    )
    .await?;
    match status {
        201 => Ok(Outcome::Admitted(started.elapsed())),
        503 => Ok(Outcome::RefusedAnswer(took)),
        s => Err(format!("response answered {s}: {body}")),
    }
}

/// Logins from `clients` closed-loop clients, each answering the next of `pool`, until
/// `duration` ends or the pool runs out; a refused one tries again a millisecond later. The
/// admitted logins' times in microseconds, and the seconds it took.
pub(crate) async fn closed_loop(
    http: &reqwest::Client,
    base: &str,
    certs: &Arc<Vec<Vec<u8>>>,
    pool: Arc<Vec<Answer>>,
    clients: usize,
    duration: Duration,
) -> Result<(Vec<u32>, f64), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..clients.max(1) {
        let (http, base, certs, pool, next) = (
            http.clone(),
            base.to_owned(),
            certs.clone(),
            pool.clone(),
            next.clone(),
        );
        running.spawn(async move {
            let mut done = Vec::new();
            while Instant::now() < deadline {
                let Some(answer) = pool.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                match login(&http, &base, answer, &certs).await? {
                    Outcome::Admitted(t) => done.push(micros(t)),
                    Outcome::Refused(_) | Outcome::RefusedAnswer(_) => {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            Ok::<_, String>(done)
        });
    }
    let mut all = Vec::new();
    while let Some(c) = running.join_next().await {
        all.extend(c.map_err(|e| e.to_string())??);
    }
    Ok((all, started.elapsed().as_secs_f64()))
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

/// What one overload round found.
struct Round {
    started: usize,
    admitted: Vec<u32>,
    refused: Vec<u32>,
    /// Of those refused, how many after their challenge was admitted.
    answers_refused: usize,
    elapsed: f64,
    server_cpu: Duration,
    /// This load generator's CPU time over the round.
    generator_cpu: Duration,
}

/// Logins started at `offered` a second for `duration`, whatever is answered.
async fn overload(
    http: &reqwest::Client,
    base: &str,
    certs: &Arc<Vec<Vec<u8>>>,
    pool: Vec<Answer>,
    offered: f64,
    duration: Duration,
    pid: u32,
) -> Result<Round, String> {
    let every = Duration::from_secs_f64(1.0 / offered);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (cpu, own) = (cpu_of(pid), cpu_of(std::process::id()));
    let started = Instant::now();
    let deadline = started + duration;
    let mut running = tokio::task::JoinSet::new();
    let mut pool = pool.into_iter();
    let mut n = 0usize;
    while Instant::now() < deadline {
        tick.tick().await;
        let Some(answer) = pool.next() else { break };
        let (http, base, certs) = (http.clone(), base.to_owned(), certs.clone());
        running.spawn(async move { login(&http, &base, &answer, &certs).await });
        n += 1;
    }
    let (mut admitted, mut refused, mut answers_refused) = (Vec::new(), Vec::new(), 0);
    while let Some(r) = running.join_next().await {
        match r.map_err(|e| e.to_string())?? {
            Outcome::Admitted(t) => admitted.push(micros(t)),
            Outcome::Refused(t) => refused.push(micros(t)),
            Outcome::RefusedAnswer(t) => {
                refused.push(micros(t));
                answers_refused += 1;
            }
        }
    }
    Ok(Round {
        started: n,
        admitted,
        refused,
        answers_refused,
        elapsed: started.elapsed().as_secs_f64(),
        server_cpu: cpu_of(pid).saturating_sub(cpu),
        generator_cpu: cpu_of(std::process::id()).saturating_sub(own),
    })
}

pub(crate) async fn run(a: OverloadArgs) -> Result<(), String> {
    let on = a.placement.place()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let max_in_flight = a.max_in_flight.max(1).to_string();
    // The load comes from one address here, as from thousands in the field: it may hold as
    // many connections as the whole server does.
    let (server, _, jlis, _) = ChildServer::platform_on(
        &on,
        dir.path(),
        None,
        &[
            "--max-in-flight",
            &max_in_flight,
            "--max-connections-per-source",
            "4096",
        ],
    )?;
    let pid = server.pid();
    let client = JlisClient::new(&jlis, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let key = Arc::new(SigningKey::generate().map_err(|e| e.to_string())?);
    let certs = Arc::new(certificates(&client, &key, 32).await?);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        // Under the server's 10 s for an idle connection's next request, so that a connection
        // it is closing is never taken for one (signing between phases takes longer).
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let base = server.url.clone();
    let duration = Duration::from_secs(a.duration.max(1));
    // Warm-up: every card once (the first login of an issuance number makes its person).
    for answer in answers(&http, &base, &key, certs.len(), certs.len()).await? {
        login(&http, &base, &answer, &certs).await?;
    }

    // 1. Unloaded.
    let mut unloaded = Vec::with_capacity(a.unloaded);
    for answer in answers(&http, &base, &key, certs.len(), a.unloaded.max(1)).await? {
        if let Outcome::Admitted(t) = login(&http, &base, &answer, &certs).await? {
            unloaded.push(micros(t));
        }
    }
    let (unloaded_p50, unloaded_p99) = percentiles(&mut unloaded);

    // 2. Capacity: closed-loop clients, twice as many as the server takes at once (as many
    // would leave it idle while each turns round), a refused one trying again a millisecond
    // later, until the time is up or the answers made ahead run out.
    let pool = Arc::new(
        answers(
            &http,
            &base,
            &key,
            certs.len(),
            a.most_per_second.max(1) * duration.as_secs() as usize,
        )
        .await?,
    );
    let rss_at_start = rss_kib(pid);
    let cpu = cpu_of(pid);
    let (completed, capacity_elapsed) = closed_loop(
        &http,
        &base,
        &certs,
        pool.clone(),
        2 * a.max_in_flight.max(1),
        duration,
    )
    .await?;
    let capacity_cpu = cpu_of(pid).saturating_sub(cpu);
    let completed_at_capacity = completed.len() as u64;
    let capacity = completed_at_capacity as f64 / capacity_elapsed;
    drop(pool);

    let rss_at_capacity = rss_kib(pid);

    // 3. Overload, twice: the memory after the first round (warmed) and after the second.
    let offered = (capacity * a.offer).max(1.0);
    let per_round = (offered * duration.as_secs_f64()).ceil() as usize + 1;
    let mut rss = vec![rss_at_start, rss_at_capacity];
    let mut rounds = Vec::new();
    for _ in 0..2 {
        let pool = answers(&http, &base, &key, certs.len(), per_round).await?;
        rounds.push(overload(&http, &base, &certs, pool, offered, duration, pid).await?);
        rss.push(rss_kib(pid));
    }
    let ms = |d: Duration, n: usize| d.as_secs_f64() * 1e3 / n.max(1) as f64;
    let rounds: Vec<serde_json::Value> = rounds
        .into_iter()
        .map(|mut r| {
            let completed = r.admitted.len() as f64 / r.elapsed;
            let (admitted_p50, admitted_p99) = percentiles(&mut r.admitted);
            let (refused_p50, refused_p99) = percentiles(&mut r.refused);
            json!({
                "started": r.started,
                "admitted": r.admitted.len(),
                "refused": r.refused.len(),
                "refused_after_their_challenge": r.answers_refused,
                "completed_logins_per_s": completed,
                "completed_over_capacity": completed / capacity,
                "admitted_p50_ms": admitted_p50,
                "admitted_p99_ms": admitted_p99,
                "admitted_p99_over_unloaded": if unloaded_p99 > 0.0 { admitted_p99 / unloaded_p99 } else { 0.0 },
                "refused_p50_ms": refused_p50,
                "refused_p99_ms": refused_p99,
                "server_cpu_ms_per_admitted": ms(r.server_cpu, r.admitted.len()),
                // Near 1 per CPU of its own, the load generator is what is measured.
                "server_cpu_share": r.server_cpu.as_secs_f64() / r.elapsed,
                "load_generator_cpu_share": r.generator_cpu.as_secs_f64() / r.elapsed,
            })
        })
        .collect();
    println!(
        "{}",
        json!({
            "bench": "overload",
            "placement": on.describe(),
            "max_in_flight": a.max_in_flight,
            "unloaded_p50_ms": unloaded_p50,
            "unloaded_p99_ms": unloaded_p99,
            "capacity_logins_per_s": capacity,
            "capacity_seconds": capacity_elapsed,
            "server_cpu_ms_per_login_at_capacity": ms(capacity_cpu, completed_at_capacity as usize),
            "server_cpu_share_at_capacity": capacity_cpu.as_secs_f64() / capacity_elapsed,
            "offered_logins_per_s": offered,
            "rounds": rounds,
            "rss_kib": rss,
            "rss_second_round_over_first": rss[3] as f64 / rss[2].max(1) as f64,
            "targets": {
                "completed_over_capacity": ">= 0.9",
                "admitted_p99_over_unloaded": "<= 2",
                "refused_p99_ms": "<= 5",
                "rss_second_round_over_first": "<= 1.1 (flat)",
            },
        })
    );
    Ok(())
}
