//! Small DER helpers shared by the certificate, CRL and OCSP parsers.

use der::asn1::BitStringRef;
use der::{Decode, Reader, SliceReader};
use spki::AlgorithmIdentifierRef;

use crate::{Error, InputKind, oid};

/// The three parts of every signed X.509-family structure:
/// `SEQUENCE { tbs, signatureAlgorithm, signatureValue BIT STRING, ... }`.
#[derive(Debug)]
pub(crate) struct Signed<'a> {
    /// The exact bytes that were signed (the full TLV of the first element).
    pub(crate) tbs: &'a [u8],
    /// The signature value.
    pub(crate) signature: &'a [u8],
}

/// Splits a signed structure, checks the algorithm is sha256WithRSAEncryption (parameters NULL or
/// absent), and ignores anything after the signature (OCSP's `certs`).
pub(crate) fn split_signed(der: &[u8], kind: InputKind, limit: usize) -> Result<Signed<'_>, Error> {
    check_len(der, kind, limit)?;
    let mut r = SliceReader::new(der).map_err(|e| Error::malformed(kind, e))?;
    let (tbs, alg, sig) = r
        .sequence(|r| {
            let tbs = r.tlv_bytes()?;
            let alg = AlgorithmIdentifierRef::decode(r)?;
            let sig = BitStringRef::decode(r)?;
            let rest = r.remaining_len();
            r.read_slice(rest)?;
            Ok((tbs, alg, sig))
        })
        .map_err(|e| Error::malformed(kind, e))?;
    r.finish(()).map_err(|e| Error::malformed(kind, e))?;
    check_rsa_sha256(&alg)?;
    let signature = sig
        .as_bytes()
        .ok_or_else(|| Error::malformed(kind, "signature has unused bits"))?;
    Ok(Signed { tbs, signature })
}

/// Refuses anything but sha256WithRSAEncryption with NULL or absent parameters.
pub(crate) fn check_rsa_sha256(alg: &AlgorithmIdentifierRef<'_>) -> Result<(), Error> {
    if alg.oid != oid::SHA256_WITH_RSA {
        return Err(Error::UnsupportedSignatureAlgorithm { found: alg.oid });
    }
    match alg.parameters {
        None => Ok(()),
        Some(p) if der::Tagged::tag(&p) == der::Tag::Null => Ok(()),
        Some(_) => Err(Error::UnsupportedSignatureAlgorithm { found: alg.oid }),
    }
}

pub(crate) fn check_len(der: &[u8], kind: InputKind, limit: usize) -> Result<(), Error> {
    if der.len() > limit {
        return Err(Error::TooLarge {
            kind,
            len: der.len(),
            limit,
        });
    }
    Ok(())
}

/// The sha256WithRSAEncryption algorithm identifier, NULL parameters, as CAs write it.
pub(crate) fn rsa_sha256_alg() -> spki::AlgorithmIdentifierOwned {
    spki::AlgorithmIdentifierOwned {
        oid: oid::SHA256_WITH_RSA,
        parameters: Some(der::asn1::Null.into()),
    }
}

/// Decodes the PEM blocks with `label` in `text` (e.g. "CERTIFICATE", "X509 CRL").
pub fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, Error> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start..];
        let stop = after
            .find(&end)
            .ok_or_else(|| Error::malformed(InputKind::Pem, "unterminated PEM block"))?;
        let block = &after[..stop + end.len()];
        let (found, der) = der::pem::decode_vec(block.as_bytes())
            .map_err(|e| Error::malformed(InputKind::Pem, e))?;
        if found != label {
            return Err(Error::malformed(InputKind::Pem, "unexpected PEM label"));
        }
        out.push(der);
        rest = &after[stop + end.len()..];
    }
    Ok(out)
}

/// Encodes `der` as one PEM block with `label`.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
        .expect("PEM encoding of an in-memory buffer cannot fail")
}
