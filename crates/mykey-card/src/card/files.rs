//! The card's applications and files (docs/jpki.md §2, §3, §6): the two APs this card has, the two it
//! answers `6A 82` for, and per elementary file its identifier, kind and read rule (ISO/IEC
//! 7816-4 §7.1, file structures; §5.4, security attributes, reduced to "which credential opens it").

use super::credential::CredentialId;

/// The JPKI AP.
pub const JPKI_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// The ticket-item entry support AP (券面事項入力補助AP).
pub const TICKET_AID: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
/// The ticket-item confirmation AP: a real card has it; this one answers `6A 82`.
pub const CONFIRMATION_AID: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02];
/// The resident-registry AP: a real card has it; this one answers `6A 82`.
pub const RESIDENT_REGISTRY_AID: [u8; 10] =
    [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00];

/// The answer to reset OpenSC's `jpki` driver recognises.
pub const ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// File `0006`'s content: the token label of a physical My Number Card, space-padded to 32 bytes.
pub(crate) const TOKEN_INFO: [u8; 32] = *b"JPKIAPICCTOKEN2                 ";

/// Tag of the My Number file's one data object (the real tag is not published).
pub(crate) const TAG_MY_NUMBER: u32 = 0xDF10;

/// An application the card has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ap {
    Jpki,
    Ticket,
}

impl Ap {
    pub(crate) fn by_aid(aid: &[u8]) -> Option<Self> {
        match aid {
            a if a == JPKI_AID => Some(Self::Jpki),
            a if a == TICKET_AID => Some(Self::Ticket),
            _ => None,
        }
    }
}

/// Which RSA key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyId {
    UserIdentification,
    Signature,
}

/// What an elementary file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EfKind {
    /// Transparent data, read with READ BINARY if one of the credentials (none: free) is verified.
    Data(&'static [CredentialId]),
    /// A private key, usable by COMPUTE DIGITAL SIGNATURE once the credential is verified.
    Key(KeyId, CredentialId),
    /// A PIN or access key, the target of VERIFY.
    Credential(CredentialId),
}

/// The elementary files of both APs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ef {
    TokenInfo,
    UiCertificate,
    UiCaCertificate,
    SignatureCertificate,
    SignatureCaCertificate,
    UiKey,
    UiPin,
    SignatureKey,
    SignaturePassword,
    TicketPin,
    AccessKeyA,
    AccessKeyB,
    MyNumber,
    Facts,
    TicketSignature,
}

const FREE: &[CredentialId] = &[];

impl Ef {
    /// The file `fid` of `ap`, whether or not this card has content for it.
    pub(crate) fn find(ap: Ap, fid: u16) -> Option<Self> {
        use Ef::*;
        Some(match (ap, fid) {
            (Ap::Jpki, 0x0006) => TokenInfo,
            (Ap::Jpki, 0x000A) => UiCertificate,
            (Ap::Jpki, 0x000B) => UiCaCertificate,
            (Ap::Jpki, 0x0001) => SignatureCertificate,
            (Ap::Jpki, 0x0002) => SignatureCaCertificate,
            (Ap::Jpki, 0x0017) => UiKey,
            (Ap::Jpki, 0x0018) => UiPin,
            (Ap::Jpki, 0x001A) => SignatureKey,
            (Ap::Jpki, 0x001B) => SignaturePassword,
            (Ap::Ticket, 0x0011) => TicketPin,
            (Ap::Ticket, 0x0014) => AccessKeyA,
            (Ap::Ticket, 0x0015) => AccessKeyB,
            (Ap::Ticket, 0x0001) => MyNumber,
            (Ap::Ticket, 0x0002) => Facts,
            (Ap::Ticket, 0x0003) => TicketSignature,
            _ => return None,
        })
    }

    /// The file's kind and access rule.
    pub(crate) fn kind(self) -> EfKind {
        use CredentialId as C;
        match self {
            Ef::TokenInfo
            | Ef::UiCertificate
            | Ef::UiCaCertificate
            | Ef::SignatureCaCertificate => EfKind::Data(FREE),
            Ef::SignatureCertificate => EfKind::Data(&[C::SignaturePassword]),
            Ef::UiKey => EfKind::Key(KeyId::UserIdentification, C::UiPin),
            Ef::SignatureKey => EfKind::Key(KeyId::Signature, C::SignaturePassword),
            Ef::UiPin => EfKind::Credential(C::UiPin),
            Ef::SignaturePassword => EfKind::Credential(C::SignaturePassword),
            Ef::TicketPin => EfKind::Credential(C::TicketPin),
            Ef::AccessKeyA => EfKind::Credential(C::AccessKeyA),
            Ef::AccessKeyB => EfKind::Credential(C::AccessKeyB),
            // Key A is the My Number itself, so it may open the number; key B opens the facts only.
            Ef::MyNumber => EfKind::Data(&[C::TicketPin, C::AccessKeyA]),
            // J-LIS's signature over the facts opens with them.
            Ef::Facts | Ef::TicketSignature => {
                EfKind::Data(&[C::TicketPin, C::AccessKeyA, C::AccessKeyB])
            }
        }
    }
}
