//! Making, certifying and renewing a card: the keys are generated inside it, their public halves
//! go to J-LIS, and the certificates J-LIS returns are installed (checked against the keys first).
//!
//! ```text
//! generate(secrets) → public_keys() → [J-LIS certifies] → install_certificates(…)
//! renew_keys()      → new keys pending, old ones still sign → install_certificates(…) swaps them
//! ```

use std::fmt;

use mykey_pki::{
    CaCertificate, Purpose, RsaPublicKey, SignatureCertificate, UserIdentificationCertificate,
};

use super::credential::{Credential, CredentialId, RetryCount};
use super::key::{CardKey, KeyProblem};
use super::{KeyPairs, Session, VirtualCard};
use crate::secret::{AccessKey, MyNumber, Pin, SecretError, SecurityCode, SignaturePassword};
use mykey_pki::ticket::TicketFacts;

/// What a new card is given. The ticket-item PIN defaults to the user-identification PIN, as
/// many holders choose.
#[derive(Clone, Debug)]
pub struct CardSecrets {
    /// User-identification PIN.
    pub ui_pin: Pin,
    /// Signature password.
    pub sign_password: SignaturePassword,
    /// Ticket-item PIN (`None`: the same as `ui_pin`).
    pub ticket_pin: Option<Pin>,
    /// The My Number, for file `0001` and key A of the ticket-item AP (`None`: neither exists).
    pub my_number: Option<MyNumber>,
    /// The four facts of the ticket-item AP.
    pub facts: TicketFacts,
    /// What is printed on the card's face, for access key B (`None`: key B does not exist).
    pub face: Option<CardFace>,
}

impl CardSecrets {
    /// The two JPKI secrets and the four facts; nothing else.
    pub fn new(ui_pin: Pin, sign_password: SignaturePassword, facts: TicketFacts) -> Self {
        Self {
            ui_pin,
            sign_password,
            ticket_pin: None,
            my_number: None,
            facts,
            face: None,
        }
    }
}

/// What the card's face shows that access key B is made of (with the birth date of the facts).
#[derive(Clone, Debug)]
pub struct CardFace {
    /// The year the card expires, four digits.
    pub expiry_year: u16,
    /// The 4-digit security code.
    pub security_code: SecurityCode,
}

/// SubjectPublicKeyInfo DER of the card's two keys, to be certified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeys {
    /// The user-identification key (file `0017`).
    pub user_identification: Vec<u8>,
    /// The signature key (file `001A`).
    pub signature: Vec<u8>,
}

/// The four certificates of the JPKI AP, DER.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificates {
    /// File `000A`.
    pub user_identification: Vec<u8>,
    /// File `000B`.
    pub user_identification_ca: Vec<u8>,
    /// File `0001` (readable after the signature password).
    pub signature: Vec<u8>,
    /// File `0002`.
    pub signature_ca: Vec<u8>,
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificates")
            .field("user_identification", &self.user_identification.len())
            .field("user_identification_ca", &self.user_identification_ca.len())
            .field("signature", &self.signature.len())
            .field("signature_ca", &self.signature_ca.len())
            .finish()
    }
}

/// One of the four certificate files, as OpenSC's PKCS#15 view numbers them (IDs 01–04).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertificateFile {
    /// ID 01, file `000A`.
    UserIdentification,
    /// ID 02, file `0001`, private.
    Signature,
    /// ID 03, file `000B`.
    UserIdentificationCa,
    /// ID 04, file `0002`.
    SignatureCa,
}

impl CertificateFile {
    /// The file identifier in the JPKI AP.
    pub fn fid(self) -> u16 {
        match self {
            Self::UserIdentification => 0x000A,
            Self::Signature => 0x0001,
            Self::UserIdentificationCa => 0x000B,
            Self::SignatureCa => 0x0002,
        }
    }
}

/// What `mykey card show` displays: no secrets.
#[derive(Clone, Debug)]
pub struct CardSummary {
    /// The installed certificates (`None` before the first certification).
    pub certificates: Option<Certificates>,
    /// Keys wait for certificates (a new card, or a renewal in progress).
    pub awaiting_certificates: bool,
    /// User-identification PIN tries.
    pub ui_pin: RetryCount,
    /// Signature password tries.
    pub sign_password: RetryCount,
    /// Ticket-item PIN tries.
    pub ticket_pin: RetryCount,
    /// Access key A tries, if the card has key A.
    pub access_key_a: Option<RetryCount>,
    /// Access key B tries, if the card has key B.
    pub access_key_b: Option<RetryCount>,
    /// The four facts of the ticket-item AP (personal data; not a secret of the card).
    pub facts: TicketFacts,
}

