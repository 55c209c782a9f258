//! RSA public keys: parsed once, verified many times.

use std::fmt;

use aws_lc_rs::signature::{self, ParsedPublicKey};
use der::asn1::UintRef;
use der::{Decode, Reader, SliceReader};
use spki::SubjectPublicKeyInfoRef;

use crate::{Error, InputKind, SignedObject, oid};

/// An RSA-2048 public key, checked and ready to verify RSASSA-PKCS1-v1_5 SHA-256 signatures.
#[derive(Clone)]
pub struct RsaPublicKey {
    parsed: ParsedPublicKey,
    /// The RSAPublicKey DER (the subjectPublicKey BIT STRING's contents): what OCSP hashes.
    pkcs1: Box<[u8]>,
}

impl RsaPublicKey {
    /// From a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, Error> {
        let info = SubjectPublicKeyInfoRef::from_der(spki)
            .map_err(|e| Error::malformed(InputKind::PublicKey, e))?;
        Self::from_spki(&info)
    }

    pub(crate) fn from_spki(info: &SubjectPublicKeyInfoRef<'_>) -> Result<Self, Error> {
        if info.algorithm.oid != oid::RSA_ENCRYPTION {
            return Err(Error::NotRsaKey {
                found: info.algorithm.oid,
            });
        }
        let pkcs1 = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::malformed(InputKind::PublicKey, "unused bits in key"))?;
        let bits = modulus_bits(pkcs1)?;
        if bits != 2048 {
            return Err(Error::WrongKeySize { bits });
        }
        let parsed = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pkcs1)
            .map_err(|e| Error::malformed(InputKind::PublicKey, e))?;
        Ok(Self {
            parsed,
            pkcs1: pkcs1.into(),
        })
    }

    /// Checks an RSASSA-PKCS1-v1_5 signature with SHA-256 over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8], what: SignedObject) -> Result<(), Error> {
        self.parsed
            .verify_sig(msg, sig)
            .map_err(|_| Error::BadSignature(what))
    }

    /// The PKCS#1 RSAPublicKey DER.
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1
    }

    /// SHA-1 of the key bits: the OCSP `issuerKeyHash` and the usual key identifier (RFC 5280
    /// §4.2.1.2 method 1).
    pub fn sha1_key_id(&self) -> [u8; 20] {
        let d =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.pkcs1);
        let mut out = [0u8; 20];
        out.copy_from_slice(d.as_ref());
        out
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({})", hex::encode(self.sha1_key_id()))
    }
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.pkcs1 == other.pkcs1
    }
}

impl Eq for RsaPublicKey {}

/// Bit length of the modulus in an RSAPublicKey `SEQUENCE { n INTEGER, e INTEGER }`.
fn modulus_bits(pkcs1: &[u8]) -> Result<usize, Error> {
    let mut r = SliceReader::new(pkcs1).map_err(|e| Error::malformed(InputKind::PublicKey, e))?;
    let n = r
        .sequence(|r| {
            let n = UintRef::decode(r)?;
            let _e = UintRef::decode(r)?;
            Ok(n)
        })
        .map_err(|e| Error::malformed(InputKind::PublicKey, e))?;
    let bytes = n.as_bytes();
    let Some(first) = bytes.first() else {
        return Ok(0);
    };
    Ok((bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}
