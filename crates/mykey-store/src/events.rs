//! The outbox of events for relying parties: written inside the transaction of the change that
//! causes them (so an acknowledged change always has its events, and a rolled-back one none),
//! read and acknowledged by the relying party. The SQL shared by both backends.

/// A fresh `jti`: 128 random bits, base64url.
pub(crate) fn new_jti() -> String {
    use base64::Engine;
    let mut b = [0u8; 16];
    // The system RNG failing is not recoverable.
    aws_lc_rs::rand::fill(&mut b).expect("system randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

macro_rules! events_impl {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Queues an event for relying party `rp` inside the caller's transaction.
            async fn enqueue(
                tx: &mut sqlx::Transaction<'_, $db>,
                rp: i64,
                kind: EventKind,
                subject: &EventSubject,
                detail: &serde_json::Value,
                at: UnixTime,
            ) -> Result<(), StoreError> {
                let (subject_kind, subject, service) = match subject {
                    EventSubject::CustomerId(c) => ("customer-id", c.clone(), None),
                    EventSubject::Ppid(s, p) => ("ppid", p.to_string(), Some(s.0)),
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
            /// active Service ID or a PPID — is told, under its own identifier for them.
            async fn tell_renewal(
                tx: &mut sqlx::Transaction<'_, $db>,
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
                .bind(person.0)
                .fetch_all(&mut **tx)
                .await
                .map_err(fail)?;
                for r in &links {
                    let subject = EventSubject::CustomerId(r.get("customer_id"));
                    Self::enqueue(tx, r.get("relying_party_id"), EventKind::CredentialChange, &subject, &detail, at).await?;
                }
                let ppids = sqlx::query(
                    "SELECT s.relying_party_id, p.ppid_service_id, p.ppid FROM ppids p \
                     JOIN ppid_services s ON s.id = p.ppid_service_id WHERE p.person_id = $1 ORDER BY p.ppid_service_id",
                )
                .bind(person.0)
                .fetch_all(&mut **tx)
                .await
                .map_err(fail)?;
                for r in &ppids {
                    let ppid: [u8; 16] = r
                        .get::<&[u8], _>("ppid")
                        .try_into()
                        .map_err(|_| StoreError("stored PPID is not 16 bytes".into()))?;
                    let subject = EventSubject::Ppid(PpidServiceId(r.get("ppid_service_id")), Ppid::from_bytes(ppid));
                    Self::enqueue(tx, r.get("relying_party_id"), EventKind::CredentialChange, &subject, &detail, at).await?;
                }
                Ok(())
            }

            async fn pending_events_of(&self, rp: RelyingPartyId, limit: usize) -> Result<Vec<Event>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, jti, kind, subject_kind, subject, ppid_service_id, detail, created_at FROM events \
                     WHERE relying_party_id = $1 AND acknowledged_at IS NULL ORDER BY id LIMIT $2",
                )
                .bind(rp.0)
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await
                .map_err(fail)?;
                rows.iter()
                    .map(|r| {
                        let subject = match r.get::<&str, _>("subject_kind") {
                            "ppid" => EventSubject::Ppid(
                                PpidServiceId(r.get::<Option<i64>, _>("ppid_service_id").unwrap_or_default()),
                                r.get::<&str, _>("subject").parse().map_err(fail)?,
                            ),
                            _ => EventSubject::CustomerId(r.get("subject")),
                        };
                        Ok(Event {
                            seq: r.get("id"),
                            jti: r.get("jti"),
                            kind: EventKind::parse(r.get("kind"))
                                .ok_or_else(|| StoreError("unknown event kind".into()))?,
                            subject,
                            detail: r.get("detail"),
                            at: time(r.get("created_at")),
                        })
                    })
                    .collect()
            }

            async fn acknowledge_tx(&self, rp: RelyingPartyId, jtis: &[String], at: UnixTime) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin().await.map_err(fail)?;
                let mut done = 0;
                for jti in jtis {
                    done += sqlx::query(
                        "UPDATE events SET acknowledged_at = $1 WHERE relying_party_id = $2 AND jti = $3 AND acknowledged_at IS NULL",
                    )
                    .bind(secs(at))
                    .bind(rp.0)
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
    };
}
pub(crate) use events_impl;
