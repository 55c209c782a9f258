//! `mykey bench points`: the card-point programme against `mykey serve`, its figures beside a
//! card login's measured in the same run on the same server (issue 22):
//!
//! 1. logins at `--concurrency` clients for `--duration` s: the server's CPU per login;
//! 2. applications at the same concurrency and duration — each of `--cards` holders applying
//!    in round after round (one application per person per round) through one eligible service:
//!    the server's CPU per application and the throughput, each as a ratio to the login's;
//! 3. transaction intake: `--transactions` purchases of the first round's validated applicants
//!    (those of step 2 and `--holders` more loaded straight into the database) in reports of
//!    1000, `--reporters` at a time, then one batch of grants for all of them: the wall time of
//!    each, with the host's RSA-2048 verification floor (one core) printed beside them.
//!
//! With `--round-size N --baseline M` it measures instead an application's p99 in a round
//! already holding N validated applications against its p99 in a round holding M, in one run:
//! the holders are split into `--trials` groups and one more that warms both rounds up first,
//! and each group applies once in each round, the two rounds taking turns (the order swapped
//! every trial).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use mykey_jlis_client::JlisClient;
use mykey_pki::issue::SigningKey;
use serde_json::{Value, json};

use crate::bench::{ChildServer, certificates, load, percentiles};

#[derive(Debug, Args)]
pub(crate) struct PointsArgs {
    /// Card holders (cards from the simulator, each a person with a My Key ID).
    #[arg(long, default_value_t = 64)]
    cards: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of each load (logins, then applications).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Rounds opened for the applications (each holder applies once in each).
    #[arg(long, default_value_t = 1000)]
    rounds: usize,
    /// Purchases reported for the first round's applicants, in reports of 1000.
    #[arg(long, default_value_t = 100_000)]
    transactions: usize,
    /// Validated applicants loaded into the first round besides those of the load (each a
    /// person of their own), so that the purchases and the batch reach this many holders.
    #[arg(long, default_value_t = 0)]
    holders: u64,
    /// Validated applications loaded into the first round before the applications are
    /// measured (each a person of their own): an application's latency in a round this big.
    /// Give `--rounds 1` and enough `--cards` for the load, so that it applies in that round.
    #[arg(long, default_value_t = 0)]
    round_size: u64,
    /// With `--round-size`: a second round loaded with this many validated applications, and
    /// only the comparison measured: each of `--trials` groups of holders applies once in the
    /// big round and once in this one, in turns; the p99 of each and their ratio per trial.
    #[arg(long, default_value_t = 0)]
    baseline: u64,
    /// Turns of the comparison (see `--baseline`); `--cards` is split into this many groups and
    /// one more, whose turn warms both rounds up and is not counted.
    #[arg(long, default_value_t = 3)]
    trials: usize,
    /// Reports in flight at once.
    #[arg(long, default_value_t = 4)]
    reporters: usize,
    /// A PostgreSQL URL to run against (a fresh, empty database); default SQLite in a temp folder.
    #[arg(long)]
    database: Option<String>,
}

/// A JSON call that must succeed; its answer.
async fn call(req: reqwest::RequestBuilder) -> Result<Value, String> {
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("refused ({status}): {v}"));
    }
    Ok(v)
}

/// One application of a holder (by their session) in `round` through `service`.
async fn apply(
    http: &reqwest::Client,
    base: &str,
    session: &str,
    round: i64,
    service: i64,
    user_id: &str,
    consent: &Value,
) -> Result<(), String> {
    call(
        http.post(format!("{base}/v1/me/point-applications"))
            .bearer_auth(session)
            .json(&json!({"round": round, "payment_service": service, "payment_service_user_id": user_id, "consent": consent})),
    )
    .await
    .map(|_| ())
}

/// The holders of a comparison and what they apply with.
struct Holders {
    http: reqwest::Client,
    base: String,
    sessions: Arc<Vec<String>>,
    service: i64,
    consent: Value,
}

