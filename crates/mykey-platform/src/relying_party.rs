//! Relying parties (Terms Art 2: public authorities and businesses) and the operators who admit
//! them. An operator registers a relying party, which stays `pending` until approved; only an
//! approved one may authenticate as a client. Client authentication here is `client_secret_basic`
//! (RFC 6749 §2.3.1); `private_key_jwt` (RFC 7523) comes with the OpenID Connect provider.

use crate::Rng;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use mykey_pki::UnixTime;

use crate::{Platform, PlatformError, RelyingPartyId};

/// What kind of user a relying party is (Art 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelyingPartyKind {
    /// A national or local public authority.
    PublicAuthority,
    /// A private business.
    Business,
    /// A registered payment provider of the card-point programme (Art 22.1.5, 26.1.1): it
    /// reaches only what settlement needs.
    PaymentProvider,
    /// An application-support business's kiosk (ATMs, multi-function copiers; Art 22.1.10,
    /// 26.1.2): it applies for card points on behalf of the card holder in front of it.
    Kiosk,
}

impl RelyingPartyKind {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RelyingPartyKind::PublicAuthority => "public-authority",
            RelyingPartyKind::Business => "business",
            RelyingPartyKind::PaymentProvider => "payment-provider",
            RelyingPartyKind::Kiosk => "kiosk",
        }
    }

    /// Whether it connects only for the card-point programme (Art 26): no Service IDs, PPIDs
    /// or logins.
    pub fn point_programme_only(self) -> bool {
        matches!(
            self,
            RelyingPartyKind::PaymentProvider | RelyingPartyKind::Kiosk
        )
    }

    /// From [`RelyingPartyKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::PublicAuthority,
            Self::Business,
            Self::PaymentProvider,
            Self::Kiosk,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl crate::Platform {
    /// Whether `rp` may use the functions of public authorities — PPID services and the four
    /// facts (Terms Art 19, 20) — under the operator's policy
    /// ([`crate::PlatformConfig::ppid_for_businesses`]); checked on every such call.
    pub(crate) fn public_authority_function(&self, rp: &RelyingParty) -> Result<(), PlatformError> {
        match rp.kind {
            RelyingPartyKind::PublicAuthority => Ok(()),
            RelyingPartyKind::Business if self.config.ppid_for_businesses => Ok(()),
            RelyingPartyKind::Business => Err(PlatformError::Access(
                crate::AccessError::PublicAuthorityFunction,
            )),
            RelyingPartyKind::PaymentProvider | RelyingPartyKind::Kiosk => Err(
                PlatformError::Access(crate::AccessError::PointProgrammeOnly),
            ),
        }
    }

    /// Whether `rp` may use the card holder's identity functions — Service IDs, logins by
    /// them, OpenID Connect — which the programme's parties may not (Art 26).
    pub(crate) fn identity_function(&self, rp: &RelyingParty) -> Result<(), PlatformError> {
        if rp.kind.point_programme_only() {
            return Err(PlatformError::Access(
                crate::AccessError::PointProgrammeOnly,
            ));
        }
        Ok(())
    }
}

/// Where a relying party stands with the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelyingPartyStatus {
    /// Registered, not yet approved: it cannot authenticate.
    Pending,
    /// Approved: it may authenticate and use the platform.
    Approved,
    /// Suspended (Art 8): it cannot authenticate until approved again.
    Suspended,
}

impl RelyingPartyStatus {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RelyingPartyStatus::Pending => "pending",
            RelyingPartyStatus::Approved => "approved",
            RelyingPartyStatus::Suspended => "suspended",
        }
    }

    /// From [`RelyingPartyStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Suspended]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A registered relying party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    /// Its internal ID (shown to operators only).
    pub id: RelyingPartyId,
    /// Its OAuth `client_id`.
    pub client_id: String,
    /// Its name, shown to people asked to link or consent.
    pub name: String,
    /// Public authority or business.
    pub kind: RelyingPartyKind,
    /// Pending, approved or suspended.
    pub status: RelyingPartyStatus,
    /// When it was registered.
    pub created_at: UnixTime,
    /// Where people turn to it, shown wherever they are asked to consent (`None`: registered
    /// before relying parties gave one).
    pub profile: Option<RelyingPartyProfile>,
}

