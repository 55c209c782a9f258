//! Secrets kept at rest in a database — a CA's private keys, a receiver's `Authorization`
//! header — sealed with a key kept outside it (AES-256-GCM), so that a copy of the database, a
//! backup or a dump, gives none of them away.
//!
//! A sealed value is `MKS1` ‖ a 96-bit random nonce ‖ the ciphertext and its tag. What the value
//! is for (its table, column and row) is the associated data: a sealed value moved to another
//! row or column does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// The first bytes of every sealed value.
const MAGIC: &[u8; 4] = b"MKS1";
/// Bytes of a sealing key.
pub const SEALING_KEY_LEN: usize = 32;

/// The key secrets are sealed with.
pub struct SealingKey(LessSafeKey);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

/// A sealed value that does not open: not sealed with this key, altered, or sealed for
/// another purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a sealed secret does not open with this key (another key, altered, or moved)")]
pub struct SealError;

impl SealingKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError)?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// 32 fresh random bytes for a new key.
    pub fn generate() -> Result<[u8; SEALING_KEY_LEN], SealError> {
        let mut b = [0u8; SEALING_KEY_LEN];
        aws_lc_rs::rand::fill(&mut b).map_err(|_| SealError)?;
        Ok(b)
    }

    /// Seals `secret` for `purpose`.
    pub fn seal(&self, purpose: &str, secret: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + secret.len() + 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        let mut body = secret.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut body,
            )
            .map_err(|_| SealError)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a value [`seal`](Self::seal)ed for `purpose`.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(MAGIC.as_slice()).ok_or(SealError)?;
        if rest.len() < NONCE_LEN {
            return Err(SealError);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
        let mut body = body.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut body)
            .map_err(|_| SealError)?;
        Ok(plain.to_vec())
    }

    /// Whether `value` has the shape of a sealed value (for reading rows written before
    /// secrets were sealed).
    pub fn is_sealed(value: &[u8]) -> bool {
        value.starts_with(MAGIC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_purpose() {
        let key = SealingKey::from_bytes(&[7; 32]).expect("32 bytes");
        let sealed = key.seal("streams:1", b"Bearer s3cret").expect("sealed");
        assert!(SealingKey::is_sealed(&sealed));
        assert!(
            !sealed.windows(6).any(|w| w == b"s3cret"),
            "the secret shows"
        );
        assert_eq!(
            key.open("streams:1", &sealed).expect("opens"),
            b"Bearer s3cret"
        );
        // Another row, another key, an altered byte: none opens.
        assert_eq!(key.open("streams:2", &sealed), Err(SealError));
        let other = SealingKey::from_bytes(&[8; 32]).expect("32 bytes");
        assert_eq!(other.open("streams:1", &sealed), Err(SealError));
        let mut altered = sealed.clone();
        *altered.last_mut().expect("not empty") ^= 1;
        assert_eq!(key.open("streams:1", &altered), Err(SealError));
        assert_eq!(key.open("streams:1", b"MKS1short"), Err(SealError));
        // Two seals of the same secret differ (fresh nonces).
        assert_ne!(
            sealed,
            key.seal("streams:1", b"Bearer s3cret").expect("sealed")
        );
        assert!(SealingKey::from_bytes(&[1; 16]).is_err());
    }
}
