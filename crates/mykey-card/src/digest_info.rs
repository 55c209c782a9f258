//! DigestInfo, the value RSASSA-PKCS1-v1_5 signs (RFC 8017 §9.2, EMSA-PKCS1-v1_5, and its note 1
//! listing the DER prefixes):
//!
//! ```text
//! DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
//! ```
//!
//! The JPKI card is given a DigestInfo and pads it; the virtual card recognises the four prefixes
//! below (parameters NULL, as RFC 8017 writes them) and nothing else.

/// A hash algorithm a DigestInfo names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1 (recognised; the virtual card refuses to sign it, see [`crate::VirtualCard`]).
    Sha1,
    /// SHA-256, what JPKI uses.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

const SHA1: &[u8] = &[
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
const SHA256: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA384: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const SHA512: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

impl HashAlgorithm {
    const ALL: [Self; 4] = [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512];

    fn prefix(self) -> &'static [u8] {
        match self {
            Self::Sha1 => SHA1,
            Self::Sha256 => SHA256,
            Self::Sha384 => SHA384,
            Self::Sha512 => SHA512,
        }
    }

    /// Bytes of a digest.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// Splits a DER DigestInfo into its algorithm and digest; `None` unless it is exactly one of the
/// four known prefixes followed by a digest of the right length.
pub(crate) fn parse(der: &[u8]) -> Option<(HashAlgorithm, &[u8])> {
    HashAlgorithm::ALL.into_iter().find_map(|alg| {
        let digest = der.strip_prefix(alg.prefix())?;
        (digest.len() == alg.output_len()).then_some((alg, digest))
    })
}

/// The DigestInfo of `digest` (whose length must match `alg`; callers compute it).
pub(crate) fn encode(alg: HashAlgorithm, digest: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(alg.prefix().len() + digest.len());
    out.extend_from_slice(alg.prefix());
    out.extend_from_slice(digest);
    out
}

/// The DigestInfo of SHA-256(`message`): what the card client sends to sign a challenge.
pub(crate) fn sha256_of(message: &[u8]) -> Vec<u8> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
    encode(HashAlgorithm::Sha256, digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_have_consistent_der_lengths() {
        for alg in HashAlgorithm::ALL {
            let p = alg.prefix();
            // Outer SEQUENCE length covers the rest; the OCTET STRING length is the digest's.
            assert_eq!(usize::from(p[1]), p.len() - 2 + alg.output_len());
            assert_eq!(usize::from(p[p.len() - 1]), alg.output_len());
        }
    }

    #[test]
    fn only_exact_digest_infos_parse() {
        let di = sha256_of(b"challenge");
        assert_eq!(
            parse(&di).map(|(a, d)| (a, d.len())),
            Some((HashAlgorithm::Sha256, 32))
        );
        assert_eq!(parse(&di[..di.len() - 1]), None);
        let mut longer = di.clone();
        longer.push(0);
        assert_eq!(parse(&longer), None);
        // SHA-256 without the NULL parameters: valid DER elsewhere, not accepted here.
        let mut no_null = vec![
            0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x04, 0x20,
        ];
        no_null.extend_from_slice(&[0; 32]);
        assert_eq!(parse(&no_null), None);
        assert_eq!(parse(&[0; 51]), None);
        assert_eq!(
            parse(&encode(HashAlgorithm::Sha1, &[1; 20])).map(|p| p.0),
            Some(HashAlgorithm::Sha1)
        );
    }
}
