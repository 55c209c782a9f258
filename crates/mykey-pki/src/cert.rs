//! JPKI certificates: the user-identification and signature end-entity profiles and the CA
//! certificates (RFC 5280 §4; profiles in docs/jpki.md §7–§9).

use std::fmt;
use std::sync::Arc;

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;

use crate::der_util::{Signed, split_signed};
use crate::{
    Error, FourFacts, InputKind, IssuanceNumber, MAX_CERTIFICATE_LEN, RsaPublicKey, SignedObject,
    UnixTime, oid,
};

/// What a certificate or CA is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Proving "it is me" (利用者証明用); 4-digit PIN on the card.
    UserIdentification,
    /// Signing documents (署名用); carries the four facts.
    Signature,
}

impl Purpose {
    /// The CA name's distinguishing organisational unit (docs/jpki.md §7).
    pub fn ca_unit(self) -> &'static str {
        match self {
            Purpose::UserIdentification => "JPKI for user authentication",
            Purpose::Signature => "JPKI for digital signature",
        }
    }

    /// The kebab-case name used in URLs and on the command line.
    pub fn slug(self) -> &'static str {
        match self {
            Purpose::UserIdentification => "user-identification",
            Purpose::Signature => "signature",
        }
    }

    /// The end-entity certificate policy.
    pub fn policy(self) -> ObjectIdentifier {
        match self {
            Purpose::UserIdentification => oid::JPKI_USER_IDENTIFICATION_POLICY,
            Purpose::Signature => oid::JPKI_SIGNATURE_POLICY,
        }
    }

    /// From [`Purpose::slug`].
    pub fn from_slug(s: &str) -> Option<Self> {
        match s {
            "user-identification" => Some(Purpose::UserIdentification),
            "signature" => Some(Purpose::Signature),
            _ => None,
        }
    }
}

// Key-usage bits as x509-cert numbers them (bit 0 = digitalSignature).
const KU_DIGITAL_SIGNATURE: u16 = 1 << 0;
const KU_NON_REPUDIATION: u16 = 1 << 1;
const KU_KEY_CERT_SIGN: u16 = 1 << 5;
const KU_CRL_SIGN: u16 = 1 << 6;

/// What every parsed certificate knows; the typed wrappers add their profile's guarantees.
#[derive(Clone)]
pub(crate) struct Parsed {
    der: Arc<[u8]>,
    tbs: std::ops::Range<usize>,
    signature: std::ops::Range<usize>,
    pub(crate) serial: IssuanceNumber,
    pub(crate) issuer: Vec<u8>,
    pub(crate) subject: Vec<u8>,
    pub(crate) subject_name: Name,
    pub(crate) not_before: UnixTime,
    pub(crate) not_after: UnixTime,
    pub(crate) key: RsaPublicKey,
    pub(crate) authority_key_id: Option<Vec<u8>>,
    pub(crate) subject_key_id: Option<Vec<u8>>,
    pub(crate) key_usage: Option<u16>,
    pub(crate) policies: Vec<ObjectIdentifier>,
    pub(crate) is_ca: bool,
    pub(crate) ext_key_usage: Vec<ObjectIdentifier>,
    pub(crate) subject_alt_name: Option<SubjectAltName>,
}

