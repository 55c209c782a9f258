use mykey_pki::issue::{self, EndEntity, Urls};
use mykey_pki::{
    Error, InputKind, MAX_CERTIFICATE_LEN, Purpose, Sex, SignatureCertificate, SignedObject,
    UserIdentificationCertificate, verify_challenge,
};

use crate::fixtures::*;

#[test]
fn user_identification_certificate_validates_and_names_its_issuance_number() {
    let cert = UserIdentificationCertificate::from_der(&ui(0x1234_5678)).unwrap();
    assert_eq!(cert.issuance_number(), serial(0x1234_5678));
    assert_eq!(cert.issuance_number().to_string(), "12345678");
    let anchors = anchors();
    let issuer = anchors.validate_user_identification(&cert, NOW).unwrap();
    assert_eq!(issuer.key_id(), fx().ui_g1.cert.key_id());
}

#[test]
fn two_generations_with_one_name_are_told_apart_by_key_identifier() {
    let f = fx();
    assert_eq!(f.ui_g1.cert.subject(), f.ui_g2.cert.subject());
    let der = ee(
        &f.ui_g2,
        Purpose::UserIdentification,
        77,
        &f.person,
        NOW.minus(DAY),
    );
    let cert = UserIdentificationCertificate::from_der(&der).unwrap();
    let anchors = anchors();
    let issuer = anchors.validate_user_identification(&cert, NOW).unwrap();
    assert_eq!(issuer.key_id(), f.ui_g2.cert.key_id());
}

#[test]
fn signature_certificate_exposes_the_four_facts() {
    let f = fx();
    let der = ee(&f.sig, Purpose::Signature, 9, &f.other, NOW.minus(DAY));
    let cert = SignatureCertificate::from_der(&der).unwrap();
    assert_eq!(cert.facts().name(), "山田\u{3000}花子");
    assert_eq!(cert.facts().sex(), Sex::Female);
    assert_eq!(cert.facts().birth_date().to_certificate_form(), "319850615");
    anchors().validate_signature(&cert, NOW).unwrap();
}

#[test]
fn a_signature_certificate_is_not_a_user_identification_certificate() {
    let f = fx();
    let der = ee(&f.sig, Purpose::Signature, 9, &f.other, NOW.minus(DAY));
    assert!(matches!(
        UserIdentificationCertificate::from_der(&der),
        Err(Error::WrongPolicy {
            purpose: Purpose::UserIdentification,
            ..
        })
    ));
    assert!(matches!(
        SignatureCertificate::from_der(&ui(5)),
        Err(Error::WrongKeyUsage {
            purpose: Purpose::Signature,
            found: 1
        })
    ));
}

#[test]
fn a_ca_certificate_is_not_an_end_entity() {
    assert_eq!(
        UserIdentificationCertificate::from_der(fx().ui_g1.cert.der()).unwrap_err(),
        Error::WrongBasicConstraints { expected_ca: false }
    );
}

#[test]
fn validity_is_checked_at_the_time_passed_in() {
    let cert = UserIdentificationCertificate::from_der(&ui(1)).unwrap();
    let a = anchors();
    assert!(matches!(
        a.validate_user_identification(&cert, NOW.minus(2 * DAY)),
        Err(Error::NotYetValid { .. })
    ));
    let late = NOW.plus(YEAR);
    assert_eq!(
        a.validate_user_identification(&cert, late).unwrap_err(),
        Error::Expired {
            time: late,
            not_after: cert.not_after()
        }
    );
}

#[test]
fn an_expired_ca_generation_is_no_longer_trusted() {
    let cert = UserIdentificationCertificate::from_der(&ui(1)).unwrap();
    let after_ca = fx().ui_g1.cert.not_after().plus(1);
    assert!(matches!(
        anchors().validate_user_identification(&cert, after_ca),
        Err(Error::CaNotValid { .. })
    ));
}

#[test]
fn unknown_and_wrong_purpose_cas_are_refused_distinctly() {
    let f = fx();
    let stranger = ee(
        &f.stranger,
        Purpose::UserIdentification,
        3,
        &f.person,
        NOW.minus(DAY),
    );
    let cert = UserIdentificationCertificate::from_der(&stranger).unwrap();
    assert!(matches!(
        anchors().validate_user_identification(&cert, NOW),
        Err(Error::UnknownIssuer {
            purpose: Purpose::UserIdentification,
            ..
        })
    ));
    // A user-identification profile certificate issued by the signature CA.
    let crossed = ee(
        &f.sig,
        Purpose::UserIdentification,
        4,
        &f.person,
        NOW.minus(DAY),
    );
    let cert = UserIdentificationCertificate::from_der(&crossed).unwrap();
    assert_eq!(
        anchors()
            .validate_user_identification(&cert, NOW)
            .unwrap_err(),
        Error::WrongPurpose {
            certificate: Purpose::UserIdentification,
            anchors: Purpose::Signature
        }
    );
}

