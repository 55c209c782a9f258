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

/// A reported transaction as written (see [`Dialect::insert_point_transactions`]).
#[derive(Clone, Copy, Debug)]
pub struct TransactionRow<'a> {
    /// The provider's own ID for it.
    pub transaction_id: &'a str,
    /// The application of its settlement user ID.
    pub application: i64,
    /// Its amount in yen.
    pub amount: i64,
    /// Its share: the amount times the round's rate, rounded down.
    pub points: i64,
    /// When it happened (Unix seconds).
    pub occurred_at: i64,
}

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
        // A share of the round: reports go side by side, a batch of the round waits for them
        // (and they for it), so no report commits below a sequence number a batch has passed.
        let share = if D::ROW_LOCKS { " FOR KEY SHARE" } else { "" };
        let found = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT purchase_rate, closed_at FROM point_rounds WHERE id = $1 \
             AND state <> 'draft'{share}"
        )))
        .bind(round.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(found) = found else {
            return Ok(Err(PlatformError::NotFound(NotFound::PointRound)));
        };
        let (rate, closed_at): (i64, Option<i64>) = (found.get(0), found.get(1));
        let reporting_secs =
            i64::try_from(mykey_platform::REPORTING_SECS_AFTER_CLOSE).unwrap_or(i64::MAX);
        if closed_at.is_some_and(|c| secs(at) > c.saturating_add(reporting_secs)) {
            return Ok(Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::ReportingEnded,
            ))));
        }
        let mut wanted: Vec<&str> = transactions
            .iter()
            .map(|t| t.settlement_user_id.as_str())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let known: HashMap<String, (i64, String, i64)> =
            D::point_applicants(&mut tx, provider.get(), round.get(), &wanted)
                .await?
                .into_iter()
                .map(|(su, id, state, submitted_at)| (su, (id, state, submitted_at)))
                .collect();
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
            if closed_at.is_some_and(|c| secs(t.occurred_at) > c) {
                return bad("occurred_at is after the round closed");
            }
            rows.push(TransactionRow {
                transaction_id: t.transaction_id.as_str(),
                application: *application,
                amount: i64::from(t.amount),
                points: i64::from(t.amount) * rate / 100,
                occurred_at: secs(t.occurred_at),
            });
        }
        let accepted =
            D::insert_point_transactions(&mut tx, provider.get(), round.get(), secs(at), &rows)
                .await?;
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
            "SELECT b.round_id, b.created_at, b.confirmed_at, s.grants, s.points, \
             s.ended_grants, s.ended_points FROM point_grant_batches b, \
             (SELECT COALESCE(SUM(CASE WHEN state IN ('instructed', 'confirmed') THEN 1 END), 0) \
              AS grants, \
              CAST(COALESCE(SUM(CASE WHEN state IN ('instructed', 'confirmed') THEN points END), 0) \
              AS BIGINT) AS points, \
              COALESCE(SUM(CASE WHEN state IN ('forfeited', 'cancelled') THEN 1 END), 0) \
              AS ended_grants, \
              CAST(COALESCE(SUM(CASE WHEN state IN ('forfeited', 'cancelled') THEN points END), 0) \
              AS BIGINT) AS ended_points \
              FROM point_grants WHERE batch_id = $1) s WHERE b.id = $1",
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

    /// A batch (docs/architecture.md §8.2): the round locked, so that reports, withdrawals and
    /// forfeitures of its applications wait (on PostgreSQL they take a share of it); the
    /// provider's transactions in the round numbered after its last batch's
    /// `counted_through` are summed per application, set-wise, and each validated one is
    /// instructed what its sum leaves of the cap after its earlier purchase grants.
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
            "SELECT purchase_cap FROM point_rounds WHERE id = $1 AND state <> 'draft'{lock}"
        )))
        .bind(round.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(found) = found else {
            return Ok(Err(PlatformError::NotFound(NotFound::PointRound)));
        };
        let cap: i64 = found.get(0);
        let after: i64 = sqlx::query(
            "SELECT CAST(COALESCE(MAX(counted_through), 0) AS BIGINT) FROM point_grant_batches \
             WHERE provider_id = $1 AND round_id = $2",
        )
        .bind(provider.get())
        .bind(round.get())
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?
        .get(0);
        let through: i64 = sqlx::query(
            "SELECT CAST(COALESCE(MAX(seq), $3) AS BIGINT) FROM point_transactions \
             WHERE provider_id = $1 AND round_id = $2 AND seq > $3",
        )
        .bind(provider.get())
        .bind(round.get())
        .bind(after)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?
        .get(0);
        sqlx::query(
            "INSERT INTO point_grant_batches (id, provider_id, round_id, created_at, counted_through) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(batch)
        .bind(provider.get())
        .bind(round.get())
        .bind(secs(at))
        .bind(through)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        // The fixed points of registered triggers (Art 24, 25), once per application and kind
        // (and the unique index says so too).
        let triggered = sqlx::query(
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
             ELSE r.public_fund_account_points END > 0",
        )
        .bind(batch)
        .bind(round.get())
        .bind(provider.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        // Per application, the sum of its new transactions, within what its earlier purchase
        // grants in the round left of the cap ($5). Both sums are set-wise: the earlier grants
        // are read once, from the provider's batches in the round, not once per holder.
        let granted = "COALESCE(p.granted, 0)";
        let purchased = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO point_grants (batch_id, application_id, kind, points, state) \
             SELECT $1, s.application_id, 'purchase', \
             CASE WHEN s.total < $5 - {granted} THEN s.total ELSE $5 - {granted} END, 'instructed' \
             FROM (SELECT application_id, SUM(points) AS total FROM point_transactions \
                   WHERE provider_id = $2 AND round_id = $3 AND seq > $4 AND seq <= $6 \
                   GROUP BY application_id) s \
             JOIN point_applications a ON a.id = s.application_id \
             LEFT JOIN (SELECT g.application_id, SUM(g.points) AS granted FROM point_grants g \
                   JOIN point_grant_batches b ON b.id = g.batch_id \
                   WHERE b.provider_id = $2 AND b.round_id = $3 AND g.kind = 'purchase' \
                   GROUP BY g.application_id) p ON p.application_id = s.application_id \
             WHERE a.state = 'validated' AND s.total > 0 AND {granted} < $5"
        )))
        .bind(batch)
        .bind(provider.get())
        .bind(round.get())
        .bind(after)
        .bind(cap)
        .bind(through)
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        // Nothing due, nothing kept (the transaction is rolled back), so that empty batches
        // cannot pile up: the transactions were worth no points (shares rounded down to
        // nothing, holders at the cap, applications ended), and counting them again in the
        // next batch gives them none again.
        if purchased == 0 && triggered == 0 {
            return Ok(Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::NothingDue,
            ))));
        }
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
                 WHERE g.batch_id = $1 AND g.state = 'instructed'",
            )
            .bind(batch)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?
            .iter()
            .map(|r| r.get(0))
            .collect();
            Self::lock_in_order(&mut tx, "persons", &people, crate::locks::Lock::Update).await?;
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
             t.transactions, t.amount, t.reported, \
             {}, {}, {}, {}, {}, {} \
             FROM relying_parties p LEFT JOIN (SELECT provider_id, COUNT(*) AS transactions, \
              CAST(SUM(amount) AS BIGINT) AS amount, CAST(SUM(points) AS BIGINT) AS reported \
              FROM point_transactions WHERE round_id = $1 GROUP BY provider_id) t \
             ON t.provider_id = p.id \
             WHERE p.id IN (SELECT relying_party_id FROM payment_services) ORDER BY p.id",
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
                    transactions: count(r.get::<Option<i64>, _>("transactions").unwrap_or(0)),
                    amount: count(r.get::<Option<i64>, _>("amount").unwrap_or(0)),
                    points_reported: count(r.get::<Option<i64>, _>("reported").unwrap_or(0)),
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
