use mykey_pki::issue::{OcspResponder, SigningKey, ocsp_responder_certificate};
use mykey_pki::ocsp::{CertStatus, Request, cert_id_for, nonce_extension};
use mykey_pki::{Error, Purpose, RevocationReason, SignedObject, UnixTime};
use x509_ocsp::OcspResponseStatus;

use crate::fixtures::*;

fn responder(ca: &Ca) -> OcspResponder {
    let key = SigningKey::generate().unwrap();
    let cert = ocsp_responder_certificate(
        &ca.key,
        &ca.cert,
        &key,
        serial(0xAB),
        NOW.minus(DAY),
        NOW.plus(YEAR),
    )
    .unwrap();
    OcspResponder::new(ca.cert.clone(), key, &cert).unwrap()
}

fn answer(r: &OcspResponder, req: &Request, status: CertStatus, next: UnixTime) -> Vec<u8> {
    let nonce = req.nonce_for_test();
    r.respond(
        &[(req.cert_id(), status)],
        NOW.minus(60),
        next,
        NOW,
        nonce.as_ref(),
    )
    .unwrap()
}

trait NonceForTest {
    fn nonce_for_test(&self) -> Option<x509_cert::ext::Extension>;
}

impl NonceForTest for Request {
    // The responder echoes the request's nonce extension, as ours does.
    fn nonce_for_test(&self) -> Option<x509_cert::ext::Extension> {
        let parsed = Request::parse(self.der()).unwrap();
        parsed
            .tbs_request
            .request_extensions
            .and_then(|e| e.into_iter().next())
    }
}

#[test]
fn delegated_responder_answers_good_revoked_and_unknown() {
    let f = fx();
    let r = responder(&f.ui_g1);
    let req = Request::new(&f.ui_g1.cert, serial(42)).unwrap();
    assert_eq!(r.serial_for(req.cert_id()), Some(serial(42)));
    let a = req
        .verify_response(
            &answer(&r, &req, CertStatus::Good, NOW.plus(600)),
            &f.ui_g1.cert,
            NOW,
        )
        .unwrap();
    assert_eq!(a.status, CertStatus::Good);
    assert_eq!(a.next_update, NOW.plus(600));
    let revoked = CertStatus::Revoked {
        revoked_at: NOW.minus(DAY),
        reason: Some(RevocationReason::Superseded),
    };
    let a = req
        .verify_response(
            &answer(&r, &req, revoked, NOW.plus(600)),
            &f.ui_g1.cert,
            NOW,
        )
        .unwrap();
    assert_eq!(a.status, revoked);
    let a = req
        .verify_response(
            &answer(&r, &req, CertStatus::Unknown, NOW.plus(600)),
            &f.ui_g1.cert,
            NOW,
        )
        .unwrap();
    assert_eq!(a.status, CertStatus::Unknown);
}

#[test]
fn the_ca_itself_may_sign() {
    let f = fx();
    let key = SigningKey::from_pkcs8(&f.ui_g1.key.to_pkcs8().unwrap()).unwrap();
    let r = OcspResponder::new(f.ui_g1.cert.clone(), key, f.ui_g1.cert.der()).unwrap();
    let req = Request::new(&f.ui_g1.cert, serial(1)).unwrap();
    req.verify_response(
        &answer(&r, &req, CertStatus::Good, NOW.plus(60)),
        &f.ui_g1.cert,
        NOW,
    )
    .unwrap();
}

#[test]
fn responses_signed_by_unauthorised_keys_are_refused() {
    let f = fx();
    let req = Request::new(&f.ui_g1.cert, serial(1)).unwrap();
    // A responder certified by another CA generation.
    let r = responder(&f.ui_g2);
    let resp = answer(&r, &req, CertStatus::Good, NOW.plus(60));
    assert!(matches!(
        req.verify_response(&resp, &f.ui_g1.cert, NOW),
        Err(Error::OcspUnauthorizedSigner { .. })
    ));
    // A certificate of the right CA without id-kp-OCSPSigning.
    let ee = ee(
        &f.ui_g1,
        Purpose::UserIdentification,
        5,
        &f.person,
        NOW.minus(DAY),
    );
    let key = SigningKey::from_pkcs8(&f.person.to_pkcs8().unwrap()).unwrap();
    let r = OcspResponder::new(f.ui_g1.cert.clone(), key, &ee).unwrap();
    let resp = answer(&r, &req, CertStatus::Good, NOW.plus(60));
    assert_eq!(
        req.verify_response(&resp, &f.ui_g1.cert, NOW).unwrap_err(),
        Error::OcspUnauthorizedSigner {
            reason: "responder certificate lacks id-kp-OCSPSigning"
        }
    );
}

