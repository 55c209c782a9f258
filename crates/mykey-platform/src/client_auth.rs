//! Relying parties authenticated by a signed JWT instead of a shared secret: `private_key_jwt`
//! (RFC 7523 §2.2 and §3, OpenID Connect Core §9), against the public keys the operator
//! registered for them (a JWK Set, RFC 7517). And the short-lived access tokens the token
//! endpoint's `client_credentials` grant (RFC 6749 §4.4) gives a client for `/v1/rp`.
//!
//! An assertion is accepted when: its header names ES256, RS256 or PS256 and a registered key
//! (by `kid`; a set of one key may leave it out); its signature verifies; `iss` and `sub` are
//! the client's ID; `aud` names the token endpoint or the issuer; `exp` is in the future and at
//! most ten minutes away (a long-lived assertion is a stolen credential waiting to happen); `nbf`
//! and `iat`, when present, are not in the future; and its `jti` was not seen before (it is
//! remembered until `exp`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use mykey_pki::UnixTime;
use serde::Deserialize;

use crate::relying_party::sha256;
use crate::{Platform, PlatformError, RelyingParty, RelyingPartyId, RelyingPartyStatus, UsedNonce};

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Seconds a client access token lasts.
pub const CLIENT_TOKEN_TTL: u64 = 300;

/// Most keys in a registered set.
const MAX_KEYS: usize = 10;
/// Latest an assertion may expire, from now.
const MAX_ASSERTION_LIFETIME: u64 = 600;
/// Clock skew allowed on `nbf` and `iat`.
const SKEW: u64 = 30;
/// Longest assertion read.
const MAX_ASSERTION_LEN: usize = 8 * 1024;
/// Seconds a relying party's status and keys are cached for client assertions.
pub const CLIENT_CACHE_SECS: u64 = 1;
/// Most relying parties cached (the cache starts over when full; only registered ones enter).
const MAX_CACHED_CLIENTS: usize = 10_000;

/// The client cache: client ID → (valid until, the relying party, its parsed JWK Set).
pub(crate) type ClientCache = HashMap<String, (UnixTime, RelyingParty, Option<Arc<ClientJwks>>)>;

/// A relying party's registered public keys, checked: 1 to 10 signing keys (EC P-256 or RSA of
/// at least 2048 bits), each with a distinct `kid`, none carrying private parts. Each key is
/// decoded once, when the set is parsed.
#[derive(Clone)]
pub struct ClientJwks {
    set: JwkSet,
    decoded: Vec<Verifier>,
}

impl std::fmt::Debug for ClientJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientJwks")
            .field("set", &self.set)
            .finish()
    }
}

/// A registered key, ready to verify: an EC point parsed and checked on the curve once, not per
/// assertion; an RSA key as jsonwebtoken decodes it.
#[derive(Clone)]
enum Verifier {
    Es256(Arc<ParsedPublicKey>),
    Rsa(DecodingKey),
}

impl Verifier {
    fn of(k: &Jwk) -> Option<Self> {
        match &k.algorithm {
            AlgorithmParameters::EllipticCurve(ec) => {
                let (x, y) = (B64URL.decode(&ec.x).ok()?, B64URL.decode(&ec.y).ok()?);
                if x.len() != 32 || y.len() != 32 {
                    return None;
                }
                // SEC 1 §2.3.3, uncompressed.
                let point = [&[4u8][..], &x, &y].concat();
                let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).ok()?;
                Some(Self::Es256(Arc::new(key)))
            }
            _ => DecodingKey::from_jwk(k).ok().map(Self::Rsa),
        }
    }

    /// Whether `signature` (base64url) signs `message` under `alg`, of this key's family.
    fn verifies(&self, alg: Algorithm, message: &[u8], signature: &str) -> bool {
        match self {
            Self::Es256(key) => B64URL
                .decode(signature)
                .is_ok_and(|s| key.verify_sig(message, &s).is_ok()),
            Self::Rsa(key) => {
                jsonwebtoken::crypto::verify(signature, message, key, alg).unwrap_or(false)
            }
        }
    }
}

