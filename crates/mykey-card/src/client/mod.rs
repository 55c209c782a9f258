//! The card client: what the platform does with a My Number Card, over any [`Transport`] — read
//! the certificates, ask the tries left, verify a PIN, sign a challenge with the user-identification
//! key, read the four facts. Each operation starts by selecting its application, so operations do
//! not depend on one another (and a PIN verified by one does not carry over to the next).

mod error;

pub use error::ClientError;

use crate::apdu::{Command, MAX_SHORT_LE, Response, StatusWord};
use crate::card::{CertificateFile, CredentialId, JPKI_AID, TICKET_AID};
use crate::digest_info;
use crate::secret::{AccessKey, Pin, SignaturePassword};
use crate::transport::Transport;
use mykey_pki::ticket::tlv;
use mykey_pki::ticket::{TicketFacts, TicketSignature};

/// Largest file the client reads: certificates are about 1.5 KiB, the facts under 1 KiB.
pub const MAX_FILE_LEN: usize = mykey_pki::MAX_CERTIFICATE_LEN;
/// Bytes read first to learn a file's length (enough for `30 82 LL LL`, as OpenSC reads it).
const HEADER_LEN: usize = 4;
/// GET RESPONSE / wrong-Le retries allowed per command (a card cannot loop the client).
const MAX_CONTINUATIONS: usize = 64;

