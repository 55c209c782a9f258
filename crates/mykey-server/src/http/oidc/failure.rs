//! The one page a person's browser sees when a request fails — the authorization endpoint's and
//! the portal's alike: the status the JSON API would answer (`problem.rs`), and what happened in
//! the page's language. Every domain error is matched here (no wildcard) to its words in the
//! catalogue (`catalogue/`, `Failures`), so a new one is a compile error until it is given them.

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::Response;
use mykey_platform::{
    AccessError as A, CardError as C, Conflict as X, InvalidError as I, Limited as L,
    NotFound as N, PlatformError,
};

use crate::http::catalogue::Lang;
use crate::http::pages::error_page;
use crate::http::problem::told_of;

/// The failure page for `e`: the JSON API's status, except that, for a browser's request, what
/// that API calls an unprocessable body (422) and a `client_id` naming no client (RFC 6749
/// §4.1.2.1: an invalid authorization request) are a bad request (400). `Retry-After` as the
/// API would send it.
pub(crate) fn failure_page(lang: Lang, e: &PlatformError) -> Response {
    let status = match (e, told_of(e).status) {
        (PlatformError::NotFound(N::OidcClient), _) | (_, StatusCode::UNPROCESSABLE_ENTITY) => {
            StatusCode::BAD_REQUEST
        }
        (_, s) => s,
    };
    let mut page = error_page(status, lang, &words(lang, e));
    // When to come back, as the JSON API says it (a window's end, a quota's refill).
    if let Some(secs) = e.retry_after() {
        page.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(secs),
        );
    }
    page
}

