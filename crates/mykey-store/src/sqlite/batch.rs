//! The transaction a SQLite group commit runs in (`login.rs`, `exchange.rs`). A batch begins it
//! in its first round trip to the connection's thread and commits it in its last, since sqlx's
//! `Transaction` would spend a round trip on each; on any error what ran of it is rolled back
//! here, so the connection goes back to the pool outside a transaction. A batch that never
//! finishes (its future dropped, or a panic) closes the connection instead, which rolls back
//! too: it cannot go back to the pool holding the write lock.

use mykey_platform::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};

use crate::fail;

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
