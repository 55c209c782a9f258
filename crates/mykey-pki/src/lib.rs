//! JPKI — the public-key infrastructure behind the My Number Card — as the platform needs it.
//!
//! - Typed certificates: [`UserIdentificationCertificate`] (identified by its [`IssuanceNumber`]) and
//!   [`SignatureCertificate`] (which also carries the [`FourFacts`]); a value that exists has passed the
//!   JPKI profile checks.
//! - [`TrustAnchors`]: one set per [`Purpose`], several CA generations under one name, the issuer
//!   chosen by key identifier, validity checked at a time that is passed in.
//! - Challenge verification exactly as the card signs ([`verify_challenge`]).
//! - OCSP (RFC 6960): [`ocsp::OcspRequest`] builder, response verification, and an HTTP client.
//! - CRLs (RFC 5280): [`Crl`] parsing and verification, full and delta, and the
//!   [`RevocationIndex`] built from them for national-scale look-ups.
//! - [`issue`]: the CA side (certificates, CRLs, OCSP responses), used by the J-LIS simulator and by
//!   tests to make fixtures.
//!
//! - [`ticket`]: the ticket-item AP's four facts (file `0002`) and J-LIS's signature over them
//!   (file `0003`).
//! - [`SealingKey`]: secrets kept in a database sealed with a key kept outside it.
//!
//! Nothing here reads a clock: every check takes the time as a [`UnixTime`].

mod cache;
mod cert;
mod clock;
mod crl;
mod der_util;
mod error;
mod facts;
mod index;
pub mod issue;
mod key;
pub mod ocsp;
pub mod oid;
mod seal;
mod serial;
pub mod ticket;
mod time;
mod trust;

pub use cache::VerifiedCertificates;
pub use cert::{
    CaCertificate, Purpose, SignatureCertificate, UserIdentificationCertificate, verify_challenge,
};
pub use clock::{Clock, ManualClock, Rng, SeededRng, SystemClock, SystemRng};
pub use crl::{Crl, CrlEntry, CrlKind, RevocationReason};
pub use der_util::{pem_blocks, to_pem};
pub use error::{Error, InputKind, SignedObject};
pub use facts::{BirthDate, Era, FourFacts, MAX_ADDRESS_CHARS, MAX_NAME_CHARS, Sex};
pub use index::{RevocationIndex, RevocationStatus};
pub use key::RsaPublicKey;
pub use seal::{SEALING_KEY_LEN, SealError, SealingKey};
pub use serial::IssuanceNumber;
pub use time::UnixTime;
pub use trust::TrustAnchors;

/// Largest certificate accepted, in bytes of DER. JPKI certificates are about 1.5 KiB.
pub const MAX_CERTIFICATE_LEN: usize = 16 * 1024;
/// Largest OCSP request or response accepted, in bytes of DER.
pub const MAX_OCSP_LEN: usize = 64 * 1024;
/// Largest CRL accepted, in bytes of DER: room for some 10 million entries.
pub const MAX_CRL_LEN: usize = 512 * 1024 * 1024;
