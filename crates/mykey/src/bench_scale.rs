//! `mykey bench scale` (issue 24.4): a card login with ten million people in PostgreSQL against
//! the same login with ten thousand, measured in one run.
//!
//! Two databases on one PostgreSQL server, each with its `mykey serve` (the small one runs the
//! J-LIS simulator, the large one uses it): the small seeded with `--baseline` people, the
//! large with `--persons`, both as the platform holds people after years of use
//! (`mykey_store::bench` population: renewed cards, My Key IDs, consents, Service IDs, PPIDs,
//! chained logs). The same `--cards` are then given to people spread over each population, so
//! logins land all over the tables as real ones do, and the two servers take turns under the
//! same closed-loop load (`--rounds` of `--duration` seconds each, the order swapped every
//! round, so drift of the host hits both). Printed as one JSON line: each side's logins a
//! second, p50 and p99, the p99 ratio beside its target (≤ 1.3), and the bytes the database
//! stores per person.
//!
//! Seeding ten million takes a while; `--keep DIR` keeps the two servers' data folders in
//! `DIR`, so a later run with the same databases and folder finds the people there and only
//! measures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use mykey_jlis_client::JlisClient;
use mykey_pki::issue::SigningKey;
use mykey_pki::{UnixTime, UserIdentificationCertificate};
use mykey_store::PostgresStore;
use serde_json::json;

use crate::bench::{CardLogins, ChildServer, certificates, load, percentiles, progress_bar};

