//! The card-point programme (Terms Chapter 5, Art 22–27; docs/architecture.md §8). The point
//! secretariat (an operator role) defines rounds and approves the cashless payment services
//! that registered payment providers register; a card holder applies in a round through one
//! eligible service with the Payment Service ID they know it by, consenting to the three
//! matters of Art 23; the provider validates that ID and answers with its settlement user ID
//! (or a reason to reject), by polling its queue or on the event pushed to it. One
//! application per person per round — the person being whom the issuance-number chain names,
//! kept across renewals and across a revoked and re-created My Key ID — is the database's rule.
//! Revoking the My Key ID forfeits the right to apply in every round not yet closed, and the
//! applications in flight (Art 27.1.1), told to their providers. A provider sees only its own
//! applications, under their random IDs, and never an issuance number, a My Key ID or a person.

use std::fmt;
use std::str::FromStr;

use mykey_pki::UnixTime;

use crate::{ConsentItem, IdError, InvalidError, PlatformError, RelyingPartyId};

/// The matters of Art 23.1 a card holder accepts by applying for card points.
pub const POINT_CONSENT: [ConsentItem; 3] = [
    ConsentItem {
        name: "points.payment-service-id-to-provider",
        text: "Your Payment Service ID is provided to the payment provider of the service you chose (Art 23.1.1).",
    },
    ConsentItem {
        name: "points.validation-and-settlement-user-id",
        text: "The platform receives from that provider the result of its validation of your Payment Service ID and the settlement user ID it knows you by (Art 23.1.2).",
    },
    ConsentItem {
        name: "points.application-to-provider",
        text: "Your settlement user ID and your card-point application are provided to that provider, which grants the points (Art 23.1.3).",
    },
];

/// Most applications, rounds or services in one page of a list.
pub const MAX_POINT_PAGE: usize = 1000;

/// Most payment services one provider registers.
pub const MAX_PAYMENT_SERVICES: usize = 100;

macro_rules! int_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// The ID as the store keeps it.
            pub const fn new(n: i64) -> Self {
                Self(n)
            }

            /// The number.
            pub const fn get(self) -> i64 {
                self.0
            }
        }
    };
}

int_id!(
    /// A cashless payment service's ID.
    PaymentServiceId
);
int_id!(
    /// A programme round's ID.
    PointRoundId
);

/// A point application's ID: 63 bits, shown as 16 lower-case hexadecimal characters — the
/// minute it was made (26 bits, Unix minutes, enough until 2097) and then 37 random bits.
///
/// The random part means a provider learns nothing of how many applications others receive;
/// the minute tells no one more than the application's own `submitted_at`. The minute first
/// puts the applications of one minute side by side in the primary key's B-tree: in a round
/// of tens of millions a new application lands on the few pages of the current minute, not on
/// a random page of the whole index (which would be read in, written back, and copied whole
/// into the write-ahead log after each checkpoint — docs/architecture.md §8.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PointApplicationId(i64);

/// Bits of a [`PointApplicationId`] after its minute.
const RANDOM_BITS: u32 = 37;

impl PointApplicationId {
    /// A fresh ID for an application made `at`. Two made in the same minute meet once in
    /// 2³⁷ draws: the store refuses the second, and [`Self::fresh`]'s callers draw again.
    pub(crate) fn fresh(at: UnixTime, rng: &dyn crate::Rng) -> Self {
        let last_minute = (1u64 << (63 - RANDOM_BITS)) - 1;
        let minute = (at.as_secs() / 60).min(last_minute);
        let random = u64::from_be_bytes(rng.bytes::<8>()) >> (64 - RANDOM_BITS);
        Self(i64::try_from(minute << RANDOM_BITS | random).unwrap_or(i64::MAX))
    }

    /// The ID as the store keeps it.
    pub const fn new(n: i64) -> Self {
        Self(n)
    }

    /// The number.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for PointApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for PointApplicationId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.len() != 16 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(IdError::PointApplication);
        }
        i64::from_str_radix(s, 16)
            .map(Self)
            .map_err(|_| IdError::PointApplication)
    }
}

