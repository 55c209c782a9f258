//! The secrets of a platform: where each is kept and how a node comes to hold the same ones as
//! every other node on its database (docs/operations.md, "Several nodes").
//!
//! - `secrets.key` (32 bytes, a file in the data folder, made on first start) is the one secret
//!   a node brings: every node of a platform holds the same file. It seals what the database
//!   keeps secret — the receivers' `Authorization` headers, and the secrets below.
//! - The challenge key, the PPID key and the ES256 and RS256 signing keys (each with the one
//!   before the last rotation) are kept in the database, sealed (`cluster_secrets`), so that
//!   they are backed up with the data. The first node to start offers them: those of its data
//!   folder (`ppid-key`, `signing-key`, …, as an earlier version kept them) or new ones, which it
//!   also writes there. A node starting later takes what the database holds.
//! - A node whose `secrets.key` does not open the database's secrets, or whose data folder holds
//!   a key that differs from the database's, refuses to start and says which.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use mykey_pki::{SealingKey, UnixTime};
use mykey_platform::oidc::RsaSigningKey;
use mykey_platform::{PpidSecret, SigningKey, SigningKeys, Store};
use zeroize::Zeroizing;

/// The signing key files in the data folder, and the names of their secrets.
pub(crate) const SIGNING_KEY: &str = "signing-key";
pub(crate) const PREVIOUS_SIGNING_KEY: &str = "signing-key.previous";
pub(crate) const RSA_SIGNING_KEY: &str = "signing-key.rs256";
pub(crate) const PREVIOUS_RSA_SIGNING_KEY: &str = "signing-key.rs256.previous";
/// A rotation's new keys while they are published ahead of being used (never files).
const NEXT_SIGNING_KEY: &str = "signing-key.next";
const NEXT_RSA_SIGNING_KEY: &str = "signing-key.rs256.next";
/// How often a node reads the signing keys again from the database.
pub(crate) const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
const PPID_KEY: &str = "ppid-key";
const CHALLENGE_KEY: &str = "challenge-key";

/// Makes a new secret's bytes.
type Make = fn() -> Result<Vec<u8>, String>;

/// One secret the nodes share.
struct Kind {
    /// Its name in the database, and its file's in the data folder where it has one.
    name: &'static str,
    /// What it must be, for the errors.
    what: &'static str,
    /// Whether an earlier version kept it in a file of the data folder (and the first node
    /// still writes it there).
    file: bool,
    /// How a missing one is made; `None`: it may be missing (a previous key).
    make: Option<Make>,
    /// Whether bytes are such a secret.
    valid: fn(&[u8]) -> bool,
}

const P256: &str = "a P-256 PKCS#8 key";
const RSA: &str = "an RSA PKCS#8 key of 2048 bits or more";

const KINDS: [Kind; 8] = [
    Kind {
        name: CHALLENGE_KEY,
        what: "a 32-byte key",
        file: false,
        make: Some(random_32),
        valid: |b| b.len() == 32,
    },
    Kind {
        name: PPID_KEY,
        what: "a PPID key (32 bytes)",
        file: true,
        make: Some(random_32),
        valid: |b| PpidSecret::from_bytes(b).is_ok(),
    },
    Kind {
        name: SIGNING_KEY,
        what: P256,
        file: true,
        make: Some(|| Ok(SigningKey::generate_pkcs8())),
        valid: |b| SigningKey::from_pkcs8(b).is_ok(),
    },
    Kind {
        name: PREVIOUS_SIGNING_KEY,
        what: P256,
        file: true,
        make: None,
        valid: |b| SigningKey::from_pkcs8(b).is_ok(),
    },
    Kind {
        name: RSA_SIGNING_KEY,
        what: RSA,
        file: true,
        make: Some(|| Ok(RsaSigningKey::generate_pkcs8())),
        valid: |b| RsaSigningKey::from_pkcs8(b).is_ok(),
    },
    Kind {
        name: PREVIOUS_RSA_SIGNING_KEY,
        what: RSA,
        file: true,
        make: None,
        valid: |b| RsaSigningKey::from_pkcs8(b).is_ok(),
    },
    Kind {
        name: NEXT_SIGNING_KEY,
        what: P256,
        file: false,
        make: None,
        valid: |b| SigningKey::from_pkcs8(b).is_ok(),
    },
    Kind {
        name: NEXT_RSA_SIGNING_KEY,
        what: RSA,
        file: false,
        make: None,
        valid: |b| RsaSigningKey::from_pkcs8(b).is_ok(),
    },
];

