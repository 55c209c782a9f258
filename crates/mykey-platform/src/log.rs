//! The person's own log (working group: transparency and control): every act on the person's
//! data, appended to a per-person hash chain the person can verify.
//!
//! `hash(n) = SHA-256("mykey-log-v1" ‖ hash(n−1) ‖ seq ‖ at ‖ len(kind) ‖ kind ‖ len(detail) ‖
//! detail)`, with `hash(0)` of the first entry taken over 32 zero bytes. Changing, removing or
//! reordering any entry changes every later hash, so a person who kept the latest hash (or a
//! relying party given it) detects tampering.

use std::fmt;

/// A SHA-256 chain hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogHash(pub [u8; 32]);

impl LogHash {
    /// The hash before the first entry.
    pub const GENESIS: LogHash = LogHash([0u8; 32]);
}

impl fmt::Display for LogHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for LogHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogHash({self})")
    }
}

/// One entry of a person's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// 1, 2, 3, … per person.
    pub seq: u64,
    /// Seconds since the epoch.
    pub at: u64,
    /// What happened (`jlis.previous-issuance-numbers`, `service-id.linked`, …).
    pub kind: String,
    /// The details, as canonical JSON.
    pub detail: String,
    /// The chain hash up to and including this entry.
    pub hash: LogHash,
}

impl LogEntry {
    /// The entry that follows `prev` (or starts the chain), with its hash computed.
    pub fn next(prev: Option<&LogEntry>, at: u64, kind: &str, detail: &str) -> Self {
        let seq = prev.map_or(1, |p| p.seq + 1);
        let prev_hash = prev.map_or(LogHash::GENESIS, |p| p.hash);
        LogEntry {
            seq,
            at,
            kind: kind.to_owned(),
            detail: detail.to_owned(),
            hash: chain(prev_hash, seq, at, kind, detail),
        }
    }
}

/// The bytes every chain hash starts with, before the previous hash.
pub const CHAIN_DOMAIN: &[u8] = b"mykey-log-v1";

/// The part of an entry's hashed bytes that follows `hash(n−1) ‖ seq`: `at ‖ len(kind) ‖ kind ‖
/// len(detail) ‖ detail`. A store that appends without reading the head first (PostgreSQL's
/// one-statement login) finishes the hash with it: `SHA-256(CHAIN_DOMAIN ‖ prev ‖ seq ‖ tail)`.
pub fn chain_tail(at: u64, kind: &str, detail: &str) -> Vec<u8> {
    let mut tail = Vec::with_capacity(24 + kind.len() + detail.len());
    tail.extend_from_slice(&at.to_be_bytes());
    tail.extend_from_slice(&(kind.len() as u64).to_be_bytes());
    tail.extend_from_slice(kind.as_bytes());
    tail.extend_from_slice(&(detail.len() as u64).to_be_bytes());
    tail.extend_from_slice(detail.as_bytes());
    tail
}

fn chain(prev: LogHash, seq: u64, at: u64, kind: &str, detail: &str) -> LogHash {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(CHAIN_DOMAIN);
    ctx.update(&prev.0);
    ctx.update(&seq.to_be_bytes());
    ctx.update(&chain_tail(at, kind, detail));
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    LogHash(out)
}

/// Where a chain stops being valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// An entry's sequence number is not the one after its predecessor's.
    #[error("entry {found} found where {expected} was expected")]
    Gap {
        /// The sequence number expected.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// An entry's hash does not follow from its content and its predecessor.
    #[error("entry {seq} has been altered")]
    Altered {
        /// The entry.
        seq: u64,
    },
}

/// Checks a whole chain from its first entry; returns the head hash.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a LogEntry>,
) -> Result<LogHash, ChainError> {
    let mut check = ChainCheck::default();
    for e in entries {
        check.push(e)?;
    }
    Ok(check.head().1)
}

/// A chain checked entry by entry from its first, for a chain read in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainCheck {
    prev: LogHash,
    seen: u64,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self {
            prev: LogHash::GENESIS,
            seen: 0,
        }
    }
}

impl ChainCheck {
    /// Checks the next entry.
    pub fn push(&mut self, e: &LogEntry) -> Result<(), ChainError> {
        let expected = self.seen + 1;
        if e.seq != expected {
            return Err(ChainError::Gap {
                expected,
                found: e.seq,
            });
        }
        if chain(self.prev, e.seq, e.at, &e.kind, &e.detail) != e.hash {
            return Err(ChainError::Altered { seq: e.seq });
        }
        self.prev = e.hash;
        self.seen = expected;
        Ok(())
    }

    /// How many entries were checked, and the head hash.
    pub fn head(&self) -> (u64, LogHash) {
        (self.seen, self.prev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_of(n: usize) -> Vec<LogEntry> {
        let mut v: Vec<LogEntry> = Vec::new();
        for i in 0..n {
            let e = LogEntry::next(
                v.last(),
                1_000 + i as u64,
                "consent.given",
                &format!("{{\"i\":{i}}}"),
            );
            v.push(e);
        }
        v
    }

    #[test]
    fn a_chain_verifies_and_any_change_is_found() {
        let v = chain_of(5);
        assert_eq!(verify_chain(&v).unwrap(), v[4].hash);
        let mut altered = v.clone();
        altered[2].detail = "{\"i\":9}".into();
        assert_eq!(verify_chain(&altered), Err(ChainError::Altered { seq: 3 }));
        let mut dropped = v.clone();
        dropped.remove(1);
        assert_eq!(
            verify_chain(&dropped),
            Err(ChainError::Gap {
                expected: 2,
                found: 3
            })
        );
        let mut swapped = v.clone();
        swapped.swap(3, 4);
        assert!(verify_chain(&swapped).is_err());
        // Moving bytes between fields changes the hash (lengths are hashed).
        let a = LogEntry::next(None, 1, "ab", "c");
        let b = LogEntry::next(None, 1, "a", "bc");
        assert_ne!(a.hash, b.hash);
    }
}
