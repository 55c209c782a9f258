//! SQLite's group commit (`login.rs`, `exchange.rs`): one task per kind of write takes every
//! write waiting, carries them out in one transaction and answers each only after the commit, so
//! a write is acknowledged only once it is on disk and many concurrent writes cost one flush.
//!
//! The transaction a group commit runs in: a batch begins it
//! in its first round trip to the connection's thread and commits it in its last, since sqlx's
//! `Transaction` would spend a round trip on each; on any error what ran of it is rolled back
//! here, so the connection goes back to the pool outside a transaction. A batch that never
//! finishes (its future dropped, or a panic) closes the connection instead, which rolls back
//! too: it cannot go back to the pool holding the write lock.

use std::sync::Arc;

use mykey_platform::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::spent::Spent;
use crate::fail;

/// Most writes committed together.
const BATCH: usize = 256;

/// A kind of write SQLite commits in groups: what one write is, what it answers, and how a
/// batch of them is written in one transaction.
pub(crate) trait GroupWrite: Send + Sync + 'static {
    /// One write.
    type Write: Send + Sync + 'static;
    /// What one write answers.
    type Outcome: Send + 'static;
    /// What is written, for the error when the task has stopped.
    const WHAT: &'static str;

    /// Writes `writes` in one transaction on `conn` (begun and committed by the batch itself,
    /// see [`on_connection`]); one outcome per write, in order.
    fn batch<'a>(
        conn: &'a mut SqliteConnection,
        spent: &'a Arc<Spent>,
        writes: &'a [Self::Write],
    ) -> impl Future<Output = Result<Vec<Self::Outcome>, StoreError>> + Send + 'a;
}

/// A write waiting for its group, and where to answer.
pub(crate) struct Job<G: GroupWrite> {
    write: G::Write,
    answer: oneshot::Sender<Result<G::Outcome, StoreError>>,
}

/// The group commit of one kind of write: a queue to its task. Cloning shares the one task.
pub(crate) struct GroupCommit<G: GroupWrite>(mpsc::Sender<Job<G>>);

impl<G: GroupWrite> Clone for GroupCommit<G> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<G: GroupWrite> std::fmt::Debug for GroupCommit<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GroupCommit({})", G::WHAT)
    }
}

impl<G: GroupWrite> GroupCommit<G> {
    /// Starts the task on the current runtime; it ends when the last clone is dropped.
    pub(crate) fn start(pool: SqlitePool, spent: Arc<Spent>) -> Self {
        let (tx, rx) = mpsc::channel(4 * BATCH);
        tokio::spawn(run::<G>(pool, spent, rx));
        Self(tx)
    }

    /// A handle that does not keep the task alive.
    pub(crate) fn downgrade(&self) -> mpsc::WeakSender<Job<G>> {
        self.0.downgrade()
    }

    /// Queues `write` and waits for its group's commit.
    pub(crate) async fn write(&self, write: G::Write) -> Result<G::Outcome, StoreError> {
        let (answer, answered) = oneshot::channel();
        let stopped =
            || StoreError::unavailable(format!("the SQLite {} writer has stopped", G::WHAT));
        self.0
            .send(Job { write, answer })
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn run<G: GroupWrite>(pool: SqlitePool, spent: Arc<Spent>, mut rx: mpsc::Receiver<Job<G>>) {
    let mut jobs = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut jobs, BATCH).await > 0 {
        let (writes, answers): (Vec<_>, Vec<_>) =
            jobs.drain(..).map(|j| (j.write, j.answer)).unzip();
        let done = on_connection(&pool, async |conn| G::batch(conn, &spent, &writes).await).await;
        match done {
            Ok(outcomes) => {
                for (answer, outcome) in answers.into_iter().zip(outcomes) {
                    // A client that went away meanwhile was still served; nobody to tell.
                    let _ = answer.send(Ok(outcome));
                }
            }
            Err(e) => {
                for answer in answers {
                    let _ = answer.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Runs `batch` on the pool's connection, rolling back what ran of its transaction if it fails.
pub(crate) async fn on_connection<T>(
    pool: &SqlitePool,
    batch: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut held = Held {
        conn: pool.acquire().await.map_err(fail)?,
        finished: false,
    };
    let done = batch(&mut held.conn).await;
    if done.is_err() {
        // Refused when the error came before BEGIN took effect: then there is nothing to undo.
        let _ = sqlx::query("ROLLBACK").execute(&mut *held.conn).await;
    }
    held.finished = true;
    done
}

/// The connection a batch runs on: dropped before its batch has finished, it is closed, not
/// pooled.
struct Held {
    conn: PoolConnection<Sqlite>,
    finished: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    use super::*;

    async fn pool(path: &std::path::Path) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_millis(100));
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .expect("a pool on a temporary file")
    }

    async fn write(pool: &SqlitePool, v: i64) -> Result<(), StoreError> {
        on_connection(pool, async |c| {
            sqlx::query("BEGIN IMMEDIATE; INSERT INTO t VALUES ($1); COMMIT")
                .bind(v)
                .execute(&mut *c)
                .await
                .map_err(fail)?;
            Ok(())
        })
        .await
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_batch_leaves_no_transaction_open() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let pool = pool(&dir.path().join("t.sqlite3")).await;
        sqlx::query("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .expect("a table");
        write(&pool, 1).await.expect("a first write");

        // Fails after BEGIN: rolled back, and the next batch begins afresh.
        assert!(write(&pool, 1).await.is_err(), "the key is taken");
        write(&pool, 2).await.expect("a write after a failed batch");

        // Abandoned after BEGIN (its future dropped): the connection is closed, which rolls
        // back, and the pool opens another.
        let abandoned = on_connection(&pool, async |c| {
            sqlx::query("BEGIN IMMEDIATE; INSERT INTO t VALUES (3)")
                .execute(&mut *c)
                .await
                .map_err(fail)?;
            std::future::pending::<Result<(), StoreError>>().await
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(50), abandoned)
                .await
                .is_err()
        );
        write(&pool, 4)
            .await
            .expect("a write after an abandoned batch");
        let kept: Vec<i64> = sqlx::query_scalar("SELECT v FROM t ORDER BY v")
            .fetch_all(&pool)
            .await
            .expect("the rows");
        assert_eq!(kept, [1, 2, 4]);
    }
}
