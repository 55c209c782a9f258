//! COMPUTE DIGITAL SIGNATURE.

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use mykey_pki::RsaPublicKey;

use super::*;
use crate::digest_info::{self, HashAlgorithm};

pub(super) fn verify_signature(
    spki: &[u8],
    alg: &'static signature::RsaParameters,
    msg: &[u8],
    sig: &[u8],
) {
    let key = RsaPublicKey::from_spki_der(spki).unwrap();
    UnparsedPublicKey::new(alg, key.pkcs1_der())
        .verify(msg, sig)
        .unwrap();
}

#[test]
fn signing_pads_the_digest_info_and_needs_the_key_pin() {
    let mut c = card();
    let keys = c.public_keys();
    sw(&mut c, SELECT_JPKI);
    sw(&mut c, "00A4020C020017");
    let di = digest_info::sha256_of(b"challenge");
    assert_eq!(
        sw(&mut c, &sign_hex(&di)),
        StatusWord::SecurityStatusNotSatisfied
    );
    sw(&mut c, "00A4020C020018");
    sw(&mut c, VERIFY_1234);
    assert_eq!(
        sw(&mut c, &sign_hex(&di)),
        StatusWord::IncompatibleFileStructure,
        "PIN file is not a key"
    );
    sw(&mut c, "00A4020C020017");
    let (sig, s) = run(&mut c, &sign_hex(&di));
    assert_eq!((sig.len(), s), (256, StatusWord::Ok));
    verify_signature(
        &keys.user_identification,
        &signature::RSA_PKCS1_2048_8192_SHA256,
        b"challenge",
        &sig,
    );
    for (alg, params, m) in [
        (
            &aws_lc_rs::digest::SHA384,
            &signature::RSA_PKCS1_2048_8192_SHA384,
            HashAlgorithm::Sha384,
        ),
        (
            &aws_lc_rs::digest::SHA512,
            &signature::RSA_PKCS1_2048_8192_SHA512,
            HashAlgorithm::Sha512,
        ),
    ] {
        let di = digest_info::encode(m, aws_lc_rs::digest::digest(alg, b"doc").as_ref());
        let (sig, s) = run(&mut c, &sign_hex(&di));
        assert_eq!(s, StatusWord::Ok);
        verify_signature(&keys.user_identification, params, b"doc", &sig);
    }
    // SHA-1, raw data, a DigestInfo one byte short: 6A 80.
    assert_eq!(
        sw(
            &mut c,
            &sign_hex(&digest_info::encode(HashAlgorithm::Sha1, &[7; 20]))
        ),
        StatusWord::IncorrectData
    );
    assert_eq!(
        sw(&mut c, &sign_hex(&[0x55; 32])),
        StatusWord::IncorrectData
    );
    assert_eq!(
        sw(&mut c, &sign_hex(&di[..di.len() - 1])),
        StatusWord::IncorrectData
    );
    let no_le = &sign_hex(&di)[..sign_hex(&di).len() - 2];
    assert_eq!(sw(&mut c, no_le), StatusWord::WrongLength);
    let short_le = format!("{no_le}80");
    assert_eq!(sw(&mut c, &short_le), StatusWord::WrongLe { available: 0 });
    assert_eq!(
        sw(&mut c, &format!("802A0081{}", &sign_hex(&di)[8..])),
        StatusWord::IncorrectP1P2
    );
    // The signature key wants the signature password, not the UI PIN.
    sw(&mut c, "00A4020C02001A");
    assert_eq!(
        sw(&mut c, &sign_hex(&di)),
        StatusWord::SecurityStatusNotSatisfied
    );
    sw(&mut c, "00A4020C02001B");
    sw(&mut c, &verify_hex("ABC123"));
    sw(&mut c, "00A4020C02001A");
    let (sig, s) = run(&mut c, &sign_hex(&digest_info::sha256_of(b"contract")));
    assert_eq!(s, StatusWord::Ok);
    verify_signature(
        &keys.signature,
        &signature::RSA_PKCS1_2048_8192_SHA256,
        b"contract",
        &sig,
    );
}
