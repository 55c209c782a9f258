//! Card points granted (Art 22.1.1, 23.1.3): a payment provider reports the charges and
//! purchases of its validated applicants by settlement user ID, with its own transaction ID (a
//! repeated ID is the same transaction, counted once); the platform works out, in batches the
//! provider asks for, the points due — each transaction's amount times the round's rate,
//! rounded down, within what remains of the round's cap per person — and tells the provider
//! what to grant; the provider confirms the batch. The secretariat reads a statement per round
//! and provider that reconciles to the yen.

use mykey_pki::UnixTime;
use serde_json::json;

use super::{PointApplicationId, PointRoundId, SettlementUserId};
use crate::{InvalidError, NewLog, Platform, PlatformError, RelyingParty};

/// Most transactions in one report.
pub const MAX_TRANSACTIONS_PER_REPORT: usize = 1000;

/// Largest amount of one charge or purchase, in yen.
pub const MAX_TRANSACTION_YEN: u32 = 10_000_000;

/// How far ahead of the platform's clock a transaction's time may be (the provider's clock
/// may run a little fast).
pub const TRANSACTION_CLOCK_SKEW_SECS: u64 = 300;

/// How long after a round closes its providers may still report the charges and purchases made
/// while it was open (30 days); later reports are refused with
/// [`PointConflict::ReportingEnded`](crate::PointConflict::ReportingEnded). Batches go on.
pub const REPORTING_SECS_AFTER_CLOSE: u64 = 30 * 86_400;

/// A charge or purchase a provider reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPointTransaction {
    /// Whose: the provider's settlement user ID for the applicant.
    pub settlement_user_id: SettlementUserId,
    /// The provider's own ID for the transaction, 1 to 128 printable ASCII characters.
    pub transaction_id: String,
    /// Its amount in yen, 1 to [`MAX_TRANSACTION_YEN`].
    pub amount: u32,
    /// When it happened.
    pub occurred_at: UnixTime,
}

/// What a report did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionIntake {
    /// Transactions new to the platform, now counted.
    pub accepted: u64,
    /// Transactions whose ID the provider had reported before: not counted again.
    pub repeated: u64,
}

/// A batch of grant instructions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointGrantBatch {
    /// Its ID.
    pub id: i64,
    /// The round.
    pub round: PointRoundId,
    /// How many of its grants stand (instructed or confirmed): what the provider grants.
    pub grants: u64,
    /// Their points in all, in yen.
    pub points: u64,
    /// How many ended before the provider confirmed them (forfeited or withdrawn): not to be
    /// granted.
    pub ended_grants: u64,
    /// Their points, in yen.
    pub ended_points: u64,
    /// When it was made.
    pub created_at: UnixTime,
    /// When the provider confirmed it.
    pub confirmed_at: Option<UnixTime>,
}

named!(
    /// What a grant is for.
    PointGrantKind {
        /// The round's share of charges and purchases.
        Purchase => "purchase",
        /// Registering the card as a health-insurance card (Art 24).
        HealthInsurance => "health-insurance",
        /// Registering a public-fund receiving account (Art 25).
        PublicFundAccount => "public-fund-account",
    }
);

named!(
    /// A grant's state.
    PointGrantState {
        /// The platform told the provider to grant it.
        Instructed => "instructed",
        /// The provider granted it.
        Confirmed => "confirmed",
        /// Forfeited before the provider granted it (Art 27).
        Forfeited => "forfeited",
        /// The holder withdrew the application before the provider granted it.
        Cancelled => "cancelled",
    }
);

/// One grant instruction: one per application, batch and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointGrant {
    /// Its batch.
    pub batch: i64,
    /// The application.
    pub application: PointApplicationId,
    /// The provider's settlement user ID for the holder.
    pub settlement_user_id: SettlementUserId,
    /// What for.
    pub kind: PointGrantKind,
    /// How many points (yen).
    pub points: u64,
    /// Its state.
    pub state: PointGrantState,
    /// When the provider confirmed it.
    pub confirmed_at: Option<UnixTime>,
}

/// One provider's line of a round's statement, in yen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementLine {
    /// The provider.
    pub provider: crate::RelyingPartyId,
    /// Its name.
    pub provider_name: String,
    /// Applications it validated (in any state since).
    pub applications: u64,
    /// Transactions it reported.
    pub transactions: u64,
    /// Their amounts in all.
    pub amount: u64,
    /// Their points before the cap (the rate's share, rounded down per transaction).
    pub points_reported: u64,
    /// Points instructed.
    pub points_instructed: u64,
    /// Of those, for a card registered as a health-insurance card (Art 24).
    pub points_health_insurance: u64,
    /// Of those, for a public-fund receiving account registered (Art 25).
    pub points_public_fund_account: u64,
    /// Of those, confirmed by the provider.
    pub points_confirmed: u64,
    /// Of those, ended unconfirmed (forfeited or withdrawn).
    pub points_ended: u64,
    /// Of those, still to be confirmed.
    pub points_outstanding: u64,
}

