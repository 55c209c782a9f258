//! SQLite's group commit for logins. A login is one transaction
//! ([`mykey_platform::LoginStore::login`]). SQLite has one writer and flushes once per commit
//! (`synchronous=FULL`, about 0.3 ms here), so its logins go through a [`LoginBatcher`]: one
//! task takes every login waiting, runs them in one transaction and answers each after the
//! commit — a login is acknowledged only once it is on disk, and 64 concurrent logins cost one
//! flush instead of 64. (On PostgreSQL each login runs its own transaction, and concurrent
//! commits share WAL flushes: `postgres.rs`.)

use std::collections::HashMap;
use std::sync::Arc;

use mykey_pki::UnixTime;
use mykey_platform::{LoginOutcome, LoginWrite, NewLog, PersonId, StoreError};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::spent::Spent;
use crate::{SqliteStore, fail, secs};

/// Most logins committed together (each binds 5 values and 6 a log entry, a statement at a
/// time; SQLite allows 32,766 a statement).
const BATCH: usize = 256;

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
        let stopped = || StoreError::unavailable("the SQLite login writer has stopped");
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
    super::batch::on_connection(pool, async |conn| batch(conn, spent, jobs).await).await
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
    q.push(crate::chain::head_of("i.person_id"));
    q.push(" WHERE i.number IN ");
    q.push_tuples(jobs, |mut b, j| {
        b.push_bind(j.login.issuance_number.as_be_bytes());
    });
    let mut persons: HashMap<Vec<u8>, PersonId> = HashMap::new();
    let mut heads = HashMap::new();
    for r in q.build().fetch_all(&mut *conn).await.map_err(fail)? {
        persons.insert(r.get("number"), PersonId::new(r.get("person_id")));
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
    let new = crate::chain::chain_on(&mut heads, &entries);
    let mut q = QueryBuilder::<Sqlite>::new("");
    super::spent::push_append(&mut q, done.iter().map(|(i, _)| &jobs[*i].login.nonce));
    if !new.is_empty() {
        q.push("; ");
        SqliteStore::push_log_entries(&mut q, &new);
    }
    q.push("; INSERT INTO sessions (token_hash, person_id, expires_at) ");
    q.push_values(&done, |mut b, (i, p)| {
        let w = &jobs[*i].login;
        b.push_bind(w.token_hash.as_slice())
            .push_bind(p.get())
            .push_bind(secs(w.expires_at));
    });
    q.push("; COMMIT");
    q.build().execute(&mut *conn).await.map_err(fail)?;
    claims.keep();
    Ok(out)
}
