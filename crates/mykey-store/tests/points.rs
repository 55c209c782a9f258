//! The card-point programme (Terms Chapter 5): services, rounds, applications, answers,
//! withdrawals and the forfeiture of Art 27 — and the database's rules: one application per
//! person per round under concurrent attempts, one live application per Payment Service ID,
//! one settlement user ID per application at a provider in a round.

use std::sync::Arc;

use mykey_pki::IssuanceNumber;
use mykey_platform::{
    Conflict, EventKind, EventSubject, IdAlphabet, IdCheck, IdShape, LinkOutcome, LogKind, MyKeyId,
    MyKeyIdChange, NewLog, NewPaymentService, NewPointApplication, NewRelyingParty, NotFound,
    PaymentServiceId, PaymentServiceKind, PaymentServiceStatus, PersonId, PlatformError,
    PointApplicationId, PointApplicationState, PointConflict, PointParty, PointRoundId,
    PointRoundState, PointRoundTerms, RelyingParty, RelyingPartyKind, RelyingPartyStatus, Store,
    ValidationAnswer, verify_chain,
};

use crate::T;

pub(crate) const TERMS: PointRoundTerms = PointRoundTerms {
    purchase_rate: 25,
    purchase_cap: 5000,
    health_insurance_points: 7500,
    public_fund_account_points: 7500,
};

pub(crate) async fn party(
    store: &Arc<dyn Store>,
    name: &str,
    kind: RelyingPartyKind,
) -> RelyingParty {
    let rp = store
        .insert_relying_party(&NewRelyingParty {
            client_id: format!("points_{name}"),
            name: name.into(),
            kind,
            secret_hash: [9; 32],
            created_at: T,
            jwks: None,
            profile: mykey_platform::RelyingPartyProfile {
                contact: "窓口".into(),
                privacy_policy_url: "https://pay.example/privacy".into(),
                terms_url: "https://pay.example/terms".into(),
            },
        })
        .await
        .unwrap();
    store
        .set_relying_party_status(rp.id, RelyingPartyStatus::Approved)
        .await
        .unwrap()
        .unwrap()
}

pub(crate) async fn person(store: &Arc<dyn Store>, n: u64, my_key_id: Option<&str>) -> PersonId {
    let LinkOutcome::Created(p) = store
        .link_issuance_number(IssuanceNumber::from_u64(n).unwrap(), None, &[], T, &[])
        .await
        .unwrap()
    else {
        panic!("a new person")
    };
    if let Some(id) = my_key_id {
        create_id(store, p, id).await;
    }
    p
}

async fn create_id(store: &Arc<dyn Store>, p: PersonId, id: &str) {
    store
        .change_my_key_id(
            p,
            MyKeyIdChange::Create(id.parse::<MyKeyId>().unwrap()),
            T,
            &NewLog::new(LogKind::MyKeyIdCreated, serde_json::json!({})),
            None,
        )
        .await
        .unwrap()
        .unwrap();
}

pub(crate) fn service(name: &str) -> NewPaymentService {
    NewPaymentService {
        name: name.into(),
        kind: PaymentServiceKind::QrCode,
        shape: IdShape::new(IdAlphabet::Digits, 8, 8, String::new(), IdCheck::None, None).unwrap(),
    }
}

pub(crate) fn application(
    id: i64,
    round: PointRoundId,
    person: PersonId,
    service: PaymentServiceId,
    user_id: &str,
) -> NewPointApplication {
    NewPointApplication {
        id: PointApplicationId::new(id),
        round,
        person,
        service,
        payment_service_user_id: user_id.into(),
        payment_service_code: None,
        kiosk: None,
        at: T,
    }
}

fn applied() -> [NewLog; 1] {
    [NewLog::new(LogKind::PointApplied, serde_json::json!({}))]
}

fn point(c: PointConflict) -> PlatformError {
    PlatformError::Conflict(Conflict::Point(c))
}

