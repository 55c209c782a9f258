//! Operator accounts, the operator log and people's suspensions
//! ([`mykey_platform::OperatorStore`]).

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{
    LogEntry, MyKeyId, NewLog, OperatorAccount, OperatorEnd, OperatorId, OperatorRole,
    OperatorStore, PersonId, StoreError, Suspendable, SuspensionChange, Suspensions,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs, time};

const OPERATOR: &str = "SELECT id, person_id, name, role, created_at, ended_at FROM operators";

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
    fn operator_row(r: &D::Row) -> Result<OperatorAccount, StoreError> {
        Ok(OperatorAccount {
            id: OperatorId::new(r.get("id")),
            person: PersonId::new(r.get("person_id")),
            name: r.get("name"),
            role: OperatorRole::parse(r.get::<&str, _>("role"))
                .ok_or_else(|| StoreError::corrupt("an operator's role is unknown"))?,
            created_at: time(r.get("created_at")),
            ended_at: r.get::<Option<i64>, _>("ended_at").map(time),
        })
    }
}

#[async_trait::async_trait]
impl<D: Dialect> OperatorStore for SqlStore<D>
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
    async fn insert_operator(
        &self,
        person: PersonId,
        name: &str,
        role: OperatorRole,
        at: UnixTime,
    ) -> Result<Option<OperatorAccount>, StoreError> {
        // The partial unique index (one active account per person) decides a race.
        let row = sqlx::query(
            "INSERT INTO operators (person_id, name, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (person_id) WHERE ended_at IS NULL DO NOTHING \
             RETURNING id, person_id, name, role, created_at, ended_at",
        )
        .bind(person.get())
        .bind(name)
        .bind(role.as_str())
        .bind(secs(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.as_ref().map(Self::operator_row).transpose()
    }

    async fn operators(&self) -> Result<Vec<OperatorAccount>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!("{OPERATOR} ORDER BY id")))
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?
            .iter()
            .map(Self::operator_row)
            .collect()
    }

    async fn operator_of(&self, person: PersonId) -> Result<Option<OperatorAccount>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{OPERATOR} WHERE person_id = $1 AND ended_at IS NULL"
        )))
        .bind(person.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.as_ref().map(Self::operator_row).transpose()
    }

    async fn end_operator(&self, id: OperatorId, at: UnixTime) -> Result<OperatorEnd, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        if D::ROW_LOCKS {
            // Two administrators ending each other at once must not both succeed.
            sqlx::query("LOCK TABLE operators IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        let role: Option<String> =
            sqlx::query("SELECT role FROM operators WHERE id = $1 AND ended_at IS NULL")
                .bind(id.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?
                .map(|r| r.get("role"));
        let Some(role) = role else {
            return Ok(OperatorEnd::NotFound);
        };
        if role == OperatorRole::Administrator.as_str() {
            let admins: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM operators WHERE role = 'administrator' AND ended_at IS NULL",
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?
            .get("n");
            if admins <= 1 {
                return Ok(OperatorEnd::LastAdministrator);
            }
        }
        sqlx::query("UPDATE operators SET ended_at = $1 WHERE id = $2")
            .bind(secs(at))
            .bind(id.get())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(OperatorEnd::Ended)
    }

    async fn has_administrator(&self) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM operators WHERE role = 'administrator' AND ended_at IS NULL LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?
        .is_some())
    }

    async fn append_operator_log(
        &self,
        at: UnixTime,
        kind: &str,
        detail: &str,
    ) -> Result<LogEntry, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        if D::ROW_LOCKS {
            // One chain: appenders take turns (readers are not blocked). SQLite's IMMEDIATE
            // transaction already serialises writers.
            sqlx::query("LOCK TABLE operator_log IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        let head = sqlx::query(
            "SELECT seq, at, kind, detail, hash FROM operator_log ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let prev = Self::log_rows(head.as_slice())?.pop();
        let entry = LogEntry::next(prev.as_ref(), at.as_secs(), kind, detail);
        sqlx::query(
            "INSERT INTO operator_log (seq, at, kind, detail, hash) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(entry.seq as i64)
        .bind(entry.at as i64)
        .bind(entry.kind.as_str())
        .bind(entry.detail.as_str())
        .bind(entry.hash.0.as_slice())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(entry)
    }

    async fn operator_log(&self, after: u64, limit: u32) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, kind, detail, hash FROM operator_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        Self::log_rows(&rows)
    }

    async fn person_by_my_key_id(&self, id: &MyKeyId) -> Result<Option<PersonId>, StoreError> {
        Ok(
            sqlx::query("SELECT person_id FROM my_key_ids WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(fail)?
                .map(|r| PersonId::new(r.get("person_id"))),
        )
    }

    async fn suspensions(&self, person: PersonId) -> Result<Suspensions, StoreError> {
        let row =
            sqlx::query("SELECT suspended_at, my_key_id_suspended_at FROM persons WHERE id = $1")
                .bind(person.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(fail)?;
        Ok(row.map_or_else(Suspensions::default, |r| Suspensions {
            person: r.get::<Option<i64>, _>("suspended_at").map(time),
            my_key_id: r.get::<Option<i64>, _>("my_key_id_suspended_at").map(time),
        }))
    }

    async fn set_suspension(
        &self,
        person: PersonId,
        what: Suspendable,
        suspend: bool,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<SuspensionChange, StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        if suspend && what == Suspendable::Person {
            // An operator is not suspended from under their account (the help desk could
            // otherwise lock every administrator out): an administrator ends the account first.
            let operator =
                sqlx::query("SELECT 1 FROM operators WHERE person_id = $1 AND ended_at IS NULL")
                    .bind(person.get())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(fail)?
                    .is_some();
            if operator {
                return Ok(SuspensionChange::OperatorAccountHolder);
            }
        }
        let column = match what {
            Suspendable::Person => "suspended_at",
            Suspendable::MyKeyId => "my_key_id_suspended_at",
        };
        let state = if suspend { "IS NULL" } else { "IS NOT NULL" };
        let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE persons SET {column} = $1 WHERE id = $2 AND {column} {state}"
        )))
        .bind(suspend.then_some(secs(at)))
        .bind(person.get())
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        if changed == 0 {
            return Ok(SuspensionChange::AlreadySo);
        }
        if suspend && what == Suspendable::Person {
            // What the person could still use ends with the suspension (it would otherwise
            // come back with a resumption): sessions, access tokens, unredeemed PPID and
            // Service ID login codes, cross-device logins approved but not yet exchanged.
            // Rare, so scans of the live rows are acceptable.
            for end in [
                "DELETE FROM sessions WHERE person_id = $1",
                "DELETE FROM ppid_codes WHERE EXISTS (SELECT 1 FROM ppids p WHERE p.person_id = $1 \
                 AND p.ppid_service_id = ppid_codes.ppid_service_id AND p.ppid = ppid_codes.ppid)",
                "DELETE FROM service_id_login_codes WHERE EXISTS (SELECT 1 FROM service_ids s \
                 WHERE s.person_id = $1 AND s.ended_at IS NULL \
                 AND s.relying_party_id = service_id_login_codes.relying_party_id \
                 AND s.customer_id = service_id_login_codes.customer_id)",
                "UPDATE authorizations SET status = 'declined' WHERE person_id = $1 \
                 AND status IN ('approved', 'continued')",
            ] {
                sqlx::query(end)
                    .bind(person.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
            }
            sqlx::query(
                "UPDATE access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND authorization_id IN \
                 (SELECT id FROM authorizations WHERE person_id = $2)",
            )
            .bind(secs(at))
            .bind(person.get())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        Self::append(&mut tx, person, at, log).await?;
        tx.commit().await.map_err(fail)?;
        Ok(SuspensionChange::Done)
    }

    async fn suspended_holder(&self, n: IssuanceNumber) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM issuance_numbers i JOIN persons p ON p.id = i.person_id \
             WHERE i.number = $1 AND p.suspended_at IS NOT NULL",
        )
        .bind(n.as_be_bytes().to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?
        .is_some())
    }
}
