//! The card's secrets as types: a value that exists has the format docs/jpki.md §4 gives it. Every one
//! is kept in a fixed buffer that is zeroized on drop, compared in constant time, and never shown by
//! `Debug`.

use std::fmt;
use std::str::FromStr;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Which secret a format error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// A 4-digit PIN (user identification, ticket-item).
    Pin,
    /// The signature password.
    SignaturePassword,
    /// The 12-digit My Number.
    MyNumber,
    /// The 4-digit security code printed on the card.
    SecurityCode,
    /// Alternative access key B.
    AccessKey,
}

/// A secret that does not have its format. Carries no part of the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {reason}")]
pub struct SecretError {
    /// Which secret.
    pub kind: SecretKind,
    /// What is wrong with it.
    pub reason: &'static str,
}

const MAX: usize = 16;

/// Up to 16 ASCII bytes, zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Secret {
    buf: [u8; MAX],
    len: u8,
}

impl Secret {
    fn new(bytes: &[u8]) -> Self {
        let mut buf = [0u8; MAX];
        let len = bytes.len().min(MAX);
        buf[..len].copy_from_slice(&bytes[..len]);
        Self {
            buf,
            len: len as u8,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The value as text (every secret is ASCII by construction).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// Compares with `candidate` in time independent of where they differ.
    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        let mut other = [0u8; MAX];
        let n = candidate.len().min(MAX);
        other[..n].copy_from_slice(&candidate[..n]);
        let mut diff = u8::from(candidate.len() != usize::from(self.len));
        for (a, b) in self.buf.iter().zip(other.iter()) {
            diff |= a ^ b;
        }
        other.zeroize();
        std::hint::black_box(diff) == 0
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $check:path) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Secret);

        impl $name {
            /// Checks the format and keeps the value.
            pub fn new(value: &str) -> Result<Self, SecretError> {
                Self::from_bytes(value.as_bytes())
            }

            pub(crate) fn from_bytes(value: &[u8]) -> Result<Self, SecretError> {
                $check(value).map_err(|reason| SecretError { kind: $kind, reason })?;
                Ok(Self(Secret::new(value)))
            }

            /// Whether `bytes` has this secret's format (checked before a try is used).
            #[allow(dead_code)] // not every secret is the target of a VERIFY
            pub(crate) fn well_formed(bytes: &[u8]) -> bool {
                $check(bytes).is_ok()
            }

            #[allow(dead_code)] // not every secret is a card credential
            pub(crate) fn secret(&self) -> &Secret {
                &self.0
            }

            /// The value, for the card file and for VERIFY. Never log it.
            pub(crate) fn expose(&self) -> &str {
                self.0.as_str()
            }
        }

        impl FromStr for $name {
            type Err = SecretError;
            fn from_str(s: &str) -> Result<Self, SecretError> {
                Self::new(s)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_type!(
    /// A 4-digit PIN: the user-identification PIN (file `0018`) or the ticket-item PIN (`0011`).
    Pin,
    SecretKind::Pin,
    check_pin
);
secret_type!(
    /// The signature password (file `001B`): 6 to 16 characters of digits and `A`–`Z`.
    SignaturePassword,
    SecretKind::SignaturePassword,
    check_sign_password
);
secret_type!(
    /// The 12-digit My Number, its last digit a check digit. The platform never reads it from a
    /// card; a virtual card holds it only because the real one does.
    MyNumber,
    SecretKind::MyNumber,
    check_my_number
);
secret_type!(
    /// The 4-digit security code printed on the card's face (one part of access key B).
    SecurityCode,
    SecretKind::SecurityCode,
    check_security_code
);
secret_type!(
    /// Alternative access key B of the ticket-item AP (file `0015`), the PIN-less route to the four
    /// facts. The real format is not published (docs/jpki.md §6); this project fixes it as 14 ASCII digits: the birth
    /// date `YYMMDD`, the card's expiry year `YYYY`, and the 4-digit security code.
    AccessKey,
    SecretKind::AccessKey,
    check_access_key
);

impl AccessKey {
    /// Builds key B from what is printed on the card: birth date, expiry year, security code.
    pub fn b(
        birth_date: time::Date,
        expiry_year: u16,
        code: &SecurityCode,
    ) -> Result<Self, SecretError> {
        let mut text = format!(
            "{:02}{:02}{:02}{:04}",
            birth_date.year().rem_euclid(100),
            u8::from(birth_date.month()),
            birth_date.day(),
            expiry_year
        );
        text.push_str(code.expose());
        let key = Self::new(&text);
        text.zeroize();
        key
    }
}

fn digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

fn check_pin(b: &[u8]) -> Result<(), &'static str> {
    if b.len() == 4 && digits(b) {
        Ok(())
    } else {
        Err("must be 4 digits")
    }
}

fn check_sign_password(b: &[u8]) -> Result<(), &'static str> {
    if !(6..=16).contains(&b.len()) {
        return Err("must be 6 to 16 characters");
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return Err("must be digits and upper-case A-Z only");
    }
    Ok(())
}

fn check_security_code(b: &[u8]) -> Result<(), &'static str> {
    if b.len() == 4 && digits(b) {
        Ok(())
    } else {
        Err("must be 4 digits")
    }
}

