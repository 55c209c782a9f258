//! The storage trait. One implementation per backend (SQLite, PostgreSQL) in `mykey-store`; each
//! method is one transaction, and uniqueness rules are the database's.

use mykey_pki::{IssuanceNumber, UnixTime};

use crate::{Challenge, LogEntry, MyKeyId, PersonId, Session};

/// The store failed (connection, constraint the domain did not expect, corruption).
#[derive(Clone, Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

/// A log entry to append in the same transaction as the change it records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLog {
    /// What happened.
    pub kind: &'static str,
    /// Details, canonical JSON.
    pub detail: String,
}

impl NewLog {
    /// An entry of `kind` with `detail` serialised as JSON.
    pub fn new(kind: &'static str, detail: serde_json::Value) -> Self {
        Self {
            kind,
            detail: detail.to_string(),
        }
    }
}

/// How an issuance number was tied to a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Already known.
    Known(PersonId),
    /// A renewal: the number joined the person who held one of its previous numbers.
    Renewed(PersonId),
    /// A new person.
    Created(PersonId),
}

impl LinkOutcome {
    /// The person, however they were found.
    pub fn person(self) -> PersonId {
        match self {
            LinkOutcome::Known(p) | LinkOutcome::Renewed(p) | LinkOutcome::Created(p) => p,
        }
    }
}

/// A person's My Key ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MyKeyIdState {
    /// The ID.
    pub id: MyKeyId,
    /// When it was created (or last changed to this value).
    pub since: UnixTime,
}

/// What to do to a My Key ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MyKeyIdChange {
    /// Create one (refused if one is active).
    Create(MyKeyId),
    /// Change the active one to another free value.
    Change(MyKeyId),
    /// Revoke the active one.
    Revoke,
}

/// The platform's storage.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a challenge.
    async fn insert_challenge(&self, c: &Challenge) -> Result<(), StoreError>;

    /// Removes and returns the challenge with `nonce`: each challenge is answered at most once.
    async fn take_challenge(&self, nonce: &[u8; 32]) -> Result<Option<Challenge>, StoreError>;

    /// The person an issuance number belongs to.
    async fn person_by_issuance_number(
        &self,
        n: IssuanceNumber,
    ) -> Result<Option<PersonId>, StoreError>;

    /// Ties `n` to a person: the holder of the newest known number in `previous` (a renewal:
    /// everything of that person follows the new number), or a new person. `logs` are appended
    /// to that person's log in the same transaction.
    async fn link_issuance_number(
        &self,
        n: IssuanceNumber,
        previous: &[IssuanceNumber],
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<LinkOutcome, StoreError>;

    /// Stores a session.
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError>;

    /// The session whose token hashes to `token_hash`, if it has not expired at `at`.
    async fn session(
        &self,
        token_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<Session>, StoreError>;

    /// The person's active My Key ID.
    async fn my_key_id(&self, person: PersonId) -> Result<Option<MyKeyIdState>, StoreError>;

    /// Applies a change. `Ok(Err(..))` carries the refusal the rules demand (already active,
    /// taken, none active), with nothing written.
    async fn change_my_key_id(
        &self,
        person: PersonId,
        change: MyKeyIdChange,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<Result<(), crate::PlatformError>, StoreError>;

    /// Appends to the person's log.
    async fn append_log(
        &self,
        person: PersonId,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<LogEntry, StoreError>;

    /// The person's whole log, oldest first.
    async fn log(&self, person: PersonId) -> Result<Vec<LogEntry>, StoreError>;
}
