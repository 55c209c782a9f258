//! Maintenance windows: the part of the conformance story for `MaintenanceStore` — kept with
//! the events that tell every approved relying party (and no other), listed until over, ended
//! once.

use std::sync::Arc;

use mykey_platform::{
    EventKind, EventSubject, Function, MaintenanceWindow, Notice, RelyingPartyStatus, Store,
};

use crate::T;
use crate::links::register;

pub(crate) async fn story(store: Arc<dyn Store>) {
    let approved = register(&store, "maintenance-approved", 41).await;
    let pending = register(&store, "maintenance-pending", 42).await;
    store
        .set_relying_party_status(approved.id, RelyingPartyStatus::Approved)
        .await
        .unwrap();
    let before = |rp| {
        let store = store.clone();
        async move {
            store
                .pending_events(rp, &EventKind::ALL, 1000)
                .await
                .unwrap()
                .len()
        }
    };
    let (had_approved, had_pending) = (before(approved.id).await, before(pending.id).await);

    let new = MaintenanceWindow {
        id: 0,
        starts_at: T.plus(100),
        ends_at: T.plus(200),
        functions: vec![Function::CardLogin, Function::Points],
        notice: Notice {
            en: "Upgrade".into(),
            ja: "更新".into(),
        },
        announced_at: T,
        urgent_reason: None,
        ended_at: None,
    };
    let kept = store.insert_maintenance(&new).await.unwrap();
    assert!(kept.id > 0);
    assert_eq!(
        MaintenanceWindow {
            id: 0,
            ..kept.clone()
        },
        new
    );
    let other = store
        .insert_maintenance(&MaintenanceWindow {
            starts_at: T.plus(50),
            ends_at: T.plus(60),
            functions: vec![Function::Events],
            urgent_reason: Some("a failed disk".into()),
            ..new.clone()
        })
        .await
        .unwrap();
    // Listed until over, soonest start first.
    assert_eq!(
        store.maintenance_windows(T).await.unwrap(),
        vec![other.clone(), kept.clone()]
    );
    assert_eq!(
        store.maintenance_windows(T.plus(60)).await.unwrap(),
        vec![kept.clone()]
    );
    assert_eq!(
        store.maintenance_windows(T.plus(200)).await.unwrap(),
        vec![]
    );

    // Every approved relying party is told of each, about the window; a pending one is not.
    let events = store
        .pending_events(approved.id, &EventKind::ALL, 1000)
        .await
        .unwrap();
    let told: Vec<_> = events[had_approved..]
        .iter()
        .map(|e| (e.kind, e.subject.clone()))
        .collect();
    assert_eq!(
        told,
        vec![
            (
                EventKind::MaintenanceAnnounced,
                EventSubject::Announcement(format!("maintenance-window-{}", kept.id))
            ),
            (
                EventKind::MaintenanceAnnounced,
                EventSubject::Announcement(format!("maintenance-window-{}", other.id))
            ),
        ]
    );
    let detail: serde_json::Value = serde_json::from_str(&events[had_approved].detail).unwrap();
    assert_eq!(
        detail["functions"],
        serde_json::json!(["card-login", "points"])
    );
    assert_eq!(before(pending.id).await, had_pending);

    // Ended early, once; a window over (or unknown) cannot be ended.
    let ended = store
        .end_maintenance(kept.id, T.plus(150))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ended.ended_at, ended.end()),
        (Some(T.plus(150)), T.plus(150))
    );
    assert_eq!(
        store.end_maintenance(kept.id, T.plus(151)).await.unwrap(),
        None
    );
    assert_eq!(
        store.end_maintenance(other.id, T.plus(60)).await.unwrap(),
        None
    );
    assert_eq!(store.end_maintenance(i64::MAX, T).await.unwrap(), None);
    assert_eq!(
        store.maintenance_windows(T.plus(150)).await.unwrap(),
        vec![]
    );
    let last = store
        .pending_events(approved.id, &EventKind::ALL, 1000)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.kind, EventKind::MaintenanceEnded);
    let detail: serde_json::Value = serde_json::from_str(&last.detail).unwrap();
    assert_eq!(
        (detail["ends_at"].as_u64(), detail["called_off"].as_bool()),
        (Some(T.plus(150).as_secs()), Some(false))
    );
}

