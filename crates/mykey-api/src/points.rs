//! The card-point programme (Terms Chapter 5): the secretariat's rounds and its approval of
//! payment services (`/v1/ops`), a payment provider's services and applications (`/v1/rp`),
//! what anyone may read before applying (`/v1/point-programme`) and the card holder's
//! applications (`/v1/me`).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{ConsentAsked, ConsentGiven};

/// A round as the secretariat defines it (all amounts in yen; one point is one yen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointRoundDefinition {
    /// Its name, shown to people (1 to 200 characters of plain text, unique).
    pub name: String,
    /// Percentage of each qualifying charge or purchase granted, 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub purchase_rate: u8,
    /// Most purchase points per person in the round, 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1000000)]
    pub purchase_cap: u32,
    /// Points for registering the card as a health-insurance card (Art 24); 0 for none.
    #[schema(minimum = 0, maximum = 1000000)]
    pub health_insurance_points: u32,
    /// Points for registering a public-fund receiving account (Art 25); 0 for none.
    #[schema(minimum = 0, maximum = 1000000)]
    pub public_fund_account_points: u32,
}

/// A programme round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointRound {
    /// Its ID.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Percentage of each qualifying charge or purchase granted.
    pub purchase_rate: u8,
    /// Most purchase points per person, in yen.
    pub purchase_cap: u32,
    /// Points for registering the card as a health-insurance card, in yen.
    pub health_insurance_points: u32,
    /// Points for registering a public-fund receiving account, in yen.
    pub public_fund_account_points: u32,
    /// `draft`, `open` or `closed`.
    #[schema(value_type = PointRoundState)]
    pub state: String,
    /// When it was defined.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it opened.
    #[schema(format = DateTime, required = true)]
    pub opened_at: Option<String>,
    /// When it closed.
    #[schema(format = DateTime, required = true)]
    pub closed_at: Option<String>,
}

/// A round's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PointRoundState {
    /// Defined, not yet open.
    Draft,
    /// Open for applications.
    Open,
    /// Closed: no new applications.
    Closed,
}

/// The rounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointRounds {
    /// Oldest first.
    pub rounds: Vec<PointRound>,
}

/// The shape of a service's Payment Service IDs (Art 22.1.8), checked before an application is
/// taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdShape {
    /// `digits` (0–9) or `alphanumeric` (A–Z, a–z, 0–9).
    #[schema(value_type = IdAlphabet)]
    pub alphabet: String,
    /// Shortest length, 1 to 64, the prefix included.
    #[schema(minimum = 1, maximum = 64)]
    pub min_length: u8,
    /// Longest length, `min_length` to 64.
    #[schema(minimum = 1, maximum = 64)]
    pub max_length: u8,
    /// What every ID begins with, of the alphabet (empty: nothing fixed).
    #[serde(default)]
    pub prefix: String,
    /// `none`, or `luhn` (the check digit of payment cards; digits only).
    #[serde(default = "no_check")]
    #[schema(value_type = IdCheck)]
    pub check: String,
    /// The digits (3 to 8) of the security code the service issues with each ID, which the
    /// holder gives with it and the provider checks as proof that the ID is theirs; absent or
    /// `null`: the service has none.
    #[serde(default)]
    #[schema(required = false, minimum = 3, maximum = 8)]
    pub code_digits: Option<u8>,
}

fn no_check() -> String {
    "none".into()
}

/// A Payment Service ID's characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IdAlphabet {
    /// 0–9.
    Digits,
    /// A–Z, a–z and 0–9.
    Alphanumeric,
}

/// A Payment Service ID's check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IdCheck {
    /// None.
    None,
    /// The Luhn check digit (ISO/IEC 7812-1).
    Luhn,
}

/// A cashless payment service's kind (Art 22.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentServiceKind {
    /// Electronic money.
    EMoney,
    /// QR-code payment.
    QrCode,
    /// Credit card.
    CreditCard,
}

/// A payment service's standing with the secretariat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentServiceStatus {
    /// Registered, not yet approved.
    Pending,
    /// Approved: people may choose it.
    Eligible,
    /// No longer offered: no new applications.
    Withdrawn,
}

/// A payment provider registers one of its cashless payment services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentServiceRegistration {
    /// Its name, shown to people (1 to 200 characters of plain text, unique per provider).
    pub name: String,
    /// `e-money`, `qr-code` or `credit-card`.
    #[schema(value_type = PaymentServiceKind)]
    pub kind: String,
    /// The shape of its Payment Service IDs.
    pub id_shape: IdShape,
}

