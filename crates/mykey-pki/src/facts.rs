//! The basic four facts (name, address, date of birth, sex) as a signature certificate carries
//! them: subjectAltName `otherName` entries with UTF8String values (docs/jpki.md §9).

use der::asn1::{Any, Utf8StringRef};
use x509_cert::ext::pkix::name::{GeneralName, OtherName};

use crate::{Error, oid};

/// Longest address a certificate carries, in characters (docs/jpki.md §9).
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Sex as JPKI records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Certificate code `1`, ISO 5218 `1`.
    Male,
    /// Certificate code `2`, ISO 5218 `2`.
    Female,
    /// Certificate code `3` ("unknown" [likely]); ISO 5218 `9` (not applicable) on the card.
    NotApplicable,
}

impl Sex {
    /// From the ISO 5218 code used on the card's ticket-item AP and on the command line.
    pub fn from_iso5218(code: u8) -> Option<Self> {
        match code {
            1 => Some(Sex::Male),
            2 => Some(Sex::Female),
            9 => Some(Sex::NotApplicable),
            _ => None,
        }
    }

    /// The ISO 5218 code.
    pub fn iso5218(self) -> u8 {
        match self {
            Sex::Male => 1,
            Sex::Female => 2,
            Sex::NotApplicable => 9,
        }
    }

    fn certificate_code(self) -> &'static str {
        match self {
            Sex::Male => "1",
            Sex::Female => "2",
            Sex::NotApplicable => "3",
        }
    }
}

/// Japanese era codes used in the certificate's birth date (`E` of `EYYYYMMDD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Era {
    /// Code 0.
    Unknown,
    /// Code 1, to 1912-07-29.
    Meiji,
    /// Code 2, 1912-07-30 to 1926-12-24.
    Taisho,
    /// Code 3, 1926-12-25 to 1989-01-07.
    Showa,
    /// Code 4, 1989-01-08 to 2019-04-30.
    Heisei,
    /// Code 5, from 2019-05-01.
    Reiwa,
}

impl Era {
    /// The era a Gregorian date falls in.
    pub fn of(date: time::Date) -> Self {
        use time::macros::date;
        if date < date!(1912 - 07 - 30) {
            Era::Meiji
        } else if date < date!(1926 - 12 - 25) {
            Era::Taisho
        } else if date < date!(1989 - 01 - 08) {
            Era::Showa
        } else if date < date!(2019 - 05 - 01) {
            Era::Heisei
        } else {
            Era::Reiwa
        }
    }

    fn code(self) -> u8 {
        match self {
            Era::Unknown => 0,
            Era::Meiji => 1,
            Era::Taisho => 2,
            Era::Showa => 3,
            Era::Heisei => 4,
            Era::Reiwa => 5,
        }
    }
}

/// A date of birth: the Gregorian date and the era code recorded with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BirthDate {
    era: Era,
    date: time::Date,
}

impl BirthDate {
    /// A birth date with the era derived from the date.
    pub fn new(date: time::Date) -> Self {
        Self {
            era: Era::of(date),
            date,
        }
    }

    /// The Gregorian date.
    pub fn date(&self) -> time::Date {
        self.date
    }

    /// The era code recorded.
    pub fn era(&self) -> Era {
        self.era
    }

    /// `EYYYYMMDD` as the certificate writes it.
    pub fn to_certificate_form(&self) -> String {
        format!(
            "{}{:04}{:02}{:02}",
            self.era.code(),
            self.date.year(),
            u8::from(self.date.month()),
            self.date.day()
        )
    }

    fn parse_certificate_form(s: &str) -> Result<Self, Error> {
        let bad = Error::InvalidFourFacts {
            reason: "birth date is not EYYYYMMDD",
        };
        if s.len() != 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().map_err(|_| bad.clone());
        let era_code = num(0..1)?;
        let month = time::Month::try_from(num(5..7)? as u8).map_err(|_| bad.clone())?;
        let date = time::Date::from_calendar_date(num(1..5)? as i32, month, num(7..9)? as u8)
            .map_err(|_| bad.clone())?;
        let era = match era_code {
            0 => Era::Unknown,
            c if c == u32::from(Era::of(date).code()) => Era::of(date),
            _ => {
                return Err(Error::InvalidFourFacts {
                    reason: "birth date era code does not match the date",
                });
            }
        };
        Ok(Self { era, date })
    }
}

/// Name, address, date of birth and sex, as certified in a signature certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FourFacts {
    name: String,
    name_replaced: String,
    address: String,
    address_replaced: String,
    birth_date: BirthDate,
    sex: Sex,
}

impl FourFacts {
    /// Checked four facts. Names and addresses must be non-empty, without control characters, and
    /// within their limits; no character is marked replaced.
    pub fn new(name: &str, address: &str, birth_date: BirthDate, sex: Sex) -> Result<Self, Error> {
        let name_replaced = "0".repeat(name.chars().count());
        let address_replaced = "0".repeat(address.chars().count());
        Self::checked(
            name,
            &name_replaced,
            address,
            &address_replaced,
            birth_date,
            sex,
        )
    }