/// Why a card cannot be made, loaded or certified.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// A key could not be generated or used.
    #[error("card key: {reason}")]
    Key {
        /// What failed.
        reason: &'static str,
    },
    /// A secret does not have its format.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A certificate does not parse or does not fit the JPKI profile.
    #[error("{which:?} certificate: {source}")]
    Certificate {
        /// Which one.
        which: CertificateFile,
        /// Why.
        #[source]
        source: mykey_pki::Error,
    },
    /// J-LIS's ticket-item signature names other facts than this card's file `0002`.
    #[error("the ticket-item signature is not over this card's four facts")]
    TicketSignatureMismatch,
    /// A CA certificate is for the other purpose.
    #[error("{which:?} is a CA of the other purpose")]
    WrongPurpose {
        /// Which one.
        which: CertificateFile,
    },
    /// An end-entity certificate names another issuer key than its CA certificate's.
    #[error("{which:?} certificate was not issued by the CA certificate given with it")]
    NotIssuedBy {
        /// Which one.
        which: CertificateFile,
    },
    /// An end-entity certificate certifies a key this card does not hold (or the two certify
    /// keys of different generations).
    #[error("{which:?} certificate is not for a key of this card")]
    KeyMismatch {
        /// Which one.
        which: CertificateFile,
    },
}

impl From<KeyProblem> for CardError {
    fn from(p: KeyProblem) -> Self {
        CardError::Key { reason: p.reason() }
    }
}

impl KeyPairs {
    fn generate() -> Result<Self, CardError> {
        Ok(Self {
            ui: CardKey::generate()?,
            sig: CardKey::generate()?,
        })
    }

    pub(super) fn public(&self) -> PublicKeys {
        PublicKeys {
            user_identification: self.ui.spki().to_vec(),
            signature: self.sig.spki().to_vec(),
        }
    }
}

/// The parts a card is assembled from, fresh or loaded from its file.
pub(crate) struct Parts {
    pub(crate) keys: (CardKey, CardKey),
    pub(crate) pending: Option<(CardKey, CardKey)>,
    pub(crate) certificates: Option<Certificates>,
    pub(crate) secrets: CardSecrets,
    /// File `0003`, once J-LIS has written it.
    pub(crate) ticket_signature: Option<mykey_pki::ticket::TicketSignature>,
    /// Tries left per credential, for those stored (absent: full).
    pub(crate) tries: Vec<(CredentialId, u8)>,
}

impl VirtualCard {
    /// A new card: both RSA-2048 keys generated inside it, no certificates yet.
    pub fn generate(secrets: CardSecrets) -> Result<Self, CardError> {
        let keys = KeyPairs::generate()?;
        Self::assemble(Parts {
            keys: (keys.ui, keys.sig),
            pending: None,
            certificates: None,
            secrets,
            ticket_signature: None,
            tries: Vec::new(),
        })
    }

    pub(crate) fn assemble(parts: Parts) -> Result<Self, CardError> {
        let Parts {
            keys,
            pending,
            certificates,
            secrets,
            ticket_signature,
            tries,
        } = parts;
        let left = |id: CredentialId| {
            tries
                .iter()
                .find(|(t, _)| *t == id)
                .map_or(id.max_tries(), |(_, n)| *n)
        };
        let cred = |id: CredentialId, secret: &crate::secret::Secret| {
            Credential::with_tries(id, secret.clone(), left(id))
        };
        let ticket_pin = secrets.ticket_pin.as_ref().unwrap_or(&secrets.ui_pin);
        let facts_file = secrets.facts.to_tlv();
        if ticket_signature
            .as_ref()
            .is_some_and(|s| !s.covers(&facts_file))
        {
            return Err(CardError::TicketSignatureMismatch);
        }
        let key_b = match &secrets.face {
            Some(face) => {
                let key = AccessKey::b(
                    secrets.facts.birth_date(),
                    face.expiry_year,
                    &face.security_code,
                )?;
                Some(cred(CredentialId::AccessKeyB, key.secret()))
            }
            None => None,
        };
        Ok(Self {
            keys: KeyPairs {
                ui: keys.0,
                sig: keys.1,
            },
            pending: pending.map(|(ui, sig)| KeyPairs { ui, sig }),
            certificates,
            ui_pin: cred(CredentialId::UiPin, secrets.ui_pin.secret()),
            sign_password: cred(
                CredentialId::SignaturePassword,
                secrets.sign_password.secret(),
            ),
            ticket_pin: cred(CredentialId::TicketPin, ticket_pin.secret()),
            key_a: secrets
                .my_number
                .as_ref()
                .map(|n| cred(CredentialId::AccessKeyA, n.secret())),
            key_b,
            facts_file,
            ticket_signature,
            facts: secrets.facts,
            my_number: secrets.my_number,
            face: secrets.face,
            session: Session::default(),
            state_changed: false,
        })
    }

    /// The keys the card signs with now.
    pub fn public_keys(&self) -> PublicKeys {
        self.keys.public()
    }