/// A cashless payment service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentService {
    /// Its ID.
    pub id: i64,
    /// Its provider's name.
    pub provider: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    #[schema(value_type = PaymentServiceKind)]
    pub kind: String,
    /// The shape of its Payment Service IDs.
    pub id_shape: IdShape,
    /// `pending`, `eligible` or `withdrawn`.
    #[schema(value_type = PaymentServiceStatus)]
    pub status: String,
    /// When it was registered.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// Payment services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentServices {
    /// Oldest first.
    pub services: Vec<PaymentService>,
}

/// What anyone may read before applying: the open rounds, the eligible services, and the
/// matters of Art 23.1 an application accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointProgramme {
    /// Rounds open for applications.
    pub rounds: Vec<PointRound>,
    /// Eligible cashless payment services.
    pub services: Vec<PaymentService>,
    /// What an application consents to, under the terms in force.
    pub consent: ConsentAsked,
    /// What claiming the health-insurance points consents to (Art 24).
    pub health_insurance_consent: ConsentAsked,
    /// What claiming the public-fund-account points consents to (Art 25.1).
    pub public_fund_account_consent: ConsentAsked,
}

/// The card holder applies in a round through one eligible service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointApplicationRequest {
    /// The round's ID.
    pub round: i64,
    /// The chosen service's ID.
    pub payment_service: i64,
    /// The Payment Service ID the holder knows the service by (of its shape).
    #[schema(max_length = 64)]
    pub payment_service_user_id: String,
    /// The security code that comes with the Payment Service ID, when the service issues one
    /// (its `id_shape.code_digits` digits); passed to the provider and kept only until it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 8)]
    pub payment_service_code: Option<String>,
    /// The three matters of Art 23.1, under the terms in force.
    pub consent: ConsentGiven,
}

/// A point application's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PointApplicationState {
    /// Made; the provider has not answered.
    Submitted,
    /// The provider validated the Payment Service ID.
    Validated,
    /// The provider refused the Payment Service ID (`reason`); the holder may apply again.
    Rejected,
    /// Withdrawn by the holder: final for the round.
    Withdrawn,
    /// Forfeited under Art 27 (`reason`).
    Forfeited,
}

/// A point application as its card holder sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MyPointApplication {
    /// Its ID, 16 hexadecimal characters.
    pub id: String,
    /// The round's ID.
    pub round: i64,
    /// The round's name.
    pub round_name: String,
    /// The chosen service's ID.
    pub payment_service: i64,
    /// The chosen service's name.
    pub payment_service_name: String,
    /// Its provider's name.
    pub provider: String,
    /// The Payment Service ID given.
    pub payment_service_user_id: String,
    /// The kiosk that applied on the holder's behalf, by name.
    #[schema(required = true)]
    pub kiosk: Option<String>,
    /// Its state.
    #[schema(value_type = PointApplicationState)]
    pub state: String,
    /// The provider's reason for a rejection, or the forfeiture's.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// When it was made.
    #[schema(format = DateTime)]
    pub submitted_at: String,
    /// When the provider answered.
    #[schema(format = DateTime, required = true)]
    pub decided_at: Option<String>,
    /// When it was withdrawn or forfeited.
    #[schema(format = DateTime, required = true)]
    pub ended_at: Option<String>,
    /// The registrations claimed on it (Art 24, 25), by kind.
    #[serde(default)]
    pub triggers: Vec<PointTrigger>,
}

/// What a trigger is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PointTriggerKind {
    /// The card registered as a health-insurance card, at Mynaportal (Art 24).
    HealthInsurance,
    /// A public-fund receiving account registered (Art 25).
    PublicFundAccount,
}

/// Where a trigger stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PointTriggerState {
    /// Claimed; the registration has not been found yet (asked again while the round is open).
    AwaitingRegistration,
    /// Found: granted through the application's provider in its next batch.
    Registered,
}

