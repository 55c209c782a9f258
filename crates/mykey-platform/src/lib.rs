//! The MyKey Platform's domain (Terms Chapters 2–4). It knows nothing of HTTP or SQL: storage,
//! J-LIS and the clock come in through the [`Store`], [`Jlis`] and [`Clock`] traits, chosen once
//! at start-up.
//!
//! - [`Platform::challenge`] / [`Platform::respond`]: card authentication — a one-time nonce, the
//!   card's signature over it, the certificate path, validity and revocation checked, renewal
//!   continuity (Art 16.1.2–3) applied, a session answered.
//! - My Key ID (Art 15): create, change, revoke.
//! - Relying parties (Art 2) admitted by operators, authenticated as OAuth clients
//!   (`client_secret_basic`, or `private_key_jwt` against their registered JWK Set).
//! - Service IDs (Art 17): link requests, the person's card-confirmed consent, the links.
//! - PPID services and PPIDs (Art 19–20): registered by relying parties, issued to a person
//!   who authenticates with the card and consents, stored, associated with customer IDs.
//! - Terms versions (Art 3, 12): published with seven days' notice; consents name the one in
//!   force.
//! - The person's export: everything held about them in one document.
//! - The person's own hash-chained log ([`LogEntry`]), readable and verifiable by the person.
//! - Identifiers as types, and the PPID derivation ([`PpidKey`]).

mod auth;
mod card_end;
mod challenge;
mod client_auth;
mod cluster;
mod error;
mod events;
mod export;
mod facts;
mod health;
mod ids;
mod log;
mod maintenance;
mod my_key_id;
mod names;
pub mod oidc;
mod operators;
mod ordered_token;
mod pinless;
mod points;
mod ppid;
mod ppid_service;
mod quota;
mod relying_party;
mod service_id;
mod service_id_login;
mod store;
mod streams;
mod termination;
mod terms;

use std::sync::Arc;

