//! The virtual My Number Card: the JPKI AP and the ticket-item entry support AP, answering
//! ISO/IEC 7816-4 commands exactly as docs/jpki.md §5 describes the real card.
//!
//! One file per command family: [`select`] (§11.1.1), [`read_binary`] (§11.2.3), [`verify`]
//! (§11.5.6), [`sign`] (the JPKI COMPUTE DIGITAL SIGNATURE, after ISO/IEC 7816-8 §11.4);
//! [`lifecycle`] makes, certifies and renews cards; [`persist`] is its stored form.
//!
//! Answers to what the card does not do:
//! - malformed APDU (truncated, lengths inconsistent): `67 00`;
//! - class other than `00` (ISO) or `80` (JPKI's COMPUTE DIGITAL SIGNATURE): `6E 00`;
//! - instruction other than SELECT, READ BINARY, VERIFY, COMPUTE DIGITAL SIGNATURE: `6D 00`.

mod credential;
mod files;
mod key;
mod lifecycle;
pub(crate) mod persist;
mod read_binary;
mod select;
mod sign;
mod verify;

#[cfg(test)]
mod tests;

use zeroize::Zeroizing;

use crate::apdu::{Command, Response, StatusWord};
use crate::secret::MyNumber;
use mykey_pki::ticket::TicketFacts;
use mykey_pki::ticket::tlv;

pub use credential::{CredentialId, RetryCount};
pub use files::{ATR, CONFIRMATION_AID, JPKI_AID, RESIDENT_REGISTRY_AID, TICKET_AID};
pub use lifecycle::{
    CardError, CardFace, CardSecrets, CardSummary, CertificateFile, Certificates, PublicKeys,
};

use credential::Credential;
use files::{Ap, Ef, KeyId};
use key::CardKey;

/// A virtual My Number Card. Feed it command APDUs with [`VirtualCard::transmit`]; it answers
/// every one, never panics, and keeps its retry counters across [`VirtualCard::reset`] (store the
/// card after [`VirtualCard::take_state_changed`] says so, and a lock-out survives restarts).
/// A clone is a second card with the same keys (shared, not copied) and a copy of the counters:
/// for tests, benchmarks and fuzzing.
#[derive(Clone)]
pub struct VirtualCard {
    keys: KeyPairs,
    /// Keys made by [`VirtualCard::renew_keys`], waiting for their certificates.
    pending: Option<KeyPairs>,
    certificates: Option<Certificates>,
    ui_pin: Credential,
    sign_password: Credential,
    ticket_pin: Credential,
    key_a: Option<Credential>,
    key_b: Option<Credential>,
    my_number: Option<MyNumber>,
    face: Option<CardFace>,
    facts: TicketFacts,
    /// File `0002` of the ticket-item AP, encoded once.
    facts_file: Vec<u8>,
    /// File `0003`: J-LIS's signature over file `0002`, once J-LIS has written it.
    ticket_signature: Option<mykey_pki::ticket::TicketSignature>,
    session: Session,
    state_changed: bool,
}

/// The two key pairs of the JPKI AP.
#[derive(Clone)]
struct KeyPairs {
    ui: CardKey,
    sig: CardKey,
}

impl KeyPairs {
    fn get(&self, id: KeyId) -> &CardKey {
        match id {
            KeyId::UserIdentification => &self.ui,
            KeyId::Signature => &self.sig,
        }
    }
}

/// Volatile state, gone on reset and on any application SELECT (ISO/IEC 7816-4 §5.4: security
/// status is kept per application).
#[derive(Clone, Copy, Debug, Default)]
struct Session {
    ap: Option<Ap>,
    ef: Option<Ef>,
    /// Bits of [`CredentialId::bit`] verified since the application was selected.
    verified: u8,
}

impl Session {
    fn is_verified(&self, id: CredentialId) -> bool {
        self.verified & id.bit() != 0
    }

    /// Whether any of `ids` is verified; an empty list means free access.
    fn satisfies(&self, ids: &[CredentialId]) -> bool {
        ids.is_empty() || ids.iter().any(|&id| self.is_verified(id))
    }
}

