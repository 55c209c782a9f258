//! `mykey serve`: the platform, on SQLite under `./mykey-data` with the J-LIS simulator in the
//! same process unless `--jlis-url` names another J-LIS.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use mykey_platform::{PlatformConfig, SystemClock, SystemRng};
use mykey_server::{Node, NodeConfig};

use crate::jlis::shutdown_signal;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address the platform listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// This node's name in logs, metrics and the leases of background work, where several
    /// nodes share one database: 1 to 64 of A-Z a-z 0-9 . _ - (default: the host's name and
    /// the process ID). Two nodes must not share one.
    #[arg(long, env = "MYKEY_NODE_ID")]
    node_id: Option<String>,
    /// Folder for everything kept on disk.
    #[arg(long, default_value = "./mykey-data")]
    data: PathBuf,
    /// Database URL: sqlite://PATH or postgres://… (default: SQLite under --data).
    #[arg(long, env = "MYKEY_DATABASE_URL")]
    database: Option<String>,
    /// An external J-LIS; without it the simulator runs in this process.
    #[arg(long, env = "MYKEY_JLIS_URL")]
    jlis_url: Option<String>,
    /// Where the in-process J-LIS simulator listens.
    #[arg(long, default_value = "127.0.0.1:8081")]
    jlis_listen: String,
    /// Mynaportal (the health-insurance card points, Terms Art 24); without it the simulator
    /// runs in this process.
    #[arg(long, env = "MYKEY_MYNAPORTAL_URL")]
    mynaportal_url: Option<String>,
    /// Where the in-process Mynaportal simulator listens.
    #[arg(long, default_value = "127.0.0.1:8082")]
    mynaportal_listen: String,
    /// The public-fund account registry (Art 25); without it the simulator runs in this process.
    #[arg(long, env = "MYKEY_ACCOUNT_REGISTRY_URL")]
    account_registry_url: Option<String>,
    /// Where the in-process account-registry simulator listens.
    #[arg(long, default_value = "127.0.0.1:8083")]
    account_registry_listen: String,
    /// Seconds between questions to Mynaportal and the account registry about the card-point
    /// registrations still awaited.
    #[arg(long, default_value_t = 300)]
    trigger_sweep: u64,
    /// Seconds any call to J-LIS (or Mynaportal, or the account registry) may take.
    #[arg(long, default_value_t = 5)]
    jlis_timeout: u64,
    /// The platform's public base URL, as relying parties reach it (the OAuth issuer); default
    /// `http://` (with `--tls-cert`, `https://`) and the address it listens on.
    #[arg(long, env = "MYKEY_ISSUER")]
    issuer: Option<String>,
    /// Seconds between revocation-index refreshes from J-LIS's CRLs (and facts-change sweeps).
    /// A login relies on no revocation status older than 60 s: an index older than that gives
    /// way to OCSP (with the simulator's 30 s deltas read every 20 s, it never is).
    #[arg(long, default_value_t = 20)]
    crl_refresh: u64,
    /// Seconds past that 60 s bound during which, while J-LIS cannot be reached at all (no CRL,
    /// no OCSP answer), logins are still checked against the index as of its newest CRL —
    /// blind to revocations since. 0 (the default): logins fail closed after 60 s without
    /// J-LIS. For a long outage, by the operator's decision (docs/operations.md).
    #[arg(long, env = "MYKEY_JLIS_OUTAGE_GRACE", default_value_t = 0)]
    jlis_outage_grace: u64,
    /// Development only: let relying parties' push endpoints be http and on loopback or private
    /// addresses (otherwise https on the public Internet only).
    #[arg(long, env = "MYKEY_ALLOW_PRIVATE_PUSH")]
    allow_private_push: bool,
    /// Days after a card's user-identification certificate expires, without a renewal, before
    /// its holder's My Key ID and Service IDs end (Terms Art 15.3). A revocation for any reason
    /// but a renewal ends them at once.
    #[arg(long, default_value_t = 90)]
    card_expiry_grace_days: u64,
    /// Operator policy: let business relying parties register PPID services and ask for the
    /// four facts. The Terms give both to public authorities (Art 19, 20); off by default.
    #[arg(long)]
    ppid_for_businesses: bool,
    /// Connections at once from one address (IPv6: one /64); more are closed at once.
    #[arg(long, default_value_t = 256)]
    max_connections_per_source: usize,
    /// Connections at once in all (below the process's file-descriptor limit).
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Requests handled at once (Art 9.2); one more is refused at once with 503 and
    /// Retry-After rather than queued.
    #[arg(long, default_value_t = 1024)]
    max_in_flight: usize,
    /// Serve TLS (HTTP/2 and HTTP/1.1) with this certificate chain (PEM, leaf first), where no
    /// reverse proxy terminates TLS; with `--tls-key`. Read again when the file changes.
    #[arg(long, requires = "tls_key", env = "MYKEY_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC 1); with `--tls-cert`.
    #[arg(long, requires = "tls_cert", env = "MYKEY_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Seconds between looks at the certificate and key files for a change.
    #[arg(long, default_value_t = 10)]
    tls_reload_secs: u64,
    /// Requests a second one source address (IPv6: one /64) may make, with bursts of twice
    /// that; past it, 429 with Retry-After. 0: no limit.
    #[arg(long, default_value_t = 0.0)]
    rate_per_source: f64,
    /// Requests a second one client (its Basic client_id, else its bearer token) may make, with
    /// bursts of twice that. 0: no limit.
    #[arg(long, default_value_t = 0.0)]
    rate_per_client: f64,
    /// A reverse proxy whose X-Forwarded-For is believed (an address or a network, e.g.
    /// 10.0.0.0/8; repeat for more). Requests from any other peer are taken as the peer's.
    #[arg(long = "trusted-proxy", value_name = "NETWORK")]
    trusted_proxies: Vec<mykey_server::Network>,
}

