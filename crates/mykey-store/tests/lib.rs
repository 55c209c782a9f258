//! One conformance story, run against every backend: SQLite always, PostgreSQL on the server at
//! 127.0.0.1:5432 in a fresh database per run (skipped with a reason when it is not there, and a
//! failure when MYKEY_REQUIRE_ALL=1).

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod card_ends;
mod cluster;
mod links;
mod maintenance;
mod migrations;
mod oidc;
mod operators;
mod outbox;
mod point_triggers;
mod points;
mod ppids;
mod service_id_logins;

use std::sync::Arc;

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{
    LinkOutcome, LogEntry, LoginOutcome, LoginStore, LoginWrite, MyKeyId, MyKeyIdChange, NewLog,
    PersonStore, PlatformError, Session, Store, UsedNonce, verify_chain,
};

pub(crate) const T: UnixTime = UnixTime::from_secs(1_767_225_600);

fn n(v: u64) -> IssuanceNumber {
    IssuanceNumber::from_u64(v).unwrap()
}

use mykey_platform::LogKind;

fn log(kind: LogKind) -> NewLog {
    NewLog::new(kind, serde_json::json!({}))
}

/// A session's key as the platform makes it: its expiry (T + 10) first.
fn session_key(n: u8) -> [u8; 32] {
    let mut k = [n; 32];
    k[..8].copy_from_slice(&T.plus(10).as_secs().to_be_bytes());
    k
}

