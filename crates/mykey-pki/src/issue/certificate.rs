//! Certificates as the JPKI CAs issue them: the self-signed CA, end entities of both purposes,
//! and the delegated OCSP responder.

use der::asn1::{BitString, Ia5String, Null, OctetString};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, IssuerAltName, KeyUsage,
    KeyUsages, SubjectAltName, SubjectKeyIdentifier, certpolicy::PolicyInformation,
};
use x509_cert::name::Name;
use x509_cert::time::Validity;
use x509_cert::{Certificate, TbsCertificate};

use super::{SigningKey, ca_name, extension, name};
use crate::der_util::rsa_sha256_alg;
use crate::oid::{self, AT_COMMON_NAME, AT_COUNTRY, AT_ORGANIZATION};
use crate::{CaCertificate, Error, FourFacts, InputKind, IssuanceNumber, Purpose, UnixTime};

/// Where relying software can follow revocation data: put into every certificate a CA issues.
#[derive(Clone, Debug, Default)]
pub struct Urls {
    /// The OCSP responder (authorityInfoAccess id-ad-ocsp).
    pub ocsp: Option<String>,
    /// The issuer's certificate (authorityInfoAccess id-ad-caIssuers).
    pub ca_issuers: Option<String>,
    /// The complete CRL (cRLDistributionPoints).
    pub crl: Option<String>,
    /// The delta CRL (freshestCRL).
    pub delta_crl: Option<String>,
}

/// What goes into an end-entity certificate.
#[derive(Clone, Debug)]
pub struct EndEntity<'a> {
    /// Which profile.
    pub purpose: Purpose,
    /// The serial number (for user identification: the issuance number).
    pub serial: IssuanceNumber,
    /// The subject's opaque common name.
    pub subject_cn: &'a str,
    /// The subject's public key (SubjectPublicKeyInfo DER).
    pub spki_der: &'a [u8],
    /// Start of validity.
    pub not_before: UnixTime,
    /// End of validity.
    pub not_after: UnixTime,
    /// The four facts: required for signature certificates, refused for user identification.
    pub facts: Option<&'a FourFacts>,
    /// Revocation URLs.
    pub urls: &'a Urls,
}

/// A self-signed JPKI CA certificate (one generation).
pub fn ca_certificate(
    key: &SigningKey,
    purpose: Purpose,
    serial: IssuanceNumber,
    not_before: UnixTime,
    not_after: UnixTime,
) -> Result<CaCertificate, Error> {
    let build = || -> der::Result<Vec<u8>> {
        let subject = ca_name(purpose)?;
        let key_id = key.public_key().sha1_key_id();
        let alt = name(&[(AT_ORGANIZATION, "公的個人認証サービス")])?;
        let exts = vec![
            extension(
                oid::BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
            )?,
            extension(
                oid::KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            )?,
            extension(
                oid::SUBJECT_KEY_IDENTIFIER,
                false,
                &SubjectKeyIdentifier(OctetString::new(key_id.as_slice())?),
            )?,
            extension(oid::AUTHORITY_KEY_IDENTIFIER, false, &aki(&key_id)?)?,
            extension(
                oid::ISSUER_ALT_NAME,
                false,
                &IssuerAltName(vec![GeneralName::DirectoryName(alt)]),
            )?,
        ];
        sign(
            key,
            serial,
            subject.clone(),
            subject,
            key.spki_der(),
            not_before,
            not_after,
            exts,
        )
    };
    CaCertificate::from_der(&build().map_err(encoding)?)
}

/// An end-entity certificate of `ee.purpose`, signed by `ca_key` for `ca`.
pub fn end_entity_certificate(
    ca_key: &SigningKey,
    ca: &CaCertificate,
    ee: &EndEntity<'_>,
) -> Result<Vec<u8>, Error> {
    if (ee.purpose == Purpose::Signature) != ee.facts.is_some() {
        return Err(Error::InvalidFourFacts {
            reason: "four facts belong in signature certificates and only there",
        });
    }
    let build = || -> der::Result<Vec<u8>> {
        let subject = name(&[(AT_COUNTRY, "JP"), (AT_COMMON_NAME, ee.subject_cn)])?;
        let usage = match ee.purpose {
            Purpose::UserIdentification => KeyUsages::DigitalSignature.into(),
            Purpose::Signature => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
        };
        let spki = SubjectPublicKeyInfoOwned::from_der(ee.spki_der)?;
        let key_id = sha1(spki.subject_public_key.raw_bytes());
        let mut exts = vec![
            extension(oid::KEY_USAGE, true, &KeyUsage(usage))?,
            extension(
                oid::CERTIFICATE_POLICIES,
                false,
                &policies(ee.purpose.policy()),
            )?,
            extension(
                oid::SUBJECT_KEY_IDENTIFIER,
                false,
                &SubjectKeyIdentifier(OctetString::new(key_id.as_slice())?),
            )?,
            extension(oid::AUTHORITY_KEY_IDENTIFIER, false, &aki(ca.key_id())?)?,
        ];
        if let Some(facts) = ee.facts {
            exts.push(extension(
                oid::SUBJECT_ALT_NAME,
                false,
                &SubjectAltName(facts.to_general_names()?),
            )?);
        }
        exts.extend(url_extensions(ee.urls)?);
        sign(
            ca_key,
            ee.serial,
            ca.subject().clone(),
            subject,
            ee.spki_der,
            ee.not_before,
            ee.not_after,
            exts,
        )
    };
    let der = build().map_err(encoding)?;
    // Re-read what was made: the issuer never hands out something the verifier would refuse.
    match ee.purpose {
        Purpose::UserIdentification => {
            crate::UserIdentificationCertificate::from_der(&der).map(|_| ())?
        }
        Purpose::Signature => crate::SignatureCertificate::from_der(&der).map(|_| ())?,
    }
    Ok(der)
}

