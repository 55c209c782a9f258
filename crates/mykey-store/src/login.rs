//! Logins, spent nonces and expiry: the SQL shared by both backends, and SQLite's group commit.
//!
//! A login is one transaction ([`mykey_platform::Store::login`]). On PostgreSQL each login runs
//! its own, and concurrent commits share WAL flushes. SQLite has one writer and flushes once per
//! commit (`synchronous=FULL`, about 0.3 ms here), so its logins go through a [`LoginBatcher`]:
//! one task takes every login waiting, runs them in one transaction and answers each after the
//! commit — a login is acknowledged only once it is on disk, and 64 concurrent logins cost one
//! flush instead of 64.

use std::collections::HashMap;
use std::sync::Arc;

use mykey_pki::UnixTime;
use mykey_platform::{LoginOutcome, LoginWrite, NewLog, PersonId, StoreError, UsedNonce};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::backend::{PostgresStore, SqliteStore, secs};
use crate::fail;
use crate::spent::Spent;

/// Most logins committed together (each binds 5 values and 6 a log entry, a statement at a
/// time; SQLite allows 32,766 a statement).
const BATCH: usize = 256;

macro_rules! login_impl {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn purge_tx(&self, at: UnixTime) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin().await.map_err(fail)?;
                let mut gone = Self::purge_nonces(&mut tx, at).await?;
                // Access tokens and sessions are keyed by their expiry first (8 bytes,
                // big-endian: mykey_platform's ordered_token.rs, migrations 0011 and 0013), so
                // the expired ones are the keys below the cut's 8 bytes, found on the primary
                // key.
                let cut = at.as_secs().to_be_bytes();
                for purge in [
                    "DELETE FROM access_tokens WHERE token_hash < $1",
                    "DELETE FROM sessions WHERE token_hash < $1",
                ] {
                    gone += sqlx::query(purge)
                        .bind(cut.as_slice())
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?
                        .rows_affected();
                }
                for purge in [
                    "DELETE FROM ppid_codes WHERE expires_at < $1",
                    "DELETE FROM client_tokens WHERE expires_at < $1",
                    // A request stays while a token of its login does (logout and reuse find
                    // the tokens through it).
                    "DELETE FROM authorizations WHERE keep_until < $1 AND NOT EXISTS \
                     (SELECT 1 FROM access_tokens t WHERE t.authorization_id = authorizations.id)",
                ] {
                    gone += sqlx::query(purge)
                        .bind(secs(at))
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?
                        .rows_affected();
                }
                gone += sqlx::query("DELETE FROM authorization_reports WHERE reported_at < $1")
                    .bind(secs(at).saturating_sub(mykey_platform::oidc::REPORT_KEEP_SECS as i64))
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?
                    .rows_affected();
                tx.commit().await.map_err(fail)?;
                self.nonces_purged(at);
                Ok(gone)
            }
        }
    };
}
pub(crate) use login_impl;

impl PostgresStore {
    /// Spends `n` inside the caller's transaction: `false` if it was spent before.
    pub(crate) async fn spend_nonce(
        ex: &mut sqlx::PgConnection,
        n: &UsedNonce,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO used_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(n.nonce.as_slice())
        .bind(secs(n.expires_at))
        .execute(&mut *ex)
        .await
        .map_err(fail)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn use_nonce_tx(&self, n: &UsedNonce) -> Result<bool, StoreError> {
        let mut c = self.pool().acquire().await.map_err(fail)?;
        Self::spend_nonce(&mut c, n).await
    }

    /// Spent nonces are keyed by their expiry first (migration 0011): the expired ones are the
    /// keys below the cut's 8 bytes, found on the primary key.
    pub(crate) async fn purge_nonces(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        at: UnixTime,
    ) -> Result<u64, StoreError> {
        let cut = at.as_secs().to_be_bytes();
        Ok(sqlx::query("DELETE FROM used_nonces WHERE nonce < $1")
            .bind(cut.as_slice())
            .execute(&mut **tx)
            .await
            .map_err(fail)?
            .rows_affected())
    }

    pub(crate) fn nonces_purged(&self, _at: UnixTime) {}
}

impl SqliteStore {
    /// Spends `n` (see `spent.rs`): claimed in memory, appended, kept once committed.
    pub(crate) async fn use_nonce_tx(&self, n: &UsedNonce) -> Result<bool, StoreError> {
        let mut claims = self.spent.claims();
        if !claims.claim(n) {
            return Ok(false);
        }
        let mut q = QueryBuilder::<Sqlite>::new("");
        crate::spent::push_append(&mut q, [n]);
        q.build().execute(&self.pool).await.map_err(fail)?;
        claims.keep();
        Ok(true)
    }

