//! The card holder's portal logs in with the same cross-device flow: a request with no relying
//! party, answered by the phone with a login challenge (no consent is asked: it is the person's
//! own data), and continued by the browser that began it into a session — once it has typed
//! the code the phone showed (`confirm.rs`): a phisher's browser never gets the session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use mykey_pki::UnixTime;
use serde_json::json;

use super::authorize::handle_hash;
use super::confirm::{Gate, new_code};
use super::{AuthorizationStatus, BrowserOrigin, NewAuthorization};
use crate::relying_party::sha256;
use crate::{
    CardAnswer, ChallengePurpose, NewConsent, NewLog, Platform, PlatformError, SessionToken,
};

/// A started portal login, for the page the browser shows.
#[derive(Debug)]
pub struct PortalBegun {
    /// The handle in the approval URL (and the QR code).
    pub handle: String,
    /// The short code a person may type into the phone instead.
    pub short_code: String,
    /// The secret for the browser's cookie.
    pub browser_secret: String,
    /// Until when the phone may answer.
    pub expires_at: UnixTime,
}

/// Where the portal's browser goes after coming back.
#[derive(Debug)]
pub enum PortalContinuation {
    /// The phone has not answered yet.
    Pending {
        /// Until when it may.
        expires_at: UnixTime,
    },
    /// Approved on the phone: the browser must type the code the phone shows.
    Confirm {
        /// Wrong codes it may still type.
        tries_left: u32,
        /// The code just typed was wrong.
        wrong: bool,
    },
    /// Declined, expired, or too many wrong codes.
    Refused,
    /// Logged in: the session's token for the browser's cookie.
    LoggedIn(SessionToken),
}

impl Platform {
    /// Starts a portal login for the browser at `began`.
    pub async fn begin_portal_login(
        &self,
        began: BrowserOrigin,
    ) -> Result<PortalBegun, PlatformError> {
        let now = self.clock.now();
        let handle = B64URL.encode(self.rng.bytes::<32>());
        let browser_secret = B64URL.encode(self.rng.bytes::<32>());
        let mut a = NewAuthorization {
            handle_hash: handle_hash(&handle),
            short_code: super::authorize::short_code(&*self.rng),
            browser_hash: sha256(browser_secret.as_bytes()),
            relying_party: None,
            redirect_uri: None,
            scope: "portal".into(),
            state: None,
            nonce: None,
            code_challenge: None,
            sid: B64URL.encode(self.rng.bytes::<16>()),
            created_at: now,
            expires_at: now.plus(self.config.authorization_ttl.as_secs()),
            began,
            link_request: None,
        };
        let mut tries = 0;
        while !self.store.insert_authorization(&a).await? {
            tries += 1;
            if tries > 8 {
                return Err(PlatformError::Store(crate::StoreError::conflict(
                    "no free short code",
                )));
            }
            a.short_code = super::authorize::short_code(&*self.rng);
        }
        Ok(PortalBegun {
            handle,
            short_code: a.short_code,
            browser_secret,
            expires_at: a.expires_at,
        })
    }

    /// The phone approves a portal login with the card (see the module docs); answers the code
    /// the browser must type.
    pub(super) async fn approve_portal_login(
        &self,
        handle_hash: &[u8; 32],
        card: &CardAnswer<'_>,
        consent: &NewConsent,
    ) -> Result<String, PlatformError> {
        self.check_consent(consent, &[]).await?;
        let now = self.clock.now();
        let proof = self
            .verify_card_once(card, ChallengePurpose::Login, None, Some(handle_hash), now)
            .await?;
        let person = self
            .person_for(proof.issuance_number, proof.expires_at, now)
            .await?;
        let mut logs = proof.logs;
        logs.push(NewLog::new(
            crate::LogKind::Login,
            json!({"purpose": "portal"}),
        ));
        let (code, confirm_hash) = new_code(&*self.rng, handle_hash);
        if self
            .store
            .approve_portal_authorization(handle_hash, person, &confirm_hash, now, &logs)
            .await?
        {
            Ok(code)
        } else {
            Err(PlatformError::Conflict(
                crate::Conflict::AuthorizationAnswered,
            ))
        }
    }

    /// The browser that began a portal login comes back, with the code the phone showed once
    /// it has it.
    pub async fn continue_portal_login(
        &self,
        handle: &str,
        browser_secret: &str,
        confirmation: Option<&str>,
    ) -> Result<PortalContinuation, PlatformError> {
        let a = self.browser_authorization(handle, browser_secret).await?;
        if a.request.relying_party.is_some() {
            return Err(PlatformError::NotFound(crate::NotFound::Authorization));
        }
        let now = self.clock.now();
        match a.status {
            _ if now > a.request.expires_at && a.status != AuthorizationStatus::Redeemed => {
                Ok(PortalContinuation::Refused)
            }
            AuthorizationStatus::Pending => Ok(PortalContinuation::Pending {
                expires_at: a.request.expires_at,
            }),
            AuthorizationStatus::Declined => Ok(PortalContinuation::Refused),
            AuthorizationStatus::Approved => {
                match self.browser_gate(&a, confirmation).await? {
                    Gate::Open => {}
                    Gate::Ask { tries_left, wrong } => {
                        return Ok(PortalContinuation::Confirm { tries_left, wrong });
                    }
                    Gate::Closed => return Ok(PortalContinuation::Refused),
                }
                let expires_at = now.plus(self.config.session_ttl.as_secs());
                let token = SessionToken::new(&*self.rng, expires_at);
                let done = self
                    .store
                    .complete_portal_login(
                        &a.request.handle_hash,
                        &SessionToken::key(token.as_str()),
                        expires_at,
                    )
                    .await?;
                if done {
                    Ok(PortalContinuation::LoggedIn(token))
                } else {
                    Err(PlatformError::Conflict(
                        crate::Conflict::AuthorizationAnswered,
                    ))
                }
            }
            AuthorizationStatus::Continued | AuthorizationStatus::Redeemed => Err(
                PlatformError::Conflict(crate::Conflict::AuthorizationAnswered),
            ),
        }
    }

    /// Ends a session (the portal's log-out).
    pub async fn end_session(&self, token: &str) -> Result<(), PlatformError> {
        Ok(self.store.end_session(&SessionToken::key(token)).await?)
    }
}
