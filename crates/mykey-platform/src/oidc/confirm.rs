//! The browser proves it is the person's own (finding 7 of the security issue; the OAuth
//! cross-device security practice). A cross-device login is approved on the phone, but the
//! session goes to whichever browser began the request — someone else's, if a phisher had the
//! person type the phisher's short code, or a bystander's, if someone who read the person's
//! code approved it with their own card. So where the browser could be someone else's, the
//! phone's approval answers a six-digit code and the browser continues only once that code is
//! typed into it:
//!
//! - a portal login, always (the session is the person's own data, and the export);
//! - a relying party's login that the phone found by its short code (typed, so it could have
//!   been read off another screen or dictated by a phisher); one found by the QR code's 256-bit
//!   handle is left as it is: the camera was in front of the screen.
//!
//! The code's SHA-256 (with the request's handle hash) is kept on the request until typed; the
//! tries are counted in the store, shared by every node, and [`CONFIRM_TRIES`] wrong ones
//! decline the request.

use super::{Authorization, CONFIRM_TRIES, Confirmation};
use crate::Rng;
use crate::relying_party::sha256;
use crate::{Platform, PlatformError};

/// A fresh six-digit code and its hash for the request `handle_hash`.
pub(super) fn new_code(rng: &dyn Rng, handle_hash: &[u8; 32]) -> (String, [u8; 32]) {
    // Rejection sampling: uniform over 000000–999999.
    let n = loop {
        let n = u32::from_be_bytes(rng.bytes::<4>());
        if n < 4_294_000_000 {
            break n % 1_000_000;
        }
    };
    let code = format!("{n:06}");
    let hash = code_hash(handle_hash, &code);
    (code, hash)
}

fn code_hash(handle_hash: &[u8; 32], code: &str) -> [u8; 32] {
    let mut b = Vec::with_capacity(32 + code.len());
    b.extend_from_slice(handle_hash);
    b.extend_from_slice(code.as_bytes());
    sha256(&b)
}

/// A code as typed: ASCII or full-width digits, spaces and hyphens ignored.
fn normalise(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            c => c,
        })
        .take(16)
        .collect()
}

/// Whether a browser may go on with an approved request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gate {
    /// Yes.
    Open,
    /// Not before the code is typed (`wrong`: a code was typed and was not it).
    Ask {
        /// Tries left.
        tries_left: u32,
        /// The code typed was wrong.
        wrong: bool,
    },
    /// Never: too many wrong codes, the request is declined.
    Closed,
}

impl Platform {
    /// Checks `typed` (if any) against the code `a` awaits; see the module docs.
    pub(super) async fn browser_gate(
        &self,
        a: &Authorization,
        typed: Option<&str>,
    ) -> Result<Gate, PlatformError> {
        if !a.awaits_confirmation {
            return Ok(Gate::Open);
        }
        let Some(typed) = typed.filter(|t| !t.trim().is_empty()) else {
            return Ok(Gate::Ask {
                tries_left: CONFIRM_TRIES.saturating_sub(a.confirm_tries),
                wrong: false,
            });
        };
        let hash = code_hash(&a.request.handle_hash, &normalise(typed));
        Ok(
            match self
                .store
                .confirm_authorization(&a.request.handle_hash, &hash)
                .await?
            {
                // Not awaited any more: confirmed by a request in between (the store's continue
                // still insists on it).
                Confirmation::Confirmed | Confirmation::NotAwaited => Gate::Open,
                Confirmation::Wrong { tries_left } => Gate::Ask {
                    tries_left,
                    wrong: true,
                },
                Confirmation::Exhausted => {
                    self.answers.tell(&a.request.handle_hash);
                    Gate::Closed
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_typed_forgivingly() {
        let h = [7u8; 32];
        for _ in 0..200 {
            let (code, hash) = new_code(&crate::SystemRng, &h);
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(code_hash(&h, &normalise(&code)), hash);
            assert_ne!(code_hash(&[8u8; 32], &code), hash, "bound to its request");
        }
        assert_eq!(normalise("１２３ ４５-6"), "123456");
        assert_eq!(normalise("12345６"), "123456");
    }
}
