//! VERIFY, ISO/IEC 7816-4 §11.5.6, as the JPKI card takes it (docs/jpki.md §4): the PIN or access-key
//! file is selected first, then
//!
//! ```text
//! 00 20 00 80            how many tries are left: 63 Cx, always, without using a try (63 C0: blocked)
//! 00 20 00 80 Lc <ASCII> verify: 90 00; wrong 63 Cx (x tries left); blocked 69 83
//! ```
//!
//! A value without the credential's format (e.g. three digits for a 4-digit PIN) is refused with
//! `6A 80` before any try is used. A wrong value also clears that credential's verified state.
//! Other answers: P1-P2 not `00 80` `6A 86`; no current EF `69 86`; the current EF not a PIN
//! `69 81`. The counter changes are marked for saving before the answer leaves the card.

use super::VirtualCard;
use super::credential::Outcome;
use super::files::EfKind;
use crate::apdu::{Command, Response, StatusWord};

impl VirtualCard {
    pub(super) fn verify(&mut self, c: &Command) -> Response {
        Response::status(self.verify_sw(c))
    }

    fn verify_sw(&mut self, c: &Command) -> StatusWord {
        if (c.p1, c.p2) != (0x00, 0x80) {
            return StatusWord::IncorrectP1P2;
        }
        let Some(ef) = self.session.ef else {
            return StatusWord::NoCurrentEf;
        };
        let EfKind::Credential(id) = ef.kind() else {
            return StatusWord::IncompatibleFileStructure;
        };
        let Some(credential) = self.credential_mut(id) else {
            return StatusWord::NotFound;
        };
        if c.data.is_empty() {
            return StatusWord::VerificationFailed {
                tries_left: credential.count().left,
            };
        }
        if credential.count().is_blocked() {
            return StatusWord::AuthenticationBlocked;
        }
        if !id.well_formed(&c.data) {
            return StatusWord::IncorrectData;
        }
        match credential.verify(&c.data) {
            Outcome::Verified { reset } => {
                self.state_changed |= reset;
                self.session.verified |= id.bit();
                StatusWord::Ok
            }
            Outcome::Wrong { left } => {
                self.state_changed = true;
                self.session.verified &= !id.bit();
                StatusWord::VerificationFailed { tries_left: left }
            }
            Outcome::Blocked => StatusWord::AuthenticationBlocked,
        }
    }
}
