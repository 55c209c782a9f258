//! Terms versions, PPID services, PPIDs, codes, consents and the export queries: the part of the
//! conformance story for Terms Art 12, 19–20.

use std::sync::Arc;

use mykey_pki::IssuanceNumber;
use mykey_platform::{
    LinkOutcome, LoginGrant, MyKeyIdChange, NewConsent, NewLog, NewRelyingParty, PPID_CONSENT,
    PersonId, PlatformError, Ppid, PpidIssue, PpidServiceId, RelyingPartyKind, Store, TermsVersion,
    verify_chain,
};

use crate::T;

fn consent() -> NewConsent {
    NewConsent {
        items: PPID_CONSENT.iter().map(|i| i.name.to_owned()).collect(),
        terms_version: "2026-11-01".into(),
    }
}

fn ppid(b: u8) -> Ppid {
    Ppid::from_bytes([b; 16])
}

async fn person(store: &Arc<dyn Store>, n: u64) -> PersonId {
    let LinkOutcome::Created(p) = store
        .link_issuance_number(IssuanceNumber::from_u64(n).unwrap(), None, &[], T, &[])
        .await
        .unwrap()
    else {
        panic!("a new person")
    };
    p
}

fn issue<'a>(
    service: PpidServiceId,
    person: PersonId,
    derived: Ppid,
    consent: Option<&'a NewConsent>,
    code: u8,
    logs: &'a [NewLog],
) -> PpidIssue<'a> {
    PpidIssue {
        service,
        person,
        derived,
        consent,
        grant: LoginGrant::Code {
            hash: [code; 32],
            expires_at: T.plus(120),
        },
        at: T,
        logs,
        detail: "{}".into(),
    }
}

fn given_to() -> NewLog {
    NewLog::new(mykey_platform::LogKind::PpidGiven, serde_json::json!({}))
}

