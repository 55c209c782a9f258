//! The four facts as the ticket-item entry support AP keeps them in file `0002` (docs/jpki.md §6), a
//! BER-TLV object (ISO/IEC 7816-4 §5.2):
//!
//! ```text
//! FF 20 L {
//!   DF 21 L header        binary; its content is not published: this project writes 00 01
//!   DF 22 L name          UTF-8
//!   DF 23 L address       UTF-8
//!   DF 24 08 birth date   ASCII YYYYMMDD
//!   DF 25 01 sex          ASCII ISO 5218: 1 male, 2 female, 9 not applicable
//! }
//! ```

use super::tlv::{self, TlvError};
use crate::{BirthDate, FourFacts, MAX_ADDRESS_CHARS, MAX_NAME_CHARS, Sex};

const TAG_FACTS: u32 = 0xFF20;
const TAG_HEADER: u32 = 0xDF21;
const TAG_NAME: u32 = 0xDF22;
const TAG_ADDRESS: u32 = 0xDF23;
const TAG_BIRTH: u32 = 0xDF24;
const TAG_SEX: u32 = 0xDF25;
/// What this project writes as the header (format version 1); readers ignore its content.
const HEADER: [u8; 2] = [0x00, 0x01];

/// Why four facts are not acceptable, or file `0002` cannot be read as them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    /// A field is empty, too long, has control characters, or a date or code is not valid.
    #[error("four facts: {reason}")]
    Invalid {
        /// Which rule failed.
        reason: &'static str,
    },
    /// The file is not BER-TLV.
    #[error("four facts file is not BER-TLV: {0}")]
    Tlv(#[from] TlvError),
    /// A data object the layout requires is absent (the tag, e.g. `0xDF22`).
    #[error("four facts file lacks tag {tag:04X}")]
    Missing {
        /// The missing tag.
        tag: u32,
    },
}

/// Name, address, date of birth and sex as the ticket-item AP holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketFacts {
    name: String,
    address: String,
    birth_date: time::Date,
    sex: Sex,
}

impl TicketFacts {
    /// Checked facts: name (≤ 100 characters) and address (≤ 200) non-empty and without control
    /// characters, a birth year of four digits.
    pub fn new(
        name: &str,
        address: &str,
        birth_date: time::Date,
        sex: Sex,
    ) -> Result<Self, FactsError> {
        let text_ok = |s: &str, max: usize| {
            !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
        };
        if !text_ok(name, MAX_NAME_CHARS) {
            return Err(FactsError::Invalid {
                reason: "name empty, too long or with control characters",
            });
        }
        if !text_ok(address, MAX_ADDRESS_CHARS) {
            return Err(FactsError::Invalid {
                reason: "address empty, too long or with control characters",
            });
        }
        if !(1000..=9999).contains(&birth_date.year()) {
            return Err(FactsError::Invalid {
                reason: "birth year is not four digits",
            });
        }
        Ok(Self {
            name: name.to_owned(),
            address: address.to_owned(),
            birth_date,
            sex,
        })
    }

    /// The facts a signature certificate certifies, as the card keeps them.
    pub fn from_four_facts(facts: &FourFacts) -> Result<Self, FactsError> {
        Self::new(
            facts.name(),
            facts.address(),
            facts.birth_date().date(),
            facts.sex(),
        )
    }

    /// These facts in the certificate's form (era derived from the date, no replaced characters).
    pub fn to_four_facts(&self) -> Result<FourFacts, crate::Error> {
        FourFacts::new(
            &self.name,
            &self.address,
            BirthDate::new(self.birth_date),
            self.sex,
        )
    }

    /// Family and given name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Date of birth.
    pub fn birth_date(&self) -> time::Date {
        self.birth_date
    }

    /// Sex.
    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// The content of file `0002`.
    pub fn to_tlv(&self) -> Vec<u8> {
        let mut inner = Vec::with_capacity(self.name.len() + self.address.len() + 32);
        tlv::write(&mut inner, TAG_HEADER, &HEADER);
        tlv::write(&mut inner, TAG_NAME, self.name.as_bytes());
        tlv::write(&mut inner, TAG_ADDRESS, self.address.as_bytes());
        tlv::write(
            &mut inner,
            TAG_BIRTH,
            birth_ascii(self.birth_date).as_bytes(),
        );
        tlv::write(
            &mut inner,
            TAG_SEX,
            self.sex.iso5218().to_string().as_bytes(),
        );
        let mut out = Vec::with_capacity(inner.len() + 5);
        tlv::write(&mut out, TAG_FACTS, &inner);
        out
    }

