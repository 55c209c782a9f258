//! Maintenance windows and the end of the system ([`mykey_platform::MaintenanceStore`],
//! [`mykey_platform::TerminationStore`]): each kept with the events that tell every approved
//! relying party, in one transaction.

use mykey_pki::UnixTime;
use mykey_platform::{
    EventKind, EventSubject, Forfeiture, Function, MaintenanceStore, MaintenanceWindow, Notice,
    PersonId, StoreError, Termination, TerminationStore,
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

    /// What relying parties are told of window `w` (`kind`).
    fn window_event(kind: EventKind, w: &MaintenanceWindow) -> (EventSubject, serde_json::Value) {
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
        (
            EventSubject::Announcement(format!("maintenance-window-{}", w.id)),
            detail,
        )
    }

    /// Tells every approved relying party `kind` about `subject`, inside `tx`.
    async fn tell_every_relying_party(
        tx: &mut sqlx::Transaction<'_, D>,
        kind: EventKind,
        (subject, detail): (EventSubject, serde_json::Value),
        at: UnixTime,
    ) -> Result<(), StoreError> {
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
        let told = Self::window_event(EventKind::MaintenanceAnnounced, &kept);
        Self::tell_every_relying_party(
            &mut tx,
            EventKind::MaintenanceAnnounced,
            told,
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
        let told = Self::window_event(EventKind::MaintenanceEnded, &w);
        Self::tell_every_relying_party(&mut tx, EventKind::MaintenanceEnded, told, at).await?;
        tx.commit().await.map_err(fail)?;
        Ok(Some(w))
    }
}

const TERMINATION: &str = "SELECT id, terminates_at, notice_en, notice_ja, announced_at, \
                           urgent_reason, withdrawn_at, carried_out_at FROM terminations";

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
    fn termination_row(r: &D::Row) -> Termination {
        Termination {
            id: r.get("id"),
            terminates_at: time(r.get("terminates_at")),
            notice: Notice {
                en: r.get("notice_en"),
                ja: r.get("notice_ja"),
            },
            announced_at: time(r.get("announced_at")),
            urgent_reason: r.get("urgent_reason"),
            withdrawn_at: r.get::<Option<i64>, _>("withdrawn_at").map(time),
            carried_out_at: r.get::<Option<i64>, _>("carried_out_at").map(time),
        }
    }

    /// What relying parties are told of termination `t` (`kind`).
    fn termination_event(kind: EventKind, t: &Termination) -> (EventSubject, serde_json::Value) {
        let detail = match kind {
            EventKind::TerminationWithdrawn => json!({"terminates_at": t.terminates_at.as_secs()}),
            _ => json!({
                "terminates_at": t.terminates_at.as_secs(),
                "notice": {"en": t.notice.en, "ja": t.notice.ja},
                "urgent": t.urgent_reason.is_some(),
            }),
        };
        (
            EventSubject::Announcement(format!("termination-{}", t.id)),
            detail,
        )
    }
}

#[async_trait::async_trait]
impl<D: Dialect> TerminationStore for SqlStore<D>
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
    async fn insert_termination(&self, t: &Termination) -> Result<Option<Termination>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        // The partial unique index (one standing) decides a race between two administrators.
        let row = sqlx::query(
            "INSERT INTO terminations (terminates_at, notice_en, notice_ja, announced_at, urgent_reason) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(secs(t.terminates_at))
        .bind(t.notice.en.as_str())
        .bind(t.notice.ja.as_str())
        .bind(secs(t.announced_at))
        .bind(t.urgent_reason.as_deref())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let kept = Termination {
            id: row.get("id"),
            ..t.clone()
        };
        let told = Self::termination_event(EventKind::TerminationAnnounced, &kept);
        Self::tell_every_relying_party(
            &mut tx,
            EventKind::TerminationAnnounced,
            told,
            t.announced_at,
        )
        .await?;
        tx.commit().await.map_err(fail)?;
        Ok(Some(kept))
    }

    async fn termination(&self) -> Result<Option<Termination>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TERMINATION} WHERE withdrawn_at IS NULL"
        )))
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        Ok(row.as_ref().map(Self::termination_row))
    }

    async fn withdraw_termination(&self, at: UnixTime) -> Result<Option<Termination>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let row = sqlx::query(
            "UPDATE terminations SET withdrawn_at = $1 \
             WHERE withdrawn_at IS NULL AND terminates_at > $1 \
             RETURNING id, terminates_at, notice_en, notice_ja, announced_at, urgent_reason, \
             withdrawn_at, carried_out_at",
        )
        .bind(secs(at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let t = Self::termination_row(&row);
        let told = Self::termination_event(EventKind::TerminationWithdrawn, &t);
        Self::tell_every_relying_party(&mut tx, EventKind::TerminationWithdrawn, told, at).await?;
        tx.commit().await.map_err(fail)?;
        Ok(Some(t))
    }

    async fn forfeit_for_termination(
        &self,
        at: UnixTime,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let people: Vec<i64> = sqlx::query(
            "SELECT DISTINCT person_id FROM point_applications \
             WHERE state IN ('submitted', 'validated') ORDER BY person_id LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?
        .iter()
        .map(|r| r.get(0))
        .collect();
        if people.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        Self::lock_in_order(&mut tx, "persons", &people, crate::locks::Lock::Update).await?;
        for p in &people {
            Self::forfeit_points_in(&mut tx, PersonId::new(*p), Forfeiture::SystemTerminated, at)
                .await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(people.len())
    }

    async fn termination_carried_out(&self, id: i64, at: UnixTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE terminations SET carried_out_at = $2 WHERE id = $1 AND carried_out_at IS NULL",
        )
        .bind(id)
        .bind(secs(at))
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        Ok(())
    }
}