pub use auth::{CardAnswer, Challenge, ChallengePurpose, Session, SessionToken};
pub use card_end::{CardEnd, EXPIRY_BATCH};
/// For the fuzzer only (`fuzz/`).
#[cfg(fuzzing)]
pub use client_auth::fuzz_split_assertion;
pub use client_auth::{
    CLIENT_ASSERTION_TYPE, CLIENT_CACHE_SECS, CLIENT_TOKEN_TTL, ClientJwks, ClientToken,
};
pub use cluster::{ClusterStore, Lease};
pub use error::{
    AccessError, CardError, Conflict, Internal, InvalidError, Limited, NotFound, OAuthError,
    PlatformError, PointConflict, TicketItemsProblem,
};
pub use events::{
    ACKNOWLEDGED_EVENT_KEEP_SECS, Event, EventKind, EventSubject, MAX_POLL, SigningKey,
};
pub use export::{ConsentRecord, Export, MyKeyIdRecord, ServiceIdRecord};
pub(crate) use facts::signature_query;
pub use facts::{FactsSweep, SignatureRevoked};
pub use health::{Gauges, Readiness};
pub use ids::{CustomerId, IdError, LinkId, MyKeyId, PersonId, RelyingPartyId};
pub use log::{CHAIN_DOMAIN, ChainCheck, ChainError, LogEntry, LogHash, chain_tail, verify_chain};
pub use maintenance::{
    Function, MAINTENANCE_NOTICE_SECS, MAX_MAINTENANCE_SECS, MAX_NOTICE_CHARS, Maintenance,
    MaintenanceStore, MaintenanceWindow, NewMaintenance, Notice,
};
pub use my_key_id::{MAX_LOG_PAGE, MY_KEY_ID_CONSENT};
pub use operators::{
    Access, Duty, MAX_OPERATOR_LOG_PAGE, MAX_REASON_CHARS, Operator, OperatorAccount, OperatorEnd,
    OperatorId, OperatorRole, OperatorStore, Suspendable, SuspensionChange, Suspensions, reason,
};
pub use pinless::{
    MAX_OPEN_PINLESS_REQUESTS, MAX_PINLESS_ATTEMPTS, PINLESS_CONSENT, PinlessApproval,
    PinlessEvidence, PinlessRequest, StoredPinlessRequest, iso_date, parse_iso_date,
};
pub use points::{
    AccountType, AwaitingTrigger, Forfeiture, HEALTH_INSURANCE_CONSENT, IdAlphabet, IdCheck,
    IdShape, KioskChoice, MAX_PAYMENT_SERVICES, MAX_POINT_PAGE, MAX_TRANSACTION_YEN,
    MAX_TRANSACTIONS_PER_REPORT, NewPaymentService, NewPointApplication, NewPointTransaction,
    POINT_CONSENT, PUBLIC_FUND_ACCOUNT_CONSENT, PaymentService, PaymentServiceId,
    PaymentServiceKind, PaymentServiceStatus, PointApplication, PointApplicationId,
    PointApplicationState, PointGrant, PointGrantBatch, PointGrantKind, PointGrantState,
    PointParty, PointProgramme, PointRegistries, PointRound, PointRoundId, PointRoundState,
    PointRoundTerms, PointStore, PointTrigger, PointTriggerKind, PointTriggerState,
    PublicFundAccount, REPORTING_SECS_AFTER_CLOSE, RegistryUnavailable, SettlementUserId,
    StatementLine, TRANSACTION_CLOCK_SKEW_SECS, TRIGGER_SWEEP_BATCH, TransactionIntake,
    TriggerSweep, ValidationAnswer, forfeiture_log,
};
pub use ppid::{Ppid, PpidKey, PpidSecret, PpidSecretError, PpidServiceId};
pub use ppid_service::{
    LoginGrant, PPID_CONSENT, PersonPpidService, PpidAuthentication, PpidCode, PpidIssue,
    PpidIssued, PpidService, ServicePpid,
};
pub use quota::{
    APPLICATION_ID_RATES, APPLICATION_RATES, BATCH_RATES, CHECK_RATES, PER_LINK_BURST,
    PER_LINK_REFILL_SECS, PER_RP_BURST, PER_RP_REFILL_SECS, Rates, TRIGGER_RATES,
};
pub use relying_party::{
    ClientSecret, NewRelyingParty, RelyingParty, RelyingPartyKind, RelyingPartyProfile,
    RelyingPartyStatus,
};
pub use service_id::{
    Consent, ConsentItem, LINK_REQUEST_KEEP_SECS, LinkRequest, LinkRequestId, LinkRequestState,
    LinkRoute, MyKeyIdApplication, NewConsent, PersonLink, RelyingPartyLink, SERVICE_ID_CONSENT,
    ServiceIdEnd,
};
pub use service_id_login::{LinkInFlow, ServiceIdAuthentication, ServiceIdLogin};
pub use store::{
    CrlSweepPosition, DueSignature, EventStore, FactsStore, LinkOutcome, LinkStore, LogKind,
    LoginOutcome, LoginStore, LoginWrite, MyKeyIdChange, MyKeyIdState, NewLog, OutboxDepth,
    PersonStore, PoolUse, PpidStore, ReadOf, RelyingPartyStore, Store, StoreError, StoreErrorKind,
    TermsStore, UsedNonce,
};
pub use streams::{
    Delivery, Push, PushOutcome, Stream, StreamConfig, check_endpoint, is_public_address,
};
pub use termination::{
    NewTermination, TERMINATION_NOTICE_SECS, TERMINATION_SETTLE_SECS, Termination, TerminationStore,
};
pub use terms::{NewTerms, TERMS_NOTICE_SECS, TermsVersion};

/// The clock, shared with the simulator (`mykey_pki::Clock`).
pub use mykey_pki::{Clock, ManualClock, Rng, SeededRng, SystemClock, SystemRng};
use mykey_pki::{IssuanceNumber, RevocationStatus, UnixTime, UserIdentificationCertificate};

/// J-LIS could not answer (unreachable, timed out, or no fresh revocation data).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("J-LIS unavailable: {0}")]
pub struct JlisUnavailable(pub String);

