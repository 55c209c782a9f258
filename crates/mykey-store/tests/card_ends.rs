//! The end of a card ends the My Key ID (issue 21.2, Art 15.3): the part of the conformance
//! story for `end_cards` and `expired_cards`.

use std::sync::Arc;

use mykey_pki::{IssuanceNumber, RevocationReason};
use mykey_platform::{CardEnd, LogKind, Store};

use crate::T;
use crate::links::{consent, give_my_key_id, register, request};

fn n(v: u64) -> IssuanceNumber {
    IssuanceNumber::from_u64(v).unwrap()
}

pub(crate) async fn story(store: Arc<dyn Store>) {
    let rp = register(&store, "card-ends", 41).await;
    // p: card 41_000 (expires T + 100), renewed to 41_001 (expires T + 1,000), linked.
    let p = store
        .link_issuance_number(n(41_000), Some(T.plus(100)), &[], T, &[])
        .await
        .unwrap()
        .person();
    let renewed = store
        .link_issuance_number(n(41_001), Some(T.plus(1_000)), &[n(41_000)], T, &[])
        .await
        .unwrap();
    assert_eq!(renewed.person(), p);
    give_my_key_id(&store, p, "CARD0041").await;
    let id = request(&store, &rp, "CE-1", 41).await;
    store
        .approve_link_request(&id, p, &consent(), None, T, &[])
        .await
        .unwrap()
        .unwrap();
    // q: card 42_000 (expires T + 100), no My Key ID.
    let q = store
        .link_issuance_number(n(42_000), Some(T.plus(100)), &[], T, &[])
        .await
        .unwrap()
        .person();

    // Only the newest card of a person with a My Key ID counts.
    assert_eq!(store.expired_cards(T.plus(500), 10).await.unwrap(), vec![]);
    assert_eq!(
        store.expired_cards(T.plus(2_000), 10).await.unwrap(),
        vec![n(41_001)]
    );
    let lost = CardEnd::Revoked(Some(RevocationReason::KeyCompromise));
    assert_eq!(
        store
            .end_cards(&[(n(41_000), lost, T.plus(5)), (n(42_000), lost, T)], T)
            .await
            .unwrap(),
        0,
        "an old card and a person without a My Key ID end nothing"
    );
    assert!(store.my_key_id(p).await.unwrap().is_some());
    let before = store.log(q).await.unwrap().len();
    assert_eq!(
        store.end_cards(&[(n(41_001), lost, T)], T).await.unwrap(),
        1
    );
    assert!(store.my_key_id(p).await.unwrap().is_none());
    assert_eq!(store.person_links(p).await.unwrap(), vec![]);
    let log = store.log(p).await.unwrap();
    let revoked = log
        .iter()
        .find(|e| e.kind == LogKind::MyKeyIdRevoked.as_str())
        .unwrap();
    assert_eq!(
        revoked.detail,
        r#"{"reason":"card-revoked","revocation_reason":"keyCompromise"}"#
    );
    let ended = log
        .iter()
        .find(|e| e.kind == LogKind::ServiceIdEnded.as_str())
        .unwrap();
    assert!(
        ended.detail.contains(r#""reason":"card-revoked""#),
        "{}",
        ended.detail
    );
    mykey_platform::verify_chain(&log).unwrap();
    // Done again: nothing more.
    assert_eq!(
        store.end_cards(&[(n(41_001), lost, T)], T).await.unwrap(),
        0
    );
    assert_eq!(
        store.expired_cards(T.plus(2_000), 10).await.unwrap(),
        vec![]
    );
    assert_eq!(store.log(q).await.unwrap().len(), before);
    assert_eq!(store.end_cards(&[], T).await.unwrap(), 0);

    // A card lost (revoked at T + 10) and replaced after (linked at T + 50): the replacement
    // does not save the My Key ID.
    let r = store
        .link_issuance_number(n(43_000), Some(T.plus(1_000)), &[], T, &[])
        .await
        .unwrap()
        .person();
    give_my_key_id(&store, r, "CARD0043").await;
    store
        .link_issuance_number(
            n(43_001),
            Some(T.plus(2_000)),
            &[n(43_000)],
            T.plus(50),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .end_cards(&[(n(43_000), lost, T.plus(10))], T.plus(60))
            .await
            .unwrap(),
        1
    );
    assert!(store.my_key_id(r).await.unwrap().is_none());

    // What the CRLs say of a card decides whether its holder's My Key ID can be applied with.
    let s = store
        .link_issuance_number(n(44_000), Some(T.plus(1_000)), &[], T, &[])
        .await
        .unwrap()
        .person();
    give_my_key_id(&store, s, "CARD0044").await;
    let id = "CARD0044".parse().unwrap();
    assert_eq!(
        store.my_key_id_holder(&id, T).await.unwrap(),
        Some((s, Some(n(44_000))))
    );
    let hold = Some(RevocationReason::CertificateHold);
    store
        .note_card_revocations(&[(n(44_000), hold, T), (n(99_999), hold, T)])
        .await
        .unwrap();
    assert_eq!(store.my_key_id_holder(&id, T).await.unwrap(), None);
    store
        .note_card_revocations(&[(n(44_000), Some(RevocationReason::RemoveFromCrl), T)])
        .await
        .unwrap();
    assert!(store.my_key_id_holder(&id, T).await.unwrap().is_some());
    // Expired: no one.
    assert_eq!(
        store.my_key_id_holder(&id, T.plus(1_001)).await.unwrap(),
        None
    );
}