fn refused_with(r: Result<impl std::fmt::Debug, PlatformError>, want: &PlatformError) {
    let e = r.expect_err("refused");
    assert_eq!(format!("{e:?}"), format!("{want:?}"));
}

pub(crate) async fn story(store: Arc<dyn Store>) {
    let pay = party(&store, "A-Pay", RelyingPartyKind::PaymentProvider).await;
    let card = party(&store, "B-Card", RelyingPartyKind::PaymentProvider).await;
    let kiosk = party(&store, "Copier", RelyingPartyKind::Kiosk).await;

    // Services: pending when registered, one name per provider.
    let a = store
        .add_payment_service(pay.id, &service("A-Pay QR"), T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, PaymentServiceStatus::Pending);
    assert_eq!(a.provider_name, "A-Pay");
    refused_with(
        store
            .add_payment_service(pay.id, &service("A-Pay QR"), T)
            .await
            .unwrap(),
        &point(PointConflict::PaymentServiceExists),
    );
    let b = store
        .add_payment_service(card.id, &service("B-Card"), T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.payment_services(Some(pay.id), None).await.unwrap(),
        std::slice::from_ref(&a)
    );

    // Rounds: draft, then open, then closed; one name each.
    let round = store
        .add_point_round("Round 2", &TERMS, T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((round.state, round.terms), (PointRoundState::Draft, TERMS));
    refused_with(
        store.add_point_round("Round 2", &TERMS, T).await.unwrap(),
        &point(PointConflict::PointRoundExists),
    );
    let (draft, open, closed) = (
        PointRoundState::Draft,
        PointRoundState::Open,
        PointRoundState::Closed,
    );
    refused_with(
        store
            .set_point_round_state(PointRoundId::new(999), draft, open, T)
            .await
            .unwrap(),
        &PlatformError::NotFound(NotFound::PointRound),
    );
    let p = person(&store, 4_100, Some("PTS00001")).await;
    // Not open yet: a draft is unknown to people.
    refused_with(
        store
            .apply_for_points(&application(1, round.id, p, a.id, "11111111"), &applied())
            .await
            .unwrap(),
        &PlatformError::NotFound(NotFound::PointRound),
    );
    let round = store
        .set_point_round_state(round.id, draft, open, T.plus(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(round.opened_at, Some(T.plus(1)));
    refused_with(
        store
            .set_point_round_state(round.id, draft, open, T)
            .await
            .unwrap(),
        &point(PointConflict::PointRoundState),
    );

    // The service must be eligible; the person must have a My Key ID. Nothing is written.
    let entries = store.log(p).await.unwrap().len();
    refused_with(
        store
            .apply_for_points(&application(1, round.id, p, a.id, "11111111"), &applied())
            .await
            .unwrap(),
        &point(PointConflict::ServiceNotEligible),
    );
    for s in [a.id, b.id] {
        store
            .set_payment_service_status(s, PaymentServiceStatus::Eligible)
            .await
            .unwrap()
            .unwrap();
    }
    let q = person(&store, 4_200, None).await;
    let q_entries = store.log(q).await.unwrap().len();
    refused_with(
        store
            .apply_for_points(&application(2, round.id, q, a.id, "22222222"), &applied())
            .await
            .unwrap(),
        &PlatformError::Conflict(Conflict::MyKeyIdRequired),
    );
    assert_eq!(store.log(q).await.unwrap().len(), q_entries);
    assert_eq!(store.log(p).await.unwrap().len(), entries);

    // The application, its event for the provider (no person in it), and the log.
    let first = store
        .apply_for_points(&application(1, round.id, p, a.id, "11111111"), &applied())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.state, PointApplicationState::Submitted);
    assert_eq!(
        (first.round_name.as_str(), first.service_name.as_str()),
        ("Round 2", "A-Pay QR")
    );
    let events = store
        .pending_events(pay.id, &EventKind::ALL, 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::PointApplicationSubmitted);
    assert_eq!(
        events[0].subject,
        EventSubject::PointApplication(PointApplicationId::new(1))
    );
    assert!(events[0].detail.contains("11111111"));
    assert!(
        store
            .pending_events(card.id, &EventKind::ALL, 100)
            .await
            .unwrap()
            .is_empty()
    );

    // One per person per round, whatever the service.
    refused_with(
        store
            .apply_for_points(&application(3, round.id, p, b.id, "33333333"), &applied())
            .await
            .unwrap(),
        &point(PointConflict::ApplicationExists),
    );
    // Someone else's Payment Service ID locks nobody out: the application is taken, and only
    // one application in the round can be validated with it (the provider checks the code).
    let r = person(&store, 4_300, Some("PTS00003")).await;
    let squat = store
        .apply_for_points(&application(4, round.id, r, a.id, "11111111"), &applied())
        .await
        .unwrap()
        .unwrap();
    // An ID already taken (two drawn alike in one minute) is a store conflict, on which the
    // platform draws again, and leaves nothing behind: no log entry, no event.
    let u = person(&store, 4_350, Some("PTS00035")).await;
    let u_entries = store.log(u).await.unwrap().len();
    let pending = store
        .pending_events(pay.id, &EventKind::ALL, 100)
        .await
        .unwrap()
        .len();
    let taken = store
        .apply_for_points(&application(1, round.id, u, a.id, "35353535"), &applied())
        .await;
    assert!(
        matches!(&taken, Err(e) if e.kind == mykey_platform::StoreErrorKind::Conflict),
        "{taken:?}"
    );
    assert_eq!(store.log(u).await.unwrap().len(), u_entries);
    assert_eq!(
        store
            .pending_events(pay.id, &EventKind::ALL, 100)
            .await
            .unwrap()
            .len(),
        pending
    );

    // Each party sees its own: the other provider and the kiosk nothing.
    let of = |party| {
        let store = store.clone();
        async move {
            store
                .party_point_applications(party, None, None, 100)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        of(PointParty::Provider(pay.id)).await,
        [first.clone(), squat.clone()]
    );
    assert!(of(PointParty::Provider(card.id)).await.is_empty());
    assert!(of(PointParty::Kiosk(kiosk.id)).await.is_empty());
    assert_eq!(
        store
            .party_point_application(PointParty::Provider(card.id), first.id)
            .await
            .unwrap(),
        None
    );

    // Answers: only the provider's own, once; a settlement user ID once per round; a Payment
    // Service ID validated once per round.
    let said = |_: &mykey_platform::PointApplication| {
        NewLog::new(LogKind::PointValidated, serde_json::json!({}))
    };
    let valid = |s: &str| ValidationAnswer::Valid(s.parse().unwrap());
    refused_with(
        store
            .answer_point_application(card.id, first.id, &valid("S-1"), T, &said)
            .await
            .unwrap(),
        &PlatformError::NotFound(NotFound::PointApplication),
    );
    let first = store
        .answer_point_application(pay.id, first.id, &valid("S-1"), T.plus(2), &said)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.state, PointApplicationState::Validated);
    assert_eq!(first.settlement_user_id.as_ref().unwrap().as_str(), "S-1");
    refused_with(
        store
            .answer_point_application(pay.id, first.id, &valid("S-9"), T, &said)
            .await
            .unwrap(),
        &point(PointConflict::ApplicationAnswered),
    );
    refused_with(
        store
            .answer_point_application(pay.id, squat.id, &valid("S-4"), T, &said)
            .await
            .unwrap(),
        &point(PointConflict::PaymentServiceUserIdTaken),
    );
    store
        .answer_point_application(
            pay.id,
            squat.id,
            &ValidationAnswer::Invalid("not the holder of this ID".into()),
            T,
            &said,
        )
        .await
        .unwrap()
        .unwrap();
    let second = store
        .apply_for_points(&application(5, round.id, r, a.id, "55555555"), &applied())
        .await
        .unwrap()
        .unwrap();
    refused_with(
        store
            .answer_point_application(pay.id, second.id, &valid("S-1"), T, &said)
            .await
            .unwrap(),
        &point(PointConflict::SettlementUserIdTaken),
    );
    let rejected = store
        .answer_point_application(
            pay.id,
            second.id,
            &ValidationAnswer::Invalid("no such account".into()),
            T,
            &said,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rejected.state, PointApplicationState::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("no such account"));
    // A rejected application does not count: the person may apply again.
    let third = store
        .apply_for_points(&application(6, round.id, r, a.id, "66666666"), &applied())
        .await
        .unwrap()
        .unwrap();

    // Withdrawal: the person's own, once; the provider told.
    let gone = |_: &mykey_platform::PointApplication| {
        NewLog::new(LogKind::PointWithdrawn, serde_json::json!({}))
    };
    refused_with(
        store
            .withdraw_point_application(p, third.id, T, &gone)
            .await
            .unwrap(),
        &PlatformError::NotFound(NotFound::PointApplication),
    );
    let withdrawn = store
        .withdraw_point_application(r, third.id, T.plus(3), &gone)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(withdrawn.state, PointApplicationState::Withdrawn);
    refused_with(
        store
            .withdraw_point_application(r, third.id, T, &gone)
            .await
            .unwrap(),
        &point(PointConflict::ApplicationEnded),
    );
    // Final for the round.
    refused_with(
        store
            .apply_for_points(&application(7, round.id, r, a.id, "77777777"), &applied())
            .await
            .unwrap(),
        &point(PointConflict::ApplicationExists),
    );

    // A renewed card is the same person: still one application.
    let renewed = store
        .link_issuance_number(
            IssuanceNumber::from_u64(4_101).unwrap(),
            None,
            &[IssuanceNumber::from_u64(4_100).unwrap()],
            T,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(renewed, LinkOutcome::Renewed(p));
    refused_with(
        store
            .apply_for_points(&application(8, round.id, p, b.id, "88888888"), &applied())
            .await
            .unwrap(),
        &point(PointConflict::ApplicationExists),
    );

    // Revoking the My Key ID forfeits (Art 27.1.1): the application in flight, told to its
    // provider, and the right to apply in the rounds not closed — which a re-created My Key ID
    // does not bring back.
    let s = person(&store, 4_400, Some("PTS00004")).await;
    let revoke = NewLog::new(LogKind::MyKeyIdRevoked, serde_json::json!({}));
    for who in [p, s] {
        store
            .change_my_key_id(who, MyKeyIdChange::Revoke, T.plus(4), &revoke, None)
            .await
            .unwrap()
            .unwrap();
    }
    let mine = store.person_point_applications(p).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, PointApplicationState::Forfeited);
    assert_eq!(mine[0].reason.as_deref(), Some("my-key-id-revoked"));
    let told = store
        .pending_events(pay.id, &[EventKind::PointApplicationForfeited], 100)
        .await
        .unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].subject, EventSubject::PointApplication(first.id));
    for who in [p, s] {
        let log = store.log(who).await.unwrap();
        assert_eq!(log.last().unwrap().kind, "point.forfeited", "{log:?}");
        verify_chain(&log).unwrap();
    }
    create_id(&store, s, "PTS00005").await;
    refused_with(
        store
            .apply_for_points(&application(9, round.id, s, b.id, "99999999"), &applied())
            .await
            .unwrap(),
        &point(PointConflict::RightsForfeited),
    );
    // A round defined later is open to them.
    let later = store
        .add_point_round("Round 3", &TERMS, T)
        .await
        .unwrap()
        .unwrap();
    store
        .set_point_round_state(later.id, draft, open, T)
        .await
        .unwrap()
        .unwrap();
    store
        .apply_for_points(&application(10, later.id, s, b.id, "99999999"), &applied())
        .await
        .unwrap()
        .unwrap();
    // A closed round takes nothing.
    store
        .set_point_round_state(later.id, open, closed, T)
        .await
        .unwrap()
        .unwrap();
    refused_with(
        store
            .apply_for_points(&application(11, later.id, r, b.id, "12121212"), &applied())
            .await
            .unwrap(),
        &point(PointConflict::RoundNotOpen),
    );
    for who in [p, r, s] {
        verify_chain(&store.log(who).await.unwrap()).unwrap();
    }
    store
        .set_point_round_state(round.id, open, closed, T)
        .await
        .unwrap()
        .unwrap();
    races(store.clone(), b.id).await;
    together(store, b.id).await;
}