/// What the platform asks J-LIS.
#[async_trait::async_trait]
pub trait Jlis: Send + Sync + 'static {
    /// The earlier user-identification issuance numbers of the holder of `n`, newest first.
    async fn previous_issuance_numbers(
        &self,
        n: IssuanceNumber,
    ) -> Result<Vec<IssuanceNumber>, JlisUnavailable>;

    /// The signature certificates of the holder of user-identification certificate `n`
    /// (J-LIS's signature-certificate status service).
    async fn signature_certificate_status(
        &self,
        n: IssuanceNumber,
    ) -> Result<SignatureStatus, JlisUnavailable>;

    /// The revocation status of a validated certificate: from the CRL index while it is fresh,
    /// otherwise by OCSP; never `Stale`.
    async fn revocation(
        &self,
        cert: &UserIdentificationCertificate,
        issuer: &mykey_pki::CaCertificate,
        at: UnixTime,
    ) -> Result<RevocationAnswer, JlisUnavailable>;

    /// How old the oldest CRL index is at `at`, in seconds (`u64::MAX` for a CA whose index was
    /// never built); `None` where revocation is not read from CRL indexes. Readiness compares it
    /// with [`PlatformConfig::ready_index_age`].
    fn revocation_index_age(&self, at: UnixTime) -> Option<u64> {
        let _ = at;
        None
    }

    /// How the revocation sources stand at `at`, for the metrics: each CA's index age, and
    /// what was asked of J-LIS since start. Empty where revocation is not read from indexes.
    fn freshness(&self, at: UnixTime) -> JlisFreshness {
        let _ = at;
        JlisFreshness::default()
    }

    /// Whether `signature` is J-LIS's over the ticket-item facts of the holder of
    /// user-identification certificate `n` as they are now (the PIN-less route, Art 20.2).
    async fn ticket_item_status(
        &self,
        n: IssuanceNumber,
        signature: &mykey_pki::ticket::TicketSignature,
    ) -> Result<TicketItemStatus, JlisUnavailable> {
        let _ = (n, signature);
        Err(JlisUnavailable(
            "this J-LIS connection offers no ticket-item service".into(),
        ))
    }
}

/// What J-LIS says of ticket-item facts and their signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketItemStatus {
    /// J-LIS signed them, and they are the holder's facts now.
    Current,
    /// J-LIS signed them, but they are not what the holder's card carries now.
    Outdated,
    /// The certificate asked about is revoked or expired (J-LIS knows at once).
    Revoked,
    /// Not J-LIS's signature.
    Invalid,
}

impl TicketItemStatus {
    /// The name J-LIS gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Outdated => "outdated",
            Self::Revoked => "revoked",
            Self::Invalid => "invalid",
        }
    }
}

/// What J-LIS says of a person's signature certificates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignatureStatus {
    /// The one issued with the user-identification certificate asked about, and why it was
    /// revoked if it was.
    pub paired: Option<(IssuanceNumber, Option<mykey_pki::RevocationReason>)>,
    /// The person's newest, if it is valid.
    pub current: Option<IssuanceNumber>,
}

/// A revocation status and whether J-LIS was asked for it (which the person's log records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevocationAnswer {
    /// Good or revoked (never stale).
    pub status: RevocationStatus,
    /// Whether J-LIS was queried (OCSP) rather than the local CRL index consulted.
    pub asked_jlis: bool,
}

/// How the revocation sources stand ([`Jlis::freshness`]): counters run from the node's start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JlisFreshness {
    /// Each user-identification CA (its key identifier's first 8 bytes, hex) and its CRL
    /// index's age in seconds (`u64::MAX` for one never built).
    pub index_ages: Vec<(String, u64)>,
    /// OCSP requests made (the index stale or silent for the card).
    pub ocsp_requests: u64,
    /// OCSP requests that failed (J-LIS unreachable or its answer refused).
    pub ocsp_failures: u64,
    /// CRL fetches (complete or delta) that failed.
    pub crl_failures: u64,
}

