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
