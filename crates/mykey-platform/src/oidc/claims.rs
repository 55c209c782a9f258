//! The four facts as OpenID Connect scopes and claims (OpenID Connect Core §5.1, §5.4), and the
//! consent a person gives to each on the phone.
//!
//! | scope       | claim       | format                                                        |
//! |-------------|-------------|---------------------------------------------------------------|
//! | `name`      | `name`      | the full name as the card holds it (UTF-8, ≤ 100 characters)  |
//! | `address`   | `address`   | an object with `formatted`: the address as the card holds it  |
//! | `birthdate` | `birthdate` | `YYYY-MM-DD` (Core §5.1), the Gregorian date on the card      |
//! | `gender`    | `gender`    | `male`, `female`, or `not applicable` (ISO 5218 `1`, `2`, `9`)|
//!
//! The claims are answered by the userinfo endpoint only (Core §5.4: scope-requested claims go
//! there when an access token is issued); the ID token carries `sub` and the login's facts of
//! time, never the four facts. They are released only as the card certifies them: the phone
//! sends the card's signature certificate (read after its password), whose subjectAltName
//! carries the four facts under J-LIS's signature; the platform checks its path to J-LIS's
//! signature CA and its validity, and asks J-LIS that it is the current, unrevoked signature
//! certificate of the person whose card signed the login (`approval.rs`). Facts the phone
//! merely states are never taken: a holder could state anyone's.

use mykey_pki::{FourFacts, Sex};
use serde_json::{Map, Value, json};

use crate::ConsentItem;

/// A scope naming one of the four facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FactScope {
    /// `name`.
    Name,
    /// `address`.
    Address,
    /// `birthdate`.
    Birthdate,
    /// `gender`.
    Gender,
}

impl FactScope {
    /// All four, in the order they are shown.
    pub const ALL: [FactScope; 4] = [
        FactScope::Name,
        FactScope::Address,
        FactScope::Birthdate,
        FactScope::Gender,
    ];

    /// The scope (and claim) name.
    pub fn as_str(self) -> &'static str {
        match self {
            FactScope::Name => "name",
            FactScope::Address => "address",
            FactScope::Birthdate => "birthdate",
            FactScope::Gender => "gender",
        }
    }

    /// From [`FactScope::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// What the person consents to when this fact is asked for.
    pub fn consent_item(self) -> ConsentItem {
        match self {
            FactScope::Name => ConsentItem {
                name: "facts.name",
                text: "Your name, as your card's signature certificate certifies it (read from the card with the signature password, and checked with J-LIS), is given to this relying party (Art 20.2).",
            },
            FactScope::Address => ConsentItem {
                name: "facts.address",
                text: "Your address, as your card's signature certificate certifies it (read from the card with the signature password, and checked with J-LIS), is given to this relying party (Art 20.2).",
            },
            FactScope::Birthdate => ConsentItem {
                name: "facts.birthdate",
                text: "Your date of birth, as your card's signature certificate certifies it (read from the card with the signature password, and checked with J-LIS), is given to this relying party (Art 20.2).",
            },
            FactScope::Gender => ConsentItem {
                name: "facts.gender",
                text: "Your sex, as your card's signature certificate certifies it (read from the card with the signature password, and checked with J-LIS), is given to this relying party (Art 20.2).",
            },
        }
    }
}

/// The claims object (canonical JSON text, kept with the login) for the facts `asked`, from the
/// four facts a checked signature certificate certifies.
pub(crate) fn claims(facts: &FourFacts, asked: &[FactScope]) -> String {
    let mut claims = Map::new();
    for f in asked {
        let (name, value) = match f {
            FactScope::Name => ("name", json!(facts.name())),
            FactScope::Address => ("address", json!({"formatted": facts.address()})),
            FactScope::Birthdate => (
                "birthdate",
                json!(crate::iso_date(facts.birth_date().date())),
            ),
            FactScope::Gender => (
                "gender",
                json!(match facts.sex() {
                    Sex::Male => "male",
                    Sex::Female => "female",
                    Sex::NotApplicable => "not applicable",
                }),
            ),
        };
        claims.insert(name.into(), value);
    }
    Value::Object(claims).to_string()
}

#[cfg(test)]
mod tests {
    use mykey_pki::BirthDate;

    use super::*;

    fn facts() -> FourFacts {
        FourFacts::new(
            "山田\u{3000}花子",
            "東京都千代田区霞が関二丁目１番２号",
            BirthDate::new(time::macros::date!(1990 - 04 - 01)),
            Sex::Female,
        )
        .unwrap()
    }

    #[test]
    fn exactly_the_asked_facts_become_claims() {
        let c: Value = serde_json::from_str(&claims(&facts(), &FactScope::ALL)).unwrap();
        assert_eq!(
            c,
            json!({"name": "山田\u{3000}花子", "address": {"formatted": "東京都千代田区霞が関二丁目１番２号"},
                   "birthdate": "1990-04-01", "gender": "female"})
        );
        assert_eq!(
            claims(&facts(), &[FactScope::Name]),
            "{\"name\":\"山田\u{3000}花子\"}"
        );
        assert_eq!(claims(&facts(), &[]), "{}");
        for f in FactScope::ALL {
            assert_eq!(FactScope::parse(f.as_str()), Some(f));
            assert!(f.consent_item().name.ends_with(f.as_str()));
        }
    }
}
