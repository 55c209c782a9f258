//! The outbox of events for relying parties and their streams
//! ([`mykey_platform::EventStore`]): events are written inside the transaction of the change
//! that causes them (so an acknowledged change always has its events, and a rolled-back one
//! none), read and acknowledged by the relying party or pushed to it.

use mykey_pki::UnixTime;
use mykey_platform::{
    Delivery, Event, EventKind, EventStore, EventSubject, PersonId, Ppid, PpidServiceId,
    PushOutcome, RelyingPartyId, StoreError, Stream, StreamConfig,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, RowsAffected, SqlStore, Stored, StoredRef, fail, secs, time};

/// Event kinds as stored in a stream's `events_requested` and matched with `LIKE`: each name
/// between spaces.
pub(crate) fn kinds_text(kinds: &[mykey_platform::EventKind]) -> String {
    let mut s = String::from(" ");
    for k in kinds {
        s.push_str(k.as_str());
        s.push(' ');
    }
    s
}

/// A fresh `jti`: 128 random bits, base64url.
pub(crate) fn new_jti() -> String {
    use base64::Engine;
    let mut b = [0u8; 16];
    // The system RNG failing is not recoverable.
    aws_lc_rs::rand::fill(&mut b).expect("system randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
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
    /// Where the backend runs writers side by side (PostgreSQL), locks the relying
    /// parties' rows before their events are written: a transaction that queues an event
    /// for a relying party then commits before the next one takes an ID, so IDs — the
    /// delivery order — follow commit order. Callers lock people first, then relying
    /// parties, in ID order, so that no two transactions wait on each other.
    pub(crate) async fn lock_relying_parties(
        tx: &mut sqlx::Transaction<'_, D>,
        rps: &[i64],
    ) -> Result<(), StoreError> {
        Self::lock_in_order(tx, "relying_parties", rps, crate::locks::Lock::Update).await
    }

    /// Queues an event for relying party `rp` inside the caller's transaction.
    pub(crate) async fn enqueue(
        tx: &mut sqlx::Transaction<'_, D>,
        rp: i64,
        kind: EventKind,
        subject: &EventSubject,
        detail: &serde_json::Value,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        Self::lock_relying_parties(tx, &[rp]).await?;
        let (subject_kind, subject, service) = match subject {
            EventSubject::CustomerId(c) => ("customer-id", c.clone(), None),
            EventSubject::Ppid(s, p) => ("ppid", p.to_string(), Some(s.get())),
            EventSubject::PointApplication(a) => ("point-application", a.to_string(), None),
            EventSubject::Announcement(a) => ("announcement", a.clone(), None),
        };
        sqlx::query(
            "INSERT INTO events (relying_party_id, jti, kind, subject_kind, subject, ppid_service_id, detail, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(rp)
        .bind(crate::events::new_jti())
        .bind(kind.as_str())
        .bind(subject_kind)
        .bind(subject)
        .bind(service)
        .bind(detail.to_string())
        .bind(secs(at))
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
        Ok(())
    }

    /// A renewed card (Art 16.1.2–3): every relying party that knows the person — by an
    /// active Service ID, or a PPID whose consent stands — is told, under its own identifier
    /// for them.
    pub(crate) async fn tell_renewal(
        tx: &mut sqlx::Transaction<'_, D>,
        person: PersonId,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let detail = serde_json::json!({
            "credential_type": "x509",
            "change_type": "update",
            "event_timestamp": at.as_secs(),
        });
        let links = sqlx::query(
            "SELECT relying_party_id, customer_id FROM service_ids WHERE person_id = $1 AND ended_at IS NULL ORDER BY id",
        )
        .bind(person.get())
        .fetch_all(&mut **tx)
        .await
        .map_err(fail)?;
        for r in &links {
            let subject = EventSubject::CustomerId(r.get("customer_id"));
            Self::enqueue(
                tx,
                r.get("relying_party_id"),
                EventKind::CredentialChange,
                &subject,
                &detail,
                at,
            )
            .await?;
        }
        let ppids = sqlx::query(
            "SELECT s.relying_party_id, p.ppid_service_id, p.ppid FROM ppids p \
             JOIN ppid_services s ON s.id = p.ppid_service_id WHERE p.person_id = $1 \
             AND EXISTS (SELECT 1 FROM consents c WHERE c.person_id = p.person_id \
                 AND c.ppid_service_id = p.ppid_service_id AND c.withdrawn_at IS NULL) \
             ORDER BY p.ppid_service_id",
        )
        .bind(person.get())
        .fetch_all(&mut **tx)
        .await
        .map_err(fail)?;
        for r in &ppids {
            let ppid: [u8; 16] = r
                .get::<&[u8], _>("ppid")
                .try_into()
                .map_err(|_| StoreError::corrupt("stored PPID is not 16 bytes"))?;
            let subject = EventSubject::Ppid(
                PpidServiceId::new(r.get("ppid_service_id")),
                Ppid::from_bytes(ppid),
            );
            Self::enqueue(
                tx,
                r.get("relying_party_id"),
                EventKind::CredentialChange,
                &subject,
                &detail,
                at,
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl<D: Dialect> EventStore for SqlStore<D>
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
    async fn outbox_depths(&self) -> Result<Vec<mykey_platform::OutboxDepth>, StoreError> {
        let rows = sqlx::query(
            "SELECT relying_party_id, COUNT(*) AS pending, MIN(created_at) AS oldest FROM events \
             WHERE acknowledged_at IS NULL GROUP BY relying_party_id ORDER BY relying_party_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        Ok(rows
            .iter()
            .map(|r| mykey_platform::OutboxDepth {
                relying_party: RelyingPartyId::new(r.get("relying_party_id")),
                pending: u64::try_from(r.get::<i64, _>("pending")).unwrap_or(0),
                oldest: time(r.get("oldest")),
            })
            .collect())
    }

    async fn pending_events(
        &self,
        rp: RelyingPartyId,
        kinds: &[EventKind],
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, jti, kind, subject_kind, subject, ppid_service_id, detail, created_at FROM events \
             WHERE relying_party_id = $1 AND acknowledged_at IS NULL AND $2 LIKE ('% ' || kind || ' %') \
             ORDER BY id LIMIT $3",
        )
        .bind(rp.get())
        .bind(crate::events::kinds_text(kinds))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        rows.iter()
            .map(|r| {
                let subject = match r.get::<&str, _>("subject_kind") {
                    "ppid" => EventSubject::Ppid(
                        PpidServiceId::new(
                            r.get::<Option<i64>, _>("ppid_service_id")
                                .unwrap_or_default(),
                        ),
                        r.get::<&str, _>("subject").parse().map_err(fail)?,
                    ),
                    "point-application" => EventSubject::PointApplication(
                        r.get::<&str, _>("subject").parse().map_err(fail)?,
                    ),
                    "announcement" => EventSubject::Announcement(r.get("subject")),
                    _ => EventSubject::CustomerId(r.get("subject")),
                };
                Ok(Event {
                    seq: r.get("id"),
                    jti: r.get("jti"),
                    kind: EventKind::parse(r.get("kind"))
                        .ok_or_else(|| StoreError::corrupt("unknown event kind"))?,
                    subject,
                    detail: r.get("detail"),
                    at: time(r.get("created_at")),
                })
            })
            .collect()
    }

    async fn set_stream(
        &self,
        rp: RelyingPartyId,
        c: &StreamConfig,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let (delivery, url, auth) = match &c.delivery {
            Delivery::Push {
                endpoint_url,
                authorization_header,
            } => (
                "push",
                Some(endpoint_url.as_str()),
                authorization_header.as_deref(),
            ),
            Delivery::Poll => ("poll", None, None),
        };
        let mut tx = self.pool.begin().await.map_err(fail)?;
        sqlx::query("DELETE FROM streams WHERE relying_party_id = $1")
            .bind(rp.get())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        sqlx::query(
            "INSERT INTO streams (relying_party_id, delivery, endpoint_url, authorization_header, events_requested, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(rp.get())
        .bind(delivery)
        .bind(url)
        .bind(auth)
        .bind(crate::events::kinds_text(&c.events_requested))
        .bind(secs(at))
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(())
    }

    async fn stream(&self, rp: RelyingPartyId) -> Result<Option<Stream>, StoreError> {
        let row = sqlx::query(
            "SELECT delivery, endpoint_url, authorization_header, events_requested, attempts, next_attempt_at, last_error, last_delivered_at, \
             (SELECT count(*) FROM events e WHERE e.relying_party_id = s.relying_party_id AND e.acknowledged_at IS NULL \
                AND s.events_requested LIKE ('% ' || e.kind || ' %')) AS pending \
             FROM streams s WHERE relying_party_id = $1",
        )
        .bind(rp.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        let Some(r) = row else { return Ok(None) };
        let delivery = match r.get::<&str, _>("delivery") {
            "push" => Delivery::Push {
                endpoint_url: r
                    .get::<Option<String>, _>("endpoint_url")
                    .unwrap_or_default(),
                authorization_header: r.get("authorization_header"),
            },
            _ => Delivery::Poll,
        };
        let events_requested = r
            .get::<&str, _>("events_requested")
            .split(' ')
            .filter_map(EventKind::parse)
            .collect();
        Ok(Some(Stream {
            config: StreamConfig {
                delivery,
                events_requested,
            },
            attempts: r.get::<i64, _>("attempts").clamp(0, i64::from(u32::MAX)) as u32,
            next_attempt_at: time(r.get("next_attempt_at")),
            last_error: r.get("last_error"),
            last_delivered_at: r.get::<Option<i64>, _>("last_delivered_at").map(time),
            pending: r.get::<i64, _>("pending").max(0) as u64,
        }))
    }

    async fn plaintext_stream_headers(&self) -> Result<Vec<(RelyingPartyId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT relying_party_id, authorization_header FROM streams \
             WHERE authorization_header IS NOT NULL AND authorization_header NOT LIKE 'sealed:%'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    RelyingPartyId::new(r.get("relying_party_id")),
                    r.get("authorization_header"),
                )
            })
            .collect())
    }

    async fn reseal_stream_headers(
        &self,
        changes: &[(RelyingPartyId, String, String)],
    ) -> Result<u64, StoreError> {
        if changes.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let mut done = 0;
        for (rp, old, new) in changes {
            done += sqlx::query(
                "UPDATE streams SET authorization_header = $3 WHERE relying_party_id = $1 AND authorization_header = $2",
            )
            .bind(rp.get())
            .bind(old.as_str())
            .bind(new.as_str())
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        D::compact(self).await?;
        Ok(done)
    }

    async fn delete_stream(&self, rp: RelyingPartyId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM streams WHERE relying_party_id = $1")
            .bind(rp.get())
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(done.rows_affected() == 1)
    }

    async fn due_push_streams(
        &self,
        at: UnixTime,
        limit: usize,
    ) -> Result<Vec<RelyingPartyId>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.relying_party_id FROM streams s WHERE s.delivery = 'push' AND s.next_attempt_at <= $1 \
             AND EXISTS (SELECT 1 FROM events e WHERE e.relying_party_id = s.relying_party_id AND e.acknowledged_at IS NULL \
                AND s.events_requested LIKE ('% ' || e.kind || ' %')) \
             ORDER BY s.next_attempt_at LIMIT $2",
        )
        .bind(secs(at))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        Ok(rows
            .iter()
            .map(|r| RelyingPartyId::new(r.get("relying_party_id")))
            .collect())
    }

    async fn record_push(
        &self,
        rp: RelyingPartyId,
        jti: &str,
        outcome: &PushOutcome,
        at: UnixTime,
        next: UnixTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(fail)?;
        match outcome {
            PushOutcome::Delivered | PushOutcome::Refused(_) => {
                let refused = match outcome {
                    PushOutcome::Refused(why) => Some(why.as_str()),
                    _ => None,
                };
                sqlx::query(
                    "UPDATE events SET acknowledged_at = $1, refused = $2 WHERE relying_party_id = $3 AND jti = $4 AND acknowledged_at IS NULL",
                )
                .bind(secs(at))
                .bind(refused)
                .bind(rp.get())
                .bind(jti)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
                sqlx::query(
                    "UPDATE streams SET attempts = 0, next_attempt_at = $1, last_error = $2, last_delivered_at = $3 WHERE relying_party_id = $4",
                )
                .bind(secs(next))
                .bind(refused.map(|r| format!("the receiver refused {jti}: {r}")))
                .bind(secs(at))
                .bind(rp.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            }
            PushOutcome::Failed(why) => {
                sqlx::query(
                    "UPDATE streams SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE relying_party_id = $3",
                )
                .bind(secs(next))
                .bind(why.as_str())
                .bind(rp.get())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            }
        }
        tx.commit().await.map_err(fail)?;
        Ok(())
    }

    async fn acknowledge_events(
        &self,
        rp: RelyingPartyId,
        jtis: &[String],
        at: UnixTime,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let mut done = 0;
        for jti in jtis {
            done += sqlx::query(
                "UPDATE events SET acknowledged_at = $1 WHERE relying_party_id = $2 AND jti = $3 AND acknowledged_at IS NULL",
            )
            .bind(secs(at))
            .bind(rp.get())
            .bind(jti.as_str())
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        Ok(done)
    }
}
