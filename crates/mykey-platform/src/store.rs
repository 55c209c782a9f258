//! The storage trait. One implementation per backend (SQLite, PostgreSQL) in `mykey-store`; each
//! method is one transaction, and uniqueness rules are the database's.

use mykey_pki::{IssuanceNumber, UnixTime};

use crate::{
    ConsentRecord, CustomerId, LinkRequest, LinkRequestId, LogEntry, MyKeyId, MyKeyIdRecord,
    NewConsent, NewRelyingParty, PersonId, PersonLink, PersonPpidService, PlatformError, Ppid,
    PpidIssue, PpidIssued, PpidService, PpidServiceId, RelyingParty, RelyingPartyId,
    RelyingPartyLink, RelyingPartyStatus, ServicePpid, Session, TermsVersion,
};

/// The store failed. The detail is for the log, never for a caller.
#[derive(Clone, Debug, thiserror::Error)]
#[error("store ({kind:?}): {detail}")]
pub struct StoreError {
    /// What kind of failure: whether trying again can help.
    pub kind: StoreErrorKind,
    /// What happened.
    pub detail: String,
}

/// What kind of store failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The database cannot be reached, is shutting down, or is too busy: try again shortly.
    Unavailable,
    /// A write met a rule the domain did not expect to meet (a unique key, a concurrent change
    /// that the database refused): try again.
    Conflict,
    /// What is stored is not what the code expects (a hash of the wrong length, an ID that does
    /// not parse, a missing row the schema promises): an operator must look.
    Corrupt,
}

impl StoreError {
    /// The database cannot be reached or is too busy.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self {
            kind: StoreErrorKind::Unavailable,
            detail: detail.into(),
        }
    }

    /// A write met a rule the domain did not expect.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self {
            kind: StoreErrorKind::Conflict,
            detail: detail.into(),
        }
    }

    /// What is stored is not what the code expects.
    pub fn corrupt(detail: impl Into<String>) -> Self {
        Self {
            kind: StoreErrorKind::Corrupt,
            detail: detail.into(),
        }
    }
}

/// What a log entry records: every kind the platform writes to a person's log. Its text (what
/// the log shows and its hash chain covers) never changes once written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// A new person: the first login with a card.
    PersonCreated,
    /// A renewed card's new issuance number joined the person.
    CardRenewed,
    /// A card login (the API, the portal, OpenID Connect).
    Login,
    /// A relying party's logout ended a login's tokens.
    Logout,
    /// J-LIS was asked about the person's signature certificate.
    JlisQuery,
    /// A My Key ID was created.
    MyKeyIdCreated,
    /// The My Key ID was changed.
    MyKeyIdChanged,
    /// The My Key ID was revoked.
    MyKeyIdRevoked,
    /// A consent was given.
    ConsentGiven,
    /// A consent was withdrawn.
    ConsentWithdrawn,
    /// A Service ID was linked.
    ServiceIdLinked,
    /// The person withdrew a Service ID.
    ServiceIdWithdrawn,
    /// The relying party removed a Service ID.
    ServiceIdRemoved,
    /// A Service ID ended with the My Key ID.
    ServiceIdEnded,
    /// A change of the four facts was told to a relying party.
    FactsChangeShared,
    /// Facts were given to a relying party (userinfo).
    FactsGiven,
    /// A PPID was issued.
    PpidIssued,
    /// An issued PPID was used again.
    PpidUsed,
    /// A PPID was given to its relying party (a code redeemed).
    PpidGiven,
    /// A relying party associated its customer ID with the PPID.
    PpidCustomerIdAssociated,
    /// A spent authorization code was presented again, and what it gave was revoked.
    OidcCodeReused,
    /// The person downloaded their export.
    ExportDownloaded,
    /// A relying party read the person's link (its list of Service IDs), once a day at most.
    ServiceIdRead,
    /// A relying party read the person's PPID (its service's list), once a day at most.
    PpidRead,
    /// The person applied for card points (Art 23), themselves or at a kiosk.
    PointApplied,
    /// The provider validated the Payment Service ID (Art 23.1.2).
    PointValidated,
    /// The provider rejected the Payment Service ID.
    PointRejected,
    /// The person withdrew a point application.
    PointWithdrawn,
    /// Point-programme rights were forfeited (Art 27).
    PointForfeited,
    /// The payment provider granted card points.
    PointGranted,
    /// The person claimed the health-insurance or public-fund-account points (Art 24, 25).
    PointTriggerClaimed,
    /// Mynaportal or the account registry confirmed the registration a trigger awaited.
    PointTriggerRegistered,
    /// An operator (the help desk, an auditor) read the person's data (Art 18 inquiries).
    OperatorRead,
    /// The help desk suspended the person's use of the system (Art 8.2).
    PersonSuspended,
    /// The help desk resumed it.
    PersonResumed,
    /// The help desk suspended the use of the person's My Key ID.
    MyKeyIdSuspended,
    /// The help desk resumed it.
    MyKeyIdResumed,
}