async fn story(store: Arc<dyn Store>) {
    // A nonce is spent once.
    let used = UsedNonce::new(T.plus(60), [1; 24]);
    assert!(store.use_nonce(&used).await.unwrap());
    assert!(!store.use_nonce(&used).await.unwrap());

    // Issuance numbers: new person, known, renewal continuity.
    let created = store
        .link_issuance_number(n(100), None, &[], T, &[log(LogKind::JlisQuery)])
        .await
        .unwrap();
    let LinkOutcome::Created(p) = created else {
        panic!("{created:?}")
    };
    assert_eq!(
        store
            .link_issuance_number(n(100), None, &[], T, &[])
            .await
            .unwrap(),
        LinkOutcome::Known(p)
    );
    let renewed = store
        .link_issuance_number(
            n(101),
            None,
            &[n(999), n(100)],
            T,
            &[log(LogKind::JlisQuery)],
        )
        .await
        .unwrap();
    assert_eq!(renewed, LinkOutcome::Renewed(p));
    assert_eq!(
        store.person_by_issuance_number(n(101)).await.unwrap(),
        Some(p)
    );
    assert_eq!(
        store.person_by_issuance_number(n(100)).await.unwrap(),
        Some(p)
    );
    let LinkOutcome::Created(q) = store
        .link_issuance_number(n(200), None, &[n(300)], T, &[])
        .await
        .unwrap()
    else {
        panic!("another person")
    };
    assert_ne!(p, q);

    // Logins: one transaction, nothing written unless done.
    let login = |nonce: u8, number: u64, token: u8| LoginWrite {
        nonce: UsedNonce::new(T.plus(60), [nonce; 24]),
        issuance_number: n(number),
        at: T,
        logs: vec![log(LogKind::JlisQuery), log(LogKind::Login)],
        token_hash: session_key(token),
        expires_at: T.plus(10),
    };
    let LinkOutcome::Created(r) = store
        .link_issuance_number(n(400), None, &[], T, &[])
        .await
        .unwrap()
    else {
        panic!("a third person")
    };
    let before = store.log(r).await.unwrap().len();
    assert_eq!(
        store.login(&login(2, 555, 2)).await.unwrap(),
        LoginOutcome::UnknownNumber
    );
    assert_eq!(store.session(&session_key(2), T).await.unwrap(), None);
    // The unknown number's nonce was not spent: it may log in once the number is tied.
    assert!(store.use_nonce(&login(2, 555, 2).nonce).await.unwrap());
    assert_eq!(
        store.login(&login(3, 400, 3)).await.unwrap(),
        LoginOutcome::Done(r)
    );
    assert_eq!(
        store.login(&login(3, 400, 4)).await.unwrap(),
        LoginOutcome::Replayed
    );
    assert_eq!(store.session(&session_key(4), T).await.unwrap(), None);
    // A used nonce is told apart even before its number is known.
    assert_eq!(
        store.login(&login(3, 555, 4)).await.unwrap(),
        LoginOutcome::Replayed
    );
    let kinds: Vec<String> = store.log(r).await.unwrap()[before..]
        .iter()
        .map(|e| e.kind.clone())
        .collect();
    assert_eq!(kinds, ["jlis.query", "login"]);
    // Sessions expire.
    let s = Session {
        token_hash: session_key(3),
        person: r,
        expires_at: T.plus(10),
    };
    assert_eq!(store.session(&session_key(3), T).await.unwrap(), Some(s));
    assert_eq!(
        store.session(&session_key(3), T.plus(11)).await.unwrap(),
        None
    );
    assert_eq!(store.session(&session_key(9), T).await.unwrap(), None);
    // A revocation ends the sessions made before it (by its second), not those made after;
    // other people's stay.
    assert_eq!(
        store
            .end_sessions_before_revocation(&[(n(400), T.plus(10).minus(11))], 10, 600, T)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .end_sessions_before_revocation(&[(n(400), T), (n(999_999), T)], 10, 600, T)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.session(&session_key(3), T).await.unwrap(), None);

    // Concurrent logins (committed together on SQLite): each answered on its own, one winner
    // for a nonce answered twice, every log chain intact.
    let mut tasks = Vec::new();
    for i in 0..40u8 {
        let store = store.clone();
        let w = login(if i == 39 { 100 } else { 100 + i }, 400, 100 + i);
        tasks.push(tokio::spawn(async move { store.login(&w).await.unwrap() }));
    }
    let mut done = 0;
    let mut replayed = 0;
    for t in tasks {
        match t.await.unwrap() {
            LoginOutcome::Done(_) => done += 1,
            LoginOutcome::Replayed => replayed += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((done, replayed), (39, 1));
    let logged = store.log(r).await.unwrap();
    assert_eq!(logged.len(), before + 2 + 2 * 39);
    verify_chain(&logged).unwrap();

    // Logins of several people together, their logs of different lengths (r's is the longest,
    // s's empty): each chain goes on from its own head.
    let LinkOutcome::Created(s) = store
        .link_issuance_number(n(450), None, &[], T, &[])
        .await
        .unwrap()
    else {
        panic!("a fourth person")
    };
    let people = [(q, 200), (r, 400), (s, 450)];
    let mut lengths = Vec::new();
    for (who, _) in people {
        lengths.push(store.log(who).await.unwrap().len());
    }
    let mut tasks = Vec::new();
    for i in 0..30u8 {
        let store = store.clone();
        let w = login(150 + i, people[usize::from(i) % 3].1, 150 + i);
        tasks.push(tokio::spawn(async move { store.login(&w).await.unwrap() }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), LoginOutcome::Done(_)));
    }
    for ((who, _), before) in people.into_iter().zip(lengths) {
        let logged = store.log(who).await.unwrap();
        assert_eq!(logged.len(), before + 2 * 10);
        verify_chain(&logged).unwrap();
    }

    // A login the store cannot write (here: its session's key is taken) fails whole and leaves
    // no trace: its nonce is not spent, nothing is logged, and the store goes on.
    let before = store.log(r).await.unwrap();
    assert!(store.login(&login(200, 400, 150)).await.is_err());
    assert_eq!(store.log(r).await.unwrap(), before);
    assert_eq!(
        store.login(&login(200, 400, 200)).await.unwrap(),
        LoginOutcome::Done(r)
    );
    let logged = store.log(r).await.unwrap();
    assert_eq!(logged.len(), before.len() + 2);
    verify_chain(&logged).unwrap();

    // Expired nonces and sessions are purged; live ones stay.
    let mut outlives = [201; 32];
    outlives[..8].copy_from_slice(&T.plus(100).as_secs().to_be_bytes());
    let long = LoginWrite {
        token_hash: outlives,
        expires_at: T.plus(100),
        ..login(201, 400, 201)
    };
    assert_eq!(store.login(&long).await.unwrap(), LoginOutcome::Done(r));
    assert!(store.purge_expired(T.plus(30)).await.unwrap() >= 40);
    assert_eq!(store.session(&session_key(100), T).await.unwrap(), None);
    assert!(
        store
            .session(&outlives, T.plus(30))
            .await
            .unwrap()
            .is_some()
    );
    assert!(!store.use_nonce(&used).await.unwrap());
    assert!(store.purge_expired(T.plus(61)).await.unwrap() >= 1);
    assert!(store.use_nonce(&used).await.unwrap());

    // My Key ID rules.
    let a: MyKeyId = "AAAA1111".parse().unwrap();
    let b: MyKeyId = "BBBB2222".parse().unwrap();
    let c2: MyKeyId = "CCCC3333".parse().unwrap();
    let change = |person, ch| {
        let store = store.clone();
        async move {
            store
                .change_my_key_id(person, ch, T, &log(LogKind::MyKeyIdChanged), None)
                .await
                .unwrap()
        }
    };
    assert!(matches!(
        change(p, MyKeyIdChange::Change(b)).await,
        Err(PlatformError::NotFound(mykey_platform::NotFound::MyKeyId))
    ));
    change(p, MyKeyIdChange::Create(a)).await.unwrap();
    assert!(matches!(
        change(p, MyKeyIdChange::Create(b)).await,
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::MyKeyIdAlreadyActive
        ))
    ));
    assert!(matches!(
        change(q, MyKeyIdChange::Create(a)).await,
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::MyKeyIdTaken
        ))
    ));
    change(p, MyKeyIdChange::Change(b)).await.unwrap();
    assert_eq!(store.my_key_id(p).await.unwrap().unwrap().id, b);
    // A value once used is never given again, not even to its old holder.
    assert!(matches!(
        change(q, MyKeyIdChange::Create(a)).await,
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::MyKeyIdTaken
        ))
    ));
    // A refused change leaves the active ID in place.
    assert!(matches!(
        change(p, MyKeyIdChange::Change(a)).await,
        Err(PlatformError::Conflict(
            mykey_platform::Conflict::MyKeyIdTaken
        ))
    ));
    assert_eq!(store.my_key_id(p).await.unwrap().unwrap().id, b);
    change(p, MyKeyIdChange::Revoke).await.unwrap();
    assert_eq!(store.my_key_id(p).await.unwrap(), None);
    // A creation records the person's acceptance of Art 16 with it; a refused one records
    // nothing.
    let accepted = mykey_platform::NewConsent {
        items: vec!["my-key-id.validity-check".into()],
        terms_version: "2026-11-01".into(),
    };
    let consents = store.person_consents(q).await.unwrap().len();
    assert!(
        store
            .change_my_key_id(
                q,
                MyKeyIdChange::Create(b),
                T,
                &log(LogKind::MyKeyIdCreated),
                Some(&accepted)
            )
            .await
            .unwrap()
            .is_err(),
        "taken"
    );
    assert_eq!(store.person_consents(q).await.unwrap().len(), consents);
    let before = store.person_consents(p).await.unwrap().len();
    store
        .change_my_key_id(
            p,
            MyKeyIdChange::Create(c2),
            T,
            &log(LogKind::MyKeyIdCreated),
            Some(&accepted),
        )
        .await
        .unwrap()
        .unwrap();
    let consents = store.person_consents(p).await.unwrap();
    assert_eq!(consents.len(), before + 1);
    let recorded = consents.iter().find(|c| c.function == "my-key-id").unwrap();
    assert_eq!(recorded.relying_party, None);
    assert_eq!(
        (
            recorded.consent.items.as_slice(),
            recorded.consent.terms_version.as_str()
        ),
        (
            ["my-key-id.validity-check".to_owned()].as_slice(),
            "2026-11-01"
        )
    );

    // The log is a valid chain, in order, with every change recorded.
    let entries = store.log(p).await.unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "jlis.query",
            "person.created",
            "jlis.query",
            "card.renewed",
            "my-key-id.changed",
            "my-key-id.changed",
            "my-key-id.changed",
            "my-key-id.created"
        ]
    );
    assert_eq!(
        verify_chain(&entries).unwrap(),
        entries.last().unwrap().hash
    );

    // Concurrent appends for one person never fork or break the chain.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append_log(q, T, &log(LogKind::ExportDownloaded))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let entries = store.log(q).await.unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.kind == "export.downloaded")
            .count(),
        16
    );
    verify_chain(&entries).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("platform.sqlite3").display());
    let store = mykey_store::open(&url).await.unwrap();
    story(store.clone()).await;
    links::story(store.clone()).await;
    cluster::story(store.clone()).await;
    links::revocations_at_once(store.clone()).await;
    outbox::story(store.clone()).await;
    outbox::streams(store.clone()).await;
    outbox::facts(store.clone()).await;
    oidc::story(store.clone()).await;
    service_id_logins::story(store.clone()).await;
    card_ends::story(store.clone()).await;
    points::story(store.clone()).await;
    points::grants(store.clone()).await;
    points::batches_while_reporting(store.clone()).await;
    point_triggers::triggers(store.clone()).await;
    operators::story(store.clone()).await;
    maintenance::story(store.clone()).await;
    ppids::story(store.clone()).await;
    // Last: it forfeits every application in flight.
    maintenance::termination(store).await;
}