#[test]
fn a_tampered_response_fails_its_signature() {
    let f = fx();
    let r = responder(&f.ui_g1);
    let req = Request::new(&f.ui_g1.cert, serial(1)).unwrap();
    let mut resp = answer(&r, &req, CertStatus::Good, NOW.plus(60));
    // Flip a byte of the nonce echo inside tbsResponseData (the 32 nonce bytes appear twice: find
    // the response's copy after the first 20 bytes).
    let nonce = req.nonce_for_test().unwrap();
    let needle = nonce.extn_value.as_bytes();
    let at = resp
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    resp[at + needle.len() - 1] ^= 1;
    assert_eq!(
        req.verify_response(&resp, &f.ui_g1.cert, NOW).unwrap_err(),
        Error::BadSignature(SignedObject::OcspResponse)
    );
}

#[test]
fn stale_future_and_mismatched_responses_are_refused() {
    let f = fx();
    let r = responder(&f.ui_g1);
    let req = Request::new(&f.ui_g1.cert, serial(1)).unwrap();
    let stale = answer(&r, &req, CertStatus::Good, NOW.minus(1));
    assert!(matches!(
        req.verify_response(&stale, &f.ui_g1.cert, NOW),
        Err(Error::OcspStale { .. })
    ));
    let fresh = answer(&r, &req, CertStatus::Good, NOW.plus(DAY));
    assert!(matches!(
        req.verify_response(&fresh, &f.ui_g1.cert, NOW.minus(3600)),
        Err(Error::OcspNotYetValid { .. })
    ));
    // An answer about another certificate.
    let other = Request::new(&f.ui_g1.cert, serial(2)).unwrap();
    let resp = answer(&r, &other, CertStatus::Good, NOW.plus(60));
    assert_eq!(
        req.verify_response(&resp, &f.ui_g1.cert, NOW).unwrap_err(),
        Error::OcspCertIdMismatch
    );
}

#[test]
fn the_nonce_must_come_back() {
    let f = fx();
    let r = responder(&f.ui_g1);
    let req = Request::new(&f.ui_g1.cert, serial(1)).unwrap();
    let id = cert_id_for(&f.ui_g1.cert, serial(1)).unwrap();
    let none = r
        .respond(&[(&id, CertStatus::Good)], NOW, NOW.plus(60), NOW, None)
        .unwrap();
    assert!(matches!(
        req.verify_response(&none, &f.ui_g1.cert, NOW),
        Err(Error::OcspNonceMismatch { received: None, .. })
    ));
    let wrong = nonce_extension(&[9u8; 32]).unwrap();
    let resp = r
        .respond(
            &[(&id, CertStatus::Good)],
            NOW,
            NOW.plus(60),
            NOW,
            Some(&wrong),
        )
        .unwrap();
    assert!(matches!(
        req.verify_response(&resp, &f.ui_g1.cert, NOW),
        Err(Error::OcspNonceMismatch {
            received: Some(_),
            ..
        })
    ));
    // Without a nonce in the request, none is needed.
    let plain = Request::without_nonce(&f.ui_g1.cert, serial(1)).unwrap();
    plain.verify_response(&none, &f.ui_g1.cert, NOW).unwrap();
}

#[test]
fn error_statuses_and_garbage_are_refused() {
    let f = fx();
    let req = Request::new(&f.ui_g1.cert, serial(1)).unwrap();
    let unauthorized = OcspResponder::error_response(OcspResponseStatus::Unauthorized);
    assert_eq!(
        req.verify_response(&unauthorized, &f.ui_g1.cert, NOW)
            .unwrap_err(),
        Error::OcspStatus { status: 6 }
    );
    assert!(matches!(
        req.verify_response(b"\x30\x03\x0a\x01", &f.ui_g1.cert, NOW),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        req.verify_response(&[], &f.ui_g1.cert, NOW),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn responders_only_answer_for_their_own_ca() {
    let f = fx();
    let r = responder(&f.ui_g1);
    let foreign = cert_id_for(&f.ui_g2.cert, serial(1)).unwrap();
    assert_eq!(r.serial_for(&foreign), None);
}
