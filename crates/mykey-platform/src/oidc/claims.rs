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
//! time, never the four facts. They are what the person's app read from the card's ticket-item
//! entry support AP with its PIN during this login, sent with the card's signature over the
//! platform's challenge. The AP's own signature over the facts (file `0003`) uses an
//! unpublished algorithm, so the platform cannot check it; what vouches for the facts is that
//! the card holder's app read them in the same act the card signed.

use mykey_pki::{MAX_ADDRESS_CHARS, MAX_NAME_CHARS, Sex};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{ConsentItem, PlatformError};

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
                text: "Your name, read from your card's ticket-item entry support application, is given to this relying party (Art 20.2).",
            },
            FactScope::Address => ConsentItem {
                name: "facts.address",
                text: "Your address, read from your card's ticket-item entry support application, is given to this relying party (Art 20.2).",
            },
            FactScope::Birthdate => ConsentItem {
                name: "facts.birthdate",
                text: "Your date of birth, read from your card's ticket-item entry support application, is given to this relying party (Art 20.2).",
            },
            FactScope::Gender => ConsentItem {
                name: "facts.gender",
                text: "Your sex, read from your card's ticket-item entry support application, is given to this relying party (Art 20.2).",
            },
        }
    }
}

/// The facts the person's app read from the card, as it sends them (the card's own forms).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CardFacts {
    /// The name.
    pub name: Option<String>,
    /// The address.
    pub address: Option<String>,
    /// The birth date, `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// ISO 5218: 1, 2 or 9.
    pub sex: Option<u8>,
}

impl CardFacts {
    /// The claims for `asked`, checked: exactly the asked facts must be present and each well
    /// formed. Answers the claims object (canonical JSON text) to keep with the login.
    pub(crate) fn claims(&self, asked: &[FactScope]) -> Result<String, PlatformError> {
        let refused = PlatformError::InvalidFacts;
        let has = |f: FactScope| match f {
            FactScope::Name => self.name.is_some(),
            FactScope::Address => self.address.is_some(),
            FactScope::Birthdate => self.birth_date.is_some(),
            FactScope::Gender => self.sex.is_some(),
        };
        for f in FactScope::ALL {
            if has(f) != asked.contains(&f) {
                return Err(refused(
                    "send exactly the facts the relying party asked for, no others",
                ));
            }
        }
        let text_ok = |s: &str, max: usize| {
            !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
        };
        let mut claims = Map::new();
        if let Some(n) = &self.name {
            if !text_ok(n, MAX_NAME_CHARS) {
                return Err(refused("name empty, too long or with control characters"));
            }
            claims.insert("name".into(), json!(n));
        }
        if let Some(a) = &self.address {
            if !text_ok(a, MAX_ADDRESS_CHARS) {
                return Err(refused(
                    "address empty, too long or with control characters",
                ));
            }
            claims.insert("address".into(), json!({"formatted": a}));
        }
        if let Some(b) = &self.birth_date {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let d = time::Date::parse(b, format)
                .map_err(|_| refused("birth_date is not a date YYYY-MM-DD"))?;
            if !(1000..=9999).contains(&d.year()) {
                return Err(refused("birth_date is not a date YYYY-MM-DD"));
            }
            claims.insert("birthdate".into(), json!(b));
        }
        if let Some(s) = self.sex {
            let gender = match Sex::from_iso5218(s) {
                Some(Sex::Male) => "male",
                Some(Sex::Female) => "female",
                Some(Sex::NotApplicable) => "not applicable",
                None => return Err(refused("sex is an ISO 5218 code: 1, 2 or 9")),
            };
            claims.insert("gender".into(), json!(gender));
        }
        Ok(Value::Object(claims).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> CardFacts {
        CardFacts {
            name: Some("山田 花子".into()),
            address: Some("東京都千代田区霞が関2-1-2".into()),
            birth_date: Some("1990-04-01".into()),
            sex: Some(2),
        }
    }

    #[test]
    fn exactly_the_asked_facts_become_claims() {
        let c: Value = serde_json::from_str(&all().claims(&FactScope::ALL).unwrap()).unwrap();
        assert_eq!(
            c,
            json!({"name": "山田 花子", "address": {"formatted": "東京都千代田区霞が関2-1-2"},
                   "birthdate": "1990-04-01", "gender": "female"})
        );
        let only_name = CardFacts {
            name: Some("A".into()),
            ..CardFacts::default()
        };
        assert_eq!(
            only_name.claims(&[FactScope::Name]).unwrap(),
            r#"{"name":"A"}"#
        );
        assert!(all().claims(&[FactScope::Name]).is_err(), "more than asked");
        assert!(
            only_name.claims(&FactScope::ALL).is_err(),
            "fewer than asked"
        );
        assert_eq!(CardFacts::default().claims(&[]).unwrap(), "{}");
    }

    #[test]
    fn malformed_facts_are_refused() {
        for bad in [
            CardFacts {
                birth_date: Some("19900401".into()),
                ..all()
            },
            CardFacts {
                birth_date: Some("1990-02-30".into()),
                ..all()
            },
            CardFacts {
                sex: Some(3),
                ..all()
            },
            CardFacts {
                name: Some(" ".into()),
                ..all()
            },
            CardFacts {
                address: Some("a\nb".into()),
                ..all()
            },
            CardFacts {
                name: Some("x".repeat(101)),
                ..all()
            },
        ] {
            assert!(bad.claims(&FactScope::ALL).is_err(), "{bad:?}");
        }
        for f in FactScope::ALL {
            assert_eq!(FactScope::parse(f.as_str()), Some(f));
            assert!(f.consent_item().name.ends_with(f.as_str()));
        }
    }
}