/// Many at once for many people (SQLite commits them in groups): each taken or refused on its
/// own, one person's second in a round refused, two under one ID written once, every log
/// intact.
async fn together(store: Arc<dyn Store>, service: PaymentServiceId) {
    let open_round = store
        .add_point_round("Together", &TERMS, T)
        .await
        .unwrap()
        .unwrap();
    store
        .set_point_round_state(
            open_round.id,
            PointRoundState::Draft,
            PointRoundState::Open,
            T,
        )
        .await
        .unwrap()
        .unwrap();
    let mut people = Vec::new();
    for n in 0..32 {
        people.push(person(&store, 5_200 + n, Some(&format!("PTSTOG{n:02}"))).await);
    }
    // Tasks 0–23: people 0–23, each a first application. Tasks 24–31: the first eight people's
    // second applications. Tasks 32–39: people 24–31, each under the ID of person 8–15's
    // application, as if drawn alike in one minute: of each pair one is written, the other
    // refused as a store conflict (the platform would draw again).
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            let (who, id) = match i {
                0..32 => (people[i % 24], 52_000 + i as i64),
                _ => (people[i - 8], 52_000 + i as i64 - 24),
            };
            tokio::spawn(async move {
                let new = application(
                    id,
                    open_round.id,
                    who,
                    service,
                    &format!("{:08}", 52_000 + i),
                );
                store.apply_for_points(&new, &applied()).await
            })
        })
        .collect();
    let (mut taken, mut refused, mut drawn_alike) = (0, 0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(Ok(a)) => {
                assert_eq!(a.state, PointApplicationState::Submitted);
                taken += 1;
            }
            Ok(Err(e)) => {
                assert!(
                    matches!(
                        e,
                        PlatformError::Conflict(Conflict::Point(PointConflict::ApplicationExists))
                    ),
                    "{e:?}"
                );
                refused += 1;
            }
            Err(e) => {
                assert_eq!(e.kind, mykey_platform::StoreErrorKind::Conflict, "{e:?}");
                drawn_alike += 1;
            }
        }
    }
    assert_eq!((taken, refused, drawn_alike), (24, 8, 8));
    let mut applications = Vec::new();
    for who in &people {
        let log = store.log(*who).await.unwrap();
        verify_chain(&log).unwrap();
        let entries = log.iter().filter(|e| e.kind == "point.applied").count();
        let held = store.person_point_applications(*who).await.unwrap();
        assert_eq!(entries, held.len(), "an entry for each application taken");
        applications.push(held.len());
    }
    // One each for people 0–7 and 16–23; one between each pair of the same ID.
    for n in (0..8).chain(16..24) {
        assert_eq!(applications[n], 1, "person {n}");
    }
    for n in 8..16 {
        assert_eq!(
            applications[n] + applications[n + 16],
            1,
            "people {n} and {}",
            n + 16
        );
    }
    store
        .set_point_round_state(
            open_round.id,
            PointRoundState::Open,
            PointRoundState::Closed,
            T,
        )
        .await
        .unwrap()
        .unwrap();
}

