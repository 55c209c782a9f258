//! The card's stored form, serialised as JSON by [`crate::CardFile`]: keys as base64 PKCS#8,
//! certificates as base64 DER, secrets in clear with their retry counters, the four facts. The
//! file is as secret as the card itself (mode 0600); these structures are zeroized on drop.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::VirtualCard;
use super::credential::{Credential, CredentialId};
use super::key::CardKey;
use super::lifecycle::{CardFace, CardSecrets, Certificates, Parts};
use crate::secret::{MyNumber, Pin, SecurityCode, SignaturePassword};
use crate::store::CardFileError;
use mykey_pki::ticket::{TicketFacts, TicketSignature};

/// The value of `format` this version writes and reads.
pub(crate) const FORMAT: &str = "mykey-card/1";

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub(crate) struct CardModel {
    format: String,
    jpki: JpkiModel,
    ticket: TicketModel,
}

#[derive(Serialize, Deserialize, Zeroize)]
#[serde(deny_unknown_fields)]
struct JpkiModel {
    user_identification_key: String,
    signature_key: String,
    pending_keys: Option<PendingModel>,
    #[zeroize(skip)]
    certificates: Option<CertificatesModel>,
    ui_pin: CredentialModel,
    sign_password: CredentialModel,
}

#[derive(Serialize, Deserialize, Zeroize)]
#[serde(deny_unknown_fields)]
struct PendingModel {
    user_identification_key: String,
    signature_key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificatesModel {
    user_identification: String,
    user_identification_ca: String,
    signature: String,
    signature_ca: String,
}

#[derive(Serialize, Deserialize, Zeroize)]
#[serde(deny_unknown_fields)]
struct CredentialModel {
    value: String,
    tries_left: u8,
}

#[derive(Serialize, Deserialize, Zeroize)]
#[serde(deny_unknown_fields)]
struct TicketModel {
    pin: CredentialModel,
    /// The My Number and the tries of key A.
    my_number: Option<CredentialModel>,
    access_key_b: Option<FaceModel>,
    #[zeroize(skip)]
    facts: FactsModel,
    /// File `0003` (absent in files written before J-LIS signed the facts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[zeroize(skip)]
    signature: Option<TicketSignatureModel>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketSignatureModel {
    /// SHA-256 of file `0002`, hex.
    facts_digest: String,
    /// The ID J-LIS gave this writing of the data, hex.
    item_id: String,
    /// J-LIS's signature, base64.
    signature: String,
}

#[derive(Serialize, Deserialize, Zeroize)]
#[serde(deny_unknown_fields)]
struct FaceModel {
    expiry_year: u16,
    security_code: String,
    tries_left: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsModel {
    name: String,
    address: String,
    /// `YYYY-MM-DD`.
    birth_date: String,
    /// ISO 5218: 1, 2 or 9.
    sex: u8,
}

fn invalid(field: &'static str, reason: impl ToString) -> CardFileError {
    CardFileError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

fn encode_key(key: &CardKey) -> Result<String, CardFileError> {
    let der = key.to_pkcs8().map_err(|p| invalid("key", p.reason()))?;
    Ok(B64.encode(&*der))
}

fn decode_key(field: &'static str, b64: &str) -> Result<CardKey, CardFileError> {
    let der = Zeroizing::new(B64.decode(b64).map_err(|e| invalid(field, e))?);
    CardKey::from_pkcs8(&der).map_err(|p| invalid(field, p.reason()))
}

fn decode_der(field: &'static str, b64: &str) -> Result<Vec<u8>, CardFileError> {
    B64.decode(b64).map_err(|e| invalid(field, e))
}

fn credential(c: &Credential) -> CredentialModel {
    CredentialModel {
        value: c.secret().as_str().to_owned(),
        tries_left: c.count().left,
    }
}

impl VirtualCard {
    pub(crate) fn to_model(&self) -> Result<CardModel, CardFileError> {
        let certificates = self.certificates.as_ref().map(|c| CertificatesModel {
            user_identification: B64.encode(&c.user_identification),
            user_identification_ca: B64.encode(&c.user_identification_ca),
            signature: B64.encode(&c.signature),
            signature_ca: B64.encode(&c.signature_ca),
        });
        let pending_keys = match &self.pending {
            Some(p) => Some(PendingModel {
                user_identification_key: encode_key(&p.ui)?,
                signature_key: encode_key(&p.sig)?,
            }),
            None => None,
        };
        let access_key_b = match (&self.face, &self.key_b) {
            (Some(face), Some(key)) => Some(FaceModel {
                expiry_year: face.expiry_year,
                security_code: face.security_code.expose().to_owned(),
                tries_left: key.count().left,
            }),
            _ => None,
        };
        let facts = &self.facts;
        Ok(CardModel {
            format: FORMAT.to_owned(),
            jpki: JpkiModel {
                user_identification_key: encode_key(&self.keys.ui)?,
                signature_key: encode_key(&self.keys.sig)?,
                pending_keys,
                certificates,
                ui_pin: credential(&self.ui_pin),
                sign_password: credential(&self.sign_password),
            },
            ticket: TicketModel {
                pin: credential(&self.ticket_pin),
                my_number: self.key_a.as_ref().map(credential),
                access_key_b,
                facts: FactsModel {
                    name: facts.name().to_owned(),
                    address: facts.address().to_owned(),
                    birth_date: facts
                        .birth_date()
                        .format(format_description!("[year]-[month]-[day]"))
                        .map_err(|e| invalid("ticket.facts.birth_date", e))?,
                    sex: facts.sex().iso5218(),
                },
                signature: self
                    .ticket_signature
                    .as_ref()
                    .map(|s| TicketSignatureModel {
                        facts_digest: hex::encode(s.facts_digest()),
                        item_id: hex::encode(s.item_id()),
                        signature: B64.encode(s.signature()),
                    }),
            },
        })
    }

    pub(crate) fn from_model(model: &CardModel) -> Result<Self, CardFileError> {
        if model.format != FORMAT {
            return Err(invalid("format", format!("expected {FORMAT}")));
        }
        let (jpki, ticket) = (&model.jpki, &model.ticket);
        let certificates = match &jpki.certificates {
            Some(c) => Some(Certificates {
                user_identification: decode_der(
                    "jpki.certificates.user_identification",
                    &c.user_identification,
                )?,
                user_identification_ca: decode_der(
                    "jpki.certificates.user_identification_ca",
                    &c.user_identification_ca,
                )?,
                signature: decode_der("jpki.certificates.signature", &c.signature)?,
                signature_ca: decode_der("jpki.certificates.signature_ca", &c.signature_ca)?,
            }),
            None => None,
        };
        let pending = match &jpki.pending_keys {
            Some(p) => Some((
                decode_key(
                    "jpki.pending_keys.user_identification_key",
                    &p.user_identification_key,
                )?,
                decode_key("jpki.pending_keys.signature_key", &p.signature_key)?,
            )),
            None => None,
        };
        let f = &ticket.facts;
        let birth = time::Date::parse(&f.birth_date, format_description!("[year]-[month]-[day]"))
            .map_err(|e| invalid("ticket.facts.birth_date", e))?;
        let sex = mykey_pki::Sex::from_iso5218(f.sex)
            .ok_or_else(|| invalid("ticket.facts.sex", "not 1, 2 or 9"))?;
        let facts = TicketFacts::new(&f.name, &f.address, birth, sex)
            .map_err(|e| invalid("ticket.facts", e))?;
        let ticket_signature = match &ticket.signature {
            Some(s) => {
                let bad = |e: &dyn std::fmt::Display| invalid("ticket.signature", e.to_string());
                Some(
                    TicketSignature::from_text(&s.facts_digest, &s.item_id, &s.signature)
                        .map_err(|e| bad(&e))?,
                )
            }
            None => None,
        };
        let face = match &ticket.access_key_b {
            Some(b) => Some(CardFace {
                expiry_year: b.expiry_year,
                security_code: SecurityCode::new(&b.security_code)
                    .map_err(|e| invalid("ticket.access_key_b.security_code", e))?,
            }),
            None => None,
        };
        let mut secrets = CardSecrets::new(
            Pin::new(&jpki.ui_pin.value).map_err(|e| invalid("jpki.ui_pin", e))?,
            SignaturePassword::new(&jpki.sign_password.value)
                .map_err(|e| invalid("jpki.sign_password", e))?,
            facts,
        );
        secrets.ticket_pin =
            Some(Pin::new(&ticket.pin.value).map_err(|e| invalid("ticket.pin", e))?);
        secrets.my_number = match &ticket.my_number {
            Some(n) => Some(MyNumber::new(&n.value).map_err(|e| invalid("ticket.my_number", e))?),
            None => None,
        };
        secrets.face = face;
        let mut tries = vec![
            (CredentialId::UiPin, jpki.ui_pin.tries_left),
            (
                CredentialId::SignaturePassword,
                jpki.sign_password.tries_left,
            ),
            (CredentialId::TicketPin, ticket.pin.tries_left),
        ];
        tries.extend(
            ticket
                .my_number
                .as_ref()
                .map(|n| (CredentialId::AccessKeyA, n.tries_left)),
        );
        tries.extend(
            ticket
                .access_key_b
                .as_ref()
                .map(|b| (CredentialId::AccessKeyB, b.tries_left)),
        );
        let card = VirtualCard::assemble(Parts {
            keys: (
                decode_key(
                    "jpki.user_identification_key",
                    &jpki.user_identification_key,
                )?,
                decode_key("jpki.signature_key", &jpki.signature_key)?,
            ),
            pending,
            certificates,
            secrets,
            ticket_signature,
            tries,
        })
        .map_err(CardFileError::Card)?;
        Ok(card)
    }
}
