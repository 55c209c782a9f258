use std::collections::HashMap;

use mykey_pki::issue::{CrlTemplate, build_crl};
use mykey_pki::{
    Crl, CrlEntry, CrlKind, Error, RevocationIndex, RevocationReason, RevocationStatus,
    SignedObject,
};
use proptest::prelude::*;

use crate::fixtures::*;

fn entry(n: u64, reason: Option<RevocationReason>) -> CrlEntry {
    CrlEntry {
        serial: serial(n),
        revoked_at: NOW.minus(DAY),
        reason,
    }
}

fn crl(ca: &Ca, number: u64, base: Option<u64>, entries: &[CrlEntry]) -> Crl {
    let der = build_crl(
        &ca.key,
        &ca.cert,
        &CrlTemplate {
            this_update: NOW.minus(60),
            next_update: NOW.plus(DAY),
            number,
            base_number: base,
            entries,
        },
    )
    .unwrap();
    Crl::from_der(der).unwrap()
}

#[test]
fn a_full_crl_round_trips_its_entries() {
    let entries = [
        entry(1, Some(RevocationReason::Superseded)),
        entry(0xFFFF_FFFF_FFFF, Some(RevocationReason::KeyCompromise)),
        entry(3, None),
    ];
    let c = crl(&fx().ui_g1, 7, None, &entries);
    c.verify(&fx().ui_g1.cert, NOW).unwrap();
    assert_eq!(c.kind(), CrlKind::Full);
    assert_eq!(c.number(), 7);
    let back: Vec<CrlEntry> = c.entries().map(Result::unwrap).collect();
    assert_eq!(back, entries);
}

#[test]
fn the_index_answers_good_revoked_and_stale() {
    let f = fx();
    let c = crl(
        &f.ui_g1,
        1,
        None,
        &[entry(10, Some(RevocationReason::Superseded))],
    );
    let idx = RevocationIndex::from_full_crl(&c, &f.ui_g1.cert, NOW).unwrap();
    assert_eq!(
        idx.lookup(&serial(10), NOW),
        RevocationStatus::Revoked {
            reason: Some(RevocationReason::Superseded),
            revoked_at: NOW.minus(DAY)
        }
    );
    assert_eq!(idx.lookup(&serial(11), NOW), RevocationStatus::Good);
    assert_eq!(
        idx.lookup(&serial(11), NOW.plus(DAY + 1)),
        RevocationStatus::Stale {
            next_update: NOW.plus(DAY)
        }
    );
}

#[test]
fn a_delta_adds_revocations_and_releases_holds() {
    let f = fx();
    let base = crl(
        &f.ui_g1,
        5,
        None,
        &[entry(1, Some(RevocationReason::CertificateHold))],
    );
    let mut idx = RevocationIndex::from_full_crl(&base, &f.ui_g1.cert, NOW).unwrap();
    let delta = crl(
        &f.ui_g1,
        6,
        Some(5),
        &[
            entry(1, Some(RevocationReason::RemoveFromCrl)),
            entry(2, Some(RevocationReason::AffiliationChanged)),
        ],
    );
    assert_eq!(delta.kind(), CrlKind::Delta);
    idx.apply_delta(&delta, &f.ui_g1.cert, NOW).unwrap();
    assert_eq!(idx.lookup(&serial(1), NOW), RevocationStatus::Good);
    assert!(matches!(
        idx.lookup(&serial(2), NOW),
        RevocationStatus::Revoked {
            reason: Some(RevocationReason::AffiliationChanged),
            ..
        }
    ));
    // The same delta again, or one built on a later base, is out of sequence.
    assert!(matches!(
        idx.apply_delta(&delta, &f.ui_g1.cert, NOW),
        Err(Error::CrlOutOfSequence { .. })
    ));
    let ahead = crl(&f.ui_g1, 9, Some(8), &[]);
    assert!(matches!(
        idx.apply_delta(&ahead, &f.ui_g1.cert, NOW),
        Err(Error::CrlOutOfSequence { .. })
    ));
    // A complete CRL is not a delta, and a delta is not a complete CRL.
    assert_eq!(
        idx.apply_delta(&crl(&f.ui_g1, 10, None, &[]), &f.ui_g1.cert, NOW)
            .unwrap_err(),
        Error::CrlWrongKind {
            expected: CrlKind::Delta
        }
    );
    assert_eq!(
        RevocationIndex::from_full_crl(&delta, &f.ui_g1.cert, NOW).unwrap_err(),
        Error::CrlWrongKind {
            expected: CrlKind::Full
        }
    );
}

