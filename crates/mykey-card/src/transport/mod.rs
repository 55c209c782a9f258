//! How command APDUs reach a card: one [`Transport`] trait, one struct per way — in memory
//! ([`MemoryTransport`]), through a PC/SC reader ([`PcscTransport`], feature `pcsc`) — and the
//! [`vpcd`] bridge that puts a virtual card into pcscd's virtual reader for every PC/SC program.

mod memory;
#[cfg(feature = "pcsc")]
mod pcsc;
pub mod vpcd;

pub use memory::MemoryTransport;
#[cfg(feature = "pcsc")]
pub use pcsc::PcscTransport;

use crate::store::CardFileError;

/// Sends one command APDU and returns the response APDU (data ‖ SW1 SW2).
pub trait Transport {
    /// One command-response pair.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }
}

/// Why a command got no answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A virtual card's new state could not be saved, so its answer was withheld.
    #[error("card state not saved, answer withheld: {0}")]
    Store(#[source] CardFileError),
    /// No reader of that name (or none at all).
    #[error("no smart-card reader {name:?}")]
    NoReader {
        /// The reader asked for (empty: any).
        name: String,
    },
    /// The reader has no card, or the card was removed.
    #[error("no card in reader {reader:?}")]
    NoCard {
        /// The reader.
        reader: String,
    },
    /// The PC/SC service or reader failed.
    #[error("PC/SC {operation}: {source}")]
    Pcsc {
        /// What was being done (`establish`, `connect`, `transmit`, …).
        operation: &'static str,
        /// The PC/SC error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
