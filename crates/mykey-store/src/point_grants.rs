//! Card points granted (migration 0025): transactions reported, batches of grant instructions,
//! confirmations and the statement — the `PointStore` methods `points.rs` leaves to this file.
//! Set-wise SQL throughout, so that a batch for a million holders is a few statements.
//!
//! Locks, where the backend takes row locks (PostgreSQL): a batch locks its round (one batch
//! at a time per round) and the validated applications it counts, so that a forfeiture or a
//! withdrawal runs wholly before it (and the application is not counted) or after it (and ends
//! its grant); a confirmation locks the batch's holders before it touches their grants, as a
//! forfeiture does, so the two never wait on each other.

use std::collections::HashMap;

use mykey_pki::UnixTime;
use mykey_platform::{
    Conflict, InvalidError, NewLog, NewPointTransaction, NotFound, PersonId, PlatformError,
    PointApplicationId, PointConflict, PointGrant, PointGrantBatch, PointGrantKind,
    PointGrantState, PointRoundId, RelyingPartyId, StatementLine, StoreError, TransactionIntake,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs, time};

/// People per statement when a confirmation appends to their logs (SQLite binds at most
/// 32,766 values in one statement; each entry takes six).
const LOG_CHUNK: usize = 1000;

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
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
    fn lock_clause() -> &'static str {
        if D::ROW_LOCKS { " FOR UPDATE" } else { "" }
    }

    pub(crate) async fn report_transactions(
        &self,
        provider: RelyingPartyId,
        round: PointRoundId,
        transactions: &[NewPointTransaction],
        at: UnixTime,
    ) -> Result<Result<TransactionIntake, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let rate: Option<i64> = sqlx::query("SELECT purchase_rate FROM point_rounds WHERE id = $1")
            .bind(round.get())
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?
            .map(|r| r.get(0));
        let Some(rate) = rate else {
            return Ok(Err(PlatformError::NotFound(NotFound::PointRound)));
        };
        let mut wanted: Vec<&str> = transactions
            .iter()
            .map(|t| t.settlement_user_id.as_str())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut q = sqlx::QueryBuilder::<D>::new(
            "SELECT settlement_user_id, id, state, submitted_at FROM point_applications \
             WHERE round_id = ",
        );
        q.push_bind(round.get())
            .push(" AND provider_id = ")
            .push_bind(provider.get())
            .push(" AND settlement_user_id IN ");
        q.push_tuples(&wanted, |mut b, s| {
            b.push_bind(*s);
        });
        let mut known: HashMap<String, (i64, String, i64)> = HashMap::new();
        for r in q.build().fetch_all(&mut *tx).await.map_err(fail)? {
            known.insert(r.get(0), (r.get(1), r.get(2), r.get(3)));
        }
        let mut rows = Vec::with_capacity(transactions.len());
        for (index, t) in transactions.iter().enumerate() {
            let bad = |why| {
                Ok(Err(PlatformError::Invalid(
                    InvalidError::PointTransaction { index, why },
                )))
            };
            let Some((application, state, submitted_at)) = known.get(t.settlement_user_id.as_str())
            else {
                return bad(
                    "no application of the provider in the round has this settlement user ID",
                );
            };
            if state != "validated" {
                return bad("the application of this settlement user ID has ended");
            }
            if secs(t.occurred_at) < *submitted_at {
                return bad("occurred_at is before the application was made");
            }
            rows.push((t, *application, i64::from(t.amount) * rate / 100));
        }
        let mut q = sqlx::QueryBuilder::<D>::new(
            "INSERT INTO point_transactions (provider_id, transaction_id, application_id, amount, \
             points, occurred_at, received_at) ",
        );
        q.push_values(&rows, |mut b, (t, application, points)| {
            b.push_bind(provider.get())
                .push_bind(t.transaction_id.as_str())
                .push_bind(*application)
                .push_bind(i64::from(t.amount))
                .push_bind(*points)
                .push_bind(secs(t.occurred_at))
                .push_bind(secs(at));
        });
        q.push(" ON CONFLICT (provider_id, transaction_id) DO NOTHING");
        let accepted = q
            .build()
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        tx.commit().await.map_err(fail)?;
        Ok(Ok(TransactionIntake {
            accepted,
            repeated: transactions.len() as u64 - accepted,
        }))
    }

    async fn batch_in(
        tx: &mut sqlx::Transaction<'_, D>,
        id: i64,
    ) -> Result<PointGrantBatch, StoreError> {
        let r = sqlx::query(
            "SELECT b.round_id, b.created_at, b.confirmed_at, \
             (SELECT COUNT(*) FROM point_grants g WHERE g.batch_id = b.id \
              AND g.state IN ('instructed', 'confirmed')) AS grants, \
             (SELECT CAST(COALESCE(SUM(g.points), 0) AS BIGINT) FROM point_grants g \
              WHERE g.batch_id = b.id AND g.state IN ('instructed', 'confirmed')) AS points, \
             (SELECT COUNT(*) FROM point_grants g WHERE g.batch_id = b.id \
              AND g.state IN ('forfeited', 'cancelled')) AS ended_grants, \
             (SELECT CAST(COALESCE(SUM(g.points), 0) AS BIGINT) FROM point_grants g \
              WHERE g.batch_id = b.id AND g.state IN ('forfeited', 'cancelled')) AS ended_points \
             FROM point_grant_batches b WHERE b.id = $1",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await
        .map_err(fail)?;
        Ok(PointGrantBatch {
            id,
            round: PointRoundId::new(r.get("round_id")),
            grants: count(r.get("grants")),
            points: count(r.get("points")),
            ended_grants: count(r.get("ended_grants")),
            ended_points: count(r.get("ended_points")),
            created_at: time(r.get("created_at")),
            confirmed_at: r.get::<Option<i64>, _>("confirmed_at").map(time),
        })
    }

    pub(crate) async fn instruct_grants(
        &self,
        provider: RelyingPartyId,
        round: PointRoundId,
        batch: i64,
        at: UnixTime,
    ) -> Result<Result<PointGrantBatch, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let lock = Self::lock_clause();
        let found = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM point_rounds WHERE id = $1 AND state <> 'draft'{lock}"
        )))
        .bind(round.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        if found.is_none() {
            return Ok(Err(PlatformError::NotFound(NotFound::PointRound)));
        }
        sqlx::query(
            "INSERT INTO point_grant_batches (id, provider_id, round_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(batch)
        .bind(provider.get())
        .bind(round.get())
        .bind(secs(at))
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        // The validated applications counted, locked: a forfeiture or withdrawal waits.
        let counted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE point_transactions SET batch_id = $1 WHERE provider_id = $2 AND batch_id IS NULL \
             AND application_id IN (SELECT id FROM point_applications WHERE round_id = $3 \
             AND provider_id = $2 AND state = 'validated'{lock})"
        )))
        .bind(batch)
        .bind(provider.get())
        .bind(round.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        // The fixed points of registered triggers (Art 24, 25), once per application and kind
        // (and the unique index says so too).
        let lock_applications = if D::ROW_LOCKS { " FOR UPDATE OF a" } else { "" };
        let triggered = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO point_grants (batch_id, application_id, kind, points, state) \
             SELECT $1, t.application_id, t.kind, CASE t.kind \
             WHEN 'health-insurance' THEN r.health_insurance_points \
             ELSE r.public_fund_account_points END, 'instructed' \
             FROM point_triggers t JOIN point_applications a ON a.id = t.application_id \
             JOIN point_rounds r ON r.id = a.round_id \
             WHERE a.round_id = $2 AND a.provider_id = $3 AND a.state = 'validated' \
             AND t.state = 'registered' AND NOT EXISTS (SELECT 1 FROM point_grants g \
             WHERE g.application_id = t.application_id AND g.kind = t.kind \
             AND g.state IN ('instructed', 'confirmed')) \
             AND CASE t.kind WHEN 'health-insurance' THEN r.health_insurance_points \
             ELSE r.public_fund_account_points END > 0{lock_applications}"
        )))
        .bind(batch)
        .bind(round.get())
        .bind(provider.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        // Nothing counted, nothing kept: empty batches cannot pile up. (Transactions counted
        // past the cap are spent, and their batch is kept, with no grant.)
        if counted == 0 && triggered == 0 {
            return Ok(Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::NothingDue,
            ))));
        }
        let due = "CASE WHEN s.total < r.purchase_cap - a.purchase_points THEN s.total \
                   ELSE r.purchase_cap - a.purchase_points END";
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO point_grants (batch_id, application_id, kind, points, state) \
             SELECT $1, a.id, 'purchase', {due}, 'instructed' \
             FROM (SELECT application_id, SUM(points) AS total FROM point_transactions \
                   WHERE batch_id = $1 GROUP BY application_id) s \
             JOIN point_applications a ON a.id = s.application_id \
             JOIN point_rounds r ON r.id = a.round_id \
             WHERE {due} > 0"
        )))
        .bind(batch)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        sqlx::query(
            "UPDATE point_applications SET purchase_points = purchase_points + \
             (SELECT g.points FROM point_grants g WHERE g.batch_id = $1 \
              AND g.application_id = point_applications.id AND g.kind = 'purchase') \
             WHERE id IN (SELECT application_id FROM point_grants WHERE batch_id = $1 \
              AND kind = 'purchase')",
        )
        .bind(batch)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        let b = Self::batch_in(&mut tx, batch).await?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(b))
    }

    pub(crate) async fn grants_of(
        &self,
        provider: RelyingPartyId,
        batch: i64,
        after: Option<PointApplicationId>,
        limit: usize,
    ) -> Result<Result<Vec<PointGrant>, PlatformError>, StoreError> {
        let mine =
            sqlx::query("SELECT 1 FROM point_grant_batches WHERE id = $1 AND provider_id = $2")
                .bind(batch)
                .bind(provider.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(fail)?;
        if mine.is_none() {
            return Ok(Err(PlatformError::NotFound(NotFound::PointGrantBatch)));
        }
        let rows = sqlx::query(
            "SELECT g.application_id, a.settlement_user_id, g.kind, g.points, g.state, \
             g.confirmed_at FROM point_grants g JOIN point_applications a ON a.id = g.application_id \
             WHERE g.batch_id = $1 AND g.application_id > $2 \
             ORDER BY g.application_id, g.kind LIMIT $3",
        )
        .bind(batch)
        .bind(after.map_or(-1, PointApplicationId::get))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        let grants = rows
            .iter()
            .map(|r| {
                Ok(PointGrant {
                    batch,
                    application: PointApplicationId::new(r.get("application_id")),
                    settlement_user_id: r
                        .get::<Option<&str>, _>("settlement_user_id")
                        .ok_or_else(|| StoreError::corrupt("a grant of no settlement user"))?
                        .parse()
                        .map_err(fail)?,
                    kind: PointGrantKind::parse(r.get("kind"))
                        .ok_or_else(|| StoreError::corrupt("unknown grant kind"))?,
                    points: count(r.get("points")),
                    state: PointGrantState::parse(r.get("state"))
                        .ok_or_else(|| StoreError::corrupt("unknown grant state"))?,
                    confirmed_at: r.get::<Option<i64>, _>("confirmed_at").map(time),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Ok(grants))
    }

    pub(crate) async fn confirm_grants(
        &self,
        provider: RelyingPartyId,
        batch: i64,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x str, u64, PointGrantKind) -> NewLog + Sync),
    ) -> Result<Result<PointGrantBatch, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let found = sqlx::query(
            "SELECT b.confirmed_at, r.name FROM point_grant_batches b \
             JOIN point_rounds r ON r.id = b.round_id WHERE b.id = $1 AND b.provider_id = $2",
        )
        .bind(batch)
        .bind(provider.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(found) = found else {
            return Ok(Err(PlatformError::NotFound(NotFound::PointGrantBatch)));
        };
        if found.get::<Option<i64>, _>(0).is_some() {
            return Ok(Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::GrantBatchConfirmed,
            ))));
        }
        let round: String = found.get(1);
        // The holders first, as a forfeiture locks them before their grants.
        if D::ROW_LOCKS {
            let people: Vec<i64> = sqlx::query(
                "SELECT DISTINCT a.person_id FROM point_grants g \
                 JOIN point_applications a ON a.id = g.application_id \
                 WHERE g.batch_id = $1 AND g.state = 'instructed' ORDER BY a.person_id",
            )
            .bind(batch)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?
            .iter()
            .map(|r| r.get(0))
            .collect();
            for chunk in people.chunks(LOG_CHUNK) {
                let mut q = sqlx::QueryBuilder::<D>::new("SELECT id FROM persons WHERE id IN ");
                q.push_tuples(chunk, |mut b, id| {
                    b.push_bind(*id);
                });
                q.push(" ORDER BY id FOR UPDATE");
                q.build().fetch_all(&mut *tx).await.map_err(fail)?;
            }
        }
        sqlx::query("UPDATE point_grant_batches SET confirmed_at = $1 WHERE id = $2")
            .bind(secs(at))
            .bind(batch)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        let granted = sqlx::query(
            "UPDATE point_grants SET state = 'confirmed', confirmed_at = $1 \
             WHERE batch_id = $2 AND state = 'instructed' RETURNING application_id, points, kind",
        )
        .bind(secs(at))
        .bind(batch)
        .fetch_all(&mut *tx)
        .await
        .map_err(fail)?;
        let mut people: HashMap<i64, i64> = HashMap::new();
        let ids: Vec<i64> = granted.iter().map(|r| r.get(0)).collect();
        for chunk in ids.chunks(LOG_CHUNK) {
            let mut q = sqlx::QueryBuilder::<D>::new(
                "SELECT id, person_id FROM point_applications WHERE id IN ",
            );
            q.push_tuples(chunk, |mut b, id| {
                b.push_bind(*id);
            });
            for r in q.build().fetch_all(&mut *tx).await.map_err(fail)? {
                people.insert(r.get(0), r.get(1));
            }
        }
        let mut entries = Vec::with_capacity(granted.len());
        for r in &granted {
            let kind = PointGrantKind::parse(r.get(2))
                .ok_or_else(|| StoreError::corrupt("unknown grant kind"))?;
            let person = people
                .get(&r.get::<i64, _>(0))
                .ok_or_else(|| StoreError::corrupt("a grant of no application"))?;
            entries.push((PersonId::new(*person), log(&round, count(r.get(1)), kind)));
        }
        entries.sort_by_key(|(p, _)| *p);
        for chunk in entries.chunks(LOG_CHUNK) {
            let each: Vec<(PersonId, UnixTime, &NewLog)> =
                chunk.iter().map(|(p, l)| (*p, at, l)).collect();
            Self::append_each(&mut tx, &each).await?;
        }
        let b = Self::batch_in(&mut tx, batch).await?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(b))
    }

    pub(crate) async fn statement(
        &self,
        round: PointRoundId,
    ) -> Result<Vec<StatementLine>, StoreError> {
        let sum = |what: &str, state: &str| {
            format!(
                "(SELECT CAST(COALESCE(SUM(g.points), 0) AS BIGINT) FROM point_grants g \
                 JOIN point_applications a ON a.id = g.application_id \
                 WHERE a.round_id = $1 AND a.provider_id = p.id{state}) AS {what}"
            )
        };
        let sql = format!(
            "SELECT p.id, p.name, \
             (SELECT COUNT(*) FROM point_applications a WHERE a.round_id = $1 \
              AND a.provider_id = p.id AND a.settlement_user_id IS NOT NULL) AS applications, \
             (SELECT COUNT(*) FROM point_transactions t JOIN point_applications a \
              ON a.id = t.application_id WHERE a.round_id = $1 AND t.provider_id = p.id) AS transactions, \
             (SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) FROM point_transactions t \
              JOIN point_applications a ON a.id = t.application_id \
              WHERE a.round_id = $1 AND t.provider_id = p.id) AS amount, \
             (SELECT CAST(COALESCE(SUM(t.points), 0) AS BIGINT) FROM point_transactions t \
              JOIN point_applications a ON a.id = t.application_id \
              WHERE a.round_id = $1 AND t.provider_id = p.id) AS reported, \
             {}, {}, {}, {}, {}, {} \
             FROM relying_parties p WHERE p.id IN (SELECT relying_party_id FROM payment_services) \
             ORDER BY p.id",
            sum("instructed", ""),
            sum("health_insurance", " AND g.kind = 'health-insurance'"),
            sum("public_fund_account", " AND g.kind = 'public-fund-account'"),
            sum("confirmed", " AND g.state = 'confirmed'"),
            sum("ended", " AND g.state IN ('forfeited', 'cancelled')"),
            sum("outstanding", " AND g.state = 'instructed'"),
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(round.get())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?
            .iter()
            .map(|r| {
                Ok(StatementLine {
                    provider: RelyingPartyId::new(r.get(0)),
                    provider_name: r.get(1),
                    applications: count(r.get("applications")),
                    transactions: count(r.get("transactions")),
                    amount: count(r.get("amount")),
                    points_reported: count(r.get("reported")),
                    points_instructed: count(r.get("instructed")),
                    points_health_insurance: count(r.get("health_insurance")),
                    points_public_fund_account: count(r.get("public_fund_account")),
                    points_confirmed: count(r.get("confirmed")),
                    points_ended: count(r.get("ended")),
                    points_outstanding: count(r.get("outstanding")),
                })
            })
            .collect()
    }
}
