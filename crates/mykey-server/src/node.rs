//! One node of the platform, assembled in one place for `mykey serve` and the tests alike: the
//! port to J-LIS, the platform over a store, its router, and its background work.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use mykey_platform::{Clock, Platform, PlatformConfig, Rng, Store};
use tokio::task::JoinHandle;

use crate::{Deliverer, JlisPort, Leases, Work};

/// What a node needs besides its store and clock.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// J-LIS's base URL.
    pub jlis_url: String,
    /// The limit on each call to J-LIS.
    pub jlis_timeout: Duration,
    /// How often the CRLs are read: the revocation index and the facts sweep.
    pub crl_refresh: Duration,
    /// How long past the 60 s bound the index answers while J-LIS cannot be reached (zero:
    /// logins fail closed; [`JlisPort::set_outage_grace`]).
    pub jlis_outage_grace: Duration,
    /// The limit on each push of an event to a relying party.
    pub push_timeout: Duration,
    /// Mynaportal's base URL (the health-insurance points, Art 24); `None`: not offered.
    pub mynaportal_url: Option<String>,
    /// The public-fund account registry's base URL (Art 25); `None`: not offered.
    pub account_registry_url: Option<String>,
    /// How often awaiting registrations are asked about again.
    pub trigger_sweep: Duration,
    /// The node's name in logs, metrics and leases (`mykey serve --node-id`).
    pub node_id: String,
    /// The platform's own configuration.
    pub platform: PlatformConfig,
}

impl NodeConfig {
    /// J-LIS at `jlis_url` with the defaults `mykey serve` uses: 5 s per call, CRLs read every
    /// 20 s, 10 s per push.
    pub fn new(jlis_url: impl Into<String>, platform: PlatformConfig) -> Self {
        Self {
            jlis_url: jlis_url.into(),
            jlis_timeout: Duration::from_secs(5),
            crl_refresh: Duration::from_secs(20),
            jlis_outage_grace: Duration::ZERO,
            push_timeout: Duration::from_secs(10),
            mynaportal_url: None,
            account_registry_url: None,
            trigger_sweep: Duration::from_secs(300),
            node_id: "node".into(),
            platform,
        }
    }
}

/// A node: the platform and its port to J-LIS, ready to serve.
#[derive(Debug)]
pub struct Node {
    /// The platform.
    pub platform: Arc<Platform>,
    /// Its port to J-LIS.
    pub port: Arc<JlisPort>,
    /// How many receivers' headers an earlier version stored in the clear were sealed at
    /// assembly.
    pub sealed_headers: u64,
    crl_refresh: Duration,
    push_timeout: Duration,
    trigger_sweep: Duration,
    /// What every router of this node counts into (`/metrics`).
    metrics: Arc<crate::http::metrics::Metrics>,
    /// The leases of its background work.
    pub leases: Arc<Leases>,
}

impl Node {
    /// Connects to J-LIS (its CA list and CRLs), builds the platform over `store` — reading
    /// time from `clock`, drawing secrets from `rng` — trusting the CAs J-LIS serves, and seals
    /// any receivers' headers an earlier version kept in the clear.
    pub async fn assemble(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        config: NodeConfig,
    ) -> Result<Self, String> {
        let store_for_leases = store.clone();
        let tag = rng.bytes::<6>();
        let port = Arc::new(
            JlisPort::connect(&config.jlis_url, config.jlis_timeout, clock.clone())
                .await
                .map_err(|e| format!("cannot reach J-LIS at {}: {e}", config.jlis_url))?,
        );
        port.set_outage_grace(config.jlis_outage_grace.as_secs());
        let mut platform = Platform::new(
            store,
            port.clone(),
            clock,
            rng,
            port.anchors(),
            config.platform,
        );
        if config.mynaportal_url.is_some() || config.account_registry_url.is_some() {
            platform = platform.with_point_registries(Arc::new(crate::RegistryClient::new(
                config.mynaportal_url.as_deref(),
                config.account_registry_url.as_deref(),
                config.jlis_timeout,
            )?));
        }
        let platform = Arc::new(platform);
        let leases = Arc::new(Leases::new(store_for_leases, config.node_id.clone(), tag));
        let sealed_headers = platform
            .seal_stored_headers()
            .await
            .map_err(|e| format!("cannot seal the stored authorization headers: {e}"))?;
        Ok(Self {
            platform,
            port,
            sealed_headers,
            crl_refresh: config.crl_refresh,
            push_timeout: config.push_timeout,
            trigger_sweep: config.trigger_sweep,
            metrics: Arc::new(crate::http::metrics::Metrics::for_node(leases.clone())),
            leases,
        })
    }

