//! The portal's pages. Text is escaped where it is put in; every form posts the session's form
//! token; headings, labels, tables with headers and `role="status"` messages make the pages
//! usable with a screen reader, and plain forms and links make them usable by keyboard.

use axum::http::StatusCode;
use axum::response::Response;
use mykey_pki::UnixTime;
use mykey_platform::oidc::PortalBegun;
use mykey_platform::{LogEntry, MyKeyIdState, PersonLink, PersonPpidService};

use crate::http::oidc::page::{Lang, esc, page};
use crate::http::words::{consent_items, log_kind, time_element};

/// The cookie tying a portal login to its browser.
pub(super) fn login_cookie(handle: &str) -> String {
    format!("mykey-portal-{}", handle.get(..12).unwrap_or(handle))
}

fn nav(lang: Lang, form: &str) -> String {
    format!(
        "<nav aria-label=\"{label}\"><ul>\
         <li><a href=\"/portal\">{home}</a></li><li><a href=\"/portal/log\">{log}</a></li>\
         <li><a href=\"/portal/export\" download>{export}</a></li>\
         <li><a href=\"?lang={other}\" lang=\"{other}\">{other_name}</a></li></ul>\
         <form method=\"post\" action=\"/portal/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{form}\">\
         <button type=\"submit\">{logout}</button></form></nav>",
        label = esc(lang.t("ポータルのメニュー", "Portal menu")),
        home = esc(lang.t("概要", "Overview")),
        log = esc(lang.t("私の記録", "My log")),
        export = esc(lang.t(
            "保有情報をダウンロード (JSON)",
            "Download everything held (JSON)"
        )),
        other = match lang {
            Lang::Ja => "en",
            Lang::En => "ja",
        },
        other_name = match lang {
            Lang::Ja => "English",
            Lang::En => "日本語",
        },
        form = esc(form),
        logout = esc(lang.t("ログアウト", "Log out")),
    )
}

fn hidden(form: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(form)
    )
}

pub(super) fn login(lang: Lang, b: &PortalBegun, approve: &str) -> Response {
    let next = format!("/portal/login/continue?request={}", b.handle);
    let status = format!("/portal/login/status?request={}", b.handle);
    let head = format!(
        "<meta name=\"mykey-approve-url\" content=\"{}\"><meta name=\"mykey-continue-url\" content=\"{}\">\
         <meta name=\"mykey-status-url\" content=\"{}\"><script src=\"/static/authorize.js\" defer></script>",
        esc(approve),
        esc(&next),
        esc(&status)
    );
    let qr = crate::http::oidc::authorize::qr_svg(approve);
    let body = format!(
        "<h1>{h1}</h1><p>{intro}</p>\
         <figure class=\"qr\" role=\"img\" aria-label=\"{qr_label}\">{qr}</figure>\
         <p>{code_label} <strong class=\"code\">{code}</strong></p>\
         <p>{until_label} {until}</p>\
         <p id=\"live\" role=\"status\" aria-live=\"polite\" data-done=\"{done}\">{waiting}</p>\
         <form method=\"get\" action=\"/portal/login/continue\"><input type=\"hidden\" name=\"request\" value=\"{handle}\">\
         <button type=\"submit\">{cont}</button></form>\
         <p><a href=\"?lang={other}\" lang=\"{other}\">{other_name}</a></p>",
        h1 = esc(lang.t("MyKeyポータルにログイン", "Log in to your MyKey portal")),
        intro = esc(lang.t(
            "スマートフォンのMyKeyアプリでQRコードを読み取るか短いコードを入力し、マイナンバーカードで承認してください。",
            "In the MyKey app on your phone, scan the QR code or type the short code, then approve with your My Number Card.",
        )),
        qr_label = esc(lang.t("承認用のQRコード", "QR code for approving")),
        code_label = esc(lang.t("短いコード:", "Short code:")),
        code = esc(&b.short_code),
        until_label = esc(lang.t("有効期限:", "Valid until:")),
        until = time_element(lang, b.expires_at),
        done = esc(lang.t("承認されました。移動します…", "Approved. Continuing…")),
        waiting = esc(lang.t("スマートフォンでの承認を待っています…", "Waiting for your phone…")),
        handle = esc(&b.handle),
        cont = esc(lang.t("承認したら続ける", "Continue after approving")),
        other = match lang {
            Lang::Ja => "en",
            Lang::En => "ja",
        },
        other_name = match lang {
            Lang::Ja => "English",
            Lang::En => "日本語",
        },
    );
    page(
        StatusCode::OK,
        lang,
        lang.t("ログイン", "Log in"),
        &head,
        &body,
    )
}

