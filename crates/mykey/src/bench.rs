//! `mykey bench …`: load generators that print one JSON line of figures. Servers run as child
//! processes so that their CPU time is measured apart from the load generator's.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use clap::{Args, Subcommand};
use mykey_jlis::JlisClient;
use mykey_jlis::api::IssueRequest;
use mykey_pki::issue::SigningKey;
use mykey_pki::ocsp::Request;
use mykey_pki::{IssuanceNumber, Purpose, UnixTime};

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// The J-LIS simulator's OCSP responder under concurrent load.
    Ocsp(OcspArgs),
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

pub(crate) async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Ocsp(a) => ocsp(a).await,
    }
}

/// A child `mykey jlis serve` on a free port with a fresh data folder; killed on drop.
struct JlisProcess {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl JlisProcess {
    fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args(["jlis", "serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .env("MYKEY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the simulator: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut first = String::new();
        let mut reader = BufReader::new(stdout);
        reader.read_line(&mut first).map_err(|e| e.to_string())?;
        // Keep draining so the child never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .ok_or_else(|| format!("simulator did not say where it listens: {first:?}"))?
            .to_owned();
        Ok(Self {
            child,
            url,
            _dir: dir,
        })
    }

    /// CPU time (user + system) the process has used so far.
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        // /proc reports in USER_HZ, which is 100 on Linux.
        let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
        Duration::from_millis(ticks * 10)
    }
}

impl Drop for JlisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn ocsp(a: OcspArgs) -> Result<(), String> {
    let server = JlisProcess::start()?;
    let client = JlisClient::new(&server.url, Duration::from_secs(30));
    // One key for every certificate: the responder does not care, and RSA key generation is slow.
    let key = SigningKey::generate().map_err(|e| e.to_string())?;
    let spki = base64::engine::general_purpose::STANDARD.encode(key.spki_der());
    let mut serials = Vec::with_capacity(a.certificates);
    for i in 0..a.certificates {
        let issued = client
            .issue(&IssueRequest {
                name: format!("負荷\u{3000}試験{i}"),
                address: "東京都千代田区永田町一丁目".into(),
                birth_date: "1980-01-01".into(),
                sex: 9,
                user_identification_public_key: spki.clone(),
                signature_public_key: None,
            })
            .await
            .map_err(|e| e.to_string())?;
        serials.push(
            issued
                .issuance_number
                .parse::<IssuanceNumber>()
                .map_err(|e| e.to_string())?,
        );
    }
    let ca = client
        .ca_certificates(Purpose::UserIdentification)
        .await
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or("no CA")?;
    let url = format!("{}/ocsp/user-identification", server.url);
    // Check the first answer in full before loading.
    let probe = Request::new(&ca, serials[0]).map_err(|e| e.to_string())?;
    let ocsp = mykey_pki::ocsp::OcspClient::new(Duration::from_secs(5));
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
        post(&http, &url, r.der().to_vec()).await?;
    }
    let cpu_before = server.cpu();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.duration);
    let mut tasks = Vec::new();
    for t in 0..a.concurrency {
        let (http, url, requests, ca) = (http.clone(), url.clone(), requests.clone(), ca.clone());
        let nonce = a.nonce;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = t;
            while Instant::now() < deadline {
                let base = &requests[i % requests.len()];
                i += 1;
                let body = if nonce {
                    Request::new(&ca, base.serial())
                        .map_err(|e| e.to_string())?
                        .der()
                        .to_vec()
                } else {
                    base.der().to_vec()
                };
                let t0 = Instant::now();
                post(&http, &url, body).await?;
                latencies.push(t0.elapsed().as_micros() as u32);
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.cpu().saturating_sub(cpu_before);
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
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
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "server_cpu_us_per_response": if n > 0 { cpu.as_micros() as f64 / n as f64 } else { 0.0 },
        })
    );
    Ok(())
}

async fn post(http: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<(), String> {
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