impl Holders {
    /// Each holder of `group` applies once in `round`, `concurrency` at a time: the
    /// latencies (µs) and the wall time.
    async fn apply_once_each(
        &self,
        group: std::ops::Range<usize>,
        round: i64,
        concurrency: usize,
    ) -> Result<(Vec<u32>, f64), String> {
        let next = Arc::new(AtomicUsize::new(group.start));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency.max(1) {
            let (http, base, sessions, consent) = (
                self.http.clone(),
                self.base.clone(),
                self.sessions.clone(),
                self.consent.clone(),
            );
            let (next, end, service) = (next.clone(), group.end, self.service);
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let holder = next.fetch_add(1, Ordering::Relaxed);
                    if holder >= end {
                        return Ok::<_, String>(latencies);
                    }
                    let t0 = Instant::now();
                    let user_id = format!("{holder:06}{:06}", 0);
                    apply(
                        &http,
                        &base,
                        &sessions[holder],
                        round,
                        service,
                        &user_id,
                        &consent,
                    )
                    .await?;
                    latencies.push(t0.elapsed().as_micros() as u32);
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(|e| e.to_string())??);
        }
        Ok((all, started.elapsed().as_secs_f64()))
    }
}

/// The comparison of `--baseline`: trial by trial, one group of holders applies once in the
/// big round and once in the baseline round (the order swapped every trial).
async fn compare_rounds(
    a: &PointsArgs,
    holders: &Holders,
    (big, small): (i64, i64),
    database: &str,
) -> Result<(), String> {
    let trials = a.trials.max(1);
    // Group 0 warms both rounds first (its figures are printed, not counted): the first
    // applications after a load read index pages the load pushed out of the buffers.
    let size = holders.sessions.len() / (trials + 1);
    let mut figures = Vec::with_capacity(trials);
    let mut worst: f64 = 0.0;
    for t in 0..=trials {
        let group = t * size..(t + 1) * size;
        let order = if t % 2 == 0 {
            [big, small]
        } else {
            [small, big]
        };
        let mut p99 = [0.0; 2];
        let mut side = serde_json::Map::new();
        for round in order {
            let (mut latencies, secs) = holders
                .apply_once_each(group.clone(), round, a.concurrency)
                .await?;
            let (p50, p) = percentiles(&mut latencies);
            let (name, at) = if round == big {
                ("big", 0)
            } else {
                ("baseline", 1)
            };
            p99[at] = p;
            side.insert(format!("{name}_p50_ms"), json!(p50));
            side.insert(format!("{name}_p99_ms"), json!(p));
            side.insert(
                format!("{name}_per_s"),
                json!(latencies.len() as f64 / secs),
            );
        }
        let ratio = if p99[1] > 0.0 { p99[0] / p99[1] } else { 0.0 };
        if t == 0 {
            side.insert("warm_up".into(), json!(true));
        } else {
            worst = worst.max(ratio);
        }
        side.insert(
            "first".into(),
            json!(if order[0] == big { "big" } else { "baseline" }),
        );
        side.insert("p99_ratio".into(), json!(ratio));
        figures.push(Value::Object(side));
    }
    println!(
        "{}",
        json!({
            "bench": "points-round-size",
            "database": if database.starts_with("sqlite://") { "sqlite" } else { "postgres" },
            "round_size": a.round_size,
            "baseline": a.baseline,
            "holders_per_trial": size,
            "concurrency": a.concurrency,
            "trials": figures,
            "p99_ratio_max": worst,
            "p99_ratio_target": 1.3,
        })
    );
    Ok(())
}

/// Loads `count` validated applicants (from number `first` on) of `of` (provider, service,
/// round) straight into the database, showing progress.
async fn seed(
    database: &str,
    of: (mykey_platform::RelyingPartyId, i64, i64),
    first: u64,
    count: u64,
    what: &str,
) -> Result<(), String> {
    let started = Instant::now();
    mykey_store::bench::seed_point_applicants(
        database,
        of,
        first,
        count,
        mykey_pki::UnixTime::now(),
        |done| crate::bench::progress_bar(done, count, &format!("seeding {what}")),
    )
    .await
    .map_err(|e| e.to_string())?;
    eprintln!(
        "\rseeded {count} validated applicants ({what}) in {:.1} s{}",
        started.elapsed().as_secs_f64(),
        " ".repeat(30)
    );
    Ok(())
}

