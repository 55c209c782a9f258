//! What the OpenID Connect provider keeps: each relying party's client registration, the
//! authorization requests a browser opened and a phone answers, and the access tokens they gave.
//! Each method is one transaction; only hashes of handles, codes and tokens are stored.

use mykey_pki::UnixTime;

use crate::{NewLog, PersonId, Ppid, RelyingParty, RelyingPartyId, StoreError, UsedNonce};

use super::{IdTokenAlg, OidcClient};

/// Where an authorization request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizationStatus {
    /// Waiting for the phone.
    Pending,
    /// The person approved with the card; the browser has not come back yet.
    Approved,
    /// The person declined.
    Declined,
    /// The browser came back and was given a code.
    Continued,
    /// The code was exchanged for tokens.
    Redeemed,
}

impl AuthorizationStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Declined => "declined",
            Self::Continued => "continued",
            Self::Redeemed => "redeemed",
        }
    }

    /// From [`AuthorizationStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Approved,
            Self::Declined,
            Self::Continued,
            Self::Redeemed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// An authorization request to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuthorization {
    /// SHA-256 of the handle in the approval URL.
    pub handle_hash: [u8; 32],
    /// The short code a person may type instead (`ABCD-EFGH`), unique among pending requests.
    pub short_code: String,
    /// SHA-256 of the secret in the browser's cookie.
    pub browser_hash: [u8; 32],
    /// The relying party asking (`None`: the person's own portal).
    pub relying_party: Option<RelyingPartyId>,
    /// Where the browser returns.
    pub redirect_uri: Option<String>,
    /// The scopes granted if approved (space-separated, `openid` first).
    pub scope: String,
    /// The client's `state`.
    pub state: Option<String>,
    /// The client's `nonce`.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// The session ID the ID token names (`sid`).
    pub sid: String,
    /// When.
    pub created_at: UnixTime,
    /// Until when the phone may answer.
    pub expires_at: UnixTime,
    /// Where the browser that began it is, shown on the phone.
    pub began: BrowserOrigin,
    /// The link request a client logging in by Service ID offers with the login.
    pub link_request: Option<crate::LinkRequestId>,
}

/// Where a browser that began a cross-device login is, as the platform saw it: shown on the
/// phone so that the person can tell their own browser from someone else's (finding 7).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrowserOrigin {
    /// The address it connected from (behind a reverse proxy, the proxy's).
    pub address: Option<String>,
    /// What it says it is, in a few words ("Firefox on Windows"), from its `User-Agent`.
    pub browser: Option<String>,
}

impl BrowserOrigin {
    /// From the peer address and the `User-Agent` header.
    pub fn new(address: Option<std::net::IpAddr>, user_agent: Option<&str>) -> Self {
        Self {
            address: address.map(|a| match a {
                std::net::IpAddr::V6(v6) => v6
                    .to_ipv4_mapped()
                    .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
                v4 => v4.to_string(),
            }),
            browser: user_agent.and_then(describe_browser),
        }
    }
}

/// A `User-Agent` in words a person knows — the browser family and the system — or `None` when
/// it names neither (what the browser says is never shown as it is: it is the requester's text).
pub fn describe_browser(user_agent: &str) -> Option<String> {
    let ua = user_agent;
    // Order matters: Edge and Opera also say Chrome; Chrome also says Safari.
    let family = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("HeadlessChrome/", "Chrome (headless)"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("python-requests/", "a Python program"),
        ("reqwest", "a program"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    match (family, system) {
        (Some(f), Some(s)) => Some(format!("{f} on {s}")),
        (Some(f), None) => Some(f.to_owned()),
        (None, Some(s)) => Some(format!("a browser on {s}")),
        (None, None) => None,
    }
}

/// A stored authorization request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// Internal row ID.
    pub id: i64,
    /// What was asked.
    pub request: NewAuthorization,
    /// Where it stands.
    pub status: AuthorizationStatus,
    /// Who approved.
    pub person: Option<PersonId>,
    /// Their PPID for the relying party's PPID service (a PPID client's login).
    pub ppid: Option<Ppid>,
    /// The relying party's customer ID their Service ID links (a login by Service ID).
    pub customer_id: Option<crate::CustomerId>,
    /// The claims given (JSON object text).
    pub facts: Option<String>,
    /// When the card approved.
    pub approved_at: Option<UnixTime>,
    /// Until when the code may be exchanged.
    pub code_expires_at: Option<UnixTime>,
    /// Approved, but the browser must still type the code the phone showed.
    pub awaits_confirmation: bool,
    /// Wrong codes typed so far.
    pub confirm_tries: u32,
}

impl Authorization {
    /// The `sub` of its tokens once approved: the PPID, or the customer ID.
    pub fn subject(&self) -> Option<String> {
        match (&self.ppid, &self.customer_id) {
            (Some(p), _) => Some(p.to_string()),
            (None, Some(c)) => Some(c.as_str().to_owned()),
            (None, None) => None,
        }
    }
}

/// Wrong confirmation codes a browser may type before its request is declined.
pub const CONFIRM_TRIES: u32 = 5;

/// How a store answers a confirmation code typed in the browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// The code was right: the request may be continued.
    Confirmed,
    /// Wrong; this many tries are left.
    Wrong {
        /// Tries left.
        tries_left: u32,
    },
    /// Wrong for the last time: the request is declined.
    Exhausted,
    /// The request awaits no code (not approved, or confirmed already).
    NotAwaited,
}

