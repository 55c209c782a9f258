//! `mykey bench …`: load generators that print one JSON line of figures. Servers run as child
//! processes so that their CPU time is measured apart from the load generator's.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Args, Subcommand};
use mykey_jlis::api::IssueRequest;
use mykey_jlis_client::JlisClient;
use mykey_pki::issue::SigningKey;
use mykey_pki::ocsp::Request;
use mykey_pki::{Purpose, UnixTime};

use crate::placement::Placement;

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// The J-LIS simulator's OCSP responder under concurrent load.
    Ocsp(OcspArgs),
    /// Complete card logins (challenge → card signature → response) against `mykey serve`.
    Login(LoginArgs),
    /// Load synthetic people into a platform database.
    Seed(SeedArgs),
    /// The facts-change sweep: linked people, a signature-CA delta CRL of revocations for
    /// changed facts, the sweep that finds them and queues events (Art 17.2.2).
    FactsSweep(FactsArgs),
    /// Cross-device logins end to end (authorization page → phone view → card signature →
    /// approval → browser continues → code exchange → userinfo): the platform's share per login.
    CrossDevice(crate::bench_cross_device::CrossDeviceArgs),
    /// The token endpoint's code exchange with private_key_jwt: ours and oidc-provider's, side by
    /// side (`bench/oidc-compare`).
    OidcCompare(crate::bench_oidc_compare::CompareArgs),
    /// The card-point programme: applications beside logins on the same server (CPU and
    /// throughput ratios), then transaction intake and a batch of grants.
    Points(crate::bench_points::PointsArgs),
    /// Logins offered at twice the capacity (Art 9.2): what completes, the admitted logins'
    /// p99 beside an unloaded one's, how fast refusals come, the server's memory.
    Overload(crate::bench_overload::OverloadArgs),
    /// A card login with ten million people in PostgreSQL beside the same login with ten
    /// thousand, in one run (p99 ratio), and the bytes stored per person.
    Scale(crate::bench_scale::ScaleArgs),
}

#[derive(Debug, Args)]
pub(crate) struct FactsArgs {
    /// People with a Service ID and a noted signature certificate.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) linked: u64,
    /// Of them, those whose signature certificate the delta CRL revokes (affiliationChanged).
    #[arg(long, default_value_t = 10_000)]
    pub(crate) revoked: u64,
    /// A PostgreSQL URL to run against (a fresh, empty database); default SQLite in a temp folder.
    #[arg(long)]
    pub(crate) database: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct OcspArgs {
    /// Certificates to issue and ask about.
    #[arg(long, default_value_t = 200)]
    certificates: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Send a fresh nonce with every request (every answer then needs its own signature).
    #[arg(long)]
    nonce: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// People loaded before the run (each with one issuance number).
    #[arg(long, default_value_t = 10_000)]
    persons: u64,
    /// Cards (real certificates from the simulator) taking turns to log in.
    #[arg(long, default_value_t = 64)]
    cards: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// A PostgreSQL URL to run against (a fresh, empty database); default SQLite in a temp folder.
    #[arg(long)]
    database: Option<String>,
    /// At most this many logins a second are signed ahead (the load ends early if they run
    /// out, and is then measured over the time it took).
    #[arg(long, default_value_t = 6000)]
    most_per_second: usize,
    /// `split` (default): the server on the upper half of the CPUs, this load generator on the
    /// rest; `shared`: where the scheduler puts them.
    #[arg(long, value_enum, default_value_t = crate::placement::PlacementArg::Split)]
    placement: crate::placement::PlacementArg,
}

#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// People to load.
    #[arg(long)]
    persons: u64,
    /// The database: sqlite://PATH or postgres://….
    #[arg(long)]
    database: String,
}

