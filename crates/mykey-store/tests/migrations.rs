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
