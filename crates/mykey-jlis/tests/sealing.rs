//! The CA keys at rest (issue 19, finding 2): sealed in the store, and those a version before
//! sealing left in the clear are sealed when the simulator opens, with no copy left behind.

use std::sync::Arc;

use mykey_jlis::{Config, Jlis, SystemClock};
use mykey_pki::{Purpose, SealingKey};
use sqlx::{Connection, Row};

#[tokio::test(flavor = "multi_thread")]
async fn keys_stored_in_the_clear_are_sealed_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::new(dir.path(), "http://127.0.0.1:9");
    let jlis = Jlis::open(config(), Arc::new(SystemClock)).await.unwrap();
    let ders = |j: &Jlis| -> Vec<Vec<u8>> {
        j.ca_certificates(Purpose::UserIdentification)
            .iter()
            .map(|c| c.der().to_vec())
            .collect()
    };
    let before = ders(&jlis);
    drop(jlis);

    // As a version before sealing left it: the keys in the clear.
    let key =
        SealingKey::from_bytes(&std::fs::read(dir.path().join("secrets.key")).unwrap()).unwrap();
    let url = format!("sqlite://{}", dir.path().join("jlis.sqlite3").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let rows = sqlx::query(
        "SELECT id, purpose, generation, key_pkcs8, responder_key_pkcs8 FROM ca_generations",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut clear = Vec::new();
    for r in &rows {
        let purpose: String = r.get("purpose");
        let generation: i64 = r.get("generation");
        let open = |which: &str, col: &str| {
            key.open(
                &format!("jlis:ca:{purpose}:g{generation}:{which}"),
                &r.get::<Vec<u8>, _>(col),
            )
            .unwrap()
        };
        let (k, rk) = (
            open("key", "key_pkcs8"),
            open("responder-key", "responder_key_pkcs8"),
        );
        sqlx::query(
            "UPDATE ca_generations SET key_pkcs8 = ?, responder_key_pkcs8 = ? WHERE id = ?",
        )
        .bind(&k)
        .bind(&rk)
        .bind(r.get::<i64, _>("id"))
        .execute(&mut db)
        .await
        .unwrap();
        clear.push(k);
    }
    db.close().await.unwrap();

    let jlis = Jlis::open(config(), Arc::new(SystemClock)).await.unwrap();
    assert_eq!(ders(&jlis), before, "the same CA, its key opened");
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for r in sqlx::query("SELECT key_pkcs8, responder_key_pkcs8 FROM ca_generations")
        .fetch_all(&mut db)
        .await
        .unwrap()
    {
        assert!(SealingKey::is_sealed(&r.get::<Vec<u8>, _>("key_pkcs8")));
        assert!(SealingKey::is_sealed(
            &r.get::<Vec<u8>, _>("responder_key_pkcs8")
        ));
    }
    // No copy of a key in the clear lingers in the database's file or its log.
    let mut bytes = std::fs::read(dir.path().join("jlis.sqlite3")).unwrap();
    bytes.extend(std::fs::read(dir.path().join("jlis.sqlite3-wal")).unwrap_or_default());
    for k in &clear {
        let probe = &k[k.len() - 64..];
        assert!(
            !bytes.windows(probe.len()).any(|w| w == probe),
            "a key in the clear lingers"
        );
    }
}