/// SQLite answers which nonces are spent from memory (`src/sqlite/spent.rs`): what was spent, by a
/// lone spend or a batch of logins, stays spent for a store opened afresh on the file (as after
/// a crash), and the purge forgets expired ones in the table and in memory alike.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_spent_nonces_outlive_the_process_and_expire_with_the_purge() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.sqlite3");
    let first = mykey_store::SqliteStore::open(&path).await.unwrap();
    let LinkOutcome::Created(p) = first
        .link_issuance_number(n(7), None, &[], T, &[])
        .await
        .unwrap()
    else {
        panic!()
    };
    let lone = UsedNonce::new(T.plus(60), [1; 24]);
    let later = UsedNonce::new(T.plus(600), [2; 24]);
    let login = LoginWrite {
        nonce: UsedNonce::new(T.plus(60), [3; 24]),
        issuance_number: n(7),
        at: T,
        logs: vec![log(LogKind::Login)],
        token_hash: session_key(3),
        expires_at: T.plus(10),
    };
    assert!(first.use_nonce(&lone).await.unwrap());
    assert!(first.use_nonce(&later).await.unwrap());
    assert_eq!(first.login(&login).await.unwrap(), LoginOutcome::Done(p));

    let second = mykey_store::SqliteStore::open(&path).await.unwrap();
    assert!(!second.use_nonce(&lone).await.unwrap());
    assert!(!second.use_nonce(&later).await.unwrap());
    let again = LoginWrite {
        token_hash: session_key(4),
        ..login.clone()
    };
    assert_eq!(second.login(&again).await.unwrap(), LoginOutcome::Replayed);
    assert_eq!(second.session(&session_key(4), T).await.unwrap(), None);

    // Past the expiry of the first and the third: memory forgets both at once. The table drops
    // its expired beginning (the first); the third, spent after a nonce still live, stays
    // until that one expires too, so a store opened meanwhile remembers it (harmless: an
    // expired nonce is refused before anyone asks whether it was spent).
    second.purge_expired(T.plus(61)).await.unwrap();
    assert!(second.use_nonce(&lone).await.unwrap());
    assert!(!second.use_nonce(&later).await.unwrap());
    let third = mykey_store::SqliteStore::open(&path).await.unwrap();
    assert!(!third.use_nonce(&login.nonce).await.unwrap());
    assert!(!third.use_nonce(&later).await.unwrap());
    assert!(
        !third.use_nonce(&lone).await.unwrap(),
        "spent again after the purge"
    );
    drop(third);
    // Once the live one has expired too, the table holds none of them.
    let fourth = mykey_store::SqliteStore::open(&path).await.unwrap();
    fourth.purge_expired(T.plus(601)).await.unwrap();
    let fifth = mykey_store::SqliteStore::open(&path).await.unwrap();
    for nonce in [&lone, &later, &login.nonce] {
        assert!(fifth.use_nonce(nonce).await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_enforces_one_active_my_key_id_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.sqlite3");
    let store = mykey_store::SqliteStore::open(&path).await.unwrap();
    let LinkOutcome::Created(p) = store
        .link_issuance_number(n(1), None, &[], T, &[])
        .await
        .unwrap()
    else {
        panic!()
    };
    store
        .change_my_key_id(
            p,
            MyKeyIdChange::Create("AAAA1111".parse().unwrap()),
            T,
            &log(LogKind::Login),
            None,
        )
        .await
        .unwrap()
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let second = sqlx::query(
        "INSERT INTO my_key_ids (id, person_id, created_at) VALUES ('ZZZZ9999', $1, 0)",
    )
    .bind(p.get())
    .execute(&pool)
    .await;
    assert!(
        second.is_err(),
        "the database must refuse a second active My Key ID"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_enforces_one_active_service_id_per_customer_id_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.sqlite3");
    let store: Arc<dyn Store> = Arc::new(mykey_store::SqliteStore::open(&path).await.unwrap());
    links::story(store).await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    // The story left rp 1's link of C-1 ended; make two active ones by hand.
    let insert = "INSERT INTO service_ids (relying_party_id, customer_id, person_id, consent_id, linked_at) \
                  SELECT relying_party_id, 'dup', person_id, consent_id, 0 FROM service_ids LIMIT 1";
    sqlx::query(insert).execute(&pool).await.unwrap();
    assert!(
        sqlx::query(insert).execute(&pool).await.is_err(),
        "the database must refuse a second active Service ID for one customer ID"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_enforces_one_ppid_and_one_active_ppid_consent_per_person_and_service() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.sqlite3");
    let store: Arc<dyn Store> = Arc::new(mykey_store::SqliteStore::open(&path).await.unwrap());
    points::story(store.clone()).await;
    points::grants(store.clone()).await;
    point_triggers::triggers(store.clone()).await;
    ppids::story(store).await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let second_ppid = "INSERT INTO ppids (ppid_service_id, person_id, ppid, issued_at) \
                       SELECT ppid_service_id, person_id, X'FF', 0 FROM ppids LIMIT 1";
    assert!(
        sqlx::query(second_ppid).execute(&pool).await.is_err(),
        "the database must refuse a second PPID for one person and service"
    );
    let second_consent = "INSERT INTO consents (person_id, function, relying_party_id, ppid_service_id, items, terms_version, given_at) \
                          SELECT person_id, function, relying_party_id, ppid_service_id, items, terms_version, 0 \
                          FROM consents WHERE ppid_service_id IS NOT NULL AND withdrawn_at IS NULL LIMIT 1";
    assert!(
        sqlx::query(second_consent).execute(&pool).await.is_err(),
        "the database must refuse a second active consent for one person and service"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_conforms() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let store = mykey_store::open(&db.url).await.unwrap();
    story(store.clone()).await;
    links::story(store.clone()).await;
    cluster::story(store.clone()).await;
    links::revocations_at_once(store.clone()).await;
    outbox::story(store.clone()).await;
    outbox::streams(store.clone()).await;
    outbox::facts(store.clone()).await;
    oidc::story(store.clone()).await;
    service_id_logins::story(store.clone()).await;
    card_ends::story(store.clone()).await;
    points::story(store.clone()).await;
    points::grants(store.clone()).await;
    points::batches_while_reporting(store.clone()).await;
    point_triggers::triggers(store.clone()).await;
    operators::story(store.clone()).await;
    maintenance::story(store.clone()).await;
    ppids::story(store.clone()).await;
    // Last: it forfeits every application in flight.
    maintenance::termination(store).await;
    db.drop().await;
}

/// A new person holding issuance number `number`, their log begun with `logs`.
async fn one_person(
    store: &Arc<dyn Store>,
    number: u64,
    logs: &[NewLog],
) -> mykey_platform::PersonId {
    match store
        .link_issuance_number(n(number), None, &[], T, logs)
        .await
        .unwrap()
    {
        LinkOutcome::Created(p) => p,
        other => panic!("{other:?}"),
    }
}

/// A login with card `number`, its nonce and session key made of `nonce` and `token`.
fn login_of(number: u64, nonce: u8, token: u8) -> LoginWrite {
    LoginWrite {
        nonce: UsedNonce::new(T.plus(60), [nonce; 24]),
        issuance_number: n(number),
        at: T,
        logs: vec![log(LogKind::Login)],
        token_hash: session_key(token),
        expires_at: T.plus(10),
    }
}

/// A PostgreSQL login is one statement, its snapshot taken before it waits for the person's
/// row: when another transaction appends to the person's log meanwhile, the login still goes
/// on from the new head (the statement runs again behind the lock), and the chain the database
/// finished, over a detail that is not ASCII, verifies.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_login_chains_on_a_head_appended_while_it_waited() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let store = mykey_store::open(&db.url).await.unwrap();
    let p = one_person(&store, 700, &[log(LogKind::JlisQuery)]).await;
    let before = store.log(p).await.unwrap();
    let head = before.last().unwrap();
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut other = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM persons WHERE id = $1 FOR UPDATE")
        .bind(p.get())
        .execute(&mut *other)
        .await
        .unwrap();
    let appended = LogEntry::next(Some(head), T.as_secs(), "login", "{}");
    sqlx::query(
        "INSERT INTO log_entries (person_id, seq, at, kind, detail, hash) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(p.get())
    .bind(appended.seq as i64)
    .bind(appended.at as i64)
    .bind(appended.kind.as_str())
    .bind(appended.detail.as_str())
    .bind(appended.hash.0.as_slice())
    .execute(&mut *other)
    .await
    .unwrap();

    let w = LoginWrite {
        logs: vec![
            log(LogKind::JlisQuery),
            NewLog::new(LogKind::Login, serde_json::json!({"via": "窓口 — ﾃｽﾄ"})),
        ],
        ..login_of(700, 70, 70)
    };
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move { store.login(&w).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the login waits for the person's row"
    );
    other.commit().await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), LoginOutcome::Done(p));
    let logged = store.log(p).await.unwrap();
    assert_eq!(logged.len(), before.len() + 3);
    assert_eq!(logged[before.len()], appended);
    assert!(logged[before.len() + 2].detail.contains("窓口"));
    verify_chain(&logged).unwrap();
    assert!(store.session(&session_key(70), T).await.unwrap().is_some());
    pool.close().await;
    db.drop().await;
}

/// A PostgreSQL login that waits for the person's row sees a suspension committed meanwhile
/// (its nonce spent, no session, nothing logged), and a replayed answer is refused without
/// waiting for the row at all.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_login_behind_a_suspension() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let store = mykey_store::open(&db.url).await.unwrap();
    let p = one_person(&store, 900, &[]).await;
    let login = |nonce: u8, token: u8| login_of(900, nonce, token);
    assert_eq!(
        store.login(&login(90, 90)).await.unwrap(),
        LoginOutcome::Done(p)
    );
    let before = store.log(p).await.unwrap();
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut other = pool.begin().await.unwrap();
    sqlx::query("UPDATE persons SET suspended_at = $2 WHERE id = $1")
        .bind(p.get())
        .bind(T.as_secs() as i64)
        .execute(&mut *other)
        .await
        .unwrap();
    // The row is held: a replay is told so at once.
    let replay = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        store.login(&login(90, 95)),
    )
    .await
    .expect("a replay waits for no one");
    assert_eq!(replay.unwrap(), LoginOutcome::Replayed);
    let waiting = {
        let (store, w) = (store.clone(), login(91, 91));
        tokio::spawn(async move { store.login(&w).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the login waits for the person's row"
    );
    other.commit().await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), LoginOutcome::Suspended);
    assert!(store.session(&session_key(91), T).await.unwrap().is_none());
    assert_eq!(store.log(p).await.unwrap(), before);
    assert!(!store.use_nonce(&login(91, 91).nonce).await.unwrap());
    pool.close().await;
    db.drop().await;
}

