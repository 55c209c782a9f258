//! Backups of the embedded store (issue 24.3): one SQLite file that holds a consistent copy of
//! the platform's database, taken while the platform serves, and the data folder's secrets
//! beside it, so that a platform restored from it has its keys, its operators and its log.
//!
//! The copy is SQLite's `VACUUM INTO`, which reads the whole database in one read transaction
//! — a snapshot as of its first read, whatever commits during it (WAL readers do not block the
//! writer, nor it them) — and writes it to a new file. The secrets go into a table of their own
//! in that file (`backup_files`), with the time the copy began (`backup_taken`); the copy is
//! checked (`PRAGMA integrity_check`) and synced, and the caller gives it its name only then
//! (from a folder no one else can write), so a file with the name is a whole backup. Restoring checks it again, writes the database under its own name
//! without those two tables, and hands the secrets back to be written.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

/// What a backup holds besides the database: files of the data folder, by name.
pub type Files = Vec<(String, Vec<u8>)>;

/// What a backup was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// When the copy began (seconds since the epoch): every write acknowledged before it is in.
    pub at: i64,
    /// The database's size in the backup, in bytes.
    pub bytes: u64,
    /// The files carried with it, by name.
    pub files: Vec<String>,
}

/// A connection to `path` in journal mode `journal` (the live database's own: WAL).
async fn connect(path: &Path, journal: SqliteJournalMode) -> Result<SqliteConnection, String> {
    SqliteConnectOptions::from_str("sqlite://")
        .map_err(|e| e.to_string())?
        .filename(path)
        .journal_mode(journal)
        .busy_timeout(std::time::Duration::from_secs(30))
        .disable_statement_logging()
        .connect()
        .await
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

async fn check(conn: &mut SqliteConnection, path: &Path) -> Result<(), String> {
    let said: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| format!("cannot check {}: {e}", path.display()))?
        .get(0);
    if said == "ok" {
        Ok(())
    } else {
        Err(format!("{} is damaged: {said}", path.display()))
    }
}

/// `out` with `.partial` added: where a backup or a restore is made before it is named.
fn partial(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

fn sync_parent(path: &Path) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", dir.display()))
}

/// The most files a backup carries, and the most bytes each may hold: the data folder's
/// secrets are a few small files.
pub const MOST_FILES: i64 = 64;
/// See [`MOST_FILES`].
pub const MOST_FILE_BYTES: i64 = 64 * 1024;