/// A registry: its URL, and the simulator if it runs in this process.
type Registry = (String, Option<crate::registries::Started>);

fn in_process(r: &Option<crate::registries::Started>) -> &'static str {
    if r.is_some() {
        " (simulator, in this process)"
    } else {
        ""
    }
}

/// Mynaportal and the account registry: at the URLs given, or simulated in this process.
async fn registries(a: &ServeArgs) -> Result<(Registry, Registry), String> {
    use crate::registries::{Which, start};
    let one = async |url: &Option<String>, listen: &str, which| -> Result<Registry, String> {
        Ok(match url {
            Some(url) => (url.clone(), None),
            None => {
                let s = start(&a.data, listen, which).await?;
                (s.url.clone(), Some(s))
            }
        })
    };
    Ok((
        one(&a.mynaportal_url, &a.mynaportal_listen, Which::Mynaportal).await?,
        one(
            &a.account_registry_url,
            &a.account_registry_listen,
            Which::AccountRegistry,
        )
        .await?,
    ))
}

pub(crate) async fn run(a: ServeArgs) -> Result<(), String> {
    let node_id = a.node_id.clone().unwrap_or_else(default_node_id);
    mykey_server::check_node_id(&node_id).map_err(|e| format!("--node-id: {e}"))?;
    crate::logging::name_node(&node_id);
    crate::files::private_folder(&a.data)?;
    let _held = crate::files::lock_folder(&a.data, "mykey serve")?;
    let (jlis_url, simulator, _jlis_held) = match a.jlis_url.clone() {
        Some(url) => (url, None, None),
        None => {
            crate::files::private_folder(&a.data.join("jlis"))?;
            let held = crate::files::lock_folder(&a.data.join("jlis"), "J-LIS simulator")?;
            let listener = tokio::net::TcpListener::bind(&a.jlis_listen)
                .await
                .map_err(|e| {
                    format!(
                        "cannot listen on {} for the J-LIS simulator: {e} (--jlis-listen picks another address)",
                        a.jlis_listen
                    )
                })?;
            let url = format!(
                "http://{}",
                listener.local_addr().map_err(|e| e.to_string())?
            );
            let mut config = mykey_jlis::Config::new(a.data.join("jlis"), &url);
            // Deltas every 30 s, read every 20 s (--crl-refresh): the revocation index stays
            // within the 60 s bound (at most 50 s old), so logins need no OCSP.
            config.delta_crl_period = 30;
            let jlis = mykey_jlis::Jlis::open(config, Arc::new(mykey_jlis::SystemClock))
                .await
                .map_err(|e| e.to_string())?;
            let task = tokio::spawn(mykey_jlis::serve(jlis, listener, std::future::pending()));
            (url, Some(task), Some(held))
        }
    };
    let (mynaportal, account_registry) = registries(&a).await?;
    let database = a
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", a.data.join("platform.sqlite3").display()));
    let store = mykey_store::open(&database)
        .await
        .map_err(|e| e.to_string())?;
    // The pair is read (and checked to fit) before anything listens.
    let certificates = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => {
            Some(mykey_server::Certificates::open(mykey_server::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })?)
        }
        _ => None,
    };
    let scheme = if certificates.is_some() {
        "https"
    } else {
        "http"
    };
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (--listen picks another address)",
                a.listen
            )
        })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // A node refused here leaves its folder as it found it. A folder without a secrets.key
    // joining a database that already keeps the platform's secrets is refused before a key is
    // made (a new one could never open them); the operator and metrics tokens are made only once
    // the node is admitted. (A key made here is never removed again: the database may already
    // keep secrets sealed with it.)
    if !a.data.join("secrets.key").exists()
        && !store
            .cluster_secrets()
            .await
            .map_err(|e| e.to_string())?
            .is_empty()
    {
        return Err(format!(
            "{} is missing, and a new one does not open the platform's secrets kept in its \
             database: every node of a platform needs the same secrets.key — copy it from a node \
             that serves, or point this node at its own database",
            a.data.join("secrets.key").display()
        ));
    }
    let sealing = crate::secrets::sealing_key(&a.data)?;
    let secrets =
        crate::secrets::cluster(&a.data, &*store, &sealing, mykey_pki::UnixTime::now()).await?;
    let (token_source, token) = operator_token(&a.data)?;
    let (metrics_source, metrics) = secret_token(&a.data, "MYKEY_METRICS_TOKEN", "metrics-token")?;
    let config = PlatformConfig {
        issuer: a.issuer.clone().map_or_else(
            || format!("{scheme}://{addr}"),
            |i| i.trim_end_matches('/').to_owned(),
        ),
        operator_token_hash: Some(PlatformConfig::hash_operator_token(&token)),
        metrics_token_hash: Some(PlatformConfig::hash_operator_token(&metrics)),
        challenge_secret: Some(secrets.challenge),
        ppid_key: Some(secrets.ppid),
        signing_key: Some(secrets.keys.signing.clone()),
        previous_signing_keys: secrets.keys.previous_signing.clone(),
        rsa_signing_key: secrets.keys.rsa.clone(),
        previous_rsa_signing_keys: secrets.keys.previous_rsa.clone(),
        sealing_key: Some(sealing.clone()),
        push_to_private_addresses: a.allow_private_push,
        card_expiry_grace: Duration::from_secs(a.card_expiry_grace_days.saturating_mul(86_400)),
        ppid_for_businesses: a.ppid_for_businesses,
        ..PlatformConfig::default()
    };
    let mut node_config = NodeConfig::new(jlis_url.clone(), config);
    node_config.jlis_timeout = Duration::from_secs(a.jlis_timeout.max(1));
    node_config.crl_refresh = Duration::from_secs(a.crl_refresh.max(1));
    node_config.jlis_outage_grace = Duration::from_secs(a.jlis_outage_grace);
    // A node that may answer logins through an outage stays ready as long as it may.
    node_config.platform.ready_index_age =
        node_config
            .platform
            .ready_index_age
            .max(Duration::from_secs(
                mykey_server::MAX_STATUS_AGE.saturating_add(a.jlis_outage_grace),
            ));
    node_config.mynaportal_url = Some(mynaportal.0.clone());
    node_config.account_registry_url = Some(account_registry.0.clone());
    node_config.trigger_sweep = Duration::from_secs(a.trigger_sweep.max(1));
    node_config.node_id = node_id.clone();
    let store_for_keys = store.clone();
    let node = Node::assemble(
        store,
        Arc::new(SystemClock),
        Arc::new(SystemRng),
        node_config,
    )
    .await?;
    if node.sealed_headers > 0 {
        crate::say(&format!(
            "sealed {} receiver authorization header(s) stored in the clear by an earlier version",
            node.sealed_headers
        ));
    }
    // Keys published ahead by a rotation under way, and later rotations, are taken up.
    node.platform.replace_signing_keys(secrets.keys);
    let reload = tokio::spawn(crate::secrets::reload_every(
        store_for_keys,
        sealing,
        a.data.clone(),
        node.platform.clone(),
    ));
    let background = node.start_background()?;
    let shown_db = if database.starts_with("sqlite://") {
        database.clone()
    } else {
        "PostgreSQL".to_owned()
    };
    crate::say(&format!(
        "MyKey Platform listening on {scheme}://{addr}\n  API:       {scheme}://{addr}/v1/openapi.json\n  operator:  token in {token_source}\n  metrics:   {scheme}://{addr}/metrics (Bearer token in {metrics_source})\n  database:  {shown_db}\n  node:      {node_id}\n  J-LIS:     {jlis_url}{}\n  Mynaportal: {}{}\n  account registry: {}{}",
        if simulator.is_some() {
            " (simulator, in this process)"
        } else {
            ""
        },
        mynaportal.0,
        in_process(&mynaportal.1),
        account_registry.0,
        in_process(&account_registry.1),
    ));
    // With time limits for slow clients and a cap on connections per source (the peer's
    // address also serves the short-code guessing budget).
    let limits = mykey_server::Limits {
        per_source: a.max_connections_per_source.max(1),
        total: a.max_connections.max(1),
        in_flight: a.max_in_flight.max(1),
        rates: mykey_server::RateLimits {
            per_source: rate(a.rate_per_source),
            per_client: rate(a.rate_per_client),
            trusted_proxies: a.trusted_proxies.clone(),
        },
        ..mykey_server::Limits::default()
    };
    let result = match certificates {
        Some(c) => {
            let reload = tokio::spawn(
                c.clone()
                    .reload_every(Duration::from_secs(a.tls_reload_secs.max(1))),
            );
            let r = mykey_server::serve_tls(listener, node.router(), limits, c, shutdown_signal())
                .await;
            reload.abort();
            r
        }
        None => mykey_server::serve(listener, node.router(), limits, shutdown_signal()).await,
    };
    reload.abort();
    background.stop().await;
    if let Some(t) = simulator {
        t.abort();
    }
    result.map_err(|e| e.to_string())
}