/// 64 attempts at once for the same person in one round: exactly one application is taken,
/// whichever it is, and the person's log holds exactly one entry for it.
async fn races(store: Arc<dyn Store>, service: PaymentServiceId) {
    let round = store
        .add_point_round("Race", &TERMS, T)
        .await
        .unwrap()
        .unwrap();
    store
        .set_point_round_state(round.id, PointRoundState::Draft, PointRoundState::Open, T)
        .await
        .unwrap()
        .unwrap();
    let p = person(&store, 4_900, Some("PTSRACE1")).await;
    let before = store.log(p).await.unwrap().len();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let new = application(1_000 + i, round.id, p, service, &format!("{:08}", 5000 + i));
                store.apply_for_points(&new, &applied()).await.unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert!(
                matches!(
                    e,
                    PlatformError::Conflict(Conflict::Point(PointConflict::ApplicationExists))
                ),
                "{e:?}"
            ),
        }
    }
    assert_eq!(won, 1);
    let log = store.log(p).await.unwrap();
    assert_eq!(log.len(), before + 1);
    verify_chain(&log).unwrap();
    // Closed, so that the stories after this one revoke My Key IDs with no round to forfeit.
    store
        .set_point_round_state(round.id, PointRoundState::Open, PointRoundState::Closed, T)
        .await
        .unwrap()
        .unwrap();
}