pub(crate) async fn story(store: Arc<dyn Store>) {
    // Terms: the seeded version is in force from the epoch; a published one from its moment.
    let seeded = store.terms_in_force(T).await.unwrap().unwrap();
    assert_eq!(seeded.version, "2026-11-01");
    let next = TermsVersion {
        version: "2027-01-01".into(),
        effective_at: T.plus(8 * 86_400),
        text_url: Some("https://example.invalid/terms/2027-01-01".into()),
        summary: None,
        published_at: T,
        urgent_reason: None,
    };
    assert!(store.insert_terms(&next).await.unwrap());
    // The same name, or the same moment, again: refused, nothing written.
    assert!(!store.insert_terms(&next).await.unwrap());
    let same_moment = TermsVersion {
        version: "other".into(),
        ..next.clone()
    };
    assert!(!store.insert_terms(&same_moment).await.unwrap());
    assert_eq!(
        store.terms_versions().await.unwrap(),
        [seeded.clone(), next.clone()]
    );
    assert_eq!(
        store.terms_in_force(T.plus(8 * 86_400 - 1)).await.unwrap(),
        Some(seeded)
    );
    assert_eq!(
        store.terms_in_force(T.plus(8 * 86_400)).await.unwrap(),
        Some(next)
    );

    // PPID services belong to their relying party.
    let mut rps = Vec::new();
    for name in ["ppid-city", "ppid-bank"] {
        rps.push(
            store
                .insert_relying_party(&NewRelyingParty {
                    client_id: format!("rp_{name}"),
                    name: name.into(),
                    kind: RelyingPartyKind::PublicAuthority,
                    secret_hash: [5; 32],
                    created_at: T,
                    jwks: None,
                    profile: mykey_platform::RelyingPartyProfile {
                        contact: "窓口".into(),
                        privacy_policy_url: "https://rp.example/privacy".into(),
                        terms_url: "https://rp.example/terms".into(),
                    },
                })
                .await
                .unwrap(),
        );
    }
    let portal = store
        .insert_ppid_service(rps[0].id, "portal", T)
        .await
        .unwrap();
    let clinic = store
        .insert_ppid_service(rps[0].id, "clinic", T)
        .await
        .unwrap();
    let bank = store
        .insert_ppid_service(rps[1].id, "bank app", T)
        .await
        .unwrap();
    assert_eq!(portal.relying_party, rps[0]);
    assert_eq!(
        store.ppid_services_of(rps[0].id).await.unwrap(),
        [portal.clone(), clinic.clone()]
    );
    assert_eq!(store.ppid_services_of(rps[1].id).await.unwrap().len(), 1);
    assert_eq!(
        store.ppid_service(bank.id).await.unwrap(),
        Some(bank.clone())
    );
    assert_eq!(
        store
            .ppid_service(PpidServiceId::new(i64::MAX))
            .await
            .unwrap(),
        None
    );

    // Without a consent nothing is issued; with one, the PPID is stored and then reused even
    // when a different value is derived later (a rotated key).
    let p = person(&store, 9_000).await;
    let q = person(&store, 9_001).await;
    let before = store.log(p).await.unwrap().len();
    assert!(matches!(
        store
            .issue_ppid(&issue(portal.id, p, ppid(1), None, 1, &[]))
            .await
            .unwrap(),
        Err(PlatformError::Invalid(
            mykey_platform::InvalidError::ConsentIncomplete
        ))
    ));
    assert_eq!(store.log(p).await.unwrap().len(), before);
    assert_eq!(store.ppid_consent(p, portal.id).await.unwrap(), None);
    let c = consent();
    let given = [NewLog::new(
        mykey_platform::LogKind::ConsentGiven,
        serde_json::json!({}),
    )];
    let first = store
        .issue_ppid(&issue(portal.id, p, ppid(1), Some(&c), 2, &given))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.ppid, first.first), (ppid(1), true));
    assert_eq!(
        store
            .ppid_consent(p, portal.id)
            .await
            .unwrap()
            .unwrap()
            .items,
        c.items
    );
    let again = store
        .issue_ppid(&issue(portal.id, p, ppid(9), None, 3, &[]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.ppid, again.first), (ppid(1), false));
    // A repeated consent is not recorded twice.
    store
        .issue_ppid(&issue(portal.id, p, ppid(1), Some(&c), 4, &[]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.person_consents(p).await.unwrap().len(), 1);
    // Another person, another service.
    store
        .issue_ppid(&issue(portal.id, q, ppid(2), Some(&c), 5, &[]))
        .await
        .unwrap()
        .unwrap();
    store
        .issue_ppid(&issue(bank.id, p, ppid(3), Some(&c), 6, &[]))
        .await
        .unwrap()
        .unwrap();

    // Codes: once, only for their service, only in time.
    assert_eq!(
        store
            .redeem_ppid_code(bank.id, &[2; 32], T, &given_to(), &given_to())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_ppid_code(portal.id, &[2; 32], T, &given_to(), &given_to())
            .await
            .unwrap(),
        Some((ppid(1), None))
    );
    assert_eq!(
        store
            .redeem_ppid_code(portal.id, &[2; 32], T, &given_to(), &given_to())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_ppid_code(portal.id, &[3; 32], T.plus(121), &given_to(), &given_to())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_ppid_code(portal.id, &[3; 32], T, &given_to(), &given_to())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_ppid_code(bank.id, &[6; 32], T, &given_to(), &given_to())
            .await
            .unwrap(),
        Some((ppid(3), None))
    );

    // Customer IDs: only on an issued PPID of the service, logged to its person.
    let log = NewLog::new(
        mykey_platform::LogKind::PpidCustomerIdAssociated,
        serde_json::json!({}),
    );
    let cid = "K-1".parse().unwrap();
    assert_eq!(
        store
            .set_ppid_customer_id(clinic.id, ppid(1), &cid, T, &log)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .set_ppid_customer_id(portal.id, ppid(3), &cid, T, &log)
            .await
            .unwrap(),
        None
    );
    let set = store
        .set_ppid_customer_id(portal.id, ppid(1), &cid, T, &log)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((set.ppid, set.customer_id.as_ref()), (ppid(1), Some(&cid)));
    assert_eq!(
        store.service_ppids(portal.id, Some(&cid)).await.unwrap(),
        [set]
    );
    assert_eq!(store.service_ppids(bank.id, Some(&cid)).await.unwrap(), []);
    assert_eq!(store.service_ppids(portal.id, None).await.unwrap().len(), 2);
    assert_eq!(store.service_ppids(clinic.id, None).await.unwrap(), []);

    // The person's view; withdrawal; a new consent brings the same PPID back.
    let mine = store.person_ppid_services(p).await.unwrap();
    let names: Vec<&str> = mine.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["portal", "bank app"]);
    assert_eq!(mine[0].ppid.unwrap().0, ppid(1));
    assert_eq!(mine[0].consent.as_ref().unwrap().1, None);
    let withdrawn = NewLog::new(
        mykey_platform::LogKind::ConsentWithdrawn,
        serde_json::json!({}),
    );
    assert!(
        !store
            .withdraw_ppid_consent(q, bank.id, T, &withdrawn)
            .await
            .unwrap()
    );
    assert!(
        store
            .withdraw_ppid_consent(p, portal.id, T.plus(1), &withdrawn)
            .await
            .unwrap()
    );
    assert!(
        !store
            .withdraw_ppid_consent(p, portal.id, T.plus(1), &withdrawn)
            .await
            .unwrap()
    );
    assert_eq!(store.ppid_consent(p, portal.id).await.unwrap(), None);
    // The service's relying party is told once, under its PPID, in the same transaction.
    let told = store
        .pending_events(
            portal.relying_party.id,
            &[mykey_platform::EventKind::PpidConsentWithdrawn],
            10,
        )
        .await
        .unwrap();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0].subject,
        mykey_platform::EventSubject::Ppid(portal.id, ppid(1))
    );
    // Withdrawn, the relying party can no longer associate a customer ID with it.
    let other_cid = "K-2".parse().unwrap();
    assert_eq!(
        store
            .set_ppid_customer_id(portal.id, ppid(1), &other_cid, T, &log)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.person_ppid_services(p).await.unwrap()[0]
            .consent
            .as_ref()
            .unwrap()
            .1,
        Some(T.plus(1))
    );
    assert!(matches!(
        store
            .issue_ppid(&issue(portal.id, p, ppid(1), None, 7, &[]))
            .await
            .unwrap(),
        Err(PlatformError::Invalid(
            mykey_platform::InvalidError::ConsentIncomplete
        ))
    ));
    let back = store
        .issue_ppid(&issue(portal.id, p, ppid(8), Some(&c), 8, &[]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((back.ppid, back.first), (ppid(1), false));

    // Two first authentications racing for one person and service: one PPID, issued once.
    let r = person(&store, 9_002).await;
    let mut tasks = Vec::new();
    for (k, derived) in [(20u8, ppid(20)), (21, ppid(21))] {
        let store = store.clone();
        let c = c.clone();
        let service = portal.id;
        tasks.push(tokio::spawn(async move {
            store
                .issue_ppid(&issue(service, r, derived, Some(&c), k, &[]))
                .await
                .unwrap()
                .unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(outcomes[0].ppid, outcomes[1].ppid);
    assert_eq!(outcomes.iter().filter(|o| o.first).count(), 1);
    assert_eq!(store.person_consents(r).await.unwrap().len(), 1);
    verify_chain(&store.log(r).await.unwrap()).unwrap();

    // Export queries: every consent (withdrawn ones too), every My Key ID.
    let all = store.person_consents(p).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].withdrawn_at, Some(T.plus(1)));
    assert_eq!(all[0].ppid_service.as_deref(), Some("portal"));
    assert_eq!(all[0].relying_party.as_deref(), Some("ppid-city"));
    assert_eq!(all[0].function, "ppid");
    let change = |ch| {
        let store = store.clone();
        async move {
            let log = NewLog::new(
                mykey_platform::LogKind::MyKeyIdChanged,
                serde_json::json!({}),
            );
            store
                .change_my_key_id(p, ch, T, &log, None)
                .await
                .unwrap()
                .unwrap();
        }
    };
    change(MyKeyIdChange::Create("PPIDAAA1".parse().unwrap())).await;
    change(MyKeyIdChange::Change("PPIDAAA2".parse().unwrap())).await;
    change(MyKeyIdChange::Revoke).await;
    let history = store.my_key_id_history(p).await.unwrap();
    let ids: Vec<(&str, Option<&str>)> = history
        .iter()
        .map(|m| (m.id.as_str(), m.ended.as_ref().map(|(_, w)| w.as_str())))
        .collect();
    assert_eq!(
        ids,
        [("PPIDAAA1", Some("changed")), ("PPIDAAA2", Some("revoked"))]
    );
    // Revoking the My Key ID leaves PPIDs and their consents (Art 15.3 does not reach them).
    assert!(store.ppid_consent(p, portal.id).await.unwrap().is_some());
    assert_eq!(store.person_ppid_services(p).await.unwrap().len(), 2);

    let entries = store.log(p).await.unwrap();
    verify_chain(&entries).unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .skip(before)
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "consent.given",
            "ppid.issued",
            "ppid.used",
            "ppid.used",
            "ppid.issued",
            "ppid.given",
            "ppid.given",
            "ppid.customer-id-associated",
            "consent.withdrawn",
            "ppid.used",
            "my-key-id.changed",
            "my-key-id.changed",
            "my-key-id.changed",
        ]
    );

    // PIN-less requests (Art 20.2): open up to a limit per relying party, found by handle while
    // open, used up by the code that answers one; that code carries the facts once.
    let req = |days: u64| mykey_platform::StoredPinlessRequest {
        service: clinic.id,
        birth_date: mykey_platform::parse_iso_date("1980-05-05").unwrap(),
        expires_at: T.plus(days),
    };
    assert!(
        store
            .open_pinless_request(&[40; 32], &req(300), T, 2)
            .await
            .unwrap()
    );
    assert!(
        store
            .open_pinless_request(&[41; 32], &req(300), T, 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .open_pinless_request(&[42; 32], &req(300), T, 2)
            .await
            .unwrap(),
        "a third open request of the service is refused"
    );
    let elsewhere = |service| mykey_platform::StoredPinlessRequest {
        service,
        ..req(300)
    };
    assert!(
        !store
            .open_pinless_request(&[42; 32], &elsewhere(portal.id), T, 2)
            .await
            .unwrap(),
        "another service of the same relying party buys no more"
    );
    assert!(
        store
            .open_pinless_request(&[43; 32], &elsewhere(bank.id), T, 2)
            .await
            .unwrap(),
        "another relying party has its own"
    );
    assert_eq!(
        store.pinless_request(&[40; 32], T).await.unwrap(),
        Some(req(300))
    );
    assert_eq!(
        store.pinless_request(&[40; 32], T.plus(301)).await.unwrap(),
        None
    );
    assert_eq!(store.pinless_request(&[42; 32], T).await.unwrap(), None);
    for expected in [true, true, false] {
        assert_eq!(
            store.spend_pinless_attempt(&[41; 32], T, 2).await.unwrap(),
            expected
        );
    }
    assert!(
        !store
            .spend_pinless_attempt(&[40; 32], T.plus(301), 2)
            .await
            .unwrap()
    );
    let answer = |request: u8, code: u8| PpidIssue {
        grant: LoginGrant::PinlessCode {
            request_hash: [request; 32],
            hash: [code; 32],
            expires_at: T.plus(120),
            facts: r#"{"name":"佐藤"}"#,
        },
        ..issue(clinic.id, p, ppid(7), Some(&c), 0, &[])
    };
    let before = store.log(p).await.unwrap().len();
    store.issue_ppid(&answer(40, 50)).await.unwrap().unwrap();
    assert!(matches!(
        store.issue_ppid(&answer(40, 51)).await.unwrap(),
        Err(PlatformError::NotFound(
            mykey_platform::NotFound::PinlessRequest
        ))
    ));
    let after = store.log(p).await.unwrap().len();
    assert_eq!(after, before + 1, "the refused answer wrote nothing");
    let facts_given = NewLog::new(mykey_platform::LogKind::FactsGiven, serde_json::json!({}));
    assert_eq!(
        store
            .redeem_ppid_code(clinic.id, &[50; 32], T, &given_to(), &facts_given)
            .await
            .unwrap(),
        Some((ppid(7), Some(r#"{"name":"佐藤"}"#.to_owned())))
    );
    assert_eq!(store.log(p).await.unwrap().len(), after + 2);
    assert_eq!(
        store
            .redeem_ppid_code(clinic.id, &[51; 32], T, &given_to(), &facts_given)
            .await
            .unwrap(),
        None
    );
    assert!(store.pinless_request(&[40; 32], T).await.unwrap().is_none());
}
