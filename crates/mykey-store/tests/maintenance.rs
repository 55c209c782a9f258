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