impl LogKind {
    /// Every kind.
    pub const ALL: [LogKind; 37] = [
        Self::PersonCreated,
        Self::CardRenewed,
        Self::Login,
        Self::Logout,
        Self::JlisQuery,
        Self::MyKeyIdCreated,
        Self::MyKeyIdChanged,
        Self::MyKeyIdRevoked,
        Self::ConsentGiven,
        Self::ConsentWithdrawn,
        Self::ServiceIdLinked,
        Self::ServiceIdWithdrawn,
        Self::ServiceIdRemoved,
        Self::ServiceIdEnded,
        Self::FactsChangeShared,
        Self::FactsGiven,
        Self::PpidIssued,
        Self::PpidUsed,
        Self::PpidGiven,
        Self::PpidCustomerIdAssociated,
        Self::OidcCodeReused,
        Self::ExportDownloaded,
        Self::ServiceIdRead,
        Self::PpidRead,
        Self::PointApplied,
        Self::PointValidated,
        Self::PointRejected,
        Self::PointWithdrawn,
        Self::PointForfeited,
        Self::PointGranted,
        Self::PointTriggerClaimed,
        Self::PointTriggerRegistered,
        Self::OperatorRead,
        Self::PersonSuspended,
        Self::PersonResumed,
        Self::MyKeyIdSuspended,
        Self::MyKeyIdResumed,
    ];

    /// The kind's text in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PersonCreated => "person.created",
            Self::CardRenewed => "card.renewed",
            Self::Login => "login",
            Self::Logout => "logout",
            Self::JlisQuery => "jlis.query",
            Self::MyKeyIdCreated => "my-key-id.created",
            Self::MyKeyIdChanged => "my-key-id.changed",
            Self::MyKeyIdRevoked => "my-key-id.revoked",
            Self::ConsentGiven => "consent.given",
            Self::ConsentWithdrawn => "consent.withdrawn",
            Self::ServiceIdLinked => "service-id.linked",
            Self::ServiceIdWithdrawn => "service-id.withdrawn",
            Self::ServiceIdRemoved => "service-id.removed",
            Self::ServiceIdEnded => "service-id.ended",
            Self::FactsChangeShared => "facts-change.shared",
            Self::FactsGiven => "facts.given",
            Self::PpidIssued => "ppid.issued",
            Self::PpidUsed => "ppid.used",
            Self::PpidGiven => "ppid.given",
            Self::PpidCustomerIdAssociated => "ppid.customer-id-associated",
            Self::OidcCodeReused => "oidc.code-reused",
            Self::ExportDownloaded => "export.downloaded",
            Self::ServiceIdRead => "service-id.read",
            Self::PpidRead => "ppid.read",
            Self::PointApplied => "point.applied",
            Self::PointValidated => "point.validated",
            Self::PointRejected => "point.rejected",
            Self::PointWithdrawn => "point.withdrawn",
            Self::PointForfeited => "point.forfeited",
            Self::PointGranted => "point.granted",
            Self::PointTriggerClaimed => "point.trigger-claimed",
            Self::PointTriggerRegistered => "point.trigger-registered",
            Self::OperatorRead => "operator.read",
            Self::PersonSuspended => "person.suspended",
            Self::PersonResumed => "person.resumed",
            Self::MyKeyIdSuspended => "my-key-id.suspended",
            Self::MyKeyIdResumed => "my-key-id.resumed",
        }
    }

    /// From [`LogKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for LogKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A log entry to append in the same transaction as the change it records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLog {
    /// What happened.
    pub kind: LogKind,
    /// Details, canonical JSON.
    pub detail: String,
}