pub(super) fn waiting(lang: Lang, handle: &str, until: UnixTime) -> Response {
    page(
        StatusCode::OK,
        lang,
        lang.t("承認待ち", "Waiting"),
        "",
        &format!(
            "<h1>{}</h1><p>{} {}</p>\
             <form method=\"get\" action=\"/portal/login/continue\"><input type=\"hidden\" name=\"request\" value=\"{}\">\
             <button type=\"submit\">{}</button></form>",
            esc(lang.t("まだ承認されていません", "Not approved yet")),
            esc(lang.t(
                "スマートフォンで承認してから、もう一度押してください。期限:",
                "Approve on your phone, then press again. Valid until:",
            )),
            time_element(lang, until),
            esc(handle),
            esc(lang.t("承認したら続ける", "Continue after approving")),
        ),
    )
}

fn done_message(lang: Lang, done: Option<&str>) -> String {
    let text = match done {
        Some("created") => lang.t("My Key IDを作成しました。", "Your My Key ID was created."),
        Some("changed") => lang.t("My Key IDを変更しました。", "Your My Key ID was changed."),
        Some("revoked") => lang.t("My Key IDを失効しました。", "Your My Key ID was revoked."),
        Some("withdrawn") => lang.t("連携を解除しました。", "The link was withdrawn."),
        _ => return String::new(),
    };
    format!("<p role=\"status\">{}</p>", esc(text))
}

pub(super) fn overview(
    lang: Lang,
    form: &str,
    id: Option<&MyKeyIdState>,
    links: &[PersonLink],
    ppids: &[PersonPpidService],
    done: Option<&str>,
) -> Response {
    let mut body = nav(lang, form);
    body.push_str(&format!(
        "<h1>{}</h1>",
        esc(lang.t("MyKeyポータル", "Your MyKey portal"))
    ));
    body.push_str(&done_message(lang, done));
    body.push_str("<section aria-labelledby=\"mkid\"><h2 id=\"mkid\">My Key ID</h2>");
    let id_field = |label: &str| {
        format!(
            "<label for=\"new-id\">{}</label> <input id=\"new-id\" name=\"id\" maxlength=\"8\" autocomplete=\"off\" \
             aria-describedby=\"id-help\"> <span id=\"id-help\">{}</span>",
            esc(label),
            esc(lang.t(
                "英数字8文字。空欄なら自動で選びます。",
                "8 letters or digits; leave empty for a random one."
            )),
        )
    };
    match id {
        Some(m) => {
            body.push_str(&format!(
                "<p>{} <strong class=\"code\" id=\"my-key-id\">{}</strong> ({} {})</p>",
                esc(lang.t("あなたのMy Key ID:", "Your My Key ID:")),
                esc(m.id.as_str()),
                esc(lang.t("設定日時", "since")),
                time_element(lang, m.since),
            ));
            body.push_str(&format!(
                "<form method=\"post\" action=\"/portal/my-key-id\">{}<input type=\"hidden\" name=\"action\" value=\"change\">{} \
                 <button type=\"submit\">{}</button></form>",
                hidden(form),
                id_field(lang.t("新しいMy Key ID", "New My Key ID")),
                esc(lang.t("変更する", "Change")),
            ));
            body.push_str(&format!(
                "<form method=\"post\" action=\"/portal/my-key-id\" class=\"warning\">{}<input type=\"hidden\" name=\"action\" value=\"revoke\">\
                 <h3>{}</h3><p id=\"revoke-warning\">{}</p>\
                 <p><input type=\"checkbox\" id=\"confirm\" name=\"confirm\" value=\"yes\" aria-describedby=\"revoke-warning\"> \
                 <label for=\"confirm\">{}</label></p><button type=\"submit\">{}</button></form>",
                hidden(form),
                esc(lang.t("My Key IDの失効", "Revoke your My Key ID")),
                esc(lang.t(
                    "失効すると、My Key IDを使うすべての機能が終了します（利用規約第15条第3項）。登録されたサービスIDの連携はすべて解除され、マイナポイントの申込みの権利も失われます（第27条）。PPIDとその同意は残ります。この操作は取り消せません。",
                    "Revoking ends every function of the platform that uses your My Key ID (Terms Art 15.3): all your Service ID links end, and you lose the right to apply for card points (Art 27). Your PPIDs and their consents stay. This cannot be undone.",
                )),
                esc(lang.t("内容を理解し、失効します", "I understand; revoke it")),
                esc(lang.t("失効する", "Revoke")),
            ));
        }
        None => body.push_str(&format!(
            "<p>{}</p><form method=\"post\" action=\"/portal/my-key-id\">{}<input type=\"hidden\" name=\"action\" value=\"create\">{} \
             <button type=\"submit\">{}</button></form>",
            esc(lang.t("My Key IDはまだありません。", "You have no My Key ID yet.")),
            hidden(form),
            id_field(lang.t("希望するMy Key ID", "The My Key ID you want")),
            esc(lang.t("作成する", "Create")),
        )),
    }
    body.push_str("</section>");

    body.push_str(&format!(
        "<section aria-labelledby=\"links\"><h2 id=\"links\">{}</h2>",
        esc(lang.t("連携しているサービス", "Linked services"))
    ));
    if links.is_empty() && ppids.is_empty() {
        body.push_str(&format!(
            "<p>{}</p>",
            esc(lang.t("連携はありません。", "Nothing is linked."))
        ));
    }
    if !links.is_empty() {
        body.push_str(&format!(
            "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\"><span class=\"sr\">{}</span></th></tr></thead><tbody>",
            esc(lang.t("サービスID", "Service IDs")),
            esc(lang.t("依頼元", "Relying party")),
            esc(lang.t("お客様番号", "Customer ID")),
            esc(lang.t("連携日時", "Linked")),
            esc(lang.t("同意した項目", "Consented to")),
            esc(lang.t("操作", "Action")),
        ));
        for l in links {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>\
                 <form method=\"post\" action=\"/portal/service-ids/{}/withdrawal\">{}<button type=\"submit\" aria-label=\"{} {}\">{}</button></form></td></tr>",
                esc(&l.relying_party),
                esc(l.customer_id.as_str()),
                time_element(lang, l.linked_at),
                consent_items(lang, &l.consent.items),
                l.id,
                hidden(form),
                esc(lang.t("連携を解除:", "Withdraw the link with")),
                esc(&l.relying_party),
                esc(lang.t("解除する", "Withdraw")),
            ));
        }
        body.push_str("</tbody></table>");
    }
    let active: Vec<&PersonPpidService> = ppids
        .iter()
        .filter(|s| {
            s.consent
                .as_ref()
                .is_some_and(|(_, withdrawn)| withdrawn.is_none())
        })
        .collect();
    if !active.is_empty() {
        body.push_str(&format!(
            "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\"><span class=\"sr\">{}</span></th></tr></thead><tbody>",
            esc(lang.t("PPIDサービス", "PPID services")),
            esc(lang.t("サービス", "Service")),
            esc(lang.t("依頼元", "Relying party")),
            esc(lang.t("同意日時", "Consented")),
            esc(lang.t("同意した項目", "Consented to")),
            esc(lang.t("操作", "Action")),
        ));
        for s in active {
            let (consent, _) = s.consent.as_ref().expect("filtered on an active consent");
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>\
                 <form method=\"post\" action=\"/portal/ppid-services/{}/withdrawal\">{}<button type=\"submit\" aria-label=\"{} {}\">{}</button></form></td></tr>",
                esc(&s.name),
                esc(&s.relying_party),
                time_element(lang, consent.given_at),
                consent_items(lang, &consent.items),
                s.id.get(),
                hidden(form),
                esc(lang.t("同意を撤回:", "Withdraw consent for")),
                esc(&s.name),
                esc(lang.t("撤回する", "Withdraw")),
            ));
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");
    page(
        StatusCode::OK,
        lang,
        lang.t("MyKeyポータル", "MyKey portal"),
        "",
        &body,
    )
}