#[test]
fn crls_from_another_ca_tampered_or_stale_are_refused() {
    let f = fx();
    let c = crl(&f.ui_g2, 1, None, &[]);
    assert_eq!(
        c.verify(&f.ui_g1.cert, NOW).unwrap_err(),
        Error::CrlWrongIssuer
    );
    assert_eq!(
        c.verify(&f.sig.cert, NOW).unwrap_err(),
        Error::CrlWrongIssuer
    );
    assert!(matches!(
        c.verify(&f.ui_g2.cert, NOW.plus(DAY + 1)),
        Err(Error::CrlStale { .. })
    ));
    assert!(matches!(
        c.verify(&f.ui_g2.cert, NOW.minus(3600)),
        Err(Error::CrlNotYetValid { .. })
    ));
    let mut der = c.der().to_vec();
    let n = der.len();
    der[n - 1] ^= 0x55;
    let tampered = Crl::from_der(der).unwrap();
    assert_eq!(
        tampered.verify(&f.ui_g2.cert, NOW).unwrap_err(),
        Error::BadSignature(SignedObject::Crl)
    );
}

#[test]
fn malformed_crls_are_refused() {
    let c = crl(&fx().ui_g1, 1, None, &[entry(1, None)]);
    let der = c.der();
    for cut in [0, 3, 50, der.len() - 1] {
        assert!(
            matches!(
                Crl::from_der(der[..cut].to_vec()),
                Err(Error::Malformed { .. })
            ),
            "cut {cut}"
        );
    }
    assert!(matches!(
        Crl::from_der(b"not a crl".to_vec()),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn crl_from_pem() {
    let c = crl(&fx().ui_g1, 3, None, &[]);
    let pem = mykey_pki::to_pem("X509 CRL", c.der());
    assert_eq!(Crl::from_pem_or_der(pem.into_bytes()).unwrap().number(), 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn the_index_agrees_with_a_map(
        revoked in proptest::collection::hash_map(1u64..5000, 0u8..7, 0..300),
        probes in proptest::collection::vec(1u64..5000, 50),
    ) {
        let f = fx();
        let entries: Vec<CrlEntry> = revoked
            .iter()
            .map(|(&n, &r)| entry(n, RevocationReason::from_code(r)))
            .collect();
        let idx = RevocationIndex::from_full_crl(&crl(&f.ui_g1, 1, None, &entries), &f.ui_g1.cert, NOW).unwrap();
        let map: HashMap<u64, u8> = revoked;
        for p in probes.iter().chain(map.keys()) {
            let got = idx.lookup(&serial(*p), NOW);
            match map.get(p) {
                Some(&r) => prop_assert_eq!(got, RevocationStatus::Revoked {
                    reason: RevocationReason::from_code(r), revoked_at: NOW.minus(DAY) }),
                None => prop_assert_eq!(got, RevocationStatus::Good),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn crl_entries_round_trip_through_der(
        entries in proptest::collection::vec((1u64.., 0u64..2_000_000_000, proptest::option::of(0u8..11)), 0..40),
        number in 1u64..,
    ) {
        let entries: Vec<CrlEntry> = entries
            .into_iter()
            .map(|(n, t, r)| CrlEntry {
                serial: serial(n),
                revoked_at: mykey_pki::UnixTime::from_secs(t),
                reason: r.and_then(RevocationReason::from_code),
            })
            .collect();
        let c = crl(&fx().ui_g1, number, None, &entries);
        prop_assert_eq!(c.number(), number);
        let back: Vec<CrlEntry> = c.entries().map(Result::unwrap).collect();
        prop_assert_eq!(back, entries);
    }
}