impl NewLog {
    /// An entry of `kind` with `detail` serialised as JSON.
    pub fn new(kind: LogKind, detail: serde_json::Value) -> Self {
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

/// A person whose signature certificate is to be learnt again from J-LIS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueSignature {
    /// Who.
    pub person: PersonId,
    /// Their newest issuance number (what J-LIS is asked about).
    pub number: IssuanceNumber,
    /// The signature certificate noted for them until now.
    pub noted: IssuanceNumber,
    /// Whether their card was renewed since it was noted (the new card's own certificate has
    /// not been seen).
    pub renewed: bool,
}

/// How far the facts-change sweep has read one signature CA's CRLs: the CRL numbers of the
/// complete CRL read last and of the delta read last (0: none on that base yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrlSweepPosition {
    /// The complete CRL's number.
    pub complete: u64,
    /// The delta CRL's number.
    pub delta: u64,
}

/// A challenge's nonce once answered (or a client assertion's `jti`), kept until it expires so
/// that it is never answered again. The nonce begins with its expiry (8 bytes, big-endian
/// seconds), which the store purges on; [`UsedNonce::new`] makes one so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsedNonce {
    /// The nonce.
    pub nonce: [u8; 32],
    /// When its challenge expires (after which it is refused anyway, and may be forgotten).
    pub expires_at: UnixTime,
}

impl UsedNonce {
    /// The nonce `expires_at` ‖ `rest`.
    pub fn new(expires_at: UnixTime, rest: [u8; 24]) -> Self {
        let mut nonce = [0u8; 32];
        nonce[..8].copy_from_slice(&expires_at.as_secs().to_be_bytes());
        nonce[8..].copy_from_slice(&rest);
        Self { nonce, expires_at }
    }
}

/// Everything a login writes, in one transaction ([`LoginStore::login`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginWrite {
    /// The nonce answered.
    pub nonce: UsedNonce,
    /// The card's issuance number.
    pub issuance_number: IssuanceNumber,
    /// When.
    pub at: UnixTime,
    /// Appended to the person's log, in order.
    pub logs: Vec<NewLog>,
    /// The key of the new session's token ([`crate::SessionToken::key`]).
    pub token_hash: [u8; 32],
    /// When the session ends.
    pub expires_at: UnixTime,
}

/// What became of a [`LoginWrite`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The person logged in.
    Done(PersonId),
    /// The nonce was answered before: nothing written.
    Replayed,
    /// No person holds the issuance number: nothing written (tie it first).
    UnknownNumber,
    /// The person is suspended (Art 8.2): the nonce is spent, nothing else written.
    Suspended,
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

