//! SQLite's group commit for card-point applications (`batch.rs`): a round's opening brings
//! many at once, and each alone would cost a commit — its flush and the writing of every page
//! it touched (the application's five indexes, the log's, the events'). One task takes every
//! application waiting and runs each in a savepoint of one transaction, so that one refused
//! (the unique index on round and person, a closed round …) is rolled back alone and the rest
//! commit together; each is answered after the commit. The application's own statements are
//! the ones PostgreSQL runs in a transaction of its own (`SqlStore::apply_in`).

use std::sync::Arc;

use mykey_platform::{NewLog, NewPointApplication, PlatformError, PointApplication, StoreError};
use sqlx::{Connection, SqliteConnection};

use super::batch::GroupWrite;
use super::spent::Spent;
use crate::{SqliteStore, fail};

/// Point applications, committed in groups.
#[derive(Debug)]
pub(crate) struct Applications;

/// What an application answers: taken, refused (rolled back alone), or failed alone.
type Outcome = Result<Result<PointApplication, PlatformError>, StoreError>;

impl GroupWrite for Applications {
    type Write = (NewPointApplication, Vec<NewLog>);
    type Outcome = Outcome;
    const WHAT: &'static str = "point application";

    fn batch<'a>(
        conn: &'a mut SqliteConnection,
        _spent: &'a Arc<Spent>,
        writes: &'a [Self::Write],
    ) -> impl Future<Output = Result<Vec<Outcome>, StoreError>> + Send + 'a {
        batch(conn, writes)
    }
}

async fn batch(
    conn: &mut SqliteConnection,
    writes: &[(NewPointApplication, Vec<NewLog>)],
) -> Result<Vec<Outcome>, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(fail)?;
    let mut out = Vec::with_capacity(writes.len());
    for (new, logs) in writes {
        let mut savepoint = tx.begin().await.map_err(fail)?;
        let outcome = SqliteStore::apply_in(&mut savepoint, new, logs).await;
        if matches!(outcome, Ok(Ok(_))) {
            savepoint.commit().await.map_err(fail)?;
        } else {
            savepoint.rollback().await.map_err(fail)?;
        }
        out.push(outcome);
    }
    tx.commit().await.map_err(fail)?;
    Ok(out)
}
