//! Test CAs and certificates, generated once per test run at a fixed time.

use std::sync::OnceLock;

use mykey_pki::issue::{self, EndEntity, SigningKey, Urls};
use mykey_pki::{BirthDate, CaCertificate, FourFacts, IssuanceNumber, Purpose, Sex, UnixTime};

/// 2026-01-01T00:00:00Z.
pub const NOW: UnixTime = UnixTime::from_secs(1_767_225_600);
pub const DAY: u64 = 86_400;
pub const YEAR: u64 = 365 * DAY;

pub struct Ca {
    pub key: SigningKey,
    pub cert: CaCertificate,
}

pub struct Fixtures {
    /// User-identification CA, two generations under one name.
    pub ui_g1: Ca,
    pub ui_g2: Ca,
    /// Signature CA.
    pub sig: Ca,
    /// A user-identification CA the anchors do not contain.
    pub stranger: Ca,
    /// A person's keys.
    pub person: SigningKey,
    pub other: SigningKey,
}

pub fn fx() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| Fixtures {
        ui_g1: ca(Purpose::UserIdentification, 1, NOW.minus(5 * YEAR)),
        ui_g2: ca(Purpose::UserIdentification, 2, NOW.minus(YEAR)),
        sig: ca(Purpose::Signature, 3, NOW.minus(5 * YEAR)),
        stranger: ca(Purpose::UserIdentification, 4, NOW.minus(YEAR)),
        person: SigningKey::generate().unwrap(),
        other: SigningKey::generate().unwrap(),
    })
}

pub fn ca(purpose: Purpose, serial: u64, not_before: UnixTime) -> Ca {
    let key = SigningKey::generate().unwrap();
    let cert = issue::ca_certificate(
        &key,
        purpose,
        IssuanceNumber::from_u64(serial).unwrap(),
        not_before,
        not_before.plus(10 * YEAR),
    )
    .unwrap();
    Ca { key, cert }
}

pub fn serial(n: u64) -> IssuanceNumber {
    IssuanceNumber::from_u64(n).unwrap()
}

pub fn facts() -> FourFacts {
    FourFacts::new(
        "山田\u{3000}花子",
        "東京都千代田区霞が関二丁目１番２号",
        BirthDate::new(time::macros::date!(1985 - 06 - 15)),
        Sex::Female,
    )
    .unwrap()
}

/// A certificate of `purpose` for `key`, issued by `ca`, valid from `not_before` for a year.
pub fn ee(ca: &Ca, purpose: Purpose, n: u64, key: &SigningKey, not_before: UnixTime) -> Vec<u8> {
    let facts = facts();
    issue::end_entity_certificate(
        &ca.key,
        &ca.cert,
        &EndEntity {
            purpose,
            serial: serial(n),
            subject_cn: &format!("{n:016X}"),
            spki_der: key.spki_der(),
            not_before,
            not_after: not_before.plus(YEAR),
            facts: (purpose == Purpose::Signature).then_some(&facts),
            urls: &Urls::default(),
        },
    )
    .unwrap()
}

/// A current user-identification certificate from generation 1.
pub fn ui(n: u64) -> Vec<u8> {
    ee(
        &fx().ui_g1,
        Purpose::UserIdentification,
        n,
        &fx().person,
        NOW.minus(DAY),
    )
}

pub fn anchors() -> mykey_pki::TrustAnchors {
    let f = fx();
    mykey_pki::TrustAnchors::new([
        f.ui_g1.cert.clone(),
        f.ui_g2.cert.clone(),
        f.sig.cert.clone(),
    ])
}
