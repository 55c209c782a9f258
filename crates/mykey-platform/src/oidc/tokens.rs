//! The code exchange (RFC 6749 §4.1.3, RFC 7636 §4.6, Core §3.1.3), the userinfo endpoint
//! (Core §5.3) and RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! The ID token: `iss`, `sub` (the PPID), `aud` and `azp` (the client), `exp`, `iat`,
//! `auth_time` (when the card signed), `nonce`, `sid`, `at_hash`, `amr` (`hwk`, `pin`, `mfa`:
//! a hardware-held key unlocked by a PIN, RFC 8176) and `acr`
//! [`ACR_CARD`]. Access tokens live [`super::ACCESS_TOKEN_TTL`] seconds; `ordered_token` says what
//! they are made of and what the store keeps of them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::authorize::with_query;
use super::{ACCESS_TOKEN_TTL, CodeExchange, ExchangeOutcome, IdTokenAlg, OAuthCode};
use crate::relying_party::sha256;
use crate::{NewLog, Platform, PlatformError, RelyingParty, UsedNonce};

/// The `acr` of a login with the card's user-identification key.
pub const ACR_CARD: &str = "urn:mykey:acr:jpki-user-identification";

/// What a code exchange answers.
#[derive(Debug)]
pub struct OidcTokens {
    /// The access token for userinfo.
    pub access_token: String,
    /// The ID token (JWS).
    pub id_token: String,
    /// Seconds the access token lasts.
    pub expires_in: u64,
    /// The scopes granted.
    pub scope: String,
}

/// An RP-initiated logout request's parameters.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LogoutRequest {
    /// An ID token the platform issued to the client (expired ones are accepted).
    pub id_token_hint: Option<String>,
    /// The client, when no hint is given (or to be checked against it).
    pub client_id: Option<String>,
    /// Where to return; must be registered.
    pub post_logout_redirect_uri: Option<String>,
    /// Returned to the client.
    pub state: Option<String>,
    /// Accepted and ignored.
    pub ui_locales: Option<String>,
    /// Accepted and ignored.
    pub logout_hint: Option<String>,
    /// `yes` when the person answered the platform's own question whether to log out (asked
    /// when no `id_token_hint` names the login: RP-Initiated Logout 1.0 §2).
    pub logout_confirmed: Option<String>,
}

/// What an RP-initiated logout comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Done; back to the client's registered URI.
    Redirect(String),
    /// Done; nowhere to return to.
    Done,
    /// No `id_token_hint` names the login: the person is asked first (a page of the platform's
    /// own that sends the same request with `logout_confirmed=yes`). `asked_by`: the client's
    /// name, if it was named.
    Confirm {
        /// The relying party that asks, if known.
        asked_by: Option<String>,
    },
}