/// A PostgreSQL login runs on a connection of the logins' own: when the database ends every
/// connection (a restart, a failover), the next login is made on a new one and is not lost,
/// and a login refused by the database itself leaves its connection in use.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_logins_outlive_their_connections() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let store = mykey_store::open(&db.url).await.unwrap();
    let p = one_person(&store, 800, &[]).await;
    let start = store.log(p).await.unwrap().len();
    let login = |nonce: u8, token: u8| login_of(800, nonce, token);
    assert_eq!(
        store.login(&login(80, 80)).await.unwrap(),
        LoginOutcome::Done(p)
    );
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let backends = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid()",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let ended = sqlx::query_scalar::<_, bool>(
        "SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(ended);
    for _ in 0..50 {
        if backends().await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        store.login(&login(81, 81)).await.unwrap(),
        LoginOutcome::Done(p)
    );
    // Refused by the database (the session's key is taken): the connection stays.
    let before = backends().await;
    assert!(store.login(&login(82, 81)).await.is_err());
    assert_eq!(
        store.login(&login(83, 83)).await.unwrap(),
        LoginOutcome::Done(p)
    );
    assert_eq!(backends().await, before);
    let logged = store.log(p).await.unwrap();
    assert_eq!(logged.len(), start + 3);
    verify_chain(&logged).unwrap();
    pool.close().await;
    db.drop().await;
}