/// The end of the system: one standing announcement, told; withdrawn only before its date;
/// on it, every card-point application in flight forfeited (Art 27.1.3), a batch at a time.
pub(crate) async fn termination(store: Arc<dyn Store>) {
    use mykey_platform::{
        PaymentServiceStatus, PointApplicationState, PointRoundState, RelyingPartyKind, Termination,
    };

    use crate::points::{TERMS, application, party, person, service};

    let rp = party(&store, "termination-told", RelyingPartyKind::Business).await;
    let seen = |store: Arc<dyn Store>| async move {
        store
            .pending_events(rp.id, &EventKind::ALL, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.subject))
            .collect::<Vec<_>>()
    };
    assert_eq!(store.termination().await.unwrap(), None);
    let new = Termination {
        id: 0,
        terminates_at: T.plus(1000),
        notice: Notice {
            en: "Closing".into(),
            ja: "終了".into(),
        },
        announced_at: T,
        urgent_reason: None,
        withdrawn_at: None,
        carried_out_at: None,
    };
    let first = store.insert_termination(&new).await.unwrap().unwrap();
    // One stands at a time: the second writes nothing, tells no one.
    assert_eq!(store.insert_termination(&new).await.unwrap(), None);
    assert_eq!(store.termination().await.unwrap(), Some(first.clone()));
    // Withdrawn before its date only.
    assert_eq!(
        store.withdraw_termination(T.plus(1000)).await.unwrap(),
        None
    );
    let withdrawn = store
        .withdraw_termination(T.plus(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(withdrawn.withdrawn_at, Some(T.plus(10)));
    assert_eq!(store.termination().await.unwrap(), None);
    let second = store.insert_termination(&new).await.unwrap().unwrap();
    let subject = |t: &Termination| EventSubject::Announcement(format!("termination-{}", t.id));
    assert_eq!(
        seen(store.clone()).await,
        vec![
            (EventKind::TerminationAnnounced, subject(&first)),
            (EventKind::TerminationWithdrawn, subject(&first)),
            (EventKind::TerminationAnnounced, subject(&second)),
        ]
    );

    // A holder with an application in flight.
    let pay = party(&store, "termination-pay", RelyingPartyKind::PaymentProvider).await;
    let s = store
        .add_payment_service(pay.id, &service("Ending Pay"), T)
        .await
        .unwrap()
        .unwrap();
    store
        .set_payment_service_status(s.id, PaymentServiceStatus::Eligible)
        .await
        .unwrap()
        .unwrap();
    let round = store
        .add_point_round("Ending round", &TERMS, T)
        .await
        .unwrap()
        .unwrap();
    store
        .set_point_round_state(round.id, PointRoundState::Draft, PointRoundState::Open, T)
        .await
        .unwrap()
        .unwrap();
    let p = person(&store, 77_700, Some("END00001")).await;
    store
        .apply_for_points(&application(4_900, round.id, p, s.id, "49004900"), &[])
        .await
        .unwrap()
        .unwrap();
    // Forfeited, a batch of people at a time, until none is left (other stories' holders too).
    let mut batches = 0;
    while store
        .forfeit_for_termination(T.plus(1000), 1)
        .await
        .unwrap()
        > 0
    {
        batches += 1;
        assert!(batches < 1000);
    }
    assert!(batches >= 1);
    let mine = store.person_point_applications(p).await.unwrap();
    assert_eq!(
        (mine[0].state, mine[0].reason.as_deref()),
        (PointApplicationState::Forfeited, Some("system-terminated"))
    );
    store
        .termination_carried_out(second.id, T.plus(1001))
        .await
        .unwrap();
    store
        .termination_carried_out(second.id, T.plus(1002))
        .await
        .unwrap();
    assert_eq!(
        store.termination().await.unwrap().unwrap().carried_out_at,
        Some(T.plus(1001))
    );
}