#[test]
fn a_tampered_certificate_fails_its_signature() {
    let mut der = ui(1);
    let n = der.len();
    der[n - 10] ^= 1; // inside the signature value
    let cert = UserIdentificationCertificate::from_der(&der).unwrap();
    assert_eq!(
        anchors()
            .validate_user_identification(&cert, NOW)
            .unwrap_err(),
        Error::BadSignature(SignedObject::Certificate)
    );
}

#[test]
fn malformed_truncated_and_oversized_der_are_refused() {
    let der = ui(1);
    for cut in [0, 1, 4, 100, der.len() - 1] {
        assert!(
            matches!(
                UserIdentificationCertificate::from_der(&der[..cut]),
                Err(Error::Malformed {
                    kind: InputKind::Certificate,
                    ..
                })
            ),
            "cut at {cut}"
        );
    }
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        UserIdentificationCertificate::from_der(&trailing),
        Err(Error::Malformed { .. })
    ));
    let big = vec![0x30; MAX_CERTIFICATE_LEN + 1];
    assert_eq!(
        UserIdentificationCertificate::from_der(&big).unwrap_err(),
        Error::TooLarge {
            kind: InputKind::Certificate,
            len: MAX_CERTIFICATE_LEN + 1,
            limit: MAX_CERTIFICATE_LEN
        }
    );
}

#[test]
fn other_signature_algorithms_are_refused() {
    // sha256WithRSAEncryption 1.2.840.113549.1.1.11 → sha384WithRSAEncryption (…1.1.12), both places.
    let from = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    let mut der = ui(1);
    let mut i = 0;
    while i + from.len() <= der.len() {
        if der[i..i + from.len()] == from {
            der[i + from.len() - 1] = 0x0c;
        }
        i += 1;
    }
    assert!(matches!(
        UserIdentificationCertificate::from_der(&der),
        Err(Error::UnsupportedSignatureAlgorithm { .. })
    ));
}

#[test]
fn keys_other_than_rsa_2048_are_refused() {
    let f = fx();
    let big = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa3072).unwrap();
    let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der<'_>>::as_der(
        aws_lc_rs::signature::KeyPair::public_key(&big),
    )
    .unwrap();
    let err = issue::end_entity_certificate(
        &f.ui_g1.key,
        &f.ui_g1.cert,
        &EndEntity {
            purpose: Purpose::UserIdentification,
            serial: serial(1),
            subject_cn: "x",
            spki_der: spki.as_ref(),
            not_before: NOW,
            not_after: NOW.plus(DAY),
            facts: None,
            urls: &Urls::default(),
        },
    )
    .unwrap_err();
    assert_eq!(err, Error::WrongKeySize { bits: 3072 });
}

#[test]
fn challenge_signature_is_pkcs1_sha256_digest_info() {
    let cert = UserIdentificationCertificate::from_der(&ui(1)).unwrap();
    let challenge = [7u8; 32];
    let sig = fx().person.sign(&challenge);
    verify_challenge(&cert, &challenge, &sig).unwrap();
    assert_eq!(
        verify_challenge(&cert, &[8u8; 32], &sig).unwrap_err(),
        Error::BadSignature(SignedObject::Challenge)
    );
    let other = fx().other.sign(&challenge);
    assert!(verify_challenge(&cert, &challenge, &other).is_err());
    assert!(verify_challenge(&cert, &challenge, &sig[..255]).is_err());
}

#[test]
fn the_verified_certificate_cache_rechecks_time_but_not_the_path() {
    let cache = mykey_pki::VerifiedCertificates::new(anchors(), 2);
    let der = ui(1);
    let first = cache.user_identification(&der, NOW).unwrap();
    let again = cache.user_identification(&der, NOW).unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    assert!(matches!(
        cache.user_identification(&der, NOW.plus(YEAR)),
        Err(Error::Expired { .. })
    ));
    assert!(matches!(
        cache.user_identification(&der, fx().ui_g1.cert.not_after().plus(1)),
        Err(Error::CaNotValid { .. })
    ));
    // Failures are not cached: a tampered certificate fails every time.
    let mut bad = ui(2);
    let n = bad.len();
    bad[n - 4] ^= 1;
    for _ in 0..2 {
        assert_eq!(
            cache.user_identification(&bad, NOW).unwrap_err(),
            Error::BadSignature(SignedObject::Certificate)
        );
    }
    // Past capacity it starts over and still answers correctly.
    for i in 3..6 {
        cache.user_identification(&ui(i), NOW).unwrap();
    }
    cache.user_identification(&der, NOW).unwrap();
}

#[test]
fn a_new_ca_generation_must_be_self_signed_and_valid() {
    let g2 = &fx().ui_g2.cert;
    g2.check_self_signed(NOW).unwrap();
    assert!(matches!(
        g2.check_self_signed(NOW.plus(20 * YEAR)),
        Err(Error::Expired { .. })
    ));
    // Its signature altered: refused.
    let mut der = g2.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1;
    let altered = mykey_pki::CaCertificate::from_der(&der).unwrap();
    assert!(matches!(
        altered.check_self_signed(NOW),
        Err(Error::BadSignature(SignedObject::Certificate))
    ));
}