/// What a person reads about `e`. Details the domain gives (in English, for relying parties and
/// operators) follow the Japanese sentence only where they help the person.
fn words(lang: Lang, e: &PlatformError) -> Cow<'static, str> {
    let f = &lang.texts().failure;
    let t = Cow::Borrowed;
    let with = |words: &str, detail: &str| Cow::Owned(format!("{words} ({detail})"));
    match e {
        PlatformError::Card(c) => match c {
            C::ChallengeUnknown => t(f.challenge_unknown),
            C::ChallengeExpired => t(f.challenge_expired),
            C::Certificate(_) => t(f.certificate),
            C::Revoked { .. } => t(f.revoked),
            C::TicketItems(mykey_platform::TicketItemsProblem::Invalid) => {
                t(f.ticket_items_invalid)
            }
            C::TicketItems(mykey_platform::TicketItemsProblem::Outdated) => {
                t(f.ticket_items_outdated)
            }
            C::TicketItems(mykey_platform::TicketItemsProblem::BirthDate) => {
                t(f.birth_date_mismatch)
            }
        },
        PlatformError::Access(a) => match a {
            A::Unauthenticated => t(f.unauthenticated),
            A::OperatorTokenRetired | A::NotAnOperator | A::OperatorRoleRefused { .. } => {
                with(f.operator_refused, &a.to_string())
            }
            A::PersonSuspended => t(f.person_suspended),
            A::InvalidClient | A::InvalidClientAssertion(_) => t(f.invalid_client),
            A::RelyingPartyNotApproved => t(f.relying_party_not_approved),
            A::PpidClosed => t(f.ppid_closed),
            A::PublicAuthorityFunction => t(f.public_authority_function),
            A::PointProgrammeOnly => t(f.point_programme_only),
            A::PaymentProviderOnly => t(f.payment_provider_only),
            A::KioskOnly => t(f.kiosk_only),
        },
        PlatformError::Invalid(i) => match i {
            I::Id(d) => with(f.id, &d.to_string()),
            I::Name => t(f.name),
            I::Reason => with(f.operator_refused, &i.to_string()),
            I::Jwks(d) => with(f.jwks, d),
            I::Profile(d) => with(f.oauth, d),
            I::Stream(d) => with(f.stream, d),
            I::ConsentIncomplete => t(f.consent_incomplete),
            I::Terms(d) => with(f.terms, d),
            I::TermsNoticeTooShort { .. } => t(f.terms_notice_too_short),
            I::Notice(_)
            | I::Maintenance(_)
            | I::MaintenanceNoticeTooShort { .. }
            | I::Termination(_)
            | I::TerminationNoticeTooShort { .. } => with(f.operator_refused, &i.to_string()),
            I::PpidCode | I::LoginCode => t(f.ppid_code),
            I::RedirectUri => t(f.redirect_uri),
            I::OidcClient(d) => with(f.oidc_client, d),
            I::Facts(d) => with(f.facts, d),
            I::Logout(d) => with(f.logout, d),
            I::PinlessRequest(d) => with(f.pinless_request, d),
            I::PointRequest(d) => with(f.point_request, d),
            I::PaymentServiceUserId(_) => t(f.payment_service_user_id),
            I::PublicFundAccount { field, why } => {
                with(f.public_fund_account, &format!("{field}: {why}"))
            }
            I::PointTransaction { why, .. } => with(f.point_request, why),
        },
        PlatformError::NotFound(n) => match n {
            N::MyKeyId => t(f.no_my_key_id),
            N::Operator | N::Person => with(f.operator_refused, &n.to_string()),
            N::RelyingParty => t(f.no_relying_party),
            N::Stream => t(f.no_stream),
            N::LinkRequest => t(f.no_link_request),
            N::ServiceId => t(f.no_service_id),
            N::PpidService => t(f.no_ppid_service),
            N::Ppid => t(f.no_ppid),
            N::OidcClient => t(f.no_oidc_client),
            N::Authorization => t(f.no_authorization),
            N::PinlessRequest => t(f.no_pinless_request),
            N::PaymentService => t(f.no_payment_service),
            N::PointRound => t(f.no_point_round),
            N::PointApplication => t(f.no_point_application),
            N::PointGrantBatch => t(f.no_point_grant_batch),
            N::MaintenanceWindow | N::Termination => with(f.operator_refused, &n.to_string()),
        },
        PlatformError::Conflict(x) => match x {
            X::MyKeyIdAlreadyActive => t(f.my_key_id_already_active),
            X::MyKeyIdSuspended => t(f.my_key_id_suspended),
            X::SystemTerminated => t(f.system_terminated),
            X::TerminationAnnounced
            | X::OperatorExists
            | X::LastAdministrator
            | X::AlreadySuspended
            | X::NotSuspended
            | X::OperatorAccountHolder => with(f.operator_refused, &x.to_string()),
            X::MyKeyIdTaken => t(f.my_key_id_taken),
            X::MyKeyIdRequired => t(f.my_key_id_required),
            X::LinkRequestAnswered => t(f.link_request_answered),
            X::LinkRequestExpired => t(f.link_request_expired),
            X::ServiceIdExists => t(f.service_id_exists),
            X::ServiceIdRequired => t(f.service_id_required),
            X::TermsVersionExists => t(f.terms_version_exists),
            X::AuthorizationAnswered => t(f.authorization_answered),
            X::AuthorizationExpired => t(f.authorization_expired),
            X::Point(p) => with(f.point_refused, &p.to_string()),
        },
        PlatformError::Limited(l) => match l {
            L::TooManyAttempts { retry_after } => Cow::Owned(format!(
                "{}{retry_after}{}",
                f.too_many_codes_before, f.too_many_codes_after
            )),
            L::Quota { retry_after } => {
                Cow::Owned(format!("{}{retry_after}{}", f.quota_before, f.quota_after))
            }
        },
        PlatformError::OAuth(o) => with(f.oauth, o.reason),
        PlatformError::JlisUnavailable(_) | PlatformError::Store(_) => t(f.unavailable),
        PlatformError::RegistryUnavailable(_) => t(f.registry_unavailable),
        PlatformError::Internal(_) => t(f.internal),
        PlatformError::Maintenance(m) => Cow::Owned(
            f.maintenance
                .replace(
                    "{until}",
                    &crate::http::catalogue::words::Moment::new(lang, m.until).words,
                )
                .replace(
                    "{notice}",
                    match lang {
                        Lang::Ja => &m.notice.ja,
                        Lang::En => &m.notice.en,
                    },
                ),
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
