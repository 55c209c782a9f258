//! Migration 0011 on a database that holds rows of the older key formats: spent jtis keyed by a
//! hash alone are re-keyed to expiry ‖ hash, so a replay still meets its key and the purge finds
//! them; access tokens whose keys do not begin with their expiry (unusable since 0010) go.

use std::borrow::Cow;

use mykey_pki::UnixTime;
use mykey_platform::{RelyingPartyStore, Store, UsedNonce};
use sqlx::migrate::Migrator;

use crate::T;

const EXP: u64 = T.as_secs() + 300;

fn sha256(b: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b);
    d.as_ref().try_into().unwrap()
}

/// How a jti was spent before 0010, and the key it has from 0010 on.
fn jti_keys(jti: &str) -> ([u8; 32], [u8; 32]) {
    let old = sha256(format!("mykey-client-assertion-v1\0client-1\0{jti}").as_bytes());
    let mut new = [0u8; 32];
    new[..8].copy_from_slice(&EXP.to_be_bytes());
    new[8..].copy_from_slice(&old[..24]);
    (old, new)
}

fn up_to_0010(mut m: Migrator) -> Migrator {
    m.migrations = Cow::Owned(
        m.migrations
            .iter()
            .filter(|x| x.version <= 10)
            .cloned()
            .collect(),
    );
    m
}