/// Where a person turns with inquiries and disputes about a relying party's customer IDs,
/// Service IDs and services, which it answers itself (Terms Art 17.2.3, 18, 21): its contact
/// point, its privacy policy and its own terms of use. Shown in every consent screen, the
/// portal and the phone's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingPartyProfile {
    /// Its contact point, in words (a desk, a telephone number, an address): 1 to 200
    /// characters, as a name.
    pub contact: String,
    /// Its privacy policy: an absolute `https` URL.
    pub privacy_policy_url: String,
    /// Its terms of use: an absolute `https` URL.
    pub terms_url: String,
}

impl RelyingPartyProfile {
    /// A profile, checked: the contact as a display name; each URL an absolute `https` URL with
    /// a host, without credentials or fragment, at most 2,000 characters, with no control,
    /// format (bidi, zero-width) or space characters anywhere — and kept as the URL parser
    /// writes it, so that what people are shown is exactly the address a browser opens.
    pub fn new(
        contact: &str,
        privacy_policy_url: &str,
        terms_url: &str,
    ) -> Result<Self, PlatformError> {
        let contact = crate::names::display_name(contact)?;
        let url = |raw: &str| -> Result<String, PlatformError> {
            let refused = || {
                PlatformError::Invalid(crate::InvalidError::Profile(
                    "privacy_policy_url and terms_url are absolute https URLs with a host, \
                     without credentials, fragment, spaces or control characters",
                ))
            };
            if raw.len() > 2000 || !crate::names::plain_text(raw) || raw.contains(' ') {
                return Err(refused());
            }
            let u = url::Url::parse(raw).map_err(|_| refused())?;
            let ok = u.scheme() == "https"
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.username().is_empty()
                && u.password().is_none()
                && u.fragment().is_none();
            if ok { Ok(u.into()) } else { Err(refused()) }
        };
        Ok(Self {
            contact,
            privacy_policy_url: url(privacy_policy_url)?,
            terms_url: url(terms_url)?,
        })
    }
}

/// A relying party to register; the store assigns the ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRelyingParty {
    /// Its OAuth `client_id`.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: RelyingPartyKind,
    /// SHA-256 of its client secret.
    pub secret_hash: [u8; 32],
    /// When.
    pub created_at: UnixTime,
    /// Its JWK Set for `private_key_jwt` (checked JSON), if it registered one.
    pub jwks: Option<String>,
    /// Where people turn to it.
    pub profile: RelyingPartyProfile,
}

/// A client secret: 256 random bits, base64url, shown once. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    fn generate(rng: &dyn Rng) -> Self {
        Self(B64URL.encode(rng.bytes::<32>()))
    }

    /// The secret text, to hand to the relying party once.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash under which a secret is stored.
    ///
    /// A fast hash is right here, where a password would need a slow one (Argon2, scrypt): a slow
    /// KDF only protects low-entropy secrets from guessing after a database leak. This secret is
    /// 256 bits from the system RNG, so even a leaked hash cannot be inverted by search at any
    /// speed, and SHA-256's preimage resistance is all the protection needed — while every client
    /// request stays cheap (a KDF per API call would be a denial-of-service lever).
    pub fn hash(secret: &str) -> [u8; 32] {
        sha256(secret.as_bytes())
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(…)")
    }
}