/// Settings of the platform's domain.
#[derive(Clone)]
pub struct PlatformConfig {
    /// The platform's public base URL (`https://mykey.example`): the OAuth issuer, whose token
    /// endpoint `{issuer}/oidc/token` client assertions name as their audience.
    pub issuer: String,
    /// How long a login challenge may be answered in (in whole seconds).
    pub challenge_ttl: std::time::Duration,
    /// How long a session lasts (in whole seconds).
    pub session_ttl: std::time::Duration,
    /// How long a Service ID link request may be answered in (in whole seconds).
    pub link_request_ttl: std::time::Duration,
    /// How long a PPID service's one-time code may be redeemed in (in whole seconds).
    pub ppid_code_ttl: std::time::Duration,
    /// How long a cross-device authorization request waits for the phone (in whole seconds).
    pub authorization_ttl: std::time::Duration,
    /// The secret challenges are authenticated with (32 bytes); `None`: random at start-up, so
    /// challenges outstanding at a restart must be asked for again. Nodes behind one load
    /// balancer share it.
    pub challenge_secret: Option<[u8; 32]>,
    /// The platform's PPID secret ([`PpidSecret::from_bytes`]); `None` closes PPID issuance.
    /// Issued PPIDs are stored, so replacing the key changes none of them (only PPIDs issued
    /// afterwards are derived under the new one). Keep it in a 0600 file beside the database.
    pub ppid_key: Option<PpidSecret>,
    /// The platform's ES256 signing key (parsed by the caller: [`SigningKey::from_pkcs8`]);
    /// `None`: a new one at start-up (relying parties then must fetch the JWK Set again after a
    /// restart).
    pub signing_key: Option<Arc<SigningKey>>,
    /// Keys signed with before a rotation: no longer used to sign, still published in the JWK
    /// Set so that what they signed keeps verifying.
    pub previous_signing_keys: Vec<Arc<SigningKey>>,
    /// The platform's RS256 key ([`oidc::RsaSigningKey::from_pkcs8`]) for clients that
    /// registered RS256 ID tokens; `None`: one made on first use.
    pub rsa_signing_key: Option<Arc<oidc::RsaSigningKey>>,
    /// RS256 keys signed with before a rotation: still published, no longer used to sign.
    pub previous_rsa_signing_keys: Vec<Arc<oidc::RsaSigningKey>>,
    /// SHA-256 of the bootstrap operator token ([`PlatformConfig::hash_operator_token`]): an
    /// administrator until the first administrator account exists, refused after
    /// (`operators.rs`); `None`: operators only sign in with their cards. The token must be
    /// random (at least 128 bits): like a client secret it is kept under a fast hash, which
    /// only high-entropy tokens make safe.
    pub operator_token_hash: Option<[u8; 32]>,
    /// The key secrets kept in the store are sealed with (32 bytes; receivers' `Authorization`
    /// headers): keep it in a 0600 file beside the database, not in it, and back it up with it.
    /// `None`: random at start-up, so secrets sealed before a restart no longer open.
    pub sealing_key: Option<Arc<mykey_pki::SealingKey>>,
    /// Development only: push endpoints may be `http` and on loopback or private addresses.
    /// Off, the platform sends only to `https` URLs of public addresses (every connection
    /// checked), so that no relying party can make it call into the operator's network.
    pub push_to_private_addresses: bool,
    /// How long after a card's user-identification certificate expires, without a renewal,
    /// its holder's My Key ID ends (Art 15.3; `card_end.rs`). 90 days by default: a person
    /// who renews late keeps their My Key ID and links.
    pub card_expiry_grace: std::time::Duration,
    /// The operator's policy on relying parties' kinds: whether a business may register PPID
    /// services (and log people in under PPIDs) and ask for the four facts. The Terms give both
    /// to public authorities (Art 19, 20; a business uses Service IDs, Art 2.4, and connects
    /// for the card points, Art 26), so it is off by default; every such call checks the kind.
    pub ppid_for_businesses: bool,
    /// How old the revocation index may grow before the platform says it is not ready
    /// (`/health/ready`): logins then go to OCSP for every card, a sign that J-LIS's CRLs are
    /// not being read. 5 minutes by default.
    pub ready_index_age: std::time::Duration,
    /// SHA-256 of the token that reads `/metrics` ([`PlatformConfig::hash_operator_token`]);
    /// `None`: no metrics are served.
    pub metrics_token_hash: Option<[u8; 32]>,
}

impl std::fmt::Debug for PlatformConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token's hash stays out of logs: a weak token could be searched for from it.
        f.debug_struct("PlatformConfig")
            .field("issuer", &self.issuer)
            .field("challenge_ttl", &self.challenge_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("link_request_ttl", &self.link_request_ttl)
            .field("ppid_code_ttl", &self.ppid_code_ttl)
            .field("authorization_ttl", &self.authorization_ttl)
            .field("rsa_signing_key", &self.rsa_signing_key.is_some())
            .field("ppids", &self.ppid_key.is_some())
            .field("challenge_secret", &self.challenge_secret.is_some())
            .field("signing_key", &self.signing_key.is_some())
            .field("previous_signing_keys", &self.previous_signing_keys.len())
            .field(
                "bootstrap_operator_token",
                &self.operator_token_hash.is_some(),
            )
            .field("sealing_key", &self.sealing_key.is_some())
            .field("push_to_private_addresses", &self.push_to_private_addresses)
            .field("card_expiry_grace", &self.card_expiry_grace)
            .field("ppid_for_businesses", &self.ppid_for_businesses)
            .field("ready_index_age", &self.ready_index_age)
            .field("metrics_token", &self.metrics_token_hash.is_some())
            .finish()
    }
}

