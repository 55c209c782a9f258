//! The domain's error, grouped by category: what the card showed ([`CardError`]), who is asking
//! ([`AccessError`]), what the request says ([`InvalidError`]), what it names ([`NotFound`]),
//! the state it meets ([`Conflict`]), how often it comes ([`Limited`]), OAuth's own refusals
//! ([`OAuthError`]), and the platform's own faults (J-LIS, the store, [`Internal`]). None is
//! `#[non_exhaustive]`: an edge matches every variant, so a new one nobody mapped is a compile
//! error there, not a silent 500. The HTTP edge maps each to a status and a stable problem type
//! in exactly one place (`mykey-server/src/http/problem.rs`).

use mykey_pki::{RevocationReason, UnixTime};

use crate::oidc::OAuthCode;
use crate::{IdError, JlisUnavailable, StoreError};

/// Why a platform operation did not happen. Nothing was stored when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The card's answer or certificate was refused.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The caller may not do this.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// Something the request says is malformed or not acceptable.
    #[error(transparent)]
    Invalid(#[from] InvalidError),
    /// What the request names does not exist (or is not the caller's).
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// What the request names exists, but its state forbids the change.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// Asked too often: try again later.
    #[error(transparent)]
    Limited(#[from] Limited),
    /// An OAuth refusal with its standard code (authorization, token and userinfo endpoints).
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// J-LIS could not be asked and the answer cannot be known without it: fail closed.
    #[error(transparent)]
    JlisUnavailable(#[from] JlisUnavailable),
    /// Mynaportal or the public-fund account registry could not be asked.
    #[error(transparent)]
    RegistryUnavailable(crate::RegistryUnavailable),
    /// The store failed; the detail is logged where it arose, never sent.
    #[error("storage failure")]
    Store(#[from] StoreError),
    /// A fault of the platform itself; logged, never sent.
    #[error(transparent)]
    Internal(#[from] Internal),
    /// The function is under maintenance (Art 9.3): try again when the window ends.
    #[error(transparent)]
    Maintenance(#[from] crate::Maintenance),
}

impl PlatformError {
    /// Seconds after which the same request may succeed, where the error knows.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Limited(Limited::TooManyAttempts { retry_after })
            | Self::Limited(Limited::Quota { retry_after }) => Some(*retry_after),
            Self::JlisUnavailable(_) | Self::RegistryUnavailable(_) => Some(30),
            Self::Maintenance(m) => Some(m.retry_after),
            Self::Store(e) => match e.kind {
                crate::StoreErrorKind::Unavailable => Some(5),
                crate::StoreErrorKind::Conflict => Some(1),
                crate::StoreErrorKind::Corrupt => None,
            },
            _ => None,
        }
    }
}

impl From<mykey_pki::Error> for PlatformError {
    fn from(e: mykey_pki::Error) -> Self {
        Self::Card(CardError::Certificate(e))
    }
}

impl From<IdError> for PlatformError {
    fn from(e: IdError) -> Self {
        Self::Invalid(InvalidError::Id(e))
    }
}

/// The card's answer or certificate was refused.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The challenge is unknown, already used, or was issued for another purpose or relying party.
    #[error("unknown, used or foreign challenge")]
    ChallengeUnknown,
    /// The challenge's time ran out.
    #[error("challenge expired")]
    ChallengeExpired,
    /// The certificate failed the profile, path, validity or signature checks.
    #[error("certificate refused: {0}")]
    Certificate(mykey_pki::Error),
    /// The certificate is revoked.
    #[error("certificate revoked ({})", .reason.map_or("no reason given", RevocationReason::name))]
    Revoked {
        /// The reason J-LIS gives.
        reason: Option<RevocationReason>,
    },
    /// The ticket-item AP's data sent on the PIN-less route (Art 20.2) was refused.
    #[error("ticket-item data refused: {0}")]
    TicketItems(TicketItemsProblem),
}

/// Why the ticket-item AP's data was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TicketItemsProblem {
    /// Not J-LIS's signature over exactly the facts sent, not in the card's layout, or not the
    /// facts of the holder of the certificate sent with them.
    #[error("not J-LIS's signed facts of this card's holder")]
    Invalid,
    /// J-LIS signed them, but the holder's facts changed since (the card's ticket-item AP has
    /// not been rewritten).
    #[error("the card's facts are outdated")]
    Outdated,
    /// The date of birth on the card is not the one the relying party gave.
    #[error("the date of birth is not the one the relying party holds")]
    BirthDate,
}

/// The caller may not do this.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No valid session.
    #[error("no valid session")]
    Unauthenticated,
    /// The bootstrap operator token was presented after the first administrator account was
    /// made: operators sign in with their cards.
    #[error("the bootstrap operator token is retired: operators sign in with their cards")]
    OperatorTokenRetired,
    /// The session's person has no active operator account.
    #[error("not an operator")]
    NotAnOperator,
    /// The operator's role does not reach this function.
    #[error("the {} role does not reach this function", role.as_str())]
    OperatorRoleRefused {
        /// The operator's role.
        role: crate::OperatorRole,
    },
    /// The card holder's use of the system is suspended (Art 8.2).
    #[error("the use of the system is suspended for this card holder (Terms Art 8.2)")]
    PersonSuspended,
    /// Client authentication failed: unknown client or wrong secret (never told apart).
    #[error("client authentication failed")]
    InvalidClient,
    /// A client assertion (`private_key_jwt`) of a known client was refused; the reason is safe
    /// to tell the client (it names no secret).
    #[error("client assertion refused: {0}")]
    InvalidClientAssertion(&'static str),
    /// The relying party is pending approval or suspended.
    #[error("the relying party is not approved")]
    RelyingPartyNotApproved,
    /// No PPID key is configured: PPIDs cannot be issued.
    #[error("PPIDs are not enabled on this platform")]
    PpidClosed,
    /// PPID services and the four facts are functions of public authorities (Terms Art 19,
    /// 20), and the operator's policy does not extend them to businesses.
    #[error("PPID services and the four facts are for public authorities (Terms Art 19-20)")]
    PublicAuthorityFunction,
    /// A payment provider or kiosk asked for a card function outside the card-point programme.
    #[error(
        "payment providers and kiosks connect only for the card-point programme (Terms Art 26)"
    )]
    PointProgrammeOnly,
    /// A relying party that is not a kiosk asked to apply for a card holder in front of it.
    #[error("only an application-support business's kiosk may do this (Terms Art 26.1.2)")]
    KioskOnly,
    /// A relying party that is not a registered payment provider asked for a provider's function.
    #[error("only a registered payment provider may do this (Terms Art 26.1.1)")]
    PaymentProviderOnly,
}

