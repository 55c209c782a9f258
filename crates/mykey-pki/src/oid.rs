//! Object identifiers used by JPKI and by the RFCs the crate implements.

use const_oid::ObjectIdentifier as Oid;

/// JPKI user-identification certificate policy [unconfirmed; docs/jpki.md §8].
pub const JPKI_USER_IDENTIFICATION_POLICY: Oid = Oid::new_unwrap("1.2.392.200149.8.5.1.3");
/// JPKI signature certificate policy [unconfirmed; docs/jpki.md §9].
pub const JPKI_SIGNATURE_POLICY: Oid = Oid::new_unwrap("1.2.392.200149.8.5.1.1");
/// Signature certificate otherName: name.
pub const JPKI_NAME: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.1");
/// Signature certificate otherName: which characters of the name were replaced.
pub const JPKI_NAME_REPLACED: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.2");
/// Signature certificate otherName: sex.
pub const JPKI_SEX: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.3");
/// Signature certificate otherName: birth date `EYYYYMMDD`.
pub const JPKI_BIRTH_DATE: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.4");
/// Signature certificate otherName: address.
pub const JPKI_ADDRESS: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.5");
/// Signature certificate otherName: which characters of the address were replaced.
pub const JPKI_ADDRESS_REPLACED: Oid = Oid::new_unwrap("1.2.392.200149.8.5.5.6");

/// rsaEncryption (RFC 8017).
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// sha256WithRSAEncryption (RFC 8017).
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// id-sha1, for OCSP CertIDs (RFC 6960 §4.1.1 still names it the common choice).
pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// id-sha256.
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");

/// id-ce-subjectKeyIdentifier.
pub const SUBJECT_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.14");
/// id-ce-keyUsage.
pub const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
/// id-ce-subjectAltName.
pub const SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
/// id-ce-issuerAltName.
pub const ISSUER_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.18");
/// id-ce-basicConstraints.
pub const BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
/// id-ce-cRLNumber.
pub const CRL_NUMBER: Oid = Oid::new_unwrap("2.5.29.20");
/// id-ce-cRLReasons.
pub const CRL_REASON: Oid = Oid::new_unwrap("2.5.29.21");
/// id-ce-deltaCRLIndicator.
pub const DELTA_CRL_INDICATOR: Oid = Oid::new_unwrap("2.5.29.27");
/// id-ce-cRLDistributionPoints.
pub const CRL_DISTRIBUTION_POINTS: Oid = Oid::new_unwrap("2.5.29.31");
/// id-ce-certificatePolicies.
pub const CERTIFICATE_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
/// id-ce-authorityKeyIdentifier.
pub const AUTHORITY_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.35");
/// id-ce-extKeyUsage.
pub const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
/// id-ce-freshestCRL (where delta CRLs are published).
pub const FRESHEST_CRL: Oid = Oid::new_unwrap("2.5.29.46");
/// id-pe-authorityInfoAccess.
pub const AUTHORITY_INFO_ACCESS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.1");
/// id-ad-ocsp.
pub const AD_OCSP: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1");
/// id-ad-caIssuers.
pub const AD_CA_ISSUERS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.2");
/// id-kp-OCSPSigning.
pub const KP_OCSP_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.9");
/// id-pkix-ocsp-basic.
pub const OCSP_BASIC: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-pkix-ocsp-nonce.
pub const OCSP_NONCE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-pkix-ocsp-nocheck.
pub const OCSP_NOCHECK: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.5");

/// id-at-countryName.
pub const AT_COUNTRY: Oid = Oid::new_unwrap("2.5.4.6");
/// id-at-organizationName.
pub const AT_ORGANIZATION: Oid = Oid::new_unwrap("2.5.4.10");
/// id-at-organizationalUnitName.
pub const AT_ORGANIZATIONAL_UNIT: Oid = Oid::new_unwrap("2.5.4.11");
/// id-at-commonName.
pub const AT_COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");
