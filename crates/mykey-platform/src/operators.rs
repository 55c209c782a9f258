//! Operators are people with roles (docs/architecture.md §9, Terms Art 8.2, 9, 10, 12, 18).
//!
//! An operator account is bound to a person: the operator signs in with their own card (the
//! same card login as anyone, `/v1/auth/responses`) and the session's person is looked up for
//! an active account. Each role reaches only its duties ([`OperatorRole::may`]); an auditor
//! reads everything and changes nothing. The bootstrap token (`operator-token` in the data
//! folder) reaches every function only until the first administrator account exists,
//! so that there is no shared bearer token once the platform is set up.
//!
//! Every act is appended to the operator log: one hash chain for the whole platform, built
//! like a person's log ([`LogEntry::next`]) and verified the same way. Acts on a person (the
//! help desk's look-ups and suspensions) are also appended to that person's log.

use std::fmt;

use mykey_pki::UnixTime;
use serde_json::json;

use crate::{
    AccessError, LogEntry, LogHash, LogKind, MyKeyId, NewLog, PersonId, Platform, PlatformConfig,
    PlatformError, SessionToken, StoreError,
};

/// Largest page of the operator log.
pub const MAX_OPERATOR_LOG_PAGE: u32 = 1000;

/// Longest reason an operator gives (a suspension, an urgent notice), in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// What an operator account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperatorRole {
    /// Relying parties, Terms versions, operator accounts, the reported logins.
    Administrator,
    /// The card-point programme: rounds, payment services, statements (Art 22–27).
    PointSecretariat,
    /// Inquiries (Art 18): people by My Key ID, their links and log; suspension (Art 8.2).
    HelpDesk,
    /// Reads everything, including the operator log; changes nothing.
    Auditor,
}

impl OperatorRole {
    /// Every role.
    pub const ALL: [OperatorRole; 4] = [
        Self::Administrator,
        Self::PointSecretariat,
        Self::HelpDesk,
        Self::Auditor,
    ];

    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::PointSecretariat => "point-secretariat",
            Self::HelpDesk => "help-desk",
            Self::Auditor => "auditor",
        }
    }

    /// From [`OperatorRole::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may `access` the functions of `duty`.
    pub fn may(self, duty: Duty, access: Access) -> bool {
        use Duty as D;
        match self {
            Self::Auditor => access == Access::Read,
            Self::Administrator => matches!(
                duty,
                D::RelyingParties | D::Terms | D::Operators | D::Reports | D::Maintenance
            ),
            Self::PointSecretariat => duty == D::PointProgramme,
            Self::HelpDesk => matches!(duty, D::People | D::Reports),
        }
    }
}

/// The groups of the operator API's functions, which roles are given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Duty {
    /// Registering, approving, suspending and re-keying relying parties; their streams.
    RelyingParties,
    /// Publishing Terms of Use versions (Art 12).
    Terms,
    /// Operator accounts.
    Operators,
    /// The card-point programme (Art 22–27).
    PointProgramme,
    /// People: look-up by My Key ID, their links and log, suspension (Art 8.2, 18).
    People,
    /// Cross-device logins people reported as not theirs.
    Reports,
    /// The operator log itself.
    OperatorLog,
    /// Maintenance windows and the end of the system (Art 9.3, 10).
    Maintenance,
}

/// Reading or changing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Reading (GET).
    Read,
    /// Changing anything.
    Change,
}

/// An operator account's ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperatorId(i64);

impl OperatorId {
    /// From the stored value.
    pub fn new(id: i64) -> Self {
        Self(id)
    }

    /// The stored value.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// An operator account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorAccount {
    /// Its ID.
    pub id: OperatorId,
    /// The person whose card signs the operator in.
    pub person: PersonId,
    /// The operator's name, as the operator log shows it.
    pub name: String,
    /// What the account may do.
    pub role: OperatorRole,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it was ended, if it was.
    pub ended_at: Option<UnixTime>,
}

/// Who is acting on the operator API.
#[derive(Clone, PartialEq, Eq)]
pub enum Operator {
    /// An operator account, signed in with its person's card.
    Account(OperatorAccount),
    /// The bootstrap token: every function, until the first administrator account exists.
    Bootstrap,
}

impl fmt::Debug for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Account(a) => write!(f, "Operator({}, {})", a.id.get(), a.role.as_str()),
            Self::Bootstrap => f.write_str("Operator(bootstrap)"),
        }
    }
}

impl Operator {
    /// The role acted in.
    pub fn role(&self) -> OperatorRole {
        match self {
            Self::Account(a) => a.role,
            Self::Bootstrap => OperatorRole::Administrator,
        }
    }