impl Platform {
    /// A provider reports up to [`MAX_TRANSACTIONS_PER_REPORT`] charges or purchases of its
    /// validated applicants in `round`. All or nothing: an amount of 0 or over
    /// [`MAX_TRANSACTION_YEN`], a time in the future, before the application or after the round
    /// closed, a settlement user ID none of its applications in the round has, or one whose
    /// application has ended, refuses the report, naming the first such transaction. Past
    /// [`REPORTING_SECS_AFTER_CLOSE`] after the round closed, no report is taken.
    pub async fn report_point_transactions(
        &self,
        rp: &RelyingParty,
        round: PointRoundId,
        transactions: &[NewPointTransaction],
    ) -> Result<TransactionIntake, PlatformError> {
        self.refuse_after_termination().await?;
        Self::payment_provider(rp)?;
        if transactions.is_empty() || transactions.len() > MAX_TRANSACTIONS_PER_REPORT {
            return Err(PlatformError::Invalid(InvalidError::PointRequest(
                "a report holds 1 to 1000 transactions",
            )));
        }
        let now = self.clock.now();
        let latest = now.plus(TRANSACTION_CLOCK_SKEW_SECS);
        for (index, t) in transactions.iter().enumerate() {
            let bad = |why| {
                Err(PlatformError::Invalid(InvalidError::PointTransaction {
                    index,
                    why,
                }))
            };
            if t.amount == 0 || t.amount > MAX_TRANSACTION_YEN {
                return bad("amount is 1 to 10,000,000 yen");
            }
            if t.occurred_at > latest {
                return bad("occurred_at is in the future");
            }
            if t.transaction_id.is_empty()
                || t.transaction_id.len() > 128
                || !t.transaction_id.bytes().all(|b| b.is_ascii_graphic())
            {
                return bad("transaction_id is 1 to 128 printable ASCII characters");
            }
        }
        self.store
            .report_point_transactions(rp.id, round, transactions, now)
            .await?
    }

    /// The provider asks what to grant in `round`: a new batch of the points due on every
    /// transaction not yet counted, per application within what remains of the round's cap.
    pub async fn instruct_point_grants(
        &self,
        rp: &RelyingParty,
        round: PointRoundId,
    ) -> Result<PointGrantBatch, PlatformError> {
        self.refuse_after_termination().await?;
        Self::payment_provider(rp)?;
        self.grant_batches
            .take(rp.id, &round.get().to_string(), self.clock.now())?;
        // A random ID, as the applications', so that a provider learns nothing of others'.
        let id = i64::from_be_bytes(self.rng.bytes::<8>()) & i64::MAX;
        self.store
            .instruct_point_grants(rp.id, round, id, self.clock.now())
            .await?
    }

    /// A page of a batch's grants, in the order of their applications' IDs after `after`.
    pub async fn point_grants(
        &self,
        rp: &RelyingParty,
        batch: i64,
        after: Option<PointApplicationId>,
        limit: usize,
    ) -> Result<Vec<PointGrant>, PlatformError> {
        Self::payment_provider(rp)?;
        if !(1..=super::MAX_POINT_PAGE).contains(&limit) {
            return Err(PlatformError::Invalid(InvalidError::PointRequest(
                "limit is 1 to 1000",
            )));
        }
        self.store.point_grants(rp.id, batch, after, limit).await?
    }

    /// The provider confirms it granted a batch's instructed grants; each holder's log records
    /// theirs. Once.
    pub async fn confirm_point_grants(
        &self,
        rp: &RelyingParty,
        batch: i64,
    ) -> Result<PointGrantBatch, PlatformError> {
        self.refuse_after_termination().await?;
        Self::payment_provider(rp)?;
        let log = |round: &str, points: u64, kind: PointGrantKind| {
            NewLog::new(
                crate::LogKind::PointGranted,
                json!({
                    "round": round,
                    "relying_party": rp.name,
                    "points": points,
                    "grant": kind.as_str(),
                }),
            )
        };
        self.store
            .confirm_point_grants(rp.id, batch, self.clock.now(), &log)
            .await?
    }

    /// The secretariat's statement of `round`: one line per provider.
    pub async fn point_statement(
        &self,
        round: PointRoundId,
    ) -> Result<Vec<StatementLine>, PlatformError> {
        self.store
            .point_round(round)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::PointRound))?;
        Ok(self.store.point_statement(round).await?)
    }
}
