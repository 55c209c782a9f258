//! Command-line values turned into the card crate's types. A refused value is never echoed: it
//! may be a mistyped secret.

use mykey_card::{AccessKey, CardFace, Pin, SecurityCode, SignaturePassword, TicketFacts};
use mykey_pki::Sex;
use time::macros::format_description;
use zeroize::Zeroizing;

pub(super) fn pin(flag: &str, value: &str) -> Result<Pin, String> {
    Pin::new(value).map_err(|e| format!("{flag}: {}", e.reason))
}

pub(super) fn sign_password(value: &str) -> Result<SignaturePassword, String> {
    SignaturePassword::new(value).map_err(|e| format!("--sign-password: {}", e.reason))
}

pub(super) fn birth_date(value: &str) -> Result<time::Date, String> {
    time::Date::parse(value, format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("--birth: {value:?} is not a date of the form YYYY-MM-DD"))
}

pub(super) fn facts(
    name: &str,
    address: &str,
    birth: &str,
    sex: u8,
) -> Result<TicketFacts, String> {
    let birth = birth_date(birth)?;
    let sex = Sex::from_iso5218(sex)
        .ok_or_else(|| format!("--sex: {sex} is not 1 (male), 2 (female) or 9 (not applicable)"))?;
    TicketFacts::new(name, address, birth, sex).map_err(|e| e.to_string())
}

fn expiry_year(value: &str) -> Result<u16, String> {
    value
        .parse::<u16>()
        .ok()
        .filter(|y| (1000..=9999).contains(y) && value.len() == 4)
        .ok_or_else(|| format!("--expiry-year: {value:?} is not a four-digit year"))
}

fn security_code(value: &str) -> Result<SecurityCode, String> {
    SecurityCode::new(value).map_err(|e| format!("--security-code: {}", e.reason))
}

/// What access key B is made of on a new card: the expiry year and security code printed on it.
pub(super) fn face(expiry: Option<&str>, code: Option<&str>) -> Result<Option<CardFace>, String> {
    match (expiry, code) {
        (Some(expiry), Some(code)) => Ok(Some(CardFace {
            expiry_year: expiry_year(expiry)?,
            security_code: security_code(code)?,
        })),
        (None, None) => Ok(None),
        _ => Err("give --expiry-year and --security-code together".into()),
    }
}

/// Access key B as a reader types it from the card's face: birth date `YYMMDD`, expiry year,
/// security code.
pub(super) fn access_key(birth: &str, expiry: &str, code: &str) -> Result<AccessKey, String> {
    if birth.len() != 6 || !birth.bytes().all(|b| b.is_ascii_digit()) {
        return Err("--access-key-birth: the date of birth must be six digits, YYMMDD".into());
    }
    expiry_year(expiry)?;
    security_code(code)?;
    AccessKey::new(&Zeroizing::new(format!("{birth}{expiry}{code}")))
        .map_err(|e| format!("access key B: {}", e.reason))
}
