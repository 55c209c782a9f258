//! The fixed points of a round for using the card as a health-insurance card (Art 24) and for
//! registering a public-fund receiving account (Art 25): the triggers. The holder claims one on
//! their application, consenting to what the article says goes where; the platform then asks
//! Mynaportal (the issuance number) or the public-fund account registry (the issuance number and
//! the previous ones) whether the registration is there — at once, and again by a sweep until it
//! is or the round closes. A registered trigger is granted, once, through the provider the
//! holder chose, in that provider's next grant batch. The holder may register the account in
//! the same request: its shape is checked here, then by the registry, and the platform keeps
//! nothing of it but the registry's answer.

use mykey_pki::{IssuanceNumber, UnixTime};
use serde_json::json;

use super::{PointApplicationId, PointApplicationState, PointGrantKind, PointGrantState};
use crate::{
    Conflict, ConsentItem, InvalidError, NewConsent, NewLog, NotFound, PersonId, Platform,
    PlatformError, PointConflict, Session,
};

/// What a holder accepts by claiming the health-insurance points (Art 24).
pub const HEALTH_INSURANCE_CONSENT: [ConsentItem; 1] = [ConsentItem {
    name: "points.issuance-number-to-mynaportal",
    text: "The issuance number of your user-identification certificate is provided to Mynaportal, which tells the platform whether your card is registered as a health-insurance card (Art 24).",
}];

/// What a holder accepts by claiming the public-fund-account points (Art 25.1).
pub const PUBLIC_FUND_ACCOUNT_CONSENT: [ConsentItem; 2] = [
    ConsentItem {
        name: "points.issuance-numbers-to-account-registry",
        text: "The issuance number of your user-identification certificate and its previous issuance numbers (and the account, if you register one here) are provided to the system that registers public-fund receiving accounts (Art 25.1.1).",
    },
    ConsentItem {
        name: "points.account-registration-from-registry",
        text: "The platform receives from that system whether a public-fund receiving account is registered for you (Art 25.1.2).",
    },
];

/// Most awaiting triggers one sweep asks about.
pub const TRIGGER_SWEEP_BATCH: usize = 200;

named!(
    /// What a trigger is for.
    PointTriggerKind {
        /// The card registered as a health-insurance card, at Mynaportal (Art 24).
        HealthInsurance => "health-insurance",
        /// A public-fund receiving account registered (Art 25).
        PublicFundAccount => "public-fund-account",
    }
);

named!(
    /// Where a trigger stands.
    PointTriggerState {
        /// Claimed; the registration has not been found yet (asked again by the sweep while
        /// the round is open).
        Awaiting => "awaiting-registration",
        /// The registration was found: granted in the provider's next batch.
        Registered => "registered",
    }
);

named!(
    /// The kind of a deposit account (普通, 当座, 貯蓄).
    AccountType {
        /// 普通預金.
        Ordinary => "ordinary",
        /// 当座預金.
        Current => "current",
        /// 貯蓄預金.
        Savings => "savings",
    }
);

impl PointTriggerKind {
    /// The grant it leads to.
    pub fn grant_kind(self) -> PointGrantKind {
        match self {
            Self::HealthInsurance => PointGrantKind::HealthInsurance,
            Self::PublicFundAccount => PointGrantKind::PublicFundAccount,
        }
    }

    /// What claiming it consents to.
    pub fn consent(self) -> &'static [ConsentItem] {
        match self {
            Self::HealthInsurance => &HEALTH_INSURANCE_CONSENT,
            Self::PublicFundAccount => &PUBLIC_FUND_ACCOUNT_CONSENT,
        }
    }

    /// Who is asked, as the holder's log names it.
    pub fn registry(self) -> &'static str {
        match self {
            Self::HealthInsurance => "mynaportal",
            Self::PublicFundAccount => "account-registry",
        }
    }
}

/// A public-fund receiving account, of the shape Japanese banks give: bank code 4 digits,
/// branch code 3, the account's type, its number 7 digits, and the holder's name in full-width
/// katakana (a full-width space between names).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicFundAccount {
    bank_code: String,
    branch_code: String,
    account_type: AccountType,
    number: String,
    holder: String,
}

impl std::fmt::Debug for PublicFundAccount {
    /// Only the bank and branch: an account number is not for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicFundAccount")
            .field("bank_code", &self.bank_code)
            .field("branch_code", &self.branch_code)
            .finish_non_exhaustive()
    }
}

/// Most characters of an account holder's name (the Zengin format's 30).
const MAX_HOLDER_CHARS: usize = 30;

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Full-width katakana (ァ to ヺ, and ー), names parted by single full-width spaces.
fn katakana_name(s: &str) -> bool {
    let kana = |c: char| matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー');
    !s.is_empty()
        && s.chars().count() <= MAX_HOLDER_CHARS
        && s.split('\u{3000}')
            .all(|part| !part.is_empty() && part.chars().all(kana))
}

