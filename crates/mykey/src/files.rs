//! Writing keys and certificates to disk: PEM, private keys readable by the owner only.

use std::io::Write;
use std::path::Path;

/// Writes `contents` to `path` atomically (a new temporary file of a random name beside it,
/// fsync, rename), with `mode` on Unix (set explicitly, so that a public certificate is 0644
/// under the process's umask of 077). The temporary file is created exclusively: a link planted
/// in the folder cannot redirect the write.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

/// Holds `dir` for this process alone while the answered file stays open: an exclusive
/// advisory lock on `dir/lock`, which names the holder's process ID. A second server on the same
/// folder would share its keys and SQLite files behind the first one's back, so it is refused,
/// naming the holder. (The lock goes with the process, however it ends.)
pub(crate) fn lock_folder(dir: &Path, what: &str) -> Result<std::fs::File, String> {
    use std::io::{Read, Seek};
    let path = dir.join("lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    #[cfg(unix)]
    if let Err(e) = rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        return Err(if e == rustix::io::Errno::WOULDBLOCK {
            format!(
                "{} is in use by another {what}{}: stop that one, or give this one another --data",
                dir.display(),
                if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (process {holder})")
                }
            )
        } else {
            format!("cannot lock {}: {e}", path.display())
        });
    }
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(file)
}

/// Makes `dir` the private data folder a server keeps keys and personal data in: created mode
/// 0700 (with its parents) when missing; refused, naming the fix, when it belongs to another
/// user or other users may enter or list it, or when it holds a symbolic link or another
/// user's file (anywhere under it); and any file or folder in it that others could
/// read is narrowed to its owner (files from versions before the umask was set). With the
/// process's umask of 077 (`main`), every file made in it after this is 0600.
pub(crate) fn private_folder(dir: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let meta =
            std::fs::metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return Err(format!(
                "{} belongs to another user (uid {}); the data folder must be this user's own",
                dir.display(),
                meta.uid()
            ));
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} is open to other users (mode {mode:03o}): it holds keys and personal data; \
                 run `chmod 700 {}` and start again",
                dir.display(),
                dir.display()
            ));
        }
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            let entries =
                std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
            for entry in entries.flatten() {
                // Not following links: a link or another user's file planted while the
                // folder was open would have the stores write where that user reads.
                let Ok(meta) = entry.metadata() else { continue };
                let path = entry.path();
                if meta.is_symlink() {
                    return Err(format!(
                        "{} is a symbolic link; the data folder holds only its own files \
                         (remove it and start again)",
                        path.display()
                    ));
                }
                if meta.uid() != rustix::process::geteuid().as_raw() {
                    return Err(format!(
                        "{} belongs to another user (uid {}); the data folder holds only its own files",
                        path.display(),
                        meta.uid()
                    ));
                }
                if meta.is_dir() {
                    todo.push(path.clone());
                }
                let mode = meta.mode() & 0o777;
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o700))
                        .map_err(|e| format!("cannot narrow {}: {e}", path.display()))?;
                    tracing::warn!(path = %path.display(), was = format!("{mode:03o}"), "narrowed to its owner");
                }
            }
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(())
}
