//! Readiness (`/health/ready`): whether this node should be sent requests — its database
//! answers and its revocation index is fresh enough (docs/architecture.md §9).

use crate::Platform;

/// What readiness found.
#[derive(Clone, Debug)]
pub struct Readiness {
    /// The database answered, or why not (for the log, never told: readiness is public to the
    /// load balancer).
    pub database: Result<(), crate::StoreError>,
    /// The oldest CRL index's age in seconds, where revocation is read from indexes.
    pub revocation_index_age: Option<u64>,
    /// That age is past [`crate::PlatformConfig::ready_index_age`].
    pub revocation_index_stale: bool,
}

impl Readiness {
    /// Ready: the database answers and no index is stale.
    pub fn ready(&self) -> bool {
        self.database.is_ok() && !self.revocation_index_stale
    }
}

impl Platform {
    /// 16 random bytes naming a request that came without a `traceparent` (logs).
    pub fn fresh_request_id(&self) -> [u8; 16] {
        self.rng.bytes::<16>()
    }

    /// Asks the database and reads the revocation index's age.
    pub async fn readiness(&self) -> Readiness {
        let database = self.store.ping().await;
        let age = self.jlis.revocation_index_age(self.clock.now());
        Readiness {
            database,
            revocation_index_age: age,
            revocation_index_stale: age.is_some_and(|a| a > self.config.ready_index_age.as_secs()),
        }
    }
}

/// What the metrics read at a scrape (`/metrics`), beyond what the edge counts itself.
#[derive(Clone, Debug, Default)]
pub struct Gauges {
    /// The revocation sources.
    pub jlis: crate::JlisFreshness,
    /// Per relying party with events waiting: how many, and the oldest's age in seconds.
    /// Empty when the database could not be read (`outbox_read` false).
    pub outbox: Vec<(crate::RelyingPartyId, u64, u64)>,
    /// Whether the outbox could be read.
    pub outbox_read: bool,
    /// The connection pool.
    pub pool: crate::PoolUse,
    /// Each function and whether a maintenance window takes it down now.
    pub maintenance: Vec<(crate::Function, bool)>,
    /// Whether an end of the system is announced, and whether its date has come.
    pub termination: (bool, bool),
}

impl Platform {
    /// Whether `token` is the metrics token (compared in constant time, by its SHA-256).
    pub fn metrics_token_ok(&self, token: &str) -> bool {
        self.config.metrics_token_hash.is_some_and(|expected| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                &expected,
                &crate::PlatformConfig::hash_operator_token(token),
            )
            .is_ok()
        })
    }

    /// Whether metrics are served at all (a token is configured).
    pub fn metrics_enabled(&self) -> bool {
        self.config.metrics_token_hash.is_some()
    }

    /// Reads what the metrics show at a scrape: one query (the outbox), the rest from memory.
    pub async fn gauges(&self) -> Gauges {
        let now = self.clock.now();
        let outbox = self.store.outbox_depths().await;
        let mut maintenance = Vec::with_capacity(crate::Function::ALL.len());
        for f in crate::Function::ALL {
            maintenance.push((f, self.under_maintenance(f).await.is_err()));
        }
        let end = self.announced_termination().await;
        Gauges {
            jlis: self.jlis.freshness(now),
            outbox_read: outbox.is_ok(),
            outbox: outbox
                .unwrap_or_default()
                .into_iter()
                .map(|d| {
                    (
                        d.relying_party,
                        d.pending,
                        now.as_secs().saturating_sub(d.oldest.as_secs()),
                    )
                })
                .collect(),
            pool: self.store.pool_use(),
            maintenance,
            termination: (end.is_some(), end.is_some_and(|t| t.terminates_at <= now)),
        }
    }
}