pub(crate) async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Ocsp(a) => ocsp(a).await,
        BenchCommand::Login(a) => login(a).await,
        BenchCommand::Seed(a) => seed(&a.database, a.persons).await,
        BenchCommand::FactsSweep(a) => crate::bench_facts::run(a).await,
        BenchCommand::CrossDevice(a) => crate::bench_cross_device::run(a).await,
        BenchCommand::OidcCompare(a) => crate::bench_oidc_compare::run(a).await,
        BenchCommand::Points(a) => crate::bench_points::run(a).await,
        BenchCommand::Overload(a) => crate::bench_overload::run(a).await,
        BenchCommand::Scale(a) => crate::bench_scale::run(a).await,
    }
}

/// A child `mykey …` server on free ports; its stdout read up to the line containing `until`
/// (its first line names its URL), then drained. Killed on drop.
pub(crate) struct ChildServer {
    child: Child,
    pub(crate) url: String,
    pub(crate) lines: Vec<String>,
}

impl ChildServer {
    pub(crate) fn start(args: &[&str], dir: &std::path::Path, until: &str) -> Result<Self, String> {
        Self::start_on(&Placement::shared(), args, dir, until)
    }

    /// As [`Self::start`], on the servers' CPUs of `placement`.
    pub(crate) fn start_on(
        placement: &Placement,
        args: &[&str],
        dir: &std::path::Path,
        until: &str,
    ) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = placement
            .spawn(
                Command::new(exe)
                    .args(args)
                    .arg(dir)
                    .env("MYKEY_LOG", "warn")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit()),
            )
            .map_err(|e| format!("cannot start {args:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err(format!("the server exited early: {lines:?}"));
            }
            let done = line.contains(until);
            lines.push(line);
            if done {
                break;
            }
        }
        // Keep draining so the child never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = url_in(&lines[0])
            .ok_or_else(|| format!("the server did not say where it listens: {lines:?}"))?;
        Ok(Self { child, url, lines })
    }

    /// The server's process ID.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the process has used so far.
    pub(crate) fn cpu(&self) -> Duration {
        cpu_of(self.child.id())
    }

    /// `mykey serve` in `dir` over `database` (default: SQLite in `dir`): the server, the
    /// database URL, its J-LIS URL and the operator token.
    pub(crate) fn platform(
        dir: &std::path::Path,
        database: Option<&str>,
    ) -> Result<(Self, String, String, String), String> {
        Self::platform_on(&Placement::shared(), dir, database, &[])
    }

    /// As [`Self::platform`], on the servers' CPUs of `placement`.
    /// `extra` arguments go to `mykey serve` as well.
    pub(crate) fn platform_on(
        placement: &Placement,
        dir: &std::path::Path,
        database: Option<&str>,
        extra: &[&str],
    ) -> Result<(Self, String, String, String), String> {
        let database = database.map_or_else(
            || format!("sqlite://{}", dir.join("platform.sqlite3").display()),
            str::to_owned,
        );
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--jlis-listen",
            "127.0.0.1:0",
            "--mynaportal-listen",
            "127.0.0.1:0",
            "--account-registry-listen",
            "127.0.0.1:0",
            "--database",
            &database,
        ];
        args.extend_from_slice(extra);
        args.push("--data");
        let server = Self::start_on(placement, &args, dir, "J-LIS:")?;
        let jlis = server
            .lines
            .iter()
            .filter(|l| l.contains("J-LIS:"))
            .find_map(|l| url_in(l))
            .ok_or("the platform did not say where J-LIS is")?;
        let (_, operator) = crate::serve::operator_token(dir)?;
        Ok((server, database, jlis, operator))
    }
}

/// CPU time (user + system, all threads) process `pid` has used so far.
pub(crate) fn cpu_of(pid: u32) -> Duration {
    cpu_in_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// The CPU time of every process named `postgres` on this machine (the PostgreSQL server's:
/// its postmaster, background workers and backends); zero where there is none. Backends that
/// end between two readings take their time with them, so read it around a load whose
/// connections stay open (a pool's).
pub(crate) fn postgres_cpu() -> Duration {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| cpu_in_stat(&stat))
        .sum()
}

