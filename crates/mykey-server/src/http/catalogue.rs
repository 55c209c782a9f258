//! The pages' words, one catalogue per language: a template (`templates/`) reads its text from
//! the [`Texts`] of the page's language, never from literals of its own, so a page is written
//! once and read in Japanese or English. (Pages not yet moved to templates still pair their
//! texts with `Lang::t`; `words.rs` says codes and times in words.)

use super::oidc::page::Lang;

/// Every text of the templated pages, in one language.
#[derive(Debug)]
pub(crate) struct Texts {
    /// The page's `lang`.
    pub(crate) lang: &'static str,
    /// The other language, to switch to, and its name in itself.
    pub(crate) other_lang: &'static str,
    pub(crate) other_lang_name: &'static str,
    pub(crate) skip: &'static str,
    pub(crate) portal_menu: &'static str,
    pub(crate) overview: &'static str,
    pub(crate) my_log: &'static str,
    pub(crate) download_json: &'static str,
    pub(crate) log_out: &'static str,
    pub(crate) chain_intact: &'static str,
    pub(crate) chain_broken: &'static str,
    pub(crate) log_caption: &'static str,
    pub(crate) when: &'static str,
    pub(crate) what: &'static str,
    pub(crate) details: &'static str,
    pub(crate) older_entries: &'static str,
    pub(crate) portal_heading: &'static str,
    pub(crate) portal_title: &'static str,
    pub(crate) done_created: &'static str,
    pub(crate) done_changed: &'static str,
    pub(crate) done_revoked: &'static str,
    pub(crate) done_withdrawn: &'static str,
    pub(crate) your_my_key_id: &'static str,
    pub(crate) since: &'static str,
    pub(crate) new_my_key_id: &'static str,
    pub(crate) id_help: &'static str,
    pub(crate) change: &'static str,
    pub(crate) revoke_heading: &'static str,
    pub(crate) revoke_warning: &'static str,
    pub(crate) revoke_confirm: &'static str,
    pub(crate) revoke: &'static str,
    pub(crate) no_my_key_id: &'static str,
    pub(crate) wanted_my_key_id: &'static str,
    pub(crate) create: &'static str,
    pub(crate) linked_services: &'static str,
    pub(crate) nothing_linked: &'static str,
    pub(crate) service_ids: &'static str,
    pub(crate) relying_party: &'static str,
    pub(crate) customer_id: &'static str,
    pub(crate) linked: &'static str,
    pub(crate) consented_to: &'static str,
    pub(crate) action: &'static str,
    pub(crate) withdraw_link_of: &'static str,
    pub(crate) withdraw: &'static str,
    pub(crate) ppid_services: &'static str,
    pub(crate) service: &'static str,
    pub(crate) consented: &'static str,
    pub(crate) withdraw_consent_of: &'static str,
    pub(crate) withdraw_consent: &'static str,
}

