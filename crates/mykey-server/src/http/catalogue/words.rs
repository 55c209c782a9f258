//! What a person reads on the pages: times in Japan's time zone, the consent items by what they
//! mean (with the article they come from), the kinds of log entry by what happened, and a log
//! entry's details as labelled words. The codes stay in the API and in the pages' markup
//! (`datetime`, `data-*`); people read words, from the page language's catalogue.

use std::borrow::Cow;

use mykey_pki::UnixTime;
use mykey_platform::LogKind;
use mykey_platform::oidc::FactScope;

use super::{Lang, Texts};

/// Japan Standard Time: UTC+9, no daylight saving.
const JST: time::UtcOffset = match time::UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("+09:00 is an offset"),
};

/// `t` as a person in Japan reads it: `2026年12月6日 8:31` or `6 Dec 2026, 08:31 JST`.
pub(crate) fn when(lang: Lang, t: UnixTime) -> String {
    let Ok(d) = time::OffsetDateTime::from_unix_timestamp(t.as_secs() as i64) else {
        return String::new();
    };
    // Past the last moment `time` can hold in Japan (the end of 9999 UTC): said as it is.
    let Some(d) = d.checked_to_offset(JST) else {
        return crate::http::rfc3339(t);
    };
    match lang {
        Lang::Ja => format!(
            "{}年{}月{}日 {}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        ),
        Lang::En => format!(
            "{} {} {}, {:02}:{:02} JST",
            d.day(),
            MONTHS[usize::from(u8::from(d.month())) - 1],
            d.year(),
            d.hour(),
            d.minute()
        ),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A moment as a page shows it: `<time datetime="{{ datetime }}">{{ words }}</time>`, machines
/// reading the attribute, people the words.
pub(crate) struct Moment {
    pub(crate) datetime: String,
    pub(crate) words: String,
}

impl Moment {
    pub(crate) fn new(lang: Lang, t: UnixTime) -> Self {
        Moment {
            datetime: crate::http::rfc3339(t),
            words: when(lang, t),
        }
    }
}

/// A fact a relying party asks for, by name.
pub(crate) fn fact_name(t: &Texts, f: FactScope) -> &'static str {
    match f {
        FactScope::Name => t.fact.name,
        FactScope::Address => t.fact.address,
        FactScope::Birthdate => t.fact.birthdate,
        FactScope::Gender => t.fact.gender,
    }
}

/// A consent item by what it means, with its article; an unknown name as it is.
pub(crate) fn consent_item(t: &Texts, name: &str) -> Cow<'static, str> {
    let i = &t.item;
    Cow::Borrowed(match name {
        "my-key-id.validity-check" => i.my_key_id_validity_check,
        "my-key-id.previous-issuance-numbers" => i.my_key_id_previous_issuance_numbers,
        "my-key-id.jlis-previous-number-search" => i.my_key_id_jlis_previous_number_search,
        "service-id.link" => i.service_id_link,
        "service-id.facts-change-check" => i.service_id_facts_change_check,
        "service-id.inquiries-to-relying-party" => i.service_id_inquiries,
        "ppid.certificate-to-platform" => i.ppid_certificate_to_platform,
        "ppid.managed-with-issuance-number" => i.ppid_managed_with_issuance_number,
        "ppid.customer-id-association" => i.ppid_customer_id_association,
        "ppid.validity-check" => i.ppid_validity_check,
        "ppid.previous-issuance-numbers" => i.ppid_previous_issuance_numbers,
        "ppid.jlis-previous-number-search" => i.ppid_jlis_previous_number_search,
        "points.payment-service-id-to-provider" => i.points_payment_service_id_to_provider,
        "points.validation-and-settlement-user-id" => i.points_validation_and_settlement_user_id,
        "points.application-to-provider" => i.points_application_to_provider,
        "points.issuance-number-to-mynaportal" => i.points_issuance_number_to_mynaportal,
        "points.issuance-numbers-to-account-registry" => {
            i.points_issuance_numbers_to_account_registry
        }
        "points.account-registration-from-registry" => i.points_account_registration_from_registry,
        "facts.name" => i.facts_name,
        "facts.address" => i.facts_address,
        "facts.birthdate" => i.facts_birthdate,
        "facts.gender" => i.facts_gender,
        other => return Cow::Owned(other.to_owned()),
    })
}

/// What a kind of log entry records, in words; an unknown kind (from a later version) as it is.
pub(crate) fn log_kind(t: &Texts, kind: &str) -> Cow<'static, str> {
    let Some(k) = LogKind::parse(kind) else {
        return Cow::Owned(kind.to_owned());
    };
    let w = &t.kind;
    Cow::Borrowed(match k {
        LogKind::PersonCreated => w.person_created,
        LogKind::CardRenewed => w.card_renewed,
        LogKind::Login => w.login,
        LogKind::Logout => w.logout,
        LogKind::JlisQuery => w.jlis_query,
        LogKind::MyKeyIdCreated => w.my_key_id_created,
        LogKind::MyKeyIdChanged => w.my_key_id_changed,
        LogKind::MyKeyIdRevoked => w.my_key_id_revoked,
        LogKind::ConsentGiven => w.consent_given,
        LogKind::ConsentWithdrawn => w.consent_withdrawn,
        LogKind::ServiceIdLinked => w.service_id_linked,
        LogKind::ServiceIdWithdrawn => w.service_id_withdrawn,
        LogKind::ServiceIdRemoved => w.service_id_removed,
        LogKind::ServiceIdEnded => w.service_id_ended,
        LogKind::FactsChangeShared => w.facts_change_shared,
        LogKind::FactsGiven => w.facts_given,
        LogKind::PpidIssued => w.ppid_issued,
        LogKind::PpidUsed => w.ppid_used,
        LogKind::PpidGiven => w.ppid_given,
        LogKind::PpidCustomerIdAssociated => w.ppid_customer_id_associated,
        LogKind::OidcCodeReused => w.oidc_code_reused,
        LogKind::ExportDownloaded => w.export_downloaded,
        LogKind::ServiceIdRead => w.service_id_read,
        LogKind::PpidRead => w.ppid_read,
        LogKind::PointApplied => w.point_applied,
        LogKind::PointValidated => w.point_validated,
        LogKind::PointRejected => w.point_rejected,
        LogKind::PointWithdrawn => w.point_withdrawn,
        LogKind::PointForfeited => w.point_forfeited,
        LogKind::PointGranted => w.point_granted,
        LogKind::OperatorRead => w.operator_read,
        LogKind::PersonSuspended => w.person_suspended,
        LogKind::PersonResumed => w.person_resumed,
        LogKind::MyKeyIdSuspended => w.my_key_id_suspended,
        LogKind::MyKeyIdResumed => w.my_key_id_resumed,
        LogKind::PointTriggerClaimed => w.point_trigger_claimed,
        LogKind::PointTriggerRegistered => w.point_trigger_registered,
    })
}

