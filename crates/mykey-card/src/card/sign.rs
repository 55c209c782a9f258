//! COMPUTE DIGITAL SIGNATURE as the JPKI card takes it (docs/jpki.md §5; the instruction is ISO/IEC
//! 7816-8 §11.4's PERFORM SECURITY OPERATION, here in the proprietary class `80`). The key file is
//! selected first, then
//!
//! ```text
//! 80 2A 00 80 Lc <DigestInfo DER> 00     → 256-byte signature, 90 00
//! ```
//!
//! The card does not hash: it pads the DigestInfo with PKCS#1 v1.5 type 1 (RFC 8017 §9.2) and
//! applies the RSA-2048 private key. This card signs SHA-256, SHA-384 and SHA-512 DigestInfos in
//! the exact DER RFC 8017 gives; anything else — SHA-1 included, raw data, other encodings — is
//! `6A 80`. Other answers: P1-P2 not `00 80` `6A 86`; no Le `67 00`; Ne below 256 `6C 00` (the
//! signature is 256 bytes); no current EF `69 86`; the current EF not a key `69 81`; the key's
//! PIN not verified `69 82`.

use super::VirtualCard;
use super::files::EfKind;
use super::key::MODULUS_LEN;
use crate::apdu::{Command, Response, StatusWord};

impl VirtualCard {
    pub(super) fn compute_digital_signature(&mut self, c: &Command) -> Response {
        match self.sign(c) {
            Ok(signature) => Response::new(signature, StatusWord::Ok),
            Err(sw) => Response::status(sw),
        }
    }

    fn sign(&self, c: &Command) -> Result<Vec<u8>, StatusWord> {
        if (c.p1, c.p2) != (0x00, 0x80) {
            return Err(StatusWord::IncorrectP1P2);
        }
        match c.le {
            None => return Err(StatusWord::WrongLength),
            // 256 is written 00 in 6C xx.
            Some(ne) if ne < MODULUS_LEN => {
                return Err(StatusWord::WrongLe {
                    available: MODULUS_LEN as u8,
                });
            }
            Some(_) => {}
        }
        if c.data.is_empty() {
            return Err(StatusWord::WrongLength);
        }
        let ef = self.session.ef.ok_or(StatusWord::NoCurrentEf)?;
        let EfKind::Key(key, credential) = ef.kind() else {
            return Err(StatusWord::IncompatibleFileStructure);
        };
        if !self.session.is_verified(credential) {
            return Err(StatusWord::SecurityStatusNotSatisfied);
        }
        self.keys
            .get(key)
            .sign_digest_info(&c.data)
            .ok_or(StatusWord::IncorrectData)
    }
}
