//! `mykey admin backup` and `mykey admin restore` (issue 24.3): the embedded database with the
//! data folder's secrets — the keys the platform signs and derives PPIDs with, the key that seals
//! what it keeps secret, the operator and metrics tokens — in one file (`mykey_store::backup`).
//! The J-LIS simulator's and the registries' folders are not the platform's: they stand for
//! services that outlive it.

use std::path::Path;

/// The database's file in a data folder.
const DATABASE: &str = "platform.sqlite3";

/// Whether `name` is a secret of the data folder a backup carries: a plain short name of
/// letters, digits, `.`, `-` and `_` (no folder, not hidden), not the database or its side
/// files, not the lock, not one of the simulators' folders.
fn carried(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !name.starts_with('.')
        && !matches!(name, "lock" | "jlis" | "mynaportal" | "account-registry")
        && !name.starts_with(DATABASE)
        && !name.ends_with(".partial")
}

pub(crate) async fn backup(data: &Path, out: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(data).map_err(|e| format!("cannot read {}: {e}", data.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Not following links, as `mykey serve` does not.
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || !carried(&name) {
            continue;
        }
        let contents = std::fs::read(entry.path())
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        files.push((name, contents));
    }
    files.sort();
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(format!(
            "{} exists; a backup never replaces a file",
            out.display()
        ));
    }
    // Made in a folder of its own (0700, beside the backup's place) where no one else can
    // put or replace a file, then linked to its name — which fails if anything has that name
    // by then, a link included.
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let work = tempfile::Builder::new()
        .prefix(".mykey-backup-")
        .tempdir_in(parent)
        .map_err(|e| format!("cannot write in {}: {e}", parent.display()))?;
    let made = work.path().join("backup");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let taken = mykey_store::backup::backup(&data.join(DATABASE), &made, &files, now).await?;
    std::fs::hard_link(&made, out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{} exists; a backup never replaces a file", out.display())
        } else {
            format!("cannot write {}: {e}", out.display())
        }
    })?;
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", parent.display()))?;
    drop(work);
    println!(
        "{}",
        serde_json::json!({
            "backup": out.display().to_string(),
            "taken_at": taken.at,
            "bytes": taken.bytes,
            "files": taken.files,
        })
    );
    Ok(())
}

pub(crate) async fn restore(from: &Path, data: &Path) -> Result<(), String> {
    crate::files::private_folder(data)?;
    let _held = crate::files::lock_folder(data, "mykey serve")?;
    // Keys without their database, or a database without its keys, would have `mykey serve`
    // run on a mix: the folder holds neither before, and both or neither after.
    let entries =
        std::fs::read_dir(data).map_err(|e| format!("cannot read {}: {e}", data.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if carried(&name) {
            return Err(format!(
                "{} holds {name} already; restore into a data folder without a database or keys",
                data.display()
            ));
        }
    }
    let (taken, files) = mykey_store::backup::restore(from, &data.join(DATABASE), &carried).await?;
    let mut written = Vec::new();
    for (name, contents) in &files {
        if let Err(e) = crate::files::write_atomic(&data.join(name), contents, 0o600) {
            for w in written {
                let _ = std::fs::remove_file(data.join(w));
            }
            let _ = std::fs::remove_file(data.join(DATABASE));
            return Err(e);
        }
        written.push(name);
    }
    println!(
        "{}",
        serde_json::json!({
            "restored": data.display().to_string(),
            "taken_at": taken.at,
            "files": taken.files,
        })
    );
    Ok(())
}
