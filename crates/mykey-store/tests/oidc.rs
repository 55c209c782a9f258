//! The OpenID Connect provider's tables: client registrations, an authorization request's life
//! (pending → approved in the PPID transaction → continued once → redeemed once), revocation,
//! and purging — the part of the conformance story for docs/architecture.md §6–§7.

use std::sync::Arc;

use mykey_pki::IssuanceNumber;
use mykey_platform::oidc::{
    AuthorizationReport, AuthorizationStatus, BrowserOrigin, CONFIRM_TRIES, CodeExchange,
    Confirmation, ExchangeOutcome, FactScope, IdTokenAlg, NewAuthorization, OidcClient,
};
use mykey_platform::{
    LinkOutcome, LoginGrant, NewLog, NewRelyingParty, PersonId, PlatformError, Ppid, PpidIssue,
    RelyingPartyKind, Store, UsedNonce,
};

use crate::T;

fn request(handle: u8, short_code: &str, rp: mykey_platform::RelyingPartyId) -> NewAuthorization {
    NewAuthorization {
        handle_hash: [handle; 32],
        short_code: short_code.into(),
        browser_hash: [handle ^ 0xFF; 32],
        relying_party: Some(rp),
        redirect_uri: Some("https://rp.example/cb".into()),
        scope: "openid name".into(),
        state: Some("s".into()),
        nonce: Some("n".into()),
        code_challenge: Some("c".repeat(43)),
        sid: format!("sid-{handle}"),
        created_at: T,
        expires_at: T.plus(300),
        began: BrowserOrigin {
            address: Some("203.0.113.7".into()),
            browser: Some("Firefox on Linux".into()),
        },
        link_request: None,
    }
}