impl PublicFundAccount {
    /// Checks every part: `InvalidError::PublicFundAccount` names the first one wrong.
    pub fn new(
        bank_code: &str,
        branch_code: &str,
        account_type: &str,
        number: &str,
        holder: &str,
    ) -> Result<Self, PlatformError> {
        let bad = |field, why| {
            Err(PlatformError::Invalid(InvalidError::PublicFundAccount {
                field,
                why,
            }))
        };
        if !digits(bank_code, 4) {
            return bad("bank_code", "a bank code is 4 digits");
        }
        if !digits(branch_code, 3) {
            return bad("branch_code", "a branch code is 3 digits");
        }
        let Some(account_type) = AccountType::parse(account_type) else {
            return bad("account_type", "ordinary, current or savings");
        };
        if !digits(number, 7) {
            return bad("number", "an account number is 7 digits");
        }
        if !katakana_name(holder) {
            return bad(
                "holder",
                "the holder's name in full-width katakana, 1 to 30 characters, names parted by one full-width space",
            );
        }
        Ok(Self {
            bank_code: bank_code.to_owned(),
            branch_code: branch_code.to_owned(),
            account_type,
            number: number.to_owned(),
            holder: holder.to_owned(),
        })
    }

    /// The bank code.
    pub fn bank_code(&self) -> &str {
        &self.bank_code
    }

    /// The branch code.
    pub fn branch_code(&self) -> &str {
        &self.branch_code
    }

    /// The account's type.
    pub fn account_type(&self) -> AccountType {
        self.account_type
    }

    /// The account number.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The holder's name.
    pub fn holder(&self) -> &str {
        &self.holder
    }
}

/// Mynaportal or the account registry could not be asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("registry unavailable: {0}")]
pub struct RegistryUnavailable(pub String);

/// What the platform asks Mynaportal and the public-fund account registry.
#[async_trait::async_trait]
pub trait PointRegistries: Send + Sync + 'static {
    /// Mynaportal: since when the card of user-identification certificate `n` is registered
    /// as a health-insurance card (Art 24), if it is.
    async fn health_insurance(
        &self,
        n: IssuanceNumber,
    ) -> Result<Option<UnixTime>, RegistryUnavailable>;

    /// The account registry: since when a public-fund receiving account is registered for the
    /// holder of `numbers` (the current issuance number and the previous ones, Art 25.1.1).
    async fn public_fund_account(
        &self,
        numbers: &[IssuanceNumber],
    ) -> Result<Option<UnixTime>, RegistryUnavailable>;

    /// The account registry registers `account` for the holder of `n`. `Ok(Err(why))`: it
    /// refused the account.
    async fn register_public_fund_account(
        &self,
        n: IssuanceNumber,
        account: &PublicFundAccount,
    ) -> Result<Result<UnixTime, String>, RegistryUnavailable>;
}

/// A trigger claimed on an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointTrigger {
    /// The application (and so the round and the provider that grants).
    pub application: PointApplicationId,
    /// What for.
    pub kind: PointTriggerKind,
    /// Where it stands.
    pub state: PointTriggerState,
    /// The round's fixed points for it, in yen.
    pub points: u64,
    /// When the holder claimed it.
    pub claimed_at: UnixTime,
    /// When the registry was last asked.
    pub checked_at: Option<UnixTime>,
    /// Since when the registration is there, as the registry said.
    pub registered_at: Option<UnixTime>,
    /// Its grant's state, once instructed.
    pub grant: Option<PointGrantState>,
}

/// What a sweep of awaiting triggers did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TriggerSweep {
    /// Triggers asked about.
    pub checked: usize,
    /// Found registered.
    pub registered: usize,
    /// Not asked: the registry could not be reached.
    pub unavailable: usize,
}

impl Platform {
    fn registries(&self) -> Result<&dyn PointRegistries, PlatformError> {
        self.registries.as_deref().ok_or_else(|| {
            PlatformError::RegistryUnavailable(RegistryUnavailable(
                "no Mynaportal or account registry is configured".into(),
            ))
        })
    }

    /// The registry's answer for the holder of `numbers` (newest first).
    async fn ask_registry(
        &self,
        kind: PointTriggerKind,
        numbers: &[IssuanceNumber],
    ) -> Result<Option<UnixTime>, PlatformError> {
        let registries = self.registries()?;
        let current = *numbers
            .first()
            .ok_or(PlatformError::NotFound(NotFound::MyKeyId))?;
        let answer = match kind {
            PointTriggerKind::HealthInsurance => registries.health_insurance(current).await,
            PointTriggerKind::PublicFundAccount => registries.public_fund_account(numbers).await,
        };
        answer.map_err(PlatformError::RegistryUnavailable)
    }