impl ClientJwks {
    /// Parses and checks a JWK Set (JSON).
    pub fn parse(json: &str) -> Result<Self, PlatformError> {
        let bad = |r: &'static str| PlatformError::Invalid(crate::InvalidError::Jwks(r));
        let raw: serde_json::Value = serde_json::from_str(json).map_err(|_| bad("not JSON"))?;
        let keys = raw["keys"].as_array().ok_or(bad("no \"keys\" array"))?;
        if keys.is_empty() || keys.len() > MAX_KEYS {
            return Err(bad("a set holds 1 to 10 keys"));
        }
        // A private key sent by mistake must not be stored anywhere.
        const PRIVATE: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];
        if keys
            .iter()
            .any(|k| PRIVATE.iter().any(|p| k.get(p).is_some()))
        {
            return Err(bad("a key holds private parts: register public keys only"));
        }
        let set: JwkSet = serde_json::from_value(raw).map_err(|_| bad("not a JWK Set"))?;
        let mut kids = HashSet::new();
        let mut decoded = Vec::with_capacity(set.keys.len());
        for k in &set.keys {
            let kid = k
                .common
                .key_id
                .as_deref()
                .ok_or(bad("every key needs a \"kid\""))?;
            if !kids.insert(kid.to_owned()) {
                return Err(bad("two keys share a \"kid\""));
            }
            if k.common
                .public_key_use
                .as_ref()
                .is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature)
            {
                return Err(bad("a key's \"use\" is not \"sig\""));
            }
            match &k.algorithm {
                AlgorithmParameters::EllipticCurve(ec)
                    if ec.curve == jsonwebtoken::jwk::EllipticCurve::P256 => {}
                AlgorithmParameters::RSA(rsa)
                    if B64URL.decode(&rsa.n).map_or(0, |n| n.len()) >= 256 => {}
                _ => return Err(bad("keys are EC P-256 or RSA of at least 2048 bits")),
            }
            decoded.push(Verifier::of(k).ok_or(bad("a key does not decode"))?);
        }
        Ok(Self { set, decoded })
    }

    /// The set as JSON, for the store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.set).unwrap_or_default()
    }

    /// Whether `signature` (base64url) signs `signing_input` with the key `kid` names (or the
    /// set's only key) under `alg`, which must be of the key's family (ES256: EC; RS256, PS256:
    /// RSA).
    fn verifies(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        signing_input: &str,
        signature: &str,
    ) -> bool {
        let Some((key, verifier)) = self.key_for(kid) else {
            return false;
        };
        let family_fits = matches!(
            (alg, &key.algorithm),
            (Algorithm::ES256, AlgorithmParameters::EllipticCurve(_))
                | (
                    Algorithm::RS256 | Algorithm::PS256,
                    AlgorithmParameters::RSA(_)
                )
        );
        family_fits && verifier.verifies(alg, signing_input.as_bytes(), signature)
    }

    /// The payload of a compact JWS signed by a key of this set (see the rule of
    /// [`ClientJwks::parse`]'s keys and the family check above), or `None`.
    pub fn verified_payload(&self, jws: &str) -> Option<Vec<u8>> {
        let header = jsonwebtoken::decode_header(jws).ok()?;
        let (signing_input, signature) = jws.rsplit_once('.')?;
        let (_, payload) = signing_input.split_once('.')?;
        self.verifies(header.kid.as_deref(), header.alg, signing_input, signature)
            .then(|| B64URL.decode(payload).ok())
            .flatten()
    }

    /// The key an assertion's header names, and its decoded form.
    fn key_for(&self, kid: Option<&str>) -> Option<(&Jwk, &Verifier)> {
        let i = match kid {
            Some(kid) => self
                .set
                .keys
                .iter()
                .position(|k| k.common.key_id.as_deref() == Some(kid))?,
            None if self.set.keys.len() == 1 => 0,
            None => return None,
        };
        Some((&self.set.keys[i], &self.decoded[i]))
    }
}

/// A client access token: 256 random bits, base64url; only its SHA-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientToken(String);

impl ClientToken {
    /// The token text, for the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientToken(…)")
    }
}

/// An assertion's claims, as given: which are required, and what each must be, is checked after
/// the signature.
#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<u64>,
    jti: Option<String>,
    nbf: Option<u64>,
    iat: Option<u64>,
}

/// `aud`: one audience or several (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Several(Vec<String>),
}

impl Audience {
    fn names_any(&self, audiences: &[&str]) -> bool {
        match self {
            Self::One(a) => audiences.contains(&a.as_str()),
            Self::Several(s) => s.iter().any(|a| audiences.contains(&a.as_str())),
        }
    }
}

/// The header fields an assertion is checked by; `alg` must be one jsonwebtoken knows.
#[derive(Deserialize)]
struct AssertionHeader {
    alg: Algorithm,
    kid: Option<String>,
}

