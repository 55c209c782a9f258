//! The card-point programme ([`mykey_platform::PointStore`], migration 0024): payment services,
//! rounds, applications and forfeitures. One application per person per round, one live
//! application per Payment Service ID and one application per settlement user ID at a
//! provider in a round are the database's unique indexes; the code only tells which one
//! refused. Every transaction that touches a person's applications locks the person first
//! (by appending to their log), then the relying parties it tells, as the rest of the store
//! does, so that two of them never wait on each other.

use mykey_pki::UnixTime;
use mykey_platform::{
    Conflict, EventKind, EventSubject, Forfeiture, IdAlphabet, IdCheck, IdShape, NewLog,
    NewPaymentService, NewPointApplication, NotFound, PaymentService, PaymentServiceId,
    PaymentServiceKind, PaymentServiceStatus, PersonId, PlatformError, PointApplication,
    PointApplicationId, PointApplicationState, PointConflict, PointParty, PointRound, PointRoundId,
    PointRoundState, PointRoundTerms, PointStore, RelyingPartyId, StoreError, ValidationAnswer,
};
use serde_json::json;
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs, time};

const SERVICE: &str = "SELECT s.id, s.relying_party_id, r.name AS provider_name, s.name, s.kind, \
     s.id_alphabet, s.id_min_length, s.id_max_length, s.id_prefix, s.id_check, s.code_digits, \
     s.status, s.created_at FROM payment_services s JOIN relying_parties r ON r.id = s.relying_party_id";

const ROUND: &str = "SELECT id, name, purchase_rate, purchase_cap, health_insurance_points, \
     public_fund_account_points, state, created_at, opened_at, closed_at FROM point_rounds";

const APPLICATION: &str = "SELECT a.id, a.round_id, pr.name AS round_name, \
     a.payment_service_id, s.name AS service_name, a.provider_id, p.name AS provider_name, \
     a.payment_service_user_id, a.payment_service_code, k.name AS kiosk_name, a.state, a.settlement_user_id, a.reason, \
     a.submitted_at, a.decided_at, a.ended_at, a.person_id \
     FROM point_applications a \
     JOIN point_rounds pr ON pr.id = a.round_id \
     JOIN payment_services s ON s.id = a.payment_service_id \
     JOIN relying_parties p ON p.id = a.provider_id \
     LEFT JOIN relying_parties k ON k.id = a.kiosk_id";