/// A node's name when none is given: the host's name (as far as it is plain) and the process
/// ID, so that two nodes on one host differ.
fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(48)
        .collect();
    let host = if host.is_empty() { "node".into() } else { host };
    format!("{host}-{}", std::process::id())
}

/// A rate of `per_second` with bursts of twice that; none for 0 (or anything not above 0).
fn rate(per_second: f64) -> Option<mykey_server::Rate> {
    (per_second > 0.0 && per_second.is_finite()).then(|| mykey_server::Rate {
        per_second,
        burst: (per_second * 2.0).max(1.0),
    })
}

/// The operator's bearer token: `MYKEY_OPERATOR_TOKEN`, else the file `operator-token` in the
/// data folder, created (256 random bits, mode 0600) on first start. Returns where it came from.
pub(crate) fn operator_token(data: &Path) -> Result<(String, String), String> {
    secret_token(data, "MYKEY_OPERATOR_TOKEN", "operator-token")
}

/// A bearer token: the environment variable `var`, else the file `file` in the data folder,
/// created (256 random bits, mode 0600) on first start. Returns where it came from.
pub(crate) fn secret_token(data: &Path, var: &str, file: &str) -> Result<(String, String), String> {
    if let Ok(t) = std::env::var(var) {
        if t.len() < 22 {
            return Err(format!(
                "{var} must be a random token of at least 128 bits (22+ characters)"
            ));
        }
        return Ok((var.into(), t));
    }
    let path = data.join(file);
    match std::fs::read_to_string(&path) {
        Ok(t) if t.trim().len() >= 22 => Ok((path.display().to_string(), t.trim().to_owned())),
        Ok(t) if !t.trim().is_empty() => Err(format!(
            "{} must hold a random token of at least 128 bits (22+ characters); delete it to have one made",
            path.display()
        )),
        _ => {
            use base64::Engine;
            let mut b = [0u8; 32];
            aws_lc_rs::rand::fill(&mut b).map_err(|_| "no system randomness")?;
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
            crate::files::write_atomic(&path, token.as_bytes(), 0o600)?;
            Ok((path.display().to_string(), token))
        }
    }
}