/// Logins: spent nonces, sessions, card numbers tied to people, and expiry.
#[async_trait::async_trait]
pub trait LoginStore: Send + Sync + 'static {
    /// Records that `nonce` was answered; `false` (nothing written) when it already was. Each
    /// challenge is answered at most once.
    async fn use_nonce(&self, nonce: &UsedNonce) -> Result<bool, StoreError>;

    /// A login in one transaction: spends the nonce, finds the issuance number's person,
    /// appends the logs and stores the session. Nothing is written unless the answer is
    /// [`LoginOutcome::Done`].
    async fn login(&self, login: &LoginWrite) -> Result<LoginOutcome, StoreError>;

    /// Removes what has expired by `at` (spent nonces, sessions, one-time PPID codes, client
    /// access tokens); answers
    /// how many rows went.
    async fn purge_expired(&self, at: UnixTime) -> Result<u64, StoreError>;

    /// Whether the database answers (readiness): one trivial statement.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The connection pool's use now, for the metrics.
    fn pool_use(&self) -> PoolUse;

    /// Ends, in one transaction, the sessions and OpenID Connect access tokens of the holders
    /// of these revoked user-identification certificates that were made before each was
    /// revoked (a session lives `session_ttl`, an access token `token_ttl` seconds: one that
    /// expires by revocation time plus that was made by then). Idempotent. Answers how
    /// many sessions and tokens ended. (Times are in seconds: one made in the second of the
    /// revocation ends too, the safe side.)
    async fn end_sessions_before_revocation(
        &self,
        revoked: &[(IssuanceNumber, UnixTime)],
        session_ttl: u64,
        token_ttl: u64,
        at: UnixTime,
    ) -> Result<u64, StoreError>;

    /// The person an issuance number belongs to.
    async fn person_by_issuance_number(
        &self,
        n: IssuanceNumber,
    ) -> Result<Option<PersonId>, StoreError>;

    /// Ties `n` to a person: the holder of the newest known number in `previous` (a renewal:
    /// everything of that person follows the new number), or a new person. `logs` are appended
    /// to that person's log in the same transaction. `expires_at`: when the card's
    /// user-identification certificate expires (its notAfter), kept with the number so that a
    /// card that expires without a renewal ends the My Key ID (Art 15.3, [`crate::CardEnd`]).
    async fn link_issuance_number(
        &self,
        n: IssuanceNumber,
        expires_at: Option<UnixTime>,
        previous: &[IssuanceNumber],
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<LinkOutcome, StoreError>;

    /// The session whose token has the key `token_hash` ([`crate::SessionToken::key`]), if it
    /// has not expired at `at`.
    async fn session(
        &self,
        token_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<Session>, StoreError>;
}

/// What a relying party read about the people it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOf<'a> {
    /// Its active Service IDs (of `customer_id`, when given).
    ServiceIds {
        /// The one customer ID asked about, if any.
        customer_id: Option<&'a CustomerId>,
    },
    /// Its PPID service's issued PPIDs (associated with `customer_id`, when given).
    Ppids {
        /// The service.
        service: PpidServiceId,
        /// The one customer ID asked about, if any.
        customer_id: Option<&'a CustomerId>,
    },
}

