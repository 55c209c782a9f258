//! The ticket-item entry support AP's data (docs/jpki.md §6): the four facts of file `0002`
//! ([`TicketFacts`]) and J-LIS's signature over them in file `0003` ([`TicketSignature`]), in the
//! BER-TLV the card keeps them in ([`tlv`]). J-LIS writes both when it issues a card and when the
//! facts change; the card gives them out after its PIN or an access key (key B is the PIN-less
//! route of Terms Art 20.2).
//!
//! File `0003` as this project writes it (the real algorithm and coverage are unpublished):
//!
//! ```text
//! FF 30 L {
//!   DF 31 20  SHA-256 of file 0001 (the My Number); absent on a card without one
//!   DF 32 20  SHA-256 of file 0002 (the four facts)
//!   DF 34 10  the ID J-LIS gave this writing of the data: 16 random bytes
//!   DF 33 L   J-LIS's RSASSA-PKCS1-v1_5 SHA-256 signature over DF 32 ‖ DF 34 (48 bytes)
//! }
//! ```
//!
//! The signature leaves out the My Number digest, so that whoever checks the facts never needs
//! anything derived from the My Number: a digest of a 12-digit number is the number, to anyone
//! who tries them all. [`TicketSignature`] therefore never holds `DF 31`. The ID ties the
//! signature to one card of one person: two people with the same four facts (or a card made
//! with someone's facts) get different signatures, and J-LIS knows which ID each holder's card
//! carries now.

mod facts;
pub mod tlv;

use aws_lc_rs::digest::{SHA256, digest};

pub use facts::{FactsError, TicketFacts};

use tlv::TlvError;

const TAG_SIGNED: u32 = 0xFF30;
const TAG_MY_NUMBER_DIGEST: u32 = 0xDF31;
const TAG_FACTS_DIGEST: u32 = 0xDF32;
const TAG_SIGNATURE: u32 = 0xDF33;
const TAG_ITEM_ID: u32 = 0xDF34;

/// The length of the ID J-LIS gives each writing of a card's ticket-item data.
pub const TICKET_ITEM_ID_LEN: usize = 16;

/// The longest file `0002` accepted: a name of 100 and an address of 200 characters, four
/// bytes each in UTF-8, and the headers, fit well within it.
pub const MAX_FACTS_FILE_LEN: usize = 2048;

/// The longest signature accepted (RSA-4096); J-LIS's ticket-item key is RSA-2048.
pub const MAX_TICKET_SIGNATURE_LEN: usize = 512;

/// SHA-256 of the bytes of file `0002`.
pub fn facts_digest(facts_file: &[u8]) -> [u8; 32] {
    let d = digest(&SHA256, facts_file);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Why file `0003` cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TicketSignatureError {
    /// The file is not BER-TLV.
    #[error("ticket-item signature file is not BER-TLV: {0}")]
    Tlv(#[from] TlvError),
    /// A data object is missing or has the wrong length.
    #[error("ticket-item signature file: {reason}")]
    Invalid {
        /// Which rule failed.
        reason: &'static str,
    },
}

/// J-LIS's signature over a card's four facts: the facts digest (`DF 32`), the data's ID
/// (`DF 34`) and the signature (`DF 33`) of file `0003`, without the My Number digest.
#[derive(Clone, PartialEq, Eq)]
pub struct TicketSignature {
    facts_digest: [u8; 32],
    item_id: [u8; TICKET_ITEM_ID_LEN],
    signature: Vec<u8>,
}

impl std::fmt::Debug for TicketSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketSignature")
            .field("facts_digest", &hex::encode(self.facts_digest))
            .field("item_id", &hex::encode(self.item_id))
            .field("signature_len", &self.signature.len())
            .finish()
    }
}

impl TicketSignature {
    /// A facts digest and a signature; refused if the signature is empty or longer than
    /// [`MAX_TICKET_SIGNATURE_LEN`].
    pub fn new(
        facts_digest: [u8; 32],
        item_id: [u8; TICKET_ITEM_ID_LEN],
        signature: Vec<u8>,
    ) -> Result<Self, TicketSignatureError> {
        if signature.is_empty() || signature.len() > MAX_TICKET_SIGNATURE_LEN {
            return Err(TicketSignatureError::Invalid {
                reason: "signature empty or longer than 512 bytes",
            });
        }
        Ok(Self {
            facts_digest,
            item_id,
            signature,
        })
    }