/// 日本語.
pub(crate) const JA: Texts = Texts {
    lang: "ja",
    other_lang: "en",
    other_lang_name: "English",
    skip: "本文へ移動",
    portal_menu: "ポータルのメニュー",
    overview: "概要",
    my_log: "私の記録",
    download_json: "保有情報をダウンロード (JSON)",
    log_out: "ログアウト",
    chain_intact: "記録の連鎖を確認しました。改ざんはありません。",
    chain_broken: "記録の連鎖が一致しません。運営者に連絡してください。",
    log_caption: "あなたのデータに対して行われたこと（新しい順）",
    when: "日時",
    what: "種類",
    details: "詳細",
    older_entries: "前の記録",
    portal_heading: "MyKeyポータル",
    portal_title: "MyKeyポータル",
    done_created: "My Key IDを作成しました。",
    done_changed: "My Key IDを変更しました。",
    done_revoked: "My Key IDを失効しました。",
    done_withdrawn: "連携を解除しました。",
    your_my_key_id: "あなたのMy Key ID:",
    since: "設定日時",
    new_my_key_id: "新しいMy Key ID",
    id_help: "英数字8文字。空欄なら自動で選びます。",
    change: "変更する",
    revoke_heading: "My Key IDの失効",
    revoke_warning: "失効すると、My Key IDを使うすべての機能が終了します（利用規約第15条第3項）。登録されたサービスIDの連携はすべて解除され、マイナポイントの申込みの権利も失われます（第27条）。PPIDとその同意は残ります。この操作は取り消せません。",
    revoke_confirm: "内容を理解し、失効します",
    revoke: "失効する",
    no_my_key_id: "My Key IDはまだありません。",
    wanted_my_key_id: "希望するMy Key ID",
    create: "作成する",
    linked_services: "連携しているサービス",
    nothing_linked: "連携はありません。",
    service_ids: "サービスID",
    relying_party: "依頼元",
    customer_id: "お客様番号",
    linked: "連携日時",
    consented_to: "同意した項目",
    action: "操作",
    withdraw_link_of: "連携を解除:",
    withdraw: "解除する",
    ppid_services: "PPIDサービス",
    service: "サービス",
    consented: "同意日時",
    withdraw_consent_of: "同意を撤回:",
    withdraw_consent: "撤回する",
};

/// English.
pub(crate) const EN: Texts = Texts {
    lang: "en",
    other_lang: "ja",
    other_lang_name: "日本語",
    skip: "Skip to the content",
    portal_menu: "Portal menu",
    overview: "Overview",
    my_log: "My log",
    download_json: "Download everything held (JSON)",
    log_out: "Log out",
    chain_intact: "The log's hash chain checks out: nothing was altered.",
    chain_broken: "The log's hash chain does not check out. Contact the operator.",
    log_caption: "What was done with your data (newest first)",
    when: "When",
    what: "What",
    details: "Details",
    older_entries: "Older entries",
    portal_heading: "Your MyKey portal",
    portal_title: "MyKey portal",
    done_created: "Your My Key ID was created.",
    done_changed: "Your My Key ID was changed.",
    done_revoked: "Your My Key ID was revoked.",
    done_withdrawn: "The link was withdrawn.",
    your_my_key_id: "Your My Key ID:",
    since: "since",
    new_my_key_id: "New My Key ID",
    id_help: "8 letters or digits; leave empty for a random one.",
    change: "Change",
    revoke_heading: "Revoke your My Key ID",
    revoke_warning: "Revoking ends every function of the platform that uses your My Key ID (Terms Art 15.3): all your Service ID links end, and you lose the right to apply for card points (Art 27). Your PPIDs and their consents stay. This cannot be undone.",
    revoke_confirm: "I understand; revoke it",
    revoke: "Revoke",
    no_my_key_id: "You have no My Key ID yet.",
    wanted_my_key_id: "The My Key ID you want",
    create: "Create",
    linked_services: "Linked services",
    nothing_linked: "Nothing is linked.",
    service_ids: "Service IDs",
    relying_party: "Relying party",
    customer_id: "Customer ID",
    linked: "Linked",
    consented_to: "Consented to",
    action: "Action",
    withdraw_link_of: "Withdraw the link with",
    withdraw: "Withdraw",
    ppid_services: "PPID services",
    service: "Service",
    consented: "Consented",
    withdraw_consent_of: "Withdraw consent for",
    withdraw_consent: "Withdraw",
};

impl Lang {
    /// This language's catalogue.
    pub(crate) fn texts(self) -> &'static Texts {
        match self {
            Lang::Ja => &JA,
            Lang::En => &EN,
        }
    }
}

/// A rendered template as a page, with the headers every page carries.
pub(crate) fn render(
    status: axum::http::StatusCode,
    page: &impl askama::Template,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match page.render() {
        Ok(html) => {
            let mut r = (status, html).into_response();
            super::oidc::page::page_headers(r.headers_mut());
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