/// The mean time of one RSA-2048 PKCS#1 v1.5 SHA-256 verification on this core: the floor of a
/// card login (the card's signature over the challenge must be verified) and of an
/// application.
pub(crate) fn rsa_verify_floor() -> Result<Duration, String> {
    let key = SigningKey::generate().map_err(|e| e.to_string())?;
    let message = [7u8; 32];
    let signature = key.sign(&message);
    let public =
        mykey_pki::RsaPublicKey::from_spki_der(key.spki_der()).map_err(|e| e.to_string())?;
    let rounds = 2000;
    let t0 = std::time::Instant::now();
    for _ in 0..rounds {
        public
            .verify(&message, &signature, mykey_pki::SignedObject::Challenge)
            .map_err(|e| e.to_string())?;
    }
    Ok(t0.elapsed() / rounds)
}

/// User + system time from a `/proc/PID/stat` line (proc(5)). The fields are taken by position
/// after the parenthesised command name: some before utime are signed (tpgid is -1 without a
/// controlling terminal), so skipping what does not parse would shift them.
fn cpu_in_stat(stat: &str) -> Duration {
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    // The first field after the name is the 3rd (state); utime and stime are the 14th and 15th.
    let field = |n: usize| -> u64 {
        rest.split_whitespace()
            .nth(n - 3)
            .and_then(|x| x.parse().ok())
            .unwrap_or(0)
    };
    // /proc reports in USER_HZ, which is 100 on Linux.
    Duration::from_millis((field(14) + field(15)) * 10)
}

