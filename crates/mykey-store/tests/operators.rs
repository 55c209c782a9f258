//! Operator accounts, the operator log and suspensions: the part of the conformance story for
//! `OperatorStore` (docs/architecture.md §9).

use std::sync::Arc;

use mykey_pki::IssuanceNumber;
use mykey_platform::{
    LogKind, LoginOutcome, LoginWrite, NewLog, OperatorEnd, OperatorRole, Store, Suspendable,
    SuspensionChange, UsedNonce, verify_chain,
};

use crate::T;
use crate::links::give_my_key_id;

fn n(v: u64) -> IssuanceNumber {
    IssuanceNumber::from_u64(v).unwrap()
}

pub(crate) async fn story(store: Arc<dyn Store>) {
    let person = |v: u64| {
        let store = store.clone();
        async move {
            store
                .link_issuance_number(n(v), None, &[], T, &[])
                .await
                .unwrap()
                .person()
        }
    };
    let (a, b, c) = (
        person(61_000).await,
        person(62_000).await,
        person(63_000).await,
    );

    // Accounts: one active per person, the database's rule; never the last administrator.
    assert!(!store.has_administrator().await.unwrap());
    let admin = store
        .insert_operator(a, "Aoki", OperatorRole::Administrator, T)
        .await
        .unwrap()
        .unwrap();
    assert!(store.has_administrator().await.unwrap());
    assert_eq!(
        store
            .insert_operator(a, "Aoki", OperatorRole::Auditor, T)
            .await
            .unwrap(),
        None
    );
    let desk = store
        .insert_operator(b, "Baba", OperatorRole::HelpDesk, T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.operator_of(b).await.unwrap(), Some(desk.clone()));
    assert_eq!(store.operator_of(c).await.unwrap(), None);
    assert_eq!(
        store.end_operator(admin.id, T).await.unwrap(),
        OperatorEnd::LastAdministrator
    );
    assert_eq!(
        store.end_operator(desk.id, T.plus(1)).await.unwrap(),
        OperatorEnd::Ended
    );
    assert_eq!(
        store.end_operator(desk.id, T.plus(1)).await.unwrap(),
        OperatorEnd::NotFound
    );
    assert_eq!(store.operator_of(b).await.unwrap(), None);
    // An ended account stays listed; the person may be given a new one.
    let listed = store.operators().await.unwrap();
    let ended = listed.iter().find(|o| o.id == desk.id).unwrap();
    assert_eq!(ended.ended_at, Some(T.plus(1)));
    assert!(
        store
            .insert_operator(b, "Baba", OperatorRole::Auditor, T.plus(2))
            .await
            .unwrap()
            .is_some()
    );

    // The operator log: one chain, whatever many append at once.
    let before = store.operator_log(0, 1000).await.unwrap().len();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for j in 0..10 {
                store
                    .append_operator_log(T, "GET /v1/ops/x", &format!("{{\"i\":{i},\"j\":{j}}}"))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let log = store.operator_log(0, 1000).await.unwrap();
    assert_eq!(log.len(), before + 80);
    verify_chain(&log).unwrap();
    let page = store.operator_log(log[9].seq, 5).await.unwrap();
    assert_eq!(page, log[10..15]);

    // Suspensions: by the person's number; the reason in their log, in the same transaction.
    give_my_key_id(&store, c, "SUSP0063").await;
    assert_eq!(
        store
            .person_by_my_key_id(&"SUSP0063".parse().unwrap())
            .await
            .unwrap(),
        Some(c)
    );
    assert!(!store.suspended_holder(n(63_000)).await.unwrap());
    let why = NewLog::new(
        LogKind::PersonSuspended,
        serde_json::json!({"grounds": "x"}),
    );
    assert_eq!(
        store
            .set_suspension(c, Suspendable::Person, true, T.plus(5), &why)
            .await
            .unwrap(),
        SuspensionChange::Done
    );
    assert!(store.suspended_holder(n(63_000)).await.unwrap());
    assert!(!store.suspended_holder(n(61_000)).await.unwrap());
    // A suspended holder's login spends its nonce and writes nothing else; the others' go on.
    let login = |nonce: u8, number: u64| LoginWrite {
        nonce: UsedNonce::new(T.plus(60), [nonce; 24]),
        issuance_number: n(number),
        at: T.plus(5),
        logs: vec![NewLog::new(LogKind::Login, serde_json::json!({}))],
        token_hash: [nonce; 32],
        expires_at: T.plus(600),
    };
    let logged = store.log(c).await.unwrap().len();
    assert_eq!(
        store.login(&login(0xc1, 63_000)).await.unwrap(),
        LoginOutcome::Suspended
    );
    assert_eq!(store.session(&[0xc1; 32], T.plus(5)).await.unwrap(), None);
    assert_eq!(store.log(c).await.unwrap().len(), logged);
    assert!(!store.use_nonce(&login(0xc1, 63_000).nonce).await.unwrap());
    assert_eq!(
        store.login(&login(0xc2, 61_000)).await.unwrap(),
        LoginOutcome::Done(a)
    );
    assert_eq!(
        store
            .set_suspension(c, Suspendable::Person, true, T.plus(6), &why)
            .await
            .unwrap(),
        SuspensionChange::AlreadySo
    );
    let s = store.suspensions(c).await.unwrap();
    assert_eq!((s.person, s.my_key_id), (Some(T.plus(5)), None));
    let kinds: Vec<String> = store
        .log(c)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.clone())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "person.suspended").count(), 1);
    let back = NewLog::new(LogKind::PersonResumed, serde_json::json!({}));
    assert_eq!(
        store
            .set_suspension(c, Suspendable::Person, false, T.plus(7), &back)
            .await
            .unwrap(),
        SuspensionChange::Done
    );
    assert!(!store.suspended_holder(n(63_000)).await.unwrap());
    // An operator is not suspended from under their account.
    assert_eq!(
        store
            .set_suspension(a, Suspendable::Person, true, T, &why)
            .await
            .unwrap(),
        SuspensionChange::OperatorAccountHolder
    );
    assert!(!store.suspended_holder(n(61_000)).await.unwrap());
    // A My Key ID's use: the person's, whichever ID they hold.
    let mk = NewLog::new(LogKind::MyKeyIdSuspended, serde_json::json!({}));
    assert_eq!(
        store
            .set_suspension(c, Suspendable::MyKeyId, true, T.plus(8), &mk)
            .await
            .unwrap(),
        SuspensionChange::Done
    );
    assert_eq!(
        store.suspensions(c).await.unwrap().my_key_id,
        Some(T.plus(8))
    );
    // No relying party finds the holder of a suspended My Key ID.
    assert_eq!(
        store
            .my_key_id_holder(&"SUSP0063".parse().unwrap(), T)
            .await
            .unwrap(),
        None
    );
    verify_chain(&store.log(c).await.unwrap()).unwrap();
}