/// Defines a closed set of names as an enum with `as_str`, `parse` and `ALL`.
macro_rules! named {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $v),+
        }

        impl $name {
            /// Every value, in a fixed order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The name used in the API and the store.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s),+
                }
            }

            /// From [`Self::as_str`].
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

mod grants;
mod kiosk;
mod programme;
mod store;
mod triggers;

pub use grants::{
    MAX_TRANSACTION_YEN, MAX_TRANSACTIONS_PER_REPORT, NewPointTransaction, PointGrant,
    PointGrantBatch, PointGrantKind, PointGrantState, REPORTING_SECS_AFTER_CLOSE, StatementLine,
    TRANSACTION_CLOCK_SKEW_SECS, TransactionIntake,
};
pub use kiosk::KioskChoice;
pub(crate) use programme::ChoiceCache;
pub use programme::{PointProgramme, forfeiture_log};
pub use store::{NewPointApplication, PointParty, PointStore, ValidationAnswer};
pub use triggers::{
    AccountType, AwaitingTrigger, HEALTH_INSURANCE_CONSENT, PUBLIC_FUND_ACCOUNT_CONSENT,
    PointRegistries, PointTrigger, PointTriggerKind, PointTriggerState, PublicFundAccount,
    RegistryUnavailable, TRIGGER_SWEEP_BATCH, TriggerSweep,
};

named!(
    /// What kind of cashless payment a service is (Art 22.1.4).
    PaymentServiceKind {
        /// Electronic money.
        EMoney => "e-money",
        /// A QR-code payment.
        QrCode => "qr-code",
        /// A credit card.
        CreditCard => "credit-card",
    }
);

named!(
    /// Where a payment service stands with the point secretariat.
    PaymentServiceStatus {
        /// Registered by its provider, not yet approved: people cannot choose it.
        Pending => "pending",
        /// Approved: an eligible cashless payment service (Art 22.1.6).
        Eligible => "eligible",
        /// No longer offered: no new applications; those made stand.
        Withdrawn => "withdrawn",
    }
);

named!(
    /// The characters a Payment Service ID is made of.
    IdAlphabet {
        /// 0–9.
        Digits => "digits",
        /// A–Z, a–z and 0–9.
        Alphanumeric => "alphanumeric",
    }
);

named!(
    /// The check a Payment Service ID's last character carries.
    IdCheck {
        /// None.
        None => "none",
        /// The Luhn check digit (ISO/IEC 7812-1, as on payment cards); digits only.
        Luhn => "luhn",
    }
);

named!(
    /// A programme round's state.
    PointRoundState {
        /// Defined, not yet open: nobody may apply.
        Draft => "draft",
        /// Open for applications.
        Open => "open",
        /// Closed: no new applications.
        Closed => "closed",
    }
);

named!(
    /// A point application's state.
    PointApplicationState {
        /// Made; the provider has not answered yet.
        Submitted => "submitted",
        /// The provider validated the Payment Service ID and gave its settlement user ID.
        Validated => "validated",
        /// The provider refused the Payment Service ID, with its reason; the person may apply
        /// again in the round.
        Rejected => "rejected",
        /// Withdrawn by the person: final for the round.
        Withdrawn => "withdrawn",
        /// Forfeited under Art 27.
        Forfeited => "forfeited",
    }
);

named!(
    /// Why the right to apply, and to points not yet granted, was forfeited (Art 27.1).
    Forfeiture {
        /// The person revoked their My Key ID (Art 27.1.1).
        MyKeyIdRevoked => "my-key-id-revoked",
        /// The person broke the Terms (Art 27.1.2).
        TermsViolation => "terms-violation",
        /// The system's operation ended (Art 27.1.3).
        SystemTerminated => "system-terminated",
    }
);

/// The shape of a service's Payment Service IDs (Art 22.1.8): checked before the application is
/// taken, so that a mistyped ID is told at once rather than by the provider's rejection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdShape {
    /// Its characters.
    pub alphabet: IdAlphabet,
    /// Its shortest length, 1 to 64, the prefix included.
    pub min_length: u8,
    /// Its longest length, `min_length` to 64.
    pub max_length: u8,
    /// What every ID begins with (of the alphabet; may be empty).
    pub prefix: String,
    /// Its check digit.
    pub check: IdCheck,
    /// The digits of the security code the service issues with each ID (3 to 8), which the
    /// holder gives with it and the provider checks: proof that the ID is theirs. `None`: the
    /// service has none (its validation must prove possession another way).
    pub code_digits: Option<u8>,
}