pub(crate) async fn story(store: Arc<dyn Store>) {
    let rp = store
        .insert_relying_party(&NewRelyingParty {
            client_id: "rp_oidc".into(),
            name: "oidc shop".into(),
            kind: RelyingPartyKind::Business,
            secret_hash: [6; 32],
            created_at: T,
            jwks: None,
            profile: mykey_platform::RelyingPartyProfile {
                contact: "窓口".into(),
                privacy_policy_url: "https://rp.example/privacy".into(),
                terms_url: "https://rp.example/terms".into(),
            },
        })
        .await
        .unwrap();
    let service = store.insert_ppid_service(rp.id, "login", T).await.unwrap();

    // A registration is stored and replaced whole.
    assert_eq!(store.oidc_client(rp.id).await.unwrap(), None);
    let mut client = OidcClient {
        relying_party: rp.id,
        subject: mykey_platform::oidc::OidcSubject::Ppid(service.id),
        redirect_uris: vec![
            "https://rp.example/cb".into(),
            "https://rp.example/cb2".into(),
        ],
        post_logout_redirect_uris: vec![],
        scopes: vec![FactScope::Name, FactScope::Gender],
        id_token_alg: IdTokenAlg::Es256,
    };
    store.set_oidc_client(&client, T).await.unwrap();
    assert_eq!(
        store.oidc_client(rp.id).await.unwrap().as_ref(),
        Some(&client)
    );
    client.id_token_alg = IdTokenAlg::Rs256;
    client.post_logout_redirect_uris = vec!["https://rp.example/bye".into()];
    store.set_oidc_client(&client, T).await.unwrap();
    assert_eq!(store.oidc_client(rp.id).await.unwrap(), Some(client));

    // A short code names one pending request.
    assert!(
        store
            .insert_authorization(&request(1, "AAAA-0001", rp.id))
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_authorization(&request(2, "AAAA-0001", rp.id))
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_authorization(&request(2, "AAAA-0002", rp.id))
            .await
            .unwrap()
    );
    let a = store.authorization(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(a.status, AuthorizationStatus::Pending);
    assert_eq!(a.request, request(1, "AAAA-0001", rp.id));
    assert_eq!(
        store
            .authorization_by_short_code("AAAA-0001")
            .await
            .unwrap()
            .map(|x| x.id),
        Some(a.id)
    );

    // Declined once, and reported as not the person's in the same transaction; a declined
    // request is not approved, and its short code is free again.
    let report = AuthorizationReport {
        id: 0,
        reported_at: T.plus(1),
        relying_party: Some(rp.id),
        purpose: "openid-connect".into(),
        began_at: T,
        began: request(2, "", rp.id).began,
        by_short_code: true,
        reported_from: Some("198.51.100.9".into()),
    };
    assert!(
        store
            .decline_authorization(&[2; 32], T, Some(&report))
            .await
            .unwrap()
    );
    assert!(
        !store
            .decline_authorization(&[2; 32], T, Some(&report))
            .await
            .unwrap(),
        "declined once, reported once"
    );
    let reports = store.authorization_reports(0, 10).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        AuthorizationReport {
            id: 0,
            ..reports[0].clone()
        },
        report
    );
    assert!(
        store
            .authorization_reports(reports[0].id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .authorization_by_short_code("AAAA-0002")
            .await
            .unwrap(),
        None
    );

    // Approval happens in the PPID transaction, and only while pending and in time.
    let LinkOutcome::Created(p) = store
        .link_issuance_number(
            IssuanceNumber::from_u64(987_654_321).unwrap(),
            None,
            &[],
            T,
            &[],
        )
        .await
        .unwrap()
    else {
        panic!("a new person")
    };
    let approve = |handle: u8, person: PersonId, at| PpidIssue {
        service: service.id,
        person,
        derived: Ppid::from_bytes([handle; 16]),
        consent: None,
        grant: LoginGrant::Authorization {
            handle_hash: [handle; 32],
            facts: r#"{"name":"A"}"#,
            confirm_hash: None,
        },
        at,
        logs: &[],
        detail: "{}".into(),
    };
    // Without a PPID consent nothing happens.
    assert!(matches!(
        store.issue_ppid(&approve(1, p, T)).await.unwrap(),
        Err(PlatformError::Invalid(
            mykey_platform::InvalidError::ConsentIncomplete
        ))
    ));
    let consent = mykey_platform::NewConsent {
        items: vec!["x".into()],
        terms_version: "2026-11-01".into(),
    };
    let with_consent = |handle: u8, at| PpidIssue {
        consent: Some(&consent),
        ..approve(handle, p, at)
    };
    // Declined, or expired: refused, nothing written (not even the consent).
    assert!(matches!(
        store.issue_ppid(&with_consent(2, T)).await.unwrap(),
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::AuthorizationAnswered
        ))
    ));
    assert!(matches!(
        store
            .issue_ppid(&with_consent(1, T.plus(301)))
            .await
            .unwrap(),
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::AuthorizationAnswered
        ))
    ));
    assert!(store.ppid_consent(p, service.id).await.unwrap().is_none());
    let issued = store
        .issue_ppid(&with_consent(1, T.plus(5)))
        .await
        .unwrap()
        .unwrap();
    let a = store.authorization(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(a.status, AuthorizationStatus::Approved);
    assert_eq!((a.person, a.ppid), (Some(p), Some(issued.ppid)));
    assert_eq!(a.facts.as_deref(), Some(r#"{"name":"A"}"#));
    assert_eq!(a.approved_at, Some(T.plus(5)));
    assert!(matches!(
        store.issue_ppid(&approve(1, p, T.plus(6))).await.unwrap(),
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::AuthorizationAnswered
        ))
    ));

    // Approved where the browser must type the phone's code: not continued before it is;
    // wrong codes are counted, and the last wrong one declines the request.
    for handle in [30u8, 31] {
        let code = format!("CONF-00{handle}");
        assert!(
            store
                .insert_authorization(&request(handle, &code, rp.id))
                .await
                .unwrap()
        );
        let mut issue = with_consent(handle, T.plus(5));
        issue.derived = Ppid::from_bytes([1; 16]);
        issue.grant = LoginGrant::Authorization {
            handle_hash: [handle; 32],
            facts: "{}",
            confirm_hash: Some([handle + 100; 32]),
        };
        store.issue_ppid(&issue).await.unwrap().unwrap();
        let a = store.authorization(&[handle; 32]).await.unwrap().unwrap();
        assert!(a.awaits_confirmation && a.confirm_tries == 0);
        assert!(
            !store
                .continue_authorization(&[handle; 32], &[handle + 50; 32], T.plus(65))
                .await
                .unwrap(),
            "not before the code is typed"
        );
    }
    for left in (1..CONFIRM_TRIES).rev() {
        assert_eq!(
            store
                .confirm_authorization(&[30; 32], &[0; 32])
                .await
                .unwrap(),
            Confirmation::Wrong { tries_left: left }
        );
    }
    assert_eq!(
        store
            .confirm_authorization(&[30; 32], &[130; 32])
            .await
            .unwrap(),
        Confirmation::Confirmed
    );
    assert_eq!(
        store
            .confirm_authorization(&[30; 32], &[130; 32])
            .await
            .unwrap(),
        Confirmation::NotAwaited
    );
    assert!(
        store
            .continue_authorization(&[30; 32], &[80; 32], T.plus(65))
            .await
            .unwrap()
    );
    for _ in 1..CONFIRM_TRIES {
        store
            .confirm_authorization(&[31; 32], &[0; 32])
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .confirm_authorization(&[31; 32], &[0; 32])
            .await
            .unwrap(),
        Confirmation::Exhausted
    );
    let four = store.authorization(&[31; 32]).await.unwrap().unwrap();
    assert_eq!(four.status, AuthorizationStatus::Declined);
    assert_eq!(
        store
            .confirm_authorization(&[31; 32], &[131; 32])
            .await
            .unwrap(),
        Confirmation::NotAwaited,
        "the right code too late"
    );

    // Continued once, redeemed once.
    assert!(
        store
            .continue_authorization(&[1; 32], &[7; 32], T.plus(65))
            .await
            .unwrap()
    );
    assert!(
        !store
            .continue_authorization(&[1; 32], &[8; 32], T.plus(65))
            .await
            .unwrap()
    );
    let by_code = store
        .authorization_by_code(&[7; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (by_code.id, by_code.status),
        (a.id, AuthorizationStatus::Continued)
    );
    assert_eq!(by_code.code_expires_at, Some(T.plus(65)));
    assert!(
        store
            .redeem_authorization(a.id, &token_key(9), T.plus(600), T.plus(10))
            .await
            .unwrap()
    );
    assert!(
        !store
            .redeem_authorization(a.id, &token_key(10), T.plus(600), T.plus(11))
            .await
            .unwrap()
    );
    assert!(
        store
            .access_token(&token_key(10), T)
            .await
            .unwrap()
            .is_none(),
        "not stored"
    );
    let held = store
        .access_token(&token_key(9), T.plus(20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.id, a.id);
    assert!(
        store
            .access_token(&token_key(9), T.plus(601))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert_eq!(
        store
            .authorization_by_sid("sid-1")
            .await
            .unwrap()
            .map(|x| x.id),
        Some(a.id)
    );

    // Revoked: the token stops working; revoking again finds nothing live.
    assert_eq!(
        store.revoke_authorization(a.id, T.plus(30)).await.unwrap(),
        1
    );
    assert_eq!(
        store.revoke_authorization(a.id, T.plus(31)).await.unwrap(),
        0
    );
    assert!(
        store
            .access_token(&token_key(9), T.plus(32))
            .await
            .unwrap()
            .is_none()
    );

    // The code exchange in one transaction: the assertion's jti spent, the rule applied.
    assert!(
        store
            .insert_authorization(&request(3, "AAAA-0003", rp.id))
            .await
            .unwrap()
    );
    store
        .issue_ppid(&PpidIssue {
            consent: None,
            ..approve(3, p, T.plus(5))
        })
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .continue_authorization(&[3; 32], &[33; 32], T.plus(65))
            .await
            .unwrap()
    );
    let exchange = |jti: u8, challenge: &str| CodeExchange {
        assertion: Some(UsedNonce::new(T.plus(300), [jti; 24])),
        code_hash: [33; 32],
        relying_party: rp.id,
        redirect_uri: Some("https://rp.example/cb".into()),
        code_challenge: challenge.into(),
        token_hash: token_key(jti),
        token_expires_at: T.plus(600),
        at: T.plus(10),
    };
    let good = "c".repeat(43);
    assert_eq!(
        store.exchange_code(&exchange(50, "wrong")).await.unwrap(),
        ExchangeOutcome::PkceMismatch
    );
    assert_eq!(
        store.exchange_code(&exchange(50, &good)).await.unwrap(),
        ExchangeOutcome::AssertionReplayed
    );
    assert!(
        !store
            .use_nonce(&UsedNonce::new(T.plus(300), [50; 24]))
            .await
            .unwrap(),
        "spent"
    );
    let mut foreign = exchange(51, &good);
    foreign.relying_party = mykey_platform::RelyingPartyId::new(rp.id.get() + 1000);
    assert_eq!(
        store.exchange_code(&foreign).await.unwrap(),
        ExchangeOutcome::Unknown
    );
    let mut elsewhere = exchange(52, &good);
    elsewhere.redirect_uri = Some("https://rp.example/other".into());
    assert_eq!(
        store.exchange_code(&elsewhere).await.unwrap(),
        ExchangeOutcome::RedirectMismatch
    );
    let mut late = exchange(53, &good);
    late.at = T.plus(66);
    assert_eq!(
        store.exchange_code(&late).await.unwrap(),
        ExchangeOutcome::Expired
    );
    match store.exchange_code(&exchange(54, &good)).await.unwrap() {
        ExchangeOutcome::Redeemed(a, alg) => {
            assert_eq!((a.person, alg), (Some(p), IdTokenAlg::Rs256));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        store
            .access_token(&token_key(54), T.plus(20))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.exchange_code(&exchange(55, &good)).await.unwrap(),
        ExchangeOutcome::Reused {
            revoked: 1,
            person: Some(p)
        }
    );
    assert!(
        store
            .access_token(&token_key(54), T.plus(20))
            .await
            .unwrap()
            .is_none(),
        "revoked"
    );

    // Exchanges arriving together (SQLite commits them in one batch, PostgreSQL one at a time)
    // keep the same rules: a jti spends once, a code redeems once and a second use of it
    // leaves no live token from it.
    for h in [4u8, 5, 6, 7] {
        assert!(
            store
                .insert_authorization(&request(h, &format!("AAAA-000{h}"), rp.id))
                .await
                .unwrap()
        );
        store
            .issue_ppid(&PpidIssue {
                consent: None,
                ..approve(h, p, T.plus(5))
            })
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .continue_authorization(&[h; 32], &[h + 30; 32], T.plus(65))
                .await
                .unwrap()
        );
    }
    let with = |jti: u8, code: u8| CodeExchange {
        code_hash: [code; 32],
        ..exchange(jti, &good)
    };
    let x = [
        with(60, 34),
        with(61, 35),
        with(62, 36),
        with(63, 36),
        with(60, 99),
    ];
    let (a, b, c, d, e) = tokio::join!(
        store.exchange_code(&x[0]),
        store.exchange_code(&x[1]),
        store.exchange_code(&x[2]),
        store.exchange_code(&x[3]),
        store.exchange_code(&x[4]),
    );
    let (a, b, c, d, e) = (a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap(), e.unwrap());
    assert!(matches!(b, ExchangeOutcome::Redeemed(..)), "{b:?}");
    let replayed = |o: &ExchangeOutcome| *o == ExchangeOutcome::AssertionReplayed;
    assert!(
        replayed(&a) != replayed(&e),
        "one jti spends once: {a:?} {e:?}"
    );
    assert!(
        matches!(a, ExchangeOutcome::Redeemed(..)) || replayed(&a),
        "{a:?}"
    );
    assert!(
        matches!(e, ExchangeOutcome::Unknown) || replayed(&e),
        "{e:?}"
    );
    assert!(
        [&c, &d]
            .iter()
            .any(|o| matches!(o, ExchangeOutcome::Reused { .. })),
        "{c:?} {d:?}"
    );
    for jti in [62, 63] {
        assert!(
            store
                .access_token(&token_key(jti), T.plus(20))
                .await
                .unwrap()
                .is_none(),
            "a code used twice leaves no live token"
        );
    }
    assert!(
        store
            .access_token(&token_key(61), T.plus(20))
            .await
            .unwrap()
            .is_some()
    );

    // An exchange the store cannot write (here: its token's key is taken) fails whole and
    // leaves no trace: neither its jti nor its code (37, made above) is spent, and the store
    // goes on.
    let clash = CodeExchange {
        token_hash: token_key(61),
        ..with(70, 37)
    };
    assert!(store.exchange_code(&clash).await.is_err());
    assert!(matches!(
        store.exchange_code(&with(70, 37)).await.unwrap(),
        ExchangeOutcome::Redeemed(..)
    ));
    assert!(
        store
            .access_token(&token_key(70), T.plus(20))
            .await
            .unwrap()
            .is_some()
    );

    // Purged once nothing needs them: the redeemed request after its tokens expire.
    store.purge_expired(T.plus(400)).await.unwrap();
    assert!(
        store.authorization(&[2; 32]).await.unwrap().is_none(),
        "declined, expired"
    );
    assert!(
        store.authorization(&[1; 32]).await.unwrap().is_some(),
        "its token lives"
    );
    store.purge_expired(T.plus(700)).await.unwrap();
    assert!(store.authorization(&[1; 32]).await.unwrap().is_none());
    assert!(store.authorization(&[3; 32]).await.unwrap().is_none());
    let _ = NewLog::new(mykey_platform::LogKind::Login, serde_json::json!({}));
}

/// An access token's key as the platform makes it: its expiry (T + 600) first.
fn token_key(n: u8) -> [u8; 32] {
    let mut k = [n; 32];
    k[..8].copy_from_slice(&T.plus(600).as_secs().to_be_bytes());
    k
}
