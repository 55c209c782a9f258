//! Identifiers as types: a value that exists is valid.

use std::fmt;
use std::str::FromStr;

/// Why a string is not a valid identifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not a My Key ID: 8 characters of A–Z and 0–9.
    #[error("a My Key ID is 8 characters of A-Z and 0-9")]
    MyKeyId,
    /// Not a customer ID: 1–128 printable ASCII characters.
    #[error("a customer ID is 1 to 128 printable ASCII characters")]
    CustomerId,
    /// Not a link request ID.
    #[error("a link request ID is 22 base64url characters")]
    LinkRequest,
    /// Not a PPID.
    #[error("a PPID is 32 lower-case hexadecimal characters")]
    Ppid,
    /// Not a link's number.
    #[error("a link's number is a positive whole number")]
    LinkId,
    /// Not a point application's ID.
    #[error(
        "a point application's ID is 16 lower-case hexadecimal characters, from 0000000000000000 to 7fffffffffffffff"
    )]
    PointApplication,
    /// Not a settlement user ID.
    #[error("a settlement user ID is 1 to 128 printable ASCII characters")]
    SettlementUserId,
}

/// The platform's internal ID of a person. Never leaves the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonId(i64);

impl PersonId {
    /// The ID as the store keeps it.
    pub const fn new(n: i64) -> Self {
        Self(n)
    }

    /// The number.
    pub const fn get(self) -> i64 {
        self.0
    }
}

/// A Service ID link's number: how the person names one of their links (to withdraw it). Only
/// the person's own links answer to it; it tells nothing about anyone else's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(i64);

impl LinkId {
    /// The number as the store keeps it.
    pub const fn new(n: i64) -> Self {
        Self(n)
    }

    /// The number.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for LinkId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        s.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Self)
            .ok_or(IdError::LinkId)
    }
}

/// A relying party's internal ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelyingPartyId(i64);

impl RelyingPartyId {
    /// The ID as the store keeps it.
    pub const fn new(n: i64) -> Self {
        Self(n)
    }

    /// The number.
    pub const fn get(self) -> i64 {
        self.0
    }
}

/// A My Key ID (Terms Art 2.7, 15): 8 characters of upper-case A–Z and 0–9.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MyKeyId([u8; 8]);

const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

impl MyKeyId {
    /// A uniformly random My Key ID (36⁸ ≈ 2.8 × 10¹² values; the store keeps them unique).
    pub fn random(rng: &dyn mykey_pki::Rng) -> Self {
        let mut out = [0u8; 8];
        let mut i = 0;
        while i < 8 {
            let b = rng.bytes::<16>();
            // Rejection sampling keeps the distribution uniform: 252 = 7 × 36.
            for x in b {
                if x < 252 && i < 8 {
                    out[i] = ALPHABET[usize::from(x % 36)];
                    i += 1;
                }
            }
        }
        Self(out)
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII from ALPHABET is ever stored.
        std::str::from_utf8(&self.0).expect("ASCII")
    }
}

impl FromStr for MyKeyId {
    type Err = IdError;

    /// Accepts lower case too, and stores upper case.
    fn from_str(s: &str) -> Result<Self, IdError> {
        let b = s.as_bytes();
        if b.len() != 8 || !b.iter().all(u8::is_ascii_alphanumeric) {
            return Err(IdError::MyKeyId);
        }
        let mut out = [0u8; 8];
        for (o, c) in out.iter_mut().zip(b) {
            *o = c.to_ascii_uppercase();
        }
        Ok(Self(out))
    }
}

impl fmt::Display for MyKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for MyKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MyKeyId({})", self.as_str())
    }
}

/// A relying party's own ID for its customer (Terms Art 2.8): 1–128 printable ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(String);

impl CustomerId {
    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CustomerId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IdError::CustomerId);
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn my_key_ids_are_eight_of_the_alphabet() {
        for _ in 0..100 {
            let id = MyKeyId::random(&mykey_pki::SystemRng);
            assert_eq!(id.as_str().len(), 8);
            assert_eq!(id.as_str().parse::<MyKeyId>().unwrap(), id);
        }
        assert_eq!("ab12cd34".parse::<MyKeyId>().unwrap().as_str(), "AB12CD34");
        for bad in ["", "ABC", "ABCDEFGHI", "ABCD-123", "ＡＢＣＤ１２３４"] {
            assert_eq!(bad.parse::<MyKeyId>(), Err(IdError::MyKeyId), "{bad}");
        }
    }

    #[test]
    fn customer_ids_are_printable_ascii() {
        assert!("C-000123".parse::<CustomerId>().is_ok());
        for bad in ["", "a b", "顧客", &"x".repeat(129)] {
            assert!(bad.parse::<CustomerId>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn my_key_id_parse_is_total(s in ".*") {
            let _ = s.parse::<MyKeyId>();
        }
    }
}