/// A public-fund receiving account to register with the account registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicFundAccount {
    /// The bank code, 4 digits.
    #[schema(pattern = "^[0-9]{4}$")]
    pub bank_code: String,
    /// The branch code, 3 digits.
    #[schema(pattern = "^[0-9]{3}$")]
    pub branch_code: String,
    /// `ordinary`, `current` or `savings`.
    pub account_type: String,
    /// The account number, 7 digits.
    #[schema(pattern = "^[0-9]{7}$")]
    pub number: String,
    /// The holder's name in full-width katakana, names parted by one full-width space.
    #[schema(max_length = 30)]
    pub holder: String,
}

/// The holder claims a round's fixed points for a registration on their application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointTriggerClaim {
    /// Which registration.
    #[schema(value_type = PointTriggerKind)]
    pub kind: String,
    /// The matters of Art 24 or Art 25.1 (GET /v1/point-programme), under the terms in force.
    pub consent: ConsentGiven,
    /// For `public-fund-account`: an account to register with the registry first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<PublicFundAccount>,
}

/// A registration claimed on an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointTrigger {
    /// What for.
    #[schema(value_type = PointTriggerKind)]
    pub kind: String,
    /// Where it stands.
    #[schema(value_type = PointTriggerState)]
    pub state: String,
    /// The round's points for it, in yen.
    pub points: u64,
    /// When it was claimed.
    #[schema(format = DateTime)]
    pub claimed_at: String,
    /// When the registry was last asked.
    #[schema(format = DateTime, required = true)]
    pub checked_at: Option<String>,
    /// Since when the registration is there.
    #[schema(format = DateTime, required = true)]
    pub registered_at: Option<String>,
    /// Its grant's state once instructed: instructed, confirmed, forfeited or cancelled.
    #[schema(required = true)]
    pub grant: Option<String>,
}

/// The holder's applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MyPointApplications {
    /// Newest first.
    pub applications: Vec<MyPointApplication>,
}

/// A point application as its payment provider (or the kiosk that made it) sees it: no person,
/// no My Key ID, no issuance number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PartyPointApplication {
    /// Its ID, 16 hexadecimal characters.
    pub id: String,
    /// The round's ID.
    pub round: i64,
    /// The service's ID.
    pub payment_service: i64,
    /// The Payment Service ID the holder gave (Art 23.1.1).
    pub payment_service_user_id: String,
    /// The security code the holder gave with it, for the provider to check; `null` once
    /// answered (the platform keeps it no longer) or when the service issues none.
    #[schema(required = true)]
    pub payment_service_code: Option<String>,
    /// The kiosk that applied, by name.
    #[schema(required = true)]
    pub kiosk: Option<String>,
    /// Its state.
    #[schema(value_type = PointApplicationState)]
    pub state: String,
    /// The settlement user ID, once validated.
    #[schema(required = true)]
    pub settlement_user_id: Option<String>,
    /// The reason of a rejection or forfeiture.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// When it was made.
    #[schema(format = DateTime)]
    pub submitted_at: String,
    /// When the provider answered.
    #[schema(format = DateTime, required = true)]
    pub decided_at: Option<String>,
    /// When it was withdrawn or forfeited.
    #[schema(format = DateTime, required = true)]
    pub ended_at: Option<String>,
}

/// A page of a party's applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PartyPointApplications {
    /// In ID order.
    pub applications: Vec<PartyPointApplication>,
    /// The `after` for the next page; `null` when this page is the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// `?state=&after=&limit=`: a page of the party's applications.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PointApplicationsQuery {
    /// Only those in this state (`submitted`: the provider's queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<PointApplicationState>)]
    pub state: Option<String>,
    /// Those after this ID (the previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many, 1 to 1000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The provider's answer to an application (Art 23.1.2): valid with the settlement user ID, or
/// not valid with the reason the holder reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointValidation {
    /// Whether the Payment Service ID is the holder's.
    pub valid: bool,
    /// With `valid: true`: the provider's ID for the holder (1 to 128 printable ASCII
    /// characters), unique among its applications in the round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_user_id: Option<String>,
    /// With `valid: false`: why, for the holder (1 to 200 characters of plain text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A charge or purchase a payment provider reports for one of its validated applicants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointTransaction {
    /// The provider's settlement user ID for the applicant.
    pub settlement_user_id: String,
    /// The provider's own ID for the transaction (1 to 128 printable ASCII characters): a
    /// repeat of one it reported before is the same transaction, counted once.
    pub transaction_id: String,
    /// Its amount in yen, 1 to 10,000,000.
    #[schema(minimum = 1, maximum = 10000000)]
    pub amount: u32,
    /// When it happened (not before the application, not in the future).
    #[schema(format = DateTime)]
    pub occurred_at: String,
}