    fn checked(
        name: &str,
        name_replaced: &str,
        address: &str,
        address_replaced: &str,
        birth_date: BirthDate,
        sex: Sex,
    ) -> Result<Self, Error> {
        let text_ok = |s: &str, max: usize| {
            !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
        };
        if !text_ok(name, MAX_NAME_CHARS) {
            return Err(Error::InvalidFourFacts {
                reason: "name empty, too long or with control characters",
            });
        }
        if !text_ok(address, MAX_ADDRESS_CHARS) {
            return Err(Error::InvalidFourFacts {
                reason: "address empty, too long or with control characters",
            });
        }
        let flags_ok = |flags: &str, text: &str| {
            flags.len() == text.chars().count() && flags.bytes().all(|b| b == b'0' || b == b'1')
        };
        if !flags_ok(name_replaced, name) || !flags_ok(address_replaced, address) {
            return Err(Error::InvalidFourFacts {
                reason: "replaced-character flags do not match the text",
            });
        }
        Ok(Self {
            name: name.to_owned(),
            name_replaced: name_replaced.to_owned(),
            address: address.to_owned(),
            address_replaced: address_replaced.to_owned(),
            birth_date,
            sex,
        })
    }

    /// Family and given name, separated by an ideographic space.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Address from the prefecture on.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Date of birth.
    pub fn birth_date(&self) -> BirthDate {
        self.birth_date
    }

    /// Sex.
    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// Per character of the name, whether it was replaced (outside JIS).
    pub fn name_replaced(&self) -> impl Iterator<Item = bool> + '_ {
        self.name_replaced.bytes().map(|b| b == b'1')
    }

    /// Per character of the address, whether it was replaced.
    pub fn address_replaced(&self) -> impl Iterator<Item = bool> + '_ {
        self.address_replaced.bytes().map(|b| b == b'1')
    }

    /// Reads the facts from subjectAltName entries.
    pub(crate) fn from_general_names(names: &[GeneralName]) -> Result<Self, Error> {
        let find = |which| -> Result<&str, Error> {
            names
                .iter()
                .find_map(|n| match n {
                    GeneralName::OtherName(o) if o.type_id == which => Some(o),
                    _ => None,
                })
                .ok_or(Error::InvalidFourFacts {
                    reason: "a four-facts otherName is missing",
                })?
                .value
                .decode_as::<Utf8StringRef<'_>>()
                .map(|s| s.as_str())
                .map_err(|_| Error::InvalidFourFacts {
                    reason: "a four-facts otherName is not a UTF8String",
                })
        };
        let sex = match find(oid::JPKI_SEX)? {
            "1" => Sex::Male,
            "2" => Sex::Female,
            "3" => Sex::NotApplicable,
            _ => {
                return Err(Error::InvalidFourFacts {
                    reason: "sex is not 1, 2 or 3",
                });
            }
        };
        let birth = BirthDate::parse_certificate_form(find(oid::JPKI_BIRTH_DATE)?)?;
        Self::checked(
            find(oid::JPKI_NAME)?,
            find(oid::JPKI_NAME_REPLACED)?,
            find(oid::JPKI_ADDRESS)?,
            find(oid::JPKI_ADDRESS_REPLACED)?,
            birth,
            sex,
        )
    }

    /// The subjectAltName entries a signature certificate carries for these facts.
    pub(crate) fn to_general_names(&self) -> der::Result<Vec<GeneralName>> {
        let entry = |type_id, value: &str| -> der::Result<GeneralName> {
            Ok(GeneralName::OtherName(OtherName {
                type_id,
                value: Any::from(Utf8StringRef::new(value)?),
            }))
        };
        Ok(vec![
            entry(oid::JPKI_NAME, &self.name)?,
            entry(oid::JPKI_NAME_REPLACED, &self.name_replaced)?,
            entry(oid::JPKI_SEX, self.sex.certificate_code())?,
            entry(oid::JPKI_BIRTH_DATE, &self.birth_date.to_certificate_form())?,
            entry(oid::JPKI_ADDRESS, &self.address)?,
            entry(oid::JPKI_ADDRESS_REPLACED, &self.address_replaced)?,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn eras_change_on_the_right_days() {
        assert_eq!(Era::of(date!(1989 - 01 - 07)), Era::Showa);
        assert_eq!(Era::of(date!(1989 - 01 - 08)), Era::Heisei);
        assert_eq!(Era::of(date!(2019 - 04 - 30)), Era::Heisei);
        assert_eq!(Era::of(date!(2019 - 05 - 01)), Era::Reiwa);
        assert_eq!(
            BirthDate::new(date!(1980 - 02 - 29)).to_certificate_form(),
            "319800229"
        );
    }

    #[test]
    fn birth_date_with_wrong_era_is_refused() {
        assert!(BirthDate::parse_certificate_form("319800229").is_ok());
        assert!(BirthDate::parse_certificate_form("019800229").is_ok());
        assert!(BirthDate::parse_certificate_form("419800229").is_err());
        assert!(BirthDate::parse_certificate_form("319800230").is_err());
        assert!(BirthDate::parse_certificate_form("3198002").is_err());
    }

    #[test]
    fn facts_round_trip_through_general_names() {
        let f = FourFacts::new(
            "山田\u{3000}太郎",
            "東京都千代田区霞が関２－１－２",
            BirthDate::new(date!(1990 - 04 - 01)),
            Sex::Male,
        )
        .unwrap();
        let names = f.to_general_names().unwrap();
        assert_eq!(FourFacts::from_general_names(&names).unwrap(), f);
        assert!(FourFacts::from_general_names(&names[1..]).is_err());
    }

    #[test]
    fn empty_or_control_text_is_refused() {
        let b = BirthDate::new(date!(1990 - 04 - 01));
        assert!(FourFacts::new("", "x", b, Sex::Male).is_err());
        assert!(FourFacts::new("a\nb", "x", b, Sex::Male).is_err());
        assert!(FourFacts::new("a", &"x".repeat(201), b, Sex::Male).is_err());
    }
}
