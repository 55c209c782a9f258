//! Pushing events to relying parties (RFC 8935): each due stream gets its own task, which sends
//! the oldest pending SET, then the next, until none waits or one fails; a slow or failing
//! receiver holds up only its own stream (every push has a time limit), never the platform's
//! other work. What a push came to is recorded by the platform, which sets the back-off.
//!
//! A relying party names the URL, so every push is held to the public Internet: the endpoint is
//! checked again before each push (`https`, no credentials, an address given as such public),
//! the host's name is resolved by [`PublicOnly`], which gives the connection only public
//! addresses (so a name that resolves to loopback, a private network or the cloud's metadata
//! service is never connected to, whenever its DNS changes), no proxy from the environment is
//! used, and redirects are not followed. What the relying party sees of a failure is only
//! that it was not delivered, never what answered (no port or service oracle).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use mykey_platform::{Platform, PushOutcome, RelyingPartyId};
use parking_lot::Mutex;
use tokio::task::JoinHandle;

/// What a relying party is told of a push that did not get through, whatever the cause.
const NOT_DELIVERED: &str = "not delivered: no 202 from the endpoint in time (it is retried)";

/// A resolver that gives a push's connection only public addresses of the name
/// ([`mykey_platform::is_public_address`]; all, under the development setting).
#[derive(Debug)]
pub(crate) struct PublicOnly {
    /// [`mykey_platform::PlatformConfig::push_to_private_addresses`].
    pub(crate) private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let private = self.private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = public_addresses(&host, private).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The addresses `host` resolves to that a push may connect to; an error when there are none.
async fn public_addresses(
    host: &str,
    private: bool,
) -> Result<Vec<std::net::SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let all: Vec<_> = tokio::net::lookup_host((host, 0)).await?.collect();
    let allowed: Vec<_> = all
        .iter()
        .copied()
        .filter(|a| private || mykey_platform::is_public_address(a.ip()))
        .collect();
    if allowed.is_empty() {
        return Err(format!("{host} has no public address").into());
    }
    Ok(allowed)
}

/// Most SETs one task pushes before it makes way (the next round picks the stream up again).
const PER_TASK: usize = 100;

/// The push deliverer: one per platform process.
#[derive(Debug)]
pub struct Deliverer {
    platform: Arc<Platform>,
    http: reqwest::Client,
    busy: Mutex<HashSet<i64>>,
    /// The node's leases, where it shares the work with others: each push is made only while
    /// it holds `event-push`.
    leases: Option<Arc<crate::Leases>>,
}

impl Deliverer {
    /// A deliverer whose pushes each take at most `timeout`.
    pub fn new(platform: Arc<Platform>, timeout: Duration) -> Result<Arc<Self>, String> {
        Self::with_leases(platform, timeout, None)
    }

    /// A deliverer of node `leases.node()`, which pushes only while that node holds the
    /// `event-push` lease: a node that loses it stops between two pushes.
    pub fn leased(
        platform: Arc<Platform>,
        timeout: Duration,
        leases: Arc<crate::Leases>,
    ) -> Result<Arc<Self>, String> {
        Self::with_leases(platform, timeout, Some(leases))
    }

    fn with_leases(
        platform: Arc<Platform>,
        timeout: Duration,
        leases: Option<Arc<crate::Leases>>,
    ) -> Result<Arc<Self>, String> {
        let private = platform.pushes_to_private_addresses();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A receiver's redirect is not followed: the SET goes where it was configured.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly { private }))
            .build()
            .map_err(|e| format!("cannot build the push client: {e}"))?;
        Ok(Arc::new(Self {
            platform,
            http,
            busy: Mutex::new(HashSet::new()),
            leases,
        }))
    }

    /// Whether this node may push now.
    fn may_push(&self) -> bool {
        self.leases
            .as_ref()
            .is_none_or(|l| l.holds(crate::Work::EventPush))
    }

    /// Starts a task for every due stream not already being served; answers their handles.
    pub async fn round(self: &Arc<Self>) -> Vec<JoinHandle<()>> {
        // Pushing is part of the events function: a maintenance window that takes it down
        // holds the pushes until it ends (polling answers 503 meanwhile).
        if self
            .platform
            .under_maintenance(mykey_platform::Function::Events)
            .await
            .is_err()
        {
            return Vec::new();
        }
        let due = match self.platform.due_streams().await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list due streams");
                return Vec::new();
            }
        };
        let mut tasks = Vec::new();
        for rp in due {
            if !self.busy.lock().insert(rp.get()) {
                continue;
            }
            let me = self.clone();
            tasks.push(tokio::spawn(async move {
                me.serve(rp).await;
                me.busy.lock().remove(&rp.get());
            }));
        }
        tasks
    }

    /// Rounds every `every` until the task is dropped.
    pub async fn run(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.round().await;
        }
    }

    async fn serve(&self, rp: RelyingPartyId) {
        for _ in 0..PER_TASK {
            if !self.may_push() {
                return;
            }
            let push = match self.platform.next_push(rp).await {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(relying_party = rp.get(), error = %e, "cannot prepare a push");
                    return;
                }
            };
            let outcome = self.push(&push).await;
            let failed = matches!(outcome, PushOutcome::Failed(_));
            if let Err(e) = self.platform.record_push(rp, &push.jti, &outcome).await {
                tracing::warn!(relying_party = rp.get(), error = %e, "cannot record a push");
                return;
            }
            if failed {
                return;
            }
        }
    }

    async fn push(&self, push: &mykey_platform::Push) -> PushOutcome {
        // Checked again: stored before the rules of this version, or by an earlier setting.
        if mykey_platform::check_endpoint(
            &push.endpoint_url,
            self.platform.pushes_to_private_addresses(),
        )
        .is_err()
        {
            return PushOutcome::Failed(NOT_DELIVERED.into());
        }
        let mut req = self
            .http
            .post(&push.endpoint_url)
            .header("content-type", "application/secevent+jwt")
            .header("accept", "application/json")
            .body(push.set.clone());
        if let Some(h) = &push.authorization_header {
            req = req.header("authorization", h);
        }
        match req.send().await {
            Ok(r) if r.status().as_u16() == 202 => PushOutcome::Delivered,
            // RFC 8935 §2.3's reason stays with the receiver (its own logs): echoing what
            // answered would tell the relying party about whatever it pointed the platform at.
            Ok(r) if r.status().as_u16() == 400 => PushOutcome::Refused("HTTP 400".into()),
            Ok(_) | Err(_) => PushOutcome::Failed(NOT_DELIVERED.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::dns::Resolve;

    use super::*;

    /// Issue 19, finding 3: a name is checked on every connection, not only when the endpoint
    /// is registered: one that resolves only to loopback gives the push nowhere to connect.
    #[tokio::test]
    async fn a_push_connects_only_to_public_addresses_of_a_name() {
        let refused = PublicOnly { private: false }
            .resolve("localhost".parse().expect("a name"))
            .await;
        assert!(refused.is_err());
        let allowed = PublicOnly { private: true }
            .resolve("localhost".parse().expect("a name"))
            .await
            .expect("resolves");
        assert!(allowed.into_iter().all(|a| a.ip().is_loopback()));
    }
}
