//! The background work a node does only while it holds the work's lease (docs/operations.md,
//! "Several nodes"): nodes sharing a database share the work, each piece on one node at a time,
//! and a piece moves to another node when its node dies.
//!
//! Every [`RENEW_EVERY`] a node takes or renews each lease for [`LEASE_SECS`] by the database's
//! clock ([`mykey_platform::ClusterStore::take_lease`]). It counts a lease as its own only for
//! [`TRUSTED_SECS`] from the moment it *asked* — less than the lease — so that a node cut off
//! from its database stops the work before another node can take the lease over. A node that
//! stops gives its leases up; one that dies keeps them until they run out.
//!
//! The revocation index is not leased: every node keeps its own in memory for its logins and
//! reads the CRLs itself, and what it does in the database from them (ending the sessions and
//! tokens of revoked certificates) is idempotent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mykey_platform::Store;

/// How long a lease is taken for, in the database's seconds.
pub const LEASE_SECS: u32 = 10;
/// How often a node takes or renews its leases.
pub const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How long after asking a node counts on a lease it got.
pub const TRUSTED_SECS: u64 = 7;

/// A piece of background work done by one node at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// The facts sweep of the signature CAs' CRLs (Art 17.2.2).
    FactsSweep,
    /// The purge of what expired, and carrying out the end of the system.
    Purge,
    /// Pushing events to the relying parties' endpoints (RFC 8935), every stream.
    EventPush,
    /// Asking the registries again about awaited card-point registrations.
    PointTriggers,
}

impl Work {
    /// Every piece, in the order of [`Work::index`].
    pub const ALL: [Work; 4] = [
        Work::FactsSweep,
        Work::Purge,
        Work::EventPush,
        Work::PointTriggers,
    ];

    /// Its lease's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Work::FactsSweep => "facts-sweep",
            Work::Purge => "purge",
            Work::EventPush => "event-push",
            Work::PointTriggers => "point-triggers",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A node's leases.
pub struct Leases {
    store: Arc<dyn Store>,
    node: String,
    /// Who holds the leases in the database: the node's name and a random part of this
    /// process's own, so that two processes never hold one lease together, even if they were
    /// given one `--node-id`.
    holder: String,
    /// Whether another process's leases under this node's name were looked for.
    looked: std::sync::atomic::AtomicBool,
    started: Instant,
    /// Per piece of work: until when (milliseconds since `started`) this node counts on its
    /// lease; 0: not held.
    until: [AtomicU64; 4],
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl Leases {
    /// Node `node`'s leases in `store`, none held yet.
    /// `tag`: random bytes of this process's own (see [`Leases::holder`]).
    pub fn new(store: Arc<dyn Store>, node: impl Into<String>, tag: [u8; 6]) -> Self {
        let node = node.into();
        let r = tag;
        let holder = format!(
            "{node}/{}",
            r.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        Self {
            store,
            node,
            holder,
            looked: std::sync::atomic::AtomicBool::new(false),
            started: Instant::now(),
            until: Default::default(),
        }
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Who holds this node's leases in the database: its name, `/`, and this process's own
    /// random part.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether this node holds the lease of `work` now.
    pub fn holds(&self, work: Work) -> bool {
        self.now_ms() < self.until[work.index()].load(Ordering::Acquire)
    }

    /// Takes or renews every lease once.
    pub async fn renew(&self) {
        if !self.looked.swap(true, Ordering::AcqRel) {
            self.look_for_a_namesake().await;
        }
        for work in Work::ALL {
            let asked = self.now_ms();
            let slot = &self.until[work.index()];
            match self
                .store
                .take_lease(work.as_str(), &self.holder, LEASE_SECS)
                .await
            {
                Ok(true) => {
                    if slot.swap(asked + TRUSTED_SECS * 1000, Ordering::AcqRel) == 0 {
                        tracing::info!(
                            lease = work.as_str(),
                            "lease taken: this node does the work"
                        );
                    }
                }
                Ok(false) => {
                    if slot.swap(0, Ordering::AcqRel) != 0 {
                        tracing::warn!(lease = work.as_str(), "lease lost to another node");
                    }
                }
                // Not renewed: it lapses by itself after TRUSTED_SECS.
                Err(e) => tracing::warn!(lease = work.as_str(), error = %e, "cannot renew a lease"),
            }
        }
    }

    /// Renews every [`RENEW_EVERY`] until the task is dropped.
    pub async fn keep(self: Arc<Self>) {
        let mut tick = tokio::time::interval(RENEW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.renew().await;
        }
    }

    /// Gives every lease this node holds up, so that another node takes the work at once.
    pub async fn release(&self) {
        for work in Work::ALL {
            self.until[work.index()].store(0, Ordering::Release);
            if let Err(e) = self.store.release_lease(work.as_str(), &self.holder).await {
                tracing::warn!(lease = work.as_str(), error = %e, "cannot give a lease up");
            }
        }
    }
}

impl Leases {
    /// Warns when another process holds leases under this node's name: two nodes given one
    /// `--node-id` (their logs and metrics could not be told apart), or this node started again
    /// before its last process's leases ran out.
    async fn look_for_a_namesake(&self) {
        let mine = format!("{}/", self.node);
        if let Ok(leases) = self.store.leases().await
            && let Some(other) = leases
                .iter()
                .find(|l| l.holder.starts_with(&mine) && l.holder != self.holder)
        {
            tracing::warn!(
                lease = other.name.as_str(),
                holder = other.holder.as_str(),
                "another process holds a lease under this node's name: two nodes share one \
                 --node-id, or this node restarted before its leases ran out"
            );
        }
    }
}

/// A node's name, as `--node-id` takes it: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn check_node_id(id: &str) -> Result<(), String> {
    if (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Ok(())
    } else {
        Err(format!(
            "a node ID is 1 to 64 letters, digits, '.', '_' or '-', not {id:?}"
        ))
    }
}
