//! The authorization endpoint's side in the browser (Core §3.1.2): the request checked in the
//! order RFC 6749 §4.1.2.1 sets — errors that make the redirect URI untrustworthy are shown to
//! the user, the rest go back to the client — then stored pending for the phone; and the
//! browser's return once the phone has answered.

use crate::Rng;
use aws_lc_rs::constant_time;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use mykey_pki::UnixTime;
use serde::Deserialize;

use super::confirm::Gate;
use super::{
    AuthorizationStatus, BrowserOrigin, CODE_TTL, FactScope, MAX_STATE_LEN, NewAuthorization,
    OAuthCode, OidcClient, OidcSubject,
};
use crate::relying_party::sha256;
use crate::{
    LinkRequest, LinkRequestId, Platform, PlatformError, PpidService, RelyingParty,
    RelyingPartyStatus,
};

/// The request's parameters as the browser sent them (query or form); each at most once.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthorizationParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The relying party's client ID.
    pub client_id: Option<String>,
    /// One of its registered redirect URIs, exactly.
    pub redirect_uri: Option<String>,
    /// `openid` and fact scopes the client may ask for.
    pub scope: Option<String>,
    /// Required; returned to the client.
    pub state: Option<String>,
    /// Required; put in the ID token.
    pub nonce: Option<String>,
    /// Required: BASE64URL(SHA-256(verifier)).
    pub code_challenge: Option<String>,
    /// Required: `S256`.
    pub code_challenge_method: Option<String>,
    /// `none` cannot be honoured: every login uses the card.
    pub prompt: Option<String>,
    /// Only `query`.
    pub response_mode: Option<String>,
    /// Request objects are not supported.
    pub request: Option<String>,
    /// Request URIs are not supported.
    pub request_uri: Option<String>,
    /// `ja` or `en` for the page (read by the edge).
    pub ui_locales: Option<String>,
    /// Accepted and ignored: every login is fresh.
    pub max_age: Option<String>,
    /// Accepted and ignored.
    pub login_hint: Option<String>,
    /// Accepted and ignored.
    pub acr_values: Option<String>,
    /// Accepted and ignored.
    pub display: Option<String>,
    /// For a client logging in by Service ID: a link request it opened (its ID), offered to a
    /// person who has no Service ID with it yet, so that linking and logging in take one visit.
    pub link_request: Option<String>,
}

/// Why a request was refused.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or its redirect URI cannot be trusted: show the error, do not redirect.
    Shown(PlatformError),
    /// Send the browser back to the client with this URL (error, description, state, iss).
    Redirect(String),
}

impl From<PlatformError> for AuthorizeError {
    fn from(e: PlatformError) -> Self {
        AuthorizeError::Shown(e)
    }
}

/// A stored request, for the page the browser shows.
#[derive(Debug)]
pub struct Begun {
    /// The handle in the approval URL (and the QR code).
    pub handle: String,
    /// The short code a person may type into the phone instead.
    pub short_code: String,
    /// The secret for the browser's cookie.
    pub browser_secret: String,
    /// Who asks.
    pub relying_party: RelyingParty,
    /// The PPID service the login is for; `None` for a login by Service ID.
    pub service: Option<PpidService>,
    /// The link request offered with a login by Service ID.
    pub link: Option<LinkRequest>,
    /// The facts asked for.
    pub facts: Vec<FactScope>,
    /// Until when the phone may answer.
    pub expires_at: UnixTime,
}

/// Where the browser goes after coming back.
#[derive(Debug, PartialEq, Eq)]
pub enum Continuation {
    /// The phone has not answered yet.
    Pending {
        /// Until when it may.
        expires_at: UnixTime,
    },
    /// Approved on the phone by short code: the browser must type the code the phone shows
    /// (`confirm.rs`).
    Confirm {
        /// Wrong codes it may still type.
        tries_left: u32,
        /// The code just typed was wrong.
        wrong: bool,
    },
    /// To the client: with a code, or with `access_denied`.
    Redirect(String),
}

