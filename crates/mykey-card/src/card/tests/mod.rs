//! Unit tests of the card's command handling, APDU by APDU, one file per command family; the
//! fixture and helpers are here.

mod credentials;
mod files;
mod lifecycle;
mod signing;
mod ticket;

use std::sync::OnceLock;

use mykey_pki::issue::{self, EndEntity, SigningKey, Urls};
use mykey_pki::{IssuanceNumber, Purpose, Sex, UnixTime};
use proptest::prelude::*;
use time::macros::date;

use super::*;
use crate::secret::{Pin, SecurityCode, SignaturePassword};

const NOW: UnixTime = UnixTime::from_secs(1_767_225_600);
const YEAR: u64 = 365 * 86_400;

fn facts() -> TicketFacts {
    TicketFacts::new(
        "山田\u{3000}花子",
        "東京都千代田区霞が関二丁目１番２号",
        date!(1985 - 06 - 15),
        Sex::Female,
    )
    .unwrap()
}

fn secrets() -> CardSecrets {
    let mut s = CardSecrets::new(
        Pin::new("1234").unwrap(),
        SignaturePassword::new("ABC123").unwrap(),
        facts(),
    );
    s.ticket_pin = Some(Pin::new("5678").unwrap());
    s.my_number = Some(MyNumber::new("123456789018").unwrap());
    s.face = Some(CardFace {
        expiry_year: 2034,
        security_code: SecurityCode::new("0815").unwrap(),
    });
    s
}

/// Certificates for `keys` from fresh test CAs.
fn certify(keys: &PublicKeys) -> Certificates {
    let ca = |purpose, serial| {
        let key = SigningKey::generate().unwrap();
        let cert = issue::ca_certificate(
            &key,
            purpose,
            IssuanceNumber::from_u64(serial).unwrap(),
            NOW.minus(YEAR),
            NOW.plus(9 * YEAR),
        )
        .unwrap();
        (key, cert)
    };
    let (ui_key, ui_ca) = ca(Purpose::UserIdentification, 1);
    let (sig_key, sig_ca) = ca(Purpose::Signature, 2);
    let four = facts().to_four_facts().unwrap();
    let ee = |ca_key: &SigningKey, ca, purpose, spki: &[u8]| {
        issue::end_entity_certificate(
            ca_key,
            ca,
            &EndEntity {
                purpose,
                serial: IssuanceNumber::from_u64(0x1234_5678).unwrap(),
                subject_cn: "TESTCARD0001",
                spki_der: spki,
                not_before: NOW,
                not_after: NOW.plus(5 * YEAR),
                facts: (purpose == Purpose::Signature).then_some(&four),
                urls: &Urls::default(),
            },
        )
        .unwrap()
    };
    Certificates {
        user_identification: ee(
            &ui_key,
            &ui_ca,
            Purpose::UserIdentification,
            &keys.user_identification,
        ),
        user_identification_ca: ui_ca.der().to_vec(),
        signature: ee(&sig_key, &sig_ca, Purpose::Signature, &keys.signature),
        signature_ca: sig_ca.der().to_vec(),
    }
}

/// A certified card, generated once and copied per test through its stored form.
fn card() -> VirtualCard {
    static JSON: OnceLock<Vec<u8>> = OnceLock::new();
    let json = JSON.get_or_init(|| {
        let mut card = VirtualCard::generate(secrets()).unwrap();
        card.install_certificates(certify(&card.public_keys()))
            .unwrap();
        serde_json::to_vec(&card.to_model().unwrap()).unwrap()
    });
    VirtualCard::from_model(&serde_json::from_slice(json).unwrap()).unwrap()
}

fn run(card: &mut VirtualCard, hex_apdu: &str) -> (Vec<u8>, StatusWord) {
    let apdu = hex::decode(hex_apdu.replace(' ', "")).unwrap();
    let r = Response::parse(&card.transmit(&apdu)).unwrap();
    (r.data, r.sw)
}

fn sw(card: &mut VirtualCard, hex_apdu: &str) -> StatusWord {
    run(card, hex_apdu).1
}

const SELECT_JPKI: &str = "00A4040C0A D392F000260100000001";
const SELECT_TICKET: &str = "00A4040C0A D3921000310001010408";
const VERIFY_1234: &str = "0020008004 31323334";

fn verify_hex(value: &str) -> String {
    format!("00200080{:02X}{}", value.len(), hex::encode(value))
}

fn sign_hex(digest_info: &[u8]) -> String {
    format!(
        "802A0080{:02X}{}00",
        digest_info.len(),
        hex::encode(digest_info)
    )
}

fn read_file(card: &mut VirtualCard, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < len {
        let n = (len - out.len()).min(256);
        let [p1, p2] = (out.len() as u16).to_be_bytes();
        let (data, s) = run(card, &format!("00B0{p1:02X}{p2:02X}{:02X}", n as u8));
        assert_eq!(s, StatusWord::Ok);
        out.extend(data);
    }
    out
}

fn apdu_strategy() -> impl Strategy<Value = Vec<u8>> {
    let interesting = prop_oneof![
        Just(hex::decode(SELECT_JPKI.replace(' ', "")).unwrap()),
        Just(hex::decode(SELECT_TICKET.replace(' ', "")).unwrap()),
        (0u16..0x20).prop_map(|fid| {
            let [a, b] = fid.to_be_bytes();
            vec![0, 0xA4, 2, 0x0C, 2, a, b]
        }),
        (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(p1, p2, le)| vec![0, 0xB0, p1, p2, le]),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(|d| {
            let mut v = vec![0, 0x20, 0, 0x80, d.len() as u8];
            v.extend(d);
            v
        }),
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(|d| {
            let mut v = vec![0x80, 0x2A, 0, 0x80, d.len() as u8];
            v.extend(d);
            v.push(0);
            v
        }),
    ];
    prop_oneof![3 => interesting, 1 => proptest::collection::vec(any::<u8>(), 0..300)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_command_sequence_gets_answers(seq in proptest::collection::vec(apdu_strategy(), 1..40)) {
        let mut c = card();
        for apdu in seq {
            let r = c.transmit(&apdu);
            prop_assert!(r.len() >= 2);
            let _ = c.take_state_changed();
            let s = c.summary();
            prop_assert!(s.ui_pin.left <= 3 && s.sign_password.left <= 5 && s.ticket_pin.left <= 3);
        }
    }
}