    /// Refused unless the role may `access` the functions of `duty`. The bootstrap token
    /// reaches every function, as the one operator there is until the first administrator
    /// account exists.
    pub fn may(&self, duty: Duty, access: Access) -> Result<(), PlatformError> {
        if matches!(self, Self::Bootstrap) || self.role().may(duty, access) {
            Ok(())
        } else {
            Err(PlatformError::Access(AccessError::OperatorRoleRefused {
                role: self.role(),
            }))
        }
    }

    /// Who, for the logs: the account's ID, name and role (the bootstrap token has no ID).
    pub fn who(&self) -> serde_json::Value {
        match self {
            Self::Account(a) => {
                json!({"operator": a.id.get(), "name": a.name, "role": a.role.as_str()})
            }
            Self::Bootstrap => {
                json!({"operator": null, "name": "bootstrap token", "role": "administrator"})
            }
        }
    }

    /// What a person's log says of the operator: the account's ID and role, not the name.
    fn for_person(&self) -> serde_json::Value {
        match self {
            Self::Account(a) => json!({"operator": a.id.get(), "role": a.role.as_str()}),
            Self::Bootstrap => json!({"operator": null, "role": "administrator"}),
        }
    }
}

/// What an administrator's end of an operator account came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorEnd {
    /// Ended now.
    Ended,
    /// No active account has that ID.
    NotFound,
    /// It is the last administrator account: ending it would leave no one to administer.
    LastAdministrator,
}

/// What of a person can be suspended (Art 8.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suspendable {
    /// The person's whole use of the system: card logins and sessions.
    Person,
    /// Only the use of their My Key ID (linking by it, changing it) — whichever it is, so that
    /// revoking it and making another does not escape the suspension.
    MyKeyId,
}

/// A person's suspensions: since when, where suspended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Suspensions {
    /// The person's use of the system.
    pub person: Option<UnixTime>,
    /// Their My Key ID's.
    pub my_key_id: Option<UnixTime>,
}

/// What a suspension or resumption came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuspensionChange {
    /// Done now.
    Done,
    /// Already so.
    AlreadySo,
    /// The person holds an active operator account: it is ended first (by an administrator).
    OperatorAccountHolder,
}

/// The operator part of the store.
#[async_trait::async_trait]
pub trait OperatorStore: Send + Sync + 'static {
    /// A new operator account for `person`; `None` when the person already has an active one.
    async fn insert_operator(
        &self,
        person: PersonId,
        name: &str,
        role: OperatorRole,
        at: UnixTime,
    ) -> Result<Option<OperatorAccount>, StoreError>;

    /// Every operator account, ended ones too, oldest first.
    async fn operators(&self) -> Result<Vec<OperatorAccount>, StoreError>;

    /// The person's active operator account.
    async fn operator_of(&self, person: PersonId) -> Result<Option<OperatorAccount>, StoreError>;

    /// Ends an active account, unless it is the last administrator's (in one transaction).
    async fn end_operator(&self, id: OperatorId, at: UnixTime) -> Result<OperatorEnd, StoreError>;

    /// Whether any active administrator account exists.
    async fn has_administrator(&self) -> Result<bool, StoreError>;

    /// Appends to the operator log (writers take turns: one chain).
    async fn append_operator_log(
        &self,
        at: UnixTime,
        kind: &str,
        detail: &str,
    ) -> Result<LogEntry, StoreError>;

    /// Up to `limit` entries of the operator log after `after`, in order.
    async fn operator_log(&self, after: u64, limit: u32) -> Result<Vec<LogEntry>, StoreError>;

    /// The person who holds or held the My Key ID `id` (a value is never reused).
    async fn person_by_my_key_id(&self, id: &MyKeyId) -> Result<Option<PersonId>, StoreError>;

    /// The person's suspensions.
    async fn suspensions(&self, person: PersonId) -> Result<Suspensions, StoreError>;

    /// Suspends (`suspend`) or resumes `what` of `person` with `log` appended to their log, in
    /// one transaction. Suspending the person ends their sessions and revokes their access
    /// tokens.
    async fn set_suspension(
        &self,
        person: PersonId,
        what: Suspendable,
        suspend: bool,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<SuspensionChange, StoreError>;

    /// Whether the person holding the issuance number `n` is suspended (`false` for a number
    /// no one holds).
    async fn suspended_holder(&self, n: mykey_pki::IssuanceNumber) -> Result<bool, StoreError>;
}