/// A cross-device request refused on the phone and reported as not the person's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationReport {
    /// Row ID (the listing's cursor).
    pub id: i64,
    /// When it was reported.
    pub reported_at: UnixTime,
    /// The relying party that asked (`None`: a portal login).
    pub relying_party: Option<RelyingPartyId>,
    /// `portal` or `openid-connect`.
    pub purpose: String,
    /// When and where the browser began it.
    pub began_at: UnixTime,
    /// Where the browser was.
    pub began: BrowserOrigin,
    /// Whether the phone found it by its short code (not the QR code).
    pub by_short_code: bool,
    /// Where the report came from.
    pub reported_from: Option<String>,
}

/// Seconds a report is kept.
pub const REPORT_KEEP_SECS: u64 = 366 * 24 * 3600;

/// A code exchange the store carries out in one transaction: the client assertion's `jti`
/// spent, the code's request checked and redeemed, the access token stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeExchange {
    /// The client assertion's `jti` (`private_key_jwt`), spent whatever the outcome but
    /// [`ExchangeOutcome::AssertionReplayed`].
    pub assertion: Option<UsedNonce>,
    /// SHA-256 of the code.
    pub code_hash: [u8; 32],
    /// The authenticated client.
    pub relying_party: RelyingPartyId,
    /// The `redirect_uri` sent.
    pub redirect_uri: Option<String>,
    /// BASE64URL(SHA-256(code_verifier)).
    pub code_challenge: String,
    /// SHA-256 of the new access token.
    pub token_hash: [u8; 32],
    /// Until when it lasts.
    pub token_expires_at: UnixTime,
    /// When.
    pub at: UnixTime,
}

/// What became of a [`CodeExchange`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExchangeOutcome {
    /// Redeemed: the request, and how its client's ID tokens are signed.
    Redeemed(Box<Authorization>, IdTokenAlg),
    /// The assertion's `jti` was used before: nothing written.
    AssertionReplayed,
    /// No such code, or another client's.
    Unknown,
    /// The code was exchanged before: the tokens it gave were revoked (how many), and whose.
    Reused {
        /// Live tokens revoked now.
        revoked: u64,
        /// The person the request was for.
        person: Option<PersonId>,
    },
    /// The code's minute is over.
    Expired,
    /// The `redirect_uri` is not the request's.
    RedirectMismatch,
    /// The verifier does not match the challenge.
    PkceMismatch,
}

/// What an exchange does with the request a code names (the rule both backends apply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExchangeStep {
    /// Refuse with this outcome (only the assertion is spent).
    Refuse(ExchangeOutcome),
    /// A code used again: revoke what it gave.
    Revoke,
    /// Redeem it.
    Redeem,
}

impl CodeExchange {
    /// The rule: `found` is the request the code names, if any; `taken` says whether an earlier
    /// exchange in the same batch redeemed it.
    pub fn step(&self, found: Option<&Authorization>, taken: bool) -> ExchangeStep {
        let Some(a) = found.filter(|a| a.request.relying_party == Some(self.relying_party)) else {
            return ExchangeStep::Refuse(ExchangeOutcome::Unknown);
        };
        if a.status == AuthorizationStatus::Redeemed || taken {
            return ExchangeStep::Revoke;
        }
        if a.status != AuthorizationStatus::Continued {
            return ExchangeStep::Refuse(ExchangeOutcome::Unknown);
        }
        if a.code_expires_at.is_none_or(|t| self.at > t) {
            return ExchangeStep::Refuse(ExchangeOutcome::Expired);
        }
        if self.redirect_uri != a.request.redirect_uri {
            return ExchangeStep::Refuse(ExchangeOutcome::RedirectMismatch);
        }
        let expected = a.request.code_challenge.as_deref().unwrap_or_default();
        if aws_lc_rs::constant_time::verify_slices_are_equal(
            expected.as_bytes(),
            self.code_challenge.as_bytes(),
        )
        .is_err()
        {
            return ExchangeStep::Refuse(ExchangeOutcome::PkceMismatch);
        }
        ExchangeStep::Redeem
    }
}

