//! SQLite's WAL checkpoints off the write path. By default the connection whose commit takes
//! the WAL past 1,000 pages copies them into the database file and syncs it, inside that commit:
//! every few hundred milliseconds under load, one batch of logins waits for it. Instead the
//! writing connection never checkpoints (`wal_autocheckpoint=0`), and a second connection runs
//! a PASSIVE checkpoint (which never blocks the writer) five times a second. Pages written many
//! times between two checkpoints are copied once. Under steady load a PASSIVE checkpoint never
//! quite catches up with the writer, and the WAL only starts again from its beginning once one
//! has, so when it passes 64 MiB a RESTART checkpoint waits for the writer's transaction to end,
//! copies what little the PASSIVE one left, and lets the WAL start over.

use std::time::Duration;

use sqlx::{Row, SqlitePool};
use tokio::sync::mpsc::WeakSender;

/// How often the checkpointer runs.
const EVERY: Duration = Duration::from_millis(200);
/// WAL frames (pages; 4 KiB each by default) past which the WAL is made to start over.
const RESTART_AT_FRAMES: i64 = 16_384;

/// Checkpoints through `pool` until `alive` has no strong sender left (the store is gone).
pub(crate) fn start<T: Send + 'static>(pool: SqlitePool, alive: WeakSender<T>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if alive.upgrade().is_none() {
                break;
            }
            // Answers (busy, frames in the WAL, frames copied).
            let frames = match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await
            {
                Ok(row) => row.get::<i64, _>(1),
                Err(e) => {
                    // The next tick tries again; the WAL only grows meanwhile.
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                    continue;
                }
            };
            if frames > RESTART_AT_FRAMES {
                // Just after a PASSIVE run, the RESTART (which holds the writer back while it
                // works) has only the last few milliseconds' pages left to copy.
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(error = %e, "WAL restart failed");
                }
            }
        }
        pool.close().await;
    });
}
