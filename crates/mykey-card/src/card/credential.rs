//! PINs and access keys with their retry counters (ISO/IEC 7816-4 §11.5.6, VERIFY, and §5.4's
//! "reference data"): what VERIFY compares, how many wrong tries remain, the lock-out.

use crate::secret::{AccessKey, MyNumber, Pin, Secret, SignaturePassword};

/// A credential the card verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialId {
    /// The user-identification PIN (JPKI AP `0018`): 4 digits, 3 tries.
    UiPin,
    /// The signature password (JPKI AP `001B`): 6–16 of `0-9A-Z`, 5 tries.
    SignaturePassword,
    /// The ticket-item PIN (ticket-item AP `0011`): 4 digits, 3 tries.
    TicketPin,
    /// Alternative access key A (ticket-item AP `0014`): the My Number, 10 tries.
    AccessKeyA,
    /// Alternative access key B (ticket-item AP `0015`): see [`AccessKey`], 10 tries.
    AccessKeyB,
}

impl CredentialId {
    /// Tries a fresh or reset credential has. For the access keys the number is not published;
    /// this project chooses 10, so that key B's 4-digit security code cannot be searched.
    pub const fn max_tries(self) -> u8 {
        match self {
            Self::UiPin | Self::TicketPin => 3,
            Self::SignaturePassword => 5,
            Self::AccessKeyA | Self::AccessKeyB => 10,
        }
    }

    /// Whether `candidate` has the credential's format. A malformed VERIFY is refused with
    /// `6A 80` before any try is used: the format is public, so refusing it reveals nothing.
    pub(crate) fn well_formed(self, candidate: &[u8]) -> bool {
        match self {
            Self::UiPin | Self::TicketPin => Pin::well_formed(candidate),
            Self::SignaturePassword => SignaturePassword::well_formed(candidate),
            Self::AccessKeyA => MyNumber::well_formed(candidate),
            Self::AccessKeyB => AccessKey::well_formed(candidate),
        }
    }

    pub(crate) const fn bit(self) -> u8 {
        match self {
            Self::UiPin => 1,
            Self::SignaturePassword => 2,
            Self::TicketPin => 4,
            Self::AccessKeyA => 8,
            Self::AccessKeyB => 16,
        }
    }
}

/// A retry counter as `show` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryCount {
    /// Wrong tries left before the credential blocks (0: blocked).
    pub left: u8,
    /// Tries after a successful verification.
    pub max: u8,
}

impl RetryCount {
    /// Whether the credential is blocked.
    pub fn is_blocked(self) -> bool {
        self.left == 0
    }
}

/// What a VERIFY with data did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Matched; `reset` when the counter had to be restored.
    Verified { reset: bool },
    /// Did not match; tries left after this one.
    Wrong { left: u8 },
    /// No tries left before this one; nothing compared.
    Blocked,
}

/// Reference data and its counter.
#[derive(Clone)]
pub(crate) struct Credential {
    id: CredentialId,
    secret: Secret,
    left: u8,
}

impl Credential {
    #[cfg(test)]
    pub(crate) fn new(id: CredentialId, secret: Secret) -> Self {
        Self {
            id,
            secret,
            left: id.max_tries(),
        }
    }

    /// As stored: `left` above the maximum is clamped.
    pub(crate) fn with_tries(id: CredentialId, secret: Secret, left: u8) -> Self {
        Self {
            id,
            secret,
            left: left.min(id.max_tries()),
        }
    }

    pub(crate) fn secret(&self) -> &Secret {
        &self.secret
    }

    pub(crate) fn count(&self) -> RetryCount {
        RetryCount {
            left: self.left,
            max: self.id.max_tries(),
        }
    }

    /// Compares `candidate` and counts: a wrong value uses a try, a right one restores them all.
    pub(crate) fn verify(&mut self, candidate: &[u8]) -> Outcome {
        if self.left == 0 {
            return Outcome::Blocked;
        }
        if self.secret.matches(candidate) {
            let reset = self.left != self.id.max_tries();
            self.left = self.id.max_tries();
            Outcome::Verified { reset }
        } else {
            self.left -= 1;
            Outcome::Wrong { left: self.left }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_blocks_and_resets() {
        let pin = Pin::new("1234").unwrap();
        let mut c = Credential::new(CredentialId::UiPin, pin.secret().clone());
        assert_eq!(c.verify(b"0000"), Outcome::Wrong { left: 2 });
        assert_eq!(c.verify(b"1234"), Outcome::Verified { reset: true });
        assert_eq!(c.verify(b"1234"), Outcome::Verified { reset: false });
        for left in [2, 1, 0] {
            assert_eq!(c.verify(b"9999"), Outcome::Wrong { left });
        }
        assert_eq!(c.verify(b"1234"), Outcome::Blocked);
        assert!(c.count().is_blocked());
    }
}