/// Registers an approved relying party on the platform at `base` (operator `operator`) with a
/// PPID service and an OpenID Connect client for `redirect` allowed `scopes`, its keys `jwks`
/// if given; answers its client ID and secret.
pub(crate) async fn oidc_relying_party(
    base: &str,
    operator: &str,
    jwks: Option<serde_json::Value>,
    scopes: &[&str],
    redirect: &str,
) -> Result<(String, String), String> {
    let http = reqwest::Client::new();
    let call = |r: reqwest::RequestBuilder| async move {
        let resp = r.send().await.map_err(|e| e.to_string())?;
        let ok = resp.status().is_success();
        let v: serde_json::Value = resp.json().await.unwrap_or_default();
        if ok {
            Ok(v)
        } else {
            Err(format!("setup refused: {v}"))
        }
    };
    let mut register = serde_json::json!({"name": "Bench", "kind": "public-authority", "contact": "窓口 092-000-0000", "privacy_policy_url": "https://rp.example/privacy", "terms_url": "https://rp.example/terms"});
    if let Some(j) = jwks {
        register["jwks"] = j;
    }
    let rp = call(
        http.post(format!("{base}/v1/ops/relying-parties"))
            .bearer_auth(operator)
            .json(&register),
    )
    .await?;
    let id = rp["id"].to_string();
    let client_id = rp["client_id"].as_str().unwrap_or_default().to_owned();
    let secret = rp["client_secret"].as_str().unwrap_or_default().to_owned();
    call(
        http.post(format!("{base}/v1/ops/relying-parties/{id}/approval"))
            .bearer_auth(operator),
    )
    .await?;
    let service = call(
        http.post(format!("{base}/v1/rp/ppid-services"))
            .basic_auth(&client_id, Some(&secret))
            .json(&serde_json::json!({"name": "Bench login"})),
    )
    .await?;
    call(
        http.put(format!("{base}/v1/ops/relying-parties/{id}/oidc-client"))
            .bearer_auth(operator)
            .json(&serde_json::json!({
                "ppid_service_id": service["id"],
                "redirect_uris": [redirect],
                "scopes": scopes,
            })),
    )
    .await?;
    Ok((client_id, secret))
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn url_in(line: &str) -> Option<String> {
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .map(str::to_owned)
}

pub(crate) fn progress_bar(done: u64, total: u64, what: &str) {
    let pct = done * 100 / total.max(1);
    let bar: String = (0..40)
        .map(|i| if i * 100 / 40 < pct { '#' } else { '.' })
        .collect();
    eprint!("\r{what} [{bar}] {done}/{total}");
}

pub(crate) fn percentiles(all: &mut [u32]) -> (f64, f64) {
    all.sort_unstable();
    let at = |p: f64| {
        let i = ((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1));
        all.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    (at(0.50), at(0.99))
}

/// Issues `count` user-identification certificates for one key (J-LIS does not need distinct
/// keys, and RSA key generation is slow); returns their DER.
pub(crate) async fn certificates(
    client: &JlisClient,
    key: &SigningKey,
    count: usize,
) -> Result<Vec<Vec<u8>>, String> {
    Ok(cards(client, key, count, false)
        .await?
        .into_iter()
        .map(|(ui, _)| ui)
        .collect())
}

/// `count` cards for `key` from J-LIS: each its user-identification certificate and, with
/// `signature`, its signature certificate (DER).
pub(crate) async fn cards(
    client: &JlisClient,
    key: &SigningKey,
    count: usize,
    signature: bool,
) -> Result<Vec<(Vec<u8>, Option<Vec<u8>>)>, String> {
    let spki = B64.encode(key.spki_der());
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let issued = client
            .issue(&IssueRequest {
                name: format!("負荷\u{3000}試験{i}"),
                address: "東京都千代田区永田町一丁目".into(),
                birth_date: "1980-01-01".into(),
                sex: 9,
                user_identification_public_key: spki.clone(),
                signature_public_key: signature.then(|| spki.clone()),
            })
            .await
            .map_err(|e| e.to_string())?;
        let der = |b: Option<String>| B64.decode(b.unwrap_or_default()).map_err(|e| e.to_string());
        let ui = der(issued.user_identification_certificate)?;
        let sig = match issued.signature_certificate {
            Some(s) => Some(der(Some(s))?),
            None => None,
        };
        out.push((ui, sig));
    }
    Ok(out)
}

/// Runs `task(client, i)` from `concurrency` clients until `duration` ends; returns the latencies
/// in microseconds and the seconds it took.
pub(crate) async fn load<F, Fut>(
    concurrency: usize,
    duration: u64,
    task: F,
) -> Result<(Vec<u32>, f64), String>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let started = Instant::now();
    let deadline = started + Duration::from_secs(duration);
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let task = task.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = t;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                task(i).await?;
                latencies.push(t0.elapsed().as_micros() as u32);
                i += concurrency;
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    Ok((all, started.elapsed().as_secs_f64()))
}