    /// Reads the content of file `0002`. Unknown data objects inside `FF 20` are skipped, the
    /// header's content is ignored.
    pub fn from_tlv(bytes: &[u8]) -> Result<Self, FactsError> {
        let outer = tlv::single(bytes)?;
        if outer.tag != TAG_FACTS {
            return Err(FactsError::Missing { tag: TAG_FACTS });
        }
        let (mut name, mut address, mut birth, mut sex) = (None, None, None, None);
        for object in tlv::objects(outer.value) {
            let object = object?;
            let slot = match object.tag {
                TAG_NAME => &mut name,
                TAG_ADDRESS => &mut address,
                TAG_BIRTH => &mut birth,
                TAG_SEX => &mut sex,
                _ => continue,
            };
            *slot = Some(object.value);
        }
        let name = utf8(
            name.ok_or(FactsError::Missing { tag: TAG_NAME })?,
            "name is not UTF-8",
        )?;
        let address = utf8(
            address.ok_or(FactsError::Missing { tag: TAG_ADDRESS })?,
            "address is not UTF-8",
        )?;
        let birth = parse_birth(birth.ok_or(FactsError::Missing { tag: TAG_BIRTH })?)?;
        let sex = match sex.ok_or(FactsError::Missing { tag: TAG_SEX })? {
            [code @ b'0'..=b'9'] => Sex::from_iso5218(code - b'0'),
            _ => None,
        }
        .ok_or(FactsError::Invalid {
            reason: "sex is not an ISO 5218 code 1, 2 or 9",
        })?;
        Self::new(name, address, birth, sex)
    }
}

fn utf8<'a>(v: &'a [u8], reason: &'static str) -> Result<&'a str, FactsError> {
    std::str::from_utf8(v).map_err(|_| FactsError::Invalid { reason })
}

fn birth_ascii(date: time::Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn parse_birth(v: &[u8]) -> Result<time::Date, FactsError> {
    let bad = FactsError::Invalid {
        reason: "birth date is not YYYYMMDD",
    };
    if v.len() != 8 || !v.iter().all(u8::is_ascii_digit) {
        return Err(bad);
    }
    let num =
        |r: std::ops::Range<usize>| v[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let month = time::Month::try_from(num(4..6) as u8).map_err(|_| bad.clone())?;
    time::Date::from_calendar_date(num(0..4) as i32, month, num(6..8) as u8).map_err(|_| bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn sample() -> TicketFacts {
        TicketFacts::new(
            "山田\u{3000}花子",
            "東京都千代田区霞が関二丁目１番２号",
            date!(1985 - 06 - 15),
            Sex::Female,
        )
        .unwrap()
    }

    #[test]
    fn layout_is_the_documented_one() {
        let f = TicketFacts::new("A", "B", date!(2001 - 02 - 03), Sex::NotApplicable).unwrap();
        let bytes = f.to_tlv();
        assert_eq!(
            hex::encode_upper(&bytes),
            "FF201CDF21020001DF220141DF230142DF24083230303130323033DF250139"
        );
        assert_eq!(TicketFacts::from_tlv(&bytes).unwrap(), f);
    }

    #[test]
    fn round_trip_with_long_address() {
        let f = sample();
        assert_eq!(TicketFacts::from_tlv(&f.to_tlv()).unwrap(), f);
        let long =
            TicketFacts::new("名", &"あ".repeat(200), date!(1990 - 01 - 01), Sex::Male).unwrap();
        assert!(long.to_tlv().len() > 600);
        assert_eq!(TicketFacts::from_tlv(&long.to_tlv()).unwrap(), long);
        assert_eq!(f.to_four_facts().unwrap().name(), f.name());
        assert_eq!(
            TicketFacts::from_four_facts(&f.to_four_facts().unwrap()).unwrap(),
            f
        );
    }

    #[test]
    fn hostile_files() {
        let good = sample().to_tlv();
        assert!(TicketFacts::from_tlv(&good[..good.len() - 1]).is_err());
        assert!(TicketFacts::from_tlv(&[]).is_err());
        let mut wrong_tag = good.clone();
        wrong_tag[1] = 0x21;
        assert_eq!(
            TicketFacts::from_tlv(&wrong_tag),
            Err(FactsError::Missing { tag: TAG_FACTS })
        );
        let mut inner = Vec::new();
        tlv::write(&mut inner, TAG_NAME, "x".as_bytes());
        tlv::write(&mut inner, TAG_ADDRESS, &[0xFF, 0xFE]);
        tlv::write(&mut inner, TAG_BIRTH, b"19991301");
        tlv::write(&mut inner, TAG_SEX, b"3");
        let mut out = Vec::new();
        tlv::write(&mut out, TAG_FACTS, &inner);
        assert!(matches!(
            TicketFacts::from_tlv(&out),
            Err(FactsError::Invalid { .. })
        ));
    }

    #[test]
    fn invalid_facts_are_refused() {
        let d = date!(1990 - 01 - 01);
        assert!(TicketFacts::new(" ", "x", d, Sex::Male).is_err());
        assert!(TicketFacts::new("a", "x\u{7}", d, Sex::Male).is_err());
        assert!(TicketFacts::new("a", "x", date!(0999 - 01 - 01), Sex::Male).is_err());
        assert!(parse_birth(b"19990229").is_err());
        assert_eq!(parse_birth(b"20000229").unwrap(), date!(2000 - 02 - 29));
    }
}