/// Something the request says is malformed or not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum InvalidError {
    /// An operator's reason is empty, too long or holds control characters.
    #[error("a reason is 1 to 1000 characters of text (line breaks allowed, no other controls)")]
    Reason,
    /// An identifier in the request is malformed.
    #[error(transparent)]
    Id(IdError),
    /// A name is empty, too long (over 200 characters) or holds characters that would hide or
    /// disguise what it says (controls, bidi and zero-width format characters, private use,
    /// separators other than spaces): see `names.rs`.
    #[error(
        "a name is 1 to 200 characters, without control, format (bidi, zero-width), private-use or line-separator characters"
    )]
    Name,
    /// A JWK Set given for a relying party is not acceptable (the reason says why).
    #[error("invalid JWK Set: {0}")]
    Jwks(&'static str),
    /// A relying party's profile is malformed.
    #[error("invalid profile: {0}")]
    Profile(&'static str),
    /// A stream configuration is not acceptable (the reason says why).
    #[error("invalid stream: {0}")]
    Stream(&'static str),
    /// The consent does not name exactly the required items under the terms version in force.
    #[error("the consent must name exactly the required items and the terms version in force")]
    ConsentIncomplete,
    /// A terms version is malformed (the reason says how).
    #[error("invalid terms: {0}")]
    Terms(&'static str),
    /// A terms version would take effect with less than seven days' notice (Art 12.2) and is
    /// not marked urgent (or, urgent, before now).
    #[error("terms must be announced at least seven days before they take effect")]
    TermsNoticeTooShort {
        /// When it was to take effect.
        effective_at: UnixTime,
        /// The earliest it may.
        earliest: UnixTime,
    },
    /// A notice not given in both languages, or too long.
    #[error("{0}")]
    Notice(&'static str),
    /// A maintenance window not acceptable as announced: what is wrong.
    #[error("{0}")]
    Maintenance(&'static str),
    /// A planned maintenance window would start with less than 24 hours' notice (Art 9.3).
    #[error("maintenance must be announced at least 24 hours before it starts, unless urgent")]
    MaintenanceNoticeTooShort {
        /// The earliest it may start.
        earliest: UnixTime,
    },
    /// The end of the system would come with less than three months' notice (Art 10) and is
    /// not urgent (or, urgent, before now).
    #[error(
        "the end of the system must be announced at least three months (92 days) ahead, unless urgent"
    )]
    TerminationNoticeTooShort {
        /// The earliest it may come.
        earliest: UnixTime,
    },
    /// A termination not acceptable as announced: what is wrong.
    #[error("{0}")]
    Termination(&'static str),
    /// The one-time code is unknown, used, expired or of another service.
    #[error("unknown, used or expired code")]
    PpidCode,
    /// A login code (a REST login by Service ID) is unknown, used, expired or another party's.
    #[error("unknown, used or expired code")]
    LoginCode,
    /// The redirect URI is missing or not exactly one the client registered.
    #[error("redirect_uri is missing or not registered for the client")]
    RedirectUri,
    /// A client registration an operator sent is not acceptable.
    #[error("invalid OpenID Connect client: {0}")]
    OidcClient(&'static str),
    /// The facts sent with an approval are not the ones asked for, or malformed.
    #[error("facts refused: {0}")]
    Facts(&'static str),
    /// A logout request the platform cannot honour.
    #[error("logout refused: {0}")]
    Logout(&'static str),
    /// A PIN-less request the platform cannot open (Art 20.2).
    #[error("PIN-less request refused: {0}")]
    PinlessRequest(&'static str),
    /// A card-point request that is malformed: a round's terms, a service's ID shape, a
    /// provider's answer.
    #[error("card-point request refused: {0}")]
    PointRequest(&'static str),
    /// A reported transaction the platform cannot take: which one (from 0) and why.
    #[error("transaction {index}: {why}")]
    PointTransaction { index: usize, why: &'static str },
    /// A Payment Service ID not of its service's shape (Art 22.1.8).
    #[error("the Payment Service ID is not of the service's shape: {0}")]
    PaymentServiceUserId(&'static str),
    /// A public-fund receiving account not of a bank account's shape, or refused by the
    /// registry: `field` is the part.
    #[error("{field}: {why}")]
    PublicFundAccount {
        /// `bank_code`, `branch_code`, `account_type`, `number`, `holder` or `account`.
        field: &'static str,
        /// What it must be.
        why: &'static str,
    },
}

/// What the request names does not exist (or is not the caller's: never told apart).
#[derive(Debug, thiserror::Error)]
pub enum NotFound {
    /// No active operator account has that ID.
    #[error("no such operator account")]
    Operator,
    /// No person holds or held that My Key ID.
    #[error("no person has that My Key ID")]
    Person,
    /// The person has no active My Key ID.
    #[error("no active My Key ID")]
    MyKeyId,
    /// No relying party has that ID.
    #[error("no such relying party")]
    RelyingParty,
    /// The relying party has configured no stream.
    #[error("no stream is configured")]
    Stream,
    /// No link request has that ID.
    #[error("no such link request")]
    LinkRequest,
    /// No active Service ID matches.
    #[error("no such Service ID")]
    ServiceId,
    /// No such PPID service (or the person has no consent for it).
    #[error("no such PPID service")]
    PpidService,
    /// No issued PPID of the service matches.
    #[error("no such PPID")]
    Ppid,
    /// The client ID names no relying party with an OpenID Connect client registration.
    #[error("unknown client, or one not registered for OpenID Connect")]
    OidcClient,
    /// No such authorization request (or another browser's).
    #[error("no such authorization request")]
    Authorization,
    /// No open PIN-less request has that handle (unknown, used or expired).
    #[error("no such PIN-less request")]
    PinlessRequest,
    /// No such payment service (or not one the asker may see).
    #[error("no such payment service")]
    PaymentService,
    /// No such programme round.
    #[error("no such programme round")]
    PointRound,
    /// No such point application (or not one the asker may see).
    #[error("no such point application")]
    PointApplication,
    /// No such batch of grant instructions (or not the asker's).
    #[error("no such batch of grants")]
    PointGrantBatch,
    /// No maintenance window has that ID, or it is over.
    #[error("no such maintenance window, or it is over")]
    MaintenanceWindow,
    /// No end of the system is announced.
    #[error("no end of the system is announced")]
    Termination,
}

/// What the request names exists, but its state forbids the change.
#[derive(Debug, thiserror::Error)]
pub enum Conflict {
    /// An end of the system is announced already: withdraw it first.
    #[error("an end of the system is announced already")]
    TerminationAnnounced,
    /// The system has ended (Art 10): nothing new is started, and the announcement stands.
    #[error("the system has ended (Terms Art 10): new applications are not accepted")]
    SystemTerminated,
    /// The person already has an active operator account.
    #[error("this person already has an operator account")]
    OperatorExists,
    /// Ending the last administrator account would leave no one to administer.
    #[error("the last administrator account cannot be ended")]
    LastAdministrator,
    /// Already suspended.
    #[error("already suspended")]
    AlreadySuspended,
    /// The person holds an active operator account, which is ended before they are suspended.
    #[error("this person holds an operator account: an administrator ends it first")]
    OperatorAccountHolder,
    /// Not suspended: nothing to resume.
    #[error("not suspended")]
    NotSuspended,
    /// The My Key ID's use is suspended (Art 8.2): it cannot be changed or linked by.
    #[error("this My Key ID is suspended")]
    MyKeyIdSuspended,
    /// The person already has an active My Key ID (Art 15.1: at most one at a time).
    #[error("a My Key ID is already active")]
    MyKeyIdAlreadyActive,
    /// The requested My Key ID is taken (or was used before).
    #[error("that My Key ID is not available")]
    MyKeyIdTaken,
    /// A Service ID needs the person's active My Key ID (Art 17.1).
    #[error("a Service ID needs an active My Key ID; create one first")]
    MyKeyIdRequired,
    /// The link request was already approved or refused.
    #[error("the link request has already been answered")]
    LinkRequestAnswered,
    /// The link request's time ran out.
    #[error("the link request has expired")]
    LinkRequestExpired,
    /// The relying party already has an active Service ID for that customer ID.
    #[error("that customer ID is already linked")]
    ServiceIdExists,
    /// The card holder has no Service ID at the relying party, and no link was offered.
    #[error("the card holder has no Service ID at this relying party")]
    ServiceIdRequired,
    /// A terms version of that name, or taking effect at that moment, exists.
    #[error("that terms version (or its moment) is already published")]
    TermsVersionExists,
    /// The request was answered (or continued) already.
    #[error("the authorization request has already been answered")]
    AuthorizationAnswered,
    /// The request's time ran out.
    #[error("the authorization request has expired")]
    AuthorizationExpired,
    /// The card-point programme's state refuses the request.
    #[error(transparent)]
    Point(PointConflict),
}

/// What in the card-point programme's state refuses a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PointConflict {
    /// The provider already has a service of that name.
    #[error("the provider already has a payment service of that name")]
    PaymentServiceExists,
    /// A round of that name exists.
    #[error("a programme round of that name exists")]
    PointRoundExists,
    /// The round is not in the state the change starts from (draft → open → closed).
    #[error("the round is not in a state that allows this (draft, then open, then closed)")]
    PointRoundState,
    /// The round is not open for applications.
    #[error("the round is not open for applications")]
    RoundNotOpen,
    /// The service is not an eligible cashless payment service now.
    #[error("the payment service is not eligible")]
    ServiceNotEligible,
    /// The person has an application in the round already (one per person per round).
    #[error("one application per person per round: there is one already")]
    ApplicationExists,
    /// Another live application in the round has that Payment Service ID.
    #[error("that Payment Service ID has an application in the round already")]
    PaymentServiceUserIdTaken,
    /// The application was answered already, or has ended.
    #[error("the application has been answered already")]
    ApplicationAnswered,
    /// The application has ended (withdrawn, forfeited or rejected).
    #[error("the application has ended")]
    ApplicationEnded,
    /// The provider gave that settlement user ID to another application in the round.
    #[error("that settlement user ID is another application's in the round")]
    SettlementUserIdTaken,
    /// The person's right to apply in the round was forfeited (Art 27).
    #[error("the right to apply in this round was forfeited (Terms Art 27)")]
    RightsForfeited,
    /// Nothing is due: no transaction of a validated application since the last batch, or
    /// only some past the cap.
    #[error("nothing is due: no points to grant since the last batch")]
    NothingDue,
    /// The round offers no points for that trigger.
    #[error("the round offers no points for that registration")]
    TriggerNotOffered,
    /// The round closed more than 30 days ago: its providers' reports are no longer taken.
    #[error("the round closed more than 30 days ago: transactions are no longer taken")]
    ReportingEnded,
    /// The batch of grants was confirmed already.
    #[error("the batch was confirmed already")]
    GrantBatchConfirmed,
}

/// Asked too often.
#[derive(Debug, thiserror::Error)]
pub enum Limited {
    /// Too many short codes that named no request, from this source or from everywhere
    /// (`oidc/guard.rs`): try again after `retry_after` seconds, or scan the QR code.
    #[error("too many unknown short codes: try again in {retry_after} s, or scan the QR code")]
    TooManyAttempts {
        /// Seconds until a short code is looked up again.
        retry_after: u64,
    },
    /// A relying party asked more often than its quota allows (`quota.rs`): try again after
    /// `retry_after` seconds.
    #[error("quota exceeded: try again in {retry_after} s")]
    Quota {
        /// Seconds until the next is allowed.
        retry_after: u64,
    },
}

/// An OAuth refusal (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1): its standard code and a
/// description safe to send.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct OAuthError {
    /// The `error` code.
    pub code: OAuthCode,
    /// The `error_description`.
    pub reason: &'static str,
}

/// A fault of the platform itself (a signature that could not be made, a value that did not
/// serialise, configuration the platform needs and lacks).
#[derive(Debug, thiserror::Error)]
#[error("internal fault: {0}")]
pub struct Internal(pub &'static str);
