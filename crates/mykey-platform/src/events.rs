//! Telling relying parties what changed (docs/architecture.md §2, §5, §13, Terms Art 16, 17.2.2): Security
//! Event Tokens (RFC 8417), signed by the platform, about the relying party's own identifier for
//! the person — its customer ID (a Service ID) or its PPID — never an issuance number or a My Key
//! ID.
//!
//! Events are written by the store in the same transaction as the change that causes them (an
//! outbox), one row per relying party, in order. They are signed when delivered, so a key
//! rotation never strands an undelivered event. Delivery is at least once: a relying party
//! polls (RFC 8936) and acknowledges by `jti`; an event not acknowledged comes again.
//!
//! | change | event type | payload |
//! |---|---|---|
//! | card renewed (Art 16.1.2–3) | CAEP `credential-change` | `credential_type` `x509`, `change_type` `update` |
//! | My Key ID revoked (Art 15.3: the Service ID ends with it) | RISC `account-disabled` | `reason` `my-key-id-revoked` |
//! | Service ID withdrawn by the person or removed by the relying party | `urn:mykey:secevent:service-id-ended` | `reason` `withdrawn` or `removed` |
//! | signature certificate revoked for a change of the four facts (Art 17.2.2) | `urn:mykey:secevent:basic-facts-changed` | `reason` `signature-certificate-revoked`, `revocation_reason` `affiliationChanged`, `revoked_at` |
//! | signature certificate revoked for any other reason (Art 17.2.2: the whole result) | `urn:mykey:secevent:signature-certificate-revoked` | `reason` `signature-certificate-revoked`, `revocation_reason` as J-LIS gives it (RFC 5280 name; `unspecified` when the CRL gives none), `revoked_at` |
//! | PPID consent withdrawn by the person (Art 20.1): the last event about them under that PPID | `urn:mykey:secevent:ppid-consent-withdrawn` | `reason` `withdrawn` |
//! | a card-point application made through the provider's service (Art 23.1.1) | `urn:mykey:secevent:point-application-submitted` | `round`, `payment_service`, `payment_service_user_id` |
//! | a point application withdrawn by the person | `urn:mykey:secevent:point-application-withdrawn` | `reason` `withdrawn` |
//! | a point application forfeited (Art 27) | `urn:mykey:secevent:point-application-forfeited` | `reason` `my-key-id-revoked`, `terms-violation` or `system-terminated` |
//! | a maintenance window announced (Art 9.3) | `urn:mykey:secevent:maintenance-announced` | `starts_at`, `ends_at` (seconds), `functions`, `notice` `{en, ja}`, `urgent` |
//! | a maintenance window ended early, or called off before it began | `urn:mykey:secevent:maintenance-ended` | `starts_at`, `ends_at` (when it ended), `functions`, `called_off` |
//! | the end of the system announced (Art 10) | `urn:mykey:secevent:termination-announced` | `terminates_at` (seconds), `notice` `{en, ja}`, `urgent` |
//! | the announced end withdrawn | `urn:mykey:secevent:termination-withdrawn` | `terminates_at` (as it was announced) |
//!
//! The facts change has its own type: CAEP's `token-claims-change` requires the new values,
//! which the platform neither knows nor may give without the person's consent.
//!
//! The subject (RFC 9493 `sub_id`): `{"format":"opaque","id":CUSTOMER_ID}` for a Service ID,
//! `{"format":"iss_sub","iss":ISSUER,"sub":PPID}` for a PPID (the `sub` an OpenID Connect login
//! gives the same relying party), `{"format":"opaque","id":APPLICATION_ID}` for a point
//! application (its provider knows no person, only the application),
//! `{"format":"opaque","id":"maintenance-window-ID"}` or `"termination-ID"` for an announcement (it is about no one:
//! every approved relying party gets it).

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use mykey_pki::UnixTime;
use serde_json::{Value, json};

use crate::{Platform, PlatformError, Ppid, PpidServiceId, RelyingParty};