async fn ocsp(a: OcspArgs) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = ChildServer::start(
        &["jlis", "serve", "--listen", "127.0.0.1:0", "--data"],
        dir.path(),
        "listening",
    )?;
    let client =
        JlisClient::new(&server.url, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let key = SigningKey::generate().map_err(|e| e.to_string())?;
    let mut serials = Vec::new();
    for der in certificates(&client, &key, a.certificates.max(1)).await? {
        let cert =
            mykey_pki::UserIdentificationCertificate::from_der(&der).map_err(|e| e.to_string())?;
        serials.push(cert.issuance_number());
    }
    let ca = client
        .ca_certificates(Purpose::UserIdentification)
        .await
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or("no CA")?;
    let url = format!("{}/ocsp/user-identification", server.url);
    // Check one answer in full before loading.
    let probe = Request::new(&ca, serials[0]).map_err(|e| e.to_string())?;
    let ocsp =
        mykey_jlis_client::OcspClient::new(Duration::from_secs(5)).map_err(|e| e.to_string())?;
    let body = ocsp.send(&url, &probe).await.map_err(|e| e.to_string())?;
    probe
        .verify_response(&body, &ca, UnixTime::now())
        .map_err(|e| e.to_string())?;

    let requests: Arc<Vec<Request>> = Arc::new(
        serials
            .iter()
            .map(|s| Request::without_nonce(&ca, *s))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?,
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    // Warm-up: one pass signs every answer once, as a responder does in its first window.
    for r in requests.iter() {
        post_ocsp(&http, &url, r.der().to_vec()).await?;
    }
    let cpu_before = server.cpu();
    let nonce = a.nonce;
    let (mut all, elapsed) = load(a.concurrency, a.duration, move |i| {
        let (http, url, requests, ca) = (http.clone(), url.clone(), requests.clone(), ca.clone());
        async move {
            let base = &requests[i % requests.len()];
            let body = if nonce {
                Request::new(&ca, base.serial())
                    .map_err(|e| e.to_string())?
                    .der()
                    .to_vec()
            } else {
                base.der().to_vec()
            };
            post_ocsp(&http, &url, body).await
        }
    })
    .await?;
    let cpu = server.cpu().saturating_sub(cpu_before);
    let (p50, p99) = percentiles(&mut all);
    let n = all.len();
    println!(
        "{}",
        serde_json::json!({
            "bench": "ocsp",
            "certificates": a.certificates,
            "concurrency": a.concurrency,
            "nonce": a.nonce,
            "duration_s": elapsed,
            "responses": n,
            "responses_per_s": n as f64 / elapsed,
            "p50_ms": p50,
            "p99_ms": p99,
            "server_cpu_us_per_response": if n > 0 { cpu.as_micros() as f64 / n as f64 } else { 0.0 },
        })
    );
    Ok(())
}

async fn post_ocsp(http: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<(), String> {
    let resp = http
        .post(url)
        .header("content-type", "application/ocsp-request")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("responder answered {}", resp.status()));
    }
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED (0 = successful), … }
    let status = match bytes.get(1) {
        Some(0x82) => bytes.get(4..7),
        Some(0x81) => bytes.get(3..6),
        _ => bytes.get(2..5),
    };
    match status {
        Some([0x0a, 0x01, 0x00]) => Ok(()),
        _ => Err("unsuccessful OCSP response".into()),
    }
}

/// Card logins against one platform for a load: login `i` answers with card `i` (of `certs`,
/// in turn), its signature made here with `key`, which every card holds.
#[derive(Clone)]
pub(crate) struct CardLogins {
    pub(crate) http: reqwest::Client,
    pub(crate) platform: String,
    pub(crate) certs: Arc<Vec<Vec<u8>>>,
    pub(crate) key: Arc<SigningKey>,
}

