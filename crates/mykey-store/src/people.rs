//! A person's My Key ID, log and history ([`mykey_platform::PersonStore`]). The log's hash
//! chain is appended in `chain.rs`.

use mykey_pki::UnixTime;
use mykey_platform::{
    ConsentRecord, LogEntry, MyKeyId, MyKeyIdChange, MyKeyIdRecord, MyKeyIdState, NewConsent,
    NewLog, PersonId, PersonStore, PlatformError, ReadOf, RelyingPartyId, ServiceIdEnd, StoreError,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs, time};

#[async_trait::async_trait]
impl<D: Dialect> PersonStore for SqlStore<D>
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
    async fn log_reads(
        &self,
        rp: RelyingPartyId,
        of: ReadOf<'_>,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        // The people read and not yet told today, marked told in the same statement.
        let mut q = sqlx::QueryBuilder::<D>::new(
            "INSERT INTO relying_party_reads (person_id, relying_party_id, what, day) SELECT DISTINCT ",
        );
        // Whom the read covered: the active links of `rp`, or the PPIDs of its service.
        let (what, from, key, customer_id) = match of {
            ReadOf::ServiceIds { customer_id } => (
                "'service-ids'",
                " FROM service_ids WHERE ended_at IS NULL AND relying_party_id = ",
                rp.get(),
                customer_id,
            ),
            ReadOf::Ppids {
                service,
                customer_id,
            } => (
                "'ppids'",
                " FROM ppids WHERE ppid_service_id = ",
                service.get(),
                customer_id,
            ),
        };
        q.push("person_id, ")
            .push_bind(rp.get())
            .push(format!(", {what}, "))
            .push_bind(japan_day(at))
            .push(from)
            .push_bind(key);
        if let Some(c) = customer_id {
            q.push(" AND customer_id = ").push_bind(c.as_str());
        }
        q.push(" ON CONFLICT DO NOTHING RETURNING person_id");
        let told: Vec<PersonId> = q
            .build()
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?
            .iter()
            .map(|r| PersonId::new(r.get("person_id")))
            .collect();
        for chunk in told.chunks(crate::facts::CHUNK) {
            let entries: Vec<(PersonId, UnixTime, &NewLog)> =
                chunk.iter().map(|p| (*p, at, log)).collect();
            Self::append_each(&mut tx, &entries).await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(told.len() as u64)
    }

    async fn my_key_id(&self, person: PersonId) -> Result<Option<MyKeyIdState>, StoreError> {
        let row = sqlx::query(
            "SELECT id, created_at FROM my_key_ids WHERE person_id = $1 AND ended_at IS NULL",
        )
        .bind(person.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.map(|r| {
            Ok(MyKeyIdState {
                id: r.get::<&str, _>("id").parse::<MyKeyId>().map_err(fail)?,
                since: time(r.get("created_at")),
            })
        })
        .transpose()
    }

    async fn change_my_key_id(
        &self,
        person: PersonId,
        change: MyKeyIdChange,
        at: UnixTime,
        log: &NewLog,
        consent: Option<&NewConsent>,
    ) -> Result<Result<(), PlatformError>, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let (active, suspended): (Option<String>, bool) = sqlx::query(
            "SELECT m.id, p.my_key_id_suspended_at AS suspended_at FROM my_key_ids m \
             JOIN persons p ON p.id = m.person_id WHERE m.person_id = $1 AND m.ended_at IS NULL",
        )
        .bind(person.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?
        .map_or((None, false), |r| {
            (
                Some(r.get("id")),
                r.get::<Option<i64>, _>("suspended_at").is_some(),
            )
        });
        // A suspended My Key ID cannot be changed away from its suspension (Art 8.2); it can
        // still be revoked (Art 15.2), and one made after is suspended too (the flag is the
        // person's).
        if suspended && matches!(change, MyKeyIdChange::Change(_)) {
            return Ok(Err(PlatformError::Conflict(
                mykey_platform::Conflict::MyKeyIdSuspended,
            )));
        }
        let (end, new) = match (change, &active) {
            (MyKeyIdChange::Create(_), Some(_)) => {
                return Ok(Err(PlatformError::Conflict(
                    mykey_platform::Conflict::MyKeyIdAlreadyActive,
                )));
            }
            (MyKeyIdChange::Create(id), None) => (None, Some(id)),
            (MyKeyIdChange::Change(_) | MyKeyIdChange::Revoke, None) => {
                return Ok(Err(PlatformError::NotFound(
                    mykey_platform::NotFound::MyKeyId,
                )));
            }
            (MyKeyIdChange::Change(id), Some(old)) => (Some((old.clone(), "changed")), Some(id)),
            (MyKeyIdChange::Revoke, Some(old)) => (Some((old.clone(), "revoked")), None),
        };
        if let Some((old, reason)) = end {
            sqlx::query("UPDATE my_key_ids SET ended_at = $1, end_reason = $2 WHERE id = $3")
                .bind(secs(at))
                .bind(reason)
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        if let Some(id) = new {
            let inserted = sqlx::query(
                "INSERT INTO my_key_ids (id, person_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(person.get())
            .bind(secs(at))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            if inserted.rows_affected() == 0 {
                // Rolled back on drop: the old ID stays active.
                return Ok(Err(PlatformError::Conflict(
                    mykey_platform::Conflict::MyKeyIdTaken,
                )));
            }
        }
        if let (Some(consent), MyKeyIdChange::Create(_)) = (consent, change) {
            sqlx::query(
                "INSERT INTO consents (person_id, function, items, terms_version, given_at) \
                 VALUES ($1, 'my-key-id', $2, $3, $4)",
            )
            .bind(person.get())
            .bind(consent.items.join(" "))
            .bind(consent.terms_version.as_str())
            .bind(secs(at))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        Self::append(&mut tx, person, at, log).await?;
        if let MyKeyIdChange::Revoke = change {
            Self::my_key_id_ended_in(&mut tx, person, at, ServiceIdEnd::MyKeyIdRevoked).await?;
            // Art 27.1.1: the right to apply for card points, and to points not yet granted.
            Self::forfeit_points_in(
                &mut tx,
                person,
                mykey_platform::Forfeiture::MyKeyIdRevoked,
                at,
            )
            .await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(Ok(()))
    }

    async fn append_log(
        &self,
        person: PersonId,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<LogEntry, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let entry = Self::append(&mut tx, person, at, log).await?;
        tx.commit().await.map_err(fail)?;
        Ok(entry)
    }

    async fn log(&self, person: PersonId) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, kind, detail, hash FROM log_entries WHERE person_id = $1 ORDER BY seq",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        Self::log_rows(&rows)
    }

    async fn log_page(
        &self,
        person: PersonId,
        from: Option<u64>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let sql = if newest_first {
            "SELECT seq, at, kind, detail, hash FROM log_entries WHERE person_id = $1 AND seq < $2 \
             ORDER BY seq DESC LIMIT $3"
        } else {
            "SELECT seq, at, kind, detail, hash FROM log_entries WHERE person_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        };
        let bound = match (from, newest_first) {
            (Some(s), _) => s.min(i64::MAX as u64) as i64,
            (None, true) => i64::MAX,
            (None, false) => -1,
        };
        let rows = sqlx::query(sql)
            .bind(person.get())
            .bind(bound)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        Self::log_rows(&rows)
    }

    async fn my_key_id_history(&self, person: PersonId) -> Result<Vec<MyKeyIdRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, created_at, ended_at, end_reason FROM my_key_ids WHERE person_id = $1 \
             ORDER BY created_at, COALESCE(ended_at, 9223372036854775807)",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        rows.iter()
            .map(|r| {
                let ended = match (
                    r.get::<Option<i64>, _>("ended_at"),
                    r.get::<Option<String>, _>("end_reason"),
                ) {
                    (Some(t), Some(why)) => Some((time(t), why)),
                    _ => None,
                };
                Ok(MyKeyIdRecord {
                    id: r.get::<&str, _>("id").parse().map_err(fail)?,
                    created_at: time(r.get("created_at")),
                    ended,
                })
            })
            .collect()
    }

    async fn service_id_history(
        &self,
        person: PersonId,
    ) -> Result<Vec<mykey_platform::ServiceIdRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, r.name, r.kind, r.contact, r.privacy_policy_url, r.terms_url, s.customer_id, s.linked_at, s.ended_at, s.end_reason, \
             c.items, c.terms_version, c.given_at, s.route \
             FROM service_ids s JOIN relying_parties r ON r.id = s.relying_party_id JOIN consents c ON c.id = s.consent_id \
             WHERE s.person_id = $1 ORDER BY s.id",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        rows.iter()
            .map(|r| {
                let ended = match (
                    r.get::<Option<i64>, _>("ended_at"),
                    r.get::<Option<String>, _>("end_reason"),
                ) {
                    (Some(t), Some(why)) => Some((time(t), why)),
                    _ => None,
                };
                Ok(mykey_platform::ServiceIdRecord {
                    link: Self::person_link_row(r)?,
                    ended,
                })
            })
            .collect()
    }

    async fn person_consents(&self, person: PersonId) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.function, r.name AS rp_name, ps.name AS ps_name, c.items, c.terms_version, c.given_at, c.withdrawn_at \
             FROM consents c LEFT JOIN relying_parties r ON r.id = c.relying_party_id \
             LEFT JOIN ppid_services ps ON ps.id = c.ppid_service_id \
             WHERE c.person_id = $1 ORDER BY c.id",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        Ok(rows
            .iter()
            .map(|r| ConsentRecord {
                function: r.get("function"),
                relying_party: r.get("rp_name"),
                ppid_service: r.get("ps_name"),
                consent: Self::consent_row(r),
                withdrawn_at: r.get::<Option<i64>, _>("withdrawn_at").map(time),
            })
            .collect())
    }
}

/// The day in Japan (UTC+9) `at` falls on, counted from the epoch: a relying party's reads are
/// told once a day each.
pub(crate) fn japan_day(at: UnixTime) -> i64 {
    (secs(at) + 9 * 3600).div_euclid(86_400)
}