/// The secrets a node runs with, the same on every node of the platform.
pub(crate) struct Secrets {
    pub(crate) challenge: [u8; 32],
    pub(crate) ppid: PpidSecret,
    pub(crate) keys: SigningKeys,
}

type Plain = BTreeMap<String, Zeroizing<Vec<u8>>>;

/// What the sealing of secret `name` binds it to.
fn purpose(name: &str) -> String {
    format!("cluster-secret:{name}")
}

/// The database's secrets, opened with this node's `secrets.key`.
fn open_all(
    sealing: &SealingKey,
    data: &Path,
    kept: Vec<(String, Vec<u8>)>,
) -> Result<Plain, String> {
    kept.into_iter()
        .map(|(name, sealed)| {
            let plain = sealing.open(&purpose(&name), &sealed).map_err(|_| {
                format!(
                    "{} does not open the platform's secrets kept in its database (its {name}): \
                     every node of a platform needs the same secrets.key — copy it from a node \
                     that serves, or point this node at its own database",
                    data.join("secrets.key").display()
                )
            })?;
            Ok((name, Zeroizing::new(plain)))
        })
        .collect()
}

/// Refuses a data folder whose key differs from the one the database keeps.
fn agree(data: &Path, files: &Plain, kept: &Plain) -> Result<(), String> {
    for (name, bytes) in files {
        if let Some(k) = kept.get(name)
            && **k != **bytes
        {
            return Err(format!(
                "{} differs from the {name} the platform's database keeps: this node was set up \
                 with other secrets than the platform's, or with another database. Keep the file \
                 (it may be the only copy of a key) and check --database; if the database's are \
                 the platform's keys, move the file out of the folder to take them",
                data.join(name).display()
            ));
        }
    }
    Ok(())
}