impl IdShape {
    /// A shape, if it is one some ID can have.
    pub fn new(
        alphabet: IdAlphabet,
        min_length: u8,
        max_length: u8,
        prefix: String,
        check: IdCheck,
        code_digits: Option<u8>,
    ) -> Result<Self, PlatformError> {
        let bad = |why| Err(PlatformError::Invalid(InvalidError::PointRequest(why)));
        if !(1..=64).contains(&min_length) || !(min_length..=64).contains(&max_length) {
            return bad("a Payment Service ID is 1 to 64 characters: min_length ≤ max_length ≤ 64");
        }
        if !prefix.chars().all(|c| alphabet.admits(c)) {
            return bad("the prefix must be of the alphabet");
        }
        if prefix.len() >= usize::from(max_length) {
            return bad("the prefix must be shorter than max_length");
        }
        if check == IdCheck::Luhn && alphabet != IdAlphabet::Digits {
            return bad("a Luhn check digit needs the digits alphabet");
        }
        if check == IdCheck::Luhn && max_length < 2 {
            return bad("a Luhn-checked ID is at least 2 digits");
        }
        if code_digits.is_some_and(|d| !(3..=8).contains(&d)) {
            return bad("a security code is 3 to 8 digits");
        }
        Ok(Self {
            alphabet,
            min_length,
            max_length,
            prefix,
            check,
            code_digits,
        })
    }

    /// Whether `code` is what the service's IDs come with: its digits when it has a code,
    /// nothing when it has none.
    pub fn check_code(&self, code: Option<&str>) -> Result<(), PlatformError> {
        let bad = |why| {
            Err(PlatformError::Invalid(InvalidError::PaymentServiceUserId(
                why,
            )))
        };
        match (self.code_digits, code) {
            (None, None) => Ok(()),
            (None, Some(_)) => bad("the service issues no security code"),
            (Some(_), None) => bad("the service's security code is missing"),
            (Some(d), Some(c)) => {
                if c.len() == usize::from(d) && c.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(())
                } else {
                    bad("the security code is not of the service's digits")
                }
            }
        }
    }

    /// Whether `id` has this shape; if not, what is wrong, in words for the person.
    pub fn check(&self, id: &str) -> Result<(), PlatformError> {
        let bad = |why| {
            Err(PlatformError::Invalid(InvalidError::PaymentServiceUserId(
                why,
            )))
        };
        let len = id.chars().count();
        if len < usize::from(self.min_length) || len > usize::from(self.max_length) {
            return bad("it is not of the service's length");
        }
        if !id.chars().all(|c| self.alphabet.admits(c)) {
            return bad("it has characters the service's IDs do not have");
        }
        if !id.starts_with(&self.prefix) {
            return bad("it does not begin as the service's IDs do");
        }
        if self.check == IdCheck::Luhn && !luhn(id) {
            return bad("its check digit is wrong");
        }
        Ok(())
    }
}

impl IdAlphabet {
    fn admits(self, c: char) -> bool {
        match self {
            IdAlphabet::Digits => c.is_ascii_digit(),
            IdAlphabet::Alphanumeric => c.is_ascii_alphanumeric(),
        }
    }
}

/// Whether the digits of `s` pass the Luhn check (the last digit is the check digit).
fn luhn(s: &str) -> bool {
    let sum: u32 = s
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A settlement user ID (Art 22.1.9): the provider's own ID for the person, 1 to 128 printable
/// ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SettlementUserId(String);

impl SettlementUserId {
    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SettlementUserId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IdError::SettlementUserId);
        }
        Ok(Self(s.to_owned()))
    }
}

/// A cashless payment service as registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentService {
    /// Its ID.
    pub id: PaymentServiceId,
    /// Its provider.
    pub provider: RelyingPartyId,
    /// Its provider's name, shown to people.
    pub provider_name: String,
    /// Its name, shown to people.
    pub name: String,
    /// Its kind.
    pub kind: PaymentServiceKind,
    /// The shape of its Payment Service IDs.
    pub shape: IdShape,
    /// Where it stands with the secretariat.
    pub status: PaymentServiceStatus,
    /// When it was registered.
    pub created_at: UnixTime,
}

