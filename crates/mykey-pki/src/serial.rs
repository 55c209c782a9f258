//! The issuance number: the serial number of a user-identification certificate.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A certificate serial number: a positive INTEGER of at most 20 octets (RFC 5280 §4.1.2.2).
///
/// For a user-identification certificate this is the **issuance number** (docs/jpki.md §11), a legally
/// restricted identifier that never leaves the platform. It prints as upper-case hexadecimal,
/// the way OpenSSL prints serials.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssuanceNumber {
    // Big-endian magnitude, right-aligned; `len` significant octets, no leading zero octets.
    bytes: [u8; 20],
    len: u8,
}

impl IssuanceNumber {
    /// From the big-endian magnitude (leading zeros allowed and dropped). Zero and values whose DER
    /// INTEGER needs more than 20 octets are refused.
    pub fn from_be_bytes(be: &[u8]) -> Result<Self, Error> {
        let first = be
            .iter()
            .position(|&b| b != 0)
            .ok_or(Error::InvalidSerialNumber)?;
        let digits = &be[first..];
        // As a DER INTEGER (with a zero octet if the top bit is set) it must fit in 20 octets.
        if digits.len() > 20 || (digits.len() == 20 && digits[0] & 0x80 != 0) {
            return Err(Error::InvalidSerialNumber);
        }
        let mut bytes = [0u8; 20];
        bytes[20 - digits.len()..].copy_from_slice(digits);
        Ok(Self {
            bytes,
            len: digits.len() as u8,
        })
    }

    /// From a non-zero `u64`.
    pub fn from_u64(n: u64) -> Result<Self, Error> {
        Self::from_be_bytes(&n.to_be_bytes())
    }

    /// From an X.509 serial number (DER INTEGER contents, which must be positive).
    pub(crate) fn from_serial(s: &x509_cert::serial_number::SerialNumber) -> Result<Self, Error> {
        let raw = s.as_bytes();
        // A DER INTEGER is two's complement: a set top bit means negative.
        if raw.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(Error::InvalidSerialNumber);
        }
        Self::from_be_bytes(raw)
    }

    /// The big-endian magnitude without leading zeros.
    pub fn as_be_bytes(&self) -> &[u8] {
        &self.bytes[20 - self.len as usize..]
    }

    /// The value when it fits in 64 bits (the fast path of the revocation index).
    pub fn to_u64(&self) -> Option<u64> {
        (self.len <= 8).then(|| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.bytes[12..]);
            u64::from_be_bytes(b)
        })
    }

    /// As an X.509 `SerialNumber` (adds the zero octet that keeps a DER INTEGER positive).
    pub fn to_serial(&self) -> x509_cert::serial_number::SerialNumber {
        let mut v = Vec::with_capacity(21);
        if self.as_be_bytes()[0] & 0x80 != 0 {
            v.push(0);
        }
        v.extend_from_slice(self.as_be_bytes());
        // A positive integer of at most 21 octets with no redundant leading zero is always accepted.
        x509_cert::serial_number::SerialNumber::new(&v).expect("valid serial by construction")
    }
}

impl fmt::Display for IssuanceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_be_bytes() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for IssuanceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuanceNumber({self})")
    }
}

impl FromStr for IssuanceNumber {
    type Err = Error;

    /// Parses hexadecimal (as printed), optionally with a `0x` prefix.
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        if s.is_empty() || s.len() > 40 {
            return Err(Error::InvalidSerialNumber);
        }
        let padded = if s.len() % 2 == 1 {
            format!("0{s}")
        } else {
            s.to_owned()
        };
        let be = hex::decode(padded).map_err(|_| Error::InvalidSerialNumber)?;
        Self::from_be_bytes(&be)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zero_and_overlong_are_refused() {
        assert_eq!(
            IssuanceNumber::from_be_bytes(&[0, 0]),
            Err(Error::InvalidSerialNumber)
        );
        assert_eq!(
            IssuanceNumber::from_be_bytes(&[1; 21]),
            Err(Error::InvalidSerialNumber)
        );
        assert_eq!(
            IssuanceNumber::from_be_bytes(&[0x80; 20]),
            Err(Error::InvalidSerialNumber)
        );
        assert!(IssuanceNumber::from_be_bytes(&[0x7f; 20]).is_ok());
        assert!("".parse::<IssuanceNumber>().is_err());
        assert!("xyz".parse::<IssuanceNumber>().is_err());
    }

    #[test]
    fn serial_with_top_bit_gets_a_zero_octet() {
        let n = IssuanceNumber::from_u64(0x80).unwrap();
        assert_eq!(n.to_serial().as_bytes(), &[0, 0x80]);
        assert_eq!(IssuanceNumber::from_serial(&n.to_serial()).unwrap(), n);
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(be in proptest::collection::vec(any::<u8>(), 1..=20)) {
            prop_assume!(be.iter().any(|&b| b != 0));
            prop_assume!(be.len() < 20 || be[0] < 0x80);
            let n = IssuanceNumber::from_be_bytes(&be).unwrap();
            prop_assert_eq!(n.to_string().parse::<IssuanceNumber>().unwrap(), n);
            prop_assert_eq!(IssuanceNumber::from_serial(&n.to_serial()).unwrap(), n);
        }

        #[test]
        fn u64_fast_path_agrees(v in 1u64..) {
            let n = IssuanceNumber::from_u64(v).unwrap();
            prop_assert_eq!(n.to_u64(), Some(v));
        }
    }
}