/// Brings a data folder whose signing key files are behind the database's (rotations made
/// while this node was stopped, or from another node's folder) up to it. The folder's
/// `secrets.key` opened the database's keys, so the folder is the platform's and the database
/// is the authority on its rotating keys: a file that differs is kept beside as `NAME.stale`
/// and replaced. (The PPID key never rotates: a folder whose PPID key differs is refused by
/// [`agree`].)
fn catch_up(data: &Path, files: &mut Plain, kept: &Plain) -> Result<(), String> {
    for pair in [
        (SIGNING_KEY, PREVIOUS_SIGNING_KEY),
        (RSA_SIGNING_KEY, PREVIOUS_RSA_SIGNING_KEY),
    ] {
        let behind = [pair.0, pair.1].iter().any(
            |name| matches!((files.get(*name), kept.get(*name)), (Some(f), Some(k)) if **f != **k),
        );
        if !behind {
            continue;
        }
        for name in [pair.0, pair.1] {
            let path = data.join(name);
            if let Some(old) = files.remove(name) {
                crate::files::write_atomic(&data.join(format!("{name}.stale")), &old, 0o600)?;
            }
            match kept.get(name) {
                Some(k) => {
                    crate::files::write_atomic(&path, k, 0o600)?;
                    files.insert(name.to_owned(), k.clone());
                }
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        crate::say(&format!(
            "{} was behind the platform's database (a rotation made elsewhere): brought up to \
             it, the old file kept as {}.stale",
            data.join(pair.0).display(),
            pair.0
        ));
    }
    Ok(())
}

/// The secrets the database keeps, opened, after offering those of `data` (or new ones) that
/// it does not keep yet — see the module's documentation.
async fn adopt(
    data: &Path,
    store: &dyn Store,
    sealing: &SealingKey,
    now: UnixTime,
) -> Result<Plain, String> {
    let mut files = Plain::new();
    for k in KINDS.iter().filter(|k| k.file) {
        let path = data.join(k.name);
        match std::fs::read(&path) {
            Ok(b) if (k.valid)(&b) => {
                files.insert(k.name.to_owned(), Zeroizing::new(b));
            }
            Ok(_) => return Err(format!("{} is not {}", path.display(), k.what)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
    }
    let stored = |kept| open_all(sealing, data, kept);
    let mut kept = stored(store.cluster_secrets().await.map_err(|e| e.to_string())?)?;
    catch_up(data, &mut files, &kept)?;
    agree(data, &files, &kept)?;
    let mut offered = Vec::new();
    let mut made = Plain::new();
    for k in &KINDS {
        if kept.contains_key(k.name) {
            continue;
        }
        // A key signed with before is taken from a folder only together with the one signed
        // with now (an earlier version's folder, taken in whole): never added beside a current
        // key the database keeps, or a file planted there would be published as the platform's.
        let current_kept = match k.name {
            PREVIOUS_SIGNING_KEY => kept.contains_key(SIGNING_KEY),
            PREVIOUS_RSA_SIGNING_KEY => kept.contains_key(RSA_SIGNING_KEY),
            _ => false,
        };
        if current_kept {
            continue;
        }
        let bytes = match (files.get(k.name), k.make) {
            (Some(b), _) => b.clone(),
            (None, Some(make)) => {
                // A platform that has served relying parties keeps its keys; new ones would
                // change every PPID derived from now on and every signature they check.
                if k.name != CHALLENGE_KEY && store.holds_data().await.map_err(|e| e.to_string())? {
                    return Err(format!(
                        "the platform's database holds relying parties but no {}: \
                         new keys are not made for a platform that has served. Start first the \
                         node whose data folder holds the platform's keys (ppid-key, signing-key, \
                         …), which puts them into the database — or check --database",
                        k.name
                    ));
                }
                let b = Zeroizing::new(make()?);
                made.insert(k.name.to_owned(), b.clone());
                b
            }
            (None, None) => continue,
        };
        let sealed = sealing
            .seal(&purpose(k.name), &bytes)
            .map_err(|e| e.to_string())?;
        offered.push((k.name.to_owned(), sealed));
    }
    if !offered.is_empty() {
        kept = stored(
            store
                .offer_cluster_secrets(&offered, now)
                .await
                .map_err(|e| e.to_string())?,
        )?;
        // Another node may have offered its own at the same moment; the database's stand.
        agree(data, &files, &kept)?;
        for (name, bytes) in &made {
            let file = KINDS.iter().any(|k| k.name == name && k.file);
            if file && kept.get(name).is_some_and(|k| **k == **bytes) {
                crate::files::write_atomic(&data.join(name), bytes, 0o600)?;
            }
        }
    }
    for k in &KINDS {
        if let Some(b) = kept.get(k.name)
            && !(k.valid)(b)
        {
            return Err(format!(
                "the {} kept in the platform's database is not {}",
                k.name, k.what
            ));
        }
    }
    Ok(kept)
}

/// The secrets this node is to run with: the database's, after offering those of `data` (or
/// new ones) that it does not keep yet — see the module's documentation.
pub(crate) async fn cluster(
    data: &Path,
    store: &dyn Store,
    sealing: &SealingKey,
    now: UnixTime,
) -> Result<Secrets, String> {
    let kept = adopt(data, store, sealing, now).await?;
    let get = |name: &str| {
        kept.get(name)
            .ok_or_else(|| format!("the platform's database keeps no {name}"))
    };
    let challenge = <[u8; 32]>::try_from(get(CHALLENGE_KEY)?.as_slice())
        .map_err(|_| "the challenge key is not 32 bytes")?;
    Ok(Secrets {
        challenge,
        ppid: PpidSecret::from_bytes(get(PPID_KEY)?).map_err(|e| e.to_string())?,
        keys: signing_keys(&kept)?,
    })
}

/// The signing keys among the database's secrets, as the platform takes them.
fn signing_keys(kept: &Plain) -> Result<SigningKeys, String> {
    let get = |name: &str| {
        kept.get(name)
            .ok_or_else(|| format!("the platform's database keeps no {name}"))
    };
    let p256 = |b: &Zeroizing<Vec<u8>>| {
        SigningKey::from_pkcs8(b)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    };
    let rsa = |b: &Zeroizing<Vec<u8>>| {
        RsaSigningKey::from_pkcs8(b)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    };
    let some = |name: &str| kept.get(name).into_iter();
    Ok(SigningKeys {
        signing: p256(get(SIGNING_KEY)?)?,
        previous_signing: some(PREVIOUS_SIGNING_KEY)
            .map(p256)
            .collect::<Result<_, _>>()?,
        next_signing: some(NEXT_SIGNING_KEY).map(p256).collect::<Result<_, _>>()?,
        rsa: Some(rsa(get(RSA_SIGNING_KEY)?)?),
        previous_rsa: some(PREVIOUS_RSA_SIGNING_KEY)
            .map(rsa)
            .collect::<Result<_, _>>()?,
        next_rsa: some(NEXT_RSA_SIGNING_KEY)
            .map(rsa)
            .collect::<Result<_, _>>()?,
    })
}

/// The `kid`s of `keys`, in the order the JWK Set shows them, the one signed with first.
fn kids(keys: &SigningKeys) -> Vec<String> {
    let es = std::iter::once(&keys.signing)
        .chain(&keys.previous_signing)
        .chain(&keys.next_signing)
        .map(|k| k.public_jwk());
    let rs = keys
        .rsa
        .iter()
        .chain(&keys.previous_rsa)
        .chain(&keys.next_rsa)
        .map(|k| k.public_jwk());
    es.chain(rs)
        .map(|j| j["kid"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Reads the signing keys from the database every [`RELOAD_EVERY`] and gives the platform
/// those that changed — a rotation made while this node serves: published first as the next
/// key on every node, then signed with. Runs until the task is dropped.
pub(crate) async fn reload_every(
    store: Arc<dyn Store>,
    sealing: Arc<SealingKey>,
    data: std::path::PathBuf,
    platform: Arc<mykey_platform::Platform>,
) {
    loop {
        tokio::time::sleep(RELOAD_EVERY).await;
        let read = match store.cluster_secrets().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the platform's keys again");
                continue;
            }
        };
        let keys = open_all(&sealing, &data, read).and_then(|kept| signing_keys(&kept));
        match keys {
            Ok(keys) if kids(&keys) != kids(&platform.signing_keys()) => {
                tracing::info!(
                    keys = ?kids(&keys),
                    "the platform's signing keys changed in the database: taken up"
                );
                platform.replace_signing_keys(keys);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the platform's keys in the database do not open"),
        }
    }
}

/// Rotates a signing key (ES256, or RS256 with `rsa`) of the platform whose database is
/// `store`, in two steps so that no node signs with a key another node does not publish yet:
///
/// 1. a new key is kept as the next one (`signing-key.next`): every node publishes it within
///    [`RELOAD_EVERY`] and signs on with the current one;
/// 2. after `publish_for` the next key becomes the current one and the current one the
///    previous one (still published, no longer used); every node signs with it within
///    [`RELOAD_EVERY`].
///
/// Where the data folder keeps key files, they follow. A rotation cut off between the steps is
/// finished by the next one (its next key, already published, is used). Two rotations at once:
/// the second changes nothing and says so. Answers the new key's `kid`.
pub(crate) async fn rotate(
    data: &Path,
    store: &dyn Store,
    sealing: &SealingKey,
    rsa: bool,
    publish_for: std::time::Duration,
) -> Result<String, String> {
    let (current, previous, next) = if rsa {
        (
            RSA_SIGNING_KEY,
            PREVIOUS_RSA_SIGNING_KEY,
            NEXT_RSA_SIGNING_KEY,
        )
    } else {
        (SIGNING_KEY, PREVIOUS_SIGNING_KEY, NEXT_SIGNING_KEY)
    };
    // A database that keeps no keys, and a folder that has none to give it, are not a
    // platform's: the wrong --database, most likely.
    let before = store.cluster_secrets().await.map_err(|e| e.to_string())?;
    if !before.iter().any(|(n, _)| n == current) && !data.join(current).exists() {
        return Err(format!(
            "the database keeps no {current}, and {} has none: is --database the platform's?",
            data.display()
        ));
    }
    // Refused before anything is written. While any node serves (holds a lease), every node
    // must have read the next key before any signs with it: three of their reloads at least.
    let serving = store
        .leases()
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .any(|l| l.expires_at > UnixTime::now());
    let least = RELOAD_EVERY * 3;
    if serving && publish_for < least {
        return Err(format!(
            "nodes are serving: --publish-secs must be at least {} (three of their {} s reloads \
             of the keys), or a node would sign with a key another does not publish yet",
            least.as_secs(),
            RELOAD_EVERY.as_secs()
        ));
    }
    // The database first holds the keys (an older folder's are taken in).
    let held = adopt(data, store, sealing, UnixTime::now()).await?;
    let seal = |name: &str, b: &[u8]| {
        sealing
            .seal(&purpose(name), b)
            .map(|s| (name.to_owned(), s))
            .map_err(|e| e.to_string())
    };
    // Step 1, unless a rotation cut off (or still running) left its next key: then it is
    // published already, but perhaps only just — wait the window out all the same.
    let new = match held.get(next) {
        Some(k) => {
            crate::say(&format!(
                "a rotation begun before left its next key: finishing it after {} s",
                publish_for.as_secs()
            ));
            tokio::time::sleep(publish_for).await;
            k.clone()
        }
        None => {
            let new = Zeroizing::new(if rsa {
                RsaSigningKey::generate_pkcs8()
            } else {
                SigningKey::generate_pkcs8()
            });
            // Only if no other rotation began meanwhile: the first next key offered is kept.
            let kept = store
                .offer_cluster_secrets(&[seal(next, &new)?], UnixTime::now())
                .await
                .map_err(|e| e.to_string())?;
            let ours = open_all(sealing, data, kept)?
                .get(next)
                .is_some_and(|k| **k == **new);
            if !ours {
                return Err("another rotation of this key came first; nothing was changed".into());
            }
            crate::say(&format!(
                "the new key is published as the next one; every node publishes it within {} s. \
                 Waiting {} s before signing with it …",
                RELOAD_EVERY.as_secs(),
                publish_for.as_secs()
            ));
            tokio::time::sleep(publish_for).await;
            new
        }
    };
    let kid = if rsa {
        jwk_kid(RsaSigningKey::from_pkcs8(&new).map(|k| k.public_jwk()))?
    } else {
        jwk_kid(SigningKey::from_pkcs8(&new).map(|k| k.public_jwk()))?
    };
    // Step 2: the next key signs; the current one is kept as the previous.
    let read = store.cluster_secrets().await.map_err(|e| e.to_string())?;
    let now_kept = open_all(sealing, data, read.clone())?;
    if now_kept.get(next).is_none_or(|k| **k != **new) {
        return Err("another rotation of this key came first; nothing more was changed".into());
    }
    let old = now_kept
        .get(current)
        .ok_or_else(|| format!("the platform's database keeps no {current}"))?;
    let unchanged: Vec<(String, Vec<u8>)> = read
        .into_iter()
        .filter(|(n, _)| n == current || n == next)
        .collect();
    let replaced = store
        .replace_cluster_secrets(
            &[seal(previous, old)?, seal(current, &new)?],
            &[next.to_owned()],
            &unchanged,
            UnixTime::now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    if !replaced {
        return Err("another rotation of this key came first; nothing was changed".into());
    }
    // A folder that keeps the key files keeps them in step, or it would no longer start.
    if data.join(current).exists() {
        crate::files::write_atomic(&data.join(previous), old, 0o600)?;
        crate::files::write_atomic(&data.join(current), &new, 0o600)?;
    }
    Ok(kid)
}

fn jwk_kid(
    jwk: Result<serde_json::Value, mykey_platform::PlatformError>,
) -> Result<String, String> {
    let jwk = jwk.map_err(|e| e.to_string())?;
    Ok(jwk["kid"].as_str().unwrap_or_default().to_owned())
}

fn random_32() -> Result<Vec<u8>, String> {
    let mut b = vec![0u8; 32];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| "no system randomness")?;
    Ok(b)
}

/// The key secrets in the database are sealed with: the file `secrets.key` in the data folder
/// (32 bytes), made on first start. Back it up with the database: without it neither the
/// platform's keys nor the receivers' `Authorization` headers kept there open.
pub(crate) fn sealing_key(data: &Path) -> Result<Arc<SealingKey>, String> {
    let path = data.join("secrets.key");
    let bytes = Zeroizing::new(match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let b = random_32()?;
            crate::files::write_atomic(&path, &b, 0o600)?;
            b
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    });
    SealingKey::from_bytes(&bytes)
        .map(Arc::new)
        .map_err(|_| format!("{} is not a 32-byte key", path.display()))
}
