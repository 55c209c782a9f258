//! What can go wrong talking to a card, in the card's own terms.

use crate::apdu::{ApduError, StatusWord};
use crate::card::CredentialId;
use crate::transport::TransportError;
use mykey_pki::ticket::FactsError;

/// Why a card operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The PIN or password was wrong (`63 Cx`); `tries_left` more before it blocks.
    #[error("wrong {credential:?}: {tries_left} tries left")]
    WrongPin {
        /// Which credential.
        credential: CredentialId,
        /// Tries left (at least 1).
        tries_left: u8,
    },
    /// The credential has no tries left (`63 C0` on the last wrong try, `69 83` after); only a
    /// municipal office resets it.
    #[error("{credential:?} is blocked")]
    Blocked {
        /// Which credential.
        credential: CredentialId,
    },
    /// The card answered a status word that ends the operation.
    #[error("card answered {sw} to {command}")]
    Card {
        /// The command, e.g. `SELECT JPKI AP`.
        command: &'static str,
        /// The word.
        sw: StatusWord,
    },
    /// The card's answer is not what the command returns.
    #[error("unexpected answer to {command}: {reason}")]
    Malformed {
        /// The command.
        command: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The four facts file does not parse.
    #[error(transparent)]
    Facts(#[from] FactsError),
    /// File `0003` is not J-LIS's signature in the documented layout.
    #[error(transparent)]
    TicketSignature(#[from] mykey_pki::ticket::TicketSignatureError),
    /// A command could not be encoded (a bug in the client, kept as an error).
    #[error("cannot encode {command}: {source}")]
    Encode {
        /// The command.
        command: &'static str,
        /// Why.
        #[source]
        source: ApduError,
    },
    /// The transport failed; the card may not have seen the command.
    #[error(transparent)]
    Transport(#[from] TransportError),
}