pub(crate) fn sha256(b: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Equality of two hashes in time independent of where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

impl Platform {
    /// Registers a relying party (pending until approved) with its profile, and its JWK Set for
    /// `private_key_jwt` where given; answers it with its secret, shown once.
    pub async fn register_relying_party(
        &self,
        name: &str,
        kind: RelyingPartyKind,
        profile: RelyingPartyProfile,
        jwks: Option<&crate::ClientJwks>,
    ) -> Result<(RelyingParty, ClientSecret), PlatformError> {
        self.refuse_after_termination().await?;
        let name = crate::names::display_name(name)?;
        let secret = ClientSecret::generate(&*self.rng);
        let rp = self
            .store
            .insert_relying_party(&NewRelyingParty {
                client_id: format!("rp_{}", B64URL.encode(self.rng.bytes::<16>())),
                name,
                kind,
                secret_hash: ClientSecret::hash(secret.as_str()),
                created_at: self.clock.now(),
                jwks: jwks.map(crate::ClientJwks::to_json),
                profile,
            })
            .await?;
        Ok((rp, secret))
    }

    /// A relying party replaces its profile (people see the new one at once).
    pub async fn set_relying_party_profile(
        &self,
        rp: &RelyingParty,
        profile: &RelyingPartyProfile,
    ) -> Result<(), PlatformError> {
        Ok(self.store.set_relying_party_profile(rp.id, profile).await?)
    }

    /// Every relying party, oldest first.
    pub async fn relying_parties(&self) -> Result<Vec<RelyingParty>, PlatformError> {
        Ok(self.store.relying_parties().await?)
    }

    /// Sets a relying party's status (approve, suspend).
    pub async fn set_relying_party_status(
        &self,
        id: RelyingPartyId,
        status: RelyingPartyStatus,
    ) -> Result<RelyingParty, PlatformError> {
        let rp = self
            .store
            .set_relying_party_status(id, status)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::RelyingParty))?;
        self.forget_client(&rp.client_id);
        Ok(rp)
    }

    /// Gives a relying party a new secret; the old one stops working at once.
    pub async fn rotate_client_secret(
        &self,
        id: RelyingPartyId,
    ) -> Result<(RelyingParty, ClientSecret), PlatformError> {
        let secret = ClientSecret::generate(&*self.rng);
        let rp = self
            .store
            .set_relying_party_secret(id, &ClientSecret::hash(secret.as_str()))
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::RelyingParty))?;
        Ok((rp, secret))
    }

    /// Authenticates a relying party by `client_id` and secret (`client_secret_basic`). An
    /// unknown client and a wrong secret get the same answer, after the same work; only an
    /// authenticated client learns that it is not (or no longer) approved.
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<RelyingParty, PlatformError> {
        let presented = ClientSecret::hash(secret);
        let found = self.store.relying_party_by_client_id(client_id).await?;
        // Compare against something even when the client is unknown, so timing tells nothing.
        let stored = found.as_ref().map_or([0u8; 32], |(_, h)| *h);
        let matches = same(&presented, &stored);
        match found {
            Some((rp, _)) if matches => match rp.status {
                RelyingPartyStatus::Approved => Ok(rp),
                _ => Err(PlatformError::Access(
                    crate::AccessError::RelyingPartyNotApproved,
                )),
            },
            _ => Err(PlatformError::Access(crate::AccessError::InvalidClient)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in [
            RelyingPartyKind::PublicAuthority,
            RelyingPartyKind::Business,
            RelyingPartyKind::PaymentProvider,
            RelyingPartyKind::Kiosk,
        ] {
            assert_eq!(RelyingPartyKind::parse(k.as_str()), Some(k));
        }
        for s in [
            RelyingPartyStatus::Pending,
            RelyingPartyStatus::Approved,
            RelyingPartyStatus::Suspended,
        ] {
            assert_eq!(RelyingPartyStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RelyingPartyKind::parse("bank"), None);
    }

    #[test]
    fn secrets_are_256_bits_and_hidden() {
        let s = ClientSecret::generate(&mykey_pki::SystemRng);
        assert_eq!(B64URL.decode(s.as_str()).unwrap().len(), 32);
        assert_eq!(format!("{s:?}"), "ClientSecret(…)");
        assert_ne!(ClientSecret::generate(&mykey_pki::SystemRng), s);
    }
}
