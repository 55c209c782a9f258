//! PPIDs (Terms Art 2.12, 19–20): a person's pseudonym for one PPID service.
//!
//! Derivation: `PPID = HMAC-SHA-256(K, "mykey-ppid-v1" ‖ service ‖ person)` truncated to 128
//! bits, hex. `K` is a 256-bit platform secret, `service` the PPID service's 8-byte ID and
//! `person` the internal person ID (8 bytes, big-endian).
//!
//! Why it is safe:
//! - **Stable across card renewals**: it depends on the internal person ID, which renewal
//!   continuity (Art 16.1.2–3) carries over from the old issuance number to the new one; issuance
//!   numbers and My Key IDs do not enter it.
//! - **Unlinkable across services**: HMAC-SHA-256 is a pseudo-random function; without `K`, the
//!   PPIDs of one person under two services are indistinguishable from independent random
//!   values, so relying parties who pool their data learn nothing from them. 128 bits make
//!   collisions negligible even at 10⁸ people × 10⁴ services.
//! - **Not reversible**: nothing about the person or the other services can be computed from a
//!   PPID without `K`.
//! - **Rotation**: derived PPIDs are stored when first issued, so `K` can be rotated for new
//!   links without changing any PPID a relying party already holds.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::hmac;

use crate::{IdError, PersonId};

/// The platform's 256-bit PPID secret as configured ([`crate::PlatformConfig::ppid_key`]).
/// Zeroized on drop; `Debug` hides it.
#[derive(Clone, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct PpidSecret([u8; 32]);

/// The bytes given for a PPID secret are not 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a PPID secret is exactly 32 bytes, not {0}")]
pub struct PpidSecretError(pub usize);

impl PpidSecret {
    /// From exactly 32 bytes — for instance the whole content of the 0600 key file the binary
    /// reads (raw bytes, not text). Generate one with 32 bytes of system randomness.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PpidSecretError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| PpidSecretError(bytes.len()))
    }
}

impl fmt::Debug for PpidSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PpidSecret(…)")
    }
}

/// The platform's PPID key (an HMAC key). Never logged (`Debug` hides it).
pub struct PpidKey(hmac::Key);

impl PpidKey {
    /// From 32 secret bytes.
    pub fn new(secret: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// From the configured secret.
    pub fn from_secret(secret: &PpidSecret) -> Self {
        Self::new(&secret.0)
    }

    /// The PPID of `person` for `service`.
    pub fn derive(&self, service: PpidServiceId, person: PersonId) -> Ppid {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(b"mykey-ppid-v1");
        ctx.update(&service.0.to_be_bytes());
        ctx.update(&person.get().to_be_bytes());
        let tag = ctx.sign();
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag.as_ref()[..16]);
        Ppid(out)
    }
}

impl fmt::Debug for PpidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PpidKey(…)")
    }
}

/// A PPID service's ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PpidServiceId(i64);

impl PpidServiceId {
    /// The ID as the store keeps it.
    pub const fn new(n: i64) -> Self {
        Self(n)
    }

    /// The number.
    pub const fn get(self) -> i64 {
        self.0
    }
}

/// A PPID: 128 bits, shown as 32 lower-case hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ppid([u8; 16]);

impl Ppid {
    /// The 16 bytes (for the store).
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// From stored bytes.
    pub fn from_bytes(b: [u8; 16]) -> Self {
        Self(b)
    }
}

impl fmt::Display for Ppid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Ppid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ppid({self})")
    }
}

impl FromStr for Ppid {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.len() != 32 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(IdError::Ppid);
        }
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(|_| IdError::Ppid)?;
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_service_and_distinct_across_services() {
        let k = PpidKey::new(&[7u8; 32]);
        let p = PersonId::new(42);
        let a = k.derive(PpidServiceId(1), p);
        assert_eq!(a, k.derive(PpidServiceId(1), p));
        assert_ne!(a, k.derive(PpidServiceId(2), p));
        assert_ne!(a, k.derive(PpidServiceId(1), PersonId::new(43)));
        assert_ne!(a, PpidKey::new(&[8u8; 32]).derive(PpidServiceId(1), p));
        assert_eq!(a.to_string().parse::<Ppid>().unwrap(), a);
        assert!(format!("{k:?}").contains('…'));
        let s = PpidSecret::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(PpidKey::from_secret(&s).derive(PpidServiceId(1), p), a);
        assert_eq!(format!("{s:?}"), "PpidSecret(…)");
        assert_eq!(
            PpidSecret::from_bytes(&[0; 31]).unwrap_err(),
            PpidSecretError(31)
        );
    }

    #[test]
    fn ppid_text_is_checked() {
        assert!("00".parse::<Ppid>().is_err());
        assert!("G".repeat(32).parse::<Ppid>().is_err());
        assert!("A".repeat(32).parse::<Ppid>().is_err());
    }
}
