//! Certification, renewal, and secrets kept out of `Debug`.

use aws_lc_rs::signature;

use super::signing::verify_signature;
use super::*;
use crate::digest_info;

#[test]
fn certificates_must_fit_the_keys() {
    let mut c = VirtualCard::generate(secrets()).unwrap();
    let other = VirtualCard::generate(secrets()).unwrap();
    let theirs = certify(&other.public_keys());
    assert!(matches!(
        c.install_certificates(theirs.clone()),
        Err(CardError::KeyMismatch {
            which: CertificateFile::UserIdentification
        })
    ));
    let mut mixed = certify(&c.public_keys());
    mixed.signature = theirs.signature.clone();
    mixed.signature_ca = theirs.signature_ca.clone();
    assert!(matches!(
        c.install_certificates(mixed),
        Err(CardError::KeyMismatch {
            which: CertificateFile::Signature
        })
    ));
    let mut swapped = certify(&c.public_keys());
    std::mem::swap(
        &mut swapped.user_identification_ca,
        &mut swapped.signature_ca,
    );
    assert!(matches!(
        c.install_certificates(swapped),
        Err(CardError::WrongPurpose { .. })
    ));
    let mut foreign_ca = certify(&c.public_keys());
    foreign_ca.user_identification_ca = theirs.user_identification_ca.clone();
    assert!(matches!(
        c.install_certificates(foreign_ca),
        Err(CardError::NotIssuedBy {
            which: CertificateFile::UserIdentification
        })
    ));
    let mut garbage = certify(&c.public_keys());
    garbage.user_identification = vec![0x30, 0x03, 0x02, 0x01, 0x00];
    assert!(matches!(
        c.install_certificates(garbage),
        Err(CardError::Certificate { .. })
    ));
    assert!(c.certificates().is_none());
}

#[test]
fn renewal_keeps_old_keys_until_new_certificates_arrive() {
    let mut c = card();
    let old = c.public_keys();
    let new = c.renew_keys().unwrap();
    assert_ne!(old, new);
    assert_eq!(c.public_keys(), old);
    assert_eq!(c.pending_public_keys(), Some(new.clone()));
    assert!(c.summary().awaiting_certificates);
    // The old key still signs.
    sw(&mut c, SELECT_JPKI);
    sw(&mut c, "00A4020C020018");
    sw(&mut c, VERIFY_1234);
    sw(&mut c, "00A4020C020017");
    let (sig, _) = run(&mut c, &sign_hex(&digest_info::sha256_of(b"a")));
    verify_signature(
        &old.user_identification,
        &signature::RSA_PKCS1_2048_8192_SHA256,
        b"a",
        &sig,
    );
    // The pending keys survive storage.
    let mut c = VirtualCard::from_model(&c.to_model().unwrap()).unwrap();
    c.install_certificates(certify(&new)).unwrap();
    assert_eq!(c.public_keys(), new);
    assert_eq!(c.pending_public_keys(), None);
    assert!(!c.summary().awaiting_certificates);
}

#[test]
fn secrets_never_show_in_debug() {
    let c = card();
    let shown = format!("{c:?} {:?} {:?}", secrets(), c.summary());
    for secret in [
        "1234",
        "ABC123",
        "5678",
        "123456789018",
        "0815",
        "PRIVATE KEY",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}
