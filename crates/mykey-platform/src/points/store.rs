//! What the card-point programme asks of storage: each method one transaction.

use mykey_pki::UnixTime;

use super::{AwaitingTrigger, PointTrigger, PointTriggerKind};
use super::{
    NewPaymentService, PaymentService, PaymentServiceId, PaymentServiceStatus, PointApplication,
    PointApplicationId, PointApplicationState, PointRound, PointRoundId, PointRoundState,
    PointRoundTerms, SettlementUserId,
};
use super::{
    NewPointTransaction, PointGrant, PointGrantBatch, PointGrantKind, StatementLine,
    TransactionIntake,
};
use crate::{NewLog, PersonId, PlatformError, RelyingPartyId, StoreError};
use mykey_pki::IssuanceNumber;

/// An application to write.
#[derive(Clone, Debug)]
pub struct NewPointApplication {
    /// Its random ID.
    pub id: PointApplicationId,
    /// The round.
    pub round: PointRoundId,
    /// Whose.
    pub person: PersonId,
    /// Through which service.
    pub service: PaymentServiceId,
    /// The Payment Service ID the person gave (already of the service's shape).
    pub payment_service_user_id: String,
    /// Its security code, when the service issues one (already of its digits).
    pub payment_service_code: Option<String>,
    /// The kiosk applying on the person's behalf.
    pub kiosk: Option<RelyingPartyId>,
    /// When.
    pub at: UnixTime,
}

/// A provider's answer to an application (Art 23.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidationAnswer {
    /// The Payment Service ID is the person's: here is the settlement user ID.
    Valid(SettlementUserId),
    /// It is not, for this reason (shown to the person).
    Invalid(String),
}

