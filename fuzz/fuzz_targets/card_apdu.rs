//! The virtual card's APDU handler under arbitrary input: a sequence of APDUs, each prefixed by
//! one length byte, sent to a certified card. An odd first byte logs in first (SELECT JPKI AP,
//! VERIFY the user-identification PIN, SELECT the key), so that signing is explored too. Every
//! APDU must get an answer of at least a status word, and no counter may exceed its maximum.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mykey_card::{CardFace, CardSecrets, Certificates, MyNumber, Pin, SecurityCode, SignaturePassword, TicketFacts, VirtualCard};
use mykey_pki::issue::{self, EndEntity, SigningKey, Urls};
use mykey_pki::{IssuanceNumber, Purpose, Sex, UnixTime};

const LOGIN: [&[u8]; 4] = [
    &[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
    &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18],
    &[0x00, 0x20, 0x00, 0x80, 0x04, b'1', b'2', b'3', b'4'],
    &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x17],
];

fn template() -> &'static VirtualCard {
    static CARD: OnceLock<VirtualCard> = OnceLock::new();
    CARD.get_or_init(|| {
        let now = UnixTime::from_secs(1_767_225_600);
        let facts = TicketFacts::new("山田\u{3000}花子", "東京都千代田区", time::macros::date!(1985 - 06 - 15), Sex::Female)
            .expect("fixed facts");
        let four = facts.to_four_facts().expect("fixed facts");
        let mut secrets =
            CardSecrets::new(Pin::new("1234").expect("pin"), SignaturePassword::new("ABC123").expect("password"), facts);
        secrets.my_number = Some(MyNumber::new("123456789018").expect("number"));
        secrets.face = Some(CardFace { expiry_year: 2034, security_code: SecurityCode::new("0815").expect("code") });
        let mut card = VirtualCard::generate(secrets).expect("card");
        let keys = card.public_keys();
        let serial = |n| IssuanceNumber::from_u64(n).expect("serial");
        let certify = |purpose, spki: &[u8]| {
            let key = SigningKey::generate().expect("CA key");
            let ca = issue::ca_certificate(&key, purpose, serial(1), now, now.plus(86_400 * 3650)).expect("CA");
            let ee = EndEntity {
                purpose,
                serial: serial(2),
                subject_cn: "FUZZ",
                spki_der: spki,
                not_before: now,
                not_after: now.plus(86_400 * 365),
                facts: (purpose == Purpose::Signature).then_some(&four),
                urls: &Urls::default(),
            };
            (issue::end_entity_certificate(&key, &ca, &ee).expect("EE"), ca.der().to_vec())
        };
        let (ui, ui_ca) = certify(Purpose::UserIdentification, &keys.user_identification);
        let (sig, sig_ca) = certify(Purpose::Signature, &keys.signature);
        card.install_certificates(Certificates { user_identification: ui, user_identification_ca: ui_ca, signature: sig, signature_ca: sig_ca })
            .expect("install");
        card
    })
}

fuzz_target!(|data: &[u8]| {
    let mut card = template().clone();
    if data.first().is_some_and(|b| b & 1 == 1) {
        for apdu in LOGIN {
            card.transmit(apdu);
        }
    }
    let mut rest = data.get(1..).unwrap_or_default();
    while let [len, tail @ ..] = rest {
        let (apdu, next) = tail.split_at(usize::from(*len).min(tail.len()));
        let answer = card.transmit(apdu);
        assert!(answer.len() >= 2);
        rest = next;
    }
    let s = card.summary();
    assert!(s.ui_pin.left <= s.ui_pin.max && s.sign_password.left <= s.sign_password.max);
    assert!(s.ticket_pin.left <= s.ticket_pin.max);
});