/// Copies the database `db` (which may be serving) with `files` to `out`, which must not exist
/// and should be in a folder no one else can write (the caller names it when it is whole).
pub async fn backup(db: &Path, out: &Path, files: &Files, now: i64) -> Result<Taken, String> {
    if !db.is_file() {
        return Err(format!("{} is not a database file", db.display()));
    }
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(format!(
            "{} exists; a backup never replaces a file",
            out.display()
        ));
    }
    let result = async {
        let mut source = connect(db, SqliteJournalMode::Wal).await?;
        sqlx::query("VACUUM INTO ?")
            .bind(out.to_string_lossy().into_owned())
            .execute(&mut source)
            .await
            .map_err(|e| format!("cannot copy {}: {e}", db.display()))?;
        source.close().await.map_err(|e| e.to_string())?;
        // One self-contained file: no WAL beside it.
        let mut copy = connect(out, SqliteJournalMode::Delete).await?;
        let mut tx = copy.begin().await.map_err(|e| e.to_string())?;
        sqlx::query("CREATE TABLE backup_taken (at INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::query("INSERT INTO backup_taken (at) VALUES (?)")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::query("CREATE TABLE backup_files (name TEXT PRIMARY KEY, contents BLOB NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        for (name, contents) in files {
            sqlx::query("INSERT INTO backup_files (name, contents) VALUES (?, ?)")
                .bind(name)
                .bind(contents)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        check(&mut copy, out).await?;
        copy.close().await.map_err(|e| e.to_string())?;
        std::fs::File::open(out)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("cannot sync {}: {e}", out.display()))?;
        Ok::<_, String>(())
    }
    .await;
    if let Err(e) = result {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(Taken {
        at: now,
        bytes: std::fs::metadata(out).map(|m| m.len()).unwrap_or(0),
        files: files.iter().map(|(n, _)| n.clone()).collect(),
    })
}

/// Restores backup `from` as the database `db`, which must not exist; answers what the backup
/// was and the files it carries, for the caller to write. A backup carrying a file `allowed`
/// refuses is refused whole, before anything is written.
pub async fn restore(
    from: &Path,
    db: &Path,
    allowed: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(Taken, Files), String> {
    if db.exists() {
        return Err(format!(
            "{} exists; restore into a data folder without a database",
            db.display()
        ));
    }
    // A regular file: not a FIFO or a device that never ends.
    if !std::fs::metadata(from).is_ok_and(|m| m.is_file()) {
        return Err(format!("{} is not a file", from.display()));
    }
    let tmp = partial(db);
    let _ = std::fs::remove_file(&tmp);
    std::fs::copy(from, &tmp).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Its owner's alone, whatever the backup file's mode was.
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot narrow {}: {e}", tmp.display()))?;
    }
    let result = async {
        let not_backup = |e: String| {
            format!(
                "{} is not a backup of mykey (mykey admin backup): {e}",
                from.display()
            )
        };
        let mut copy = connect(&tmp, SqliteJournalMode::Delete)
            .await
            .map_err(|_| not_backup("not a SQLite database".into()))?;
        check(&mut copy, from).await.map_err(not_backup)?;
        let at: i64 = sqlx::query("SELECT at FROM backup_taken")
            .fetch_one(&mut copy)
            .await
            .map_err(|_| not_backup("it has no backup_taken table".into()))?
            .get(0);
        // Names and sizes first: nothing large is read before the backup is believed.
        let listed: Vec<(String, i64)> =
            sqlx::query("SELECT name, length(contents) FROM backup_files ORDER BY name")
                .fetch_all(&mut copy)
                .await
                .map_err(|_| not_backup("it has no backup_files table".into()))?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        if listed.len() as i64 > MOST_FILES {
            return Err(not_backup(format!("it carries {} files", listed.len())));
        }
        if let Some((name, _)) = listed.iter().find(|(n, _)| !allowed(n)) {
            return Err(format!(
                "{} carries a file named {name:?}, which no backup makes",
                from.display()
            ));
        }
        if let Some((name, n)) = listed.iter().find(|(_, n)| *n > MOST_FILE_BYTES) {
            return Err(not_backup(format!("its file {name:?} holds {n} bytes")));
        }
        let files: Files = sqlx::query("SELECT name, contents FROM backup_files ORDER BY name")
            .fetch_all(&mut copy)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        sqlx::query("DROP TABLE backup_files")
            .execute(&mut copy)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::query("DROP TABLE backup_taken")
            .execute(&mut copy)
            .await
            .map_err(|e| e.to_string())?;
        // The secrets' pages are not left behind in the database's free list.
        sqlx::query("VACUUM")
            .execute(&mut copy)
            .await
            .map_err(|e| e.to_string())?;
        // As the platform runs it.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&mut copy)
            .await
            .map_err(|e| e.to_string())?;
        copy.close().await.map_err(|e| e.to_string())?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("cannot sync {}: {e}", tmp.display()))?;
        Ok::<_, String>((at, files))
    }
    .await;
    let (at, files) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // WAL mode left its side files beside the partial name; none of them holds anything now.
    for side in ["-wal", "-shm"] {
        let mut p = tmp.as_os_str().to_owned();
        p.push(side);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    std::fs::rename(&tmp, db).map_err(|e| format!("cannot name {}: {e}", db.display()))?;
    sync_parent(db)?;
    Ok((
        Taken {
            at,
            bytes: std::fs::metadata(db).map(|m| m.len()).unwrap_or(0),
            files: files.iter().map(|(n, _)| n.clone()).collect(),
        },
        files,
    ))
}