fn check_access_key(b: &[u8]) -> Result<(), &'static str> {
    if b.len() == 14 && digits(b) {
        Ok(())
    } else {
        Err("must be 14 digits (YYMMDD YYYY code)")
    }
}

/// The check digit rule of the My Number (Cabinet Order on the My Number Act, Art. 8): with
/// P(n) the n-th of the first 11 digits counted from the right, Q(n) = n + 1 for n ≤ 6 and n − 5
/// otherwise, r = Σ P(n)·Q(n) mod 11; the check digit is 0 when r ≤ 1, else 11 − r.
fn check_my_number(b: &[u8]) -> Result<(), &'static str> {
    if b.len() != 12 || !digits(b) {
        return Err("must be 12 digits");
    }
    let sum: u32 = b[..11]
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let n = i as u32 + 1;
            let q = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(d - b'0') * q
        })
        .sum();
    let r = sum % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    if u32::from(b[11] - b'0') == check {
        Ok(())
    } else {
        Err("check digit does not match")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(Pin::new("1234").is_ok());
        for bad in ["123", "12345", "12a4", "", "１２３４"] {
            assert_eq!(Pin::new(bad).unwrap_err().kind, SecretKind::Pin);
        }
        assert!(SignaturePassword::new("ABC123").is_ok());
        assert!(SignaturePassword::new("A1B2C3D4E5F6G7H8").is_ok());
        for bad in ["ABC12", "abc123", "ABC-123", "A1B2C3D4E5F6G7H8I"] {
            assert!(SignaturePassword::new(bad).is_err(), "{bad}");
        }
        assert!(SecurityCode::new("0042").is_ok());
        assert!(SecurityCode::new("42").is_err());
    }

    #[test]
    fn my_number_check_digit() {
        // 12345678901 → weights from the right 2..7, 2..6 give Σ = 212, r = 3, check digit 8.
        assert!(MyNumber::new("123456789018").is_ok());
        assert!(MyNumber::new("123456789019").is_err());
        assert!(MyNumber::new("000000000000").is_ok());
        assert!(MyNumber::new("12345678901").is_err());
    }

    #[test]
    fn access_key_b_layout() {
        let code = SecurityCode::new("0815").unwrap();
        let key = AccessKey::b(time::macros::date!(1985 - 06 - 05), 2034, &code).unwrap();
        assert_eq!(key.expose(), "85060520340815");
        assert!(AccessKey::new("8506052034081").is_err());
    }

    #[test]
    fn constant_time_match_and_redacted_debug() {
        let pin = Pin::new("1234").unwrap();
        assert!(pin.secret().matches(b"1234"));
        assert!(!pin.secret().matches(b"1235"));
        assert!(!pin.secret().matches(b"12345"));
        assert!(!pin.secret().matches(b"123"));
        assert!(!pin.secret().matches(&[b'1'; 40]));
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
        assert!(!format!("{:?}", SignaturePassword::new("ABC123").unwrap()).contains("ABC"));
    }
}