#[derive(Debug, Args)]
pub(crate) struct ScaleArgs {
    /// The small database (PostgreSQL URL): a fresh, empty one, or one a kept run seeded.
    #[arg(long)]
    small: String,
    /// The large database (PostgreSQL URL), likewise.
    #[arg(long)]
    large: String,
    /// People in the large database.
    #[arg(long, default_value_t = 10_000_000)]
    persons: u64,
    /// People in the small database.
    #[arg(long, default_value_t = 10_000)]
    baseline: u64,
    /// Cards (real certificates from the simulator) given to people of each population.
    #[arg(long, default_value_t = 5_000)]
    cards: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of load per side per round.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Rounds; each measures both sides, in turn.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Keep the servers' data folders here (made 0700 if missing), so that a later run on the
    /// same databases reuses their people; default a temporary folder (the databases must be
    /// empty then).
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

/// One side: its server, its store, and what it measured.
struct Side {
    name: &'static str,
    server: ChildServer,
    store: PostgresStore,
    latencies: Vec<u32>,
    seconds: f64,
}

pub(crate) async fn run(a: ScaleArgs) -> Result<(), String> {
    for url in [&a.small, &a.large] {
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(format!(
                "{url}: `bench scale` runs on PostgreSQL (postgres://…)"
            ));
        }
    }
    if a.small == a.large {
        return Err("--small and --large must be two databases".into());
    }
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = a.keep.clone().unwrap_or_else(|| temp.path().to_owned());
    let folder = |name: &str| -> Result<std::path::PathBuf, String> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = root.join(name);
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(dir)
    };
    let (small_dir, large_dir) = (folder("small")?, folder("large")?);

    // The small side runs the simulator; the large one asks it.
    let (small_server, _, jlis, _) = ChildServer::platform(&small_dir, Some(&a.small))?;
    let large_server = ChildServer::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--jlis-url",
            &jlis,
            "--mynaportal-listen",
            "127.0.0.1:0",
            "--account-registry-listen",
            "127.0.0.1:0",
            "--database",
            &a.large,
            "--data",
        ],
        &large_dir,
        "J-LIS:",
    )?;
    let mut sides = Vec::new();
    let mut seeded_s = 0.0;
    for (name, server, url, persons) in [
        ("small", small_server, &a.small, a.baseline),
        ("large", large_server, &a.large, a.persons),
    ] {
        let store = PostgresStore::open(url).await.map_err(|e| e.to_string())?;
        let have = store.population().await.map_err(|e| e.to_string())?.persons;
        if have < persons {
            let started = Instant::now();
            let add = persons - have;
            store
                .seed_population(add, UnixTime::now(), |done| {
                    progress_bar(done, add, &format!("seeding {name}"));
                })
                .await
                .map_err(|e| e.to_string())?;
            eprintln!();
            seeded_s += started.elapsed().as_secs_f64();
        }
        sides.push(Side {
            name,
            server,
            store,
            latencies: Vec::new(),
            seconds: 0.0,
        });
    }

    // The cards, and people of each population to hold them.
    let client = JlisClient::new(&jlis, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let key = Arc::new(SigningKey::generate().map_err(|e| e.to_string())?);
    let certs = Arc::new(certificates(&client, &key, a.cards.max(1)).await?);
    let numbers = certs
        .iter()
        .map(|der| {
            UserIdentificationCertificate::from_der(der)
                .map(|c| c.issuance_number())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    for side in &sides {
        side.store
            .seat_cards(&numbers)
            .await
            .map_err(|e| e.to_string())?;
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    // The cards' people are spread over each population (`seat_cards`).
    let logins = |platform: &str| {
        let logins = CardLogins {
            http: http.clone(),
            platform: platform.to_owned(),
            certs: certs.clone(),
            key: key.clone(),
        };
        move |i: usize| logins.login(i)
    };
    // Warm-up, unmeasured: every card logs in once on each side, from as many clients.
    for side in &sides {
        let login = logins(&side.server.url);
        let clients = a.concurrency.max(1);
        let mut tasks = Vec::new();
        for c in 0..clients {
            let login = login.clone();
            let cards = certs.len();
            tasks.push(tokio::spawn(async move {
                for i in (c..cards).step_by(clients) {
                    login(i).await?;
                }
                Ok::<_, String>(())
            }));
        }
        for t in tasks {
            t.await.map_err(|e| e.to_string())??;
        }
    }
    for round in 0..a.rounds {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for s in order {
            let side = &mut sides[s];
            let (lat, secs) = load(a.concurrency, a.duration, logins(&side.server.url)).await?;
            side.latencies.extend(lat);
            side.seconds += secs;
        }
    }

    let mut figures = serde_json::Map::new();
    let mut p99s = Vec::new();
    let mut sizes = Vec::new();
    for side in &mut sides {
        let population = side.store.population().await.map_err(|e| e.to_string())?;
        let n = side.latencies.len();
        let (p50, p99) = percentiles(&mut side.latencies);
        p99s.push(p99);
        figures.insert(
            side.name.to_owned(),
            json!({
                "persons": population.persons,
                "log_entries": population.log_entries,
                "database_bytes": population.bytes,
                "logins": n,
                "logins_per_s": n as f64 / side.seconds.max(f64::EPSILON),
                "p50_ms": p50,
                "p99_ms": p99,
            }),
        );
        sizes.push(population);
    }
    let (small, large) = (&sizes[0], &sizes[1]);
    let bytes_per_person = large.bytes.saturating_sub(small.bytes) as f64
        / large.persons.saturating_sub(small.persons).max(1) as f64;
    let mut out = json!({
        "bench": "scale",
        "database": "postgres",
        "postgres_shared_buffers": large.shared_buffers,
        "cards": a.cards,
        "concurrency": a.concurrency,
        "rounds": a.rounds,
        "duration_s": a.duration,
        "seeded_s": seeded_s,
        "p99_ratio": p99s[1] / p99s[0].max(f64::EPSILON),
        "target_p99_ratio": 1.3,
        "bytes_per_person": bytes_per_person,
        "log_entries_per_person": large.log_entries as f64 / large.persons.max(1) as f64,
    });
    if let Some(o) = out.as_object_mut() {
        o.extend(figures);
    }
    println!("{out}");
    Ok(())
}
