//! Certificate revocation lists (RFC 5280 §5): full and delta CRLs, parsed once and read as a
//! stream of entries so that a national-scale CRL never has to sit in memory twice.
//!
//! ```text
//! CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }
//! TBSCertList ::= SEQUENCE {
//!     version Version OPTIONAL, signature AlgorithmIdentifier, issuer Name,
//!     thisUpdate Time, nextUpdate Time OPTIONAL,
//!     revokedCertificates SEQUENCE OF SEQUENCE {
//!         userCertificate CertificateSerialNumber, revocationDate Time,
//!         crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
//!     crlExtensions [0] EXPLICIT Extensions OPTIONAL }
//! ```

use std::fmt;
use std::ops::Range;

use const_oid::ObjectIdentifier;
use der::asn1::{ContextSpecific, UintRef};
use der::{Decode, Encode, Header, Reader, SliceReader, Tag, TagNumber};
use spki::AlgorithmIdentifierRef;
use x509_cert::crl::RevokedCert;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::der_util::{Signed, check_rsa_sha256, split_signed};
use crate::{
    CaCertificate, Error, InputKind, IssuanceNumber, MAX_CRL_LEN, Purpose, SignedObject,
    TrustAnchors, UnixTime, oid,
};

/// Whether a CRL is complete or a delta over a base CRL (RFC 5280 §5.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrlKind {
    /// A complete CRL.
    Full,
    /// A delta CRL (carries the deltaCRLIndicator).
    Delta,
}

/// CRLReason (RFC 5280 §5.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RevocationReason {
    /// unspecified (0).
    Unspecified = 0,
    /// keyCompromise (1).
    KeyCompromise = 1,
    /// cACompromise (2).
    CaCompromise = 2,
    /// affiliationChanged (3): JPKI's reason when any of the four facts changes.
    AffiliationChanged = 3,
    /// superseded (4): JPKI's reason for a renewed certificate.
    Superseded = 4,
    /// cessationOfOperation (5).
    CessationOfOperation = 5,
    /// certificateHold (6).
    CertificateHold = 6,
    /// removeFromCRL (8): only in delta CRLs, undoing a hold.
    RemoveFromCrl = 8,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn = 9,
    /// aACompromise (10).
    AaCompromise = 10,
}

impl RevocationReason {
    /// From the CRLReason code.
    pub fn from_code(code: u8) -> Option<Self> {
        use RevocationReason::*;
        Some(match code {
            0 => Unspecified,
            1 => KeyCompromise,
            2 => CaCompromise,
            3 => AffiliationChanged,
            4 => Superseded,
            5 => CessationOfOperation,
            6 => CertificateHold,
            8 => RemoveFromCrl,
            9 => PrivilegeWithdrawn,
            10 => AaCompromise,
            _ => return None,
        })
    }

    /// The CRLReason code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The RFC 5280 name, as OpenSSL prints it.
    pub fn name(self) -> &'static str {
        use RevocationReason::*;
        match self {
            Unspecified => "unspecified",
            KeyCompromise => "keyCompromise",
            CaCompromise => "cACompromise",
            AffiliationChanged => "affiliationChanged",
            Superseded => "superseded",
            CessationOfOperation => "cessationOfOperation",
            CertificateHold => "certificateHold",
            RemoveFromCrl => "removeFromCRL",
            PrivilegeWithdrawn => "privilegeWithdrawn",
            AaCompromise => "aACompromise",
        }
    }

    /// From [`RevocationReason::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        (0..=10).filter_map(Self::from_code).find(|r| r.name() == s)
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One revoked certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlEntry {
    /// The certificate's serial number.
    pub serial: IssuanceNumber,
    /// When it was revoked.
    pub revoked_at: UnixTime,
    /// Why, when the CRL says.
    pub reason: Option<RevocationReason>,
}

/// A parsed CRL. Parsing checks structure; [`Crl::verify`] checks issuer, signature and freshness.
#[derive(Clone)]
pub struct Crl {
    der: Vec<u8>,
    tbs: Range<usize>,
    signature: Range<usize>,
    issuer: Vec<u8>,
    authority_key_id: Option<Vec<u8>>,
    this_update: UnixTime,
    next_update: Option<UnixTime>,
    number: u64,
    base_number: Option<u64>,
    // The contents of the revokedCertificates SEQUENCE OF, within `der`.
    entries: Range<usize>,
}

