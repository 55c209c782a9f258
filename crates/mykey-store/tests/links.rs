//! The relying-party and Service ID part of the conformance story (Art 15.3, 17).

use std::sync::Arc;

use mykey_pki::IssuanceNumber;
use mykey_platform::{
    CustomerId, LinkOutcome, LinkRequest, LinkRequestId, LinkRequestState, MyKeyIdChange,
    NewConsent, NewLog, NewRelyingParty, PersonId, PlatformError, RelyingParty, RelyingPartyKind,
    RelyingPartyStatus, SERVICE_ID_CONSENT, Store, verify_chain,
};

use crate::T;

pub(crate) fn consent() -> NewConsent {
    NewConsent {
        items: SERVICE_ID_CONSENT
            .iter()
            .map(|i| i.name.to_owned())
            .collect(),
        terms_version: "2026-11-01".into(),
    }
}

fn cid(s: &str) -> CustomerId {
    s.parse().unwrap()
}

pub(crate) async fn register(store: &Arc<dyn Store>, name: &str, hash: u8) -> RelyingParty {
    store
        .insert_relying_party(&NewRelyingParty {
            client_id: format!("rp_{name}"),
            name: name.into(),
            kind: RelyingPartyKind::Business,
            secret_hash: [hash; 32],
            created_at: T,
            jwks: None,
            profile: mykey_platform::RelyingPartyProfile {
                contact: "窓口".into(),
                privacy_policy_url: "https://rp.example/privacy".into(),
                terms_url: "https://rp.example/terms".into(),
            },
        })
        .await
        .unwrap()
}

pub(crate) async fn request(
    store: &Arc<dyn Store>,
    rp: &RelyingParty,
    c: &str,
    n: u8,
) -> LinkRequestId {
    let id = LinkRequestId::from_bytes([n; 16]);
    store
        .insert_link_request(&LinkRequest {
            id,
            relying_party: rp.clone(),
            customer_id: cid(c),
            state: LinkRequestState::Open,
            expires_at: T.plus(600),
        })
        .await
        .unwrap();
    id
}

pub(crate) async fn person(store: &Arc<dyn Store>, n: u64) -> PersonId {
    let LinkOutcome::Created(p) = store
        .link_issuance_number(IssuanceNumber::from_u64(n).unwrap(), None, &[], T, &[])
        .await
        .unwrap()
    else {
        panic!("a new person")
    };
    p
}

pub(crate) async fn give_my_key_id(store: &Arc<dyn Store>, p: PersonId, id: &str) {
    let log = NewLog::new(
        mykey_platform::LogKind::MyKeyIdCreated,
        serde_json::json!({}),
    );
    store
        .change_my_key_id(p, MyKeyIdChange::Create(id.parse().unwrap()), T, &log, None)
        .await
        .unwrap()
        .unwrap();
}

pub(crate) fn linked() -> Vec<NewLog> {
    vec![NewLog::new(
        mykey_platform::LogKind::ServiceIdLinked,
        serde_json::json!({}),
    )]
}

