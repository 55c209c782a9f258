//! The card's RSA-2048 private keys. They are generated inside the card and leave it only as
//! PKCS#8 in the card file; aws-lc zeroizes them when dropped.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, RsaEncoding};
use zeroize::Zeroizing;

use crate::digest_info::{self, HashAlgorithm};

/// Bytes of an RSA-2048 modulus, and of every signature.
pub(crate) const MODULUS_LEN: usize = 256;

/// One private key and its SubjectPublicKeyInfo; clones share the key.
#[derive(Clone)]
pub(crate) struct CardKey {
    pair: Arc<KeyPair>,
    spki: Vec<u8>,
}

/// Why a stored key cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    Generation,
    NotPkcs8Rsa,
    Not2048,
    Encoding,
}

impl KeyProblem {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::Generation => "RSA key generation failed",
            Self::NotPkcs8Rsa => "not an RSA private key in PKCS#8",
            Self::Not2048 => "not an RSA-2048 key",
            Self::Encoding => "key cannot be encoded",
        }
    }
}

impl CardKey {
    pub(crate) fn generate() -> Result<Self, KeyProblem> {
        Self::from_pair(KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyProblem::Generation)?)
    }

    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self, KeyProblem> {
        Self::from_pair(KeyPair::from_pkcs8(der).map_err(|_| KeyProblem::NotPkcs8Rsa)?)
    }

    fn from_pair(pair: KeyPair) -> Result<Self, KeyProblem> {
        if pair.public_modulus_len() != MODULUS_LEN {
            return Err(KeyProblem::Not2048);
        }
        let spki = pair
            .public_key()
            .as_der()
            .map_err(|_| KeyProblem::Encoding)?
            .as_ref()
            .to_vec();
        Ok(Self {
            pair: Arc::new(pair),
            spki,
        })
    }

    pub(crate) fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, KeyProblem> {
        let der: Pkcs8V1Der<'_> =
            AsDer::<Pkcs8V1Der<'_>>::as_der(&*self.pair).map_err(|_| KeyProblem::Encoding)?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// SubjectPublicKeyInfo DER.
    pub(crate) fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// What the card does for COMPUTE DIGITAL SIGNATURE: pads `digest_info` with PKCS#1 v1.5
    /// type 1 and applies the private key. `None` when it is not a SHA-256/384/512 DigestInfo:
    /// aws-lc builds the DigestInfo itself from the digest, so only those it can rebuild byte for
    /// byte are signed (SHA-1, recognised, has no PKCS#1 signing encoding there).
    pub(crate) fn sign_digest_info(&self, digest_info: &[u8]) -> Option<Vec<u8>> {
        let (alg, value) = digest_info::parse(digest_info)?;
        let (algorithm, encoding): (&'static digest::Algorithm, &'static dyn RsaEncoding) =
            match alg {
                HashAlgorithm::Sha256 => (&digest::SHA256, &signature::RSA_PKCS1_SHA256),
                HashAlgorithm::Sha384 => (&digest::SHA384, &signature::RSA_PKCS1_SHA384),
                HashAlgorithm::Sha512 => (&digest::SHA512, &signature::RSA_PKCS1_SHA512),
                HashAlgorithm::Sha1 => return None,
            };
        let digest = Digest::import_less_safe(value, algorithm).ok()?;
        let mut out = vec![0u8; MODULUS_LEN];
        self.pair.sign_digest(encoding, &digest, &mut out).ok()?;
        Some(out)
    }
}

impl fmt::Debug for CardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardKey(RSA-2048, <private>)")
    }
}
