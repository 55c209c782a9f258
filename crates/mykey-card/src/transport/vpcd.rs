//! The bridge to vsmartcard's `vpcd` reader driver for pcscd (Debian `vsmartcard-vpcd`): the
//! virtual card connects as a TCP client to the driver's port (default `127.0.0.1:35963`, reader
//! `Virtual PCD 00 00`), and from then on every PC/SC program sees a card in that reader.
//!
//! Framing, both ways: a 2-byte big-endian length, then the payload. A 1-byte payload from the
//! driver is a control message — `00` power off, `01` power on, `02` reset, `04` get ATR (the only
//! one answered: with the ATR) — anything longer is a command APDU, answered with data ‖ SW1 SW2.
//! When the connection closes the reader shows no card.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};

use crate::store::{CardFileError, CardStore};
use crate::transport::MemoryTransport;

/// vpcd's default port for the first reader, on this machine.
pub const DEFAULT_ADDR: &str = "127.0.0.1:35963";

const POWER_OFF: u8 = 0x00;
const POWER_ON: u8 = 0x01;
const RESET: u8 = 0x02;
const GET_ATR: u8 = 0x04;

/// Why the bridge stopped other than by the connection closing.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    /// The driver's port could not be reached.
    #[error("cannot connect to vpcd at {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: String,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// The connection failed mid-way.
    #[error("vpcd connection: {0}")]
    Io(#[from] io::Error),
    /// The card's state could not be saved: it answered `65 81` (memory failure) and left the
    /// reader rather than go on with state it cannot keep.
    #[error("card state not saved: {0}")]
    Store(#[from] CardFileError),
}

/// A connection to vpcd, made but not yet serving.
#[derive(Debug)]
pub struct Vpcd {
    stream: TcpStream,
}

/// Stops a serving [`Vpcd`] from another thread (the card leaves the reader).
#[derive(Debug)]
pub struct VpcdStopper {
    stream: TcpStream,
}

impl VpcdStopper {
    /// Closes the connection; [`Vpcd::serve`] then returns `Ok`.
    pub fn stop(&self) {
        // Already closed is as good as closed.
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl Vpcd {
    /// Connects to the driver at `addr` (e.g. [`DEFAULT_ADDR`]).
    pub fn connect(addr: impl ToSocketAddrs + std::fmt::Display) -> Result<Self, VpcdError> {
        let stream = TcpStream::connect(&addr).map_err(|source| VpcdError::Connect {
            addr: addr.to_string(),
            source,
        })?;
        stream.set_nodelay(true)?;
        Ok(Self { stream })
    }

    /// A handle that ends [`Vpcd::serve`] from elsewhere.
    pub fn stopper(&self) -> Result<VpcdStopper, VpcdError> {
        Ok(VpcdStopper {
            stream: self.stream.try_clone()?,
        })
    }

    /// Serves `card` until the connection closes (driver gone, or [`VpcdStopper::stop`]).
    pub fn serve<S: CardStore>(mut self, card: &mut MemoryTransport<S>) -> Result<(), VpcdError> {
        let mut buf = vec![0u8; usize::from(u16::MAX)];
        loop {
            let mut len = [0u8; 2];
            self.ack_quickly();
            match self.stream.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if closed(&e) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            let msg = &mut buf[..usize::from(u16::from_be_bytes(len))];
            self.ack_quickly();
            match self.stream.read_exact(msg) {
                Ok(()) => {}
                Err(e) if closed(&e) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            match *msg {
                [] => {}
                [POWER_OFF] | [POWER_ON] | [RESET] => card.reset(),
                [GET_ATR] => self.send(card.card().atr())?,
                // Unknown control messages are ignored, as vpcd's own virtual cards do.
                [_] => {}
                _ => match card.answer(msg) {
                    Ok(response) => self.send(&response)?,
                    Err(e) => {
                        self.send(&crate::apdu::StatusWord::MemoryFailure.to_bytes())?;
                        return Err(e.into());
                    }
                },
            }
        }
    }

    /// vpcd writes a message's length and its payload with two `send`s and Nagle's algorithm on:
    /// its payload waits for our ACK of the length, which Linux would delay by 40 ms. Asking for
    /// quick ACKs before every read keeps an APDU round trip well under a millisecond.
    fn ack_quickly(&self) {
        #[cfg(target_os = "linux")]
        {
            // Only latency depends on it; a socket refusing the option still works.
            let _ = socket2::SockRef::from(&self.stream).set_tcp_quickack(true);
        }
    }

    fn send(&mut self, payload: &[u8]) -> io::Result<()> {
        let len = u16::try_from(payload.len())
            .map_err(|_| io::Error::other("response longer than 65535 bytes"))?;
        let mut frame = Vec::with_capacity(payload.len() + 2);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame)
    }
}

fn closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

/// Connects to vpcd at `addr` and serves `card` until the connection closes.
pub fn run<S: CardStore>(
    card: &mut MemoryTransport<S>,
    addr: impl ToSocketAddrs + std::fmt::Display,
) -> Result<(), VpcdError> {
    Vpcd::connect(addr)?.serve(card)
}
