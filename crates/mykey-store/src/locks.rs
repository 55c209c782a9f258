//! Row locks taken in one order (PostgreSQL; SQLite has one writer and takes none): the rows
//! of a table by ID, ascending, so that two transactions locking overlapping sets never wait
//! on each other. Callers lock people first, then rounds, then relying parties.

use mykey_platform::StoreError;
use sqlx::{ColumnIndex, Encode, Executor};

use crate::{Dialect, SqlStore, Stored, StoredRef, fail};

/// How a row is locked.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lock {
    /// `FOR UPDATE`: the row is the caller's until it commits.
    Update,
    /// `FOR KEY SHARE`: shared with others of its kind and with plain updates, excluding only
    /// `FOR UPDATE` (a grant batch's hold on its round).
    KeyShare,
}

/// IDs per statement (SQLite's and PostgreSQL's limits on bound values are far above).
const CHUNK: usize = 1000;

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: StoredRef<'a, D> + ColumnIndex<D::Row>,
    for<'a> &'a [u8]: StoredRef<'a, D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Option<&'a [u8]>: Encode<'a, D>,
    usize: ColumnIndex<D::Row>,
    i64: Stored<D>,
    Option<i64>: Stored<D>,
    i32: Stored<D>,
    bool: Stored<D>,
    String: Stored<D>,
    Option<String>: Stored<D>,
    Vec<u8>: Stored<D>,
{
    /// Locks the rows of `table` with `ids` (in any order, repeats allowed) where the backend
    /// runs writers side by side, in ascending ID order.
    pub(crate) async fn lock_in_order(
        tx: &mut sqlx::Transaction<'_, D>,
        table: &'static str,
        ids: &[i64],
        how: Lock,
    ) -> Result<(), StoreError> {
        if !D::ROW_LOCKS || ids.is_empty() {
            return Ok(());
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let how = match how {
            Lock::Update => " ORDER BY id FOR UPDATE",
            Lock::KeyShare => " ORDER BY id FOR KEY SHARE",
        };
        for chunk in ids.chunks(CHUNK) {
            let mut q =
                sqlx::QueryBuilder::<D>::new(format!("SELECT id FROM {table} WHERE id IN "));
            q.push_tuples(chunk, |mut b, id| {
                b.push_bind(*id);
            });
            q.push(how);
            q.build().fetch_all(&mut **tx).await.map_err(fail)?;
        }
        Ok(())
    }
}
