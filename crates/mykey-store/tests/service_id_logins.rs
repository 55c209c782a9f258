//! Logging in by Service ID and applying with a My Key ID (issue 21.1): the part of the
//! conformance story for Terms Art 2.13 and 17.1 — each write one transaction, each refusal
//! leaving nothing behind.

use std::sync::Arc;

use mykey_pki::IssuanceNumber;
use mykey_platform::oidc::{IdTokenAlg, NewAuthorization, OidcClient, OidcSubject};
use mykey_platform::{
    Conflict, CustomerId, LinkInFlow, LinkRoute, LogKind, LoginGrant, MyKeyIdApplication,
    MyKeyIdChange, NewLog, NotFound, PlatformError, ServiceIdLogin, Store,
};
use serde_json::json;

use crate::T;
use crate::links::{consent, give_my_key_id, person, register, request};

fn cid(s: &str) -> CustomerId {
    s.parse().unwrap()
}

fn code(hash: u8) -> LoginGrant<'static> {
    LoginGrant::Code {
        hash: [hash; 32],
        expires_at: T.plus(60),
    }
}

fn detail() -> serde_json::Value {
    json!({"purpose": "service-id-login", "relying_party": "library"})
}

pub(crate) async fn story(store: Arc<dyn Store>) {
    let library = register(&store, "library", 31).await;
    let shop = register(&store, "shop-sid", 32).await;
    let p = person(&store, 31_000).await;
    give_my_key_id(&store, p, "LIBR0001").await;
    let q = person(&store, 31_001).await;

    // No Service ID, no link offered: refused, nothing written.
    let before = store.log(p).await.unwrap().len();
    let login = |grant, link| ServiceIdLogin {
        relying_party: library.id,
        person: p,
        link,
        grant,
        at: T,
        logs: &[],
        detail: detail(),
    };
    let refused = store.service_id_login(&login(code(1), None)).await.unwrap();
    assert!(matches!(
        refused,
        Err(PlatformError::Conflict(Conflict::ServiceIdRequired))
    ));
    assert_eq!(
        store
            .redeem_service_id_code(library.id, &[1; 32], T)
            .await
            .unwrap(),
        None
    );

    // A link offered in the flow is made, and the login is by it.
    let c = consent();
    let offered = request(&store, &library, "L-1", 31).await;
    let link = LinkInFlow {
        request: offered,
        consent: &c,
        signature: Some(IssuanceNumber::from_u64(0x31).unwrap()),
    };
    let got = store
        .service_id_login(&login(code(2), Some(link)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, cid("L-1"));
    let links = store.person_links(p).await.unwrap();
    assert_eq!((links.len(), links[0].route), (1, LinkRoute::Card));
    let log = store.log(p).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.kind, LogKind::Login.as_str());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&last.detail).unwrap()["customer_id"],
        "L-1"
    );
    assert!(log.len() > before);
    // The same request cannot be used again, and the code is the library's alone, once.
    let again = LinkInFlow {
        request: offered,
        consent: &c,
        signature: None,
    };
    let used = store
        .service_id_login(&login(code(3), Some(again)))
        .await
        .unwrap();
    assert!(matches!(
        used,
        Err(PlatformError::Conflict(Conflict::LinkRequestAnswered))
    ));
    assert_eq!(
        store
            .redeem_service_id_code(shop.id, &[2; 32], T)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_service_id_code(library.id, &[2; 32], T)
            .await
            .unwrap(),
        Some(cid("L-1"))
    );
    assert_eq!(
        store
            .redeem_service_id_code(library.id, &[2; 32], T)
            .await
            .unwrap(),
        None
    );
    // An expired code answers nothing.
    store
        .service_id_login(&login(code(4), None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .redeem_service_id_code(library.id, &[4; 32], T.plus(61))
            .await
            .unwrap(),
        None
    );
    // Another party's request cannot be offered in the library's flow.
    let foreign = request(&store, &shop, "S-1", 32).await;
    let link = LinkInFlow {
        request: foreign,
        consent: &c,
        signature: None,
    };
    let refused = store
        .service_id_login(&login(code(5), Some(link)))
        .await
        .unwrap();
    assert!(matches!(
        refused,
        Err(PlatformError::NotFound(NotFound::LinkRequest))
    ));
    assert!(store.link_request(&foreign).await.unwrap().is_some());
    // A person without a My Key ID cannot link.
    let q_log = store.log(q).await.unwrap().len();
    let offered = request(&store, &library, "L-2", 33).await;
    let no_id = ServiceIdLogin {
        person: q,
        link: Some(LinkInFlow {
            request: offered,
            consent: &c,
            signature: None,
        }),
        ..login(code(6), None)
    };
    assert!(matches!(
        store.service_id_login(&no_id).await.unwrap(),
        Err(PlatformError::Conflict(Conflict::MyKeyIdRequired))
    ));
    assert_eq!(store.person_links(q).await.unwrap(), vec![]);
    assert_eq!(store.log(q).await.unwrap().len(), q_log);

    // An OpenID Connect login by Service ID approves the pending request with the customer ID.
    let client = OidcClient {
        relying_party: library.id,
        subject: OidcSubject::ServiceId,
        redirect_uris: vec!["https://library.example/cb".into()],
        post_logout_redirect_uris: vec![],
        scopes: vec![],
        id_token_alg: IdTokenAlg::Es256,
    };
    store.set_oidc_client(&client, T).await.unwrap();
    assert_eq!(store.oidc_client(library.id).await.unwrap(), Some(client));
    let pending = NewAuthorization {
        handle_hash: [31; 32],
        short_code: "SID0-0001".into(),
        browser_hash: [32; 32],
        relying_party: Some(library.id),
        redirect_uri: Some("https://library.example/cb".into()),
        scope: "openid".into(),
        state: Some("s".into()),
        nonce: Some("n".into()),
        code_challenge: Some("c".repeat(43)),
        sid: "sid-sid".into(),
        created_at: T,
        expires_at: T.plus(300),
        began: Default::default(),
        link_request: Some(offered),
    };
    assert!(store.insert_authorization(&pending).await.unwrap());
    let grant = LoginGrant::Authorization {
        handle_hash: [31; 32],
        facts: "{}",
        confirm_hash: None,
    };
    store
        .service_id_login(&login(grant, None))
        .await
        .unwrap()
        .unwrap();
    let a = store.authorization(&[31; 32]).await.unwrap().unwrap();
    assert_eq!(a.request.link_request, Some(offered));
    assert_eq!((a.customer_id.clone(), a.ppid), (Some(cid("L-1")), None));
    assert_eq!(a.subject().as_deref(), Some("L-1"));
    let grant = LoginGrant::Authorization {
        handle_hash: [31; 32],
        facts: "{}",
        confirm_hash: None,
    };
    assert!(matches!(
        store.service_id_login(&login(grant, None)).await.unwrap(),
        Err(PlatformError::Conflict(Conflict::AuthorizationAnswered))
    ));

    // Art 17.1: the holder of an active My Key ID, and an application with it.
    let id = "LIBR0001".parse().unwrap();
    let (holder, number) = store.my_key_id_holder(&id, T).await.unwrap().unwrap();
    assert_eq!(
        (holder, number),
        (p, Some(IssuanceNumber::from_u64(31_000).unwrap()))
    );
    assert_eq!(
        store
            .my_key_id_holder(&"NOPE0000".parse().unwrap(), T)
            .await
            .unwrap(),
        None
    );
    let made = NewLog::new(LogKind::ServiceIdLinked, json!({"via": "my-key-id"}));
    let customer = cid("S-9");
    let apply = |person| MyKeyIdApplication {
        relying_party: shop.id,
        my_key_id: id,
        person,
        customer_id: &customer,
        consent: &c,
        signature: None,
        at: T,
        logs: std::slice::from_ref(&made),
    };
    // Not the holder (the My Key ID changed hands in between): refused.
    assert!(matches!(
        store.apply_with_my_key_id(&apply(q)).await.unwrap(),
        Err(PlatformError::NotFound(NotFound::MyKeyId))
    ));
    let linked = store
        .apply_with_my_key_id(&apply(p))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.customer_id, customer);
    let route = store
        .person_links(p)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.customer_id == customer)
        .unwrap()
        .route;
    assert_eq!(route, LinkRoute::MyKeyId);
    assert!(matches!(
        store.apply_with_my_key_id(&apply(p)).await.unwrap(),
        Err(PlatformError::Conflict(Conflict::ServiceIdExists))
    ));
    // A changed My Key ID's old value has no holder.
    let log = NewLog::new(LogKind::MyKeyIdChanged, json!({}));
    store
        .change_my_key_id(
            p,
            MyKeyIdChange::Change("LIBR0002".parse().unwrap()),
            T,
            &log,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.my_key_id_holder(&id, T).await.unwrap(), None);
    assert!(matches!(
        store.apply_with_my_key_id(&apply(p)).await.unwrap(),
        Err(PlatformError::NotFound(NotFound::MyKeyId))
    ));
    mykey_platform::verify_chain(&store.log(p).await.unwrap()).unwrap();
}