    fn registered_log(kind: PointTriggerKind, t: &PointTrigger, round: &str) -> NewLog {
        NewLog::new(
            crate::LogKind::PointTriggerRegistered,
            json!({
                "application": t.application.to_string(),
                "round": round,
                "trigger": kind.as_str(),
                "registry": kind.registry(),
            }),
        )
    }

    /// The holder claims the round's fixed points for `kind` on their application, accepting
    /// what Art 24 or 25.1 says goes where; for the account points they may register the
    /// account in the same request (`account`). Refused, storing nothing: consent not exactly
    /// the kind's items, an account with the health-insurance points or of the wrong shape
    /// (`InvalidError::PublicFundAccount`, or refused by the registry), not their application
    /// (`NotFound`), an application that has ended, a round not open, a round offering no such
    /// points (`TriggerNotOffered`), or the registry unreachable when the account is to be
    /// registered. Claiming again asks the registry again. The registry unreachable on the
    /// question itself leaves the claim awaiting, for the sweep.
    pub async fn claim_point_trigger(
        &self,
        s: &Session,
        application: PointApplicationId,
        kind: PointTriggerKind,
        consent: &NewConsent,
        account: Option<&PublicFundAccount>,
    ) -> Result<PointTrigger, PlatformError> {
        self.refuse_after_termination().await?;
        self.check_consent(consent, kind.consent()).await?;
        // Each claim may call a registry: a person's are rationed.
        self.trigger_claims.take(
            crate::RelyingPartyId::new(0),
            &s.person.get().to_string(),
            self.clock.now(),
        )?;
        if account.is_some() && kind != PointTriggerKind::PublicFundAccount {
            return Err(PlatformError::Invalid(InvalidError::PointRequest(
                "an account goes only with the public-fund-account points",
            )));
        }
        let a = self
            .store
            .person_point_applications(s.person)
            .await?
            .into_iter()
            .find(|a| a.id == application)
            .ok_or(PlatformError::NotFound(NotFound::PointApplication))?;
        if !matches!(
            a.state,
            PointApplicationState::Submitted | PointApplicationState::Validated
        ) {
            return Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::ApplicationEnded,
            )));
        }
        let round = self
            .store
            .point_round(a.round)
            .await?
            .ok_or(PlatformError::NotFound(NotFound::PointRound))?;
        if round.state != super::PointRoundState::Open {
            return Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::RoundNotOpen,
            )));
        }
        let offered = match kind {
            PointTriggerKind::HealthInsurance => round.terms.health_insurance_points,
            PointTriggerKind::PublicFundAccount => round.terms.public_fund_account_points,
        };
        if offered == 0 {
            return Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::TriggerNotOffered,
            )));
        }
        let numbers = self.store.person_issuance_numbers(s.person).await?;
        let current = *numbers
            .first()
            .ok_or(PlatformError::NotFound(NotFound::MyKeyId))?;
        if let Some(account) = account {
            self.registries()?
                .register_public_fund_account(current, account)
                .await
                .map_err(PlatformError::RegistryUnavailable)?
                // The registry's words are its own; the holder is told which registry refused.
                .map_err(|_| {
                    PlatformError::Invalid(InvalidError::PublicFundAccount {
                        field: "account",
                        why: "the public-fund account registry refused the account",
                    })
                })?;
        }
        let at = self.clock.now();
        let claimed = NewLog::new(
            crate::LogKind::PointTriggerClaimed,
            json!({
                "application": application.to_string(),
                "round": round.name,
                "trigger": kind.as_str(),
                "registry": kind.registry(),
                "account_registered": account.is_some(),
            }),
        );
        let logs = [
            NewLog::new(
                crate::LogKind::ConsentGiven,
                json!({
                    "function": "points",
                    "items": consent.items,
                    "terms_version": consent.terms_version,
                }),
            ),
            claimed.clone(),
        ];
        // Recorded (with the consent) before the issuance number leaves for the registry; a
        // claim made again that registered an account says so in the log too.
        let new = self
            .store
            .claim_point_trigger(s.person, application, kind, at, &logs)
            .await??;
        if !new && account.is_some() {
            self.store.append_log(s.person, at, &claimed).await?;
        }
        let answer = match self.ask_registry(kind, &numbers).await {
            Ok(answer) => Some(answer),
            // The claim stands; the sweep asks again (and logs what it cannot reach).
            Err(PlatformError::RegistryUnavailable(_)) => None,
            Err(e) => return Err(e),
        };
        let Some(answer) = answer else {
            return self
                .store
                .person_point_triggers(s.person)
                .await?
                .into_iter()
                .find(|t| t.application == application && t.kind == kind)
                .ok_or_else(|| PlatformError::Store(crate::StoreError::corrupt("a lost trigger")));
        };
        let name = round.name.clone();
        let log = move |t: &PointTrigger| Self::registered_log(kind, t, &name);
        self.store
            .record_point_trigger_check(application, kind, answer, self.clock.now(), &log)
            .await?
            .ok_or(PlatformError::Conflict(Conflict::Point(
                PointConflict::ApplicationEnded,
            )))
    }

    /// The person's triggers, by application.
    pub async fn my_point_triggers(&self, s: &Session) -> Result<Vec<PointTrigger>, PlatformError> {
        Ok(self.store.person_point_triggers(s.person).await?)
    }

    /// Asks the registries about up to [`TRIGGER_SWEEP_BATCH`] awaiting triggers of open
    /// rounds not asked about in the last `interval` seconds, oldest question first.
    pub async fn sweep_point_triggers(&self, interval: u64) -> Result<TriggerSweep, PlatformError> {
        let mut sweep = TriggerSweep::default();
        if self.registries.is_none() {
            return Ok(sweep);
        }
        let now = self.clock.now();
        let due = self
            .store
            .awaiting_point_triggers(
                UnixTime::from_secs(now.as_secs().saturating_sub(interval)),
                TRIGGER_SWEEP_BATCH,
            )
            .await?;
        for (t, person, round) in due {
            let numbers = self.store.person_issuance_numbers(person).await?;
            let answer = match self.ask_registry(t.kind, &numbers).await {
                Ok(answer) => answer,
                Err(PlatformError::RegistryUnavailable(_)) => {
                    sweep.unavailable += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            sweep.checked += 1;
            let kind = t.kind;
            let log = move |t: &PointTrigger| Self::registered_log(kind, t, &round);
            let after = self
                .store
                .record_point_trigger_check(t.application, t.kind, answer, self.clock.now(), &log)
                .await?;
            if after.is_some_and(|a| a.state == PointTriggerState::Registered) {
                sweep.registered += 1;
            }
        }
        Ok(sweep)
    }
}

/// Whose a trigger awaiting a registration is.
pub type AwaitingTrigger = (PointTrigger, PersonId, String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_checked_part_by_part() {
        let ok =
            PublicFundAccount::new("0001", "123", "ordinary", "1234567", "ヤマダ\u{3000}タロウ")
                .expect("an account");
        assert_eq!(ok.account_type(), AccountType::Ordinary);
        assert!(!format!("{ok:?}").contains("1234567"), "no number in logs");
        PublicFundAccount::new("9900", "018", "savings", "0000001", "ヴァーチャル")
            .expect("ヴ, ァ and ー");
        let field = |r: Result<PublicFundAccount, PlatformError>| match r {
            Err(PlatformError::Invalid(InvalidError::PublicFundAccount { field, .. })) => field,
            other => panic!("{other:?}"),
        };
        let with = |b: &str, br: &str, t: &str, n: &str, h: &str| {
            field(PublicFundAccount::new(b, br, t, n, h))
        };
        let h = "ヤマダ\u{3000}タロウ";
        assert_eq!(with("001", "123", "ordinary", "1234567", h), "bank_code");
        assert_eq!(
            with("０００１", "123", "ordinary", "1234567", h),
            "bank_code"
        );
        assert_eq!(with("0001", "12a", "ordinary", "1234567", h), "branch_code");
        assert_eq!(with("0001", "123", "普通", "1234567", h), "account_type");
        assert_eq!(with("0001", "123", "ordinary", "123456", h), "number");
        assert_eq!(with("0001", "123", "ordinary", "12345678", h), "number");
        for holder in [
            "",
            "ﾔﾏﾀﾞ ﾀﾛｳ",
            "やまだ\u{3000}たろう",
            "山田\u{3000}太郎",
            "YAMADA TARO",
            "ヤマダ タロウ",
            "ヤマダ\u{3000}\u{3000}タロウ",
            "\u{3000}ヤマダ",
            "ヤマダ\u{3000}",
            &"ア".repeat(31),
        ] {
            assert_eq!(
                with("0001", "123", "ordinary", "1234567", holder),
                "holder",
                "{holder}"
            );
        }
    }

    #[test]
    fn each_trigger_names_its_grant_and_its_consent() {
        assert_eq!(
            PointTriggerKind::HealthInsurance.grant_kind(),
            PointGrantKind::HealthInsurance
        );
        assert_eq!(PointTriggerKind::PublicFundAccount.consent().len(), 2);
        assert_eq!(
            PointTriggerKind::parse("public-fund-account"),
            Some(PointTriggerKind::PublicFundAccount)
        );
    }
}