impl PlatformConfig {
    /// The hash to configure as [`PlatformConfig::operator_token_hash`] for `token`.
    pub fn hash_operator_token(token: &str) -> [u8; 32] {
        relying_party::sha256(token.as_bytes())
    }
}

impl Default for PlatformConfig {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            challenge_ttl: std::time::Duration::from_secs(120),
            session_ttl: std::time::Duration::from_secs(900),
            link_request_ttl: std::time::Duration::from_secs(600),
            ppid_code_ttl: std::time::Duration::from_secs(120),
            authorization_ttl: std::time::Duration::from_secs(300),
            ppid_key: None,
            challenge_secret: None,
            signing_key: None,
            previous_signing_keys: Vec::new(),
            rsa_signing_key: None,
            previous_rsa_signing_keys: Vec::new(),
            operator_token_hash: None,
            sealing_key: None,
            push_to_private_addresses: false,
            card_expiry_grace: std::time::Duration::from_secs(90 * 86_400),
            ppid_for_businesses: false,
            ready_index_age: std::time::Duration::from_secs(300),
            metrics_token_hash: None,
        }
    }
}

/// The platform: its store, its view of J-LIS, its clock, and the certificates it has checked.
pub struct Platform {
    store: Arc<dyn Store>,
    jlis: Arc<dyn Jlis>,
    /// Mynaportal and the public-fund account registry, for the card points' triggers.
    registries: Option<Arc<dyn PointRegistries>>,
    clock: Arc<dyn Clock>,
    /// Where every secret, ID and code is drawn from.
    rng: Arc<dyn Rng>,
    certificates: mykey_pki::VerifiedCertificates,
    challenges: challenge::ChallengeKey,
    /// The keys it signs with and publishes; replaced whole when they change
    /// ([`Platform::replace_signing_keys`]).
    keys: std::sync::RwLock<Arc<SigningKeys>>,
    /// The RS256 key made on first use where none was configured.
    made_rsa: std::sync::OnceLock<Arc<oidc::RsaSigningKey>>,
    /// Relying parties by client ID with their parsed keys, and until when (`client_auth.rs`).
    clients: std::sync::Mutex<client_auth::ClientCache>,
    /// The budget for guessing cross-device short codes (`oidc/guard.rs`).
    short_codes: oidc::ShortCodeGuard,
    /// The facts-check quotas per link and relying party (`quota.rs`).
    facts_checks: quota::RpQuota,
    /// The customer-ID association quotas per PPID and relying party (`quota.rs`).
    ppid_associations: quota::RpQuota,
    /// The quotas on reports of cross-device requests, per source address and in all.
    reports: quota::RpQuota,
    /// The quotas on applications with a My Key ID (Art 17.1), per My Key ID and relying party.
    applications: quota::RpQuota,
    /// The quota on applications naming one My Key ID, across relying parties.
    applications_per_id: quota::RpQuota,
    /// The quota on a person's claims of card-point registrations.
    trigger_claims: quota::RpQuota,
    /// The quota on a payment provider's batches of grants, per provider and round.
    grant_batches: quota::RpQuota,
    /// The terms version in force, as last read (`terms.rs`).
    terms_cache: std::sync::Mutex<Option<terms::InForce>>,
    /// The maintenance windows, as last read (`maintenance.rs`).
    maintenance_cache: maintenance::Held<Arc<Vec<MaintenanceWindow>>>,
    /// The standing termination, as last read (`termination.rs`).
    termination_cache: maintenance::Held<Option<Arc<Termination>>>,
    /// Open rounds and eligible services, as last read (`points/programme.rs`).
    point_cache: points::ChoiceCache,
    /// Browsers waiting for the phone's answer (`oidc/answers.rs`).
    answers: oidc::Answers,
    ppid: Option<PpidKey>,
    /// What secrets in the store are sealed with ([`PlatformConfig::sealing_key`]).
    sealing: Arc<mykey_pki::SealingKey>,
    config: PlatformConfig,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The keys a platform signs with (ES256; RS256 for clients that registered it) and those it
/// publishes besides: the ones used before the last rotation, and the next ones, published
/// ahead of being used so that every node's JWK Set holds a key before any node signs with it.
#[derive(Clone, Debug)]
pub struct SigningKeys {
    /// The ES256 key it signs with.
    pub signing: Arc<SigningKey>,
    /// ES256 keys used before.
    pub previous_signing: Vec<Arc<SigningKey>>,
    /// ES256 keys to be used next.
    pub next_signing: Vec<Arc<SigningKey>>,
    /// The RS256 key; `None`: one is made on first use.
    pub rsa: Option<Arc<oidc::RsaSigningKey>>,
    /// RS256 keys used before.
    pub previous_rsa: Vec<Arc<oidc::RsaSigningKey>>,
    /// RS256 keys to be used next.
    pub next_rsa: Vec<Arc<oidc::RsaSigningKey>>,
}

impl Platform {
    /// A platform over `store` and `jlis`, reading time from `clock` and drawing every secret,
    /// ID and code from `rng`, trusting `anchors`: the user-identification CAs for logins, the
    /// signature CAs for the four facts. Its keys come parsed in `config`, so building it
    /// cannot fail on a bad key file (the caller has refused one already).
    pub fn new(
        store: Arc<dyn Store>,
        jlis: Arc<dyn Jlis>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        anchors: mykey_pki::TrustAnchors,
        config: PlatformConfig,
    ) -> Self {
        Self {
            store,
            jlis,
            registries: None,
            clock,
            certificates: mykey_pki::VerifiedCertificates::new(anchors, 1_000_000),
            challenges: config.challenge_secret.as_ref().map_or_else(
                || challenge::ChallengeKey::random(&*rng),
                challenge::ChallengeKey::new,
            ),
            keys: std::sync::RwLock::new(Arc::new(SigningKeys {
                signing: config.signing_key.clone().unwrap_or_else(|| {
                    // A generated key always parses.
                    Arc::new(
                        SigningKey::from_pkcs8(&SigningKey::generate_pkcs8())
                            .expect("a generated P-256 key"),
                    )
                }),
                previous_signing: config.previous_signing_keys.clone(),
                next_signing: Vec::new(),
                rsa: config.rsa_signing_key.clone(),
                previous_rsa: config.previous_rsa_signing_keys.clone(),
                next_rsa: Vec::new(),
            })),
            made_rsa: std::sync::OnceLock::new(),
            clients: std::sync::Mutex::new(Default::default()),
            short_codes: oidc::ShortCodeGuard::default(),
            facts_checks: quota::RpQuota::default(),
            ppid_associations: quota::RpQuota::default(),
            reports: quota::RpQuota::default(),
            applications: quota::RpQuota::new(quota::APPLICATION_RATES),
            applications_per_id: quota::RpQuota::new(quota::APPLICATION_ID_RATES),
            trigger_claims: quota::RpQuota::new(quota::TRIGGER_RATES),
            grant_batches: quota::RpQuota::new(quota::BATCH_RATES),
            terms_cache: std::sync::Mutex::new(None),
            maintenance_cache: maintenance::Held::default(),
            termination_cache: maintenance::Held::default(),
            point_cache: points::ChoiceCache::default(),
            answers: oidc::Answers::default(),
            ppid: config.ppid_key.as_ref().map(PpidKey::from_secret),
            sealing: config.sealing_key.clone().unwrap_or_else(|| {
                Arc::new(
                    mykey_pki::SealingKey::from_bytes(&rng.bytes::<32>())
                        .expect("32 bytes make an AES-256 key"),
                )
            }),
            rng,
            config,
        }
    }

    /// The platform asking `registries` about the card points' triggers (Art 24, 25); without
    /// them a trigger cannot be claimed.
    pub fn with_point_registries(mut self, registries: Arc<dyn PointRegistries>) -> Self {
        self.registries = Some(registries);
        self
    }

    /// Trusts a CA generation J-LIS added (a rollover), already checked by the caller (see
    /// `mykey_pki::CaCertificate::check_self_signed`), for logins and facts from now on.
    pub fn trust_ca(&self, ca: mykey_pki::CaCertificate) -> bool {
        self.certificates.add_anchor(ca)
    }

    /// The store (for the edges that list or export).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether push endpoints may be private ([`PlatformConfig::push_to_private_addresses`]).
    pub fn pushes_to_private_addresses(&self) -> bool {
        self.config.push_to_private_addresses
    }

    /// The public base URL ([`PlatformConfig::issuer`]).
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Forgets what has expired (spent nonces, sessions, one-time codes); `mykey serve` calls it
    /// every minute. Answers how many rows went.
    pub async fn purge_expired(&self) -> Result<u64, PlatformError> {
        Ok(self.store.purge_expired(self.clock.now()).await?)
    }
}