/// An assertion split into its three parts (RFC 7515 §7.1), each decoded once: the header and
/// the claims (`None`: not JSON of the expected shape, refused after the signature), and the
/// signing input and signature as sent.
struct Assertion<'a> {
    header: &'a str,
    claims: Option<AssertionClaims>,
    subject: String,
    signing_input: &'a str,
    signature: &'a str,
}

impl<'a> Assertion<'a> {
    /// `None`: not a JWT with a `sub` (read before the signature is checked, to find the
    /// client's keys; nothing else is trusted from it before then).
    fn split(jwt: &'a str) -> Option<Self> {
        #[derive(Deserialize)]
        struct Subject {
            sub: String,
        }
        let (signing_input, signature) = jwt.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        if payload.contains('.') {
            return None;
        }
        let payload = B64URL.decode(payload).ok()?;
        let mut claims: Option<AssertionClaims> = serde_json::from_slice(&payload).ok();
        let subject = match claims.as_mut().and_then(|c| c.sub.take()) {
            Some(sub) => sub,
            None => serde_json::from_slice::<Subject>(&payload).ok()?.sub,
        };
        Some(Self {
            header,
            claims,
            subject,
            signing_input,
            signature,
        })
    }

    fn header(&self) -> Option<AssertionHeader> {
        serde_json::from_slice(&B64URL.decode(self.header).ok()?).ok()
    }
}

