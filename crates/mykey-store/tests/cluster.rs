//! The nodes' shared secrets and the leases of their background work
//! ([`mykey_platform::ClusterStore`]), on either database.

use std::sync::Arc;
use std::time::Duration;

use mykey_pki::UnixTime;
use mykey_platform::Store;

const T: UnixTime = UnixTime::from_secs(1_800_000_000);

fn secret(name: &str, value: &[u8]) -> (String, Vec<u8>) {
    (name.to_owned(), value.to_vec())
}

pub(crate) async fn story(store: Arc<dyn Store>) {
    // Called after the rest of the story: relying parties are there.
    assert!(store.holds_data().await.unwrap());
    // The first offer of a name is kept; a later one of the same name is not.
    let kept = store
        .offer_cluster_secrets(&[secret("a", b"first"), secret("b", b"bee")], T)
        .await
        .unwrap();
    assert_eq!(kept, vec![secret("a", b"first"), secret("b", b"bee")]);
    let kept = store
        .offer_cluster_secrets(&[secret("a", b"second"), secret("c", b"sea")], T)
        .await
        .unwrap();
    assert_eq!(
        kept,
        vec![
            secret("a", b"first"),
            secret("b", b"bee"),
            secret("c", b"sea")
        ]
    );
    // A rotation replaces and removes at once, if what it read is still there.
    assert!(
        !store
            .replace_cluster_secrets(&[secret("a", b"x")], &[], &[secret("a", b"second")], T)
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_cluster_secrets(
                &[secret("a", b"new"), secret("d", b"dee")],
                &["b".into()],
                &[secret("a", b"first")],
                T,
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.cluster_secrets().await.unwrap(),
        vec![
            secret("a", b"new"),
            secret("c", b"sea"),
            secret("d", b"dee")
        ]
    );

    // One holder at a time; its own renewal holds; a release frees it at once.
    assert!(store.take_lease("purge", "node-a", 30).await.unwrap());
    assert!(!store.take_lease("purge", "node-b", 30).await.unwrap());
    assert!(store.take_lease("purge", "node-a", 30).await.unwrap());
    assert!(store.take_lease("facts-sweep", "node-b", 30).await.unwrap());
    let leases = store.leases().await.unwrap();
    assert_eq!(
        leases
            .iter()
            .map(|l| (l.name.as_str(), l.holder.as_str()))
            .collect::<Vec<_>>(),
        vec![("facts-sweep", "node-b"), ("purge", "node-a")]
    );
    // Someone else's release changes nothing.
    store.release_lease("purge", "node-b").await.unwrap();
    assert!(!store.take_lease("purge", "node-b", 30).await.unwrap());
    store.release_lease("purge", "node-a").await.unwrap();
    assert!(store.take_lease("purge", "node-b", 30).await.unwrap());

    // A lease its holder stops renewing runs out, by the database's clock.
    assert!(store.take_lease("events", "node-a", 1).await.unwrap());
    assert!(!store.take_lease("events", "node-b", 1).await.unwrap());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(store.take_lease("events", "node-b", 1).await.unwrap());

    // Many nodes at once: exactly one gets it.
    let tries: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .take_lease("contested", &format!("node-{i}"), 30)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for t in tries {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}