/// A reason an operator gives: plain text, trimmed, 1 to [`MAX_REASON_CHARS`] characters.
pub fn reason(s: &str) -> Result<String, PlatformError> {
    let s = s.trim();
    let n = s.chars().count();
    let plain = s
        .split('\n')
        .all(|line| line.is_empty() || crate::names::plain_text(line.trim()));
    if n == 0 || n > MAX_REASON_CHARS || s.chars().any(|c| c.is_control() && c != '\n') || !plain {
        return Err(PlatformError::Invalid(crate::InvalidError::Reason));
    }
    Ok(s.to_owned())
}

impl Platform {
    /// Who a bearer token on the operator API stands for: the bootstrap token (only while no
    /// administrator account exists), or the session of a person with an active operator
    /// account.
    pub async fn authenticate_operator(&self, token: &str) -> Result<Operator, PlatformError> {
        let bootstrap = self.config.operator_token_hash.is_some_and(|expected| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                &PlatformConfig::hash_operator_token(token),
                &expected,
            )
            .is_ok()
        });
        if bootstrap {
            if self.store.has_administrator().await? {
                return Err(PlatformError::Access(AccessError::OperatorTokenRetired));
            }
            return Ok(Operator::Bootstrap);
        }
        let session = self
            .store
            .session(&SessionToken::key(token), self.clock.now())
            .await?
            .ok_or(PlatformError::Access(AccessError::Unauthenticated))?;
        self.store
            .operator_of(session.person)
            .await?
            .map(Operator::Account)
            .ok_or(PlatformError::Access(AccessError::NotAnOperator))
    }

    /// Appends an act to the operator log: `kind` (what) and `detail` (who, on what, from
    /// where, the answer), canonical JSON.
    pub async fn record_operator_act(
        &self,
        kind: &str,
        detail: &serde_json::Value,
    ) -> Result<LogEntry, PlatformError> {
        Ok(self
            .store
            .append_operator_log(self.clock.now(), kind, &detail.to_string())
            .await?)
    }

    /// A page of the operator log.
    pub async fn operator_log(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<LogEntry>, PlatformError> {
        Ok(self
            .store
            .operator_log(after, limit.clamp(1, MAX_OPERATOR_LOG_PAGE))
            .await?)
    }

    /// Verifies the whole operator log, page by page: how many entries were checked, and the
    /// head hash or where the chain breaks.
    pub async fn verify_operator_log(
        &self,
    ) -> Result<(u64, Result<LogHash, crate::ChainError>), PlatformError> {
        let mut check = crate::log::ChainCheck::default();
        let mut after = 0;
        loop {
            let page = self
                .store
                .operator_log(after, MAX_OPERATOR_LOG_PAGE)
                .await?;
            for e in &page {
                if let Err(broken) = check.push(e) {
                    return Ok((check.head().0, Err(broken)));
                }
            }
            match page.last() {
                Some(e) if page.len() == MAX_OPERATOR_LOG_PAGE as usize => after = e.seq,
                _ => {
                    let (n, head) = check.head();
                    return Ok((n, Ok(head)));
                }
            }
        }
    }

    /// A new operator account for the person holding the My Key ID `my_key_id`.
    pub async fn add_operator(
        &self,
        my_key_id: &str,
        name: &str,
        role: OperatorRole,
    ) -> Result<OperatorAccount, PlatformError> {
        let name = crate::names::display_name(name)?;
        let person = self.person_by_my_key_id(my_key_id).await?;
        self.store
            .insert_operator(person, &name, role, self.clock.now())
            .await?
            .ok_or(PlatformError::Conflict(crate::Conflict::OperatorExists))
    }

    /// Every operator account.
    pub async fn operators(&self) -> Result<Vec<OperatorAccount>, PlatformError> {
        Ok(self.store.operators().await?)
    }

    /// Ends an operator account (never the last administrator's).
    pub async fn end_operator(&self, id: OperatorId) -> Result<(), PlatformError> {
        match self.store.end_operator(id, self.clock.now()).await? {
            OperatorEnd::Ended => Ok(()),
            OperatorEnd::NotFound => Err(PlatformError::NotFound(crate::NotFound::Operator)),
            OperatorEnd::LastAdministrator => {
                Err(PlatformError::Conflict(crate::Conflict::LastAdministrator))
            }
        }
    }

    /// The person a My Key ID names (current or former): the help desk's only way to find
    /// someone (never by issuance number or by name).
    pub async fn person_by_my_key_id(&self, my_key_id: &str) -> Result<PersonId, PlatformError> {
        let id: MyKeyId = my_key_id
            .parse()
            .map_err(|_| PlatformError::NotFound(crate::NotFound::Person))?;
        self.store
            .person_by_my_key_id(&id)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::Person))
    }

    /// The person's suspensions.
    pub async fn suspensions(&self, person: PersonId) -> Result<Suspensions, PlatformError> {
        Ok(self.store.suspensions(person).await?)
    }

    /// Notes in a person's log that an operator read `what` of them.
    pub async fn note_operator_read(
        &self,
        by: &Operator,
        person: PersonId,
        what: &str,
    ) -> Result<(), PlatformError> {
        let mut detail = by.for_person();
        detail["read"] = json!(what);
        self.store
            .append_log(
                person,
                self.clock.now(),
                &NewLog::new(LogKind::OperatorRead, detail),
            )
            .await?;
        Ok(())
    }

    /// Suspends or resumes a person's use of the system, or of their My Key ID (Art 8.2), with
    /// the reason recorded in their log.
    pub async fn set_suspension(
        &self,
        by: &Operator,
        person: PersonId,
        what: Suspendable,
        suspend: bool,
        why: &str,
    ) -> Result<(), PlatformError> {
        let why = reason(why)?;
        let kind = match (what, suspend) {
            (Suspendable::Person, true) => LogKind::PersonSuspended,
            (Suspendable::Person, false) => LogKind::PersonResumed,
            (Suspendable::MyKeyId, true) => LogKind::MyKeyIdSuspended,
            (Suspendable::MyKeyId, false) => LogKind::MyKeyIdResumed,
        };
        let mut detail = by.for_person();
        detail["grounds"] = json!(why);
        match self
            .store
            .set_suspension(
                person,
                what,
                suspend,
                self.clock.now(),
                &NewLog::new(kind, detail),
            )
            .await?
        {
            SuspensionChange::Done => Ok(()),
            SuspensionChange::AlreadySo => Err(PlatformError::Conflict(if suspend {
                crate::Conflict::AlreadySuspended
            } else {
                crate::Conflict::NotSuspended
            })),
            SuspensionChange::OperatorAccountHolder => Err(PlatformError::Conflict(
                crate::Conflict::OperatorAccountHolder,
            )),
        }
    }

    /// Forfeits a person's point-programme rights for breaking the Terms (Art 27.1.2): the
    /// point secretariat's act, recorded in the operator log with its reason; the person's log
    /// and the providers of their applications say so.
    pub async fn forfeit_for_violation(&self, person: PersonId) -> Result<(), PlatformError> {
        Ok(self
            .store
            .forfeit_point_rights(person, crate::Forfeiture::TermsViolation, self.clock.now())
            .await?)
    }

    /// Refused when the holder of the issuance number `n` is suspended (every card use).
    pub(crate) async fn refuse_suspended(
        &self,
        n: mykey_pki::IssuanceNumber,
    ) -> Result<(), PlatformError> {
        if self.store.suspended_holder(n).await? {
            return Err(PlatformError::Access(AccessError::PersonSuspended));
        }
        Ok(())
    }

    /// Refused when `person` is suspended (a renewed card's first use, whose number the
    /// person did not hold yet when [`Platform::refuse_suspended`] asked).
    pub(crate) async fn refuse_suspended_person(
        &self,
        person: PersonId,
    ) -> Result<(), PlatformError> {
        if self.store.suspensions(person).await?.person.is_some() {
            return Err(PlatformError::Access(AccessError::PersonSuspended));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_reaches_only_its_duties_and_the_auditor_changes_nothing() {
        use Access::*;
        use Duty::*;
        use OperatorRole::*;
        let duties = [
            RelyingParties,
            Terms,
            Operators,
            PointProgramme,
            People,
            Reports,
            OperatorLog,
            Maintenance,
        ];
        for d in duties {
            assert!(Auditor.may(d, Read));
            assert!(!Auditor.may(d, Change));
        }
        assert!(!HelpDesk.may(RelyingParties, Change));
        assert!(!HelpDesk.may(RelyingParties, Read));
        assert!(HelpDesk.may(People, Change));
        assert!(!Administrator.may(People, Read));
        assert!(!Administrator.may(OperatorLog, Read));
        assert!(Administrator.may(Operators, Change));
        assert!(PointSecretariat.may(PointProgramme, Change));
        assert!(!PointSecretariat.may(Terms, Change));
        assert!(Administrator.may(Maintenance, Change));
        assert!(!HelpDesk.may(Maintenance, Change) && !PointSecretariat.may(Maintenance, Change));
        for r in OperatorRole::ALL {
            assert_eq!(OperatorRole::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn a_reason_is_plain_text_of_bounded_length() {
        assert_eq!(reason("  fraud report 12 ").unwrap(), "fraud report 12");
        assert!(reason("   ").is_err());
        assert!(reason(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
        assert!(reason("a\u{7}b").is_err());
        assert!(reason("line one\nline two").is_ok());
        assert!(reason("\u{202e}ok dellac").is_err());
        assert!(reason("zero\u{200b}width").is_err());
    }
}