/// A report of 1 to 1000 transactions in one round, taken all or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointTransactionReport {
    /// The transactions.
    pub transactions: Vec<PointTransaction>,
}

/// What a report did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointTransactionIntake {
    /// Transactions new to the platform, now counted.
    pub accepted: u64,
    /// Transactions reported before under the same ID: not counted again.
    pub repeated: u64,
}

/// A batch of grant instructions: what the provider is to grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointGrantBatch {
    /// Its ID, 16 hexadecimal characters (random, as an application's).
    pub id: String,
    /// The round's ID.
    pub round: i64,
    /// How many of its grants stand (instructed or confirmed): what the provider grants.
    pub grants: u64,
    /// Their points in all (yen).
    pub points: u64,
    /// How many ended before confirmation (forfeited or withdrawn): not to be granted.
    pub ended_grants: u64,
    /// Their points (yen).
    pub ended_points: u64,
    /// When it was made.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the provider confirmed it.
    #[schema(format = DateTime, required = true)]
    pub confirmed_at: Option<String>,
}

/// One grant: points to give one holder, by the provider's settlement user ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointGrant {
    /// The application's ID.
    pub application: String,
    /// The provider's settlement user ID for the holder.
    pub settlement_user_id: String,
    /// `purchase`, `health-insurance` or `public-fund-account`.
    pub kind: String,
    /// Points (yen).
    pub points: u64,
    /// `instructed`, `confirmed`, `forfeited` (Art 27) or `cancelled` (withdrawn).
    pub state: String,
    /// When the provider confirmed it.
    #[schema(format = DateTime, required = true)]
    pub confirmed_at: Option<String>,
}

/// A page of a batch's grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointGrants {
    /// In the order of their applications' IDs.
    pub grants: Vec<PointGrant>,
    /// The `after` for the next page (an application ID); `null` when this page is the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// `?after=&limit=`: a page of a batch's grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PointGrantsQuery {
    /// Those of applications after this one (the previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many, 1 to 1000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// One provider's line of a round's statement; amounts and points in yen. Points instructed
/// are confirmed, ended or outstanding, to the yen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    /// The provider's relying-party ID.
    pub provider_id: i64,
    /// Its name.
    pub provider: String,
    /// Applications it validated.
    pub applications: u64,
    /// Transactions it reported.
    pub transactions: u64,
    /// Their amounts in all.
    pub amount: u64,
    /// The rate's share of them before the cap.
    pub points_reported: u64,
    /// Points instructed.
    pub points_instructed: u64,
    /// Of those, for a card registered as a health-insurance card (Art 24); the rest are the
    /// rate's share of purchases, or for a public-fund receiving account.
    pub points_health_insurance: u64,
    /// Of those, for a public-fund receiving account registered (Art 25).
    pub points_public_fund_account: u64,
    /// Of those, confirmed.
    pub points_confirmed: u64,
    /// Of those, ended unconfirmed (forfeited or withdrawn).
    pub points_ended: u64,
    /// Of those, awaiting confirmation.
    pub points_outstanding: u64,
}

/// A round's statement for the point secretariat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointStatement {
    /// The round's ID.
    pub round: i64,
    /// One line per provider, by provider ID.
    pub lines: Vec<StatementLine>,
}

/// A kiosk applies for the card holder in front of it: the card's answer to the kiosk's
/// challenge (PIN entered at the kiosk), what the holder chose, and their consent to the three
/// matters of Art 23.1, shown on the kiosk's screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskPointApplication {
    /// The challenge's nonce, base64url.
    pub nonce: String,
    /// The user-identification certificate, base64 DER.
    #[schema(content_encoding = "base64")]
    pub certificate: String,
    /// The card's signature over the nonce, base64.
    #[schema(content_encoding = "base64")]
    pub signature: String,
    /// The round's ID.
    pub round: i64,
    /// The chosen service's ID.
    pub payment_service: i64,
    /// The holder's Payment Service ID.
    #[schema(max_length = 64)]
    pub payment_service_user_id: String,
    /// Its security code, when the service issues one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 8)]
    pub payment_service_code: Option<String>,
    /// The three matters of Art 23.1, under the terms in force.
    pub consent: ConsentGiven,
}