/// The programme's storage.
#[async_trait::async_trait]
pub trait PointStore: Send + Sync + 'static {
    /// Registers a provider's service as pending. A name the provider already uses:
    /// `Conflict::Point(PaymentServiceExists)`.
    async fn add_payment_service(
        &self,
        provider: RelyingPartyId,
        new: &NewPaymentService,
        at: UnixTime,
    ) -> Result<Result<PaymentService, PlatformError>, StoreError>;

    /// Services, oldest first: of one provider, or all; in one status, or any.
    async fn payment_services(
        &self,
        provider: Option<RelyingPartyId>,
        status: Option<PaymentServiceStatus>,
    ) -> Result<Vec<PaymentService>, StoreError>;

    /// One service.
    async fn payment_service(
        &self,
        id: PaymentServiceId,
    ) -> Result<Option<PaymentService>, StoreError>;

    /// Sets a service's status; `None` if there is no such service.
    async fn set_payment_service_status(
        &self,
        id: PaymentServiceId,
        status: PaymentServiceStatus,
    ) -> Result<Option<PaymentService>, StoreError>;

    /// Defines a round, as a draft. A name in use: `Conflict::Point(PointRoundExists)`.
    async fn add_point_round(
        &self,
        name: &str,
        terms: &PointRoundTerms,
        at: UnixTime,
    ) -> Result<Result<PointRound, PlatformError>, StoreError>;

    /// Rounds, oldest first, in one state or any.
    async fn point_rounds(
        &self,
        state: Option<PointRoundState>,
    ) -> Result<Vec<PointRound>, StoreError>;

    /// One round.
    async fn point_round(&self, id: PointRoundId) -> Result<Option<PointRound>, StoreError>;

    /// Moves a round from `from` to `to`; `NotFound::PointRound`, or
    /// `Conflict::Point(PointRoundState)` when it is not in `from`.
    async fn set_point_round_state(
        &self,
        id: PointRoundId,
        from: PointRoundState,
        to: PointRoundState,
        at: UnixTime,
    ) -> Result<Result<PointRound, PlatformError>, StoreError>;

    /// Takes an application, with `logs` in the person's log and the event for its provider.
    /// Refused, writing nothing: the round not open, the service not eligible, no active My
    /// Key ID, the right forfeited, or an application of the person's in the round that is not
    /// rejected (decided by the database's unique index).
    async fn apply_for_points(
        &self,
        new: &NewPointApplication,
        logs: &[NewLog],
    ) -> Result<Result<PointApplication, PlatformError>, StoreError>;

    /// The person's applications, newest first.
    async fn person_point_applications(
        &self,
        person: PersonId,
    ) -> Result<Vec<PointApplication>, StoreError>;

    /// A provider's applications (or a kiosk's, those it made), in ID order after `after`, in
    /// one state or any, at most `limit`.
    async fn party_point_applications(
        &self,
        party: PointParty,
        state: Option<PointApplicationState>,
        after: Option<PointApplicationId>,
        limit: usize,
    ) -> Result<Vec<PointApplication>, StoreError>;

    /// One of a provider's (or a kiosk's) applications.
    async fn party_point_application(
        &self,
        party: PointParty,
        id: PointApplicationId,
    ) -> Result<Option<PointApplication>, StoreError>;

    /// Records the provider's answer to its submitted application, with `log` (built by the
    /// caller) in the person's log. Not its own or no such one: `NotFound::PointApplication`;
    /// answered, withdrawn or forfeited: `Conflict::Point(PointApplicationAnswered)`; a
    /// settlement user ID it gave another application in the round:
    /// `Conflict::Point(SettlementUserIdTaken)`; valid for a Payment Service ID another
    /// validated application in the round has: `Conflict::Point(PaymentServiceUserIdTaken)`.
    /// The security code is erased with the answer.
    async fn answer_point_application(
        &self,
        provider: RelyingPartyId,
        id: PointApplicationId,
        answer: &ValidationAnswer,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x PointApplication) -> NewLog + Sync),
    ) -> Result<Result<PointApplication, PlatformError>, StoreError>;

    /// Takes a provider's report of transactions in `round` (already checked one by one), all
    /// or nothing: `InvalidError::PointTransaction` names the first whose settlement user ID
    /// none of the provider's applications in the round has, whose application has ended or
    /// is not validated, or which happened before its application was made or after the round
    /// closed. A transaction ID the provider reported before is not counted again. An unknown
    /// or draft round: `NotFound::PointRound`; `at` past [`crate::REPORTING_SECS_AFTER_CLOSE`]
    /// after the round closed: `Conflict::Point(ReportingEnded)`.
    async fn report_point_transactions(
        &self,
        provider: RelyingPartyId,
        round: PointRoundId,
        transactions: &[NewPointTransaction],
        at: UnixTime,
    ) -> Result<Result<TransactionIntake, PlatformError>, StoreError>;

    /// A new batch `id` of grants for the provider in `round`: per validated application with
    /// transactions not yet counted, the sum of their points within what remains of the cap.
    /// An unknown or draft round: `NotFound::PointRound`; nothing due:
    /// `Conflict::Point(NothingDue)`, and no batch is kept.
    async fn instruct_point_grants(
        &self,
        provider: RelyingPartyId,
        round: PointRoundId,
        id: i64,
        at: UnixTime,
    ) -> Result<Result<PointGrantBatch, PlatformError>, StoreError>;

    /// A page of one of the provider's batches. Not its own: `NotFound::PointGrantBatch`.
    async fn point_grants(
        &self,
        provider: RelyingPartyId,
        batch: i64,
        after: Option<PointApplicationId>,
        limit: usize,
    ) -> Result<Result<Vec<PointGrant>, PlatformError>, StoreError>;

    /// The provider confirms a batch: its instructed grants become confirmed, each holder's log
    /// gets `log(round name, points, kind)`. Not its own: `NotFound::PointGrantBatch`;
    /// confirmed already: `Conflict::Point(GrantBatchConfirmed)`.
    async fn confirm_point_grants(
        &self,
        provider: RelyingPartyId,
        batch: i64,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x str, u64, PointGrantKind) -> NewLog + Sync),
    ) -> Result<Result<PointGrantBatch, PlatformError>, StoreError>;

    /// A round's statement, one line per provider with a service, by provider ID.
    async fn point_statement(&self, round: PointRoundId) -> Result<Vec<StatementLine>, StoreError>;

    /// The person's user-identification issuance numbers, newest first.
    async fn person_issuance_numbers(
        &self,
        person: PersonId,
    ) -> Result<Vec<IssuanceNumber>, StoreError>;

    /// Records the person's claim of `kind` on their application, awaiting the registry, with
    /// `logs` in their log; a claim made already is left as it is (and `logs` not written):
    /// `Ok(true)` when it is new.
    /// Not theirs: `NotFound::PointApplication`; ended: `Conflict::Point(ApplicationEnded)`;
    /// the round not open: `Conflict::Point(RoundNotOpen)`; no points for `kind` in it:
    /// `Conflict::Point(TriggerNotOffered)`.
    async fn claim_point_trigger(
        &self,
        person: PersonId,
        application: PointApplicationId,
        kind: PointTriggerKind,
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<Result<bool, PlatformError>, StoreError>;

    /// Records the registry's answer about a trigger: asked at `at`, and registered since
    /// `registered` if it says so (an awaiting trigger then becomes registered, with `log` in
    /// the person's log). `None`: no such trigger, or its application has ended.
    async fn record_point_trigger_check(
        &self,
        application: PointApplicationId,
        kind: PointTriggerKind,
        registered: Option<UnixTime>,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x PointTrigger) -> NewLog + Sync),
    ) -> Result<Option<PointTrigger>, StoreError>;

    /// The person's triggers, by application and kind.
    async fn person_point_triggers(
        &self,
        person: PersonId,
    ) -> Result<Vec<PointTrigger>, StoreError>;

    /// Awaiting triggers of live applications in open rounds last asked about before
    /// `checked_before` (or never), oldest question first, at most `limit`: each with its
    /// person and its round's name.
    async fn awaiting_point_triggers(
        &self,
        checked_before: UnixTime,
        limit: usize,
    ) -> Result<Vec<AwaitingTrigger>, StoreError>;

    /// The person withdraws a submitted or validated application of theirs; its provider is
    /// told. Not theirs: `NotFound::PointApplication`; ended:
    /// `Conflict::Point(PointApplicationEnded)`.
    async fn withdraw_point_application(
        &self,
        person: PersonId,
        id: PointApplicationId,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x PointApplication) -> NewLog + Sync),
    ) -> Result<Result<PointApplication, PlatformError>, StoreError>;

    /// Forfeits the person's point-programme rights for `reason` (Art 27.1), in one
    /// transaction: the right to apply in every round not closed, every application in flight
    /// (its provider told), points instructed and not granted; one entry in their log.
    async fn forfeit_point_rights(
        &self,
        person: PersonId,
        reason: super::Forfeiture,
        at: UnixTime,
    ) -> Result<(), StoreError>;
}

/// Who asks for a list of applications: the provider whose services they are, or the kiosk
/// that made them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointParty {
    /// A payment provider.
    Provider(RelyingPartyId),
    /// A kiosk.
    Kiosk(RelyingPartyId),
}