fn conflict(c: PointConflict) -> PlatformError {
    PlatformError::Conflict(Conflict::Point(c))
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::corrupt(what)
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
    fn service_row(r: &D::Row) -> Result<PaymentService, StoreError> {
        let len = |c: &str| u8::try_from(r.get::<i64, _>(c)).map_err(|_| corrupt("ID length"));
        Ok(PaymentService {
            id: PaymentServiceId::new(r.get("id")),
            provider: RelyingPartyId::new(r.get("relying_party_id")),
            provider_name: r.get("provider_name"),
            name: r.get("name"),
            kind: PaymentServiceKind::parse(r.get("kind"))
                .ok_or_else(|| corrupt("unknown payment-service kind"))?,
            shape: IdShape {
                alphabet: IdAlphabet::parse(r.get("id_alphabet"))
                    .ok_or_else(|| corrupt("unknown ID alphabet"))?,
                min_length: len("id_min_length")?,
                max_length: len("id_max_length")?,
                prefix: r.get("id_prefix"),
                check: IdCheck::parse(r.get("id_check"))
                    .ok_or_else(|| corrupt("unknown ID check"))?,
                code_digits: r
                    .get::<Option<i64>, _>("code_digits")
                    .map(|d| u8::try_from(d).map_err(|_| corrupt("code digits")))
                    .transpose()?,
            },
            status: PaymentServiceStatus::parse(r.get("status"))
                .ok_or_else(|| corrupt("unknown payment-service status"))?,
            created_at: time(r.get("created_at")),
        })
    }

    fn round_row(r: &D::Row) -> Result<PointRound, StoreError> {
        let yen = |c: &str| u32::try_from(r.get::<i64, _>(c)).map_err(|_| corrupt("round terms"));
        Ok(PointRound {
            id: PointRoundId::new(r.get("id")),
            name: r.get("name"),
            terms: PointRoundTerms {
                purchase_rate: u8::try_from(r.get::<i64, _>("purchase_rate"))
                    .map_err(|_| corrupt("round terms"))?,
                purchase_cap: yen("purchase_cap")?,
                health_insurance_points: yen("health_insurance_points")?,
                public_fund_account_points: yen("public_fund_account_points")?,
            },
            state: PointRoundState::parse(r.get("state"))
                .ok_or_else(|| corrupt("unknown round state"))?,
            created_at: time(r.get("created_at")),
            opened_at: r.get::<Option<i64>, _>("opened_at").map(time),
            closed_at: r.get::<Option<i64>, _>("closed_at").map(time),
        })
    }

    fn application_row(r: &D::Row) -> Result<PointApplication, StoreError> {
        Ok(PointApplication {
            id: PointApplicationId::new(r.get("id")),
            round: PointRoundId::new(r.get("round_id")),
            round_name: r.get("round_name"),
            service: PaymentServiceId::new(r.get("payment_service_id")),
            service_name: r.get("service_name"),
            provider: RelyingPartyId::new(r.get("provider_id")),
            provider_name: r.get("provider_name"),
            payment_service_user_id: r.get("payment_service_user_id"),
            payment_service_code: r.get("payment_service_code"),
            kiosk: r.get("kiosk_name"),
            state: PointApplicationState::parse(r.get("state"))
                .ok_or_else(|| corrupt("unknown application state"))?,
            settlement_user_id: r
                .get::<Option<&str>, _>("settlement_user_id")
                .map(str::parse)
                .transpose()
                .map_err(fail)?,
            reason: r.get("reason"),
            submitted_at: time(r.get("submitted_at")),
            decided_at: r.get::<Option<i64>, _>("decided_at").map(time),
            ended_at: r.get::<Option<i64>, _>("ended_at").map(time),
        })
    }

    async fn application_in(
        tx: &mut sqlx::Transaction<'_, D>,
        id: PointApplicationId,
    ) -> Result<Option<(PointApplication, PersonId)>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{APPLICATION} WHERE a.id = $1"
        )))
        .bind(id.get())
        .fetch_optional(&mut **tx)
        .await
        .map_err(fail)?;
        row.map(|r| {
            Ok((
                Self::application_row(&r)?,
                PersonId::new(r.get("person_id")),
            ))
        })
        .transpose()
    }

    /// Takes a share of `rounds` (PostgreSQL), in ID order, before a transaction ends
    /// applications in them: a grant batch of the round, which holds it whole, then runs wholly
    /// before (and the ending cancels or forfeits its grants) or after (and does not count
    /// the application).
    pub(crate) async fn share_rounds(
        tx: &mut sqlx::Transaction<'_, D>,
        rounds: &[i64],
    ) -> Result<(), StoreError> {
        Self::lock_in_order(tx, "point_rounds", rounds, crate::locks::Lock::KeyShare).await
    }

    /// Forfeits `person`'s point-programme rights (Art 27), inside the caller's transaction,
    /// which has locked the person: the right to apply in every round not closed, and every
    /// application in flight, each provider told; one entry in the person's log if anything
    /// was forfeited.
    pub(crate) async fn forfeit_points_in(
        tx: &mut sqlx::Transaction<'_, D>,
        person: PersonId,
        reason: Forfeiture,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let rounds: Vec<String> = sqlx::query(
            "INSERT INTO point_forfeitures (person_id, round_id, reason, at) \
             SELECT $1, id, $2, $3 FROM point_rounds WHERE state <> 'closed' \
             ON CONFLICT DO NOTHING RETURNING round_id",
        )
        .bind(person.get())
        .bind(reason.as_str())
        .bind(secs(at))
        .fetch_all(&mut **tx)
        .await
        .map_err(fail)?
        .iter()
        .map(|r| r.get::<i64, _>(0).to_string())
        .collect();
        if D::ROW_LOCKS {
            let live: Vec<i64> = sqlx::query(
                "SELECT DISTINCT round_id FROM point_applications WHERE person_id = $1 \
                 AND state IN ('submitted', 'validated')",
            )
            .bind(person.get())
            .fetch_all(&mut **tx)
            .await
            .map_err(fail)?
            .iter()
            .map(|r| r.get(0))
            .collect();
            Self::share_rounds(tx, &live).await?;
        }
        let ended = sqlx::query(
            "UPDATE point_applications SET state = 'forfeited', reason = $2, ended_at = $3, \
             payment_service_code = NULL WHERE person_id = $1 AND state IN ('submitted', 'validated') \
             RETURNING id, provider_id",
        )
        .bind(person.get())
        .bind(reason.as_str())
        .bind(secs(at))
        .fetch_all(&mut **tx)
        .await
        .map_err(fail)?;
        // Points instructed and not yet granted are forfeited with the rights.
        sqlx::query(
            "UPDATE point_grants SET state = 'forfeited' WHERE state = 'instructed' \
             AND application_id IN (SELECT id FROM point_applications \
             WHERE person_id = $1 AND state = 'forfeited')",
        )
        .bind(person.get())
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
        let mut ended: Vec<(PointApplicationId, i64)> = ended
            .iter()
            .map(|r| (PointApplicationId::new(r.get(0)), r.get(1)))
            .collect();
        ended.sort_unstable_by_key(|(id, rp)| (*rp, *id));
        if rounds.is_empty() && ended.is_empty() {
            return Ok(());
        }
        let names = Self::round_names(tx, &rounds).await?;
        let ids: Vec<PointApplicationId> = ended.iter().map(|(id, _)| *id).collect();
        Self::append(
            tx,
            person,
            at,
            &mykey_platform::forfeiture_log(reason, &names, &ids),
        )
        .await?;
        let providers: Vec<i64> = ended.iter().map(|(_, rp)| *rp).collect();
        Self::lock_relying_parties(tx, &providers).await?;
        for (id, rp) in ended {
            Self::enqueue(
                tx,
                rp,
                EventKind::PointApplicationForfeited,
                &EventSubject::PointApplication(id),
                &json!({"reason": reason.as_str()}),
                at,
            )
            .await?;
        }
        Ok(())
    }

    /// An application in the caller's transaction (see
    /// [`mykey_platform::PointStore::apply_for_points`]): on SQLite one of a group commit's
    /// savepoints (`sqlite/applications.rs`), on PostgreSQL a transaction of its own.
    pub(crate) async fn apply_in(
        tx: &mut sqlx::Transaction<'_, D>,
        new: &NewPointApplication,
        logs: &[NewLog],
    ) -> Result<Result<PointApplication, PlatformError>, StoreError> {
        // The person first (their log's append locks them where the backend needs it), so that
        // a revocation forfeiting their rights runs wholly before or after. Both entries in
        // two statements.
        let entries: Vec<(PersonId, UnixTime, &NewLog)> =
            logs.iter().map(|l| (new.person, new.at, l)).collect();
        Self::append_each(tx, &entries).await?;
        // Every condition in one statement: the round, the service and its provider, the My
        // Key ID, the right.
        let r = sqlx::query(
            "SELECT (SELECT state FROM point_rounds WHERE id = $1) AS round_state, \
             (SELECT s.relying_party_id FROM payment_services s \
              JOIN relying_parties r ON r.id = s.relying_party_id \
              WHERE s.id = $2 AND s.status = 'eligible' AND r.status = 'approved') AS provider, \
             (SELECT COUNT(*) FROM my_key_ids WHERE person_id = $3 AND ended_at IS NULL) AS ids, \
             (SELECT COUNT(*) FROM point_forfeitures WHERE person_id = $3 AND round_id = $1) \
              AS forfeited",
        )
        .bind(new.round.get())
        .bind(new.service.get())
        .bind(new.person.get())
        .fetch_one(&mut **tx)
        .await
        .map_err(fail)?;
        match r.get::<Option<String>, _>("round_state").as_deref() {
            None | Some("draft") => return Ok(Err(PlatformError::NotFound(NotFound::PointRound))),
            Some("open") => {}
            Some(_) => return Ok(Err(conflict(PointConflict::RoundNotOpen))),
        }
        let Some(provider) = r.get::<Option<i64>, _>("provider") else {
            return Ok(Err(conflict(PointConflict::ServiceNotEligible)));
        };
        if r.get::<i64, _>("ids") == 0 {
            return Ok(Err(PlatformError::Conflict(Conflict::MyKeyIdRequired)));
        }
        if r.get::<i64, _>("forfeited") > 0 {
            return Ok(Err(conflict(PointConflict::RightsForfeited)));
        }
        // The provider before the insert: the insert's foreign key takes a share lock on its
        // row, and two applications each holding one while waiting to lock it for the event
        // would deadlock (PostgreSQL found it with many people applying at once).
        Self::lock_relying_parties(tx, &[provider]).await?;
        // The unique indexes decide; afterwards, only which one refused is looked up.
        let inserted = sqlx::query(
            "INSERT INTO point_applications (id, round_id, person_id, payment_service_id, \
             provider_id, payment_service_user_id, payment_service_code, kiosk_id, state, \
             submitted_at) VALUES ($1, $2, $3, $4, $5, $6, $9, $7, 'submitted', $8) \
             ON CONFLICT DO NOTHING",
        )
        .bind(new.id.get())
        .bind(new.round.get())
        .bind(new.person.get())
        .bind(new.service.get())
        .bind(provider)
        .bind(new.payment_service_user_id.as_str())
        .bind(new.kiosk.map(RelyingPartyId::get))
        .bind(secs(new.at))
        .bind(new.payment_service_code.as_deref())
        .execute(&mut **tx)
        .await
        .map_err(fail)?
        .rows_affected();
        if inserted == 0 {
            let mine = sqlx::query(
                "SELECT 1 FROM point_applications WHERE round_id = $1 AND person_id = $2 \
                 AND state <> 'rejected'",
            )
            .bind(new.round.get())
            .bind(new.person.get())
            .fetch_optional(&mut **tx)
            .await
            .map_err(fail)?
            .is_some();
            if mine {
                return Ok(Err(conflict(PointConflict::ApplicationExists)));
            }
            // The ID met another (37 random bits a minute): the platform draws again.
            return Err(StoreError::conflict("point application ID collision"));
        }
        Self::enqueue(
            tx,
            provider,
            EventKind::PointApplicationSubmitted,
            &EventSubject::PointApplication(new.id),
            &json!({
                "round": new.round.get(),
                "payment_service": new.service.get(),
                "payment_service_user_id": new.payment_service_user_id,
            }),
            new.at,
        )
        .await?;
        let (a, _) = Self::application_in(tx, new.id)
            .await?
            .ok_or_else(|| corrupt("the application just written is gone"))?;
        Ok(Ok(a))
    }

    async fn round_names(
        tx: &mut sqlx::Transaction<'_, D>,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = sqlx::QueryBuilder::<D>::new("SELECT name FROM point_rounds WHERE id IN ");
        q.push_tuples(ids, |mut b, id| {
            b.push_bind(id.parse::<i64>().unwrap_or_default());
        });
        q.push(" ORDER BY id");
        Ok(q.build()
            .fetch_all(&mut **tx)
            .await
            .map_err(fail)?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect())
    }
}