    /// From the text form every JSON carrying it uses: the digest and the ID in hex, the
    /// signature in base64 (standard alphabet).
    pub fn from_text(
        facts_digest: &str,
        item_id: &str,
        signature: &str,
    ) -> Result<Self, TicketSignatureError> {
        use base64::Engine;
        let bad = |reason| TicketSignatureError::Invalid { reason };
        let facts_digest = hex::decode(facts_digest)
            .ok()
            .and_then(|d| <[u8; 32]>::try_from(d).ok())
            .ok_or(bad("facts_digest is not 32 bytes of hex"))?;
        let item_id = hex::decode(item_id)
            .ok()
            .and_then(|d| <[u8; TICKET_ITEM_ID_LEN]>::try_from(d).ok())
            .ok_or(bad("item_id is not 16 bytes of hex"))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| bad("signature is not base64"))?;
        Self::new(facts_digest, item_id, signature)
    }

    /// The text form: the digest and the ID in hex, the signature in base64.
    pub fn to_text(&self) -> (String, String, String) {
        use base64::Engine;
        (
            hex::encode(self.facts_digest),
            hex::encode(self.item_id),
            base64::engine::general_purpose::STANDARD.encode(&self.signature),
        )
    }

    /// J-LIS signs file `0002`, written with ID `item_id`, with its ticket-item key.
    pub fn sign(
        key: &crate::issue::SigningKey,
        facts_file: &[u8],
        item_id: [u8; TICKET_ITEM_ID_LEN],
    ) -> Self {
        let facts_digest = facts_digest(facts_file);
        let signature = key.sign(&signed_message(&facts_digest, &item_id));
        Self {
            facts_digest,
            item_id,
            signature,
        }
    }

    /// The ID J-LIS gave this writing of the data (`DF 34`).
    pub fn item_id(&self) -> &[u8; TICKET_ITEM_ID_LEN] {
        &self.item_id
    }

    /// The facts digest (`DF 32`).
    pub fn facts_digest(&self) -> &[u8; 32] {
        &self.facts_digest
    }

    /// The signature (`DF 33`).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Whether `facts_file` is the file this signature's digest names.
    pub fn covers(&self, facts_file: &[u8]) -> bool {
        // Both sides are public (the digest and the file travel together), so a plain
        // comparison leaks nothing.
        facts_digest(facts_file) == self.facts_digest
    }

    /// Checks the signature with J-LIS's ticket-item key.
    pub fn verify(&self, key: &crate::RsaPublicKey) -> Result<(), crate::Error> {
        key.verify(
            &signed_message(&self.facts_digest, &self.item_id),
            &self.signature,
            crate::SignedObject::TicketItems,
        )
    }

    /// The content of file `0003`, with the My Number digest when the card has a number.
    pub fn to_file(&self, my_number_digest: Option<&[u8; 32]>) -> Vec<u8> {
        let mut inner = Vec::with_capacity(self.signature.len() + 80);
        if let Some(d) = my_number_digest {
            tlv::write(&mut inner, TAG_MY_NUMBER_DIGEST, d);
        }
        tlv::write(&mut inner, TAG_FACTS_DIGEST, &self.facts_digest);
        tlv::write(&mut inner, TAG_ITEM_ID, &self.item_id);
        tlv::write(&mut inner, TAG_SIGNATURE, &self.signature);
        let mut out = Vec::with_capacity(inner.len() + 5);
        tlv::write(&mut out, TAG_SIGNED, &inner);
        out
    }

    /// Reads file `0003`, leaving out the My Number digest (never kept, never returned).
    pub fn from_file(bytes: &[u8]) -> Result<Self, TicketSignatureError> {
        let outer = tlv::single(bytes)?;
        if outer.tag != TAG_SIGNED {
            return Err(TicketSignatureError::Invalid {
                reason: "not an FF 30 object",
            });
        }
        let (mut digest, mut id, mut signature) = (None, None, None);
        for object in tlv::objects(outer.value) {
            let object = object?;
            match object.tag {
                TAG_FACTS_DIGEST => digest = Some(object.value),
                TAG_ITEM_ID => id = Some(object.value),
                TAG_SIGNATURE => signature = Some(object.value),
                _ => {}
            }
        }
        let facts_digest = digest.and_then(|d| <[u8; 32]>::try_from(d).ok()).ok_or(
            TicketSignatureError::Invalid {
                reason: "DF 32 missing or not 32 bytes",
            },
        )?;
        let item_id = id
            .and_then(|d| <[u8; TICKET_ITEM_ID_LEN]>::try_from(d).ok())
            .ok_or(TicketSignatureError::Invalid {
                reason: "DF 34 missing or not 16 bytes",
            })?;
        let signature = signature.ok_or(TicketSignatureError::Invalid {
            reason: "DF 33 missing",
        })?;
        Self::new(facts_digest, item_id, signature.to_vec())
    }
}

