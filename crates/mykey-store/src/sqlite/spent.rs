//! SQLite's spent nonces: challenge answers' nonces and client assertions' `jti`s (each a
//! [`UsedNonce`]), spent once.
//!
//! A nonce's key begins with its expiry and goes on with a hash, so a b-tree on it takes one
//! second's spends in hash order: at 9,000 exchanges a second a batch of 14 wrote 17 pages of
//! that b-tree, two thirds of the WAL frames of its commit. So SQLite appends spent nonces to
//! `spent_nonces`, on a rowid that only grows (a batch writes its last page or two), and which
//! nonces are spent is answered from memory: [`Spent`] is loaded from the table when the store
//! opens, and a nonce enters it when it is claimed, before its transaction is written. A claim
//! that is not kept (its transaction failed, or never ran) is taken back when its [`Claims`] is
//! dropped. So a nonce is spent once among everything this process does, and after a crash
//! exactly the committed spends are spent. One process uses a SQLite store at a time (the
//! batchers and the checkpointer assume it too); PostgreSQL, shared by many nodes, keeps its
//! unique key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use mykey_platform::{StoreError, UsedNonce};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use crate::{fail, secs};

/// The spent nonces and their expiry (seconds).
#[derive(Default)]
pub(crate) struct Spent(Mutex<HashMap<[u8; 32], i64>>);

impl std::fmt::Debug for Spent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Millions of them, at times: how many, not which.
        write!(f, "Spent({} nonces)", self.set().len())
    }
}

impl Spent {
    /// The spent nonces `spent_nonces` holds.
    pub(crate) async fn load(pool: &SqlitePool) -> Result<Arc<Self>, StoreError> {
        let rows = sqlx::query("SELECT nonce, expires_at FROM spent_nonces")
            .fetch_all(pool)
            .await
            .map_err(fail)?;
        let mut set = HashMap::with_capacity(rows.len());
        for r in rows {
            let nonce: [u8; 32] = r
                .get::<&[u8], _>("nonce")
                .try_into()
                .map_err(|_| StoreError::corrupt("a spent nonce is not 32 bytes"))?;
            set.insert(nonce, r.get::<i64, _>("expires_at"));
        }
        Ok(Arc::new(Self(Mutex::new(set))))
    }

    fn set(&self) -> MutexGuard<'_, HashMap<[u8; 32], i64>> {
        // The map is whole after any panic (each change is one insert or remove).
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `nonce` is spent (or claimed).
    pub(crate) fn contains(&self, nonce: &[u8; 32]) -> bool {
        self.set().contains_key(nonce)
    }

    /// A set of claims, taken back unless kept.
    pub(crate) fn claims(self: &Arc<Self>) -> Claims {
        Claims {
            spent: Arc::clone(self),
            claimed: Vec::new(),
        }
    }

    /// Forgets the nonces that expired before `cut` (seconds), when the purge has run: all of
    /// them, though the table may keep a few until a later purge (see `login.rs`).
    pub(crate) fn forget_before(&self, cut: i64) {
        self.set().retain(|_, expires_at| *expires_at >= cut);
    }

    /// How many nonces are spent or claimed.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.set().len()
    }
}

/// Pushes onto `q` the statement that appends `nonces` (claimed: see [`Claims`]) to the table.
pub(crate) fn push_append<'a>(
    q: &mut QueryBuilder<Sqlite>,
    nonces: impl IntoIterator<Item = &'a UsedNonce>,
) {
    q.push("INSERT INTO spent_nonces (nonce, expires_at) ");
    q.push_values(nonces, |mut b, n| {
        b.push_bind(n.nonce.as_slice())
            .push_bind(secs(n.expires_at));
    });
}

/// Nonces claimed for one transaction: written with it, then [`kept`](Claims::keep) once it
/// commits; dropped unkept, they are spent no longer.
#[derive(Debug)]
pub(crate) struct Claims {
    spent: Arc<Spent>,
    claimed: Vec<[u8; 32]>,
}

impl Claims {
    /// Claims `n`: `true` when nobody spent or claimed it before.
    pub(crate) fn claim(&mut self, n: &UsedNonce) -> bool {
        let fresh = self
            .spent
            .set()
            .insert(n.nonce, secs(n.expires_at))
            .is_none();
        if fresh {
            self.claimed.push(n.nonce);
        }
        fresh
    }

    /// The transaction committed: the claims stand.
    pub(crate) fn keep(mut self) {
        self.claimed.clear();
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        if !self.claimed.is_empty() {
            let mut set = self.spent.set();
            for n in &self.claimed {
                set.remove(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use mykey_pki::UnixTime;

    use super::*;

    fn nonce(b: u8, expires_at: u64) -> UsedNonce {
        UsedNonce::new(UnixTime::from_secs(expires_at), [b; 24])
    }

    #[test]
    fn a_nonce_is_claimed_once_and_an_unkept_claim_is_taken_back() {
        let spent = Arc::new(Spent::default());
        let (a, b) = (nonce(1, 100), nonce(2, 100));
        let mut first = spent.claims();
        assert!(first.claim(&a));
        assert!(!first.claim(&a), "twice in one transaction");
        // Claimed and not yet kept: another transaction cannot spend it meanwhile.
        let mut other = spent.claims();
        assert!(!other.claim(&a));
        assert!(other.claim(&b));
        first.keep();
        drop(other);
        assert!(spent.contains(&a.nonce));
        assert!(!spent.contains(&b.nonce), "its transaction did not commit");
        assert!(spent.claims().claim(&b));
        assert_eq!(spent.len(), 1, "a claim not kept is taken back");
    }

    #[test]
    fn the_purge_forgets_only_the_expired() {
        let spent = Arc::new(Spent::default());
        let mut c = spent.claims();
        assert!(c.claim(&nonce(1, 100)) && c.claim(&nonce(2, 200)));
        c.keep();
        spent.forget_before(150);
        assert!(!spent.contains(&nonce(1, 100).nonce));
        assert!(spent.contains(&nonce(2, 200).nonce));
    }
}
