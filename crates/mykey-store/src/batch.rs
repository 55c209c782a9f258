//! The transaction a SQLite group commit runs in (`login.rs`, `exchange.rs`). A batch begins it
//! in its first round trip to the connection's thread and commits it in its last, since sqlx's
//! `Transaction` would spend a round trip on each; on any error what ran of it is rolled back
//! here, so the connection goes back to the pool outside a transaction.

use mykey_platform::StoreError;
use sqlx::{SqliteConnection, SqlitePool};

use crate::fail;

/// Runs `batch` on the pool's connection, rolling back what ran of its transaction if it fails.
pub(crate) async fn on_connection<T>(
    pool: &SqlitePool,
    batch: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut conn = pool.acquire().await.map_err(fail)?;
    let done = batch(&mut conn).await;
    if done.is_err() {
        // Refused when the error came before BEGIN took effect: then there is nothing to undo.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    done
}
