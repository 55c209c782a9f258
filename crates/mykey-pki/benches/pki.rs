//! Benchmarks for the hot paths: the per-login certificate check, the revocation index (look-ups
//! and ingesting a national-scale CRL). `cargo bench -p mykey-pki`; figures go to the README.

// A benchmark that cannot set itself up should stop at once.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mykey_pki::issue::{self, CrlTemplate, EndEntity, SigningKey, Urls, build_crl};
use mykey_pki::{
    Crl, CrlEntry, IssuanceNumber, Purpose, RevocationIndex, RevocationReason, TrustAnchors,
    UnixTime, UserIdentificationCertificate, verify_challenge,
};

const NOW: UnixTime = UnixTime::from_secs(1_767_225_600);
const DAY: u64 = 86_400;
const ENTRIES: usize = 1_000_000;

struct Setup {
    anchors: TrustAnchors,
    ca_key: SigningKey,
    ca: mykey_pki::CaCertificate,
    cert_der: Vec<u8>,
    challenge: [u8; 32],
    signature: Vec<u8>,
}

fn setup() -> Setup {
    let ca_key = SigningKey::generate().unwrap();
    let ca = issue::ca_certificate(
        &ca_key,
        Purpose::UserIdentification,
        serial(1),
        NOW.minus(DAY),
        NOW.plus(3650 * DAY),
    )
    .unwrap();
    let person = SigningKey::generate().unwrap();
    let cert_der = issue::end_entity_certificate(
        &ca_key,
        &ca,
        &EndEntity {
            purpose: Purpose::UserIdentification,
            serial: serial(0x1234_5678_9abc),
            subject_cn: "0123456789ABCDEF",
            spki_der: person.spki_der(),
            not_before: NOW.minus(DAY),
            not_after: NOW.plus(1000 * DAY),
            facts: None,
            urls: &Urls {
                ocsp: Some("http://127.0.0.1:8081/ocsp/user-identification".into()),
                ca_issuers: Some("http://127.0.0.1:8081/ca/user-identification-g1.der".into()),
                crl: Some("http://127.0.0.1:8081/crl/user-identification-g1.crl".into()),
                delta_crl: Some(
                    "http://127.0.0.1:8081/crl/user-identification-g1-delta.crl".into(),
                ),
            },
        },
    )
    .unwrap();
    let challenge = [42u8; 32];
    let signature = person.sign(&challenge);
    Setup {
        anchors: TrustAnchors::new([ca.clone()]),
        ca_key,
        ca,
        cert_der,
        challenge,
        signature,
    }
}

fn serial(n: u64) -> IssuanceNumber {
    IssuanceNumber::from_u64(n).unwrap()
}

/// Deterministic pseudo-random 63-bit serials (splitmix64).
fn serials(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) & 0x7fff_ffff_ffff_ffff) | 1
        })
        .collect()
}

fn big_crl(s: &Setup) -> Vec<u8> {
    let entries: Vec<CrlEntry> = serials(ENTRIES, 7)
        .into_iter()
        .enumerate()
        .map(|(i, n)| CrlEntry {
            serial: serial(n),
            revoked_at: NOW.minus(DAY + i as u64 % 10_000),
            reason: Some(if i % 3 == 0 {
                RevocationReason::AffiliationChanged
            } else {
                RevocationReason::Superseded
            }),
        })
        .collect();
    build_crl(
        &s.ca_key,
        &s.ca,
        &CrlTemplate {
            this_update: NOW.minus(60),
            next_update: NOW.plus(DAY),
            number: 1,
            base_number: None,
            entries: &entries,
        },
    )
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let s = setup();
    let t = Instant::now();
    let crl_der = big_crl(&s);
    eprintln!(
        "built a {ENTRIES}-entry CRL of {} bytes in {:?}",
        crl_der.len(),
        t.elapsed()
    );
    let crl = Crl::from_der(crl_der.clone()).unwrap();
    let index = RevocationIndex::from_full_crl(&crl, &s.ca, NOW).unwrap();
    eprintln!(
        "revocation index: {} entries, {} bytes resident, {:.1} bytes per entry",
        index.len(),
        index.resident_bytes(),
        index.resident_bytes() as f64 / index.len() as f64
    );

    let mut g = c.benchmark_group("login_check");
    g.bench_function("rsa_verify_alone", |b| {
        let cert = UserIdentificationCertificate::from_der(&s.cert_der).unwrap();
        b.iter(|| verify_challenge(&cert, black_box(&s.challenge), &s.signature).unwrap())
    });
    g.bench_function("profile_path_challenge_revocation", |b| {
        b.iter(|| {
            let cert = UserIdentificationCertificate::from_der(black_box(&s.cert_der)).unwrap();
            s.anchors.validate_user_identification(&cert, NOW).unwrap();
            verify_challenge(&cert, &s.challenge, &s.signature).unwrap();
            black_box(index.lookup(&cert.issuance_number(), NOW))
        })
    });
    let verified = mykey_pki::VerifiedCertificates::new(s.anchors.clone(), 1_000_000);
    g.bench_function(
        "profile_path_challenge_revocation_cached_certificate",
        |b| {
            b.iter(|| {
                let cert = verified
                    .user_identification(black_box(&s.cert_der), NOW)
                    .unwrap();
                verify_challenge(&cert, &s.challenge, &s.signature).unwrap();
                black_box(index.lookup(&cert.issuance_number(), NOW))
            })
        },
    );
    g.finish();

    let mut g = c.benchmark_group("revocation_index");
    // A million probes in random order over the whole index (no cache favours them): half are
    // revoked serials, half are not.
    let mut probes: Vec<IssuanceNumber> = serials(ENTRIES / 2, 7).into_iter().map(serial).collect();
    probes.extend(serials(ENTRIES / 2, 99).into_iter().map(serial));
    let order = serials(probes.len(), 3);
    let mut keyed: Vec<(u64, IssuanceNumber)> = order.into_iter().zip(probes).collect();
    keyed.sort_unstable_by_key(|(k, _)| *k);
    let probes: Vec<IssuanceNumber> = keyed.into_iter().map(|(_, p)| p).collect();
    g.throughput(Throughput::Elements(probes.len() as u64));
    g.bench_function("lookup_1m", |b| {
        b.iter(|| {
            let mut revoked = 0usize;
            for p in &probes {
                if matches!(
                    index.lookup(p, NOW),
                    mykey_pki::RevocationStatus::Revoked { .. }
                ) {
                    revoked += 1;
                }
            }
            black_box(revoked)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("crl_ingest");
    g.sample_size(10);
    g.bench_function("ingest_1m_entry_crl", |b| {
        b.iter_batched(
            || crl_der.clone(),
            |der| {
                let crl = Crl::from_der(der).unwrap();
                black_box(RevocationIndex::from_full_crl(&crl, &s.ca, NOW).unwrap())
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(pki, benches);
criterion_main!(pki);
