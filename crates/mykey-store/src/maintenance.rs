//! Maintenance windows ([`mykey_platform::MaintenanceStore`]): kept with the events that tell
//! every approved relying party, in one transaction.

use mykey_pki::UnixTime;
use mykey_platform::{
    EventKind, EventSubject, Function, MaintenanceStore, MaintenanceWindow, Notice, StoreError,
};
use serde_json::json;
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, SqlStore, Stored, StoredRef, fail, secs, time};

const WINDOW: &str = "SELECT id, starts_at, ends_at, functions, notice_en, notice_ja, \
                      announced_at, urgent_reason, ended_at FROM maintenance_windows";

/// The functions as stored: their names, space-separated.
fn functions_text(fs: &[Function]) -> String {
    fs.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(" ")
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
    fn window_row(r: &D::Row) -> Result<MaintenanceWindow, StoreError> {
        let functions = r
            .get::<&str, _>("functions")
            .split(' ')
            .map(|f| {
                Function::parse(f).ok_or_else(|| {
                    StoreError::corrupt("a maintenance window's function is unknown")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(MaintenanceWindow {
            id: r.get("id"),
            starts_at: time(r.get("starts_at")),
            ends_at: time(r.get("ends_at")),
            functions,
            notice: Notice {
                en: r.get("notice_en"),
                ja: r.get("notice_ja"),
            },
            announced_at: time(r.get("announced_at")),
            urgent_reason: r.get("urgent_reason"),
            ended_at: r.get::<Option<i64>, _>("ended_at").map(time),
        })
    }

    /// Tells every approved relying party about window `w` (`kind`), inside `tx`.
    async fn tell_every_relying_party(
        tx: &mut sqlx::Transaction<'_, D>,
        kind: EventKind,
        w: &MaintenanceWindow,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let detail = match kind {
            EventKind::MaintenanceEnded => json!({
                "starts_at": w.starts_at.as_secs(),
                "ends_at": w.end().as_secs(),
                "functions": w.functions.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                "called_off": w.end() <= w.starts_at,
            }),
            _ => json!({
                "starts_at": w.starts_at.as_secs(),
                "ends_at": w.ends_at.as_secs(),
                "functions": w.functions.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                "notice": {"en": w.notice.en, "ja": w.notice.ja},
                "urgent": w.urgent_reason.is_some(),
            }),
        };
        let subject = EventSubject::Announcement(format!("maintenance-window-{}", w.id));
        let rps: Vec<i64> =
            sqlx::query("SELECT id FROM relying_parties WHERE status = 'approved' ORDER BY id")
                .fetch_all(&mut **tx)
                .await
                .map_err(fail)?
                .iter()
                .map(|r| r.get("id"))
                .collect();
        // All of them locked first, in ID order, as every writer of events does.
        Self::lock_relying_parties(tx, &rps).await?;
        for rp in rps {
            Self::enqueue(tx, rp, kind, &subject, &detail, at).await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl<D: Dialect> MaintenanceStore for SqlStore<D>
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
    async fn insert_maintenance(
        &self,
        w: &MaintenanceWindow,
    ) -> Result<MaintenanceWindow, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let row = sqlx::query(
            "INSERT INTO maintenance_windows \
             (starts_at, ends_at, functions, notice_en, notice_ja, announced_at, urgent_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(secs(w.starts_at))
        .bind(secs(w.ends_at))
        .bind(functions_text(&w.functions))
        .bind(w.notice.en.as_str())
        .bind(w.notice.ja.as_str())
        .bind(secs(w.announced_at))
        .bind(w.urgent_reason.as_deref())
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        let kept = MaintenanceWindow {
            id: row.get("id"),
            ..w.clone()
        };
        Self::tell_every_relying_party(
            &mut tx,
            EventKind::MaintenanceAnnounced,
            &kept,
            w.announced_at,
        )
        .await?;
        tx.commit().await.map_err(fail)?;
        Ok(kept)
    }

    async fn maintenance_windows(
        &self,
        at: UnixTime,
    ) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{WINDOW} WHERE ends_at > $1 AND (ended_at IS NULL OR ended_at > $1) \
             ORDER BY starts_at, id"
        )))
        .bind(secs(at))
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        rows.iter().map(Self::window_row).collect()
    }

    async fn end_maintenance(
        &self,
        id: i64,
        at: UnixTime,
    ) -> Result<Option<MaintenanceWindow>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        // Only a window not over; the condition decides a race between two operators.
        let row = sqlx::query(
            "UPDATE maintenance_windows SET ended_at = $2 \
             WHERE id = $1 AND ends_at > $2 AND ended_at IS NULL \
             RETURNING id, starts_at, ends_at, functions, notice_en, notice_ja, announced_at, \
             urgent_reason, ended_at",
        )
        .bind(id)
        .bind(secs(at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let w = Self::window_row(&row)?;
        Self::tell_every_relying_party(&mut tx, EventKind::MaintenanceEnded, &w, at).await?;
        tx.commit().await.map_err(fail)?;
        Ok(Some(w))
    }
}