/// A delegated OCSP responder certificate: id-kp-OCSPSigning, id-pkix-ocsp-nocheck.
pub fn ocsp_responder_certificate(
    ca_key: &SigningKey,
    ca: &CaCertificate,
    responder: &SigningKey,
    serial: IssuanceNumber,
    not_before: UnixTime,
    not_after: UnixTime,
) -> Result<Vec<u8>, Error> {
    let build = || -> der::Result<Vec<u8>> {
        let cn = format!("OCSP Responder for {}", ca.purpose().ca_unit());
        let subject = name(&[
            (AT_COUNTRY, "JP"),
            (AT_ORGANIZATION, "JPKI"),
            (AT_COMMON_NAME, &cn),
        ])?;
        let key_id = responder.public_key().sha1_key_id();
        let exts = vec![
            extension(
                oid::KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?,
            extension(
                oid::EXT_KEY_USAGE,
                false,
                &ExtendedKeyUsage(vec![oid::KP_OCSP_SIGNING]),
            )?,
            extension(oid::OCSP_NOCHECK, false, &Null)?,
            extension(
                oid::SUBJECT_KEY_IDENTIFIER,
                false,
                &SubjectKeyIdentifier(OctetString::new(key_id.as_slice())?),
            )?,
            extension(oid::AUTHORITY_KEY_IDENTIFIER, false, &aki(ca.key_id())?)?,
        ];
        sign(
            ca_key,
            serial,
            ca.subject().clone(),
            subject,
            responder.spki_der(),
            not_before,
            not_after,
            exts,
        )
    };
    build().map_err(encoding)
}

#[allow(clippy::too_many_arguments)] // one call per certificate kind, each field named at the call
fn sign(
    key: &SigningKey,
    serial: IssuanceNumber,
    issuer: Name,
    subject: Name,
    spki_der: &[u8],
    not_before: UnixTime,
    not_after: UnixTime,
    extensions: Vec<Extension>,
) -> der::Result<Vec<u8>> {
    let tbs = TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: serial.to_serial(),
        signature: rsa_sha256_alg(),
        issuer,
        validity: Validity {
            not_before: not_before.to_x509()?,
            not_after: not_after.to_x509()?,
        },
        subject,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(spki_der)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let signature = key.sign(&tbs.to_der()?);
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: rsa_sha256_alg(),
        signature: BitString::from_bytes(&signature)?,
    }
    .to_der()
}

fn url_extensions(urls: &Urls) -> der::Result<Vec<Extension>> {
    let uri = |u: &str| -> der::Result<GeneralName> {
        Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(u)?))
    };
    let dp = |u: &str| -> der::Result<DistributionPoint> {
        Ok(DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![uri(u)?])),
            reasons: None,
            crl_issuer: None,
        })
    };
    let mut exts = Vec::new();
    let mut access = Vec::new();
    if let Some(u) = &urls.ocsp {
        access.push(AccessDescription {
            access_method: oid::AD_OCSP,
            access_location: uri(u)?,
        });
    }
    if let Some(u) = &urls.ca_issuers {
        access.push(AccessDescription {
            access_method: oid::AD_CA_ISSUERS,
            access_location: uri(u)?,
        });
    }
    if !access.is_empty() {
        exts.push(extension(
            oid::AUTHORITY_INFO_ACCESS,
            false,
            &AuthorityInfoAccessSyntax(access),
        )?);
    }
    if let Some(u) = &urls.crl {
        exts.push(extension(
            oid::CRL_DISTRIBUTION_POINTS,
            false,
            &CrlDistributionPoints(vec![dp(u)?]),
        )?);
    }
    if let Some(u) = &urls.delta_crl {
        exts.push(extension(
            oid::FRESHEST_CRL,
            false,
            &CrlDistributionPoints(vec![dp(u)?]),
        )?);
    }
    Ok(exts)
}

fn policies(policy: const_oid::ObjectIdentifier) -> CertificatePolicies {
    CertificatePolicies(vec![PolicyInformation {
        policy_identifier: policy,
        policy_qualifiers: None,
    }])
}

pub(super) fn aki(key_id: &[u8]) -> der::Result<AuthorityKeyIdentifier> {
    Ok(AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_id)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    })
}

fn sha1(b: &[u8]) -> [u8; 20] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, b);
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

pub(super) fn encoding(e: der::Error) -> Error {
    Error::malformed(InputKind::Certificate, e)
}
