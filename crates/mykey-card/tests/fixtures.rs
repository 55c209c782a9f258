//! A certified virtual card, made once per test run with test CAs at a fixed time, and handed
//! to each test as a fresh copy through its card file.

use std::sync::OnceLock;

use mykey_card::{
    CardFace, CardFile, CardSecrets, Certificates, MyNumber, Pin, PublicKeys, SecurityCode,
    SignaturePassword, TicketFacts, VirtualCard,
};
use mykey_pki::issue::{self, EndEntity, SigningKey, Urls};
use mykey_pki::{IssuanceNumber, Purpose, Sex, UnixTime};
use time::macros::date;

/// 2026-01-01T00:00:00Z.
pub(crate) const NOW: UnixTime = UnixTime::from_secs(1_767_225_600);
const YEAR: u64 = 365 * 86_400;

pub(crate) const UI_PIN: &str = "1234";
pub(crate) const SIGN_PASSWORD: &str = "ABC123";
pub(crate) const TICKET_PIN: &str = "5678";
pub(crate) const EXPIRY_YEAR: u16 = 2034;
pub(crate) const SECURITY_CODE: &str = "0815";

pub(crate) fn facts() -> TicketFacts {
    TicketFacts::new(
        "山田\u{3000}花子",
        "東京都千代田区霞が関二丁目１番２号",
        date!(1985 - 06 - 15),
        Sex::Female,
    )
    .unwrap()
}

pub(crate) fn secrets() -> CardSecrets {
    let mut s = CardSecrets::new(
        Pin::new(UI_PIN).unwrap(),
        SignaturePassword::new(SIGN_PASSWORD).unwrap(),
        facts(),
    );
    s.ticket_pin = Some(Pin::new(TICKET_PIN).unwrap());
    s.my_number = Some(MyNumber::new("123456789018").unwrap());
    s.face = Some(CardFace {
        expiry_year: EXPIRY_YEAR,
        security_code: SecurityCode::new(SECURITY_CODE).unwrap(),
    });
    s
}

struct Ca {
    key: SigningKey,
    cert: mykey_pki::CaCertificate,
}

fn cas() -> &'static (Ca, Ca) {
    static CAS: OnceLock<(Ca, Ca)> = OnceLock::new();
    CAS.get_or_init(|| {
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
            Ca { key, cert }
        };
        (
            ca(Purpose::UserIdentification, 1),
            ca(Purpose::Signature, 2),
        )
    })
}

/// Certificates for `keys`, issued by the test CAs with issuance number `serial`.
pub(crate) fn certify(keys: &PublicKeys, serial: u64) -> Certificates {
    let (ui_ca, sig_ca) = cas();
    let four = facts().to_four_facts().unwrap();
    let ee = |ca: &Ca, purpose, spki: &[u8]| {
        issue::end_entity_certificate(
            &ca.key,
            &ca.cert,
            &EndEntity {
                purpose,
                serial: IssuanceNumber::from_u64(serial).unwrap(),
                subject_cn: &format!("{serial:016X}"),
                spki_der: spki,
                not_before: NOW.minus(86_400),
                not_after: NOW.plus(5 * YEAR),
                facts: (purpose == Purpose::Signature).then_some(&four),
                urls: &Urls::default(),
            },
        )
        .unwrap()
    };
    Certificates {
        user_identification: ee(
            ui_ca,
            Purpose::UserIdentification,
            &keys.user_identification,
        ),
        user_identification_ca: ui_ca.cert.der().to_vec(),
        signature: ee(sig_ca, Purpose::Signature, &keys.signature),
        signature_ca: sig_ca.cert.der().to_vec(),
    }
}

/// The stored form of the one certified card.
fn card_json() -> &'static [u8] {
    static JSON: OnceLock<Vec<u8>> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut card = VirtualCard::generate(secrets()).unwrap();
        card.install_certificates(certify(&card.public_keys(), 0x0123_4567_89AB))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = CardFile::new(dir.path().join("card.json"));
        file.save(&card).unwrap();
        std::fs::read(file.path()).unwrap()
    })
}

/// A fresh copy of the certified card, in a card file of its own.
pub(crate) struct FreshCard {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) file: CardFile,
}

impl FreshCard {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.json");
        std::fs::write(&path, card_json()).unwrap();
        Self {
            file: CardFile::new(path),
            dir,
        }
    }

    pub(crate) fn load(&self) -> VirtualCard {
        self.file.load().unwrap()
    }
}