    /// The router serving the platform (see [`crate::app`]); every router of a node counts
    /// into the same metrics.
    pub fn router(&self) -> Router {
        crate::http::app_counted(self.platform.clone(), self.metrics.clone())
    }

    /// Starts the node's background work: the CRL refresh (whose revocations end the sessions
    /// and tokens made before them) on every node; and, each while this node holds its lease
    /// ([`crate::leases`]), the minutely purge of what expired, the facts sweep of the
    /// signature CAs' CRLs (Art 17.2.2), the push delivery of events (RFC 8935), and the sweep
    /// of card-point registrations awaited. It stops when the returned [`Background`] is
    /// dropped, or given up with [`Background::stop`], which also gives the leases up.
    pub fn start_background(&self) -> Result<Background, String> {
        let leases = self.leases.clone();
        let deliverer =
            Deliverer::leased(self.platform.clone(), self.push_timeout, leases.clone())?;
        let (port, platform, every) = (self.port.clone(), self.platform.clone(), self.crl_refresh);
        let triggers = self.trigger_sweep.max(Duration::from_secs(1));
        Ok(Background {
            tasks: vec![
                tokio::spawn(leases.clone().keep()),
                tokio::spawn(
                    self.port
                        .clone()
                        .run_refresher(self.platform.clone(), self.crl_refresh),
                ),
                tokio::spawn(leased(
                    leases.clone(),
                    Work::Purge,
                    Duration::from_secs(60),
                    {
                        let platform = self.platform.clone();
                        move || {
                            let platform = platform.clone();
                            async move { purge(&platform).await }
                        }
                    },
                )),
                tokio::spawn(leased(leases.clone(), Work::FactsSweep, every, move || {
                    let (port, platform) = (port.clone(), platform.clone());
                    async move {
                        port.sweep_facts(&platform).await;
                    }
                })),
                tokio::spawn(leased(
                    leases.clone(),
                    Work::EventPush,
                    Duration::from_secs(1),
                    move || {
                        let deliverer = deliverer.clone();
                        async move {
                            deliverer.round().await;
                        }
                    },
                )),
                tokio::spawn(leased(leases.clone(), Work::PointTriggers, triggers, {
                    let platform = self.platform.clone();
                    move || {
                        let platform = platform.clone();
                        async move { sweep_triggers(&platform, triggers).await }
                    }
                })),
            ],
            leases,
        })
    }
}

/// Does `work` every `every` while this node holds its lease; asks again each second while
/// it does not, so that the work moves here soon after its node dies.
async fn leased<F, Fut>(leases: Arc<Leases>, lease: Work, every: Duration, work: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        if leases.holds(lease) {
            work().await;
            tokio::time::sleep(every).await;
        } else {
            tokio::time::sleep(every.min(Duration::from_secs(1))).await;
        }
    }
}

/// A node's background tasks; dropping it stops them.
#[derive(Debug)]
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
    leases: Arc<Leases>,
}

impl Background {
    /// Stops the tasks and gives this node's leases up, so that another node takes the work
    /// over at once rather than when the leases run out.
    pub async fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.leases.release().await;
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Asks Mynaportal and the account registry again about the card-point registrations still
/// awaited (`mykey_platform` `points/triggers.rs`) not asked about for `every`.
async fn sweep_triggers(platform: &Platform, every: Duration) {
    match platform.sweep_point_triggers(every.as_secs()).await {
        Ok(s) if s.unavailable > 0 => {
            tracing::warn!(unavailable = s.unavailable, "a registry could not be asked")
        }
        Ok(s) => tracing::debug!(
            checked = s.checked,
            registered = s.registered,
            "triggers swept"
        ),
        Err(e) => tracing::warn!(error = %e, "sweeping the card-point triggers failed"),
    }
}

/// Forgets spent nonces, sessions and one-time codes once they have expired; carries out the
/// end of the system once its date has come.
async fn purge(platform: &Platform) {
    match platform.purge_expired().await {
        Ok(gone) => tracing::debug!(gone, "expired rows purged"),
        // The store logged the detail; the next minute tries again.
        Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
    }
    // The end of the system, once its date has come (Art 10, 27.1.3).
    match platform.carry_out_termination().await {
        Ok(0) => {}
        Ok(people) => {
            tracing::info!(people, "the end of the system: card-point rights forfeited")
        }
        Err(e) => tracing::warn!(error = %e, "carrying out the end of the system failed"),
    }
}