/// Transactions, batches, confirmation and the statement, on both backends: the cap per
/// person across batches, a repeated transaction ID counted once, a forfeiture ending what was
/// instructed and not confirmed.
/// A provider `{prefix}-Pay` of its own with an eligible service, an open round `name` under
/// `terms`, and `n` validated applicants: person `bases.0 + i` (My Key ID `PTS{prefix}000{i}`),
/// application `bases.1 + i`, settlement user ID `{prefix}-{i + 1}`.
async fn validated_applicants(
    store: &Arc<dyn Store>,
    (prefix, name, terms): (&str, &str, &PointRoundTerms),
    n: usize,
    bases: (u64, i64),
) -> (
    RelyingParty,
    PointRoundId,
    Vec<(PersonId, PointApplicationId)>,
) {
    let provider = format!("{prefix}-Pay");
    let pay = party(store, &provider, RelyingPartyKind::PaymentProvider).await;
    let s = store
        .add_payment_service(pay.id, &service(&provider), T)
        .await
        .unwrap()
        .unwrap();
    store
        .set_payment_service_status(s.id, PaymentServiceStatus::Eligible)
        .await
        .unwrap();
    let round = store
        .add_point_round(name, terms, T)
        .await
        .unwrap()
        .unwrap();
    store
        .set_point_round_state(round.id, PointRoundState::Draft, PointRoundState::Open, T)
        .await
        .unwrap()
        .unwrap();
    let said = |_: &mykey_platform::PointApplication| {
        NewLog::new(LogKind::PointValidated, serde_json::json!({}))
    };
    let mut applicants = Vec::new();
    for i in 0..n {
        let p = person(
            store,
            bases.0 + i as u64,
            Some(&format!("PTS{prefix}000{i}")),
        )
        .await;
        let a = store
            .apply_for_points(
                &application(
                    bases.1 + i as i64,
                    round.id,
                    p,
                    s.id,
                    &format!("{:08}", bases.1 + i as i64),
                ),
                &applied(),
            )
            .await
            .unwrap()
            .unwrap();
        store
            .answer_point_application(
                pay.id,
                a.id,
                &ValidationAnswer::Valid(format!("{prefix}-{}", i + 1).parse().unwrap()),
                T,
                &said,
            )
            .await
            .unwrap()
            .unwrap();
        applicants.push((p, a.id));
    }
    (pay, round.id, applicants)
}