/// The short-code alphabet (Crockford's base 32): no I, L, O or U to misread.
const SHORT_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh short code, `XXXX-XXXX` (40 bits).
pub(crate) fn short_code(rng: &dyn Rng) -> String {
    let r = rng.bytes::<8>();
    let mut s = String::with_capacity(9);
    for (i, b) in r.iter().enumerate() {
        if i == 4 {
            s.push('-');
        }
        s.push(SHORT_ALPHABET[usize::from(b & 31)] as char);
    }
    s
}

/// A short code as typed (any case, with or without the hyphen, O for 0 and I or L for 1), in
/// its stored form; `None` when it cannot be one.
pub(crate) fn normalise_short_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(9);
    for c in typed.chars().filter(|c| !matches!(c, '-' | ' ')) {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !SHORT_ALPHABET.contains(&(c as u8)) || out.len() >= 9 {
            return None;
        }
        if out.len() == 4 {
            out.push('-');
        }
        out.push(c);
    }
    (out.len() == 9).then_some(out)
}

/// The handle's stored hash.
pub(crate) fn handle_hash(handle: &str) -> [u8; 32] {
    let mut b = b"mykey-authorization-v1\0".to_vec();
    b.extend_from_slice(handle.as_bytes());
    sha256(&b)
}

/// `base` with `pairs` added to its query (RFC 6749 §4.1.2: keeping its own query).
pub(crate) fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(pairs);
            u.into()
        }
        // Registered URIs were checked to parse; this cannot happen.
        Err(_) => base.to_owned(),
    }
}

/// A PKCE S256 challenge: 43 base64url characters (32 bytes).
fn valid_challenge(c: &str) -> bool {
    c.len() == 43 && B64URL.decode(c).is_ok_and(|b| b.len() == 32)
}

