//! The portal's card-point page (Terms Chapter 5): the person's applications with their state
//! and registrations, withdrawing one, claiming the health-insurance or public-fund-account
//! points (Art 24, 25; an account registered in the same form), and applying in an open round
//! through one eligible service (Art 23.1) — each form with the session's token, each change
//! the same platform call as the API's.
//!
//! ```text
//! GET  /portal/points
//! POST /portal/point-applications                      apply
//! POST /portal/point-applications/{id}/withdrawal      withdraw
//! POST /portal/point-applications/{id}/triggers        claim a registration's points
//! ```

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mykey_platform::{
    ConsentItem, HEALTH_INSURANCE_CONSENT, NewConsent, POINT_CONSENT, PUBLIC_FUND_ACCOUNT_CONSENT,
    PaymentServiceId, Platform, PlatformError, PointApplication, PointApplicationState, PointRound,
    PointRoundId, PointTrigger, PointTriggerKind, PointTriggerState, PublicFundAccount,
    SessionToken,
};
use serde::Deserialize;

use super::{LangQuery, failure, form_session, lang_of, remember_lang, session, to_login};
use crate::http::catalogue::words::consent_item;
use crate::http::catalogue::{Lang, PointTexts, Texts, render};
use crate::http::pages::error_page;

type Items = Vec<(String, std::borrow::Cow<'static, str>)>;

fn items(t: &'static Texts, items: &[ConsentItem]) -> Items {
    items
        .iter()
        .map(|i| (i.name.to_owned(), consent_item(t, i.name)))
        .collect()
}

/// The page (`templates/portal/points.html`).
#[derive(askama::Template)]
#[template(path = "portal/points.html")]
struct PointsPage<'a> {
    t: &'static Texts,
    pt: &'static PointTexts,
    title: &'a str,
    form: &'a str,
    done: Option<&'static str>,
    applications: Vec<Row>,
    rounds: Vec<(i64, String)>,
    services: Vec<(i64, String)>,
    terms_version: &'a str,
    apply_items: Items,
    health_insurance_items: Items,
    account_items: Items,
}

/// An application as the page shows it.
struct Row {
    id: String,
    round: String,
    service: String,
    provider: String,
    user_id: String,
    state: &'static str,
    state_words: &'static str,
    reason: Option<String>,
    live: bool,
    triggers: Vec<TriggerRow>,
    can_health_insurance: bool,
    can_account: bool,
}

struct TriggerRow {
    kind: &'static str,
    kind_words: std::borrow::Cow<'static, str>,
    state: &'static str,
    state_words: &'static str,
    points: u64,
    granted: bool,
}

fn state_words(pt: &'static PointTexts, s: PointApplicationState) -> &'static str {
    match s {
        PointApplicationState::Submitted => pt.submitted,
        PointApplicationState::Validated => pt.validated,
        PointApplicationState::Rejected => pt.rejected,
        PointApplicationState::Withdrawn => pt.withdrawn,
        PointApplicationState::Forfeited => pt.forfeited,
    }
}

/// Whether `kind`'s points may still be claimed on `a`: live, its round open and offering
/// them, not registered yet.
fn claimable(
    a: &PointApplication,
    open: &[PointRound],
    mine: &[&PointTrigger],
    kind: PointTriggerKind,
) -> bool {
    let offered = open
        .iter()
        .find(|r| r.id == a.round)
        .is_some_and(|r| match kind {
            PointTriggerKind::HealthInsurance => r.terms.health_insurance_points > 0,
            PointTriggerKind::PublicFundAccount => r.terms.public_fund_account_points > 0,
        });
    let live = matches!(
        a.state,
        PointApplicationState::Submitted | PointApplicationState::Validated
    );
    live && offered
        && !mine
            .iter()
            .any(|t| t.kind == kind && t.state == PointTriggerState::Registered)
}

pub(super) async fn page(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&q, &headers);
    let Some((s, token)) = session(&p, &headers).await else {
        return to_login();
    };
    let form = SessionToken::form_token(token);
    let data = async {
        Ok::<_, PlatformError>((
            p.my_point_applications(&s).await?,
            p.my_point_triggers(&s).await?,
            p.point_programme().await?,
            p.terms_version().await?,
        ))
    }
    .await;
    let (applications, triggers, programme, terms_version) = match data {
        Ok(d) => d,
        Err(e) => return failure(lang, &e),
    };
    let t = lang.texts();
    let pt = &t.points;
    let rows = applications
        .iter()
        .map(|a| {
            let mine: Vec<&PointTrigger> =
                triggers.iter().filter(|t| t.application == a.id).collect();
            Row {
                id: a.id.to_string(),
                round: a.round_name.clone(),
                service: a.service_name.clone(),
                provider: a.provider_name.clone(),
                user_id: a.payment_service_user_id.clone(),
                state: a.state.as_str(),
                state_words: state_words(pt, a.state),
                reason: a.reason.clone(),
                live: matches!(
                    a.state,
                    PointApplicationState::Submitted | PointApplicationState::Validated
                ),
                triggers: mine
                    .iter()
                    .map(|tr| TriggerRow {
                        kind: tr.kind.as_str(),
                        kind_words: crate::http::catalogue::words::value_words(t, tr.kind.as_str()),
                        state: tr.state.as_str(),
                        state_words: match tr.state {
                            PointTriggerState::Awaiting => pt.awaiting,
                            PointTriggerState::Registered => pt.registered,
                        },
                        points: tr.points,
                        granted: tr.grant == Some(mykey_platform::PointGrantState::Confirmed),
                    })
                    .collect(),
                can_health_insurance: claimable(
                    a,
                    &programme.rounds,
                    &mine,
                    PointTriggerKind::HealthInsurance,
                ),
                can_account: claimable(
                    a,
                    &programme.rounds,
                    &mine,
                    PointTriggerKind::PublicFundAccount,
                ),
            }
        })
        .collect();
    let page = PointsPage {
        t,
        pt,
        title: pt.heading,
        form: &form,
        done: match q.done.as_deref() {
            Some("applied") => Some(pt.done_applied),
            Some("withdrawn") => Some(pt.done_withdrawn),
            Some("claimed") => Some(pt.done_claimed),
            _ => None,
        },
        applications: rows,
        rounds: programme
            .rounds
            .iter()
            .map(|r| (r.id.get(), r.name.clone()))
            .collect(),
        services: programme
            .services
            .iter()
            .map(|s| (s.id.get(), format!("{} ({})", s.name, s.provider_name)))
            .collect(),
        terms_version: &terms_version,
        apply_items: items(t, &POINT_CONSENT),
        health_insurance_items: items(t, &HEALTH_INSURANCE_CONSENT),
        account_items: items(t, &PUBLIC_FUND_ACCOUNT_CONSENT),
    };
    let mut r = render(StatusCode::OK, &page);
    remember_lang(&mut r, &q, lang);
    r
}