pub(crate) async fn story(store: Arc<dyn Store>) {
    // Relying parties: registered pending, approved, suspended, re-keyed.
    let rp1 = register(&store, "city", 1).await;
    let rp2 = register(&store, "bank", 2).await;
    assert_eq!(rp1.status, RelyingPartyStatus::Pending);
    assert_eq!(
        store.relying_parties().await.unwrap(),
        [rp1.clone(), rp2.clone()]
    );
    let (found, hash) = store
        .relying_party_by_client_id("rp_city")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, hash), (rp1.clone(), [1; 32]));
    assert_eq!(
        store.relying_party_by_client_id("rp_x").await.unwrap(),
        None
    );
    let rp1 = store
        .set_relying_party_status(rp1.id, RelyingPartyStatus::Approved)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rp1.status, RelyingPartyStatus::Approved);
    let rp2 = store
        .set_relying_party_status(rp2.id, RelyingPartyStatus::Approved)
        .await
        .unwrap()
        .unwrap();
    store
        .set_relying_party_secret(rp1.id, &[9; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .relying_party_by_client_id("rp_city")
            .await
            .unwrap()
            .unwrap()
            .1,
        [9; 32]
    );
    let nobody = mykey_platform::RelyingPartyId::new(i64::MAX);
    assert_eq!(
        store
            .set_relying_party_status(nobody, RelyingPartyStatus::Suspended)
            .await
            .unwrap(),
        None
    );

    // A person with a My Key ID links a customer ID; the request is then used up.
    let p = person(&store, 500).await;
    let q = person(&store, 600).await;
    give_my_key_id(&store, p, "PPPP0001").await;
    let r1 = request(&store, &rp1, "C-1", 1).await;
    assert_eq!(
        store
            .link_request(&r1)
            .await
            .unwrap()
            .unwrap()
            .relying_party,
        rp1
    );
    let link = store
        .approve_link_request(&r1, p, &consent(), None, T.plus(1), &linked())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (link.relying_party.as_str(), link.customer_id.as_str()),
        ("city", "C-1")
    );
    assert_eq!(link.consent.items, consent().items);
    assert_eq!(link.consent.terms_version, "2026-11-01");
    assert!(matches!(
        store
            .approve_link_request(&r1, p, &consent(), None, T.plus(2), &linked())
            .await
            .unwrap(),
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::LinkRequestAnswered
        ))
    ));

    // Refusals leave nothing behind: no My Key ID, then the customer ID already linked.
    let q_log = store.log(q).await.unwrap();
    let r2 = request(&store, &rp1, "C-1", 2).await;
    assert!(matches!(
        store
            .approve_link_request(&r2, q, &consent(), None, T.plus(3), &linked())
            .await
            .unwrap(),
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::MyKeyIdRequired
        ))
    ));
    give_my_key_id(&store, q, "QQQQ0001").await;
    let q_log_len = store.log(q).await.unwrap().len();
    assert_eq!(q_log_len, q_log.len() + 1);
    assert!(matches!(
        store
            .approve_link_request(&r2, q, &consent(), None, T.plus(4), &linked())
            .await
            .unwrap(),
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::ServiceIdExists
        ))
    ));
    assert_eq!(
        store.link_request(&r2).await.unwrap().unwrap().state,
        LinkRequestState::Open
    );
    assert_eq!(store.person_links(q).await.unwrap(), []);
    assert_eq!(store.log(q).await.unwrap().len(), q_log_len);

    // Expired, unknown, refused.
    assert!(matches!(
        store
            .approve_link_request(&r2, q, &consent(), None, T.plus(601), &linked())
            .await
            .unwrap(),
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::LinkRequestExpired
        ))
    ));
    assert!(matches!(
        store
            .approve_link_request(
                &LinkRequestId::from_bytes([99; 16]),
                q,
                &consent(),
                None,
                T,
                &linked()
            )
            .await
            .unwrap(),
        Err(PlatformError::NotFound(
            mykey_platform::NotFound::LinkRequest
        ))
    ));
    store
        .refuse_link_request(&r2, T.plus(5))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        store.refuse_link_request(&r2, T.plus(6)).await.unwrap(),
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::LinkRequestAnswered
        ))
    ));

    // Another relying party may use the same customer ID for someone else.
    let r3 = request(&store, &rp2, "C-1", 3).await;
    store
        .approve_link_request(&r3, q, &consent(), None, T.plus(7), &linked())
        .await
        .unwrap()
        .unwrap();

    // Each relying party sees its own links only.
    let own = |rp: &RelyingParty, c: Option<&str>| {
        let store = store.clone();
        let rp = rp.id;
        let c = c.map(cid);
        async move {
            store
                .relying_party_links(rp, c.as_ref())
                .await
                .unwrap()
                .iter()
                .map(|l| l.customer_id.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(own(&rp1, None).await, ["C-1"]);
    assert_eq!(own(&rp1, Some("C-1")).await, ["C-1"]);
    assert_eq!(own(&rp1, Some("C-2")).await, Vec::<String>::new());
    assert_eq!(own(&rp2, None).await, ["C-1"]);
    // A relying party's reads are told to each person covered, once a (Japanese) day.
    let read = NewLog::new(
        mykey_platform::LogKind::ServiceIdRead,
        serde_json::json!({}),
    );
    let reads = |of, at| {
        let store = store.clone();
        let read = read.clone();
        async move { store.log_reads(rp1.id, of, at, &read).await.unwrap() }
    };
    let other = cid("C-9");
    let all = mykey_platform::ReadOf::ServiceIds { customer_id: None };
    let nobody = mykey_platform::ReadOf::ServiceIds {
        customer_id: Some(&other),
    };
    assert_eq!(reads(nobody, T).await, 0);
    assert_eq!(reads(all, T).await, 1);
    assert_eq!(reads(all, T.plus(60)).await, 0, "the same day");
    assert_eq!(reads(all, T.plus(86_400)).await, 1, "the next day");
    let told = |person| {
        let store = store.clone();
        async move {
            store
                .log(person)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.kind == "service-id.read")
                .count()
        }
    };
    assert_eq!((told(p).await, told(q).await), (2, 0));
    // The marks of days gone are purged; a purge keeps today's.
    store.purge_expired(T.plus(86_400)).await.unwrap();
    assert_eq!(reads(all, T.plus(86_460)).await, 0);
    assert_eq!(
        store.person_links(p).await.unwrap()[0].relying_party,
        "city"
    );
    assert_eq!(
        store.person_links(q).await.unwrap()[0].relying_party,
        "bank"
    );

    // Removal by the relying party; withdrawal by the person (not by anyone else).
    assert!(
        store
            .remove_link(rp2.id, &cid("C-1"), T.plus(8))
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_link(rp2.id, &cid("C-1"), T.plus(8))
            .await
            .unwrap()
    );
    assert_eq!(
        own(&rp1, None).await,
        ["C-1"],
        "rp2's removal left rp1's link alone"
    );
    assert!(!store.withdraw_link(q, link.id, T.plus(9)).await.unwrap());
    assert!(store.withdraw_link(p, link.id, T.plus(9)).await.unwrap());
    assert!(!store.withdraw_link(p, link.id, T.plus(9)).await.unwrap());
    assert_eq!(store.person_links(p).await.unwrap(), []);
    assert_eq!(own(&rp1, None).await, Vec::<String>::new());

    // Once ended, the customer ID may be linked again; revoking the My Key ID ends it (15.3).
    let r4 = request(&store, &rp1, "C-1", 4).await;
    store
        .approve_link_request(&r4, p, &consent(), None, T.plus(10), &linked())
        .await
        .unwrap()
        .unwrap();
    let r5 = request(&store, &rp2, "B-7", 5).await;
    store
        .approve_link_request(&r5, p, &consent(), None, T.plus(10), &linked())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.person_links(p).await.unwrap().len(), 2);
    let revoke = NewLog::new(
        mykey_platform::LogKind::MyKeyIdRevoked,
        serde_json::json!({}),
    );
    store
        .change_my_key_id(p, MyKeyIdChange::Revoke, T.plus(11), &revoke, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.person_links(p).await.unwrap(), []);
    assert_eq!(own(&rp1, None).await, Vec::<String>::new());
    assert_eq!(own(&rp2, None).await, Vec::<String>::new());

    // Two people racing for one customer ID: the database lets exactly one through.
    let a = person(&store, 700).await;
    let b = person(&store, 800).await;
    give_my_key_id(&store, a, "AAAA0700").await;
    give_my_key_id(&store, b, "BBBB0800").await;
    let ra = request(&store, &rp2, "RACE", 6).await;
    let rb = request(&store, &rp2, "RACE", 7).await;
    let (sa, sb) = (store.clone(), store.clone());
    let ta = tokio::spawn(async move {
        sa.approve_link_request(&ra, a, &consent(), None, T.plus(12), &linked())
            .await
            .unwrap()
    });
    let tb = tokio::spawn(async move {
        sb.approve_link_request(&rb, b, &consent(), None, T.plus(12), &linked())
            .await
            .unwrap()
    });
    let outcomes = [ta.await.unwrap(), tb.await.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert!(outcomes.iter().any(|o| matches!(
        o,
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::ServiceIdExists
        ))
    )));
    assert_eq!(own(&rp2, Some("RACE")).await, ["RACE"]);
    let linked_people =
        store.person_links(a).await.unwrap().len() + store.person_links(b).await.unwrap().len();
    assert_eq!(linked_people, 1);

    let entries = store.log(p).await.unwrap();
    verify_chain(&entries).unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "person.created",
            "my-key-id.created",
            "service-id.linked",
            "service-id.read",
            "service-id.read",
            "consent.withdrawn",
            "service-id.withdrawn",
            "service-id.linked",
            "service-id.linked",
            "my-key-id.revoked",
            "service-id.ended",
            "service-id.ended",
        ]
    );
    assert!(
        entries[10].detail.contains("\"customer_id\":\"C-1\""),
        "{}",
        entries[10].detail
    );
    // The person's export sees every Service ID, ended ones with why.
    let history = store.service_id_history(p).await.unwrap();
    let ends: Vec<(&str, Option<&str>)> = history
        .iter()
        .map(|h| {
            (
                h.link.customer_id.as_str(),
                h.ended.as_ref().map(|(_, why)| why.as_str()),
            )
        })
        .collect();
    assert_eq!(
        ends,
        [
            ("C-1", Some("withdrawn")),
            ("C-1", Some("my-key-id-revoked")),
            ("B-7", Some("my-key-id-revoked"))
        ]
    );
    assert_eq!(store.person_consents(p).await.unwrap().len(), 3);
    let q_entries = store.log(q).await.unwrap();
    assert_eq!(q_entries.last().unwrap().kind, "service-id.removed");
    verify_chain(&q_entries).unwrap();
}