pub(crate) async fn grants(store: Arc<dyn Store>) {
    let (pay, round, applicants) =
        validated_applicants(&store, ("G", "Grants", &TERMS), 2, (6_000, 2_000)).await;
    let people: Vec<PersonId> = applicants.iter().map(|(p, _)| *p).collect();
    let tx = |su: &str, id: &str, amount: u32| mykey_platform::NewPointTransaction {
        settlement_user_id: su.parse().unwrap(),
        transaction_id: id.into(),
        amount,
        occurred_at: T.plus(10),
    };
    let intake = store
        .report_point_transactions(
            pay.id,
            round,
            &[
                tx("G-1", "1", 19_999),
                tx("G-2", "2", 4_000),
                tx("G-1", "1", 19_999),
            ],
            T.plus(20),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((intake.accepted, intake.repeated), (2, 1));
    let refused = store
        .report_point_transactions(pay.id, round, &[tx("G-1", "3", 1), tx("G-9", "4", 1)], T)
        .await
        .unwrap();
    assert!(
        matches!(
            refused,
            Err(PlatformError::Invalid(
                mykey_platform::InvalidError::PointTransaction { index: 1, .. }
            ))
        ),
        "{refused:?}"
    );
    let first = store
        .instruct_point_grants(pay.id, round, 7_001, T.plus(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.grants, first.points), (2, 4_999 + 1_000));
    store
        .report_point_transactions(
            pay.id,
            round,
            &[tx("G-1", "5", 400), tx("G-2", "6", 400)],
            T,
        )
        .await
        .unwrap()
        .unwrap();
    let second = store
        .instruct_point_grants(pay.id, round, 7_002, T.plus(40))
        .await
        .unwrap()
        .unwrap();
    // G-1 reaches the cap (5,000): 1 more; G-2 100 more.
    assert_eq!((second.grants, second.points), (2, 101));
    let page = store
        .point_grants(pay.id, second.id, None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.len(), 2);
    // G-1 buys more at the cap, and a 3-yen purchase of G-2's is worth nothing: no grant is
    // due, and no empty batch is kept.
    store
        .report_point_transactions(pay.id, round, &[tx("G-1", "7", 400), tx("G-2", "8", 3)], T)
        .await
        .unwrap()
        .unwrap();
    refused_with(
        store
            .instruct_point_grants(pay.id, round, 7_003, T.plus(45))
            .await
            .unwrap(),
        &point(PointConflict::NothingDue),
    );
    assert!(matches!(
        store.point_grants(pay.id, 7_003, None, 10).await.unwrap(),
        Err(PlatformError::NotFound(NotFound::PointGrantBatch))
    ));
    let log = |_: &str, _: u64, _: mykey_platform::PointGrantKind| {
        NewLog::new(LogKind::PointGranted, serde_json::json!({}))
    };
    store
        .confirm_point_grants(pay.id, first.id, T.plus(50), &log)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .confirm_point_grants(pay.id, first.id, T.plus(50), &log)
            .await
            .unwrap()
            .is_err()
    );
    // G-2 revokes the My Key ID: the 100 of the second batch are forfeited.
    store
        .change_my_key_id(
            people[1],
            MyKeyIdChange::Revoke,
            T.plus(60),
            &NewLog::new(LogKind::MyKeyIdRevoked, serde_json::json!({})),
            None,
        )
        .await
        .unwrap()
        .unwrap();
    let done = store
        .confirm_point_grants(pay.id, second.id, T.plus(70), &log)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.confirmed_at, Some(T.plus(70)));
    let line = store
        .point_statement(round)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.provider == pay.id)
        .unwrap();
    assert_eq!(
        (line.applications, line.transactions, line.amount),
        (2, 6, 19_999 + 4_000 + 800 + 400 + 3)
    );
    assert_eq!(
        (
            line.points_instructed,
            line.points_confirmed,
            line.points_ended,
            line.points_outstanding
        ),
        (6_100, 6_000, 100, 0)
    );
    for p in &people {
        let log = store.log(*p).await.unwrap();
        verify_chain(&log).unwrap();
    }
    assert!(
        store
            .log(people[0])
            .await
            .unwrap()
            .iter()
            .any(|e| e.kind == "point.granted")
    );
    store
        .set_point_round_state(round, PointRoundState::Open, PointRoundState::Closed, T)
        .await
        .unwrap()
        .unwrap();
}