impl CardLogins {
    /// Login `i`, start to end.
    pub(crate) fn login(
        &self,
        i: usize,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send + use<> {
        let (http, platform, key) = (self.http.clone(), self.platform.clone(), self.key.clone());
        let cert = self.certs[i % self.certs.len()].clone();
        async move {
            crate::login::login(&http, &platform, |nonce| Ok((key.sign(nonce), cert)))
                .await
                .map(|_| ())
        }
    }
}

/// Synthetic issuance numbers start here, far from the simulator's random 63-bit ones.
const SEED_FIRST: u64 = 1 << 40;

async fn seed(database: &str, persons: u64) -> Result<(), String> {
    let started = Instant::now();
    let mut last = u64::MAX;
    mykey_store::bench::seed(database, SEED_FIRST, persons, UnixTime::now(), |done| {
        let pct = done * 100 / persons.max(1);
        if pct != last {
            last = pct;
            let bar: String = (0..40)
                .map(|i| if i * 100 / 40 < pct { '#' } else { '.' })
                .collect();
            eprint!("\rseeding [{bar}] {done}/{persons}");
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    eprintln!(
        "\rseeded {persons} people in {:.1} s{}",
        started.elapsed().as_secs_f64(),
        " ".repeat(30)
    );
    Ok(())
}

/// Card logins against `mykey serve` as the server sees them: a challenge, then a card's
/// answer. The cards' RSA signatures, which cost the client more than the server's whole login,
/// are made before the load (challenges are valid two minutes), each login answering one made
/// ahead, so that the load generator's signing neither limits the rate nor takes the server's
/// CPU; by default the two also run on separate CPUs (`--placement split`), and the floor is
/// measured on the server's.
async fn login(a: LoginArgs) -> Result<(), String> {
    let on = a.placement.place()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let database = a
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("platform.sqlite3").display()));
    if a.persons > 0 {
        seed(&database, a.persons).await?;
    }
    let (server, _, jlis_url, _) = ChildServer::platform_on(&on, dir.path(), Some(&database), &[])?;
    let client = JlisClient::new(&jlis_url, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let key = Arc::new(SigningKey::generate().map_err(|e| e.to_string())?);
    let certs = Arc::new(certificates(&client, &key, a.cards.max(1)).await?);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let base = server.url.clone();
    use crate::bench_overload::{answers, closed_loop};
    // Warm-up: every card logs in once (its person is tied, its certificate checked).
    for answer in answers(&http, &base, &key, certs.len(), certs.len()).await? {
        crate::bench_overload::login(&http, &base, &answer, &certs).await?;
    }
    let pool = Arc::new(
        answers(
            &http,
            &base,
            &key,
            certs.len(),
            a.most_per_second.max(1) * a.duration.max(1) as usize,
        )
        .await?,
    );
    // The floor — one RSA-2048 verification, the one piece of cryptography a login cannot
    // avoid — measured on the server's CPU in the same run, before and after the load.
    let floor_before = on.on_servers(rsa_verify_floor)?;
    let postgres = !database.starts_with("sqlite://");
    let (cpu_before, db_before) = (server.cpu(), postgres.then(postgres_cpu));
    let (mut all, elapsed) = closed_loop(
        &http,
        &base,
        &certs,
        pool,
        a.concurrency,
        Duration::from_secs(a.duration.max(1)),
    )
    .await?;
    let cpu = server.cpu().saturating_sub(cpu_before);
    let db_cpu = db_before.map(|b| postgres_cpu().saturating_sub(b));
    let floor = (floor_before + on.on_servers(rsa_verify_floor)?) / 2;
    let (p50, p99) = percentiles(&mut all);
    let n = all.len();
    let per = |d: Duration| {
        if n > 0 {
            d.as_micros() as f64 / n as f64
        } else {
            0.0
        }
    };
    let floor_us = floor.as_secs_f64() * 1e6;
    println!(
        "{}",
        serde_json::json!({
            "bench": "login",
            "placement": on.describe(),
            "database": if database.starts_with("sqlite://") { "sqlite" } else { "postgres" },
            "persons": a.persons,
            "cards": a.cards,
            "concurrency": a.concurrency,
            "duration_s": elapsed,
            "logins": n,
            "logins_per_s": n as f64 / elapsed,
            "p50_ms": p50,
            "p99_ms": p99,
            "server_cpu_us_per_login": per(cpu),
            "rsa2048_verify_floor_us": floor_us,
            "server_cpu_over_floor": per(cpu) / floor_us,
            "target_over_floor": if postgres { 8.0 } else { 6.0 },
            "database_cpu_us_per_login": db_cpu.map(per),
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_of_a_sorted_sample() {
        let mut v: Vec<u32> = (1..=100).rev().map(|x| x * 1000).collect();
        assert_eq!(super::percentiles(&mut v), (51.0, 100.0));
        assert_eq!(super::percentiles(&mut []), (0.0, 0.0));
    }

    #[test]
    fn cpu_time_is_read_by_position_past_signed_fields_and_odd_names() {
        use std::time::Duration;
        // A process without a controlling terminal (tpgid -1) whose name has a space and a
        // parenthesis; utime 1234 and stime 56 ticks, cutime 7 and cstime 8 not counted.
        let stat = "4242 (my (odd) server) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 56 7 8 20 0 \
                    3 0 133315 3133440 383 18446744073709551615";
        assert_eq!(super::cpu_in_stat(stat), Duration::from_millis(12_900));
        assert_eq!(super::cpu_in_stat(""), Duration::ZERO);
    }
}
