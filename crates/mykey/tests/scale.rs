//! The national population `mykey bench scale` seeds into PostgreSQL (issue 24.4): it holds
//! what its documentation says, every log it writes verifies as the platform's own, and the
//! platform logs a card in on a seeded person and chains on.

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{
    FactsStore, LogKind, LoginOutcome, LoginStore, LoginWrite, MyKeyId, NewLog, PersonId,
    PersonStore, UsedNonce, verify_chain,
};
use sqlx::Row;

const AT: UnixTime = UnixTime::from_secs(1_800_000_000);

#[tokio::test(flavor = "multi_thread")]
async fn a_seeded_population_is_what_it_says_and_its_logs_verify() {
    let Some(db) = mykey_testkit::fresh_postgres(
        "cli scale::a_seeded_population_is_what_it_says_and_its_logs_verify",
    )
    .await
    else {
        return;
    };
    let store = mykey_store::PostgresStore::open(&db.url).await.unwrap();
    let mut told = Vec::new();
    store
        .seed_population(120, AT, |n| told.push(n))
        .await
        .unwrap();
    assert_eq!(told, vec![120]);
    // A second load goes on after the first, its numbers and IDs new.
    store.seed_population(30, AT, |_| {}).await.unwrap();
    let population = store.population().await.unwrap();
    assert_eq!(population.persons, 150);
    assert!(population.bytes > 0);

    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    // Every second person (k even, in each load) a Service ID, every third a PPID, every
    // fifth a renewed card's previous number.
    assert_eq!(count("SELECT count(*) FROM service_ids").await, 60 + 15);
    assert_eq!(count("SELECT count(*) FROM ppids").await, 40 + 10);
    assert_eq!(
        count("SELECT count(*) FROM issuance_numbers").await,
        150 + 24 + 6
    );
    // Each person's newest card is the one with an expiry, all of them ahead; the platform's
    // card-end sweep finds none ended.
    assert_eq!(
        count(
            "SELECT count(*) FROM issuance_numbers n WHERE NOT EXISTS (SELECT 1 FROM \
             issuance_numbers later WHERE later.person_id = n.person_id \
             AND later.link_seq > n.link_seq) AND n.expires_at > 1800000000"
        )
        .await,
        150
    );
    assert!(
        store
            .expired_cards(AT.plus(29 * 86_400), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        count("SELECT count(*) FROM consents").await,
        150 + (60 + 15) + (40 + 10)
    );
    assert_eq!(
        count("SELECT count(DISTINCT id) FROM my_key_ids WHERE ended_at IS NULL").await,
        150
    );
    for r in sqlx::query("SELECT id FROM my_key_ids")
        .fetch_all(&pool)
        .await
        .unwrap()
    {
        let id: String = r.get(0);
        let parsed: MyKeyId = id.parse().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.as_str(), id);
    }
    // Every log chains as the platform's do, from its creation to its logins, within its life.
    let mut entries = 0;
    for id in 1..=150 {
        let log = store.log(PersonId::new(id)).await.unwrap();
        assert!((4..=15).contains(&log.len()), "{id}: {} entries", log.len());
        verify_chain(&log).unwrap_or_else(|e| panic!("person {id}: {e}"));
        assert_eq!(log[0].kind, "person.created");
        assert_eq!(log[1].kind, "my-key-id.created");
        assert_eq!(log.last().unwrap().kind, "login");
        assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(log.last().unwrap().at < AT.as_secs());
        entries += log.len() as u64;
    }
    assert_eq!(store.population().await.unwrap().log_entries, entries);
    // The platform's own rows come after the seeded ones.
    let next: i64 = count("SELECT nextval(pg_get_serial_sequence('persons', 'id'))").await;
    assert!(next > 150);

    // Cards go to people spread over the population; the first (person 1) has a renewed card,
    // whose previous number stays theirs.
    let previous_of_1: Vec<u8> = sqlx::query(
        "SELECT number FROM issuance_numbers WHERE person_id = 1 ORDER BY linked_at LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    let cards: Vec<IssuanceNumber> = (0..5)
        .map(|i| IssuanceNumber::from_u64(0x7000_0000_0000_0001 + i).unwrap())
        .collect();
    let people = store.seat_cards(&cards).await.unwrap();
    assert_eq!(people.len(), 5);
    assert_eq!(people[0], 1);
    assert!(people.windows(2).all(|w| w[0] < w[1]) && people[4] > 100);
    for (card, person) in cards.iter().zip(&people) {
        assert_eq!(
            store.person_by_issuance_number(*card).await.unwrap(),
            Some(PersonId::new(*person))
        );
    }
    let previous = IssuanceNumber::from_be_bytes(&previous_of_1).unwrap();
    assert_eq!(
        store.person_by_issuance_number(previous).await.unwrap(),
        Some(PersonId::new(1))
    );
    assert_eq!(
        count("SELECT count(*) FROM issuance_numbers").await,
        150 + 24 + 6
    );

    // A login on a seeded person appends to its seeded chain, which still verifies.
    let before = store.log(PersonId::new(people[2])).await.unwrap().len();
    let outcome = store
        .login(&LoginWrite {
            nonce: UsedNonce::new(AT.plus(300), [7; 24]),
            issuance_number: cards[2],
            at: AT,
            logs: vec![NewLog::new(
                LogKind::Login,
                serde_json::json!({"purpose": "login"}),
            )],
            token_hash: [9; 32],
            expires_at: AT.plus(3600),
        })
        .await
        .unwrap();
    assert_eq!(outcome, LoginOutcome::Done(PersonId::new(people[2])));
    let log = store.log(PersonId::new(people[2])).await.unwrap();
    assert_eq!(log.len(), before + 1);
    verify_chain(&log).unwrap();
}