/// A person's My Key ID, log (a hash chain) and history.
#[async_trait::async_trait]
pub trait PersonStore: Send + Sync + 'static {
    /// In one transaction: appends `log` to the log of each person `rp`'s read `of` covered who
    /// was not yet told of such a read by `rp` on `at`'s day in Japan. Answers how many were
    /// told.
    async fn log_reads(
        &self,
        rp: RelyingPartyId,
        of: ReadOf<'_>,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<u64, StoreError>;

    /// The person's active My Key ID.
    async fn my_key_id(&self, person: PersonId) -> Result<Option<MyKeyIdState>, StoreError>;

    /// Applies a change. `Ok(Err(..))` carries the refusal the rules demand (already active,
    /// taken, none active), with nothing written. A revocation ends every active Service ID of
    /// the person in the same transaction, each logged ([`crate::ServiceIdEnd::MyKeyIdRevoked`]).
    /// `consent`, given with a creation, is the person's acceptance of Art 16 under the terms in
    /// force, recorded with it.
    async fn change_my_key_id(
        &self,
        person: PersonId,
        change: MyKeyIdChange,
        at: UnixTime,
        log: &NewLog,
        consent: Option<&crate::NewConsent>,
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

    /// At most `limit` entries of the person's log past `from` (a `seq`, not included; none:
    /// from the end), oldest first, or newest first when `newest_first`.
    async fn log_page(
        &self,
        person: PersonId,
        from: Option<u64>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError>;

    /// Every My Key ID the person holds or held, oldest first.
    async fn my_key_id_history(&self, person: PersonId) -> Result<Vec<MyKeyIdRecord>, StoreError>;

    /// Every Service ID the person holds or held, oldest first.
    async fn service_id_history(
        &self,
        person: PersonId,
    ) -> Result<Vec<crate::ServiceIdRecord>, StoreError>;

    /// Every consent the person gave, oldest first.
    async fn person_consents(&self, person: PersonId) -> Result<Vec<ConsentRecord>, StoreError>;
}

/// Relying parties, their client credentials and access tokens.
#[async_trait::async_trait]
pub trait RelyingPartyStore: Send + Sync + 'static {
    /// Registers a relying party.
    async fn insert_relying_party(&self, rp: &NewRelyingParty) -> Result<RelyingParty, StoreError>;

    /// Every relying party, oldest first.
    async fn relying_parties(&self) -> Result<Vec<RelyingParty>, StoreError>;

    /// A relying party as it is now.
    async fn relying_party(&self, id: RelyingPartyId) -> Result<Option<RelyingParty>, StoreError>;

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

    /// A relying party's registered JWK Set (JSON), if any.
    async fn relying_party_jwks(&self, id: RelyingPartyId) -> Result<Option<String>, StoreError>;

    /// Replaces (or, with `None`, removes) a relying party's JWK Set; `None` when there is no
    /// such relying party.
    async fn set_relying_party_jwks(
        &self,
        id: RelyingPartyId,
        jwks: Option<&str>,
    ) -> Result<Option<RelyingParty>, StoreError>;

    /// Stores a client access token's hash for `rp`, valid until `expires_at`.
    async fn insert_client_token(
        &self,
        token_hash: &[u8; 32],
        rp: RelyingPartyId,
        expires_at: UnixTime,
    ) -> Result<(), StoreError>;

    /// The relying party (as it is now) of the unexpired client access token hashing to
    /// `token_hash`.
    async fn client_token(
        &self,
        token_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<RelyingParty>, StoreError>;

    /// Replaces a relying party's profile.
    async fn set_relying_party_profile(
        &self,
        id: RelyingPartyId,
        profile: &crate::RelyingPartyProfile,
    ) -> Result<(), StoreError>;
}

/// Link requests and the Service IDs (links) they make.
#[async_trait::async_trait]
pub trait LinkStore: Send + Sync + 'static {
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
    /// an active My Key ID, records the consent, stores the Service ID, notes the person's
    /// `signature` certificate (for the facts-change sweep) and appends `logs`.
    /// `Ok(Err(..))` carries the refusal (answered or expired meanwhile, no My Key ID, customer
    /// ID already linked), with nothing written.
    async fn approve_link_request(
        &self,
        id: &LinkRequestId,
        person: PersonId,
        consent: &NewConsent,
        signature: Option<IssuanceNumber>,
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
        id: crate::LinkId,
        at: UnixTime,
    ) -> Result<bool, StoreError>;

    /// A login by Service ID, in one transaction: the link offered made first (as
    /// [`LinkStore::approve_link_request`], and only for a request of the same relying party);
    /// the person's Service ID at the relying party found (the link just made, else the most
    /// recently linked); the grant given (a login code stored, or the pending authorization
    /// approved with the customer ID as its subject); `logs` and the `login` entry (`detail`
    /// with the customer ID) appended. `Ok(Err(..))` carries the refusal (no Service ID, the
    /// link's refusals, the authorization answered meanwhile), with nothing written.
    async fn service_id_login(
        &self,
        l: &crate::ServiceIdLogin<'_>,
    ) -> Result<Result<CustomerId, crate::PlatformError>, StoreError>;

    /// Redeems a login code of `rp` for its customer ID once: a used, expired or foreign code
    /// answers `None` (and an expired one is removed).
    async fn redeem_service_id_code(
        &self,
        rp: RelyingPartyId,
        code_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<CustomerId>, StoreError>;

    /// The person holding the active My Key ID `id`, with the issuance number of their latest
    /// card — only while that card is good at `at`: not revoked or suspended (as the swept
    /// CRLs say) and not expired.
    async fn my_key_id_holder(
        &self,
        id: &MyKeyId,
        at: UnixTime,
    ) -> Result<Option<(PersonId, Option<IssuanceNumber>)>, StoreError>;

    /// An application with a My Key ID (Art 17.1), in one transaction: the My Key ID must still
    /// be the person's active one, and the person must never have withdrawn a Service ID from
    /// this relying party (`no-my-key-id` otherwise); the consent recorded, the Service
    /// ID stored (route `my-key-id`), the signature certificate noted, `logs` appended.
    /// `Ok(Err(..))` carries the refusal, with nothing written.
    async fn apply_with_my_key_id(
        &self,
        a: &crate::MyKeyIdApplication<'_>,
    ) -> Result<Result<RelyingPartyLink, crate::PlatformError>, StoreError>;
}

/// The Terms of Use versions.
#[async_trait::async_trait]
pub trait TermsStore: Send + Sync + 'static {
    /// Publishes a terms version; `false` (nothing written) when its name or its
    /// `effective_at` is taken.
    async fn insert_terms(&self, t: &TermsVersion) -> Result<bool, StoreError>;

    /// Every terms version, by `effective_at`.
    async fn terms_versions(&self) -> Result<Vec<TermsVersion>, StoreError>;

    /// The terms version in force at `at`: the latest `effective_at` not after it.
    async fn terms_in_force(&self, at: UnixTime) -> Result<Option<TermsVersion>, StoreError>;
}

/// PPID services, PPIDs, their one-time codes and consents.
#[async_trait::async_trait]
pub trait PpidStore: Send + Sync + 'static {
    /// Registers a PPID service of `rp`.
    async fn insert_ppid_service(
        &self,
        rp: RelyingPartyId,
        name: &str,
        at: UnixTime,
    ) -> Result<PpidService, StoreError>;

    /// A relying party's PPID services, oldest first.
    async fn ppid_services_of(&self, rp: RelyingPartyId) -> Result<Vec<PpidService>, StoreError>;

    /// A PPID service with its relying party as it is now.
    async fn ppid_service(&self, id: PpidServiceId) -> Result<Option<PpidService>, StoreError>;

    /// The person's active (not withdrawn) consent for a PPID service.
    async fn ppid_consent(
        &self,
        person: PersonId,
        service: PpidServiceId,
    ) -> Result<Option<crate::Consent>, StoreError>;

    /// In one transaction: records the consent (if given; otherwise an active one must exist),
    /// stores the derived PPID unless the person has one for the service, stores the one-time
    /// code, appends `logs` and then `ppid.issued` (first time) or `ppid.used`. `Ok(Err(..))`:
    /// no active consent and none given ([`InvalidError::ConsentIncomplete`](crate::InvalidError::ConsentIncomplete)), nothing written.
    async fn issue_ppid(
        &self,
        issue: &PpidIssue<'_>,
    ) -> Result<Result<PpidIssued, PlatformError>, StoreError>;

    /// Removes the unexpired code of `service` hashing to `code_hash`, appends `log` to the
    /// PPID's person (the PPID was given to the relying party), and `facts_log` too when the
    /// code carries facts (the PIN-less route), and answers the PPID and those facts; `None`
    /// when there is none (unknown, used, expired or another service's).
    async fn redeem_ppid_code(
        &self,
        service: PpidServiceId,
        code_hash: &[u8; 32],
        at: UnixTime,
        log: &crate::NewLog,
        facts_log: &crate::NewLog,
    ) -> Result<Option<(Ppid, Option<String>)>, StoreError>;

    /// Stores an open PIN-less request under the SHA-256 of its handle, unless its service's
    /// relying party has `max_open` requests open at `at` already, over all its services
    /// (`false`, nothing written).
    async fn open_pinless_request(
        &self,
        handle_hash: &[u8; 32],
        request: &crate::StoredPinlessRequest,
        at: UnixTime,
        max_open: u64,
    ) -> Result<bool, StoreError>;

    /// Counts one answer to the PIN-less request under `handle_hash` that is about to reach
    /// J-LIS; `false` (nothing written) when it is not open at `at` or has had `max` already.
    async fn spend_pinless_attempt(
        &self,
        handle_hash: &[u8; 32],
        at: UnixTime,
        max: u32,
    ) -> Result<bool, StoreError>;

    /// The PIN-less request stored under `handle_hash`, if it is open at `at`.
    async fn pinless_request(
        &self,
        handle_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<crate::StoredPinlessRequest>, StoreError>;

    /// Associates `customer_id` with an issued PPID of `service`, logged to its person; `None`
    /// when the service has issued no such PPID, or its person has withdrawn their consent
    /// (Art 20.1.3 is among what they withdrew).
    async fn set_ppid_customer_id(
        &self,
        service: PpidServiceId,
        ppid: Ppid,
        customer_id: &CustomerId,
        at: UnixTime,
        log: &crate::NewLog,
    ) -> Result<Option<ServicePpid>, StoreError>;

    /// The issued PPIDs of a service (only those associated with `customer_id`, when given).
    async fn service_ppids(
        &self,
        service: PpidServiceId,
        customer_id: Option<&CustomerId>,
    ) -> Result<Vec<ServicePpid>, StoreError>;

    /// The PPID services the person has a PPID or a consent for, by service.
    async fn person_ppid_services(
        &self,
        person: PersonId,
    ) -> Result<Vec<PersonPpidService>, StoreError>;

    /// Withdraws the person's active consent for a PPID service, logged; `false` when there is
    /// none.
    async fn withdraw_ppid_consent(
        &self,
        person: PersonId,
        service: PpidServiceId,
        at: UnixTime,
        log: &crate::NewLog,
    ) -> Result<bool, StoreError>;
}

/// The relying parties' event outbox and streams.
#[async_trait::async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Up to `limit` of a relying party's unacknowledged events of `kinds`, oldest first.
    async fn pending_events(
        &self,
        rp: RelyingPartyId,
        kinds: &[crate::EventKind],
        limit: usize,
    ) -> Result<Vec<crate::Event>, StoreError>;

    /// Creates or replaces a relying party's stream, its delivery state reset.
    async fn set_stream(
        &self,
        rp: RelyingPartyId,
        config: &crate::StreamConfig,
        at: UnixTime,
    ) -> Result<(), StoreError>;

    /// A relying party's stream, with its delivery state and how many events wait.
    async fn stream(&self, rp: RelyingPartyId) -> Result<Option<crate::Stream>, StoreError>;

    /// Push streams whose `Authorization` header is kept as given (stored before headers were
    /// sealed): relying party and header.
    async fn plaintext_stream_headers(&self) -> Result<Vec<(RelyingPartyId, String)>, StoreError>;

    /// Replaces each stream's header `.1` by `.2` (only where it is still `.1`) in one
    /// transaction, then compacts the database so that the old text is left nowhere in its
    /// files; answers how many were replaced.
    async fn reseal_stream_headers(
        &self,
        changes: &[(RelyingPartyId, String, String)],
    ) -> Result<u64, StoreError>;

    /// Removes a relying party's stream; `false` when it has none.
    async fn delete_stream(&self, rp: RelyingPartyId) -> Result<bool, StoreError>;

    /// Up to `limit` push streams due a try at `at` with unacknowledged events.
    async fn due_push_streams(
        &self,
        at: UnixTime,
        limit: usize,
    ) -> Result<Vec<RelyingPartyId>, StoreError>;

    /// Records a push of event `jti` in one transaction: delivered or refused, the event is
    /// acknowledged (a refusal with its reason) and the stream's failures reset; failed, the
    /// failure is counted and the next try set to `next_attempt_at`.
    async fn record_push(
        &self,
        rp: RelyingPartyId,
        jti: &str,
        outcome: &crate::PushOutcome,
        at: UnixTime,
        next_attempt_at: UnixTime,
    ) -> Result<(), StoreError>;

    /// Marks the relying party's events with these `jti`s acknowledged (others' are untouched);
    /// answers how many were newly acknowledged.
    async fn acknowledge_events(
        &self,
        rp: RelyingPartyId,
        jtis: &[String],
        at: UnixTime,
    ) -> Result<u64, StoreError>;

    /// Per relying party with events not acknowledged: how many, and when the oldest was
    /// made (the delivery lag), for the metrics.
    async fn outbox_depths(&self) -> Result<Vec<OutboxDepth>, StoreError>;
}