// CRL extensions understood here, and so acceptable when critical.
const KNOWN_CRITICAL: &[ObjectIdentifier] = &[
    oid::DELTA_CRL_INDICATOR,
    oid::CRL_NUMBER,
    ObjectIdentifier::new_unwrap("2.5.29.28"), // issuingDistributionPoint: scope is not narrowed here
];

impl Crl {
    /// Parses a DER CRL of at most [`MAX_CRL_LEN`] bytes.
    pub fn from_der(der: Vec<u8>) -> Result<Self, Error> {
        let Signed { tbs, signature } = split_signed(&der, InputKind::Crl, MAX_CRL_LEN)?;
        let offset = |s: &[u8]| s.as_ptr() as usize - der.as_ptr() as usize;
        let tbs_range = offset(tbs)..offset(tbs) + tbs.len();
        let sig_range = offset(signature)..offset(signature) + signature.len();
        let bad = |e: der::Error| Error::malformed(InputKind::Crl, e);
        let parts = parse_tbs(tbs).map_err(bad)?;
        let mut crl = Crl {
            issuer: parts.issuer.to_der().map_err(bad)?,
            authority_key_id: None,
            this_update: UnixTime::from_x509(&parts.this_update),
            next_update: parts.next_update.as_ref().map(UnixTime::from_x509),
            number: 0,
            base_number: None,
            entries: parts
                .entries
                .map(|e| offset(e)..offset(e) + e.len())
                .unwrap_or(0..0),
            tbs: tbs_range,
            signature: sig_range,
            der: Vec::new(),
        };
        let mut number = None;
        for ext in parts.extensions.iter().flatten() {
            let value = ext.extn_value.as_bytes();
            match ext.extn_id {
                oid::CRL_NUMBER => number = Some(crl_number(value)?),
                oid::DELTA_CRL_INDICATOR => crl.base_number = Some(crl_number(value)?),
                oid::AUTHORITY_KEY_IDENTIFIER => {
                    let aki = AuthorityKeyIdentifier::from_der(value).map_err(bad)?;
                    crl.authority_key_id = aki.key_identifier.map(|k| k.as_bytes().to_vec());
                }
                other if ext.critical && !KNOWN_CRITICAL.contains(&other) => {
                    return Err(Error::malformed(
                        InputKind::Crl,
                        format!("unknown critical CRL extension {other}"),
                    ));
                }
                _ => {}
            }
        }
        crl.number = number.ok_or(Error::CrlNumberMissing)?;
        crl.der = der;
        Ok(crl)
    }

    /// Parses PEM (`X509 CRL`) or DER, whichever `bytes` is.
    pub fn from_pem_or_der(bytes: Vec<u8>) -> Result<Self, Error> {
        if bytes.starts_with(b"-----BEGIN") {
            let text =
                std::str::from_utf8(&bytes).map_err(|e| Error::malformed(InputKind::Pem, e))?;
            let der = crate::der_util::pem_blocks(text, "X509 CRL")?
                .into_iter()
                .next()
                .ok_or_else(|| Error::malformed(InputKind::Pem, "no X509 CRL block"))?;
            Self::from_der(der)
        } else {
            Self::from_der(bytes)
        }
    }

    /// Checks that `ca` issued this CRL (name, key identifier, signature) and that it is current
    /// at `at` (thisUpdate ≤ at ≤ nextUpdate).
    pub fn verify(&self, ca: &CaCertificate, at: UnixTime) -> Result<(), Error> {
        if self.issuer != ca.subject_der()
            || self
                .authority_key_id
                .as_deref()
                .is_some_and(|k| k != ca.key_id())
        {
            return Err(Error::CrlWrongIssuer);
        }
        ca.public_key().verify(
            &self.der[self.tbs.clone()],
            &self.der[self.signature.clone()],
            SignedObject::Crl,
        )?;
        if at < self.this_update {
            return Err(Error::CrlNotYetValid {
                time: at,
                this_update: self.this_update,
            });
        }
        match self.next_update {
            Some(next) if at <= next => Ok(()),
            next_update => Err(Error::CrlStale {
                time: at,
                next_update,
            }),
        }
    }

