//! The outbox and client-credential part of the conformance story: events written with the
//! changes that cause them, per relying party and in order, acknowledged by their own relying
//! party only; registered JWK Sets; client access tokens that expire and are purged.

use std::sync::Arc;

use mykey_pki::{IssuanceNumber, RevocationReason};
use mykey_platform::{
    CrlSweepPosition, DueSignature, EventKind, EventSubject, LinkOutcome, MyKeyIdChange, NewLog,
    SignatureRevoked, Store,
};

use crate::T;

fn revoked(
    serial: IssuanceNumber,
    at: mykey_pki::UnixTime,
    reason: Option<RevocationReason>,
) -> SignatureRevoked {
    SignatureRevoked {
        serial,
        revoked_at: at,
        reason,
    }
}
use crate::links::{consent, give_my_key_id, linked, person, register, request};

pub(crate) async fn story(store: Arc<dyn Store>) {
    let rp1 = register(&store, "outbox-city", 11).await;
    let rp2 = register(&store, "outbox-bank", 12).await;

    // JWK Sets: stored, replaced, removed; an unknown relying party has none.
    assert_eq!(store.relying_party_jwks(rp1.id).await.unwrap(), None);
    let set = r#"{"keys":[]}"#;
    assert_eq!(
        store
            .set_relying_party_jwks(rp1.id, Some(set))
            .await
            .unwrap(),
        Some(rp1.clone())
    );
    assert_eq!(
        store.relying_party_jwks(rp1.id).await.unwrap().as_deref(),
        Some(set)
    );
    store.set_relying_party_jwks(rp1.id, None).await.unwrap();
    assert_eq!(store.relying_party_jwks(rp1.id).await.unwrap(), None);
    let nobody = mykey_platform::RelyingPartyId::new(i64::MAX);
    assert_eq!(
        store
            .set_relying_party_jwks(nobody, Some(set))
            .await
            .unwrap(),
        None
    );

    // Client tokens: found until they expire, then purged.
    store
        .insert_client_token(&[5; 32], rp1.id, T.plus(300))
        .await
        .unwrap();
    assert_eq!(
        store.client_token(&[5; 32], T).await.unwrap(),
        Some(rp1.clone())
    );
    assert_eq!(store.client_token(&[6; 32], T).await.unwrap(), None);
    assert_eq!(
        store.client_token(&[5; 32], T.plus(301)).await.unwrap(),
        None
    );
    assert!(store.purge_expired(T.plus(301)).await.unwrap() >= 1);
    assert_eq!(store.client_token(&[5; 32], T).await.unwrap(), None);

    // A linked person: the link itself is no event.
    let p = person(&store, 7_000).await;
    give_my_key_id(&store, p, "OUTB0X01").await;
    let r = request(&store, &rp1, "C-71", 71).await;
    store
        .approve_link_request(&r, p, &consent(), None, T, &linked())
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .pending_events(rp1.id, &EventKind::ALL, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A renewal tells the relying party under its customer ID; a failed renewal (the number is
    // known already) tells nobody.
    let renewed = store
        .link_issuance_number(
            IssuanceNumber::from_u64(7_001).unwrap(),
            None,
            &[IssuanceNumber::from_u64(7_000).unwrap()],
            T.plus(1),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(renewed, LinkOutcome::Renewed(p));
    store
        .link_issuance_number(
            IssuanceNumber::from_u64(7_001).unwrap(),
            None,
            &[],
            T.plus(2),
            &[],
        )
        .await
        .unwrap();
    // Revoking the My Key ID ends the link: account disabled, after the renewal.
    let revoke = NewLog::new(
        mykey_platform::LogKind::MyKeyIdRevoked,
        serde_json::json!({}),
    );
    store
        .change_my_key_id(p, MyKeyIdChange::Revoke, T.plus(3), &revoke, None)
        .await
        .unwrap()
        .unwrap();
    let events = store
        .pending_events(rp1.id, &EventKind::ALL, 10)
        .await
        .unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::CredentialChange, EventKind::AccountDisabled]
    );
    assert!(
        events
            .iter()
            .all(|e| e.subject == EventSubject::CustomerId("C-71".into()))
    );
    assert!(events[0].seq < events[1].seq && events[0].jti != events[1].jti);
    assert_eq!(events[1].at, T.plus(3));
    assert!(
        store
            .pending_events(rp2.id, &EventKind::ALL, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .pending_events(rp1.id, &EventKind::ALL, 1)
            .await
            .unwrap()
            .len(),
        1
    );

    // Only the relying party's own acknowledgement counts, and only once.
    let jti = vec![events[0].jti.clone(), "unknown".into()];
    assert_eq!(
        store
            .acknowledge_events(rp2.id, &jti, T.plus(4))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .acknowledge_events(rp1.id, &jti, T.plus(4))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .acknowledge_events(rp1.id, &jti, T.plus(4))
            .await
            .unwrap(),
        0
    );
    let left = store
        .pending_events(rp1.id, &EventKind::ALL, 10)
        .await
        .unwrap();
    assert_eq!(left, events[1..]);
}

/// Streams: configured, filtered by kind, due when events wait, their push state recorded.
pub(crate) async fn streams(store: Arc<dyn Store>) {
    use mykey_platform::{Delivery, PushOutcome, StreamConfig};
    let rp = register(&store, "stream-bank", 21).await;
    assert_eq!(store.stream(rp.id).await.unwrap(), None);
    let push = StreamConfig {
        delivery: Delivery::Push {
            endpoint_url: "https://bank.example/events".into(),
            authorization_header: Some("Bearer x".into()),
        },
        events_requested: vec![EventKind::AccountDisabled],
    };
    store.set_stream(rp.id, &push, T).await.unwrap();
    let s = store.stream(rp.id).await.unwrap().unwrap();
    assert_eq!((s.config, s.attempts, s.pending), (push.clone(), 0, 0));
    // A header kept in the clear is found, replaced only where it is still the same, and the
    // store compacts itself afterwards (SQLite VACUUM, PostgreSQL VACUUM of the table).
    assert_eq!(
        store.plaintext_stream_headers().await.unwrap(),
        vec![(rp.id, "Bearer x".to_owned())]
    );
    let change = |old: &str| vec![(rp.id, old.to_owned(), "sealed:AAAA".to_owned())];
    assert_eq!(
        store
            .reseal_stream_headers(&change("Bearer y"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .reseal_stream_headers(&change("Bearer x"))
            .await
            .unwrap(),
        1
    );
    assert!(store.plaintext_stream_headers().await.unwrap().is_empty());
    store.set_stream(rp.id, &push, T).await.unwrap();
    assert!(store.due_push_streams(T, 10).await.unwrap().is_empty());

    // A linked person revokes the My Key ID after a renewal: only the requested kind counts.
    let p = person(&store, 8_000).await;
    give_my_key_id(&store, p, "STRM0001").await;
    let r = request(&store, &rp, "C-81", 81).await;
    store
        .approve_link_request(&r, p, &consent(), None, T, &linked())
        .await
        .unwrap()
        .unwrap();
    store
        .link_issuance_number(
            IssuanceNumber::from_u64(8_001).unwrap(),
            None,
            &[IssuanceNumber::from_u64(8_000).unwrap()],
            T,
            &[],
        )
        .await
        .unwrap();
    let revoke = NewLog::new(
        mykey_platform::LogKind::MyKeyIdRevoked,
        serde_json::json!({}),
    );
    store
        .change_my_key_id(p, MyKeyIdChange::Revoke, T, &revoke, None)
        .await
        .unwrap()
        .unwrap();
    let wanted = store
        .pending_events(rp.id, &[EventKind::AccountDisabled], 10)
        .await
        .unwrap();
    assert_eq!(wanted.len(), 1);
    assert_eq!(store.stream(rp.id).await.unwrap().unwrap().pending, 1);
    assert_eq!(store.due_push_streams(T, 10).await.unwrap(), [rp.id]);

    // A failure pushes the next try back; a delivery acknowledges the event.
    store
        .record_push(
            rp.id,
            &wanted[0].jti,
            &PushOutcome::Failed("503".into()),
            T,
            T.plus(2),
        )
        .await
        .unwrap();
    let s = store.stream(rp.id).await.unwrap().unwrap();
    assert_eq!(
        (s.attempts, s.next_attempt_at, s.last_error.as_deref()),
        (1, T.plus(2), Some("503"))
    );
    assert!(
        store
            .due_push_streams(T.plus(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.due_push_streams(T.plus(2), 10).await.unwrap(),
        [rp.id]
    );
    store
        .record_push(
            rp.id,
            &wanted[0].jti,
            &PushOutcome::Delivered,
            T.plus(2),
            T.plus(2),
        )
        .await
        .unwrap();
    let s = store.stream(rp.id).await.unwrap().unwrap();
    assert_eq!(
        (s.attempts, s.pending, s.last_delivered_at),
        (0, 0, Some(T.plus(2)))
    );
    assert!(
        store
            .due_push_streams(T.plus(9), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Replaced by a poll stream for everything: the renewal's event waits there.
    let poll = StreamConfig {
        delivery: Delivery::Poll,
        events_requested: EventKind::ALL.to_vec(),
    };
    store.set_stream(rp.id, &poll, T).await.unwrap();
    assert_eq!(store.stream(rp.id).await.unwrap().unwrap().pending, 1);
    assert!(store.delete_stream(rp.id).await.unwrap());
    assert!(!store.delete_stream(rp.id).await.unwrap());
}

/// The facts-change sweep's transaction: told once, to active links only.
pub(crate) async fn facts(store: Arc<dyn Store>) {
    let rp = register(&store, "facts-bank", 31).await;
    let p = person(&store, 90_000).await;
    give_my_key_id(&store, p, "FACT0001").await;
    let serial = IssuanceNumber::from_u64(0x5001).unwrap();
    let r = request(&store, &rp, "C-91", 91).await;
    store
        .approve_link_request(&r, p, &consent(), Some(serial), T, &linked())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.noted_signature_certificate(p).await.unwrap(),
        Some(serial)
    );
    assert!(
        store
            .signature_certificates_to_renote(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let customer = "C-91".parse().unwrap();
    assert_eq!(
        store.linked_person(rp.id, &customer).await.unwrap(),
        Some((p, IssuanceNumber::from_u64(90_000).unwrap()))
    );
    let other = IssuanceNumber::from_u64(0x5002).unwrap();
    let sweep = store
        .facts_changed(
            &[
                revoked(other, T, Some(RevocationReason::KeyCompromise)),
                revoked(
                    serial,
                    T.plus(5),
                    Some(RevocationReason::AffiliationChanged),
                ),
            ],
            T.plus(9),
        )
        .await
        .unwrap();
    assert_eq!((sweep.people, sweep.events), (1, 1));
    let events = store
        .pending_events(rp.id, &EventKind::ALL, 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::BasicFactsChanged);
    assert_eq!(events[0].subject, EventSubject::CustomerId("C-91".into()));
    let detail: serde_json::Value = serde_json::from_str(&events[0].detail).unwrap();
    assert_eq!(
        detail,
        serde_json::json!({
            "reason": "signature-certificate-revoked",
            "revocation_reason": "affiliationChanged",
            "revoked_at": T.plus(5).as_secs(),
        })
    );
    assert_eq!(store.noted_signature_certificate(p).await.unwrap(), None);
    // Told: the person's next certificate is to be learnt.
    let due = |renewed| DueSignature {
        person: p,
        number: IssuanceNumber::from_u64(90_000).unwrap(),
        noted: serial,
        renewed,
    };
    assert_eq!(
        store
            .signature_certificates_to_renote(None, 10)
            .await
            .unwrap(),
        [due(false)]
    );
    let again = store
        .facts_changed(
            &[revoked(
                serial,
                T,
                Some(RevocationReason::AffiliationChanged),
            )],
            T.plus(10),
        )
        .await
        .unwrap();
    assert_eq!((again.people, again.events), (0, 0));
    assert!(
        store
            .log(p)
            .await
            .unwrap()
            .iter()
            .any(|e| e.kind == "facts-change.shared")
    );
    // A newly noted certificate is followed again.
    let log = NewLog::new(mykey_platform::LogKind::JlisQuery, serde_json::json!({}));
    store
        .note_signature_certificate(p, Some(other), T.plus(11), &log)
        .await
        .unwrap();
    assert_eq!(
        store.noted_signature_certificate(p).await.unwrap(),
        Some(other)
    );
    assert!(
        store
            .signature_certificates_to_renote(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A renewal, in the same second: the new card's certificate is to be learnt, by the new
    // number.
    let renewed = IssuanceNumber::from_u64(90_001).unwrap();
    assert_eq!(
        store
            .link_issuance_number(
                renewed,
                None,
                &[IssuanceNumber::from_u64(90_000).unwrap()],
                T,
                &[]
            )
            .await
            .unwrap(),
        LinkOutcome::Renewed(p)
    );
    assert_eq!(
        store
            .signature_certificates_to_renote(None, 10)
            .await
            .unwrap(),
        [DueSignature {
            number: renewed,
            noted: other,
            ..due(true)
        }]
    );
    // Told while due after a renewal: still due as a renewal. Revoked for another reason (no
    // reason code: unspecified), it is told as such.
    store
        .facts_changed(&[revoked(other, T, None)], T.plus(12))
        .await
        .unwrap();
    let events = store
        .pending_events(rp.id, &[EventKind::SignatureCertificateRevoked], 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0]
            .detail
            .contains("\"revocation_reason\":\"unspecified\""),
        "{}",
        events[0].detail
    );
    assert!(
        store
            .signature_certificates_to_renote(None, 10)
            .await
            .unwrap()[0]
            .renewed
    );

    // The sweep's position per CA, replaced in place.
    let ca = [7u8; 20];
    assert_eq!(store.crl_sweep_position(&ca).await.unwrap(), None);
    for (complete, delta) in [(3, 4), (9, 12)] {
        let at = CrlSweepPosition { complete, delta };
        store.set_crl_sweep_position(&ca, at, T).await.unwrap();
        assert_eq!(store.crl_sweep_position(&ca).await.unwrap(), Some(at));
    }
    assert_eq!(store.crl_sweep_position(&[8u8; 20]).await.unwrap(), None);
}

/// Neither the outbox nor the link requests grow with the years: a link request is deleted by
/// the purge a day after it expired, an acknowledged event once kept 30 days, and an event not
/// acknowledged never.
pub(crate) async fn forgotten(store: Arc<dyn Store>) {
    use mykey_platform::{ACKNOWLEDGED_EVENT_KEEP_SECS as KEEP, LINK_REQUEST_KEEP_SECS};
    let rp = register(&store, "forgetting-bank", 31).await;
    let mut jtis = Vec::new();
    let mut requests = Vec::new();
    for (i, n) in [(0u64, 9_100u64), (1, 9_200)] {
        let p = person(&store, n).await;
        give_my_key_id(&store, p, ["FORGET01", "FORGET02"][i as usize]).await;
        let r = request(&store, &rp, &format!("F-{n}"), 90 + i as u8).await;
        requests.push(r);
        store
            .approve_link_request(&r, p, &consent(), None, T, &linked())
            .await
            .unwrap()
            .unwrap();
        // A renewal: an event for the relying party.
        store
            .link_issuance_number(
                IssuanceNumber::from_u64(n + 1).unwrap(),
                None,
                &[IssuanceNumber::from_u64(n).unwrap()],
                T.plus(1),
                &[],
            )
            .await
            .unwrap();
    }
    for e in store
        .pending_events(rp.id, &EventKind::ALL, 10)
        .await
        .unwrap()
    {
        jtis.push(e.jti);
    }
    assert_eq!(jtis.len(), 2);
    assert_eq!(
        store
            .acknowledge_events(rp.id, &jtis[..1], T.plus(4))
            .await
            .unwrap(),
        1
    );
    // Link requests (expiring at T + 600) stay a day after, then go.
    store
        .purge_expired(T.plus(600 + LINK_REQUEST_KEEP_SECS))
        .await
        .unwrap();
    for r in &requests {
        assert!(store.link_request(r).await.unwrap().is_some());
    }
    assert_eq!(
        store
            .purge_expired(T.plus(601 + LINK_REQUEST_KEEP_SECS))
            .await
            .unwrap(),
        2
    );
    for r in &requests {
        assert_eq!(store.link_request(r).await.unwrap(), None);
    }
    // Up to the end of its keep an acknowledged event stays; one second later the purge
    // deletes it, and nothing else expires in that second.
    store.purge_expired(T.plus(4 + KEEP)).await.unwrap();
    assert_eq!(store.purge_expired(T.plus(5 + KEEP)).await.unwrap(), 1);
    // The one not acknowledged outlives any purge, and is still delivered.
    store
        .purge_expired(T.plus(10 * 365 * 86_400))
        .await
        .unwrap();
    let left = store
        .pending_events(rp.id, &EventKind::ALL, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].jti, jtis[1]);
}