#[async_trait::async_trait]
impl<D: Dialect> PointStore for SqlStore<D>
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
    async fn add_payment_service(
        &self,
        provider: RelyingPartyId,
        new: &NewPaymentService,
        at: UnixTime,
    ) -> Result<Result<PaymentService, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        Self::lock_relying_parties(&mut tx, &[provider.get()]).await?;
        let registered: i64 =
            sqlx::query("SELECT COUNT(*) FROM payment_services WHERE relying_party_id = $1")
                .bind(provider.get())
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?
                .get(0);
        if registered >= mykey_platform::MAX_PAYMENT_SERVICES as i64 {
            return Ok(Err(PlatformError::Invalid(
                mykey_platform::InvalidError::PointRequest(
                    "a payment provider registers at most 100 payment services",
                ),
            )));
        }
        let id: Option<i64> = sqlx::query(
            "INSERT INTO payment_services (relying_party_id, name, kind, id_alphabet, \
             id_min_length, id_max_length, id_prefix, id_check, code_digits, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, 'pending', $9) \
             ON CONFLICT (relying_party_id, name) DO NOTHING RETURNING id",
        )
        .bind(provider.get())
        .bind(new.name.as_str())
        .bind(new.kind.as_str())
        .bind(new.shape.alphabet.as_str())
        .bind(i64::from(new.shape.min_length))
        .bind(i64::from(new.shape.max_length))
        .bind(new.shape.prefix.as_str())
        .bind(new.shape.check.as_str())
        .bind(secs(at))
        .bind(new.shape.code_digits.map(i64::from))
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?
        .map(|r| r.get(0));
        let Some(id) = id else {
            return Ok(Err(conflict(PointConflict::PaymentServiceExists)));
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SERVICE} WHERE s.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(Self::service_row(&row)?))
    }

    async fn payment_services(
        &self,
        provider: Option<RelyingPartyId>,
        status: Option<PaymentServiceStatus>,
    ) -> Result<Vec<PaymentService>, StoreError> {
        let mut q = sqlx::QueryBuilder::<D>::new(SERVICE);
        q.push(" WHERE 1 = 1");
        if let Some(p) = provider {
            q.push(" AND s.relying_party_id = ").push_bind(p.get());
        }
        if let Some(s) = status {
            q.push(" AND s.status = ").push_bind(s.as_str());
        }
        // An eligible service is one people may choose: its provider must be approved too (a
        // suspended one's services are not offered).
        if status == Some(PaymentServiceStatus::Eligible) {
            q.push(" AND r.status = 'approved'");
        }
        q.push(" ORDER BY s.id");
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?
            .iter()
            .map(Self::service_row)
            .collect()
    }

    async fn payment_service(
        &self,
        id: PaymentServiceId,
    ) -> Result<Option<PaymentService>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!("{SERVICE} WHERE s.id = $1")))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?
            .as_ref()
            .map(Self::service_row)
            .transpose()
    }

    async fn set_payment_service_status(
        &self,
        id: PaymentServiceId,
        status: PaymentServiceStatus,
    ) -> Result<Option<PaymentService>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        sqlx::query("UPDATE payment_services SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(id.get())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SERVICE} WHERE s.id = $1")))
            .bind(id.get())
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        row.as_ref().map(Self::service_row).transpose()
    }

    async fn add_point_round(
        &self,
        name: &str,
        terms: &PointRoundTerms,
        at: UnixTime,
    ) -> Result<Result<PointRound, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let id: Option<i64> = sqlx::query(
            "INSERT INTO point_rounds (name, purchase_rate, purchase_cap, health_insurance_points, \
             public_fund_account_points, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'draft', $6) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(i64::from(terms.purchase_rate))
        .bind(i64::from(terms.purchase_cap))
        .bind(i64::from(terms.health_insurance_points))
        .bind(i64::from(terms.public_fund_account_points))
        .bind(secs(at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?
        .map(|r| r.get(0));
        let Some(id) = id else {
            return Ok(Err(conflict(PointConflict::PointRoundExists)));
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ROUND} WHERE id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(Self::round_row(&row)?))
    }

    async fn point_rounds(
        &self,
        state: Option<PointRoundState>,
    ) -> Result<Vec<PointRound>, StoreError> {
        let mut q = sqlx::QueryBuilder::<D>::new(ROUND);
        if let Some(s) = state {
            q.push(" WHERE state = ").push_bind(s.as_str());
        }
        q.push(" ORDER BY id");
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?
            .iter()
            .map(Self::round_row)
            .collect()
    }

    async fn point_round(&self, id: PointRoundId) -> Result<Option<PointRound>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!("{ROUND} WHERE id = $1")))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?
            .as_ref()
            .map(Self::round_row)
            .transpose()
    }

    async fn set_point_round_state(
        &self,
        id: PointRoundId,
        from: PointRoundState,
        to: PointRoundState,
        at: UnixTime,
    ) -> Result<Result<PointRound, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let column = match to {
            PointRoundState::Open => "opened_at",
            PointRoundState::Closed => "closed_at",
            PointRoundState::Draft => "created_at",
        };
        let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE point_rounds SET state = $1, {column} = $2 WHERE id = $3 AND state = $4"
        )))
        .bind(to.as_str())
        .bind(secs(at))
        .bind(id.get())
        .bind(from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ROUND} WHERE id = $1")))
            .bind(id.get())
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let Some(row) = row else {
            return Ok(Err(PlatformError::NotFound(NotFound::PointRound)));
        };
        if changed == 0 {
            return Ok(Err(conflict(PointConflict::PointRoundState)));
        }
        tx.commit().await.map_err(fail)?;
        Ok(Ok(Self::round_row(&row)?))
    }

    async fn apply_for_points(
        &self,
        new: &NewPointApplication,
        logs: &[NewLog],
    ) -> Result<Result<PointApplication, PlatformError>, StoreError> {
        D::apply_for_points(self, new, logs).await
    }

    async fn person_point_applications(
        &self,
        person: PersonId,
    ) -> Result<Vec<PointApplication>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{APPLICATION} WHERE a.person_id = $1 ORDER BY a.submitted_at DESC, a.id"
        )))
        .bind(person.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?
        .iter()
        .map(Self::application_row)
        .collect()
    }

    async fn party_point_applications(
        &self,
        party: PointParty,
        state: Option<PointApplicationState>,
        after: Option<PointApplicationId>,
        limit: usize,
    ) -> Result<Vec<PointApplication>, StoreError> {
        let mut q = sqlx::QueryBuilder::<D>::new(APPLICATION);
        match party {
            PointParty::Provider(rp) => q.push(" WHERE a.provider_id = ").push_bind(rp.get()),
            PointParty::Kiosk(rp) => q.push(" WHERE a.kiosk_id = ").push_bind(rp.get()),
        };
        if let Some(s) = state {
            q.push(" AND a.state = ").push_bind(s.as_str());
        }
        if let Some(after) = after {
            q.push(" AND a.id > ").push_bind(after.get());
        }
        q.push(" ORDER BY a.id LIMIT ")
            .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?
            .iter()
            .map(Self::application_row)
            .collect()
    }

    async fn party_point_application(
        &self,
        party: PointParty,
        id: PointApplicationId,
    ) -> Result<Option<PointApplication>, StoreError> {
        let (column, rp) = match party {
            PointParty::Provider(rp) => ("provider_id", rp),
            PointParty::Kiosk(rp) => ("kiosk_id", rp),
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{APPLICATION} WHERE a.id = $1 AND a.{column} = $2"
        )))
        .bind(id.get())
        .bind(rp.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?
        .as_ref()
        .map(Self::application_row)
        .transpose()
    }

    async fn answer_point_application(
        &self,
        provider: RelyingPartyId,
        id: PointApplicationId,
        answer: &ValidationAnswer,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x PointApplication) -> NewLog + Sync),
    ) -> Result<Result<PointApplication, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let found = Self::application_in(&mut tx, id).await?;
        let Some((a, person)) = found.filter(|(a, _)| a.provider == provider) else {
            return Ok(Err(PlatformError::NotFound(NotFound::PointApplication)));
        };
        if a.state != PointApplicationState::Submitted {
            return Ok(Err(conflict(PointConflict::ApplicationAnswered)));
        }
        Self::append(&mut tx, person, at, &log(&a)).await?;
        let (state, settlement, reason) = match answer {
            ValidationAnswer::Valid(s) => ("validated", Some(s.as_str()), None),
            ValidationAnswer::Invalid(r) => ("rejected", None, Some(r.as_str())),
        };
        if let Some(s) = settlement {
            let taken = sqlx::query(
                "SELECT 1 FROM point_applications WHERE round_id = $1 AND provider_id = $2 \
                 AND settlement_user_id = $3",
            )
            .bind(a.round.get())
            .bind(provider.get())
            .bind(s)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?
            .is_some();
            if taken {
                return Ok(Err(conflict(PointConflict::SettlementUserIdTaken)));
            }
        }
        if settlement.is_some() {
            let held = sqlx::query(
                "SELECT 1 FROM point_applications WHERE round_id = $1 AND payment_service_id = $2 \
                 AND payment_service_user_id = $3 AND state = 'validated'",
            )
            .bind(a.round.get())
            .bind(a.service.get())
            .bind(a.payment_service_user_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?
            .is_some();
            if held {
                return Ok(Err(conflict(PointConflict::PaymentServiceUserIdTaken)));
            }
        }
        // The person is locked; a concurrent answer or withdrawal finds the state moved on.
        // The security code goes with the answer.
        let changed = sqlx::query(
            "UPDATE point_applications SET state = $1, settlement_user_id = $2, reason = $3, \
             decided_at = $4, payment_service_code = NULL WHERE id = $5 AND state = 'submitted'",
        )
        .bind(state)
        .bind(settlement)
        .bind(reason)
        .bind(secs(at))
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        if changed == 0 {
            return Ok(Err(conflict(PointConflict::ApplicationAnswered)));
        }
        let (a, _) = Self::application_in(&mut tx, id)
            .await?
            .ok_or_else(|| corrupt("the application just answered is gone"))?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(a))
    }

    async fn report_point_transactions(
        &self,
        provider: RelyingPartyId,
        round: PointRoundId,
        transactions: &[mykey_platform::NewPointTransaction],
        at: UnixTime,
    ) -> Result<Result<mykey_platform::TransactionIntake, PlatformError>, StoreError> {
        self.report_transactions(provider, round, transactions, at)
            .await
    }

    async fn instruct_point_grants(
        &self,
        provider: RelyingPartyId,
        round: PointRoundId,
        id: i64,
        at: UnixTime,
    ) -> Result<Result<mykey_platform::PointGrantBatch, PlatformError>, StoreError> {
        self.instruct_grants(provider, round, id, at).await
    }

    async fn point_grants(
        &self,
        provider: RelyingPartyId,
        batch: i64,
        after: Option<PointApplicationId>,
        limit: usize,
    ) -> Result<Result<Vec<mykey_platform::PointGrant>, PlatformError>, StoreError> {
        self.grants_of(provider, batch, after, limit).await
    }

    async fn confirm_point_grants(
        &self,
        provider: RelyingPartyId,
        batch: i64,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x str, u64, mykey_platform::PointGrantKind) -> NewLog + Sync),
    ) -> Result<Result<mykey_platform::PointGrantBatch, PlatformError>, StoreError> {
        self.confirm_grants(provider, batch, at, log).await
    }

    async fn point_statement(
        &self,
        round: PointRoundId,
    ) -> Result<Vec<mykey_platform::StatementLine>, StoreError> {
        self.statement(round).await
    }

    async fn person_issuance_numbers(
        &self,
        person: PersonId,
    ) -> Result<Vec<mykey_pki::IssuanceNumber>, StoreError> {
        self.issuance_numbers_of(person).await
    }

    async fn claim_point_trigger(
        &self,
        person: PersonId,
        application: PointApplicationId,
        kind: mykey_platform::PointTriggerKind,
        at: UnixTime,
        logs: &[NewLog],
    ) -> Result<Result<bool, PlatformError>, StoreError> {
        self.claim_trigger(person, application, kind, at, logs)
            .await
    }

    async fn record_point_trigger_check(
        &self,
        application: PointApplicationId,
        kind: mykey_platform::PointTriggerKind,
        registered: Option<UnixTime>,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x mykey_platform::PointTrigger) -> NewLog + Sync),
    ) -> Result<Option<mykey_platform::PointTrigger>, StoreError> {
        self.record_trigger_check(application, kind, registered, at, log)
            .await
    }

    async fn person_point_triggers(
        &self,
        person: PersonId,
    ) -> Result<Vec<mykey_platform::PointTrigger>, StoreError> {
        self.triggers_of(person).await
    }

    async fn awaiting_point_triggers(
        &self,
        checked_before: UnixTime,
        limit: usize,
    ) -> Result<Vec<mykey_platform::AwaitingTrigger>, StoreError> {
        self.awaiting_triggers(checked_before, limit).await
    }

    async fn withdraw_point_application(
        &self,
        person: PersonId,
        id: PointApplicationId,
        at: UnixTime,
        log: &(dyn for<'x> Fn(&'x PointApplication) -> NewLog + Sync),
    ) -> Result<Result<PointApplication, PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let found = Self::application_in(&mut tx, id).await?;
        let Some((a, _)) = found.filter(|(_, p)| *p == person) else {
            return Ok(Err(PlatformError::NotFound(NotFound::PointApplication)));
        };
        if !matches!(
            a.state,
            PointApplicationState::Submitted | PointApplicationState::Validated
        ) {
            return Ok(Err(conflict(PointConflict::ApplicationEnded)));
        }
        Self::append(&mut tx, person, at, &log(&a)).await?;
        Self::share_rounds(&mut tx, &[a.round.get()]).await?;
        let changed = sqlx::query(
            "UPDATE point_applications SET state = 'withdrawn', ended_at = $1, \
             payment_service_code = NULL WHERE id = $2 AND state IN ('submitted', 'validated')",
        )
        .bind(secs(at))
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        if changed == 0 {
            return Ok(Err(conflict(PointConflict::ApplicationEnded)));
        }
        // Points instructed and not yet granted are not granted.
        sqlx::query(
            "UPDATE point_grants SET state = 'cancelled' WHERE application_id = $1 \
             AND state = 'instructed'",
        )
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        Self::enqueue(
            &mut tx,
            a.provider.get(),
            EventKind::PointApplicationWithdrawn,
            &EventSubject::PointApplication(id),
            &json!({"reason": "withdrawn"}),
            at,
        )
        .await?;
        let (a, _) = Self::application_in(&mut tx, id)
            .await?
            .ok_or_else(|| corrupt("the application just withdrawn is gone"))?;
        tx.commit().await.map_err(fail)?;
        Ok(Ok(a))
    }

    async fn forfeit_point_rights(
        &self,
        person: PersonId,
        reason: Forfeiture,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        if D::ROW_LOCKS {
            sqlx::query("SELECT id FROM persons WHERE id = $1 FOR UPDATE")
                .bind(person.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        Self::forfeit_points_in(&mut tx, person, reason, at).await?;
        tx.commit().await.map_err(fail)?;
        Ok(())
    }
}