/// Acknowledged events and expired link requests are purged once kept their while, on either
/// database (a store of its own: the purge looks years ahead).
#[tokio::test(flavor = "multi_thread")]
async fn events_and_link_requests_are_forgotten_after_their_keep() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("platform.sqlite3").display());
    outbox::forgotten(mykey_store::open(&url).await.unwrap()).await;
    let Some(db) = fresh_postgres().await else {
        return;
    };
    outbox::forgotten(mykey_store::open(&db.url).await.unwrap()).await;
    db.drop().await;
}

/// A new, empty database on the local server (MYKEY_TEST_POSTGRES overrides the admin URL).
async fn fresh_postgres() -> Option<mykey_testkit::FreshDb> {
    mykey_testkit::fresh_postgres("mykey-store's PostgreSQL tests").await
}

/// Nodes starting together on a new database: each opens it, and every migration is applied
/// once (sqlx's migrator takes an advisory lock around them).
#[tokio::test(flavor = "multi_thread")]
async fn postgres_migrations_are_applied_once_when_nodes_start_together() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { mykey_store::open(&url).await.map(drop) })
        })
        .collect();
    for opened in opens {
        opened.await.unwrap().unwrap();
    }
    let store = mykey_store::open(&db.url).await.unwrap();
    assert!(
        !store.holds_data().await.unwrap(),
        "a new database holds nothing"
    );
    drop(store);
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let (applied, versions): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT version) FROM _sqlx_migrations WHERE success",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!((applied, versions), (files as i64, files as i64));
    pool.close().await;
    db.drop().await;
}

/// Readiness asks the database (`ping`): it answers while the database is there, and fails
/// once the server drops it (the connections it held are gone).
#[tokio::test(flavor = "multi_thread")]
async fn postgres_ping_fails_when_the_database_goes_away() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let store = mykey_store::open(&db.url).await.unwrap();
    store.ping().await.unwrap();
    db.drop().await;
    assert!(store.ping().await.is_err());
}
