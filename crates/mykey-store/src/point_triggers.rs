//! The health-insurance and public-fund-account triggers (migration 0027): the holder's claim,
//! the registry's answers, and the queue the sweep reads — the `PointStore` methods
//! `points.rs` leaves to this file. A trigger's grant is written by the provider's batch
//! (`point_grants.rs`), once per application and kind by a unique index.
//!
//! Locks: a claim inserts its row before it appends to the person's log, and a check updates
//! its row before it does; nothing locks a person before a trigger, so the two orders agree.

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{
    AwaitingTrigger, NewLog, NotFound, PersonId, PlatformError, PointApplicationId,
    PointApplicationState, PointConflict, PointGrantState, PointRoundState, PointTrigger,
    PointTriggerKind, PointTriggerState, StoreError,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs, time};

const TRIGGER: &str = "SELECT t.application_id, t.kind, t.state, t.claimed_at, t.checked_at, \
     t.registered_at, a.person_id, r.name AS round_name, \
     CAST(CASE t.kind WHEN 'health-insurance' THEN r.health_insurance_points \
          ELSE r.public_fund_account_points END AS BIGINT) AS points, \
     (SELECT g.state FROM point_grants g WHERE g.application_id = t.application_id \
      AND g.kind = t.kind ORDER BY g.id DESC LIMIT 1) AS grant_state \
     FROM point_triggers t JOIN point_applications a ON a.id = t.application_id \
     JOIN point_rounds r ON r.id = a.round_id";

/// Applications a trigger may still be granted on.
const LIVE: &str = "('submitted', 'validated')";

fn conflict(c: PointConflict) -> PlatformError {
    PlatformError::Conflict(mykey_platform::Conflict::Point(c))
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
    fn trigger_row(r: &D::Row) -> Result<PointTrigger, StoreError> {
        Ok(PointTrigger {
            application: PointApplicationId::new(r.get("application_id")),
            kind: PointTriggerKind::parse(r.get("kind"))
                .ok_or_else(|| StoreError::corrupt("unknown trigger kind"))?,
            state: PointTriggerState::parse(r.get("state"))
                .ok_or_else(|| StoreError::corrupt("unknown trigger state"))?,
            points: u64::try_from(r.get::<i64, _>("points")).unwrap_or_default(),
            claimed_at: time(r.get("claimed_at")),
            checked_at: r.get::<Option<i64>, _>("checked_at").map(time),
            registered_at: r.get::<Option<i64>, _>("registered_at").map(time),
            grant: r
                .get::<Option<String>, _>("grant_state")
                .map(|s| {
                    PointGrantState::parse(&s)
                        .ok_or_else(|| StoreError::corrupt("unknown grant state"))
                })
                .transpose()?,
        })
    }

    pub(crate) async fn issuance_numbers_of(
        &self,
        person: PersonId,
    ) -> Result<Vec<IssuanceNumber>, StoreError> {
        sqlx::query(
            "SELECT number FROM issuance_numbers WHERE person_id = $1 \
             ORDER BY link_seq DESC, linked_at DESC",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?
        .iter()
        .map(|r| IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("number")).map_err(fail))
        .collect()
    }

    pub(crate) async fn claim_trigger(
        &self,
        person: PersonId,
        application: PointApplicationId,
        kind: PointTriggerKind,
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<Result<bool, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let found = sqlx::query(
            "SELECT a.state, r.state AS round_state, CAST(CASE $2 \
             WHEN 'health-insurance' THEN r.health_insurance_points \
             ELSE r.public_fund_account_points END AS BIGINT) AS points \
             FROM point_applications a JOIN point_rounds r ON r.id = a.round_id \
             WHERE a.id = $1 AND a.person_id = $3",
        )
        .bind(application.get())
        .bind(kind.as_str())
        .bind(person.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(found) = found else {
            return Ok(Err(PlatformError::NotFound(NotFound::PointApplication)));
        };
        let live = PointApplicationState::parse(found.get("state")).is_some_and(|s| {
            matches!(
                s,
                PointApplicationState::Submitted | PointApplicationState::Validated
            )
        });
        if !live {
            return Ok(Err(conflict(PointConflict::ApplicationEnded)));
        }
        if PointRoundState::parse(found.get("round_state")) != Some(PointRoundState::Open) {
            return Ok(Err(conflict(PointConflict::RoundNotOpen)));
        }
        if found.get::<i64, _>("points") <= 0 {
            return Ok(Err(conflict(PointConflict::TriggerNotOffered)));
        }
        // Only on a live application; a claim made already stays as it is.
        let taken = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO point_triggers (application_id, kind, state, claimed_at) \
             SELECT id, $2, 'awaiting-registration', $3 FROM point_applications \
             WHERE id = $1 AND state IN {LIVE} ON CONFLICT (application_id, kind) DO NOTHING"
        )))
        .bind(application.get())
        .bind(kind.as_str())
        .bind(secs(at))
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        if taken == 1 {
            for log in logs {
                Self::append(&mut tx, person, at, log).await?;
            }
        }
        tx.commit().await.map_err(fail)?;
        Ok(Ok(taken == 1))
    }

    pub(crate) async fn record_trigger_check(
        &self,
        application: PointApplicationId,
        kind: PointTriggerKind,
        registered: Option<UnixTime>,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x PointTrigger) -> NewLog + Sync),
    ) -> Result<Option<PointTrigger>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let live = format!(
            "application_id = $2 AND kind = $3 AND application_id IN \
             (SELECT id FROM point_applications WHERE id = $2 AND state IN {LIVE})"
        );
        let became = match registered {
            Some(since) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE point_triggers SET state = 'registered', registered_at = $4, \
                 checked_at = $1 WHERE {live} AND state = 'awaiting-registration'"
            )))
            .bind(secs(at))
            .bind(application.get())
            .bind(kind.as_str())
            .bind(secs(since))
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected(),
            None => 0,
        };
        if became == 0 {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE point_triggers SET checked_at = $1 WHERE {live}"
            )))
            .bind(secs(at))
            .bind(application.get())
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TRIGGER} WHERE t.application_id = $1 AND t.kind = $2 AND a.state IN {LIVE}"
        )))
        .bind(application.get())
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let trigger = Self::trigger_row(&row)?;
        if became == 1 {
            let person = PersonId::new(row.get("person_id"));
            Self::append(&mut tx, person, at, &log(&trigger)).await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(Some(trigger))
    }

    pub(crate) async fn triggers_of(
        &self,
        person: PersonId,
    ) -> Result<Vec<PointTrigger>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TRIGGER} WHERE a.person_id = $1 ORDER BY t.application_id, t.kind"
        )))
        .bind(person.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?
        .iter()
        .map(Self::trigger_row)
        .collect()
    }

    pub(crate) async fn awaiting_triggers(
        &self,
        checked_before: UnixTime,
        limit: usize,
    ) -> Result<Vec<AwaitingTrigger>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TRIGGER} WHERE t.state = 'awaiting-registration' \
             AND (t.checked_at IS NULL OR t.checked_at < $1) \
             AND a.state IN {LIVE} AND r.state = 'open' \
             ORDER BY COALESCE(t.checked_at, 0), t.application_id, t.kind LIMIT $2"
        )))
        .bind(secs(checked_before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?
        .iter()
        .map(|r| {
            Ok((
                Self::trigger_row(r)?,
                PersonId::new(r.get("person_id")),
                r.get::<String, _>("round_name"),
            ))
        })
        .collect()
    }
}