/// The rows 0011 meets, on a pool migrated to 0010: two old-format jtis (b also spent again
/// under its new key after 0010), a challenge nonce, an old and a current access token; and
/// the session 0013 meets.
macro_rules! seed {
    ($pool:expr, $old_token:expr) => {{
        sqlx::query(
            "INSERT INTO authorizations (handle_hash, short_code, browser_hash, scope, sid, created_at, expires_at, keep_until) \
             VALUES ($1, 'SHORT', $1, 'openid', 'sid-1', 0, 0, 0)",
        )
        .bind([1u8; 32].as_slice())
        .execute($pool)
        .await
        .unwrap();
        for nonce in [jti_keys("a").0, jti_keys("b").0, jti_keys("b").1, challenge_nonce()] {
            sqlx::query("INSERT INTO used_nonces (nonce, expires_at) VALUES ($1, $2)")
                .bind(nonce.as_slice())
                .bind(EXP as i64)
                .execute($pool)
                .await
                .unwrap();
        }
        // A session under a key of the old kind (the hash of a random token): 0013 ends it.
        sqlx::query("INSERT INTO persons (id, created_at) VALUES (1, 0)")
            .execute($pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO sessions (token_hash, person_id, expires_at) VALUES ($1, 1, $2)")
            .bind(OLD_SESSION.as_slice())
            .bind(EXP as i64)
            .execute($pool)
            .await
            .unwrap();
        for token in [$old_token, challenge_nonce()] {
            sqlx::query(
                "INSERT INTO access_tokens (token_hash, authorization_id, expires_at) VALUES ($1, 1, $2)",
            )
            .bind(token.as_slice())
            .bind(EXP as i64)
            .execute($pool)
            .await
            .unwrap();
        }
    }};
}

const OLD_SESSION: [u8; 32] = [0x55; 32];

fn challenge_nonce() -> [u8; 32] {
    let mut n = [7u8; 32];
    n[..8].copy_from_slice(&EXP.to_be_bytes());
    n
}

async fn check(store: &dyn Store, old_token: [u8; 32], count_tokens: impl AsyncFn() -> i64) {
    let spent = |nonce| UsedNonce {
        nonce,
        expires_at: UnixTime::from_secs(EXP),
    };
    for jti in ["a", "b"] {
        assert!(
            !store.use_nonce(&spent(jti_keys(jti).1)).await.unwrap(),
            "jti {jti} spent before 0011 must stay spent under its new key"
        );
    }
    assert!(!store.use_nonce(&spent(challenge_nonce())).await.unwrap());
    assert!(store.use_nonce(&spent(jti_keys("c").1)).await.unwrap());
    assert_eq!(
        store
            .session(&OLD_SESSION, UnixTime::from_secs(EXP - 1))
            .await
            .unwrap(),
        None,
        "a session under an old-kind key ends with 0013"
    );
    assert_eq!(
        count_tokens().await,
        1,
        "the old-format token {old_token:?} goes"
    );
    // Everything expires at EXP: a purge after it leaves no nonce and no token.
    store
        .purge_expired(UnixTime::from_secs(EXP + 1))
        .await
        .unwrap();
    assert!(store.use_nonce(&spent(jti_keys("a").1)).await.unwrap());
    assert_eq!(count_tokens().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_0011_and_0013_rekey_old_jtis_and_drop_old_tokens_and_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.sqlite3");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    up_to_0010(sqlx::migrate!("./migrations/sqlite"))
        .run(&pool)
        .await
        .unwrap();
    let old_token = [0xEEu8; 32];
    seed!(&pool, old_token);
    pool.close().await;
    let store = mykey_store::SqliteStore::open(&path).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    check(&store, old_token, async || {
        sqlx::query_scalar("SELECT count(*) FROM access_tokens")
            .fetch_one(&pool)
            .await
            .unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_0011_and_0013_rekey_old_jtis_and_drop_old_tokens_and_sessions() {
    let Some(db) = crate::fresh_postgres().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    up_to_0010(sqlx::migrate!("./migrations/postgres"))
        .run(&pool)
        .await
        .unwrap();
    let old_token = [0xEEu8; 32];
    seed!(&pool, old_token);
    let store = mykey_store::PostgresStore::open(&db.url).await.unwrap();
    check(&store, old_token, async || {
        sqlx::query_scalar("SELECT count(*) FROM access_tokens")
            .fetch_one(&pool)
            .await
            .unwrap()
    })
    .await;
    pool.close().await;
    db.drop().await;
}

/// Migration 0023 rebuilds `relying_parties` and `events` on SQLite (to widen their CHECK
/// constraints): every row, column and reference survives, the tables that point at relying
/// parties still do, foreign keys are enforced again afterwards, and the new kinds are taken.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_0023_rebuilds_relying_parties_and_events_keeping_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.sqlite3");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut m = sqlx::migrate!("./migrations/sqlite");
    m.migrations = Cow::Owned(
        m.migrations
            .iter()
            .filter(|x| x.version <= 22)
            .cloned()
            .collect(),
    );
    m.run(&pool).await.unwrap();
    for stmt in [
        "INSERT INTO relying_parties (id, client_id, name, kind, status, secret_hash, created_at, jwks, contact, privacy_policy_url, terms_url) \
         VALUES (7, 'rp_city', 'City', 'public-authority', 'approved', X'01', 5, '{\"keys\":[]}', '窓口', 'https://c.example/p', 'https://c.example/t')",
        "INSERT INTO link_requests (id, relying_party_id, customer_id, state, expires_at) VALUES (X'00', 7, 'C-1', 'open', 9)",
        "INSERT INTO events (id, relying_party_id, jti, kind, subject_kind, subject, detail, created_at, refused) \
         VALUES (3, 7, 'j-3', 'service-id-ended', 'customer-id', 'C-1', '{}', 6, 'bad')",
    ] {
        sqlx::query(stmt).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store = mykey_store::SqliteStore::open(&path).await.unwrap();
    let rp = store
        .relying_party(mykey_platform::RelyingPartyId::new(7))
        .await
        .unwrap()
        .expect("the relying party survives");
    assert_eq!(
        (rp.client_id.as_str(), rp.profile.unwrap().contact.as_str()),
        ("rp_city", "窓口")
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let event: (i64, String, Option<String>) =
        sqlx::query_as("SELECT relying_party_id, jti, refused FROM events WHERE id = 3")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(event, (7, "j-3".into(), Some("bad".into())));
    let dangling: i64 = sqlx::query_scalar("SELECT count(*) FROM pragma_foreign_key_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dangling, 0);
    // References to relying parties are still checked against the rebuilt table.
    assert!(
        sqlx::query(
            "INSERT INTO link_requests (id, relying_party_id, customer_id, state, expires_at) \
             VALUES (X'01', 99, 'C-2', 'open', 9)",
        )
        .execute(&pool)
        .await
        .is_err(),
        "a link request of no relying party is refused"
    );
    sqlx::query(
        "INSERT INTO relying_parties (client_id, name, kind, status, secret_hash, created_at) \
         VALUES ('rp_pay', 'Pay', 'payment-provider', 'pending', X'01', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert!(
        sqlx::query(
            "INSERT INTO relying_parties (client_id, name, kind, status, secret_hash, created_at) \
             VALUES ('rp_bank', 'Bank', 'bank', 'pending', X'01', 0)",
        )
        .execute(&pool)
        .await
        .is_err(),
        "the kinds stay a closed set"
    );
}

/// A provider's point transactions at migration 0027: T-1 counted by confirmed batch 5 (its
/// 60 points granted to application 11), T-2 and T-3 not yet counted.
macro_rules! points_at_0027 {
    ($pool:expr, $blob:expr) => {{
        let rp = format!(
            "INSERT INTO relying_parties (id, client_id, name, kind, status, secret_hash, created_at) \
             VALUES (7, 'rp_pay', 'Pay', 'payment-provider', 'approved', {}, 0)",
            $blob
        );
        for stmt in [
            rp.as_str(),
            "INSERT INTO payment_services (id, relying_party_id, name, kind, id_alphabet, id_min_length, \
             id_max_length, id_prefix, id_check, status, created_at) \
             VALUES (1, 7, 'QR', 'qr-code', 'digits', 1, 20, '', 'none', 'eligible', 0)",
            "INSERT INTO point_rounds (id, name, purchase_rate, purchase_cap, health_insurance_points, \
             public_fund_account_points, state, created_at, opened_at) \
             VALUES (1, 'R1', 10, 100, 0, 0, 'open', 0, 0)",
            "INSERT INTO persons (id, created_at) VALUES (1, 0), (2, 0)",
            "INSERT INTO point_applications (id, round_id, person_id, payment_service_id, provider_id, \
             payment_service_user_id, state, settlement_user_id, submitted_at, decided_at, purchase_points) \
             VALUES (11, 1, 1, 1, 7, '111', 'validated', 'SU-1', 0, 0, 60), \
             (12, 1, 2, 1, 7, '222', 'validated', 'SU-2', 0, 0, 0)",
            "INSERT INTO point_grant_batches (id, provider_id, round_id, created_at, confirmed_at) \
             VALUES (5, 7, 1, 1, 2)",
            "INSERT INTO point_transactions (provider_id, transaction_id, application_id, amount, points, \
             occurred_at, received_at, batch_id) VALUES (7, 'T-2', 11, 300, 30, 2, 3, NULL), \
             (7, 'T-1', 11, 600, 60, 1, 1, 5), (7, 'T-3', 12, 200, 20, 2, 3, NULL)",
            "INSERT INTO point_grants (batch_id, application_id, kind, points, state, confirmed_at) \
             VALUES (5, 11, 'purchase', 60, 'confirmed', 2)",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(stmt)).execute($pool).await.unwrap();
        }
    }};
}

fn only_to(mut m: Migrator, version: i64) -> Migrator {
    m.migrations = Cow::Owned(
        m.migrations
            .iter()
            .filter(|x| x.version <= version)
            .cloned()
            .collect(),
    );
    m
}

/// After 0028 the next batch counts exactly what no batch had counted (T-2 within what
/// application 11's cap leaves, T-3 whole), the batch after it has nothing due, the counted
/// transaction keeps its number before the others, and a repeated transaction ID is still
/// counted once.
async fn points_after_0028(store: &dyn Store, order: Vec<String>) {
    use mykey_platform::{
        Conflict, NewPointTransaction, PlatformError, PointConflict, PointRoundId, RelyingPartyId,
    };
    assert_eq!(
        order[0], "T-1",
        "the counted transaction comes first: {order:?}"
    );
    let (pay, round) = (RelyingPartyId::new(7), PointRoundId::new(1));
    let b = store
        .instruct_point_grants(pay, round, 6, T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.grants, b.points), (2, 30 + 20));
    let grants = store.point_grants(pay, 6, None, 10).await.unwrap().unwrap();
    let per: Vec<(i64, u64)> = grants
        .iter()
        .map(|g| (g.application.get(), g.points))
        .collect();
    assert_eq!(per, [(11, 30), (12, 20)]);
    assert!(matches!(
        store.instruct_point_grants(pay, round, 7, T).await.unwrap(),
        Err(PlatformError::Conflict(Conflict::Point(
            PointConflict::NothingDue
        )))
    ));
    let again = NewPointTransaction {
        settlement_user_id: "SU-1".parse().unwrap(),
        transaction_id: "T-1".into(),
        amount: 600,
        occurred_at: T,
    };
    let intake = store
        .report_point_transactions(pay, round, &[again], T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((intake.accepted, intake.repeated), (0, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_0028_numbers_point_transactions_and_counts_on_where_batches_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.sqlite3");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    only_to(sqlx::migrate!("./migrations/sqlite"), 27)
        .run(&pool)
        .await
        .unwrap();
    points_at_0027!(&pool, "X'01'");
    pool.close().await;
    let store = mykey_store::SqliteStore::open(&path).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let order = sqlx::query_scalar("SELECT transaction_id FROM point_transactions ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    points_after_0028(&store, order).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_0028_numbers_point_transactions_and_counts_on_where_batches_stopped() {
    let Some(db) = crate::fresh_postgres().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    only_to(sqlx::migrate!("./migrations/postgres"), 27)
        .run(&pool)
        .await
        .unwrap();
    points_at_0027!(&pool, "'\\x01'::bytea");
    let store = mykey_store::PostgresStore::open(&db.url).await.unwrap();
    let order = sqlx::query_scalar("SELECT transaction_id FROM point_transactions ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    points_after_0028(&store, order).await;
    pool.close().await;
    db.drop().await;
}
