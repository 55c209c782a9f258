//! ISO/IEC 7816-4 application protocol data units: the command codec (§5.1, short and extended
//! lengths, cases 1–4), the response (§5.1, data ‖ SW1 SW2) and the status words (§5.6).

mod command;
mod response;
mod status;

pub use command::{Command, MAX_EXTENDED_DATA, MAX_EXTENDED_LE, MAX_SHORT_DATA, MAX_SHORT_LE};
pub use response::Response;
pub use status::StatusWord;

/// Why bytes are not an APDU, or a [`Command`] cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    /// Fewer bytes than the four-byte header (command) or the two-byte status word (response).
    #[error("APDU of {len} bytes is shorter than its {min}-byte minimum")]
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes required.
        min: usize,
    },
    /// The body's length matches none of the cases that its first length byte announces.
    #[error("APDU body of {body} bytes does not match its length fields")]
    InconsistentLength {
        /// Bytes after the header.
        body: usize,
    },
    /// An extended Lc of zero (ISO 7816-4 §5.1 forbids it: the body would be an Le).
    #[error("extended Lc is zero")]
    ZeroExtendedLc,
    /// Command data longer than an extended Lc can announce.
    #[error("command data of {len} bytes exceeds {max}")]
    DataTooLong {
        /// Bytes of data.
        len: usize,
        /// Largest encodable.
        max: usize,
    },
    /// An expected length of zero or above 65536: Le fields cannot express it.
    #[error("expected length {le} cannot be encoded (1..=65536)")]
    LeOutOfRange {
        /// The requested Ne.
        le: usize,
    },
}