impl Parsed {
    pub(crate) fn parse(der: &[u8]) -> Result<Self, Error> {
        let Signed { tbs, signature } =
            split_signed(der, InputKind::Certificate, MAX_CERTIFICATE_LEN)?;
        let offset = |s: &[u8]| s.as_ptr() as usize - der.as_ptr() as usize;
        let tbs_range = offset(tbs)..offset(tbs) + tbs.len();
        let sig_range = offset(signature)..offset(signature) + signature.len();
        let cert =
            Certificate::from_der(der).map_err(|e| Error::malformed(InputKind::Certificate, e))?;
        let tbs_cert = &cert.tbs_certificate;
        if tbs_cert.version != x509_cert::Version::V3 {
            return Err(Error::malformed(
                InputKind::Certificate,
                "not a version 3 certificate",
            ));
        }
        if tbs_cert.signature != cert.signature_algorithm {
            return Err(Error::malformed(
                InputKind::Certificate,
                "inner and outer signature algorithms differ",
            ));
        }
        let spki_der = tbs_cert
            .subject_public_key_info
            .to_der()
            .map_err(|e| Error::malformed(InputKind::Certificate, e))?;
        let key = RsaPublicKey::from_spki_der(&spki_der)?;
        let encode = |n: &Name| {
            n.to_der()
                .map_err(|e| Error::malformed(InputKind::Certificate, e))
        };
        let mut parsed = Parsed {
            der: der.into(),
            tbs: tbs_range,
            signature: sig_range,
            serial: IssuanceNumber::from_serial(&tbs_cert.serial_number)?,
            issuer: encode(&tbs_cert.issuer)?,
            subject: encode(&tbs_cert.subject)?,
            subject_name: tbs_cert.subject.clone(),
            not_before: UnixTime::from_x509(&tbs_cert.validity.not_before),
            not_after: UnixTime::from_x509(&tbs_cert.validity.not_after),
            key,
            authority_key_id: None,
            subject_key_id: None,
            key_usage: None,
            policies: Vec::new(),
            is_ca: false,
            ext_key_usage: Vec::new(),
            subject_alt_name: None,
        };
        for ext in tbs_cert.extensions.iter().flatten() {
            let value = ext.extn_value.as_bytes();
            let bad = |e: der::Error| Error::malformed(InputKind::Certificate, e);
            match ext.extn_id {
                oid::AUTHORITY_KEY_IDENTIFIER => {
                    let aki = AuthorityKeyIdentifier::from_der(value).map_err(bad)?;
                    parsed.authority_key_id = aki.key_identifier.map(|k| k.as_bytes().to_vec());
                }
                oid::SUBJECT_KEY_IDENTIFIER => {
                    let ski = SubjectKeyIdentifier::from_der(value).map_err(bad)?;
                    parsed.subject_key_id = Some(ski.0.as_bytes().to_vec());
                }
                oid::KEY_USAGE => {
                    parsed.key_usage = Some(KeyUsage::from_der(value).map_err(bad)?.0.bits());
                }
                oid::CERTIFICATE_POLICIES => {
                    let p = CertificatePolicies::from_der(value).map_err(bad)?;
                    parsed.policies = p.0.iter().map(|p| p.policy_identifier).collect();
                }
                oid::BASIC_CONSTRAINTS => {
                    parsed.is_ca = BasicConstraints::from_der(value).map_err(bad)?.ca;
                }
                oid::EXT_KEY_USAGE => {
                    parsed.ext_key_usage = ExtendedKeyUsage::from_der(value).map_err(bad)?.0;
                }
                oid::SUBJECT_ALT_NAME => {
                    parsed.subject_alt_name = Some(SubjectAltName::from_der(value).map_err(bad)?);
                }
                other if ext.critical && !KNOWN_CRITICAL.contains(&other) => {
                    return Err(Error::malformed(
                        InputKind::Certificate,
                        format!("unknown critical extension {other}"),
                    ));
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }

    pub(crate) fn tbs(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    pub(crate) fn signature(&self) -> &[u8] {
        &self.der[self.signature.clone()]
    }

    /// Checks that the end-entity profile of `purpose` holds.
    fn check_end_entity(&self, purpose: Purpose) -> Result<(), Error> {
        if self.is_ca {
            return Err(Error::WrongBasicConstraints { expected_ca: false });
        }
        let ku = self.key_usage.ok_or(Error::MissingExtension {
            oid: oid::KEY_USAGE,
        })?;
        let required = match purpose {
            Purpose::UserIdentification => KU_DIGITAL_SIGNATURE,
            Purpose::Signature => KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION,
        };
        if ku & required != required || ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN) != 0 {
            return Err(Error::WrongKeyUsage { purpose, found: ku });
        }
        if !self.policies.contains(&purpose.policy()) {
            return Err(Error::WrongPolicy {
                purpose,
                found: self.policies.clone(),
            });
        }
        Ok(())
    }

    /// Whether `at` lies within the validity period.
    pub(crate) fn check_validity(&self, at: UnixTime) -> Result<(), Error> {
        if at < self.not_before {
            return Err(Error::NotYetValid {
                time: at,
                not_before: self.not_before,
            });
        }
        if at > self.not_after {
            return Err(Error::Expired {
                time: at,
                not_after: self.not_after,
            });
        }
        Ok(())
    }
}

// Extensions this crate understands and so may accept when marked critical.
const KNOWN_CRITICAL: &[ObjectIdentifier] = &[
    oid::KEY_USAGE,
    oid::BASIC_CONSTRAINTS,
    oid::CERTIFICATE_POLICIES,
    oid::SUBJECT_ALT_NAME,
    oid::EXT_KEY_USAGE,
];

macro_rules! common_accessors {
    () => {
        /// The certificate's DER.
        pub fn der(&self) -> &[u8] {
            self.parsed.der()
        }

        /// Start of validity.
        pub fn not_before(&self) -> UnixTime {
            self.parsed.not_before
        }

        /// End of validity.
        pub fn not_after(&self) -> UnixTime {
            self.parsed.not_after
        }

        /// The subject public key.
        pub fn public_key(&self) -> &RsaPublicKey {
            &self.parsed.key
        }

        /// The issuing CA's key identifier (authorityKeyIdentifier), if present.
        pub fn authority_key_id(&self) -> Option<&[u8]> {
            self.parsed.authority_key_id.as_deref()
        }
    };
}

/// A user-identification certificate that satisfies the JPKI profile: RSA-2048,
/// sha256WithRSAEncryption, digitalSignature, the user-identification policy. Its serial number is
/// the person's current [`IssuanceNumber`].
#[derive(Clone)]
pub struct UserIdentificationCertificate {
    parsed: Parsed,
}

impl UserIdentificationCertificate {
    /// Parses DER and checks the profile.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let parsed = Parsed::parse(der)?;
        parsed.check_end_entity(Purpose::UserIdentification)?;
        Ok(Self { parsed })
    }

    pub(crate) fn parsed(&self) -> &Parsed {
        &self.parsed
    }

    /// The issuance number (the certificate's serial number).
    pub fn issuance_number(&self) -> IssuanceNumber {
        self.parsed.serial
    }

    common_accessors!();
}

impl fmt::Debug for UserIdentificationCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserIdentificationCertificate")
            .field("not_after", &self.parsed.not_after)
            .finish_non_exhaustive()
    }
}