pub(crate) async fn run(a: PointsArgs) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (server, database, jlis, operator) =
        ChildServer::platform(dir.path(), a.database.as_deref())?;
    let base = server.url.clone();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let client = JlisClient::new(&jlis, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let key = Arc::new(SigningKey::generate().map_err(|e| e.to_string())?);
    let cards = a.cards.max(1);
    let certs = Arc::new(certificates(&client, &key, cards).await?);

    // The provider, its eligible service, the rounds.
    let rp = call(
        http.post(format!("{base}/v1/ops/relying-parties"))
            .bearer_auth(&operator)
            .json(&json!({"name": "Bench Pay", "kind": "payment-provider", "contact": "窓口", "privacy_policy_url": "https://pay.example/p", "terms_url": "https://pay.example/t"})),
    )
    .await?;
    let (pay_id, pay_secret) = (
        rp["client_id"].as_str().unwrap_or_default().to_owned(),
        rp["client_secret"].as_str().unwrap_or_default().to_owned(),
    );
    call(
        http.post(format!(
            "{base}/v1/ops/relying-parties/{}/approval",
            rp["id"]
        ))
        .bearer_auth(&operator),
    )
    .await?;
    let service = call(
        http.post(format!("{base}/v1/rp/payment-services"))
            .basic_auth(&pay_id, Some(&pay_secret))
            .json(&json!({"name": "Bench QR", "kind": "qr-code", "id_shape": {"alphabet": "digits", "min_length": 12, "max_length": 12}})),
    )
    .await?["id"]
        .as_i64()
        .unwrap_or_default();
    call(
        http.post(format!("{base}/v1/ops/payment-services/{service}/approval"))
            .bearer_auth(&operator),
    )
    .await?;
    let compare = a.round_size > 0 && a.baseline > 0;
    if compare && cards < a.trials.max(1) + 1 {
        return Err(
            "--cards must be more than --trials (a group of holders a trial and one to warm up)"
                .into(),
        );
    }
    let round_count = if compare { 2 } else { a.rounds.max(1) };
    let mut rounds = Vec::with_capacity(round_count);
    for r in 0..round_count {
        let round = call(
            http.post(format!("{base}/v1/ops/point-rounds"))
                .bearer_auth(&operator)
                .json(&json!({"name": format!("Bench {r}"), "purchase_rate": 25, "purchase_cap": 5000, "health_insurance_points": 0, "public_fund_account_points": 0})),
        )
        .await?["id"]
            .as_i64()
            .unwrap_or_default();
        call(
            http.post(format!("{base}/v1/ops/point-rounds/{round}/opening"))
                .bearer_auth(&operator),
        )
        .await?;
        rounds.push(round);
    }
    let rounds = Arc::new(rounds);

    // The holders: a session and a My Key ID each.
    let mut sessions = Vec::with_capacity(cards);
    for cert in certs.iter() {
        let s =
            crate::login::login(&http, &base, |nonce| Ok((key.sign(nonce), cert.clone()))).await?;
        call(
            http.post(format!("{base}/v1/me/my-key-id"))
                .bearer_auth(&s.token)
                .json(&json!({"consent": {"terms_version": "2026-11-01", "items": ["my-key-id.validity-check", "my-key-id.previous-issuance-numbers", "my-key-id.jlis-previous-number-search"]}})),
        )
        .await?;
        sessions.push(s.token);
    }
    let sessions = Arc::new(sessions);
    let consent: Value =
        call(http.get(format!("{base}/v1/point-programme"))).await?["consent"].clone();
    let items: Vec<Value> = consent["items"]
        .as_array()
        .map(|i| i.iter().map(|x| x["name"].clone()).collect())
        .unwrap_or_default();
    let consent = json!({"items": items, "terms_version": consent["terms_version"]});

    let provider = mykey_platform::RelyingPartyId::new(rp["id"].as_i64().unwrap_or_default());
    if a.round_size > 0 {
        seed(
            &database,
            (provider, service, rounds[0]),
            0,
            a.round_size,
            "the round",
        )
        .await?;
    }
    if compare {
        seed(
            &database,
            (provider, service, rounds[1]),
            a.round_size,
            a.baseline,
            "the baseline round",
        )
        .await?;
        let holders = Holders {
            http: http.clone(),
            base: base.clone(),
            sessions: sessions.clone(),
            service,
            consent: consent.clone(),
        };
        return compare_rounds(&a, &holders, (rounds[0], rounds[1]), &database).await;
    }

    // 1. Logins.
    let login_one = {
        let (http, base, certs, key) = (http.clone(), base.clone(), certs.clone(), key.clone());
        move |i: usize| {
            let (http, base, certs, key) = (http.clone(), base.clone(), certs.clone(), key.clone());
            async move {
                let cert = certs[i % certs.len()].clone();
                crate::login::login(&http, &base, |nonce| Ok((key.sign(nonce), cert)))
                    .await
                    .map(|_| ())
            }
        }
    };
    let cpu = server.cpu();
    let (mut logins, login_s) = load(a.concurrency, a.duration, login_one).await?;
    let login_cpu = server.cpu().saturating_sub(cpu);
    let (login_p50, login_p99) = percentiles(&mut logins);

    // 2. Applications: holder i % cards, in that holder's next round.
    let next: Arc<Vec<AtomicUsize>> = Arc::new((0..cards).map(|_| AtomicUsize::new(0)).collect());
    let apply_one = {
        let (http, base, sessions, rounds, next, consent) = (
            http.clone(),
            base.clone(),
            sessions.clone(),
            rounds.clone(),
            next.clone(),
            consent.clone(),
        );
        move |i: usize| {
            let (http, base, sessions, rounds, next, consent) = (
                http.clone(),
                base.clone(),
                sessions.clone(),
                rounds.clone(),
                next.clone(),
                consent.clone(),
            );
            async move {
                let holder = i % sessions.len();
                let r = next[holder].fetch_add(1, Ordering::Relaxed);
                let round = *rounds
                    .get(r)
                    .ok_or("every round was applied in: give more --rounds")?;
                apply(
                    &http,
                    &base,
                    &sessions[holder],
                    round,
                    service,
                    &format!("{:06}{:06}", holder, r),
                    &consent,
                )
                .await
            }
        }
    };
    let cpu = server.cpu();
    let (mut applications, apply_s) = load(a.concurrency, a.duration, apply_one).await?;
    let apply_cpu = server.cpu().saturating_sub(cpu);
    let (apply_p50, apply_p99) = percentiles(&mut applications);

    // 3. The first round's applicants validated, their purchases reported, one batch.
    let first = rounds[0];
    // The provider's queue, page by page: the first round's applications among them.
    let mut first_round = Vec::new();
    let mut after = String::new();
    loop {
        let page = call(
            http.get(format!(
                "{base}/v1/rp/point-applications?state=submitted&limit=1000{after}"
            ))
            .basic_auth(&pay_id, Some(&pay_secret)),
        )
        .await?;
        for app in page["applications"].as_array().into_iter().flatten() {
            if app["round"].as_i64() == Some(first) {
                first_round.push(app["id"].as_str().unwrap_or_default().to_owned());
            }
        }
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    let mut applicants = Vec::new();
    for id in first_round {
        let su = format!("SU-{}", applicants.len());
        call(
            http.post(format!("{base}/v1/rp/point-applications/{id}/validation"))
                .basic_auth(&pay_id, Some(&pay_secret))
                .json(&json!({"valid": true, "settlement_user_id": su})),
        )
        .await?;
        applicants.push(su);
    }
    if a.holders > 0 {
        let of = (provider, service, first);
        seed(&database, of, a.round_size, a.holders, "applicants").await?;
        applicants.extend((a.round_size..a.round_size + a.holders).map(|k| format!("SEED-{k}")));
        // A second on, so that no purchase is dated before a seeded application.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())?;
    // The reports composed before the clock starts: the figure is the platform's intake, not
    // the load generator's JSON (which shares the host's cores).
    let bodies: Vec<Vec<u8>> = (0..a.transactions.div_ceil(1000))
        .map(|r| {
            let from = r * 1000;
            let txs: Vec<Value> = (from..(from + 1000).min(a.transactions))
                .map(|k| json!({"settlement_user_id": applicants[k % applicants.len()], "transaction_id": format!("T-{k}"), "amount": 100 + (k % 900), "occurred_at": now}))
                .collect();
            serde_json::to_vec(&json!({"transactions": txs})).unwrap_or_default()
        })
        .collect();
    let bodies = Arc::new(bodies);
    let next_report = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let cpu = server.cpu();
    let mut reporters = Vec::new();
    for _ in 0..a.reporters.max(1) {
        let (http, base, bodies, next_report) = (
            http.clone(),
            base.clone(),
            bodies.clone(),
            next_report.clone(),
        );
        let (pay_id, pay_secret) = (pay_id.clone(), pay_secret.clone());
        reporters.push(tokio::spawn(async move {
            loop {
                let r = next_report.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(r) else {
                    return Ok::<_, String>(());
                };
                call(
                    http.post(format!("{base}/v1/rp/point-rounds/{first}/transactions"))
                        .basic_auth(&pay_id, Some(&pay_secret))
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.clone()),
                )
                .await?;
            }
        }));
    }
    for r in reporters {
        r.await.map_err(|e| e.to_string())??;
    }
    let intake_s = t0.elapsed().as_secs_f64();
    let intake_cpu = server.cpu().saturating_sub(cpu);
    let t0 = Instant::now();
    let cpu = server.cpu();
    let batch = call(
        http.post(format!("{base}/v1/rp/point-rounds/{first}/grant-batches"))
            .basic_auth(&pay_id, Some(&pay_secret)),
    )
    .await?;
    let grants_s = t0.elapsed().as_secs_f64();
    let batch_cpu = server.cpu().saturating_sub(cpu);

    let per = |cpu: Duration, n: usize| {
        if n == 0 {
            0.0
        } else {
            cpu.as_micros() as f64 / n as f64
        }
    };
    let (login_cpu_us, apply_cpu_us) = (
        per(login_cpu, logins.len()),
        per(apply_cpu, applications.len()),
    );
    let (login_rate, apply_rate) = (
        logins.len() as f64 / login_s,
        applications.len() as f64 / apply_s,
    );
    println!(
        "{}",
        json!({
            "bench": "points",
            "database": if database.starts_with("sqlite://") { "sqlite" } else { "postgres" },
            "cards": cards,
            "round_size": a.round_size,
            "concurrency": a.concurrency,
            "logins_per_s": login_rate,
            "login_p50_ms": login_p50,
            "login_p99_ms": login_p99,
            "server_cpu_us_per_login": login_cpu_us,
            "applications": applications.len(),
            "applications_per_s": apply_rate,
            "application_p50_ms": apply_p50,
            "application_p99_ms": apply_p99,
            "server_cpu_us_per_application": apply_cpu_us,
            "cpu_ratio_application_to_login": if login_cpu_us > 0.0 { apply_cpu_us / login_cpu_us } else { 0.0 },
            "throughput_ratio_application_to_login": if login_rate > 0.0 { apply_rate / login_rate } else { 0.0 },
            "transactions": a.transactions,
            "applicants": applicants.len(),
            "reporters": a.reporters.max(1),
            "intake_s": intake_s,
            "transactions_per_s": a.transactions as f64 / intake_s,
            "server_cpu_us_per_transaction": per(intake_cpu, a.transactions),
            "grant_batch_s": grants_s,
            "grant_batch_cpu_s": batch_cpu.as_secs_f64(),
            "grants": batch["grants"],
            "rsa2048_verify_floor_us": crate::bench::rsa_verify_floor()?.as_secs_f64() * 1e6,
        })
    );
    Ok(())
}