impl VirtualCard {
    /// The answer to reset.
    pub fn atr(&self) -> &'static [u8] {
        &ATR
    }

    /// Handles one command APDU and returns the response APDU (data ‖ SW1 SW2). Total: any bytes
    /// give an answer.
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let response = match Command::parse(apdu) {
            Ok(command) => self.process(&command),
            Err(_) => Response::status(StatusWord::WrongLength),
        };
        response.to_bytes()
    }

    /// Power cycle or warm reset: no application selected, no credential verified.
    pub fn reset(&mut self) {
        self.session = Session::default();
    }

    /// Whether the persistent state (retry counters) changed since the last call. Whoever stores
    /// the card saves it when this is true, before the answer leaves the card.
    pub fn take_state_changed(&mut self) -> bool {
        std::mem::take(&mut self.state_changed)
    }

    fn process(&mut self, c: &Command) -> Response {
        match (c.cla, c.ins) {
            (0x00, 0xA4) => self.select(c),
            (0x00, 0xB0) => self.read_binary(c),
            (0x00, 0x20) => self.verify(c),
            (0x80, 0x2A) => self.compute_digital_signature(c),
            (0x00 | 0x80, _) => Response::status(StatusWord::InsNotSupported),
            _ => Response::status(StatusWord::ClaNotSupported),
        }
    }

    fn credential(&self, id: CredentialId) -> Option<&Credential> {
        match id {
            CredentialId::UiPin => Some(&self.ui_pin),
            CredentialId::SignaturePassword => Some(&self.sign_password),
            CredentialId::TicketPin => Some(&self.ticket_pin),
            CredentialId::AccessKeyA => self.key_a.as_ref(),
            CredentialId::AccessKeyB => self.key_b.as_ref(),
        }
    }

    fn credential_mut(&mut self, id: CredentialId) -> Option<&mut Credential> {
        match id {
            CredentialId::UiPin => Some(&mut self.ui_pin),
            CredentialId::SignaturePassword => Some(&mut self.sign_password),
            CredentialId::TicketPin => Some(&mut self.ticket_pin),
            CredentialId::AccessKeyA => self.key_a.as_mut(),
            CredentialId::AccessKeyB => self.key_b.as_mut(),
        }
    }

    /// Whether this card has content for `ef` (certificates once installed, the My Number and
    /// key A when given one, key B when the card face is known).
    fn has(&self, ef: Ef) -> bool {
        match ef {
            Ef::UiCertificate
            | Ef::UiCaCertificate
            | Ef::SignatureCertificate
            | Ef::SignatureCaCertificate => self.certificates.is_some(),
            Ef::MyNumber | Ef::AccessKeyA => self.key_a.is_some(),
            Ef::AccessKeyB => self.key_b.is_some(),
            Ef::TicketSignature => self.ticket_signature.is_some(),
            _ => true,
        }
    }

    /// Runs `f` over the content of the transparent file `ef`.
    fn with_data<R>(&self, ef: Ef, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let cert = |pick: fn(&Certificates) -> &[u8]| self.certificates.as_ref().map(pick);
        let bytes: &[u8] = match ef {
            Ef::TokenInfo => &files::TOKEN_INFO,
            Ef::UiCertificate => cert(|c| &c.user_identification)?,
            Ef::UiCaCertificate => cert(|c| &c.user_identification_ca)?,
            Ef::SignatureCertificate => cert(|c| &c.signature)?,
            Ef::SignatureCaCertificate => cert(|c| &c.signature_ca)?,
            Ef::Facts => &self.facts_file,
            Ef::TicketSignature => {
                let signature = self.ticket_signature.as_ref()?;
                let number = self.my_number.as_ref().map(|n| {
                    let mut file = Zeroizing::new(Vec::with_capacity(16));
                    tlv::write(&mut file, files::TAG_MY_NUMBER, n.expose().as_bytes());
                    mykey_pki::ticket::facts_digest(&file)
                });
                return Some(f(&signature.to_file(number.as_ref())));
            }
            Ef::MyNumber => {
                let number = self.my_number.as_ref()?;
                let mut file = Zeroizing::new(Vec::with_capacity(16));
                tlv::write(&mut file, files::TAG_MY_NUMBER, number.expose().as_bytes());
                return Some(f(&file));
            }
            _ => return None,
        };
        Some(f(bytes))
    }
}

impl std::fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCard")
            .field("certified", &self.certificates.is_some())
            .field("renewal_pending", &self.pending.is_some())
            .field("ui_pin", &self.ui_pin.count())
            .field("sign_password", &self.sign_password.count())
            .field("ticket_pin", &self.ticket_pin.count())
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}