/// A signature certificate that satisfies the JPKI profile and carries the [`FourFacts`].
#[derive(Clone)]
pub struct SignatureCertificate {
    parsed: Parsed,
    facts: FourFacts,
}

impl SignatureCertificate {
    /// Parses DER and checks the profile, including the four facts.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let parsed = Parsed::parse(der)?;
        parsed.check_end_entity(Purpose::Signature)?;
        let san = parsed
            .subject_alt_name
            .as_ref()
            .ok_or(Error::MissingExtension {
                oid: oid::SUBJECT_ALT_NAME,
            })?;
        let facts = FourFacts::from_general_names(&san.0)?;
        Ok(Self { parsed, facts })
    }

    pub(crate) fn parsed(&self) -> &Parsed {
        &self.parsed
    }

    /// The serial number.
    pub fn serial_number(&self) -> IssuanceNumber {
        self.parsed.serial
    }

    /// Name, address, date of birth and sex as certified.
    pub fn facts(&self) -> &FourFacts {
        &self.facts
    }

    common_accessors!();
}

impl fmt::Debug for SignatureCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureCertificate")
            .field("not_after", &self.parsed.not_after)
            .finish_non_exhaustive()
    }
}

/// A JPKI CA certificate (one generation of one of the two CAs): CA=TRUE, keyCertSign and
/// cRLSign, RSA-2048, a subject key identifier, and one of the two JPKI CA names.
#[derive(Clone)]
pub struct CaCertificate {
    parsed: Parsed,
    purpose: Purpose,
    key_id: Vec<u8>,
}