/// What happened, as a SET event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The person's card was renewed: a new user-identification certificate.
    CredentialChange,
    /// The My Key ID ended and the Service ID with it: the person revoked it (`reason`
    /// `my-key-id-revoked`), or their card ended (Art 15.3, `card_end.rs`) — `card-revoked`
    /// with J-LIS's `revocation_reason`, or `card-expired` (no renewal within the grace period).
    AccountDisabled,
    /// The Service ID ended: withdrawn by the person or removed by the relying party.
    ServiceIdEnded,
    /// The person's signature certificate was revoked because the four facts changed (a move, a
    /// new name, death): the relying party should ask them again (Art 17.2.2).
    BasicFactsChanged,
    /// The signature certificate the person linked with was revoked for another reason (a lost
    /// card, a renewal, a request): the rest of the verification result of Art 17.2.2.
    SignatureCertificateRevoked,
    /// The person withdrew the consent under which the relying party's PPID service knew them:
    /// nothing more about them reaches it (until they consent again).
    PpidConsentWithdrawn,
    /// A card holder applied for card points through the provider's service: validate the
    /// Payment Service ID (Art 23.1.1–2).
    PointApplicationSubmitted,
    /// The card holder withdrew the application.
    PointApplicationWithdrawn,
    /// The application was forfeited (Art 27): no points are to be granted on it.
    PointApplicationForfeited,
    /// A maintenance window was announced (Art 9.3).
    MaintenanceAnnounced,
    /// A maintenance window was ended early, or called off before it began.
    MaintenanceEnded,
    /// The end of the system was announced (Art 10).
    TerminationAnnounced,
    /// The announced end of the system was withdrawn.
    TerminationWithdrawn,
}

impl EventKind {
    /// The name kept in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CredentialChange => "credential-change",
            EventKind::AccountDisabled => "account-disabled",
            EventKind::ServiceIdEnded => "service-id-ended",
            EventKind::BasicFactsChanged => "basic-facts-changed",
            EventKind::PpidConsentWithdrawn => "ppid-consent-withdrawn",
            EventKind::SignatureCertificateRevoked => "signature-certificate-revoked",
            EventKind::PointApplicationSubmitted => "point-application-submitted",
            EventKind::PointApplicationWithdrawn => "point-application-withdrawn",
            EventKind::PointApplicationForfeited => "point-application-forfeited",
            EventKind::MaintenanceAnnounced => "maintenance-announced",
            EventKind::MaintenanceEnded => "maintenance-ended",
            EventKind::TerminationAnnounced => "termination-announced",
            EventKind::TerminationWithdrawn => "termination-withdrawn",
        }
    }

    /// From [`EventKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every kind, in a fixed order.
    pub const ALL: [EventKind; 13] = [
        EventKind::CredentialChange,
        EventKind::AccountDisabled,
        EventKind::ServiceIdEnded,
        EventKind::BasicFactsChanged,
        EventKind::PpidConsentWithdrawn,
        EventKind::SignatureCertificateRevoked,
        EventKind::PointApplicationSubmitted,
        EventKind::PointApplicationWithdrawn,
        EventKind::PointApplicationForfeited,
        EventKind::MaintenanceAnnounced,
        EventKind::MaintenanceEnded,
        EventKind::TerminationAnnounced,
        EventKind::TerminationWithdrawn,
    ];

    /// From an event type URI.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.uri() == uri)
    }

    /// The event type URI of the SET.
    pub fn uri(self) -> &'static str {
        match self {
            EventKind::CredentialChange => {
                "https://schemas.openid.net/secevent/caep/event-type/credential-change"
            }
            EventKind::AccountDisabled => {
                "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
            }
            EventKind::ServiceIdEnded => "urn:mykey:secevent:service-id-ended",
            EventKind::BasicFactsChanged => "urn:mykey:secevent:basic-facts-changed",
            EventKind::PpidConsentWithdrawn => "urn:mykey:secevent:ppid-consent-withdrawn",
            EventKind::SignatureCertificateRevoked => {
                "urn:mykey:secevent:signature-certificate-revoked"
            }
            EventKind::PointApplicationSubmitted => {
                "urn:mykey:secevent:point-application-submitted"
            }
            EventKind::PointApplicationWithdrawn => {
                "urn:mykey:secevent:point-application-withdrawn"
            }
            EventKind::PointApplicationForfeited => {
                "urn:mykey:secevent:point-application-forfeited"
            }
            EventKind::MaintenanceAnnounced => "urn:mykey:secevent:maintenance-announced",
            EventKind::MaintenanceEnded => "urn:mykey:secevent:maintenance-ended",
            EventKind::TerminationAnnounced => "urn:mykey:secevent:termination-announced",
            EventKind::TerminationWithdrawn => "urn:mykey:secevent:termination-withdrawn",
        }
    }
}

/// Whom an event is about, as the relying party knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventSubject {
    /// Its customer ID, linked by a Service ID.
    CustomerId(String),
    /// Its PPID under one of its PPID services.
    Ppid(PpidServiceId, Ppid),
    /// A point application made through its payment service.
    PointApplication(crate::PointApplicationId),
    /// An announcement to every relying party, by its name (`maintenance-window-7`).
    Announcement(String),
}

