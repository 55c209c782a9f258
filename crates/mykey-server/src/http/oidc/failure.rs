//! The one page a person's browser sees when a request fails — the authorization endpoint's and
//! the portal's alike: the status the JSON API would answer (`problem.rs`), and what happened in
//! the page's language. Every domain error has its words here (no wildcard), so a new one is a
//! compile error until it is given them.

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::Response;
use mykey_platform::{
    AccessError as A, CardError as C, Conflict as X, InvalidError as I, Limited as L,
    NotFound as N, PlatformError,
};

use super::page::{Lang, error_page};
use crate::http::problem::told_of;

/// The failure page for `e`: the JSON API's status, except that, for a browser's request, what
/// that API calls an unprocessable body (422) and a `client_id` naming no client (RFC 6749
/// §4.1.2.1: an invalid authorization request) are a bad request (400).
pub(crate) fn failure_page(lang: Lang, e: &PlatformError) -> Response {
    let status = match (e, told_of(e).status) {
        (PlatformError::NotFound(N::OidcClient), _) | (_, StatusCode::UNPROCESSABLE_ENTITY) => {
            StatusCode::BAD_REQUEST
        }
        (_, s) => s,
    };
    error_page(status, lang, &words(lang, e))
}

/// What a person reads about `e`. Details the domain gives (in English, for relying parties and
/// operators) follow the Japanese sentence only where they help the person.
fn words(lang: Lang, e: &PlatformError) -> Cow<'static, str> {
    let t = |ja: &'static str, en: &'static str| Cow::Borrowed(lang.t(ja, en));
    let with = |ja: &'static str, en: &'static str, detail: &str| {
        Cow::Owned(format!("{} ({detail})", lang.t(ja, en)))
    };
    match e {
        PlatformError::Card(c) => match c {
            C::ChallengeUnknown => t(
                "この確認はすでに使われたか、見つかりません。最初からやり直してください。",
                "This check was already used or was not found; start again.",
            ),
            C::ChallengeExpired => t(
                "確認の有効時間が過ぎました。最初からやり直してください。",
                "The time for this check ran out; start again.",
            ),
            C::Certificate(_) => t(
                "カードの証明書または署名を確認できませんでした。",
                "The card's certificate or signature could not be verified.",
            ),
            C::Revoked { .. } => t(
                "このカードの利用者証明用電子証明書は失効しています。",
                "This card's user-identification certificate is revoked.",
            ),
        },
        PlatformError::Access(a) => match a {
            A::Unauthenticated => t(
                "ログインしていないか、ログインの有効時間が過ぎました。もう一度ログインしてください。",
                "You are not logged in, or your login has expired; log in again.",
            ),
            A::OperatorApiClosed => t(
                "運営者向けの機能は利用できません。",
                "The operator functions are closed.",
            ),
            A::InvalidClient | A::InvalidClientAssertion(_) => t(
                "サービスの認証に失敗しました。",
                "The service could not be authenticated.",
            ),
            A::RelyingPartyNotApproved => t(
                "このサービスは現在利用できません（承認待ちまたは停止中）。",
                "This service cannot be used now (awaiting approval or suspended).",
            ),
            A::PpidClosed => t(
                "このプラットフォームでは仮名（PPID）を発行していません。",
                "This platform does not issue pseudonyms (PPIDs).",
            ),
        },
        PlatformError::Invalid(i) => match i {
            I::Id(d) => with(
                "入力された識別子の形式が正しくありません。",
                "An identifier in the request is malformed.",
                &d.to_string(),
            ),
            I::Name => t(
                "名前は1～200文字で、制御文字や見えない文字は使えません。",
                "A name is 1 to 200 characters, without control or invisible characters.",
            ),
            I::Jwks(d) => with(
                "登録された鍵（JWK Set）を受け付けられません。",
                "The registered keys (JWK Set) are not acceptable.",
                d,
            ),
            I::Stream(d) => with(
                "通知先の設定を受け付けられません。",
                "The event stream is not acceptable.",
                d,
            ),
            I::ConsentIncomplete => t(
                "同意事項がそろっていないか、現在の利用規約のものではありません。",
                "The consent does not name every required item under the terms in force.",
            ),
            I::Terms(d) => with(
                "利用規約の内容に誤りがあります。",
                "The terms are malformed.",
                d,
            ),
            I::TermsNoticeTooShort { .. } => t(
                "利用規約の変更は、効力発生の7日以上前に告知する必要があります（第12条第2項）。",
                "A change of the terms must be announced at least seven days ahead (Art 12.2).",
            ),
            I::PpidCode => t(
                "このコードは使用済み、期限切れ、または見つかりません。",
                "This code was already used, has expired or was not found.",
            ),
            I::RedirectUri => t(
                "サービスの戻り先が登録されたものと一致しません。サービスにお問い合わせください。",
                "The service's return address is not one it registered; contact the service.",
            ),
            I::OidcClient(d) => with(
                "サービスの登録内容を受け付けられません。",
                "The service's registration is not acceptable.",
                d,
            ),
            I::Facts(d) => with(
                "カードから読み取った4情報を受け付けられませんでした。",
                "The facts read from the card were refused.",
                d,
            ),
            I::Logout(d) => with(
                "このログアウト要求には応じられません。",
                "This logout request cannot be honoured.",
                d,
            ),
        },
        PlatformError::NotFound(n) => match n {
            N::MyKeyId => t(
                "有効なマイキーIDがありません。",
                "You have no active My Key ID.",
            ),
            N::RelyingParty => t("そのサービスは見つかりません。", "No such service."),
            N::Stream => t(
                "通知先が設定されていません。",
                "No event stream is configured.",
            ),
            N::LinkRequest => t("その連携の申請は見つかりません。", "No such link request."),
            N::ServiceId => t("その連携は見つかりません。", "No such link."),
            N::PpidService => t(
                "その仮名（PPID）のサービスは見つかりません。",
                "No such pseudonym (PPID) service.",
            ),
            N::Ppid => t(
                "その仮名（PPID）は見つかりません。",
                "No such pseudonym (PPID).",
            ),
            N::OidcClient => t(
                "このサービスはログイン連携に登録されていません。",
                "This service is not registered for logging in.",
            ),
            N::Authorization => t(
                "このログイン要求は見つかりません。このブラウザで始めたものではない可能性があります。",
                "This login request was not found, or was not started in this browser.",
            ),
        },
        PlatformError::Conflict(x) => match x {
            X::MyKeyIdAlreadyActive => t(
                "マイキーIDはすでに作成されています。",
                "You already have a My Key ID.",
            ),
            X::MyKeyIdTaken => t(
                "そのマイキーIDは使用できません。別のものを選んでください。",
                "That My Key ID is not available; choose another.",
            ),
            X::MyKeyIdRequired => t(
                "サービスとの連携には、先にマイキーIDを作成してください（第17条第1項）。",
                "Create a My Key ID first: a link needs one (Art 17.1).",
            ),
            X::LinkRequestAnswered => t(
                "この連携の申請にはすでに回答済みです。",
                "This link request has already been answered.",
            ),
            X::LinkRequestExpired => t(
                "この連携の申請は有効期限が過ぎました。",
                "This link request has expired.",
            ),
            X::ServiceIdExists => t(
                "その番号はすでに連携されています。",
                "That customer number is already linked.",
            ),
            X::TermsVersionExists => t(
                "その版の利用規約はすでに公表されています。",
                "That version of the terms is already published.",
            ),
            X::AuthorizationAnswered => t(
                "このログイン要求はすでに完了しています。サービスの画面からやり直してください。",
                "This login request has already been completed; start again from the service.",
            ),
            X::AuthorizationExpired => t(
                "このログイン要求は有効期限が過ぎました。サービスの画面からやり直してください。",
                "This login request has expired; start again from the service.",
            ),
        },
        PlatformError::Limited(l) => match l {
            L::TooManyAttempts { retry_after } => Cow::Owned(match lang {
                Lang::Ja => format!(
                    "見つからないコードの入力が続きました。{retry_after}秒後にもう一度お試しいただくか、QRコードを読み取ってください。"
                ),
                Lang::En => format!(
                    "Too many codes that named nothing: try again in {retry_after} s, or scan the QR code."
                ),
            }),
            L::Quota { retry_after } => Cow::Owned(match lang {
                Lang::Ja => {
                    format!("要求が多すぎます。{retry_after}秒後にもう一度お試しください。")
                }
                Lang::En => format!("Too many requests: try again in {retry_after} s."),
            }),
        },
        PlatformError::OAuth(o) => with(
            "サービスからのログイン要求に誤りがあります。",
            "The service's login request is not valid.",
            o.reason,
        ),
        PlatformError::JlisUnavailable(_) | PlatformError::Store(_) => t(
            "ただいま処理できません。しばらくしてからもう一度お試しください。",
            "The platform cannot answer now; try again shortly.",
        ),
        PlatformError::Internal(_) => t(
            "処理中に問題が発生しました。しばらくしてからもう一度お試しください。",
            "Something went wrong on the platform; try again later.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_told_in_the_page_s_language_with_the_api_s_status() {
        let e = PlatformError::Conflict(X::AuthorizationAnswered);
        assert!(words(Lang::Ja, &e).contains("すでに完了"));
        assert!(words(Lang::En, &e).contains("already been completed"));
        assert_eq!(failure_page(Lang::En, &e).status(), StatusCode::CONFLICT);
        // A browser's malformed request is a bad request, not an unprocessable body.
        let e = PlatformError::Invalid(I::RedirectUri);
        assert_eq!(failure_page(Lang::Ja, &e).status(), StatusCode::BAD_REQUEST);
        // The platform's own failures say nothing of what happened.
        let e = PlatformError::Store(mykey_platform::StoreError::unavailable("10.0.0.7 refused"));
        assert!(!words(Lang::En, &e).contains("10.0.0.7"));
    }
}
