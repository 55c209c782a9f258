//! `mykey admin backup` and `mykey admin restore` (issue 24.3): the embedded database with the
//! data folder's secrets — the keys the platform signs and derives PPIDs with, the key that seals
//! what it keeps secret, the operator and metrics tokens — in one file (`mykey_store::backup`).
//! The J-LIS simulator's and the registries' folders are not the platform's: they stand for
//! services that outlive it.

use std::path::Path;

/// The database's file in a data folder.
const DATABASE: &str = "platform.sqlite3";

/// Whether `name` is a secret of the data folder a backup carries: a plain name (no folder),
/// not the database or its side files, not the lock.
fn carried(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && name != "lock"
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
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let taken = mykey_store::backup::backup(&data.join(DATABASE), out, &files, now).await?;
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
    let (taken, files) = mykey_store::backup::restore(from, &data.join(DATABASE), &carried).await?;
    for (name, contents) in &files {
        if let Err(e) = crate::files::write_atomic(&data.join(name), contents, 0o600) {
            // A database without its keys would have `mykey serve` make new ones: none, then.
            let _ = std::fs::remove_file(data.join(DATABASE));
            return Err(e);
        }
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
