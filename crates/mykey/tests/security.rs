//! Findings of the attack on a running platform (issue 19), each reproduced against the built
//! `mykey serve` and now refused.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use crate::crash::bank;
use crate::support::{Serve, mykey, s};

/// Every folder under `dir` (and it) with its mode, and every file with its mode.
fn modes(dir: &Path, out: &mut Vec<(String, bool, u32)>) {
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    out.push((dir.display().to_string(), true, mode));
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let meta = e.metadata().unwrap();
        if meta.is_dir() {
            modes(&e.path(), out);
        } else {
            out.push((
                e.path().display().to_string(),
                false,
                meta.permissions().mode() & 0o777,
            ));
        }
    }
}

/// Finding 2: a local user read the simulator's CA key from its database (0644 in a 0755
/// folder) and the receivers' `Authorization` headers from the platform's.
#[tokio::test(flavor = "multi_thread")]
async fn the_data_folder_is_the_owners_alone_and_secrets_in_it_are_sealed() {
    let parent = tempfile::tempdir().unwrap();
    // Opened to everyone, as a umask of 000 would leave it.
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = parent.path().join("mykey-data");
    let serve = Serve::start(&data);
    let http = reqwest::Client::new();
    let (client_id, secret) = bank(&http, &serve, &data).await;
    let r = http
        .put(format!("{}/v1/rp/stream", serve.url))
        .basic_auth(&client_id, Some(&secret))
        .json(&json!({
            "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://rp.example/events",
                         "authorization_header": "Bearer receiver-secret-4711"},
            "events_requested": ["urn:mykey:secevent:service-id-ended"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
    drop(serve);

    let mut all = Vec::new();
    modes(&data, &mut all);
    assert!(
        all.iter().any(|(p, _, _)| p.ends_with("jlis.sqlite3-wal")),
        "{all:?}"
    );
    for (path, is_dir, mode) in &all {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{path} is {mode:03o}");
    }

    // The CA keys and the receiver's header are sealed in their databases.
    use sqlx::{Connection, Row};
    let url = |p: &Path| format!("sqlite://{}", p.display());
    let mut jlis = sqlx::SqliteConnection::connect(&url(&data.join("jlis/jlis.sqlite3")))
        .await
        .unwrap();
    let rows = sqlx::query("SELECT key_pkcs8, responder_key_pkcs8 FROM ca_generations")
        .fetch_all(&mut jlis)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        for col in ["key_pkcs8", "responder_key_pkcs8"] {
            let v: Vec<u8> = r.get(col);
            assert!(v.starts_with(b"MKS1"), "{col} is not sealed");
        }
    }
    let mut platform = sqlx::SqliteConnection::connect(&url(&data.join("platform.sqlite3")))
        .await
        .unwrap();
    let header: String = sqlx::query("SELECT authorization_header FROM streams")
        .fetch_one(&mut platform)
        .await
        .unwrap()
        .get(0);
    assert!(
        header.starts_with("sealed:") && !header.contains("receiver-secret"),
        "{header}"
    );
    // A header an earlier version kept in the clear is sealed at the next start, and its text
    // is left nowhere in the database's files.
    sqlx::query("UPDATE streams SET authorization_header = 'Bearer legacy-secret-0815'")
        .execute(&mut platform)
        .await
        .unwrap();
    drop(platform);
    drop(Serve::start(&data));
    let mut platform = sqlx::SqliteConnection::connect(&url(&data.join("platform.sqlite3")))
        .await
        .unwrap();
    let header: String = sqlx::query("SELECT authorization_header FROM streams")
        .fetch_one(&mut platform)
        .await
        .unwrap()
        .get(0);
    assert!(header.starts_with("sealed:"), "{header}");
    drop(platform);
    for file in ["platform.sqlite3", "platform.sqlite3-wal"] {
        let bytes = std::fs::read(data.join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(15).any(|w| w == b"legacy-secret-0"),
            "the clear header lingers in {file}"
        );
    }

    // A data folder others may enter is refused, naming the fix.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    crate::support::serve_once(&data, &[])
        .fails_with("is open to other users (mode 755)")
        .fails_with("chmod 700");
    std::fs::set_permissions(data.join("jlis"), std::fs::Permissions::from_mode(0o750)).unwrap();
    mykey(&[
        "jlis",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        s(&data.join("jlis")),
    ])
    .fails_with("is open to other users (mode 750)");

    // A link planted in a store's folder (while it was open) is refused, not followed.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(data.join("jlis"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let planted = data.join("mynaportal").join("mynaportal.sqlite3");
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&planted);
    std::os::unix::fs::symlink("/tmp/elsewhere.sqlite3", &planted).unwrap();
    mykey(&[
        "registries",
        "serve",
        "--data",
        s(&data),
        "--mynaportal-listen",
        "127.0.0.1:0",
        "--account-registry-listen",
        "127.0.0.1:0",
    ])
    .fails_with("is a symbolic link");
}

/// A second `mykey serve` on a data folder in use would share its keys and SQLite files behind
/// the first one's back: it is refused, naming the process that holds the folder; so is a
/// second simulator on the simulator's folder. A port in use names the flag that moves it.
#[tokio::test(flavor = "multi_thread")]
async fn a_data_folder_serves_one_process_and_a_taken_port_names_its_flag() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("mykey-data");
    let first = Serve::start(&data);
    let run = crate::support::serve_once(&data, &[])
        .fails_with("is in use by another mykey serve (process ");
    assert!(run.stderr.contains("another --data"), "{}", run.stderr);
    mykey(&[
        "jlis",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        s(&data.join("jlis")),
    ])
    .fails_with("is in use by another J-LIS simulator");
    // The first one's port, for a second platform on its own folder.
    let other = parent.path().join("other");
    let taken = first.url.trim_start_matches("http://");
    mykey(&[
        "serve",
        "--listen",
        taken,
        "--jlis-listen",
        "127.0.0.1:0",
        "--mynaportal-listen",
        "127.0.0.1:0",
        "--account-registry-listen",
        "127.0.0.1:0",
        "--data",
        s(&other),
    ])
    .fails_with("(--listen picks another address)");
    let jlis_taken = first.jlis.trim_start_matches("http://");
    mykey(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--jlis-listen",
        jlis_taken,
        "--mynaportal-listen",
        "127.0.0.1:0",
        "--account-registry-listen",
        "127.0.0.1:0",
        "--data",
        s(&other),
    ])
    .fails_with("(--jlis-listen picks another address)");
    // Once the first has stopped, the folder serves again.
    drop(first);
    drop(Serve::start(&data));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_file_that_does_not_parse_stops_the_start_and_says_which() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("mykey-data");
    // A first start makes the keys; then one is damaged.
    drop(Serve::start(&data));
    for (file, what) in [
        ("signing-key", "is not a P-256 PKCS#8 key"),
        (
            "signing-key.rs256",
            "is not an RSA PKCS#8 key of 2048 bits or more",
        ),
        ("secrets.key", "is not a 32-byte key"),
    ] {
        let path = data.join(file);
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, b"not a key").unwrap();
        let run = crate::support::serve_once(&data, &[]).fails_with(what);
        assert!(run.stderr.contains(file), "{}", run.stderr);
        std::fs::write(&path, good).unwrap();
    }
    // Mended, it starts again.
    drop(Serve::start(&data));
}