fn grant(reason: &'static str) -> PlatformError {
    PlatformError::OAuth(crate::OAuthError {
        code: OAuthCode::InvalidGrant,
        reason,
    })
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A new access token: 32 bytes, base64url, 16 of them random (see `ordered_token`).
fn new_access_token(rng: &dyn mykey_pki::Rng, expires_at: crate::UnixTime) -> String {
    crate::ordered_token::new::<16>(rng, expires_at)
}

/// What the store keeps of an access token and looks it up by (see `ordered_token`).
pub(crate) fn access_token_key(token: &str) -> [u8; 32] {
    crate::ordered_token::key::<16>(token)
}

/// An ID token's claims (see the module's head).
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    azp: &'a str,
    exp: u64,
    iat: u64,
    auth_time: u64,
    nonce: Option<&'a str>,
    sid: &'a str,
    at_hash: String,
    amr: [&'static str; 3],
    acr: &'static str,
}

#[derive(Deserialize)]
struct HintClaims {
    aud: Value,
    sid: Option<String>,
}

impl Platform {
    /// Exchanges an authorization code for `rp` (already authenticated; `assertion` the `jti`
    /// of its client assertion, spent in the same transaction). Unknown, foreign, expired and
    /// mismatched codes get `invalid_grant`; a code presented a second time also revokes the
    /// tokens the first exchange gave.
    pub async fn exchange_code(
        &self,
        rp: &RelyingParty,
        assertion: Option<UsedNonce>,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<OidcTokens, PlatformError> {
        let now = self.clock.now();
        let verifier = match code_verifier {
            Some(v) if valid_verifier(v) => v,
            v => {
                if let Some(n) = &assertion {
                    self.store.use_nonce(n).await?;
                }
                return Err(grant(if v.is_none() {
                    "PKCE: code_verifier is missing"
                } else {
                    "PKCE: code_verifier must be 43 to 128 unreserved characters"
                }));
            }
        };
        let token_expires_at = now.plus(ACCESS_TOKEN_TTL);
        let access_token = new_access_token(&*self.rng, token_expires_at);
        let digest = sha256(access_token.as_bytes());
        let x = CodeExchange {
            assertion,
            code_hash: sha256(code.as_bytes()),
            relying_party: rp.id,
            redirect_uri: redirect_uri.map(str::to_owned),
            code_challenge: B64URL.encode(sha256(verifier.as_bytes())),
            token_hash: access_token_key(&access_token),
            token_expires_at,
            at: now,
        };
        let (a, alg) = match self.store.exchange_code(&x).await? {
            ExchangeOutcome::Redeemed(a, alg) => (*a, alg),
            ExchangeOutcome::AssertionReplayed => {
                return Err(PlatformError::Access(
                    crate::AccessError::InvalidClientAssertion("that \"jti\" was used before"),
                ));
            }
            ExchangeOutcome::Unknown => {
                return Err(grant("unknown code, or issued to another client"));
            }
            ExchangeOutcome::Reused { revoked, person } => {
                // Logged when it ends something: replaying a spent code again and again adds
                // nothing more to the person's log.
                if let Some(person) = person.filter(|_| revoked > 0) {
                    let log = NewLog::new(
                        crate::LogKind::OidcCodeReused,
                        json!({"relying_party": rp.name, "tokens_revoked": revoked}),
                    );
                    self.store.append_log(person, now, &log).await?;
                }
                return Err(grant(
                    "the code was used before: the tokens it gave are revoked",
                ));
            }
            ExchangeOutcome::Expired => return Err(grant("the code has expired")),
            ExchangeOutcome::RedirectMismatch => {
                return Err(grant(
                    "redirect_uri differs from the authorization request's",
                ));
            }
            ExchangeOutcome::PkceMismatch => {
                return Err(grant("PKCE: code_verifier does not match code_challenge"));
            }
        };
        let (Some(sub), Some(auth_time)) = (a.subject(), a.approved_at) else {
            return Err(grant("unknown code, or issued to another client"));
        };
        // PPIDs and facts are functions of public authorities: a code given before the
        // operator's policy said no to businesses gives nothing now.
        if (a.ppid.is_some() || a.facts.as_deref().is_some_and(|f| f != "{}"))
            && self.public_authority_function(&rp).is_err()
        {
            return Err(grant("PPIDs and the four facts are for public authorities"));
        }
        let claims = IdTokenClaims {
            iss: self.issuer(),
            sub,
            aud: &rp.client_id,
            azp: &rp.client_id,
            exp: now.as_secs() + ACCESS_TOKEN_TTL,
            iat: now.as_secs(),
            auth_time: auth_time.as_secs(),
            nonce: a.request.nonce.as_deref(),
            sid: &a.request.sid,
            at_hash: B64URL.encode(&digest[..16]),
            amr: ["hwk", "pin", "mfa"],
            acr: ACR_CARD,
        };
        let id_token = self.sign_id_token(alg, &claims)?;
        Ok(OidcTokens {
            access_token,
            id_token,
            expires_in: ACCESS_TOKEN_TTL,
            scope: a.request.scope,
        })
    }

    fn sign_id_token(
        &self,
        alg: IdTokenAlg,
        claims: &IdTokenClaims<'_>,
    ) -> Result<String, PlatformError> {
        match alg {
            IdTokenAlg::Es256 => self.signing_keys().signing.sign_jwt("JWT", claims),
            IdTokenAlg::Rs256 => self.rsa_key().sign_jwt("JWT", claims),
        }
    }

    /// The claims an access token gives: `sub` and the facts consented to in its login. The
    /// first answer with facts for a token lands in the person's log (the same facts again for
    /// the same token add nothing: a relying party cannot grow the log by asking again).
    pub async fn userinfo(&self, access_token: &str) -> Result<Value, PlatformError> {
        let now = self.clock.now();
        let invalid = PlatformError::OAuth(crate::OAuthError {
            code: OAuthCode::InvalidToken,
            reason: "the access token is unknown, expired or revoked",
        });
        let a = self
            .store
            .access_token(&access_token_key(access_token), now)
            .await?
            .ok_or(invalid)?;
        let (Some(person), Some(sub), Some(rp)) = (a.person, a.subject(), a.request.relying_party)
        else {
            return Err(PlatformError::OAuth(crate::OAuthError {
                code: OAuthCode::InvalidToken,
                reason: "the access token is unknown, expired or revoked",
            }));
        };
        if a.ppid.is_some() || a.facts.as_deref().is_some_and(|f| f != "{}") {
            let allowed = match self.store.relying_party(rp).await? {
                Some(r) => self.public_authority_function(&r).is_ok(),
                None => false,
            };
            if !allowed {
                return Err(PlatformError::OAuth(crate::OAuthError {
                    code: OAuthCode::InvalidToken,
                    reason: "the access token is unknown, expired or revoked",
                }));
            }
        }
        let mut claims: serde_json::Map<String, Value> = a
            .facts
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or_default();
        if !claims.is_empty() {
            let name = self
                .store
                .relying_party(rp)
                .await?
                .map(|r| r.name)
                .unwrap_or_default();
            let items: Vec<&String> = claims.keys().collect();
            let log = NewLog::new(
                crate::LogKind::FactsGiven,
                json!({"relying_party": name, "items": items, "via": "userinfo"}),
            );
            self.store
                .log_facts_given_once(&access_token_key(access_token), person, now, &log)
                .await?;
        }
        claims.insert("sub".into(), json!(sub));
        Ok(Value::Object(claims))
    }

    /// RP-initiated logout: the tokens of the login the hint names are revoked and the person's
    /// log says so. Answers where to send the browser (the registered
    /// `post_logout_redirect_uri` with `state`), or `None` to show a page.
    pub async fn logout(&self, r: &LogoutRequest) -> Result<LogoutOutcome, PlatformError> {
        let refused = |r: &'static str| PlatformError::Invalid(crate::InvalidError::Logout(r));
        let hint = match r.id_token_hint.as_deref() {
            Some(t) => Some(self.verify_own_id_token(t)?),
            None => None,
        };
        let hinted_client = match &hint {
            Some(h) => Some(match &h.aud {
                Value::String(s) => s.clone(),
                Value::Array(a) if a.len() == 1 => a[0].as_str().unwrap_or_default().to_owned(),
                _ => return Err(refused("the ID token names no single client")),
            }),
            None => None,
        };
        let client_id = match (hinted_client, r.client_id.clone()) {
            (Some(h), Some(c)) if h != c => {
                return Err(refused("client_id is not the ID token's audience"));
            }
            (Some(h), _) => Some(h),
            (None, c) => c,
        };
        let rp = match &client_id {
            Some(c) => Some(
                self.store
                    .relying_party_by_client_id(c)
                    .await?
                    .ok_or(refused("unknown client"))?
                    .0,
            ),
            None => None,
        };
        if hint.is_none() && r.logout_confirmed.as_deref() != Some("yes") {
            return Ok(LogoutOutcome::Confirm {
                asked_by: rp.as_ref().map(|rp| rp.name.clone()),
            });
        }
        let redirect = match (&r.post_logout_redirect_uri, &rp) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(refused(
                    "post_logout_redirect_uri needs id_token_hint or client_id",
                ));
            }
            (Some(u), Some(rp)) => {
                let client = self
                    .store
                    .oidc_client(rp.id)
                    .await?
                    .ok_or(refused("unknown client"))?;
                if !client.post_logout_redirect_uris.iter().any(|x| x == u) {
                    return Err(refused("post_logout_redirect_uri is not registered"));
                }
                let mut pairs = Vec::new();
                if let Some(s) = r.state.as_deref() {
                    pairs.push(("state", s));
                }
                Some(with_query(u, &pairs))
            }
        };
        if let (Some(h), Some(rp)) = (&hint, &rp)
            && let Some(sid) = h.sid.as_deref()
            && let Some(a) = self.store.authorization_by_sid(sid).await?
            && a.request.relying_party == Some(rp.id)
        {
            let now = self.clock.now();
            let revoked = self.store.revoke_authorization(a.id, now).await?;
            // Logged when it ends something: the same hint again adds nothing to the log.
            if let Some(person) = a.person.filter(|_| revoked > 0) {
                let log = NewLog::new(
                    crate::LogKind::Logout,
                    json!({"relying_party": rp.name, "tokens_revoked": revoked}),
                );
                self.store.append_log(person, now, &log).await?;
            }
        }
        Ok(redirect.map_or(LogoutOutcome::Done, LogoutOutcome::Redirect))
    }

    /// The claims of an ID token this platform signed (with any key it publishes), its expiry
    /// not checked.
    fn verify_own_id_token(&self, token: &str) -> Result<HintClaims, PlatformError> {
        let refused = || {
            PlatformError::Invalid(crate::InvalidError::Logout(
                "id_token_hint is not an ID token of this platform",
            ))
        };
        if token.len() > 8192 {
            return Err(refused());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| refused())?;
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_value(self.jwks()).map_err(|_| refused())?;
        let key = jwks
            .keys
            .iter()
            .find(|k| k.common.key_id.is_some() && k.common.key_id == header.kid)
            .ok_or(refused())?;
        let alg = match header.alg {
            Algorithm::ES256 | Algorithm::RS256 => header.alg,
            _ => return Err(refused()),
        };
        let mut v = Validation::new(alg);
        v.validate_exp = false;
        v.validate_aud = false;
        v.set_required_spec_claims(&["iss", "sub", "aud"]);
        v.set_issuer(&[self.issuer()]);
        let key = DecodingKey::from_jwk(key).map_err(|_| refused())?;
        jsonwebtoken::decode::<HintClaims>(token, &key, &v)
            .map(|d| d.claims)
            .map_err(|_| refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_follow_rfc_7636() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(valid_verifier(&format!("{}-._~", "Z9".repeat(20))));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn access_tokens_are_32_bytes_keyed_by_their_expiry() {
        let exp = crate::UnixTime::from_secs(1_900_000_000);
        let t = new_access_token(&mykey_pki::SystemRng, exp);
        assert_eq!(B64URL.decode(&t).expect("base64url").len(), 32);
        assert_eq!(access_token_key(&t)[..8], exp.as_secs().to_be_bytes());
    }
}
