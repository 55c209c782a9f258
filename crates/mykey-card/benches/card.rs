//! APDU handling in memory, per command, without the RSA operation (the issue's budget: ≤ 2 µs).
//! Run with `cargo bench -p mykey-card`.

// A failed unwrap is a failed benchmark set-up.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mykey_card::{CardSecrets, Certificates, Pin, SignaturePassword, TicketFacts, VirtualCard};
use mykey_pki::issue::{self, EndEntity, SigningKey, Urls};
use mykey_pki::{IssuanceNumber, Purpose, Sex, UnixTime};

const NOW: UnixTime = UnixTime::from_secs(1_767_225_600);

fn certified_card() -> VirtualCard {
    let facts = TicketFacts::new(
        "山田\u{3000}花子",
        "東京都千代田区霞が関二丁目１番２号",
        time::macros::date!(1985 - 06 - 15),
        Sex::Female,
    )
    .unwrap();
    let four = facts.to_four_facts().unwrap();
    let secrets = CardSecrets::new(
        Pin::new("1234").unwrap(),
        SignaturePassword::new("ABC123").unwrap(),
        facts,
    );
    let mut card = VirtualCard::generate(secrets).unwrap();
    let keys = card.public_keys();
    let serial = |n| IssuanceNumber::from_u64(n).unwrap();
    let ee = |purpose, spki: &[u8]| {
        let key = SigningKey::generate().unwrap();
        let ca =
            issue::ca_certificate(&key, purpose, serial(1), NOW, NOW.plus(86_400 * 3650)).unwrap();
        let cert = issue::end_entity_certificate(
            &key,
            &ca,
            &EndEntity {
                purpose,
                serial: serial(2),
                subject_cn: "BENCH",
                spki_der: spki,
                not_before: NOW,
                not_after: NOW.plus(86_400 * 365),
                facts: (purpose == Purpose::Signature).then_some(&four),
                urls: &Urls::default(),
            },
        )
        .unwrap();
        (cert, ca.der().to_vec())
    };
    let (ui, ui_ca) = ee(Purpose::UserIdentification, &keys.user_identification);
    let (sig, sig_ca) = ee(Purpose::Signature, &keys.signature);
    card.install_certificates(Certificates {
        user_identification: ui,
        user_identification_ca: ui_ca,
        signature: sig,
        signature_ca: sig_ca,
    })
    .unwrap();
    card
}

const SELECT_JPKI: &[u8] = &[
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];
const SELECT_UI_CERT: &[u8] = &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A];
const SELECT_UI_PIN: &[u8] = &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18];
const READ_256: &[u8] = &[0x00, 0xB0, 0x01, 0x00, 0x00];
const TRIES_LEFT: &[u8] = &[0x00, 0x20, 0x00, 0x80];
const VERIFY_PIN: &[u8] = &[0x00, 0x20, 0x00, 0x80, 0x04, b'1', b'2', b'3', b'4'];

/// Sends `apdu` once outside the measurement and checks the answer's length and status word.
fn expect(card: &mut VirtualCard, apdu: &[u8], len: usize, sw: [u8; 2]) {
    let r = card.transmit(apdu);
    assert_eq!((r.len(), &r[r.len() - 2..]), (len, &sw[..]), "{apdu:02X?}");
}

fn commands(c: &mut Criterion) {
    let mut card = certified_card();
    expect(&mut card, SELECT_JPKI, 2, [0x90, 0x00]);
    expect(&mut card, SELECT_UI_CERT, 2, [0x90, 0x00]);
    expect(&mut card, READ_256, 258, [0x90, 0x00]);
    expect(&mut card, SELECT_UI_PIN, 2, [0x90, 0x00]);
    expect(&mut card, TRIES_LEFT, 2, [0x63, 0xC3]);
    expect(&mut card, VERIFY_PIN, 2, [0x90, 0x00]);
    let mut group = c.benchmark_group("apdu");
    group.bench_function("select_ap", |b| {
        b.iter(|| black_box(card.transmit(black_box(SELECT_JPKI))))
    });
    card.transmit(SELECT_JPKI);
    group.bench_function("select_ef", |b| {
        b.iter(|| black_box(card.transmit(black_box(SELECT_UI_CERT))))
    });
    card.transmit(SELECT_UI_CERT);
    group.bench_function("read_binary_256", |b| {
        b.iter(|| black_box(card.transmit(black_box(READ_256))))
    });
    card.transmit(SELECT_UI_PIN);
    group.bench_function("verify_tries_left", |b| {
        b.iter(|| black_box(card.transmit(black_box(TRIES_LEFT))))
    });
    group.bench_function("verify_pin", |b| {
        b.iter(|| black_box(card.transmit(black_box(VERIFY_PIN))))
    });
    group.bench_function("malformed", |b| {
        b.iter(|| black_box(card.transmit(black_box(&[0x00, 0xB0, 0x00]))))
    });
    group.finish();
    assert!(
        !card.take_state_changed(),
        "the right PIN changes no counter"
    );
}

criterion_group!(benches, commands);
criterion_main!(benches);