/// A page of the log, `entries` newest first; `next`, the cursor of the older page.
pub(super) fn log(
    lang: Lang,
    form: &str,
    entries: &[LogEntry],
    next: Option<u64>,
    chain_ok: bool,
) -> Response {
    let mut body = nav(lang, form);
    body.push_str(&format!("<h1>{}</h1>", esc(lang.t("私の記録", "My log"))));
    body.push_str(&format!(
        "<p role=\"status\" id=\"chain\" data-chain=\"{}\">{}</p>",
        if chain_ok { "intact" } else { "broken" },
        esc(if chain_ok {
            lang.t(
                "記録の連鎖を確認しました。改ざんはありません。",
                "The log's hash chain checks out: nothing was altered.",
            )
        } else {
            lang.t(
                "記録の連鎖が一致しません。運営者に連絡してください。",
                "The log's hash chain does not check out. Contact the operator.",
            )
        })
    ));
    body.push_str(&format!(
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">#</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        esc(lang.t("あなたのデータに対して行われたこと（新しい順）", "What was done with your data (newest first)")),
        esc(lang.t("日時", "When")),
        esc(lang.t("種類", "What")),
        esc(lang.t("詳細", "Details")),
    ));
    for e in entries {
        body.push_str(&format!(
            "<tr class=\"entry\" data-kind=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&e.kind),
            e.seq,
            time_element(lang, UnixTime::from_secs(e.at)),
            esc(&log_kind(lang, &e.kind)),
            esc(&e.detail),
        ));
    }
    body.push_str("</tbody></table>");
    if let Some(n) = next {
        body.push_str(&format!(
            "<p><a rel=\"next\" href=\"/portal/log?before={n}\">{}</a></p>",
            esc(lang.t("前の記録", "Older entries"))
        ));
    }
    page(
        StatusCode::OK,
        lang,
        lang.t("私の記録", "My log"),
        "",
        &body,
    )
}
