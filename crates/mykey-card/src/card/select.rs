//! SELECT, ISO/IEC 7816-4 §11.1.1, in the two forms the JPKI card takes (docs/jpki.md §2, §5):
//!
//! ```text
//! 00 A4 04 0C Lc <AID>   select an application by DF name, no response data
//! 00 A4 02 0C 02 <FID>   select an EF of the current application, no response data
//! ```
//!
//! An application this card lacks — including the ticket-item confirmation and resident-registry
//! APs of a real card — answers `6A 82`, whatever P2, so that OpenSC's other drivers pass it by.
//! Selecting an application (even the current one) clears the current EF and the security state.
//! A failed SELECT changes nothing. Le, if present, is ignored (there is no FCI to return).

use super::files::{Ap, Ef};
use super::{Session, VirtualCard};
use crate::apdu::{Command, Response, StatusWord};

/// P2: no response data.
const NO_FCI: u8 = 0x0C;

impl VirtualCard {
    pub(super) fn select(&mut self, c: &Command) -> Response {
        let sw = match c.p1 {
            0x04 => self.select_application(c),
            0x02 => self.select_ef(c),
            _ => StatusWord::IncorrectP1P2,
        };
        Response::status(sw)
    }

    fn select_application(&mut self, c: &Command) -> StatusWord {
        // DF names are 1 to 16 bytes (ISO/IEC 7816-4 §8.2.1.2).
        if c.data.is_empty() || c.data.len() > 16 {
            return StatusWord::WrongLength;
        }
        let Some(ap) = Ap::by_aid(&c.data) else {
            return StatusWord::NotFound;
        };
        if c.p2 != NO_FCI {
            return StatusWord::IncorrectP1P2;
        }
        self.session = Session {
            ap: Some(ap),
            ef: None,
            verified: 0,
        };
        StatusWord::Ok
    }

    fn select_ef(&mut self, c: &Command) -> StatusWord {
        if c.p2 != NO_FCI {
            return StatusWord::IncorrectP1P2;
        }
        let [hi, lo] = c.data[..] else {
            return StatusWord::NcInconsistentWithP1P2;
        };
        let ef = self
            .session
            .ap
            .and_then(|ap| Ef::find(ap, u16::from_be_bytes([hi, lo])))
            .filter(|&ef| self.has(ef));
        match ef {
            Some(ef) => {
                self.session.ef = Some(ef);
                StatusWord::Ok
            }
            None => StatusWord::NotFound,
        }
    }
}