/// An event waiting for (or given to) a relying party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Its order among the relying party's events.
    pub seq: i64,
    /// Its SET's `jti` (128 random bits, base64url).
    pub jti: String,
    /// What happened.
    pub kind: EventKind,
    /// About whom.
    pub subject: EventSubject,
    /// The event's payload (JSON object).
    pub detail: String,
    /// When it happened.
    pub at: UnixTime,
}

/// An ES256 signing key: the platform's for what it issues (SETs now, ID tokens later), and a
/// relying party's own for its client assertions (`mykey client`). `Debug` hides it.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    kid: String,
}

impl SigningKey {
    /// From a PKCS#8 P-256 private key (DER).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, PlatformError> {
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(|_| {
                PlatformError::Invalid(crate::InvalidError::Jwks(
                    "the signing key is not a P-256 key",
                ))
            })?;
        let kid = thumbprint(&pair);
        Ok(Self { pair, kid })
    }

    /// A new key (PKCS#8 DER), to keep in a file readable by the platform only.
    pub fn generate_pkcs8() -> Vec<u8> {
        EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        // The system RNG failing is not recoverable.
        .expect("system randomness")
        .as_ref()
        .to_vec()
    }

    /// The public key as a JWK, `kid` its RFC 7638 thumbprint.
    pub fn public_jwk(&self) -> Value {
        let (x, y) = coordinates(&self.pair);
        json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid, "x": x, "y": y})
    }

    /// `claims` as a JWT (ES256, this key's `kid`) with header `typ`.
    /// The key pair parsed once: signing costs one ECDSA signature and nothing more.
    pub fn sign_jwt<T: serde::Serialize + ?Sized>(
        &self,
        typ: &str,
        claims: &T,
    ) -> Result<String, PlatformError> {
        let input = jws_signing_input("ES256", typ, &self.kid, claims)?;
        let sig = self
            .pair
            .sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
            .map_err(|_| PlatformError::Internal(crate::Internal("ES256 signing failed")))?;
        // ECDSA_P256_SHA256_FIXED: r ‖ s, 32 bytes each, as JWS wants (RFC 7518 §3.4).
        Ok(jws_with_signature(input, sig.as_ref()))
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.kid)
    }
}

/// A compact JWS's signing input (RFC 7515 §5.1): the protected header `{alg, typ, kid}` and the
/// claims, each base64url-encoded, joined by a dot.
pub(crate) fn jws_signing_input<T: serde::Serialize + ?Sized>(
    alg: &str,
    typ: &str,
    kid: &str,
    claims: &T,
) -> Result<String, PlatformError> {
    // In the order `json!` gave them before (alphabetical), so headers stay byte for byte the same.
    #[derive(serde::Serialize)]
    struct Header<'a> {
        alg: &'a str,
        kid: &'a str,
        typ: &'a str,
    }
    let unserialisable = |_| PlatformError::Internal(crate::Internal("claims do not serialise"));
    let header = serde_json::to_vec(&Header { alg, kid, typ }).map_err(unserialisable)?;
    let claims = serde_json::to_vec(claims).map_err(unserialisable)?;
    let mut out = String::with_capacity(512);
    B64URL.encode_string(header, &mut out);
    out.push('.');
    B64URL.encode_string(claims, &mut out);
    Ok(out)
}

/// The compact JWS: the signing input, a dot and the signature base64url-encoded.
pub(crate) fn jws_with_signature(mut input: String, sig: &[u8]) -> String {
    input.push('.');
    B64URL.encode_string(sig, &mut input);
    input
}