/// How the four facts are unlocked.
#[derive(Clone, Copy, Debug)]
pub enum FactsAccess<'a> {
    /// The ticket-item PIN (file `0011`).
    Pin(&'a Pin),
    /// Access key B (file `0015`), the PIN-less route.
    AccessKey(&'a AccessKey),
}

/// A My Number Card behind a transport.
#[derive(Debug)]
pub struct JpkiCard<T: Transport> {
    transport: T,
}

/// Where a credential lives.
fn credential_file(id: CredentialId) -> (&'static [u8], u16) {
    match id {
        CredentialId::UiPin => (&JPKI_AID, 0x0018),
        CredentialId::SignaturePassword => (&JPKI_AID, 0x001B),
        CredentialId::TicketPin => (&TICKET_AID, 0x0011),
        CredentialId::AccessKeyA => (&TICKET_AID, 0x0014),
        CredentialId::AccessKeyB => (&TICKET_AID, 0x0015),
    }
}

impl<T: Transport> JpkiCard<T> {
    /// A client over `transport`.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// The transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// The transport.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// The token label of file `0006` (`JPKIAPICCTOKEN2` for a My Number Card), spaces trimmed.
    pub fn token_label(&mut self) -> Result<String, ClientError> {
        self.select_aid(&JPKI_AID)?;
        self.select_ef(0x0006)?;
        let label = self.read_binary(0, 32)?;
        Ok(String::from_utf8_lossy(&label).trim_end().to_owned())
    }

    /// A free certificate file (DER). The signature certificate needs its password: use
    /// [`JpkiCard::read_signature_certificate`] (here the card answers `69 82`).
    pub fn read_certificate(&mut self, which: CertificateFile) -> Result<Vec<u8>, ClientError> {
        self.select_aid(&JPKI_AID)?;
        self.select_ef(which.fid())?;
        self.read_object()
    }

    /// The signature certificate, after verifying the signature password.
    pub fn read_signature_certificate(
        &mut self,
        password: &SignaturePassword,
    ) -> Result<Vec<u8>, ClientError> {
        self.select_aid(&JPKI_AID)?;
        self.verify_in_ap(
            CredentialId::SignaturePassword,
            password.expose().as_bytes(),
        )?;
        self.select_ef(CertificateFile::Signature.fid())?;
        self.read_object()
    }

    /// Tries left for `credential`, asked without using one (VERIFY with no data).
    pub fn tries_left(&mut self, credential: CredentialId) -> Result<u8, ClientError> {
        let (aid, fid) = credential_file(credential);
        self.select_aid(aid)?;
        self.select_ef(fid)?;
        let r = self.exchange("VERIFY (tries left)", Command::new(0x00, 0x20, 0x00, 0x80))?;
        match r.sw {
            StatusWord::VerificationFailed { tries_left } => Ok(tries_left),
            sw => Err(ClientError::Card {
                command: "VERIFY (tries left)",
                sw,
            }),
        }
    }

    /// Checks the user-identification PIN (a wrong one uses a try).
    pub fn verify_pin(&mut self, pin: &Pin) -> Result<(), ClientError> {
        self.select_aid(&JPKI_AID)?;
        self.verify_in_ap(CredentialId::UiPin, pin.expose().as_bytes())
    }

    /// Signs `challenge` with the user-identification key: verifies `pin`, selects key `0017`, and
    /// has the card sign the SHA-256 DigestInfo of `challenge`. The result verifies as
    /// RSASSA-PKCS1-v1_5 with SHA-256 ([`mykey_pki::verify_challenge`]).
    pub fn sign_challenge(&mut self, pin: &Pin, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.select_aid(&JPKI_AID)?;
        self.verify_in_ap(CredentialId::UiPin, pin.expose().as_bytes())?;
        self.select_ef(0x0017)?;
        self.compute_signature(&digest_info::sha256_of(challenge))
    }

    /// Signs `message` with the signature key (file `001A`) after the signature password:
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    pub fn sign_with_signature_key(
        &mut self,
        password: &SignaturePassword,
        message: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        self.select_aid(&JPKI_AID)?;
        self.verify_in_ap(
            CredentialId::SignaturePassword,
            password.expose().as_bytes(),
        )?;
        self.select_ef(0x001A)?;
        self.compute_signature(&digest_info::sha256_of(message))
    }

    /// The four facts of the ticket-item AP, unlocked by its PIN or by access key B.
    pub fn read_facts(&mut self, access: FactsAccess<'_>) -> Result<TicketFacts, ClientError> {
        self.select_aid(&TICKET_AID)?;
        match access {
            FactsAccess::Pin(pin) => {
                self.verify_in_ap(CredentialId::TicketPin, pin.expose().as_bytes())?
            }
            FactsAccess::AccessKey(key) => {
                self.verify_in_ap(CredentialId::AccessKeyB, key.expose().as_bytes())?
            }
        }
        self.select_ef(0x0002)?;
        Ok(TicketFacts::from_tlv(&self.read_object()?)?)
    }

    /// What the PIN-less route of Terms Art 20.2 sends the platform from the ticket-item AP:
    /// file `0002` exactly as read, and J-LIS's signature over it from file `0003` (without the
    /// My Number digest, which stays on the card). Unlocked by the ticket-item PIN or key B; the
    /// My Number file is never read.
    pub fn read_ticket_items(
        &mut self,
        access: FactsAccess<'_>,
    ) -> Result<(Vec<u8>, TicketSignature), ClientError> {
        self.read_facts(access)?;
        self.select_ef(0x0002)?;
        let facts_file = self.read_object()?;
        self.select_ef(0x0003)?;
        let signature = TicketSignature::from_file(&self.read_object()?)?;
        Ok((facts_file, signature))
    }

    fn compute_signature(&mut self, digest_info: &[u8]) -> Result<Vec<u8>, ClientError> {
        const CMD: &str = "COMPUTE DIGITAL SIGNATURE";
        let r = self.exchange(
            CMD,
            Command::new(0x80, 0x2A, 0x00, 0x80)
                .with_data(digest_info)
                .with_le(MAX_SHORT_LE),
        )?;
        match r.sw {
            StatusWord::Ok if r.data.len() == 256 => Ok(r.data),
            StatusWord::Ok => Err(ClientError::Malformed {
                command: CMD,
                reason: "signature is not 256 bytes",
            }),
            sw => Err(ClientError::Card { command: CMD, sw }),
        }
    }

    fn verify_in_ap(&mut self, credential: CredentialId, value: &[u8]) -> Result<(), ClientError> {
        self.select_ef(credential_file(credential).1)?;
        let command = Command::new(0x00, 0x20, 0x00, 0x80).with_data(value);
        let r = self.exchange("VERIFY", command)?;
        match r.sw {
            StatusWord::Ok => Ok(()),
            StatusWord::VerificationFailed { tries_left: 0 }
            | StatusWord::AuthenticationBlocked
            | StatusWord::ReferenceDataNotUsable => Err(ClientError::Blocked { credential }),
            StatusWord::VerificationFailed { tries_left } => Err(ClientError::WrongPin {
                credential,
                tries_left,
            }),
            sw => Err(ClientError::Card {
                command: "VERIFY",
                sw,
            }),
        }
    }

    fn select_aid(&mut self, aid: &[u8]) -> Result<(), ClientError> {
        let command = if aid == JPKI_AID {
            "SELECT JPKI AP"
        } else {
            "SELECT ticket-item AP"
        };
        self.expect_ok(command, Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid))
    }

    fn select_ef(&mut self, fid: u16) -> Result<(), ClientError> {
        self.expect_ok(
            "SELECT EF",
            Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(fid.to_be_bytes()),
        )
    }

    fn expect_ok(&mut self, command: &'static str, c: Command) -> Result<(), ClientError> {
        match self.exchange(command, c)?.sw {
            StatusWord::Ok => Ok(()),
            sw => Err(ClientError::Card { command, sw }),
        }
    }

    /// Reads the BER-TLV object filling the current EF: its header first, then the rest.
    fn read_object(&mut self) -> Result<Vec<u8>, ClientError> {
        const CMD: &str = "READ BINARY";
        let mut data = self.read_binary(0, HEADER_LEN)?;
        let total = match tlv::object_len(&data) {
            Some(n) => n,
            // A longer tag or length form: a few more header bytes settle it.
            None => {
                let more = self.read_binary(data.len(), 4)?;
                data.extend_from_slice(&more);
                tlv::object_len(&data).ok_or(ClientError::Malformed {
                    command: CMD,
                    reason: "file does not start with a TLV header",
                })?
            }
        };
        if total > MAX_FILE_LEN {
            return Err(ClientError::Malformed {
                command: CMD,
                reason: "file longer than the client reads",
            });
        }
        data.truncate(total);
        while data.len() < total {
            let chunk = self.read_binary(data.len(), (total - data.len()).min(MAX_SHORT_LE))?;
            if chunk.is_empty() {
                return Err(ClientError::Malformed {
                    command: CMD,
                    reason: "file shorter than its header says",
                });
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data)
    }

    /// READ BINARY of up to `len` bytes at `offset`; fewer only at the end of the file (`62 82`).
    fn read_binary(&mut self, offset: usize, len: usize) -> Result<Vec<u8>, ClientError> {
        const CMD: &str = "READ BINARY";
        let offset = u16::try_from(offset).map_err(|_| ClientError::Malformed {
            command: CMD,
            reason: "offset above 65535",
        })?;
        let [p1, p2] = offset.to_be_bytes();
        let r = self.exchange(CMD, Command::new(0x00, 0xB0, p1, p2).with_le(len))?;
        match r.sw {
            StatusWord::Ok if r.data.len() == len => Ok(r.data),
            StatusWord::EndOfFile if r.data.len() < len => Ok(r.data),
            StatusWord::Ok | StatusWord::EndOfFile => Err(ClientError::Malformed {
                command: CMD,
                reason: "answer length differs from Le",
            }),
            sw => Err(ClientError::Card { command: CMD, sw }),
        }
    }

    /// One command, following `61 xx` (GET RESPONSE) and `6C xx` (repeat with Le = xx) as
    /// ISO/IEC 7816-3/-4 transports may require.
    fn exchange(&mut self, command: &'static str, mut c: Command) -> Result<Response, ClientError> {
        let mut data = Vec::new();
        for _ in 0..MAX_CONTINUATIONS {
            let bytes = c
                .to_bytes()
                .map_err(|source| ClientError::Encode { command, source })?;
            let answer = self.transport.transmit(&bytes)?;
            let r = Response::parse(&answer).map_err(|_| ClientError::Malformed {
                command,
                reason: "answer without a status word",
            })?;
            data.extend_from_slice(&r.data);
            match r.sw {
                StatusWord::BytesAvailable(n) => {
                    c = Command::new(0x00, 0xC0, 0x00, 0x00).with_le(if n == 0 {
                        256
                    } else {
                        usize::from(n)
                    });
                }
                StatusWord::WrongLe { available } if c.le.is_some() && r.data.is_empty() => {
                    c.le = Some(if available == 0 {
                        256
                    } else {
                        usize::from(available)
                    });
                }
                sw => return Ok(Response::new(data, sw)),
            }
        }
        Err(ClientError::Malformed {
            command,
            reason: "too many continuations",
        })
    }
}
