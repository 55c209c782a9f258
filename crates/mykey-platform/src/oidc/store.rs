//! What the OpenID Connect provider keeps: each relying party's client registration, the
//! authorization requests a browser opened and a phone answers, and the access tokens they gave.
//! Each method is one transaction; only hashes of handles, codes and tokens are stored.

use mykey_pki::UnixTime;

use crate::{NewLog, PersonId, Ppid, RelyingPartyId, StoreError};

use super::OidcClient;

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
    /// Their PPID for the relying party's PPID service.
    pub ppid: Option<Ppid>,
    /// The claims given (JSON object text).
    pub facts: Option<String>,
    /// When the card approved.
    pub approved_at: Option<UnixTime>,
    /// Until when the code may be exchanged.
    pub code_expires_at: Option<UnixTime>,
}

/// How a store answers a conditional change of an authorization.
pub type Changed = bool;

/// The provider's storage; `Store` requires it.
#[async_trait::async_trait]
pub trait OidcStore: Send + Sync + 'static {
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

    /// Marks a pending, unexpired request declined.
    async fn decline_authorization(
        &self,
        handle_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Changed, StoreError>;

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

    /// The request behind a live (unexpired, unrevoked) access token.
    async fn access_token(
        &self,
        token_hash: &[u8; 32],
        at: UnixTime,
    ) -> Result<Option<Authorization>, StoreError>;

    /// A pending, unexpired portal login approved by `person`, `logs` appended to their log.
    async fn approve_portal_authorization(
        &self,
        handle_hash: &[u8; 32],
        person: PersonId,
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