/// What J-LIS signs: the facts digest and the data's ID.
fn signed_message(digest: &[u8; 32], item_id: &[u8; TICKET_ITEM_ID_LEN]) -> [u8; 48] {
    let mut m = [0u8; 48];
    m[..32].copy_from_slice(digest);
    m[32..].copy_from_slice(item_id);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sex;
    use time::macros::date;

    fn facts_file() -> Vec<u8> {
        TicketFacts::new(
            "山田\u{3000}花子",
            "東京都",
            date!(1985 - 06 - 15),
            Sex::Female,
        )
        .unwrap()
        .to_tlv()
    }

    #[test]
    fn signed_by_jlis_and_checked_without_the_my_number() {
        let key = crate::issue::SigningKey::generate().unwrap();
        let file = facts_file();
        let s = TicketSignature::sign(&key, &file, [3; 16]);
        assert!(s.covers(&file));
        s.verify(key.public_key()).unwrap();
        let with_number = s.to_file(Some(&[7u8; 32]));
        let read = TicketSignature::from_file(&with_number).unwrap();
        assert_eq!(read, s);
        // The My Number digest is read past, never kept.
        assert!(!format!("{read:?}").contains(&hex::encode([7u8; 32])));
        assert_eq!(TicketSignature::from_file(&s.to_file(None)).unwrap(), s);
        let (d, i, g) = s.to_text();
        assert_eq!(TicketSignature::from_text(&d, &i, &g).unwrap(), s);
        assert!(TicketSignature::from_text(&d[2..], &i, &g).is_err());
        assert!(TicketSignature::from_text(&d, "00", &g).is_err());
        assert!(TicketSignature::from_text(&d, &i, "%").is_err());
    }

    #[test]
    fn another_file_or_key_or_a_changed_byte_fails() {
        let key = crate::issue::SigningKey::generate().unwrap();
        let other = crate::issue::SigningKey::generate().unwrap();
        let file = facts_file();
        let s = TicketSignature::sign(&key, &file, [3; 16]);
        // The same facts written to another card: another ID, another signature.
        let other_card = TicketSignature::sign(&key, &file, [4; 16]);
        assert_ne!(other_card.signature(), s.signature());
        let moved =
            TicketSignature::new(*s.facts_digest(), [4; 16], s.signature().to_vec()).unwrap();
        assert!(moved.verify(key.public_key()).is_err());
        let mut changed = file.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert!(!s.covers(&changed));
        assert!(s.verify(other.public_key()).is_err());
        let mut sig = s.signature().to_vec();
        sig[10] ^= 1;
        let forged = TicketSignature::new(*s.facts_digest(), [3; 16], sig).unwrap();
        assert!(forged.verify(key.public_key()).is_err());
    }

    #[test]
    fn hostile_files_are_refused() {
        assert!(TicketSignature::from_file(&[]).is_err());
        assert!(TicketSignature::from_file(&[0xFF, 0x30, 0x00]).is_err());
        let mut inner = Vec::new();
        tlv::write(&mut inner, TAG_FACTS_DIGEST, &[1u8; 31]);
        tlv::write(&mut inner, TAG_SIGNATURE, &[1u8; 256]);
        let mut out = Vec::new();
        tlv::write(&mut out, TAG_SIGNED, &inner);
        assert!(TicketSignature::from_file(&out).is_err());
        assert!(TicketSignature::new([0; 32], [0; 16], vec![]).is_err());
        assert!(TicketSignature::new([0; 32], [0; 16], vec![1; 513]).is_err());
    }
}
