//! READ BINARY, ISO/IEC 7816-4 §11.2.3, as the JPKI card takes it (docs/jpki.md §5):
//!
//! ```text
//! 00 B0 P1 P2 Le         offset = P1·256 + P2, Ne = Le (00 = 256), at most 256 bytes a command
//! ```
//!
//! Answers: the bytes and `90 00`; fewer bytes than Ne at the end of the file and `62 82` (§5.6,
//! "end of file reached before reading Ne bytes"); an offset at or past the end `6B 00`; no
//! current EF `69 86`; a key or PIN file `69 81`; a file whose credential is not verified `69 82`;
//! command data, no Le, or Ne above 256: `67 00`.

use super::VirtualCard;
use super::files::EfKind;
use crate::apdu::{Command, MAX_SHORT_LE, Response, StatusWord};

impl VirtualCard {
    pub(super) fn read_binary(&mut self, c: &Command) -> Response {
        let ne = match c.le {
            Some(ne) if c.data.is_empty() && ne <= MAX_SHORT_LE => ne,
            _ => return Response::status(StatusWord::WrongLength),
        };
        let offset = usize::from(u16::from_be_bytes([c.p1, c.p2]));
        let Some(ef) = self.session.ef else {
            return Response::status(StatusWord::NoCurrentEf);
        };
        let EfKind::Data(readers) = ef.kind() else {
            return Response::status(StatusWord::IncompatibleFileStructure);
        };
        if !self.session.satisfies(readers) {
            return Response::status(StatusWord::SecurityStatusNotSatisfied);
        }
        self.with_data(ef, |content| {
            if offset >= content.len() {
                return Response::status(StatusWord::WrongP1P2);
            }
            let end = content.len().min(offset + ne);
            let sw = if end - offset < ne {
                StatusWord::EndOfFile
            } else {
                StatusWord::Ok
            };
            Response::new(content[offset..end].to_vec(), sw)
        })
        // A selected data file always has content (SELECT checks `has`); answer as if it had none.
        .unwrap_or(Response::status(StatusWord::NotFound))
    }
}