/// Signature certificates noted for linked people and the facts-change sweep.
#[async_trait::async_trait]
pub trait FactsStore: Send + Sync + 'static {
    /// Records the person's current signature certificate (replacing the one held before), with
    /// `log` (the J-LIS query that told it).
    async fn note_signature_certificate(
        &self,
        person: PersonId,
        serial: Option<IssuanceNumber>,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<(), StoreError>;

    /// In one transaction: of these revoked signature certificates, those noted for a person
    /// and not yet found revoked are marked so; every active Service ID of their holders gets
    /// one event — [`crate::EventKind::BasicFactsChanged`] for a change of the facts,
    /// [`crate::EventKind::SignatureCertificateRevoked`] for any other reason — with the reason,
    /// logged to the person.
    async fn facts_changed(
        &self,
        revoked: &[crate::SignatureRevoked],
        at: UnixTime,
    ) -> Result<crate::FactsSweep, StoreError>;

    /// The person behind a relying party's active link of `customer_id`, and their newest
    /// issuance number.
    async fn linked_person(
        &self,
        rp: RelyingPartyId,
        customer_id: &CustomerId,
    ) -> Result<Option<(PersonId, IssuanceNumber)>, StoreError>;

    /// The signature certificate noted for the person and not found revoked.
    async fn noted_signature_certificate(
        &self,
        person: PersonId,
    ) -> Result<Option<IssuanceNumber>, StoreError>;

    /// People with an active Service ID whose noted signature certificate must be learnt again
    /// from J-LIS (a change was told, or the card was renewed), at most `limit`, in the order of
    /// their IDs from after `after`.
    async fn signature_certificates_to_renote(
        &self,
        after: Option<PersonId>,
        limit: usize,
    ) -> Result<Vec<DueSignature>, StoreError>;

    /// How far the facts-change sweep has read the CRLs of the signature CA with key
    /// identifier `ca`.
    async fn crl_sweep_position(&self, ca: &[u8]) -> Result<Option<CrlSweepPosition>, StoreError>;

    /// Records how far the CRLs of the signature CA `ca` were read.
    async fn set_crl_sweep_position(
        &self,
        ca: &[u8],
        position: CrlSweepPosition,
        at: UnixTime,
    ) -> Result<(), StoreError>;

    /// Ends the My Key ID of each person whose newest card, as of the time given with it (when
    /// J-LIS revoked it; for an expiry, now), is one of `ended` and who holds one, for that
    /// reason ([`crate::CardEnd`]), one transaction per person: the My Key ID revoked, every
    /// Service ID with it ended and told (`account-disabled` with the reason), the tokens
    /// relying parties hold revoked, the person's log saying why. A card renewed before it
    /// ended and a person without an active My Key ID are passed over, so a pass done again
    /// ends nothing twice. Answers how many My Key IDs ended.
    async fn end_cards(
        &self,
        ended: &[(IssuanceNumber, crate::CardEnd, UnixTime)],
        at: UnixTime,
    ) -> Result<u64, StoreError>;

    /// Notes what a user-identification CRL says of the cards the platform knows: each entry's
    /// revocation (or suspension) time and reason; removeFromCRL clears a suspension.
    async fn note_card_revocations(
        &self,
        entries: &[(
            IssuanceNumber,
            Option<mykey_pki::RevocationReason>,
            UnixTime,
        )],
    ) -> Result<(), StoreError>;

    /// The newest cards, of people with an active My Key ID, that expired before `before`
    /// (at most `limit`).
    async fn expired_cards(
        &self,
        before: UnixTime,
        limit: usize,
    ) -> Result<Vec<IssuanceNumber>, StoreError>;
}

