//! The PC/SC transport (feature `pcsc`): a real card in a real reader — or a virtual one in
//! vpcd's reader — through pcsc-lite and the `pcsc` crate.

use std::ffi::CString;

use pcsc::{Context, Protocols, Scope, ShareMode};

use super::{Transport, TransportError};

/// A card in a PC/SC reader, connected in shared mode.
pub struct PcscTransport {
    card: pcsc::Card,
    reader: String,
    buf: Vec<u8>,
}

impl std::fmt::Debug for PcscTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscTransport")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

fn pcsc_err(operation: &'static str) -> impl Fn(pcsc::Error) -> TransportError {
    move |e| TransportError::Pcsc {
        operation,
        source: Box::new(e),
    }
}

impl PcscTransport {
    /// The readers pcscd knows.
    pub fn readers() -> Result<Vec<String>, TransportError> {
        let ctx = Context::establish(Scope::User).map_err(pcsc_err("establish"))?;
        match ctx.list_readers_owned() {
            Ok(names) => Ok(names
                .into_iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect()),
            Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
            Err(e) => Err(pcsc_err("list readers")(e)),
        }
    }

    /// Connects to the card in the reader named `reader`, or, with `None`, in the first reader
    /// that has one.
    pub fn connect(reader: Option<&str>) -> Result<Self, TransportError> {
        let ctx = Context::establish(Scope::User).map_err(pcsc_err("establish"))?;
        let names = match ctx.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(pcsc_err("list readers")(e)),
        };
        let candidates: Vec<CString> = match reader {
            Some(want) => names
                .into_iter()
                .filter(|n| n.to_string_lossy() == want)
                .collect(),
            None => names,
        };
        if candidates.is_empty() {
            return Err(TransportError::NoReader {
                name: reader.unwrap_or_default().to_owned(),
            });
        }
        let mut last = None;
        for name in &candidates {
            let shown = name.to_string_lossy().into_owned();
            match ctx.connect(name, ShareMode::Shared, Protocols::ANY) {
                Ok(card) => {
                    return Ok(Self {
                        card,
                        reader: shown,
                        buf: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
                    });
                }
                Err(pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard) => {
                    last = Some(TransportError::NoCard { reader: shown })
                }
                Err(e) => last = Some(pcsc_err("connect")(e)),
            }
        }
        Err(last.unwrap_or(TransportError::NoReader {
            name: String::new(),
        }))
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }
}

impl Transport for PcscTransport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self.card.transmit(apdu, &mut self.buf) {
            Ok(response) => Ok(response.to_vec()),
            Err(pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard) => {
                Err(TransportError::NoCard {
                    reader: self.reader.clone(),
                })
            }
            Err(e) => Err(pcsc_err("transmit")(e)),
        }
    }
}