fn coordinates(pair: &EcdsaKeyPair) -> (String, String) {
    let point = pair.public_key().as_ref(); // 0x04 ‖ x ‖ y
    (B64URL.encode(&point[1..33]), B64URL.encode(&point[33..65]))
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, base64url.
fn thumbprint(pair: &EcdsaKeyPair) -> String {
    let (x, y) = coordinates(pair);
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    B64URL.encode(crate::relying_party::sha256(canonical.as_bytes()))
}

/// Most events one poll answers.
pub const MAX_POLL: usize = 100;

/// How long an event is kept once its relying party acknowledged it (a push answered `202`,
/// a poll's `ack`, or a refusal it sent back): 30 days, for the operator's inquiries about
/// what was delivered when; then the minutely purge deletes it. An event not acknowledged is
/// kept until it is.
pub const ACKNOWLEDGED_EVENT_KEEP_SECS: u64 = 30 * 86_400;

impl Platform {
    /// The platform's public keys (a JWK Set), for relying parties checking what it signed: the
    /// current ES256 key first, then those it signed with before a rotation, then the RS256 key and its predecessor.
    pub fn jwks(&self) -> Value {
        let k = self.signing_keys();
        let keys: Vec<Value> = std::iter::once(&k.signing)
            .chain(&k.previous_signing)
            .chain(&k.next_signing)
            .map(|k| k.public_jwk())
            .chain(std::iter::once(self.rsa_key().public_jwk()))
            .chain(k.previous_rsa.iter().map(|k| k.public_jwk()))
            .chain(k.next_rsa.iter().map(|k| k.public_jwk()))
            .collect();
        json!({"keys": keys})
    }

    /// The keys it signs with and publishes now.
    pub fn signing_keys(&self) -> std::sync::Arc<crate::SigningKeys> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Signs with `keys` from now on, and publishes them (a rotation made through another
    /// node, read from the database).
    pub fn replace_signing_keys(&self, keys: crate::SigningKeys) {
        let keys = std::sync::Arc::new(keys);
        match self.keys.write() {
            Ok(mut k) => *k = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    /// The SET for `event`, addressed to `rp`.
    pub fn security_event_token(
        &self,
        rp: &RelyingParty,
        event: &Event,
    ) -> Result<String, PlatformError> {
        let sub_id = match &event.subject {
            EventSubject::CustomerId(c) => json!({"format": "opaque", "id": c}),
            EventSubject::PointApplication(a) => json!({"format": "opaque", "id": a.to_string()}),
            EventSubject::Announcement(a) => json!({"format": "opaque", "id": a}),
            EventSubject::Ppid(_, p) => {
                json!({"format": "iss_sub", "iss": self.config.issuer, "sub": p.to_string()})
            }
        };
        let detail: Value = serde_json::from_str(&event.detail).unwrap_or_else(|_| json!({}));
        let claims = json!({
            "iss": self.config.issuer,
            "aud": rp.client_id,
            "jti": event.jti,
            "iat": event.at.as_secs(),
            "sub_id": sub_id,
            "events": {event.kind.uri(): detail},
        });
        self.signing_keys()
            .signing
            .sign_jwt("secevent+jwt", &claims)
    }

    /// `events` less those about PPIDs when `rp` may not use PPIDs (a business, unless the
    /// operator's policy allows it: `public_authority_function`), which are acknowledged
    /// unsent — queued before the policy said no, they must not reach it now.
    pub(crate) async fn withhold_ppids(
        &self,
        rp: &RelyingParty,
        events: Vec<Event>,
    ) -> Result<Vec<Event>, PlatformError> {
        if self.public_authority_function(rp).is_ok() {
            return Ok(events);
        }
        let (withheld, kept): (Vec<Event>, Vec<Event>) = events
            .into_iter()
            .partition(|e| matches!(e.subject, EventSubject::Ppid(..)));
        if !withheld.is_empty() {
            let jtis: Vec<String> = withheld.into_iter().map(|e| e.jti).collect();
            self.store
                .acknowledge_events(rp.id, &jtis, self.clock.now())
                .await?;
        }
        Ok(kept)
    }

    /// RFC 8936 poll: acknowledges `ack` (the relying party's own events only), then answers up
    /// to `max` unacknowledged events as signed SETs by `jti`, oldest first, and whether more wait.
    pub async fn poll_events(
        &self,
        rp: &RelyingParty,
        ack: &[String],
        max: usize,
    ) -> Result<(Vec<(String, String)>, bool), PlatformError> {
        let now = self.clock.now();
        if !ack.is_empty() {
            self.store.acknowledge_events(rp.id, ack, now).await?;
        }
        let max = max.min(MAX_POLL);
        let kinds = match self.store.stream(rp.id).await? {
            Some(s) => s.config.events_requested,
            None => EventKind::ALL.to_vec(),
        };
        let events = self.store.pending_events(rp.id, &kinds, max + 1).await?;
        let mut events = self.withhold_ppids(rp, events).await?;
        let more = events.len() > max;
        events.truncate(max);
        let sets = events
            .iter()
            .map(|e| Ok((e.jti.clone(), self.security_event_token(rp, e)?)))
            .collect::<Result<_, PlatformError>>()?;
        Ok((sets, more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_jwt_has_the_header_alg_kid_typ_and_verifies() {
        let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8()).expect("a P-256 key");
        let jwt = key.sign_jwt("JWT", &json!({"sub": "x"})).expect("it signs");
        let header = B64URL
            .decode(jwt.split('.').next().expect("three parts"))
            .expect("base64url");
        assert_eq!(
            String::from_utf8(header).expect("UTF-8"),
            format!(r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#, key.kid)
        );
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk()).expect("a JWK");
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("it decodes");
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(&jwt, &decoding, &v).expect("it verifies");
        assert_eq!(claims.claims["sub"], "x");
    }
}