    /// The anchor of `purpose` that issued this CRL, by key identifier (or name alone).
    pub fn issuer_in<'a>(
        &self,
        anchors: &'a TrustAnchors,
        purpose: Purpose,
    ) -> Option<&'a std::sync::Arc<CaCertificate>> {
        match &self.authority_key_id {
            Some(k) => anchors.by_key_id(purpose, k),
            None => anchors
                .cas(purpose)
                .find(|ca| ca.subject_der() == self.issuer.as_slice()),
        }
    }

    /// Full or delta.
    pub fn kind(&self) -> CrlKind {
        if self.base_number.is_some() {
            CrlKind::Delta
        } else {
            CrlKind::Full
        }
    }

    /// The CRL number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// For a delta CRL, the number of the complete CRL it builds on.
    pub fn base_number(&self) -> Option<u64> {
        self.base_number
    }

    /// thisUpdate.
    pub fn this_update(&self) -> UnixTime {
        self.this_update
    }

    /// nextUpdate.
    pub fn next_update(&self) -> Option<UnixTime> {
        self.next_update
    }

    /// The issuer's key identifier, when the CRL names it.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    /// The CRL's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The revoked certificates, decoded one at a time.
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            reader: SliceReader::new(&self.der[self.entries.clone()]).ok(),
        }
    }
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crl")
            .field("kind", &self.kind())
            .field("number", &self.number)
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .finish_non_exhaustive()
    }
}

/// Iterator over a CRL's entries; a malformed entry ends it with an error.
#[derive(Debug)]
pub struct Entries<'a> {
    reader: Option<SliceReader<'a>>,
}

impl Iterator for Entries<'_> {
    type Item = Result<CrlEntry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.reader.as_mut()?;
        if reader.is_finished() {
            return None;
        }
        let item = RevokedCert::decode(reader)
            .map_err(|e| Error::malformed(InputKind::Crl, e))
            .and_then(|rc| entry(&rc));
        if item.is_err() {
            self.reader = None;
        }
        Some(item)
    }
}

fn entry(rc: &RevokedCert) -> Result<CrlEntry, Error> {
    let mut reason = None;
    for ext in rc.crl_entry_extensions.iter().flatten() {
        if ext.extn_id == oid::CRL_REASON {
            // CRLReason ::= ENUMERATED: DER for the small values in use is 0A 01 <code>.
            reason = match ext.extn_value.as_bytes() {
                [0x0a, 0x01, code] => RevocationReason::from_code(*code),
                _ => None,
            };
            if reason.is_none() {
                return Err(Error::malformed(
                    InputKind::Crl,
                    "bad CRL entry reason code",
                ));
            }
        } else if ext.critical {
            return Err(Error::malformed(
                InputKind::Crl,
                "unknown critical CRL entry extension",
            ));
        }
    }
    Ok(CrlEntry {
        serial: IssuanceNumber::from_serial(&rc.serial_number)?,
        revoked_at: UnixTime::from_x509(&rc.revocation_date),
        reason,
    })
}

struct TbsParts<'a> {
    issuer: Name,
    this_update: Time,
    next_update: Option<Time>,
    entries: Option<&'a [u8]>,
    extensions: Option<Extensions>,
}

fn parse_tbs(tbs: &[u8]) -> der::Result<TbsParts<'_>> {
    let mut r = SliceReader::new(tbs)?;
    let parts = r.sequence(|r| {
        if r.peek_tag()? == Tag::Integer {
            let version = u8::decode(r)?;
            if version != 1 {
                return Err(Tag::Integer.value_error());
            }
        }
        let alg = AlgorithmIdentifierRef::decode(r)?;
        check_rsa_sha256(&alg).map_err(|_| Tag::Sequence.value_error())?;
        let issuer = Name::decode(r)?;
        let this_update = Time::decode(r)?;
        let next_update = match r.peek_tag().ok() {
            Some(Tag::UtcTime | Tag::GeneralizedTime) => Some(Time::decode(r)?),
            _ => None,
        };
        let mut entries = None;
        if !r.is_finished() && r.peek_tag()? == Tag::Sequence {
            let header = Header::decode(r)?;
            entries = Some(r.read_slice(header.length)?);
        }
        let mut extensions = None;
        if !r.is_finished() {
            extensions =
                ContextSpecific::<Extensions>::decode_explicit(r, TagNumber::N0)?.map(|c| c.value);
        }
        Ok(TbsParts {
            issuer,
            this_update,
            next_update,
            entries,
            extensions,
        })
    })?;
    r.finish(parts)
}

fn crl_number(value: &[u8]) -> Result<u64, Error> {
    let n = UintRef::from_der(value).map_err(|e| Error::malformed(InputKind::Crl, e))?;
    let b = n.as_bytes();
    if b.len() > 8 {
        return Err(Error::malformed(
            InputKind::Crl,
            "CRL number beyond 64 bits",
        ));
    }
    Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}