/// Many people revoking their My Key IDs at once, each with links to the same two relying
/// parties made in opposite orders: every revocation ends its links and tells both, and none
/// waits on another (the relying parties are locked in ID order, not in the links' order).
pub(crate) async fn revocations_at_once(store: Arc<dyn Store>) {
    let a = register(&store, "rev_a", 3).await;
    let b = register(&store, "rev_b", 4).await;
    for rp in [&a, &b] {
        store
            .set_relying_party_status(rp.id, RelyingPartyStatus::Approved)
            .await
            .unwrap()
            .unwrap();
    }
    let c = consent();
    let made = NewLog::new(
        mykey_platform::LogKind::ServiceIdLinked,
        serde_json::json!({}),
    );
    let mut people = Vec::new();
    for n in 0..24u64 {
        let p = person(&store, 61_000 + n).await;
        let id: mykey_platform::MyKeyId = format!("REVAT{n:03}").parse().unwrap();
        give_my_key_id(&store, p, id.as_str()).await;
        let order = if n % 2 == 0 { [&a, &b] } else { [&b, &a] };
        for rp in order {
            let customer = cid(&format!("R-{n}"));
            store
                .apply_with_my_key_id(&mykey_platform::MyKeyIdApplication {
                    relying_party: rp.id,
                    my_key_id: id,
                    person: p,
                    customer_id: &customer,
                    consent: &c,
                    signature: None,
                    at: T,
                    logs: std::slice::from_ref(&made),
                })
                .await
                .unwrap()
                .unwrap();
        }
        people.push(p);
    }
    let tasks: Vec<_> = people
        .iter()
        .map(|p| {
            let (store, p) = (store.clone(), *p);
            tokio::spawn(async move {
                let log = NewLog::new(
                    mykey_platform::LogKind::MyKeyIdRevoked,
                    serde_json::json!({}),
                );
                store
                    .change_my_key_id(p, MyKeyIdChange::Revoke, T, &log, None)
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("no deadlock").unwrap();
    }
    for p in &people {
        assert!(
            store.person_links(*p).await.unwrap().is_empty(),
            "every link ended"
        );
        verify_chain(&store.log(*p).await.unwrap()).unwrap();
    }
}
