//! The My Number Card, as the platform uses it.
//!
//! - [`apdu`]: the ISO/IEC 7816-4 codec — [`Command`] (short and extended, cases 1–4),
//!   [`Response`], [`StatusWord`].
//! - [`VirtualCard`]: a software My Number Card with the JPKI AP and the ticket-item entry support
//!   AP, faithful enough that OpenSC's `jpki` driver takes it for the real thing. Keys are generated
//!   inside it ([`VirtualCard::generate`]), certified by J-LIS, installed
//!   ([`VirtualCard::install_certificates`]); it is kept in a [`CardFile`].
//! - Transports behind [`Transport`]: [`MemoryTransport`], the [`vpcd`] bridge into pcscd, and
//!   `PcscTransport` for real readers (cargo feature `pcsc`, needs libpcsclite).
//! - [`JpkiCard`]: the client — certificates, tries left, PIN, challenge signatures, four facts.
//!
//! The card never panics on input, answers every APDU, and never shows a secret in `Debug`.

pub mod apdu;
mod card;
mod client;
mod digest_info;
mod secret;
mod store;
/// For the fuzzer only (`fuzz/`).
#[cfg(fuzzing)]
pub use mykey_pki::ticket::tlv::fuzz as fuzz_tlv;
mod transport;

pub use apdu::{ApduError, Command, Response, StatusWord};
pub use card::{
    ATR, CONFIRMATION_AID, CardError, CardFace, CardSecrets, CardSummary, CertificateFile,
    Certificates, CredentialId, JPKI_AID, PublicKeys, RESIDENT_REGISTRY_AID, RetryCount,
    TICKET_AID, VirtualCard,
};
pub use client::{ClientError, FactsAccess, JpkiCard, MAX_FILE_LEN};
pub use digest_info::HashAlgorithm;
pub use mykey_pki::ticket::tlv::TlvError;
pub use mykey_pki::ticket::{FactsError, TicketFacts, TicketSignature, TicketSignatureError};
pub use secret::{
    AccessKey, MyNumber, Pin, SecretError, SecretKind, SecurityCode, SignaturePassword,
};
pub use store::{CardFile, CardFileError, CardFileLock, CardStore, NoStore};
#[cfg(feature = "pcsc")]
pub use transport::PcscTransport;
pub use transport::{MemoryTransport, Transport, TransportError, vpcd};