impl Platform {
    /// Checks an authorization request and stores it for the phone (see the module docs).
    pub async fn begin_authorization(
        &self,
        p: &AuthorizationParams,
        began: BrowserOrigin,
    ) -> Result<Begun, AuthorizeError> {
        let client_id = p
            .client_id
            .as_deref()
            .ok_or(PlatformError::OAuth(crate::OAuthError {
                code: OAuthCode::InvalidRequest,
                reason: "client_id is missing",
            }))?;
        let (rp, _) = self
            .store
            .relying_party_by_client_id(client_id)
            .await
            .map_err(PlatformError::from)?
            .ok_or(PlatformError::NotFound(crate::NotFound::OidcClient))?;
        let client = self
            .store
            .oidc_client(rp.id)
            .await
            .map_err(PlatformError::from)?
            .ok_or(PlatformError::NotFound(crate::NotFound::OidcClient))?;
        let redirect_uri = p
            .redirect_uri
            .as_deref()
            .filter(|u| client.redirect_uris.iter().any(|r| r == u))
            .ok_or(PlatformError::Invalid(crate::InvalidError::RedirectUri))?;
        // From here on errors go back to the client, with its state.
        let back = |code: OAuthCode, reason: &str| {
            let mut pairs = vec![("error", code.as_str()), ("error_description", reason)];
            if let Some(s) = p.state.as_deref() {
                pairs.push(("state", s));
            }
            pairs.push(("iss", self.issuer()));
            AuthorizeError::Redirect(with_query(redirect_uri, &pairs))
        };
        let facts = self.check_request(p, &rp, &client).map_err(|e| match e {
            PlatformError::OAuth(crate::OAuthError { code, reason }) => back(code, reason),
            e => AuthorizeError::Shown(e),
        })?;
        if !facts.is_empty() && self.public_authority_function(&rp).is_err() {
            return Err(back(
                OAuthCode::InvalidScope,
                "the four facts are for public authorities (Terms Art 20)",
            ));
        }
        let (service, link) = match client.subject {
            OidcSubject::Ppid(id) => {
                if p.link_request.is_some() {
                    return Err(back(
                        OAuthCode::InvalidRequest,
                        "link_request is for clients that log in by Service ID",
                    ));
                }
                match self.ppid_service(id).await {
                    Ok(s) if self.ppid.is_some() => (Some(s), None),
                    _ => {
                        return Err(back(
                            OAuthCode::AccessDenied,
                            "the relying party's PPID service is not available",
                        ));
                    }
                }
            }
            OidcSubject::ServiceId => match p.link_request.as_deref() {
                None => (None, None),
                Some(id) => {
                    let open = match id.parse::<LinkRequestId>() {
                        Ok(id) => self.link_request(id).await.ok(),
                        Err(_) => None,
                    };
                    match open.filter(|r| r.relying_party.id == rp.id) {
                        Some(r) => {
                            // Linking is the Service IDs' function, and a new start.
                            self.linking_open().await?;
                            (None, Some(r))
                        }
                        None => {
                            return Err(back(
                                OAuthCode::InvalidRequest,
                                "link_request names no open link request of this client",
                            ));
                        }
                    }
                }
            },
        };
        let now = self.clock.now();
        let handle = B64URL.encode(self.rng.bytes::<32>());
        let browser_secret = B64URL.encode(self.rng.bytes::<32>());
        let mut scope = vec!["openid"];
        scope.extend(facts.iter().map(|f| f.as_str()));
        let mut a = NewAuthorization {
            handle_hash: handle_hash(&handle),
            short_code: short_code(&*self.rng),
            browser_hash: sha256(browser_secret.as_bytes()),
            relying_party: Some(rp.id),
            redirect_uri: Some(redirect_uri.to_owned()),
            scope: scope.join(" "),
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            code_challenge: p.code_challenge.clone(),
            sid: B64URL.encode(self.rng.bytes::<16>()),
            created_at: now,
            expires_at: now.plus(self.config.authorization_ttl.as_secs()),
            began,
            link_request: link.as_ref().map(|r| r.id),
        };
        // A short code is unique among pending requests; a clash (2^-40 each) draws again.
        let mut tries = 0;
        while !self
            .store
            .insert_authorization(&a)
            .await
            .map_err(PlatformError::from)?
        {
            tries += 1;
            if tries > 8 {
                return Err(PlatformError::Store(crate::StoreError::conflict(
                    "no free short code",
                ))
                .into());
            }
            a.short_code = short_code(&*self.rng);
        }
        Ok(Begun {
            handle,
            short_code: a.short_code,
            browser_secret,
            relying_party: rp,
            service,
            link,
            facts,
            expires_at: a.expires_at,
        })
    }

