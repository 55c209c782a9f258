//! The storage trait. One implementation per backend (SQLite, PostgreSQL) in `mykey-store`; each
//! method is one transaction, and uniqueness rules are the database's.

use mykey_pki::{IssuanceNumber, UnixTime};

use crate::{
    Challenge, CustomerId, LinkRequest, LinkRequestId, LogEntry, MyKeyId, NewConsent,
    NewRelyingParty, PersonId, PersonLink, RelyingParty, RelyingPartyId, RelyingPartyLink,
    RelyingPartyStatus, Session,
};

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
    /// taken, none active), with nothing written. A revocation ends every active Service ID of
    /// the person in the same transaction, each logged ([`crate::ServiceIdEnd::MyKeyIdRevoked`]).
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

    /// Registers a relying party.
    async fn insert_relying_party(&self, rp: &NewRelyingParty) -> Result<RelyingParty, StoreError>;

    /// Every relying party, oldest first.
    async fn relying_parties(&self) -> Result<Vec<RelyingParty>, StoreError>;

    /// The relying party with `client_id`, and the hash of its secret.
    async fn relying_party_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<(RelyingParty, [u8; 32])>, StoreError>;

    /// Sets a relying party's status; `None` when there is no such relying party.
    async fn set_relying_party_status(
        &self,
        id: RelyingPartyId,
        status: RelyingPartyStatus,
    ) -> Result<Option<RelyingParty>, StoreError>;

    /// Replaces a relying party's secret hash; `None` when there is no such relying party.
    async fn set_relying_party_secret(
        &self,
        id: RelyingPartyId,
        secret_hash: &[u8; 32],
    ) -> Result<Option<RelyingParty>, StoreError>;

    /// Stores a new (open) link request.
    async fn insert_link_request(&self, r: &LinkRequest) -> Result<(), StoreError>;

    /// A link request with its relying party as it is now.
    async fn link_request(&self, id: &LinkRequestId) -> Result<Option<LinkRequest>, StoreError>;

    /// Marks an open, unexpired link request refused. `Ok(Err(..))`: it was answered meanwhile
    /// or expired.
    async fn refuse_link_request(
        &self,
        id: &LinkRequestId,
        at: UnixTime,
    ) -> Result<Result<(), crate::PlatformError>, StoreError>;

    /// In one transaction: marks the open, unexpired request approved, checks the person holds
    /// an active My Key ID, records the consent, stores the Service ID and appends `logs`.
    /// `Ok(Err(..))` carries the refusal (answered or expired meanwhile, no My Key ID, customer
    /// ID already linked), with nothing written.
    async fn approve_link_request(
        &self,
        id: &LinkRequestId,
        person: PersonId,
        consent: &NewConsent,
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<Result<PersonLink, crate::PlatformError>, StoreError>;

    /// A relying party's active links (only the one for `customer_id`, when given).
    async fn relying_party_links(
        &self,
        rp: RelyingPartyId,
        customer_id: Option<&CustomerId>,
    ) -> Result<Vec<RelyingPartyLink>, StoreError>;

    /// Ends a relying party's active link of `customer_id`, logged to the person; `false` when
    /// it has none.
    async fn remove_link(
        &self,
        rp: RelyingPartyId,
        customer_id: &CustomerId,
        at: UnixTime,
    ) -> Result<bool, StoreError>;

    /// The person's active links, oldest first.
    async fn person_links(&self, person: PersonId) -> Result<Vec<PersonLink>, StoreError>;

    /// The person withdraws the consent behind their active link `id`: the consent's withdrawal
    /// time is recorded, the link ends, both are logged. `false` when they have no such link.
    async fn withdraw_link(
        &self,
        person: PersonId,
        id: i64,
        at: UnixTime,
    ) -> Result<bool, StoreError>;
}
