//! What a person reads on the pages, in Japanese and English: times in Japan's time zone, the
//! consent items by what they mean (with the article they come from), the kinds of log entry by
//! what happened. The codes stay in the API and in the pages' markup (`datetime`, `data-*`);
//! people read words.

use std::borrow::Cow;

use mykey_pki::UnixTime;
use mykey_platform::LogKind;

use super::oidc::page::Lang;

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
    let d = d.to_offset(JST);
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

/// `<time datetime="…">` with [`when`]'s words: machines read the attribute, people the words.
pub(crate) fn time_element(lang: Lang, t: UnixTime) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        super::rfc3339(t),
        super::oidc::page::esc(&when(lang, t))
    )
}

/// A consent item by what it means, with its article; an unknown name as it is.
pub(crate) fn consent_item(lang: Lang, name: &str) -> Cow<'static, str> {
    let t = |ja: &'static str, en: &'static str| Cow::Borrowed(lang.t(ja, en));
    match name {
        "service-id.link" => t(
            "お客様番号とMy Key IDの連携（第17条第2項第1号）",
            "linking your customer ID and My Key ID (Art 17.2.1)",
        ),
        "service-id.facts-change-check" => t(
            "住所などの変更の確認と結果の提供（第17条第2項第2号）",
            "checking for changes of your address and other facts, and telling the result (Art 17.2.2)",
        ),
        "service-id.inquiries-to-relying-party" => t(
            "お問い合わせはこの事業者が受けること（第17条第2項第3号）",
            "this relying party answering your inquiries (Art 17.2.3)",
        ),
        "ppid.certificate-to-platform" => t(
            "利用者証明用電子証明書のプラットフォームへの送信（第20条第1項第1号）",
            "sending your user-identification certificate to the platform (Art 20.1.1)",
        ),
        "ppid.managed-with-issuance-number" => t(
            "PPIDと発行番号を関連付けた管理（第20条第1項第2号）",
            "managing your PPID with your certificate's issuance number (Art 20.1.2)",
        ),
        "ppid.customer-id-association" => t(
            "PPIDと事業者のお客様番号の関連付け（第20条第1項第3号）",
            "the relying party associating your PPID with its customer ID (Art 20.1.3)",
        ),
        "ppid.validity-check" => t(
            "電子証明書の有効性確認のための発行番号の送信（第20条第1項第4号）",
            "sending the issuance number to J-LIS to check the certificate (Art 20.1.4)",
        ),
        "ppid.previous-issuance-numbers" => t(
            "カード更新後も旧発行番号で利用を続けること（第20条第1項第5号）",
            "keeping your account through a card renewal with the old number (Art 20.1.5)",
        ),
        "ppid.jlis-previous-number-search" => t(
            "J-LISによる旧発行番号の検索と提供（第20条第1項第6号）",
            "J-LIS finding the old issuance number and sending it (Art 20.1.6)",
        ),
        "facts.name" => t("氏名の提供（第20条第2項）", "giving your name (Art 20.2)"),
        "facts.address" => t(
            "住所の提供（第20条第2項）",
            "giving your address (Art 20.2)",
        ),
        "facts.birthdate" => t(
            "生年月日の提供（第20条第2項）",
            "giving your date of birth (Art 20.2)",
        ),
        "facts.gender" => t("性別の提供（第20条第2項）", "giving your sex (Art 20.2)"),
        other => Cow::Owned(other.to_owned()),
    }
}

/// What a kind of log entry records, in words; an unknown kind (from a later version) as it is.
pub(crate) fn log_kind(lang: Lang, kind: &str) -> Cow<'static, str> {
    let t = |ja: &'static str, en: &'static str| Cow::Borrowed(lang.t(ja, en));
    let Some(k) = LogKind::parse(kind) else {
        return Cow::Owned(kind.to_owned());
    };
    match k {
        LogKind::PersonCreated => t("利用開始", "You started using the platform"),
        LogKind::CardRenewed => t(
            "更新したカードの引き継ぎ",
            "Your renewed card was recognised as yours",
        ),
        LogKind::Login => t("ログイン", "Login"),
        LogKind::Logout => t("サービスからのログアウト", "Logged out by a service"),
        LogKind::JlisQuery => t("J-LISへの照会", "J-LIS was asked"),
        LogKind::MyKeyIdCreated => t("My Key IDの作成", "My Key ID created"),
        LogKind::MyKeyIdChanged => t("My Key IDの変更", "My Key ID changed"),
        LogKind::MyKeyIdRevoked => t("My Key IDの失効", "My Key ID revoked"),
        LogKind::ConsentGiven => t("同意", "Consent given"),
        LogKind::ConsentWithdrawn => t("同意の撤回", "Consent withdrawn"),
        LogKind::ServiceIdLinked => t("サービスIDの連携", "Service ID linked"),
        LogKind::ServiceIdWithdrawn => t("サービスIDの連携解除", "Service ID link withdrawn"),
        LogKind::ServiceIdRemoved => t(
            "事業者によるサービスIDの削除",
            "Service ID removed by the relying party",
        ),
        LogKind::ServiceIdEnded => t("サービスIDの終了", "Service ID ended"),
        LogKind::FactsChangeShared => t(
            "4情報の変更の有無の提供",
            "Whether your facts changed was told",
        ),
        LogKind::FactsGiven => t("4情報の提供", "Your facts were given"),
        LogKind::PpidIssued => t("PPIDの発行", "PPID issued"),
        LogKind::PpidUsed => t("PPIDでのログイン", "Logged in with a PPID"),
        LogKind::PpidGiven => t("PPIDの提供", "PPID given to the service"),
        LogKind::PpidCustomerIdAssociated => t(
            "PPIDとお客様番号の関連付け",
            "PPID associated with a customer ID",
        ),
        LogKind::OidcCodeReused => t(
            "ログインコードの再使用（発行済みトークンを無効化）",
            "A login code was used again (its tokens were revoked)",
        ),
        LogKind::ExportDownloaded => t("データのダウンロード", "Your data was downloaded"),
    }
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
        assert!(time_element(Lang::En, t).contains("datetime=\"2026-12-05T23:31:50Z\""));
        assert!(consent_item(Lang::Ja, "service-id.link").contains("第17条"));
        assert!(consent_item(Lang::En, "ppid.validity-check").contains("Art 20.1.4"));
        for k in LogKind::ALL {
            assert_ne!(log_kind(Lang::En, k.as_str()), k.as_str(), "{k:?}");
            assert_ne!(log_kind(Lang::Ja, k.as_str()), k.as_str(), "{k:?}");
        }
    }
}
