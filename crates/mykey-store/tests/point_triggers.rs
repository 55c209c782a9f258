//! The health-insurance and public-fund-account triggers (migration 0027), on both backends:
//! concurrent claims keep one claim and one log entry, concurrent answers one registration,
//! and a registered trigger is granted once, through the provider, only on a validated
//! application.

use std::sync::Arc;

use mykey_platform::{
    Conflict, LogKind, NewLog, PaymentServiceStatus, PlatformError, PointConflict, PointGrantKind,
    PointRoundState, PointTriggerKind, PointTriggerState, RelyingPartyKind, SettlementUserId,
    Store, ValidationAnswer, verify_chain,
};

use crate::T;
use crate::points::{TERMS, application, party, person, service};

fn claimed() -> [NewLog; 1] {
    [NewLog::new(
        LogKind::PointTriggerClaimed,
        serde_json::json!({}),
    )]
}

pub(crate) async fn triggers(store: Arc<dyn Store>) {
    let pay = party(&store, "T-Pay", RelyingPartyKind::PaymentProvider).await;
    let s = store
        .add_payment_service(pay.id, &service("T-Pay"), T)
        .await
        .unwrap()
        .unwrap();
    store
        .set_payment_service_status(s.id, PaymentServiceStatus::Eligible)
        .await
        .unwrap();
    let round = store
        .add_point_round("Triggers", &TERMS, T)
        .await
        .unwrap()
        .unwrap();
    store
        .set_point_round_state(round.id, PointRoundState::Draft, PointRoundState::Open, T)
        .await
        .unwrap()
        .unwrap();
    let p = person(&store, 7_100, Some("PTSTRIG1")).await;
    let a = store
        .apply_for_points(&application(71_000, round.id, p, s.id, "71000000"), &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.person_issuance_numbers(p).await.unwrap(),
        [mykey_pki::IssuanceNumber::from_u64(7_100).unwrap()]
    );
    let before = store.log(p).await.unwrap().len();

    // Sixteen claims at once: one row, one log entry.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_point_trigger(p, a.id, PointTriggerKind::HealthInsurance, T, &claimed())
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.log(p).await.unwrap().len(), before + 1);
    let mine = store.person_point_triggers(p).await.unwrap();
    assert_eq!(
        (mine.len(), mine[0].state, mine[0].points),
        (1, PointTriggerState::Awaiting, 7500)
    );
    let due = store.awaiting_point_triggers(T, 10).await.unwrap();
    assert!(
        due.iter()
            .any(|(t, who, r)| t.application == a.id && *who == p && r == "Triggers")
    );

    // Sixteen answers "registered" at once: one registration in the log.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let log = |_: &mykey_platform::PointTrigger| {
                    NewLog::new(LogKind::PointTriggerRegistered, serde_json::json!({}))
                };
                store
                    .record_point_trigger_check(
                        a.id,
                        PointTriggerKind::HealthInsurance,
                        Some(T),
                        T,
                        &log,
                    )
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().state, PointTriggerState::Registered);
    }
    let log = store.log(p).await.unwrap();
    assert_eq!(log.len(), before + 2);
    verify_chain(&log).unwrap();
    assert!(
        store
            .awaiting_point_triggers(T, 10)
            .await
            .unwrap()
            .iter()
            .all(|(t, ..)| t.application != a.id)
    );

    // Granted only once the application is validated, and once.
    let none = store
        .instruct_point_grants(pay.id, round.id, 71_500, T)
        .await
        .unwrap();
    assert!(
        matches!(
            none,
            Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::NothingDue
            )))
        ),
        "{none:?}"
    );
    let log_of = |_: &_| NewLog::new(LogKind::PointValidated, serde_json::json!({}));
    let su: SettlementUserId = "SU-T".parse().unwrap();
    store
        .answer_point_application(pay.id, a.id, &ValidationAnswer::Valid(su), T, &log_of)
        .await
        .unwrap()
        .unwrap();
    let b = store
        .instruct_point_grants(pay.id, round.id, 71_501, T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.grants, b.points), (1, 7500));
    let page = store
        .point_grants(pay.id, 71_501, None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page[0].kind, PointGrantKind::HealthInsurance);
    let again = store
        .instruct_point_grants(pay.id, round.id, 71_502, T)
        .await
        .unwrap();
    assert!(
        matches!(
            again,
            Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::NothingDue
            )))
        ),
        "{again:?}"
    );
    let line = store.point_statement(round.id).await.unwrap();
    let line = line.iter().find(|l| l.provider == pay.id).unwrap();
    assert_eq!(
        (line.points_instructed, line.points_health_insurance),
        (7500, 7500)
    );

    // A round without such points, a stranger, an ended application: refused, nothing kept.
    let stranger = person(&store, 7_101, Some("PTSTRIG2")).await;
    let refused = store
        .claim_point_trigger(
            stranger,
            a.id,
            PointTriggerKind::PublicFundAccount,
            T,
            &claimed(),
        )
        .await
        .unwrap();
    assert!(
        matches!(refused, Err(PlatformError::NotFound(_))),
        "{refused:?}"
    );
    assert!(
        store
            .person_point_triggers(stranger)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .set_point_round_state(round.id, PointRoundState::Open, PointRoundState::Closed, T)
        .await
        .unwrap()
        .unwrap();
    let closed = store
        .claim_point_trigger(p, a.id, PointTriggerKind::PublicFundAccount, T, &claimed())
        .await
        .unwrap();
    assert!(
        matches!(
            closed,
            Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::RoundNotOpen
            )))
        ),
        "{closed:?}"
    );
    assert_eq!(store.person_point_triggers(p).await.unwrap().len(), 1);
}
