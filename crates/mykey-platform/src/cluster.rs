//! What the nodes of one platform share through its database besides the data: the secrets
//! they must agree on, and the leases that give each piece of background work to one node at
//! a time (docs/operations.md, "Several nodes").
//!
//! - **Secrets.** The challenge key, the PPID key and the signing keys are kept in the
//!   database, each sealed with the node's `secrets.key` (AES-256-GCM, the secret's name as
//!   associated data), so that they are backed up with the data and every node reads the same
//!   ones. The first node to start offers them; the others take what is stored.
//! - **Leases.** A lease names a piece of work and the node holding it until a time read from
//!   the database's own clock (so nodes whose clocks differ still agree). A node renews the
//!   leases it holds well before they end; a node that dies stops renewing, and another takes
//!   the work over once the lease has run out.

use mykey_pki::UnixTime;

use crate::StoreError;

/// One lease as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The work it names.
    pub name: String,
    /// The node holding it.
    pub holder: String,
    /// Until when (the database's clock).
    pub expires_at: UnixTime,
}

/// The cluster's shared state in the store.
#[async_trait::async_trait]
pub trait ClusterStore: Send + Sync + 'static {
    /// Every secret kept, by name, sealed as it was offered.
    async fn cluster_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Keeps each of `offered` (name, sealed value) whose name is not kept yet — the first
    /// node to offer a name wins — and answers every secret kept, in one transaction.
    async fn offer_cluster_secrets(
        &self,
        offered: &[(String, Vec<u8>)],
        at: UnixTime,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Replaces the secrets named in `set` (a key rotation) and removes those in `remove`, in
    /// one transaction — if each of `unchanged` (name, sealed value as read) is still kept as
    /// it was; answers whether it was (two rotations at once: the second changes nothing).
    async fn replace_cluster_secrets(
        &self,
        set: &[(String, Vec<u8>)],
        remove: &[String],
        unchanged: &[(String, Vec<u8>)],
        at: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Whether any relying party is registered: from then on the platform's keys matter to
    /// someone outside it (the ID tokens and SETs it verified, the PPIDs derived for it), so
    /// they must not be made anew. (People alone — loaded by `mykey bench seed`, say — do not
    /// count: nothing outside the platform has seen its keys.)
    async fn holds_data(&self) -> Result<bool, StoreError>;

    /// Takes lease `name` for `holder` for `seconds` from now by the database's clock — when
    /// no one holds it, its holder's time has run out, or `holder` holds it already (a
    /// renewal). Answers whether `holder` now holds it.
    async fn take_lease(&self, name: &str, holder: &str, seconds: u32) -> Result<bool, StoreError>;

    /// Gives lease `name` up if `holder` holds it (a node stopping), so another may take it
    /// at once.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Every lease, by name.
    async fn leases(&self) -> Result<Vec<Lease>, StoreError>;
}