/// How a store answers a conditional change of an authorization.
pub type Changed = bool;

/// The provider's storage; `Store` requires it.
#[async_trait::async_trait]
pub trait OidcStore: Send + Sync + 'static {
    /// A relying party by client ID with its registered JWK Set (one look-up for
    /// `private_key_jwt`).
    async fn client_with_keys(
        &self,
        client_id: &str,
    ) -> Result<Option<(RelyingParty, Option<String>)>, StoreError>;

    /// Carries out a code exchange (see [`CodeExchange`]); SQLite commits concurrent exchanges
    /// together.
    async fn exchange_code(&self, x: &CodeExchange) -> Result<ExchangeOutcome, StoreError>;

    /// Registers (or replaces) a relying party's OpenID Connect client.
    async fn set_oidc_client(&self, c: &OidcClient, at: UnixTime) -> Result<(), StoreError>;

    /// A relying party's client registration.
    async fn oidc_client(&self, rp: RelyingPartyId) -> Result<Option<OidcClient>, StoreError>;

    /// Stores a request; `false` (nothing written) when its short code is taken.
    async fn insert_authorization(&self, a: &NewAuthorization) -> Result<bool, StoreError>;

    /// The request behind a handle.
    async fn authorization(
        &self,
        handle_hash: &[u8; 32],
    ) -> Result<Option<Authorization>, StoreError>;

    /// The pending request a short code names.
    async fn authorization_by_short_code(
        &self,
        code: &str,
    ) -> Result<Option<Authorization>, StoreError>;

    /// Marks a pending, unexpired request declined; with `report`, records it in the same
    /// transaction (its `id` is ignored).
    async fn decline_authorization(
        &self,
        handle_hash: &[u8; 32],
        at: UnixTime,
        report: Option<&AuthorizationReport>,
    ) -> Result<Changed, StoreError>;

    /// The browser typed a code: `code_hash` against the approved request's (see
    /// [`Confirmation`]); the tries are counted in the store, so every node shares them.
    async fn confirm_authorization(
        &self,
        handle_hash: &[u8; 32],
        code_hash: &[u8; 32],
    ) -> Result<Confirmation, StoreError>;

    /// Reports after row `after`, oldest first, at most `limit`.
    async fn authorization_reports(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuthorizationReport>, StoreError>;

    /// Gives an approved request its code (once).
    async fn continue_authorization(
        &self,
        handle_hash: &[u8; 32],
        code_hash: &[u8; 32],
        code_expires_at: UnixTime,
    ) -> Result<Changed, StoreError>;

    /// The request a code was given for.
    async fn authorization_by_code(
        &self,
        code_hash: &[u8; 32],
    ) -> Result<Option<Authorization>, StoreError>;

    /// Exchanges a continued request's code: it becomes redeemed and the access token is
    /// stored; `false` (nothing written) when the code was exchanged already.
    async fn redeem_authorization(
        &self,
        id: i64,
        token_hash: &[u8; 32],
        token_expires_at: UnixTime,
        at: UnixTime,
    ) -> Result<Changed, StoreError>;

    /// Revokes every access token a request gave; answers how many were live.
    async fn revoke_authorization(&self, id: i64, at: UnixTime) -> Result<u64, StoreError>;

    /// Appends `log` to `person`'s log the first time facts are given for the access token
    /// (`false`, nothing written, every later time).
    async fn log_facts_given_once(
        &self,
        token_hash: &[u8; 32],
        person: PersonId,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<Changed, StoreError>;

    /// The request behind a live (unexpired, unrevoked) access token.
    async fn access_token(
        &self,
        token_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<Authorization>, StoreError>;

    /// A pending, unexpired portal login approved by `person`, `logs` appended to their log;
    /// the browser must then type the code whose SHA-256 is `confirm_hash`.
    async fn approve_portal_authorization(
        &self,
        handle_hash: &[u8; 32],
        person: PersonId,
        confirm_hash: &[u8; 32],
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<Changed, StoreError>;

    /// An approved portal login becomes a session (once).
    async fn complete_portal_login(
        &self,
        handle_hash: &[u8; 32],
        token_hash: &[u8; 32],
        session_expires_at: UnixTime,
    ) -> Result<Changed, StoreError>;

    /// Ends a session.
    async fn end_session(&self, token_hash: &[u8; 32]) -> Result<(), StoreError>;

    /// The redeemed request an ID token's `sid` names.
    async fn authorization_by_sid(&self, sid: &str) -> Result<Option<Authorization>, StoreError>;
}