/// The words for a code the platform writes (a grant's or trigger's kind), or the code.
pub(crate) fn value_words(t: &Texts, code: &str) -> Cow<'static, str> {
    match t.values.iter().find(|(c, _)| *c == code) {
        Some((_, words)) => Cow::Borrowed(*words),
        None => Cow::Owned(code.to_owned()),
    }
}

/// Keys of a log entry's details that only repeat, in English, what its kind already says.
const SAID_BY_THE_KIND: [&str; 2] = ["note", "why"];

/// Keys whose values are codes the platform writes, said in words. Every other value — a
/// customer ID, a relying party's or a service's name, whatever a relying party chose — is
/// shown as it is, so that no relying party can make its own string read as the platform's.
const CODED: [&str; 13] = [
    "role",
    "read",
    "grant",
    "trigger",
    "registry",
    "reason",
    "purpose",
    "function",
    "service",
    "answer",
    "via",
    "revocation_reason",
    "items",
];

/// A log entry's details (canonical JSON, `{"relying_party": …, "reason": …}`) as labelled
/// words: each known key by its label, each code the platform writes by its words, consent
/// items by what they mean, a list joined; an unknown key or value as it is. Details that are
/// not a JSON object (none the platform writes) are shown as they are, under no label.
pub(crate) fn detail_lines(t: &Texts, detail: &str) -> Vec<(Cow<'static, str>, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(detail) else {
        return match detail.trim() {
            "" => Vec::new(),
            other => vec![(Cow::Borrowed(""), other.to_owned())],
        };
    };
    let label = |k: &str| match t.labels.iter().find(|(code, _)| *code == k) {
        Some((_, words)) => Cow::Borrowed(*words),
        None => Cow::Owned(k.to_owned()),
    };
    let value = |coded: bool, v: &serde_json::Value| -> String {
        match v {
            serde_json::Value::String(s) if !coded => s.clone(),
            serde_json::Value::String(s) => match t.values.iter().find(|(code, _)| code == s) {
                Some((_, words)) => (*words).to_owned(),
                None => consent_item(t, s).into_owned(),
            },
            serde_json::Value::Bool(true) => t.yes.to_owned(),
            serde_json::Value::Bool(false) => t.no.to_owned(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    };
    map.iter()
        .filter(|(k, _)| !SAID_BY_THE_KIND.contains(&k.as_str()))
        .map(|(k, v)| {
            let coded = CODED.contains(&k.as_str());
            let shown = match v {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|v| value(coded, v))
                    .collect::<Vec<_>>()
                    .join(t.list_separator),
                v => value(coded, v),
            };
            (label(k), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_japan_s_and_codes_become_words() {
        // 2026-12-05T23:31:50Z is the morning of the 6th in Japan.
        let t = UnixTime::from_secs(1_796_513_510);
        assert_eq!(when(Lang::Ja, t), "2026年12月6日 8:31");
        assert_eq!(when(Lang::En, t), "6 Dec 2026, 08:31 JST");
        // The last second `time` holds is past the year 9999 in Japan: no panic, plain UTC.
        let end = UnixTime::from_secs(253_402_300_799);
        assert_eq!(when(Lang::Ja, end), "9999-12-31T23:59:59Z");
        assert_eq!(Moment::new(Lang::En, t).datetime, "2026-12-05T23:31:50Z");
        let (ja, en) = (Lang::Ja.texts(), Lang::En.texts());
        assert!(consent_item(ja, "service-id.link").contains("第17条"));
        assert!(consent_item(en, "ppid.validity-check").contains("Art 20.1.4"));
        assert_eq!(consent_item(en, "later.item"), "later.item");
        // Every item the platform asks for has its words in both languages.
        let asked = mykey_platform::MY_KEY_ID_CONSENT
            .iter()
            .chain(mykey_platform::SERVICE_ID_CONSENT.iter())
            .chain(mykey_platform::PPID_CONSENT.iter())
            .chain(mykey_platform::POINT_CONSENT.iter())
            .chain(mykey_platform::HEALTH_INSURANCE_CONSENT.iter())
            .chain(mykey_platform::PUBLIC_FUND_ACCOUNT_CONSENT.iter());
        for item in asked {
            for t in [ja, en] {
                assert_ne!(consent_item(t, item.name), item.name, "{}", item.name);
            }
        }
        for k in LogKind::ALL {
            assert_ne!(log_kind(en, k.as_str()), k.as_str(), "{k:?}");
            assert_ne!(log_kind(ja, k.as_str()), k.as_str(), "{k:?}");
        }
    }

    #[test]
    fn details_are_labelled_words() {
        let en = Lang::En.texts();
        let lines = detail_lines(
            en,
            r#"{"customer_id":"C-1","items":["service-id.link","facts.name"],"reason":"withdrawn","relying_party":"Shop","why":"x"}"#,
        );
        let lines: Vec<(String, String)> = lines
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect();
        assert_eq!(
            lines,
            [
                ("Customer ID".into(), "C-1".into()),
                (
                    "Items".into(),
                    "linking your customer ID and My Key ID (Art 17.2.1), giving your name (Art 20.2)"
                        .into()
                ),
                ("Reason".into(), "you withdrew it".into()),
                ("Relying party".into(), "Shop".into()),
            ]
        );
        let ja = Lang::Ja.texts();
        assert_eq!(
            detail_lines(ja, r#"{"found":true,"previous_found":2}"#),
            [
                (Cow::Borrowed("見つかった"), "はい".to_owned()),
                (Cow::Borrowed("見つかった旧発行番号"), "2".to_owned())
            ]
        );
        assert!(detail_lines(ja, "{}").is_empty());
        // What a relying party chose is never read as the platform's words.
        assert_eq!(
            detail_lines(
                en,
                r#"{"customer_id":"withdrawn","relying_party":"service-id.link","reason":"withdrawn"}"#
            ),
            [
                (Cow::Borrowed("Customer ID"), "withdrawn".to_owned()),
                (Cow::Borrowed("Reason"), "you withdrew it".to_owned()),
                (Cow::Borrowed("Relying party"), "service-id.link".to_owned()),
            ]
        );
        assert_eq!(detail_lines(en, "not json")[0].1, "not json");
        // Every key the platform writes has its label in both languages.
        for key in [
            "relying_party",
            "relying_parties",
            "ppid_service",
            "customer_id",
            "items",
            "terms_version",
            "purpose",
            "function",
            "service",
            "answer",
            "previous_found",
            "found",
            "for",
            "reason",
            "scope",
            "tokens_revoked",
            "via",
            "operator",
            "role",
            "read",
            "grounds",
        ] {
            for t in [ja, en] {
                assert!(
                    t.labels.iter().any(|(k, _)| *k == key),
                    "{key} in {}",
                    t.lang
                );
            }
        }
    }
}
