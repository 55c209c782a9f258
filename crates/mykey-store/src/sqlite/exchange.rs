//! SQLite's group commit for code exchanges, as `login.rs` does for logins: one task takes every
//! exchange waiting and carries them out in one transaction with a few set-wise statements —
//! the client assertions' `jti`s spent (`spent.rs`), the codes' requests read, the redeemed ones
//! marked, their access tokens stored — and answers each only after the commit. The rule each exchange
//! follows is [`mykey_platform::oidc::CodeExchange::step`], the one PostgreSQL applies one
//! exchange at a time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use mykey_platform::oidc::{
    Authorization, CodeExchange, ExchangeOutcome, ExchangeStep, IdTokenAlg,
};
use mykey_platform::{StoreError, UsedNonce};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::spent::Spent;
use crate::{SqliteStore, fail, secs};

/// Most exchanges committed together (each binds at most 3 values a statement).
const BATCH: usize = 256;

pub(crate) struct Job {
    exchange: CodeExchange,
    answer: oneshot::Sender<Result<ExchangeOutcome, StoreError>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

/// The batching task's queue. Cloning shares the one task.
#[derive(Clone, Debug)]
pub(crate) struct ExchangeBatcher(mpsc::Sender<Job>);

impl ExchangeBatcher {
    /// Starts the task on the current runtime; it ends when the last clone is dropped.
    pub(crate) fn start(pool: SqlitePool, spent: Arc<Spent>) -> Self {
        let (tx, rx) = mpsc::channel(4 * BATCH);
        tokio::spawn(run(pool, spent, rx));
        Self(tx)
    }

    /// Queues `x` and waits for its commit.
    pub(crate) async fn exchange(&self, x: &CodeExchange) -> Result<ExchangeOutcome, StoreError> {
        let (answer, answered) = oneshot::channel();
        let stopped = || StoreError::unavailable("the SQLite exchange writer has stopped");
        self.0
            .send(Job {
                exchange: x.clone(),
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

/// The batch in one transaction (see `batch.rs`), in two round trips to the connection's thread.
async fn commit(
    pool: &SqlitePool,
    spent: &Arc<Spent>,
    jobs: &[Job],
) -> Result<Vec<ExchangeOutcome>, StoreError> {
    super::batch::on_connection(pool, async |conn| batch(conn, spent, jobs).await).await
}

async fn batch(
    tx: &mut SqliteConnection,
    spent: &Arc<Spent>,
    jobs: &[Job],
) -> Result<Vec<ExchangeOutcome>, StoreError> {
    let mut out: Vec<Option<ExchangeOutcome>> = vec![None; jobs.len()];

    // Spend the assertions' jtis (see `spent.rs`); of one jti twice in a batch the first wins.
    let mut claims = spent.claims();
    let mut fresh: Vec<&UsedNonce> = Vec::new();
    for (o, j) in out.iter_mut().zip(jobs) {
        if let Some(n) = &j.exchange.assertion {
            if claims.claim(n) {
                fresh.push(n);
            } else {
                *o = Some(ExchangeOutcome::AssertionReplayed);
            }
        }
    }
    // One round trip to the connection's thread: the transaction begun, the spent jtis
    // appended, and the requests the codes name read.
    let mut q = QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE; ");
    if !fresh.is_empty() {
        super::spent::push_append(&mut q, fresh.iter().copied());
        q.push("; ");
    }
    q.push(
        "SELECT a.*, c.id_token_alg FROM authorizations a \
         LEFT JOIN oidc_clients c ON c.relying_party_id = a.relying_party_id WHERE a.code_hash IN ",
    );
    q.push_tuples(jobs, |mut b, j| {
        b.push_bind(j.exchange.code_hash.as_slice());
    });
    let requests = q.build().fetch_all(&mut *tx).await.map_err(fail)?;

    let mut found: HashMap<Vec<u8>, (Authorization, IdTokenAlg)> = HashMap::new();
    for r in &requests {
        let a = SqliteStore::authorization_row(r)?;
        let alg = r
            .get::<Option<&str>, _>("id_token_alg")
            .and_then(IdTokenAlg::parse)
            .unwrap_or_default();
        found.insert(r.get::<Vec<u8>, _>("code_hash"), (a, alg));
    }

    // Each exchange's step, in order: a code redeemed earlier in the batch is a reuse.
    let mut taken: HashSet<i64> = HashSet::new();
    let mut redeem: Vec<(usize, i64)> = Vec::new();
    let mut revoke: Vec<(usize, i64)> = Vec::new();
    for (i, j) in jobs.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let hit = found.get(j.exchange.code_hash.as_slice());
        let id = hit.map(|(a, _)| a.id);
        let taken_now = id.is_some_and(|id| taken.contains(&id));
        match j.exchange.step(hit.map(|(a, _)| a), taken_now) {
            ExchangeStep::Redeem => {
                let (a, alg) = hit.expect("a redeemed code was found");
                taken.insert(a.id);
                redeem.push((i, a.id));
                out[i] = Some(ExchangeOutcome::Redeemed(Box::new(a.clone()), *alg));
            }
            ExchangeStep::Revoke => {
                let (a, _) = hit.expect("a reused code was found");
                revoke.push((i, a.id));
                out[i] = Some(ExchangeOutcome::Reused {
                    revoked: 0,
                    person: a.person,
                });
            }
            ExchangeStep::Refuse(o) => out[i] = Some(o),
        }
    }
    let mut committed = false;
    if !redeem.is_empty() {
        // The request's row stays while its token does (see the purge); only the status moves.
        // Both statements in one round trip, and the commit with them unless reuses follow.
        let mut q = QueryBuilder::<Sqlite>::new(
            "UPDATE authorizations SET status = 'redeemed' WHERE status = 'continued' AND id IN ",
        );
        q.push_tuples(&redeem, |mut b, (_, id)| {
            b.push_bind(*id);
        });
        q.push("; INSERT INTO access_tokens (token_hash, authorization_id, expires_at) ");
        q.push_values(&redeem, |mut b, (i, id)| {
            let x = &jobs[*i].exchange;
            b.push_bind(x.token_hash.as_slice())
                .push_bind(*id)
                .push_bind(secs(x.token_expires_at));
        });
        if revoke.is_empty() {
            q.push("; COMMIT");
            committed = true;
        }
        q.build().execute(&mut *tx).await.map_err(fail)?;
    }
    // Reuses (rare): after the batch's own tokens, so a code used twice in one batch loses both.
    for (i, id) in revoke {
        let at = secs(jobs[i].exchange.at);
        let revoked = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE authorization_id = $2 AND revoked_at IS NULL AND expires_at >= $1",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        if let Some(ExchangeOutcome::Reused { revoked: r, .. }) = &mut out[i] {
            *r = revoked;
        }
        for o in out.iter_mut() {
            if matches!(o, Some(ExchangeOutcome::Redeemed(a, _)) if a.id == id) {
                // Its token was just revoked by the reuse: answer it as refused too.
                *o = Some(ExchangeOutcome::Unknown);
            }
        }
    }
    if !committed {
        sqlx::query("COMMIT")
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    claims.keep();
    Ok(out
        .into_iter()
        .map(|o| o.unwrap_or(ExchangeOutcome::Unknown))
        .collect())
}