    pub(crate) async fn purge_nonces(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        at: UnixTime,
    ) -> Result<u64, StoreError> {
        // Nonces are appended in the order spent, their expiries nearly in that order too (a
        // few lifetimes, up to 10 minutes): the table's beginning up to the first nonce still
        // live has expired, and goes. The few expired nonces after that one go at a later
        // purge; until then the table keeps them (memory forgets them now), which is harmless,
        // as an expired nonce is refused before anyone asks whether it was spent. Finding the
        // first live nonce reads just the rows that go, so no index on the expiry is needed.
        Ok(sqlx::query(
            "DELETE FROM spent_nonces WHERE id < coalesce(\
             (SELECT id FROM spent_nonces WHERE expires_at >= $1 ORDER BY id LIMIT 1), \
             (SELECT max(id) + 1 FROM spent_nonces))",
        )
        .bind(secs(at))
        .execute(&mut **tx)
        .await
        .map_err(fail)?
        .rows_affected())
    }

    /// After the purge's commit: memory forgets every expired nonce (the table may keep a few
    /// spent after a live one; harmless, as said above).
    pub(crate) fn nonces_purged(&self, at: UnixTime) {
        self.spent.forget_before(secs(at));
    }
}

/// A login waiting for the batcher, and where to answer.
pub(crate) struct Job {
    login: LoginWrite,
    answer: oneshot::Sender<Result<LoginOutcome, StoreError>>,
}

/// SQLite's group commit for logins (see the module docs). Cloning shares the one task.
#[derive(Clone, Debug)]
pub(crate) struct LoginBatcher(mpsc::Sender<Job>);

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl LoginBatcher {
    /// Starts the task on the current runtime; it ends when the last clone is dropped.
    pub(crate) fn start(pool: SqlitePool, spent: Arc<Spent>) -> Self {
        let (tx, rx) = mpsc::channel(4 * BATCH);
        tokio::spawn(run(pool, spent, rx));
        Self(tx)
    }

    /// A handle that does not keep the task alive.
    pub(crate) fn downgrade(&self) -> mpsc::WeakSender<Job> {
        self.0.downgrade()
    }

    /// Queues `login` and waits for its commit.
    pub(crate) async fn login(&self, login: &LoginWrite) -> Result<LoginOutcome, StoreError> {
        let (answer, answered) = oneshot::channel();
        let stopped = || StoreError("the SQLite login writer has stopped".into());
        self.0
            .send(Job {
                login: login.clone(),
                answer,
            })
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn run(pool: SqlitePool, spent: Arc<Spent>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut jobs, BATCH).await > 0 {
        match commit(&pool, &spent, &jobs).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    // A client that went away meanwhile still logged in; nobody to tell.
                    let _ = job.answer.send(Ok(outcome));
                }
            }
            Err(e) => {
                for job in jobs.drain(..) {
                    let _ = job.answer.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Every job's login in one transaction (see `batch.rs`), all of them committed or none, in two
/// round trips to the connection's thread: the first begins the transaction and reads whose the
/// issuance numbers are, with the head of each one's log; the second writes the batch set-wise
/// (nonces, log entries, sessions) and commits.
async fn commit(
    pool: &SqlitePool,
    spent: &Arc<Spent>,
    jobs: &[Job],
) -> Result<Vec<LoginOutcome>, StoreError> {
    crate::batch::on_connection(pool, async |conn| batch(conn, spent, jobs).await).await
}

async fn batch(
    conn: &mut SqliteConnection,
    spent: &Arc<Spent>,
    jobs: &[Job],
) -> Result<Vec<LoginOutcome>, StoreError> {
    let mut out = vec![LoginOutcome::UnknownNumber; jobs.len()];

    // Whose issuance numbers, and their logs' heads: an unknown number's login is refused, and
    // its nonce not spent.
    let mut q = QueryBuilder::<Sqlite>::new(
        "BEGIN IMMEDIATE; SELECT i.number, i.person_id, l.seq, l.at, l.kind, l.detail, l.hash \
         FROM issuance_numbers i LEFT JOIN ",
    );
    q.push(crate::facts::head_of("i.person_id"));
    q.push(" WHERE i.number IN ");
    q.push_tuples(jobs, |mut b, j| {
        b.push_bind(j.login.issuance_number.as_be_bytes());
    });
    let mut persons: HashMap<Vec<u8>, PersonId> = HashMap::new();
    let mut heads = HashMap::new();
    for r in q.build().fetch_all(&mut *conn).await.map_err(fail)? {
        persons.insert(r.get("number"), PersonId(r.get("person_id")));
        if r.get::<Option<i64>, _>("seq").is_some() {
            let (person, head) = SqliteStore::log_head_row(&r)?;
            heads.insert(person, head);
        }
    }
    let known: Vec<(usize, PersonId)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| {
            let n = j.login.issuance_number.as_be_bytes();
            persons.get(n).map(|p| (i, *p))
        })
        .collect();
    if known.len() < jobs.len() {
        // Rare (a card's first login): an unknown number's answer that was already used is
        // told so, before its number is tied to anyone.
        for (o, j) in out.iter_mut().zip(jobs) {
            if spent.contains(&j.login.nonce.nonce) {
                *o = LoginOutcome::Replayed;
            }
        }
    }

    // Spend the nonces; of a nonce answered twice in one batch the first answer wins.
    let mut claims = spent.claims();
    let mut done = Vec::with_capacity(known.len());
    for (i, p) in known {
        out[i] = if claims.claim(&jobs[i].login.nonce) {
            done.push((i, p));
            LoginOutcome::Done(p)
        } else {
            LoginOutcome::Replayed
        };
    }
    if done.is_empty() {
        sqlx::query("ROLLBACK")
            .execute(&mut *conn)
            .await
            .map_err(fail)?;
        return Ok(out);
    }
    // The log entries, chained on in batch order.
    let entries: Vec<(PersonId, UnixTime, &NewLog)> = done
        .iter()
        .flat_map(|(i, p)| {
            let w = &jobs[*i].login;
            w.logs.iter().map(move |log| (*p, w.at, log))
        })
        .collect();
    let new = crate::facts::chain_on(&mut heads, &entries);
    let mut q = QueryBuilder::<Sqlite>::new("");
    crate::spent::push_append(&mut q, done.iter().map(|(i, _)| &jobs[*i].login.nonce));
    if !new.is_empty() {
        q.push("; ");
        SqliteStore::push_log_entries(&mut q, &new);
    }
    q.push("; INSERT INTO sessions (token_hash, person_id, expires_at) ");
    q.push_values(&done, |mut b, (i, p)| {
        let w = &jobs[*i].login;
        b.push_bind(w.token_hash.as_slice())
            .push_bind(p.0)
            .push_bind(secs(w.expires_at));
    });
    q.push("; COMMIT");
    q.build().execute(&mut *conn).await.map_err(fail)?;
    claims.keep();
    Ok(out)
}