/// A service its provider registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPaymentService {
    /// Its name (as a relying party's name: `names.rs`).
    pub name: String,
    /// Its kind.
    pub kind: PaymentServiceKind,
    /// The shape of its Payment Service IDs.
    pub shape: IdShape,
}

/// What a round grants, in yen (one point is one yen).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointRoundTerms {
    /// Percentage of each qualifying charge or purchase granted, 1 to 100.
    pub purchase_rate: u8,
    /// Most purchase points per person in the round, 1 to 1,000,000.
    pub purchase_cap: u32,
    /// Points for registering the card as a health-insurance card (Art 24); 0: none.
    pub health_insurance_points: u32,
    /// Points for registering a public-fund receiving account (Art 25); 0: none.
    pub public_fund_account_points: u32,
}

impl PointRoundTerms {
    /// Largest cap or fixed grant a round may name.
    pub const MAX_YEN: u32 = 1_000_000;

    pub(crate) fn check(&self) -> Result<(), PlatformError> {
        let bad = |why| Err(PlatformError::Invalid(InvalidError::PointRequest(why)));
        if !(1..=100).contains(&self.purchase_rate) {
            return bad("purchase_rate is a percentage, 1 to 100");
        }
        if !(1..=Self::MAX_YEN).contains(&self.purchase_cap) {
            return bad("purchase_cap is 1 to 1,000,000 yen");
        }
        if self.health_insurance_points > Self::MAX_YEN
            || self.public_fund_account_points > Self::MAX_YEN
        {
            return bad("fixed points are 0 to 1,000,000 yen");
        }
        Ok(())
    }
}

/// A programme round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointRound {
    /// Its ID.
    pub id: PointRoundId,
    /// Its name, shown to people.
    pub name: String,
    /// What it grants.
    pub terms: PointRoundTerms,
    /// Draft, open or closed.
    pub state: PointRoundState,
    /// When it was defined.
    pub created_at: UnixTime,
    /// When it opened.
    pub opened_at: Option<UnixTime>,
    /// When it closed.
    pub closed_at: Option<UnixTime>,
}