/// A connection pool's use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// A relying party's events waiting for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboxDepth {
    /// Whose.
    pub relying_party: RelyingPartyId,
    /// How many are not acknowledged.
    pub pending: u64,
    /// When the oldest of them was made.
    pub oldest: UnixTime,
}

/// The platform's storage: every part. Each part is its own trait, so that a backend implements
/// one aggregate per file; anything that implements all of them is a `Store`.
pub trait Store:
    LoginStore
    + PersonStore
    + RelyingPartyStore
    + LinkStore
    + TermsStore
    + PpidStore
    + EventStore
    + FactsStore
    + crate::oidc::OidcStore
    + crate::PointStore
    + crate::OperatorStore
    + crate::MaintenanceStore
    + crate::TerminationStore
    + crate::ClusterStore
{
}

impl<T> Store for T where
    T: LoginStore
        + PersonStore
        + RelyingPartyStore
        + LinkStore
        + TermsStore
        + PpidStore
        + EventStore
        + FactsStore
        + crate::oidc::OidcStore
        + crate::PointStore
        + crate::OperatorStore
        + crate::MaintenanceStore
        + crate::TerminationStore
        + crate::ClusterStore
{
}

#[cfg(test)]
mod tests {
    use super::LogKind;

    #[test]
    fn every_log_kind_has_its_own_text_and_reads_back() {
        let mut texts: Vec<&str> = LogKind::ALL.iter().map(|k| k.as_str()).collect();
        for k in LogKind::ALL {
            assert_eq!(LogKind::parse(k.as_str()), Some(k));
        }
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), LogKind::ALL.len());
        assert_eq!(LogKind::parse("unknown"), None);
    }
}
