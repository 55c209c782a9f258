//! Where a virtual card lives between uses: a JSON [`CardFile`] (mode 0600, replaced atomically),
//! or any [`CardStore`]. Transports save the card after every command that changed its retry
//! counters, before the answer leaves, so that a lock-out stays locked.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::card::persist::CardModel;
use crate::card::{CardError, VirtualCard};

/// Why a card could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CardFileError {
    /// Reading, writing or renaming failed.
    #[error("card file {path}: {source}")]
    Io {
        /// The card file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON of the card's shape.
    #[error("card file {path} is not a card: {source}")]
    Json {
        /// The card file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: serde_json::Error,
    },
    /// A field holds a value the card cannot take.
    #[error("card file field {field}: {reason}")]
    Invalid {
        /// The field's path, e.g. `jpki.ui_pin`.
        field: &'static str,
        /// What is wrong (never the value).
        reason: String,
    },
    /// The stored parts do not make a card.
    #[error(transparent)]
    Card(CardError),
    /// Another process holds the card file's lock.
    #[error("card file {path} is in use by another process")]
    InUse {
        /// The card file.
        path: PathBuf,
    },
    /// A [`CardStore`] other than a file failed.
    #[error("card store: {0}")]
    Store(String),
}

/// Somewhere a card's state is kept.
pub trait CardStore {
    /// Records the card's current state; an error means it was not recorded.
    fn save(&mut self, card: &VirtualCard) -> Result<(), CardFileError>;
}

/// Keeps nothing: the card lives in memory only.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStore;

impl CardStore for NoStore {
    fn save(&mut self, _: &VirtualCard) -> Result<(), CardFileError> {
        Ok(())
    }
}

impl<F: FnMut(&VirtualCard) -> Result<(), CardFileError>> CardStore for F {
    fn save(&mut self, card: &VirtualCard) -> Result<(), CardFileError> {
        self(card)
    }
}

/// A card file: JSON holding keys (PKCS#8), certificates (DER), secrets, retry counters and the
/// four facts. Written to a temporary file in the same directory with mode 0600, synced, renamed
/// over the old one, and the directory synced: a crash leaves the old card or the new, never half.
#[derive(Clone, Debug)]
pub struct CardFile {
    path: PathBuf,
}

impl CardFile {
    /// The card file at `path` (nothing is read yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the card. Its security state starts reset; its retry counters are as stored.
    pub fn load(&self) -> Result<VirtualCard, CardFileError> {
        let bytes = Zeroizing::new(fs::read(&self.path).map_err(|source| self.io(source))?);
        let model: CardModel =
            serde_json::from_slice(&bytes).map_err(|source| CardFileError::Json {
                path: self.path.clone(),
                source,
            })?;
        VirtualCard::from_model(&model)
    }

    /// Writes the card atomically with mode 0600.
    pub fn save(&self, card: &VirtualCard) -> Result<(), CardFileError> {
        let model = card.to_model()?;
        let mut json = Zeroizing::new(serde_json::to_vec_pretty(&model).map_err(|source| {
            CardFileError::Json {
                path: self.path.clone(),
                source,
            }
        })?);
        json.push(b'\n');
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // tempfile creates the file with mode 0600 on Unix, before anything is written to it.
        let mut tmp = tempfile::Builder::new()
            .prefix(".mykey-card-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|source| self.io(source))?;
        tmp.write_all(&json).map_err(|source| self.io(source))?;
        tmp.as_file().sync_all().map_err(|source| self.io(source))?;
        tmp.persist(&self.path).map_err(|e| self.io(e.error))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&self.path, fs::Permissions::from_mode(0o600))
                .map_err(|source| self.io(source))?;
            fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|source| self.io(source))?;
        }
        Ok(())
    }

    /// Takes the card file's advisory lock (`<path>.lock`), failing at once if another process
    /// holds it: a card is in one place at a time, so that two users of one file cannot overwrite
    /// each other's counters. Held until the guard is dropped.
    pub fn try_lock(&self) -> Result<CardFileLock, CardFileError> {
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let io = |source| CardFileError::Io {
            path: lock_path.clone(),
            source,
        };
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(CardFileLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(CardFileError::InUse {
                path: self.path.clone(),
            }),
            Err(fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    fn io(&self, source: std::io::Error) -> CardFileError {
        CardFileError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// The held lock of a card file (see [`CardFile::try_lock`]).
#[derive(Debug)]
pub struct CardFileLock {
    _file: fs::File,
}

impl CardStore for CardFile {
    fn save(&mut self, card: &VirtualCard) -> Result<(), CardFileError> {
        CardFile::save(self, card)
    }
}
