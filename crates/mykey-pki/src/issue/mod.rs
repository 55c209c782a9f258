//! The CA side: keys, certificates, CRLs and OCSP responses as J-LIS would make them.
//!
//! The J-LIS simulator is built on this module, and tests use it to make fixtures. It signs with
//! RSA-2048 / sha256WithRSAEncryption only, like JPKI.

mod certificate;
mod revocation;

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use const_oid::ObjectIdentifier;
use der::Encode;
use der::asn1::{Any, OctetString, PrintableStringRef, SetOfVec, Utf8StringRef};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::{Error, InputKind, RsaPublicKey};

pub use certificate::{
    EndEntity, Urls, ca_certificate, end_entity_certificate, ocsp_responder_certificate,
};
pub use revocation::{CrlTemplate, OcspResponder, build_crl};

/// An RSA-2048 private key that signs RSASSA-PKCS1-v1_5 with SHA-256. The key material is
/// zeroized by aws-lc when dropped.
pub struct SigningKey {
    pair: KeyPair,
    public: RsaPublicKey,
    spki: Vec<u8>,
}

impl SigningKey {
    /// A fresh RSA-2048 key.
    pub fn generate() -> Result<Self, Error> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| Error::malformed(InputKind::PublicKey, "RSA key generation failed"))?;
        Self::from_pair(pair)
    }

    /// From unencrypted PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, Error> {
        let pair =
            KeyPair::from_pkcs8(der).map_err(|e| Error::malformed(InputKind::PublicKey, e))?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: KeyPair) -> Result<Self, Error> {
        let spki = pair
            .public_key()
            .as_der()
            .map_err(|_| Error::malformed(InputKind::PublicKey, "cannot encode public key"))?
            .as_ref()
            .to_vec();
        let public = RsaPublicKey::from_spki_der(&spki)?;
        Ok(Self { pair, public, spki })
    }

    /// The private key as PKCS#8 DER (for the CA's own store; never logged).
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, Error> {
        let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> = AsDer::<Pkcs8V1Der<'_>>::as_der(&self.pair)
            .map_err(|_| Error::malformed(InputKind::PublicKey, "cannot encode private key"))?;
        Ok(der.as_ref().to_vec())
    }

    /// The SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The public key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// Signs `msg` (RSASSA-PKCS1-v1_5, SHA-256).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        // Signing with a valid in-memory RSA key into a buffer of the modulus length cannot fail.
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                msg,
                &mut sig,
            )
            .expect("RSA signing with a valid key");
        sig
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?})", self.public)
    }
}

/// A distinguished name from (attribute, value) pairs in DER order; values are PrintableString
/// where the characters allow, UTF8String otherwise.
pub fn name(parts: &[(ObjectIdentifier, &str)]) -> der::Result<Name> {
    let mut rdns = Vec::with_capacity(parts.len());
    for (oid, value) in parts {
        let value = match PrintableStringRef::new(value) {
            Ok(p) => Any::from(p),
            Err(_) => Any::from(Utf8StringRef::new(value)?),
        };
        let mut set = SetOfVec::new();
        set.insert(AttributeTypeAndValue { oid: *oid, value })?;
        rdns.push(RelativeDistinguishedName(set));
    }
    Ok(RdnSequence(rdns))
}

/// The name of a JPKI CA of `purpose` (docs/jpki.md §7).
pub fn ca_name(purpose: crate::Purpose) -> der::Result<Name> {
    use crate::oid::{AT_COUNTRY, AT_ORGANIZATION, AT_ORGANIZATIONAL_UNIT};
    name(&[
        (AT_COUNTRY, "JP"),
        (AT_ORGANIZATION, "JPKI"),
        (AT_ORGANIZATIONAL_UNIT, purpose.ca_unit()),
        (
            AT_ORGANIZATIONAL_UNIT,
            "Japan Agency for Local Authority Information Systems",
        ),
    ])
}

pub(crate) fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> der::Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}