/// Reports, batches and a withdrawal at once (docs/architecture.md §8.2): 8 reporters of 10
/// reports each while batches run back to back and one applicant withdraws. Every
/// transaction is counted by exactly one batch (the sum instructed is the sum reported, the
/// cap being out of reach), and no grant of the withdrawn application is left to grant.
pub(crate) async fn batches_while_reporting(store: Arc<dyn Store>) {
    let terms = PointRoundTerms {
        purchase_cap: 1_000_000,
        ..TERMS
    };
    let (pay, round, applicants) =
        validated_applicants(&store, ("C", "Concurrent", &terms), 3, (62_000, 3_000)).await;
    // The third applicant's purchases, before the withdrawal races the batches.
    store
        .report_point_transactions(
            pay.id,
            round,
            &[mykey_platform::NewPointTransaction {
                settlement_user_id: "C-3".parse().unwrap(),
                transaction_id: "W-1".into(),
                amount: 1_000,
                occurred_at: T.plus(10),
            }],
            T.plus(20),
        )
        .await
        .unwrap()
        .unwrap();
    let reporters: Vec<_> = (0..8u32)
        .map(|r| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut reported = 0u64;
                for k in 0..10u32 {
                    let txs: Vec<_> = (0..5u32)
                        .map(|j| mykey_platform::NewPointTransaction {
                            // The withdrawn applicant's transactions stop being taken.
                            settlement_user_id: format!("C-{}", j % 2 + 1).parse().unwrap(),
                            transaction_id: format!("R{r}-{k}-{j}"),
                            amount: 100 * (j + 1),
                            occurred_at: T.plus(10),
                        })
                        .collect();
                    store
                        .report_point_transactions(pay.id, round, &txs, T.plus(20))
                        .await
                        .unwrap()
                        .unwrap();
                    reported += txs
                        .iter()
                        .map(|t| u64::from(t.amount) * 25 / 100)
                        .sum::<u64>();
                }
                reported
            })
        })
        .collect();
    let withdrawn = applicants[2].1;
    let withdrawal = {
        let store = store.clone();
        let person = applicants[2].0;
        tokio::spawn(async move {
            let log = |_: &mykey_platform::PointApplication| {
                NewLog::new(LogKind::PointWithdrawn, serde_json::json!({}))
            };
            tokio::task::yield_now().await;
            store
                .withdraw_point_application(person, withdrawn, T.plus(25), &log)
                .await
                .unwrap()
                .unwrap();
        })
    };
    let mut batches = Vec::new();
    let mut id = 9_000;
    while batches.len() < 40 && !reporters.iter().all(|r| r.is_finished()) {
        id += 1;
        if let Ok(b) = store
            .instruct_point_grants(pay.id, round, id, T.plus(30))
            .await
            .unwrap()
        {
            batches.push(b.id);
        }
    }
    let mut reported = 0;
    for r in reporters {
        reported += r.await.unwrap();
    }
    withdrawal.await.unwrap();
    id += 1;
    if let Ok(b) = store
        .instruct_point_grants(pay.id, round, id, T.plus(40))
        .await
        .unwrap()
    {
        batches.push(b.id);
    }
    let mut instructed = 0;
    for b in &batches {
        for g in store
            .point_grants(pay.id, *b, None, 100)
            .await
            .unwrap()
            .unwrap()
        {
            if g.application != withdrawn {
                instructed += g.points;
            }
            assert!(
                g.application != withdrawn
                    || g.state != mykey_platform::PointGrantState::Instructed,
                "a withdrawn application's grant is still to be granted: {g:?}"
            );
        }
    }
    assert_eq!(instructed, reported, "over {} batches", batches.len());
    store
        .set_point_round_state(round, PointRoundState::Open, PointRoundState::Closed, T)
        .await
        .unwrap()
        .unwrap();
}