fn done(what: &str) -> Response {
    Redirect::to(&format!("/portal/points?done={what}")).into_response()
}

fn consent(items: &[ConsentItem], terms_version: String) -> NewConsent {
    NewConsent {
        items: items.iter().map(|i| i.name.to_owned()).collect(),
        terms_version,
    }
}

#[derive(Deserialize)]
pub(super) struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    round: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    payment_service_user_id: String,
    #[serde(default)]
    payment_service_code: String,
    #[serde(default)]
    accept: Option<String>,
    #[serde(default)]
    terms_version: String,
}

pub(super) async fn apply(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Form(f): Form<ApplyForm>,
) -> Response {
    let lang = lang_of(&LangQuery::default(), &headers);
    let s = match form_session(&p, &headers, lang, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if f.accept.as_deref() != Some("yes") {
        return error_page(StatusCode::BAD_REQUEST, lang, lang.texts().accept_unticked);
    }
    let (Ok(round), Ok(service)) = (f.round.parse::<i64>(), f.service.parse::<i64>()) else {
        return error_page(StatusCode::BAD_REQUEST, lang, lang.texts().unknown_action);
    };
    let code = Some(f.payment_service_code.trim()).filter(|c| !c.is_empty());
    match p
        .apply_for_points(
            &s,
            PointRoundId::new(round),
            PaymentServiceId::new(service),
            f.payment_service_user_id.trim(),
            code,
            &consent(&POINT_CONSENT, f.terms_version),
        )
        .await
    {
        Ok(_) => done("applied"),
        Err(e) => failure(lang, &e),
    }
}

#[derive(Deserialize)]
pub(super) struct WithdrawForm {
    #[serde(default)]
    csrf: String,
}

/// The page's language, the session the form's token is of, and the application the path
/// names; else the answer to give.
async fn form_on(
    p: &Platform,
    headers: &HeaderMap,
    csrf: &str,
    id: &str,
) -> Result<
    (
        Lang,
        mykey_platform::Session,
        mykey_platform::PointApplicationId,
    ),
    Response,
> {
    let lang = lang_of(&LangQuery::default(), headers);
    let s = form_session(p, headers, lang, csrf).await?;
    let id = id
        .parse()
        .map_err(|e: mykey_platform::IdError| failure(lang, &PlatformError::from(e)))?;
    Ok((lang, s, id))
}

pub(super) async fn withdraw(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<WithdrawForm>,
) -> Response {
    let (lang, s, id) = match form_on(&p, &headers, &f.csrf, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match p.withdraw_point_application(&s, id).await {
        Ok(_) => done("withdrawn"),
        Err(e) => failure(lang, &e),
    }
}

#[derive(Deserialize)]
pub(super) struct ClaimForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    accept: Option<String>,
    #[serde(default)]
    terms_version: String,
    #[serde(default)]
    bank_code: String,
    #[serde(default)]
    branch_code: String,
    #[serde(default)]
    account_type: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    holder: String,
}

pub(super) async fn claim(
    State(p): State<Arc<Platform>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ClaimForm>,
) -> Response {
    let (lang, s, id) = match form_on(&p, &headers, &f.csrf, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if f.accept.as_deref() != Some("yes") {
        return error_page(StatusCode::BAD_REQUEST, lang, lang.texts().accept_unticked);
    }
    let Some(kind) = PointTriggerKind::parse(&f.kind) else {
        return error_page(StatusCode::BAD_REQUEST, lang, lang.texts().unknown_action);
    };
    // An account only when its fields are filled in; checked before anything is sent.
    let given = [&f.bank_code, &f.branch_code, &f.number, &f.holder]
        .iter()
        .any(|v| !v.trim().is_empty());
    let account = if given {
        match PublicFundAccount::new(
            f.bank_code.trim(),
            f.branch_code.trim(),
            f.account_type.trim(),
            f.number.trim(),
            f.holder.trim(),
        ) {
            Ok(a) => Some(a),
            Err(e) => return failure(lang, &e),
        }
    } else {
        None
    };
    let consent = consent(kind.consent(), f.terms_version);
    match p
        .claim_point_trigger(&s, id, kind, &consent, account.as_ref())
        .await
    {
        Ok(_) => done("claimed"),
        Err(e) => failure(lang, &e),
    }
}