impl Platform {
    /// Registers (or, with `None`, removes) a relying party's JWK Set; the keys it replaces stop
    /// working at once, so a client rotates by registering old and new together first.
    pub async fn set_client_jwks(
        &self,
        id: RelyingPartyId,
        jwks: Option<&ClientJwks>,
    ) -> Result<RelyingParty, PlatformError> {
        let rp = self
            .store
            .set_relying_party_jwks(id, jwks.map(ClientJwks::to_json).as_deref())
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::RelyingParty))?;
        self.forget_client(&rp.client_id);
        Ok(rp)
    }

    /// A relying party and its parsed JWK Set, by client ID, from a cache of
    /// [`CLIENT_CACHE_SECS`] seconds: a client assertion then costs no store look-up. Changes
    /// made through this platform node take effect at once (the entry is dropped); changes made
    /// through another node sharing the database, within the cache's seconds.
    async fn client_keys(
        &self,
        client_id: &str,
    ) -> Result<Option<(RelyingParty, Option<Arc<ClientJwks>>)>, PlatformError> {
        let now = self.clock.now();
        if let Some((until, rp, keys)) = self
            .clients
            .lock()
            .ok()
            .and_then(|c| c.get(client_id).cloned())
            && now < until
        {
            return Ok(Some((rp, keys)));
        }
        let Some((rp, jwks)) = self.store.client_with_keys(client_id).await? else {
            return Ok(None);
        };
        let keys = jwks
            .as_deref()
            .map(ClientJwks::parse)
            .transpose()?
            .map(Arc::new);
        if let Ok(mut c) = self.clients.lock() {
            if c.len() >= MAX_CACHED_CLIENTS {
                c.clear();
            }
            c.insert(
                client_id.to_owned(),
                (now.plus(CLIENT_CACHE_SECS), rp.clone(), keys.clone()),
            );
        }
        Ok(Some((rp, keys)))
    }

    /// Drops a client from the cache (its status or keys changed).
    pub(crate) fn forget_client(&self, client_id: &str) {
        if let Ok(mut c) = self.clients.lock() {
            c.remove(client_id);
        }
    }

    /// Authenticates a relying party by a client assertion (see the module docs); `audiences`
    /// are the values `aud` may take (the token endpoint's URL and the issuer).
    pub async fn authenticate_client_assertion(
        &self,
        assertion: &str,
        audiences: &[&str],
    ) -> Result<RelyingParty, PlatformError> {
        let (rp, spent) = self.verify_client_assertion(assertion, audiences).await?;
        if !self.store.use_nonce(&spent).await? {
            return Err(PlatformError::Access(
                crate::AccessError::InvalidClientAssertion("that \"jti\" was used before"),
            ));
        }
        Ok(rp)
    }

    /// [`Platform::authenticate_client_assertion`] without spending the `jti`: the answer
    /// carries it for the caller's own transaction (the code exchange spends it with the code).
    pub async fn verify_client_assertion(
        &self,
        assertion: &str,
        audiences: &[&str],
    ) -> Result<(RelyingParty, UsedNonce), PlatformError> {
        let refused =
            |r: &'static str| PlatformError::Access(crate::AccessError::InvalidClientAssertion(r));
        if assertion.len() > MAX_ASSERTION_LEN {
            return Err(refused("the assertion is too long"));
        }
        let jwt = Assertion::split(assertion).ok_or(refused("not a JWT with a \"sub\""))?;
        let header = jwt.header().ok_or(refused("bad header"))?;
        let client_id = jwt.subject.as_str();
        // Until the signature verifies, every refusal is the one an unknown client gets: whoever
        // cannot sign for the client learns neither that it exists nor which keys it has.
        let unknown = || PlatformError::Access(crate::AccessError::InvalidClient);
        let (rp, jwks) = self.client_keys(client_id).await?.ok_or_else(unknown)?;
        let jwks = jwks.ok_or_else(unknown)?;
        if !jwks.verifies(
            header.kid.as_deref(),
            header.alg,
            jwt.signing_input,
            jwt.signature,
        ) {
            return Err(unknown());
        }
        let Some(AssertionClaims {
            iss: Some(iss),
            exp: Some(exp),
            jti: Some(jti),
            aud,
            nbf,
            iat,
            ..
        }) = jwt.claims
        else {
            return Err(refused("the assertion does not decode"));
        };
        let aud = aud.ok_or(refused("a required claim is missing"))?;
        if iss != client_id {
            return Err(refused("\"iss\" and \"sub\" must be the client ID"));
        }
        if !aud.names_any(audiences) {
            return Err(refused(
                "\"aud\" names neither the token endpoint nor the issuer",
            ));
        }
        let now = self.clock.now().as_secs();
        if exp <= now {
            return Err(refused("the assertion has expired"));
        }
        if exp > now + MAX_ASSERTION_LIFETIME {
            return Err(refused("\"exp\" is more than ten minutes away"));
        }
        if nbf.into_iter().chain(iat).any(|t| t > now + SKEW) {
            return Err(refused("the assertion is not valid yet"));
        }
        if jti.is_empty() || jti.len() > 256 {
            return Err(refused("\"jti\" must be 1 to 256 characters"));
        }
        let mut seen = b"mykey-client-assertion-v1\0".to_vec();
        seen.extend_from_slice(client_id.as_bytes());
        seen.push(0);
        seen.extend_from_slice(jti.as_bytes());
        // The key begins with the expiry, as a challenge's nonce does (the store purges on
        // it). A replay is the same JWT, with the same `exp`, so it meets its own key.
        let mut hash = [0u8; 24];
        hash.copy_from_slice(&sha256(&seen)[..24]);
        let spent = UsedNonce::new(UnixTime::from_secs(exp), hash);
        match rp.status {
            RelyingPartyStatus::Approved => Ok((rp, spent)),
            _ => Err(PlatformError::Access(
                crate::AccessError::RelyingPartyNotApproved,
            )),
        }
    }

    /// A client access token for an authenticated relying party (`client_credentials`).
    pub async fn issue_client_token(
        &self,
        rp: &RelyingParty,
    ) -> Result<(ClientToken, UnixTime), PlatformError> {
        let token = ClientToken(B64URL.encode(self.rng.bytes::<32>()));
        let expires_at = self.clock.now().plus(CLIENT_TOKEN_TTL);
        self.store
            .insert_client_token(&sha256(token.0.as_bytes()), rp.id, expires_at)
            .await?;
        Ok((token, expires_at))
    }

    /// The relying party a client access token stands for, if it is still approved.
    pub async fn authenticate_client_token(
        &self,
        token: &str,
    ) -> Result<RelyingParty, PlatformError> {
        let rp = self
            .store
            .client_token(&sha256(token.as_bytes()), self.clock.now())
            .await?
            .ok_or(PlatformError::Access(crate::AccessError::InvalidClient))?;
        match rp.status {
            RelyingPartyStatus::Approved => Ok(rp),
            _ => Err(PlatformError::Access(
                crate::AccessError::RelyingPartyNotApproved,
            )),
        }
    }
}

/// What the fuzzer (`fuzz/fuzz_targets/jwt.rs`) drives: splits `jwt` as a client assertion and
/// reads its header, as the token endpoint does before it checks a signature. Must never panic;
/// a split holds the parts of the input it came from.
#[cfg(fuzzing)]
pub fn fuzz_split_assertion(jwt: &str) {
    if let Some(a) = Assertion::split(jwt) {
        assert!(jwt.starts_with(a.signing_input));
        assert!(jwt.ends_with(a.signature));
        let _ = a.header();
    }
}