    /// Keys from [`VirtualCard::renew_keys`] that wait for certificates.
    pub fn pending_public_keys(&self) -> Option<PublicKeys> {
        self.pending.as_ref().map(KeyPairs::public)
    }

    /// Renewal: generates two new keys. The current keys and certificates stay in use until
    /// [`VirtualCard::install_certificates`] is given certificates for the new ones. Calling it
    /// again replaces the pending keys.
    pub fn renew_keys(&mut self) -> Result<PublicKeys, CardError> {
        let keys = KeyPairs::generate()?;
        let public = keys.public();
        self.pending = Some(keys);
        Ok(public)
    }

    /// Installs the four certificates after checking them: JPKI profiles, CA purposes, issuer key
    /// identifiers, and both end-entity keys being this card's current or pending pair (pending
    /// keys then become current).
    pub fn install_certificates(&mut self, certificates: Certificates) -> Result<(), CardError> {
        let parse_err = |which| move |source| CardError::Certificate { which, source };
        let ui = UserIdentificationCertificate::from_der(&certificates.user_identification)
            .map_err(parse_err(CertificateFile::UserIdentification))?;
        let sig = SignatureCertificate::from_der(&certificates.signature)
            .map_err(parse_err(CertificateFile::Signature))?;
        for (which, der, purpose, aki) in [
            (
                CertificateFile::UserIdentificationCa,
                &certificates.user_identification_ca,
                Purpose::UserIdentification,
                ui.authority_key_id(),
            ),
            (
                CertificateFile::SignatureCa,
                &certificates.signature_ca,
                Purpose::Signature,
                sig.authority_key_id(),
            ),
        ] {
            let ca = CaCertificate::from_der(der).map_err(parse_err(which))?;
            if ca.purpose() != purpose {
                return Err(CardError::WrongPurpose { which });
            }
            if aki != Some(ca.key_id()) {
                let ee = match which {
                    CertificateFile::UserIdentificationCa => CertificateFile::UserIdentification,
                    _ => CertificateFile::Signature,
                };
                return Err(CardError::NotIssuedBy { which: ee });
            }
        }
        let holds = |key: &CardKey, cert: &RsaPublicKey| {
            RsaPublicKey::from_spki_der(key.spki()).is_ok_and(|k| k.pkcs1_der() == cert.pkcs1_der())
        };
        let fits = |pair: &KeyPairs| {
            holds(&pair.ui, ui.public_key()) && holds(&pair.sig, sig.public_key())
        };
        match self.pending.take() {
            Some(pending) if fits(&pending) => self.keys = pending,
            pending => {
                let ui_held = holds(&self.keys.ui, ui.public_key())
                    || pending
                        .as_ref()
                        .is_some_and(|p| holds(&p.ui, ui.public_key()));
                self.pending = pending;
                if !fits(&self.keys) {
                    let which = if ui_held {
                        CertificateFile::Signature
                    } else {
                        CertificateFile::UserIdentification
                    };
                    return Err(CardError::KeyMismatch { which });
                }
            }
        }
        self.certificates = Some(certificates);
        Ok(())
    }

    /// The installed certificates.
    pub fn certificates(&self) -> Option<&Certificates> {
        self.certificates.as_ref()
    }

    /// Writes file `0003`, J-LIS's signature over the card's four facts (at issue, and with the
    /// new facts after a change). Refused, changing nothing, if it is over other facts.
    pub fn install_ticket_signature(
        &mut self,
        signature: mykey_pki::ticket::TicketSignature,
    ) -> Result<(), CardError> {
        if !signature.covers(&self.facts_file) {
            return Err(CardError::TicketSignatureMismatch);
        }
        self.ticket_signature = Some(signature);
        Ok(())
    }

    /// File `0003`, if J-LIS has written it.
    pub fn ticket_signature(&self) -> Option<&mykey_pki::ticket::TicketSignature> {
        self.ticket_signature.as_ref()
    }

    /// The four facts of the ticket-item AP.
    pub fn facts(&self) -> &TicketFacts {
        &self.facts
    }

    /// Everything `show` may display: certificates, retry counters, facts; no secret.
    pub fn summary(&self) -> CardSummary {
        CardSummary {
            certificates: self.certificates.clone(),
            awaiting_certificates: self.certificates.is_none() || self.pending.is_some(),
            ui_pin: self.ui_pin.count(),
            sign_password: self.sign_password.count(),
            ticket_pin: self.ticket_pin.count(),
            access_key_a: self.key_a.as_ref().map(Credential::count),
            access_key_b: self.key_b.as_ref().map(Credential::count),
            facts: self.facts.clone(),
        }
    }

    /// The retry counter of `id`, if the card has that credential.
    pub fn retry_count(&self, id: CredentialId) -> Option<RetryCount> {
        self.credential(id).map(Credential::count)
    }
}
