//! Bearer tokens whose store keys sort by expiry: card-login sessions and OpenID Connect access
//! tokens.
//!
//! A token is base64url of its expiry (8 bytes, big-endian seconds) ‖ when it was made (8 bytes,
//! big-endian nanoseconds since the epoch, this host's clock) ‖ `N` random bytes. The store
//! keeps, and looks the token up by, the token's first 16 bytes ‖ the first 16 bytes of the
//! SHA-256 of the token as sent. The prefix makes each new key sort after the ones before it, so
//! storing a token appends to its table instead of dirtying a random page of it (a page written
//! to the WAL, checkpointed and synced for every login), and the tokens expired by a time are
//! the keys below that time's 8 bytes, which the store purges on the key itself, with no index
//! on the expiry. The hash means a copy of the store gives no usable token. A token that is not
//! `16 + N` bytes of base64url gets a key that begins with zeros, which no stored token has.

use crate::Rng;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

use crate::UnixTime;
use crate::relying_party::sha256;

/// A new token that expires at `expires_at`, with `N` random bytes (`8 * N` bits to guess).
pub(crate) fn new<const N: usize>(rng: &dyn Rng, expires_at: UnixTime) -> String {
    let made = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut t = Vec::with_capacity(16 + N);
    t.extend_from_slice(&expires_at.as_secs().to_be_bytes());
    t.extend_from_slice(&made.to_be_bytes());
    t.extend_from_slice(&rng.bytes::<N>());
    B64URL.encode(t)
}

/// What the store keeps of a token made by [`new`] with `N` random bytes.
pub(crate) fn key<const N: usize>(token: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    if let Ok(raw) = B64URL.decode(token)
        && raw.len() == 16 + N
    {
        key[..16].copy_from_slice(&raw[..16]);
    }
    key[16..].copy_from_slice(&sha256(token.as_bytes())[..16]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_begin_with_the_expiry_and_sort_in_the_order_made() {
        let exp = UnixTime::from_secs(1_900_000_000);
        let tokens: Vec<String> = (0..64).map(|_| new::<24>(&crate::SystemRng, exp)).collect();
        let keys: Vec<[u8; 32]> = tokens.iter().map(|t| key::<24>(t)).collect();
        for k in &keys {
            assert_eq!(k[..8], exp.as_secs().to_be_bytes());
        }
        assert!(
            keys.windows(2).all(|w| w[0][..16] <= w[1][..16]),
            "keys sort as made"
        );
        // A later expiry sorts after every key of an earlier one.
        let later = key::<24>(&new::<24>(&crate::SystemRng, exp.plus(1)));
        assert!(keys.iter().all(|k| *k < later));
        // The same prefix with another secret is another key, and a key is not the token.
        let t = B64URL.decode(&tokens[0]).expect("base64url");
        assert_eq!(t.len(), 40);
        let mut other = t.clone();
        other[39] ^= 1;
        assert_ne!(key::<24>(&B64URL.encode(&other)), keys[0]);
        assert_ne!(keys[0][16..], t[16..32]);
        // Anything else gets a key that begins with zeros: no stored token has it. A token of
        // another length is anything else.
        assert_eq!(key::<24>("not-a-token")[..16], [0u8; 16]);
        assert_eq!(key::<16>(&tokens[0])[..16], [0u8; 16]);
    }
}