/// A point application, as its person, its provider or its kiosk sees it (each is shown only
/// what it may see by the edge that answers it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointApplication {
    /// Its ID.
    pub id: PointApplicationId,
    /// The round.
    pub round: PointRoundId,
    /// The round's name.
    pub round_name: String,
    /// The chosen service.
    pub service: PaymentServiceId,
    /// The service's name.
    pub service_name: String,
    /// The service's provider.
    pub provider: RelyingPartyId,
    /// The provider's name.
    pub provider_name: String,
    /// The Payment Service ID the person gave.
    pub payment_service_user_id: String,
    /// The security code the person gave with it, until the provider answers.
    pub payment_service_code: Option<String>,
    /// The kiosk that applied on the person's behalf, by name.
    pub kiosk: Option<String>,
    /// Its state.
    pub state: PointApplicationState,
    /// The provider's settlement user ID, once validated.
    pub settlement_user_id: Option<SettlementUserId>,
    /// The provider's reason for a rejection, or the forfeiture's.
    pub reason: Option<String>,
    /// When it was made.
    pub submitted_at: UnixTime,
    /// When the provider answered.
    pub decided_at: Option<UnixTime>,
    /// When it was withdrawn or forfeited.
    pub ended_at: Option<UnixTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(alphabet: IdAlphabet, min: u8, max: u8, prefix: &str, check: IdCheck) -> IdShape {
        IdShape::new(alphabet, min, max, prefix.into(), check, None).expect("a shape")
    }

    /// Every byte it gives is `0xff`: the largest random part an ID can have.
    struct Highest;

    impl crate::Rng for Highest {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(0xff);
        }
    }

    /// Every byte it gives is zero: the smallest.
    struct Lowest;

    impl crate::Rng for Lowest {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(0);
        }
    }

    #[test]
    fn application_ids_begin_with_their_minute() {
        // 2026-12-07T16:00:00Z, a minute's start.
        let at = UnixTime::from_secs(1_796_659_200);
        let minute = i64::try_from(at.as_secs() / 60).expect("fits");
        let first = PointApplicationId::fresh(at, &Lowest);
        assert_eq!(first.get(), minute << 37);
        let last = PointApplicationId::fresh(at.plus(59), &Highest);
        assert_eq!(last.get(), (minute << 37) | ((1 << 37) - 1));
        // A later minute sorts after everything of the one before.
        assert!(PointApplicationId::fresh(at.plus(60), &Lowest) > last);
        // The random part is random: two draws in one second differ.
        let rng = mykey_pki::SystemRng;
        let (a, b) = (
            PointApplicationId::fresh(at, &rng),
            PointApplicationId::fresh(at, &rng),
        );
        assert_ne!(a, b);
        assert_eq!(a.get() >> 37, minute);
        // Past 2097 the minute stays at its last value: still a positive ID that reads back.
        let far = PointApplicationId::fresh(UnixTime::from_secs(u64::MAX), &Highest);
        assert_eq!(far.get(), i64::MAX);
        assert_eq!(far.to_string().parse::<PointApplicationId>(), Ok(far));
    }

    #[test]
    fn payment_service_ids_are_checked_against_the_shape() {
        let card = shape(IdAlphabet::Digits, 16, 16, "4", IdCheck::Luhn);
        card.check("4111111111111111").expect("a valid card number");
        for bad in [
            "4111111111111112",
            "411111111111111",
            "5111111111111118",
            "4111 11111111111",
        ] {
            assert!(card.check(bad).is_err(), "{bad}");
        }
        let wallet = shape(IdAlphabet::Alphanumeric, 8, 12, "JE", IdCheck::None);
        wallet.check("JE12ab34").expect("an e-money ID");
        for bad in [
            "JE12ab3",
            "XE12ab34",
            "JE12ab34-",
            "JE１２ab34",
            "JE12ab34567890",
        ] {
            assert!(wallet.check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_impossible_shape_is_refused() {
        let new = |a, min, max, p: &str, c| IdShape::new(a, min, max, p.into(), c, None);
        assert!(new(IdAlphabet::Digits, 0, 4, "", IdCheck::None).is_err());
        assert!(new(IdAlphabet::Digits, 5, 4, "", IdCheck::None).is_err());
        assert!(new(IdAlphabet::Digits, 4, 65, "", IdCheck::None).is_err());
        assert!(new(IdAlphabet::Digits, 4, 8, "A", IdCheck::None).is_err());
        assert!(new(IdAlphabet::Digits, 4, 4, "1234", IdCheck::None).is_err());
        assert!(new(IdAlphabet::Alphanumeric, 4, 8, "", IdCheck::Luhn).is_err());
        let code = |d| {
            IdShape::new(
                IdAlphabet::Digits,
                4,
                8,
                String::new(),
                IdCheck::None,
                Some(d),
            )
        };
        assert!(code(2).is_err() && code(9).is_err());
        let four = code(4).expect("a shape with a 4-digit code");
        four.check_code(Some("0123")).expect("its code");
        for bad in [None, Some("123"), Some("12345"), Some("12a4")] {
            assert!(four.check_code(bad).is_err(), "{bad:?}");
        }
        let none = shape(IdAlphabet::Digits, 4, 4, "", IdCheck::None);
        assert!(none.check_code(Some("1234")).is_err());
        none.check_code(None).expect("no code");
    }

    #[test]
    fn application_ids_read_back_and_refuse_other_text() {
        let id = PointApplicationId::fresh(UnixTime::now(), &mykey_pki::SystemRng);
        assert!(id.get() >= 0);
        assert_eq!(id.to_string().parse::<PointApplicationId>(), Ok(id));
        for bad in [
            "",
            "0123",
            "0123456789ABCDEF",
            "ffffffffffffffff",
            "-123456789abcdef",
        ] {
            assert!(bad.parse::<PointApplicationId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn settlement_user_ids_are_printable_ascii() {
        assert!("u-0001".parse::<SettlementUserId>().is_ok());
        for bad in ["", "a b", "利用者", &"x".repeat(129)] {
            assert!(bad.parse::<SettlementUserId>().is_err(), "{bad}");
        }
    }
}