impl CaCertificate {
    /// Parses DER and checks the CA profile.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let parsed = Parsed::parse(der)?;
        if !parsed.is_ca {
            return Err(Error::WrongBasicConstraints { expected_ca: true });
        }
        let ku = parsed.key_usage.ok_or(Error::MissingExtension {
            oid: oid::KEY_USAGE,
        })?;
        let purpose = ca_purpose(&parsed.subject_name)?;
        if ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN) != KU_KEY_CERT_SIGN | KU_CRL_SIGN {
            return Err(Error::WrongKeyUsage { purpose, found: ku });
        }
        let key_id = parsed
            .subject_key_id
            .clone()
            .ok_or(Error::MissingExtension {
                oid: oid::SUBJECT_KEY_IDENTIFIER,
            })?;
        Ok(Self {
            parsed,
            purpose,
            key_id,
        })
    }

    /// Parses every CERTIFICATE block of PEM text.
    pub fn from_pem_chain(pem: &str) -> Result<Vec<Self>, Error> {
        crate::der_util::pem_blocks(pem, "CERTIFICATE")?
            .iter()
            .map(|d| Self::from_der(d))
            .collect()
    }

    /// Which CA this is.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The subject key identifier, by which certificates name their issuer.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// The subject name's DER.
    pub fn subject_der(&self) -> &[u8] {
        &self.parsed.subject
    }

    /// The subject name.
    pub fn subject(&self) -> &Name {
        &self.parsed.subject_name
    }

    /// Checks a CA generation before it is trusted: self-issued and self-signed (its own key
    /// verifies it) and valid at `at` — what a new generation J-LIS announces must show.
    pub fn check_self_signed(&self, at: UnixTime) -> Result<(), Error> {
        if self.parsed.issuer != self.parsed.subject {
            return Err(Error::UnknownIssuer {
                purpose: self.purpose,
                key_id: hex::encode(&self.key_id),
            });
        }
        self.public_key().verify(
            self.parsed.tbs(),
            self.parsed.signature(),
            SignedObject::Certificate,
        )?;
        self.parsed.check_validity(at)
    }

    /// The CA certificate as PEM.
    pub fn to_pem(&self) -> String {
        crate::der_util::to_pem("CERTIFICATE", self.der())
    }

    common_accessors!();
}

impl fmt::Debug for CaCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaCertificate")
            .field("purpose", &self.purpose)
            .field("key_id", &hex::encode(&self.key_id))
            .field("not_after", &self.parsed.not_after)
            .finish()
    }
}

/// Which JPKI CA a name is: `C=JP, O=JPKI, OU=<purpose unit>, OU=Japan Agency for Local Authority
/// Information Systems`.
fn ca_purpose(name: &Name) -> Result<Purpose, Error> {
    let units: Vec<String> = name
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == oid::AT_ORGANIZATIONAL_UNIT)
        .filter_map(|atv| directory_string(&atv.value))
        .collect();
    [Purpose::UserIdentification, Purpose::Signature]
        .into_iter()
        .find(|p| units.iter().any(|u| u == p.ca_unit()))
        .ok_or_else(|| Error::UnrecognisedCaName {
            subject: name.to_string(),
        })
}

fn directory_string(value: &der::asn1::Any) -> Option<String> {
    use der::asn1::{PrintableStringRef, Utf8StringRef};
    value
        .decode_as::<Utf8StringRef<'_>>()
        .map(|s| s.as_str().to_owned())
        .or_else(|_| {
            value
                .decode_as::<PrintableStringRef<'_>>()
                .map(|s| s.as_str().to_owned())
        })
        .ok()
}

/// Verifies a login challenge signature exactly as the card makes it: RSASSA-PKCS1-v1_5 over the
/// SHA-256 DigestInfo of `challenge` (the card pads the DigestInfo and applies the raw RSA key).
pub fn verify_challenge(
    cert: &UserIdentificationCertificate,
    challenge: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    cert.public_key()
        .verify(challenge, signature, SignedObject::Challenge)
}
