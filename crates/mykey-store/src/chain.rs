//! The person log's hash chain: appending entries inside a caller's transaction — one
//! ([`SqlStore::append`]) or one to each of many people set-wise ([`SqlStore::append_each`]) —
//! and reading entries back. Each entry's hash covers the one before
//! ([`mykey_platform::LogEntry::next`]), so a person can verify their log end to end.

use std::collections::HashMap;

use mykey_pki::UnixTime;
use mykey_platform::{LogEntry, LogHash, NewLog, PersonId, StoreError};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, SqlStore, Stored, StoredRef, fail, hash32};

/// The join that finds the head of the log of `person` (a column) on the primary key: the
/// newest `seq` in one index seek, its row in another. Grouping a person's entries instead
/// would read all of them, so a log thousands of entries long would slow each login.
pub(crate) fn head_of(person: &str) -> String {
    format!(
        "log_entries l ON l.person_id = {person} \
         AND l.seq = (SELECT MAX(m.seq) FROM log_entries m WHERE m.person_id = {person})"
    )
}

/// The entries that append `entries` to the logs whose heads are `heads` (by person), in order;
/// `heads` ends at the new heads.
pub(crate) fn chain_on(
    heads: &mut HashMap<i64, LogEntry>,
    entries: &[(PersonId, UnixTime, &NewLog)],
) -> Vec<(PersonId, LogEntry)> {
    let mut new = Vec::with_capacity(entries.len());
    for (p, at, log) in entries {
        let e = LogEntry::next(
            heads.get(&p.get()),
            at.as_secs(),
            log.kind.as_str(),
            &log.detail,
        );
        heads.insert(p.get(), e.clone());
        new.push((*p, e));
    }
    new
}

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
    /// Appends one entry to a person's chain inside the caller's transaction, first
    /// locking the person's row where the backend needs it (PostgreSQL); SQLite's
    /// IMMEDIATE transactions already serialise writers.
    pub(crate) async fn append(
        tx: &mut sqlx::Transaction<'_, D>,
        person: PersonId,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<LogEntry, StoreError> {
        if D::ROW_LOCKS {
            sqlx::query("SELECT id FROM persons WHERE id = $1 FOR UPDATE")
                .bind(person.get())
                .execute(&mut **tx)
                .await
                .map_err(fail)?;
        }
        let last = sqlx::query(
            "SELECT seq, at, kind, detail, hash FROM log_entries WHERE person_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(person.get())
        .fetch_optional(&mut **tx)
        .await
        .map_err(fail)?;
        let prev = match last {
            Some(r) => Some(LogEntry {
                seq: r.get::<i64, _>("seq") as u64,
                at: r.get::<i64, _>("at") as u64,
                kind: r.get("kind"),
                detail: r.get("detail"),
                hash: LogHash(hash32(r.get::<&[u8], _>("hash"))?),
            }),
            None => None,
        };
        let entry = LogEntry::next(prev.as_ref(), at.as_secs(), log.kind.as_str(), &log.detail);
        sqlx::query(
            "INSERT INTO log_entries (person_id, seq, at, kind, detail, hash) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(person.get())
        .bind(entry.seq as i64)
        .bind(entry.at as i64)
        .bind(entry.kind.as_str())
        .bind(entry.detail.as_str())
        .bind(entry.hash.0.as_slice())
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
        Ok(entry)
    }

    /// Appends one entry to each of several people's logs inside the caller's
    /// transaction, set-wise: their rows locked where the backend needs it (in id order,
    /// so that two such transactions cannot deadlock), their heads read in one statement,
    /// the entries written in another.
    pub(crate) async fn append_each(
        tx: &mut sqlx::Transaction<'_, D>,
        entries: &[(PersonId, UnixTime, &NewLog)],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<i64> = entries.iter().map(|(p, _, _)| p.get()).collect();
        ids.sort_unstable();
        ids.dedup();
        Self::lock_in_order(tx, "persons", &ids, crate::locks::Lock::Update).await?;
        let mut q = sqlx::QueryBuilder::<D>::new(
            "SELECT l.person_id, l.seq, l.at, l.kind, l.detail, l.hash FROM (VALUES ",
        );
        let mut each = q.separated(", ");
        for id in &ids {
            each.push("(")
                .push_bind_unseparated(*id)
                .push_unseparated(")");
        }
        q.push(") AS p JOIN ");
        q.push(crate::chain::head_of("p.column1"));
        let mut heads = std::collections::HashMap::new();
        for r in q.build().fetch_all(&mut **tx).await.map_err(fail)? {
            let (person, head) = Self::log_head_row(&r)?;
            heads.insert(person, head);
        }
        let new = crate::chain::chain_on(&mut heads, entries);
        let mut q = sqlx::QueryBuilder::<D>::new("");
        Self::push_log_entries(&mut q, &new);
        q.build().execute(&mut **tx).await.map_err(fail)?;
        Ok(())
    }

    /// Log entries as read (`seq, at, kind, detail, hash`).
    pub(crate) fn log_rows(rows: &[D::Row]) -> Result<Vec<LogEntry>, StoreError> {
        rows.iter()
            .map(|r| {
                Ok(LogEntry {
                    seq: r.get::<i64, _>("seq") as u64,
                    at: r.get::<i64, _>("at") as u64,
                    kind: r.get("kind"),
                    detail: r.get("detail"),
                    hash: LogHash(hash32(r.get::<&[u8], _>("hash"))?),
                })
            })
            .collect()
    }

    /// A log head read with [`head_of`](crate::chain::head_of): whose, and the entry.
    pub(crate) fn log_head_row(r: &D::Row) -> Result<(i64, LogEntry), StoreError> {
        Ok((
            r.get("person_id"),
            LogEntry {
                seq: r.get::<i64, _>("seq") as u64,
                at: r.get::<i64, _>("at") as u64,
                kind: r.get("kind"),
                detail: r.get("detail"),
                hash: LogHash(hash32(r.get::<&[u8], _>("hash"))?),
            },
        ))
    }

    /// Pushes onto `q` the statement that writes `new` (from [`chain_on`](crate::chain::chain_on)).
    pub(crate) fn push_log_entries(q: &mut sqlx::QueryBuilder<D>, new: &[(PersonId, LogEntry)]) {
        q.push("INSERT INTO log_entries (person_id, seq, at, kind, detail, hash) ");
        q.push_values(new, |mut b, (p, e)| {
            b.push_bind(p.get())
                .push_bind(e.seq as i64)
                .push_bind(e.at as i64)
                .push_bind(e.kind.as_str())
                .push_bind(e.detail.as_str())
                .push_bind(e.hash.0.as_slice());
        });
    }
}