    /// The checks of a request whose client and redirect URI are known good; answers the fact
    /// scopes asked for.
    fn check_request(
        &self,
        p: &AuthorizationParams,
        rp: &RelyingParty,
        client: &OidcClient,
    ) -> Result<Vec<FactScope>, PlatformError> {
        let oauth = |code, reason| PlatformError::OAuth(crate::OAuthError { code, reason });
        use OAuthCode as C;
        if p.request.is_some() {
            return Err(oauth(
                C::RequestNotSupported,
                "request objects are not supported",
            ));
        }
        if p.request_uri.is_some() {
            return Err(oauth(
                C::RequestUriNotSupported,
                "request_uri is not supported",
            ));
        }
        match p.response_type.as_deref() {
            Some("code") => {}
            Some(_) => {
                return Err(oauth(
                    C::UnsupportedResponseType,
                    "only the authorization code flow (response_type=code) is supported",
                ));
            }
            None => return Err(oauth(C::InvalidRequest, "response_type is missing")),
        }
        if p.response_mode.as_deref().is_some_and(|m| m != "query") {
            return Err(oauth(
                C::InvalidRequest,
                "only response_mode=query is supported",
            ));
        }
        let state = p.state.as_deref().unwrap_or_default();
        if state.is_empty() || state.len() > MAX_STATE_LEN {
            return Err(oauth(
                C::InvalidRequest,
                "state is required (1 to 512 characters)",
            ));
        }
        let nonce = p.nonce.as_deref().unwrap_or_default();
        if nonce.is_empty() || nonce.len() > MAX_STATE_LEN {
            return Err(oauth(
                C::InvalidRequest,
                "nonce is required (1 to 512 characters)",
            ));
        }
        match (
            p.code_challenge.as_deref(),
            p.code_challenge_method.as_deref(),
        ) {
            (None, _) => {
                return Err(oauth(
                    C::InvalidRequest,
                    "PKCE is required: code_challenge is missing",
                ));
            }
            (Some(_), Some("S256")) => {}
            (Some(_), _) => {
                return Err(oauth(
                    C::InvalidRequest,
                    "code_challenge_method must be S256",
                ));
            }
        }
        if !p.code_challenge.as_deref().is_some_and(valid_challenge) {
            return Err(oauth(
                C::InvalidRequest,
                "code_challenge must be 43 base64url characters (SHA-256)",
            ));
        }
        let scope = p.scope.as_deref().unwrap_or_default();
        let mut openid = false;
        let mut facts = Vec::new();
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            if s == "openid" {
                openid = true;
                continue;
            }
            match FactScope::parse(s) {
                Some(f) if client.scopes.contains(&f) => facts.push(f),
                Some(_) => {
                    return Err(oauth(
                        C::InvalidScope,
                        "the client is not allowed a scope it asked for",
                    ));
                }
                None => return Err(oauth(C::InvalidScope, "a scope asked for is not supported")),
            }
        }
        if !openid {
            return Err(oauth(C::InvalidScope, "the openid scope is required"));
        }
        facts.sort_unstable();
        facts.dedup();
        if p.prompt
            .as_deref()
            .is_some_and(|x| x.split(' ').any(|v| v == "none"))
        {
            return Err(oauth(
                C::LoginRequired,
                "every login needs the card: prompt=none cannot be honoured",
            ));
        }
        if rp.status != RelyingPartyStatus::Approved {
            return Err(oauth(
                C::UnauthorizedClient,
                "the relying party is not approved",
            ));
        }
        Ok(facts)
    }

    /// The request `handle` names, if `browser_secret` is the cookie of the browser that began
    /// it.
    pub(super) async fn browser_authorization(
        &self,
        handle: &str,
        browser_secret: &str,
    ) -> Result<super::Authorization, PlatformError> {
        let a = self
            .store
            .authorization(&handle_hash(handle))
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::Authorization))?;
        constant_time::verify_slices_are_equal(
            &a.request.browser_hash,
            &sha256(browser_secret.as_bytes()),
        )
        .map_err(|_| PlatformError::NotFound(crate::NotFound::Authorization))?;
        Ok(a)
    }

    /// Where the request stands, for the browser that began it (`Pending` past its expiry is
    /// answered as `Declined`: it can no longer be approved).
    pub async fn authorization_status(
        &self,
        handle: &str,
        browser_secret: &str,
    ) -> Result<AuthorizationStatus, PlatformError> {
        let a = self.browser_authorization(handle, browser_secret).await?;
        Ok(match a.status {
            AuthorizationStatus::Pending if self.clock.now() > a.request.expires_at => {
                AuthorizationStatus::Declined
            }
            s => s,
        })
    }

    /// Where a request stands after waiting up to `wait` for the phone's answer (the browser's
    /// long poll): woken as soon as the phone answers through this node, and checking the store
    /// every [`super::FALLBACK_CHECK`] for answers through another.
    pub async fn wait_for_authorization(
        &self,
        handle: &str,
        browser_secret: &str,
        wait: std::time::Duration,
    ) -> Result<AuthorizationStatus, PlatformError> {
        let deadline = tokio::time::Instant::now() + wait;
        let watch = self.answers.watch(handle_hash(handle));
        loop {
            // Listening before looking, so an answer in between is not missed.
            let rung = watch.bell().notified();
            tokio::pin!(rung);
            rung.as_mut().enable();
            let status = self.authorization_status(handle, browser_secret).await?;
            let now = tokio::time::Instant::now();
            if status != AuthorizationStatus::Pending || now >= deadline {
                return Ok(status);
            }
            let _ = tokio::time::timeout_at(deadline.min(now + super::FALLBACK_CHECK), rung).await;
        }
    }

    /// The browser that began the request comes back: once the phone approved (and the browser
    /// typed the code the phone showed, where one is awaited), it is sent to the client with a
    /// one-time code; declined or expired, with `access_denied`.
    pub async fn continue_authorization(
        &self,
        handle: &str,
        browser_secret: &str,
        confirmation: Option<&str>,
    ) -> Result<Continuation, PlatformError> {
        let a = self.browser_authorization(handle, browser_secret).await?;
        let now = self.clock.now();
        let redirect_uri = a
            .request
            .redirect_uri
            .as_deref()
            .ok_or(PlatformError::NotFound(crate::NotFound::Authorization))?;
        let state = a.request.state.as_deref().unwrap_or_default();
        let denied = |reason: &str| {
            Continuation::Redirect(with_query(
                redirect_uri,
                &[
                    ("error", OAuthCode::AccessDenied.as_str()),
                    ("error_description", reason),
                    ("state", state),
                    ("iss", self.issuer()),
                ],
            ))
        };
        match a.status {
            AuthorizationStatus::Pending if now > a.request.expires_at => Ok(denied(
                "the request expired before the card holder answered",
            )),
            AuthorizationStatus::Pending => Ok(Continuation::Pending {
                expires_at: a.request.expires_at,
            }),
            AuthorizationStatus::Declined => Ok(denied("the card holder declined")),
            // The browser must come back while the request lasts (its row is kept that long).
            AuthorizationStatus::Approved if now > a.request.expires_at => {
                Ok(denied("the request expired before the browser continued"))
            }
            AuthorizationStatus::Approved => {
                match self.browser_gate(&a, confirmation).await? {
                    Gate::Open => {}
                    Gate::Ask { tries_left, wrong } => {
                        return Ok(Continuation::Confirm { tries_left, wrong });
                    }
                    Gate::Closed => {
                        return Ok(denied(
                            "the code shown on the phone was typed wrongly too many times",
                        ));
                    }
                }
                let code = B64URL.encode(self.rng.bytes::<32>());
                if !self
                    .store
                    .continue_authorization(
                        &a.request.handle_hash,
                        &sha256(code.as_bytes()),
                        now.plus(CODE_TTL),
                    )
                    .await?
                {
                    return Err(PlatformError::Conflict(
                        crate::Conflict::AuthorizationAnswered,
                    ));
                }
                Ok(Continuation::Redirect(with_query(
                    redirect_uri,
                    &[("code", &code), ("state", state), ("iss", self.issuer())],
                )))
            }
            AuthorizationStatus::Continued | AuthorizationStatus::Redeemed => Err(
                PlatformError::Conflict(crate::Conflict::AuthorizationAnswered),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_are_typed_forgivingly() {
        for _ in 0..100 {
            let c = short_code(&mykey_pki::SystemRng);
            assert_eq!(c.len(), 9);
            assert_eq!(normalise_short_code(&c).as_deref(), Some(c.as_str()));
            assert_eq!(
                normalise_short_code(&c.to_lowercase().replace('-', "")).as_deref(),
                Some(c.as_str())
            );
        }
        assert_eq!(
            normalise_short_code("o1il-abcd").as_deref(),
            Some("0111-ABCD")
        );
        for bad in ["", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFGU", "ＡBCD-EFGH"] {
            assert_eq!(normalise_short_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        assert_eq!(
            with_query(
                "https://rp.example/cb?x=1",
                &[("code", "a b"), ("state", "s&t")]
            ),
            "https://rp.example/cb?x=1&code=a+b&state=s%26t"
        );
        assert!(valid_challenge(&B64URL.encode([0u8; 32])));
        assert!(!valid_challenge("short"));
        assert!(!valid_challenge(&"+".repeat(43)));
    }
}
