//! The end of a card ends the My Key ID (`FactsStore::end_cards`, `expired_cards`;
//! `mykey_platform`'s `card_end.rs`), and what every end of a My Key ID brings with it
//! ([`SqlStore::my_key_id_ended_in`]), whoever ends it.

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{CardEnd, NewLog, PersonId, ServiceIdEnd, StoreError};
use serde_json::json;
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs};

/// The newest-card condition on `n` (an `issuance_numbers` row): no number of the same person
/// was linked after it.
macro_rules! newest {
    () => {
        "NOT EXISTS (SELECT 1 FROM issuance_numbers later \
         WHERE later.person_id = n.person_id AND later.link_seq > n.link_seq)"
    };
}

/// The same, as of `$2`: no number of the same person was linked after it before then (a
/// renewal after a card's end does not undo the end).
macro_rules! newest_as_of {
    () => {
        "NOT EXISTS (SELECT 1 FROM issuance_numbers later \
         WHERE later.person_id = n.person_id AND later.link_seq > n.link_seq AND later.linked_at < $2)"
    };
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
    /// Inside `tx`, once the person's My Key ID has ended: every function that uses it ends
    /// with it (Art 15.3) — each Service ID, told and logged as `why` — and so do the logins
    /// relying parties hold for the person (their approved requests declined, their access
    /// tokens revoked).
    pub(crate) async fn my_key_id_ended_in(
        tx: &mut sqlx::Transaction<'_, D>,
        person: PersonId,
        at: UnixTime,
        why: ServiceIdEnd,
    ) -> Result<(), StoreError> {
        Self::end_links_of(tx, person, at, why).await?;
        sqlx::query(
            "UPDATE authorizations SET status = 'declined' \
             WHERE status IN ('approved', 'continued') AND person_id = $1",
        )
        .bind(person.get())
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND authorization_id IN \
             (SELECT a.id FROM authorizations a WHERE a.person_id = $2)",
        )
        .bind(secs(at))
        .bind(person.get())
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
        Ok(())
    }

    pub(crate) async fn end_ended_cards(
        &self,
        ended: &[(IssuanceNumber, CardEnd, UnixTime)],
        at: UnixTime,
    ) -> Result<u64, StoreError> {
        let mut count = 0;
        for (number, why, as_of) in ended {
            let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
            // The holder of `number`, their newest card when it ended, with an active My Key ID.
            let sql = concat!(
                "SELECT n.person_id FROM issuance_numbers n JOIN my_key_ids m \
                 ON m.person_id = n.person_id AND m.ended_at IS NULL WHERE n.number = $1 AND ",
                newest_as_of!()
            );
            let Some(row) = sqlx::query(sql)
                .bind(number.as_be_bytes())
                .bind(secs(*as_of))
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?
            else {
                continue;
            };
            let person = PersonId::new(row.get("person_id"));
            let mut detail = json!({"reason": why.as_str()});
            if let Some(r) = why.revocation_reason() {
                detail["revocation_reason"] = json!(r);
            }
            // The log first: it locks the person's row, as everywhere (no deadlocks).
            let log = NewLog::new(mykey_platform::LogKind::MyKeyIdRevoked, detail);
            Self::append(&mut tx, person, at, &log).await?;
            let done = sqlx::query(
                "UPDATE my_key_ids SET ended_at = $1, end_reason = 'revoked' \
                 WHERE person_id = $2 AND ended_at IS NULL",
            )
            .bind(secs(at))
            .bind(person.get())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            if done.rows_affected() == 0 {
                // Ended meanwhile by the person: nothing more to do (rolled back on drop).
                continue;
            }
            Self::my_key_id_ended_in(&mut tx, person, at, ServiceIdEnd::CardEnded(*why)).await?;
            tx.commit().await.map_err(fail)?;
            count += 1;
        }
        Ok(count)
    }

    pub(crate) async fn note_revocations(
        &self,
        entries: &[(
            IssuanceNumber,
            Option<mykey_pki::RevocationReason>,
            UnixTime,
        )],
    ) -> Result<(), StoreError> {
        use mykey_pki::RevocationReason as R;
        for chunk in entries.chunks(crate::facts::CHUNK) {
            let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
            for (number, reason, revoked_at) in chunk {
                let q = match reason {
                    // A suspension lifted.
                    Some(R::RemoveFromCrl) => sqlx::query(
                        "UPDATE issuance_numbers SET revoked_at = NULL, revocation_reason = NULL \
                         WHERE number = $1 AND revocation_reason = 'certificateHold'",
                    )
                    .bind(number.as_be_bytes()),
                    _ => sqlx::query(
                        "UPDATE issuance_numbers SET revoked_at = $2, revocation_reason = $3 \
                         WHERE number = $1 AND (revoked_at IS NULL OR revocation_reason = 'certificateHold')",
                    )
                    .bind(number.as_be_bytes())
                    .bind(secs(*revoked_at))
                    .bind(reason.map_or("unspecified", R::name)),
                };
                q.execute(&mut *tx).await.map_err(fail)?;
            }
            tx.commit().await.map_err(fail)?;
        }
        Ok(())
    }

    pub(crate) async fn newest_expired_cards(
        &self,
        before: UnixTime,
        limit: usize,
    ) -> Result<Vec<IssuanceNumber>, StoreError> {
        let sql = concat!(
            "SELECT n.number FROM issuance_numbers n JOIN my_key_ids m \
             ON m.person_id = n.person_id AND m.ended_at IS NULL \
             WHERE n.expires_at < $1 AND ",
            newest!(),
            " ORDER BY n.expires_at LIMIT $2"
        );
        let rows = sqlx::query(sql)
            .bind(secs(before))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|r| IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("number")).map_err(fail))
            .collect()
    }
}
