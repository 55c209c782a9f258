//! The signature certificates noted for linked people and the facts-change sweep's one
//! transaction (Art 17.2.2): set-wise statements over chunks of revoked serials, so that a delta
//! of ten thousand revocations against a million linked people is a few hundred statements.

use std::collections::HashMap;

use mykey_pki::UnixTime;
use mykey_platform::{LogEntry, NewLog, PersonId};

/// `signature_certificates.renote`: learn the certificate again after a change was told (1),
/// or after a renewal of the card (2: the new card's own certificate was never seen).
pub(crate) const RENOTE_RENEWED: i64 = 2;

/// Serials (or people) per statement.
pub(crate) const CHUNK: usize = 500;

/// The join that finds the head of the log of `person` (a column) on the primary key: the
/// newest `seq` in one index seek, its row in another. Grouping a person's entries instead
/// would read all of them, so a log thousands of entries long would slow each login.
pub(crate) fn head_of(person: &str) -> String {
    format!(
        "log_entries l ON l.person_id = {person} \
         AND l.seq = (SELECT MAX(m.seq) FROM log_entries m WHERE m.person_id = {person})"
    )
}

/// The entries that append `entries` to the logs whose heads are `heads` (by person), in order;
/// `heads` ends at the new heads.
pub(crate) fn chain_on(
    heads: &mut HashMap<i64, LogEntry>,
    entries: &[(PersonId, UnixTime, &NewLog)],
) -> Vec<(PersonId, LogEntry)> {
    let mut new = Vec::with_capacity(entries.len());
    for (p, at, log) in entries {
        let e = LogEntry::next(
            heads.get(&p.0),
            at.as_secs(),
            log.kind.as_str(),
            &log.detail,
        );
        heads.insert(p.0, e.clone());
        new.push((*p, e));
    }
    new
}

macro_rules! facts_impl {
    ($store:ty, $db:ty, begin: $begin:expr, lock_people: $lock:expr) => {
        impl $store {
            /// Appends one entry to each of several people's logs inside the caller's
            /// transaction, set-wise: their rows locked where the backend needs it (in id order,
            /// so that two such transactions cannot deadlock), their heads read in one statement,
            /// the entries written in another.
            pub(crate) async fn append_each(
                tx: &mut sqlx::Transaction<'_, $db>,
                entries: &[(PersonId, UnixTime, &NewLog)],
            ) -> Result<(), StoreError> {
                if entries.is_empty() {
                    return Ok(());
                }
                let mut ids: Vec<i64> = entries.iter().map(|(p, _, _)| p.0).collect();
                ids.sort_unstable();
                ids.dedup();
                let lock: bool = $lock;
                if lock {
                    let mut q = sqlx::QueryBuilder::<$db>::new("SELECT id FROM persons WHERE id IN ");
                    q.push_tuples(&ids, |mut b, id| {
                        b.push_bind(*id);
                    });
                    q.push(" ORDER BY id FOR UPDATE");
                    q.build().fetch_all(&mut **tx).await.map_err(fail)?;
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT l.person_id, l.seq, l.at, l.kind, l.detail, l.hash FROM (VALUES ",
                );
                let mut each = q.separated(", ");
                for id in &ids {
                    each.push("(").push_bind_unseparated(*id).push_unseparated(")");
                }
                q.push(") AS p JOIN ");
                q.push(crate::facts::head_of("p.column1"));
                let mut heads = std::collections::HashMap::new();
                for r in q.build().fetch_all(&mut **tx).await.map_err(fail)? {
                    let (person, head) = Self::log_head_row(&r)?;
                    heads.insert(person, head);
                }
                let new = crate::facts::chain_on(&mut heads, entries);
                let mut q = sqlx::QueryBuilder::<$db>::new("");
                Self::push_log_entries(&mut q, &new);
                q.build().execute(&mut **tx).await.map_err(fail)?;
                Ok(())
            }

            /// Log entries as read (`seq, at, kind, detail, hash`).
            pub(crate) fn log_rows(rows: &[<$db as sqlx::Database>::Row]) -> Result<Vec<LogEntry>, StoreError> {
                rows.iter()
                    .map(|r| {
                        Ok(LogEntry {
                            seq: r.get::<i64, _>("seq") as u64,
                            at: r.get::<i64, _>("at") as u64,
                            kind: r.get("kind"),
                            detail: r.get("detail"),
                            hash: LogHash(hash32(r.get::<&[u8], _>("hash"))?),
                        })
                    })
                    .collect()
            }

            /// A log head read with [`head_of`](crate::facts::head_of): whose, and the entry.
            pub(crate) fn log_head_row(
                r: &<$db as sqlx::Database>::Row,
            ) -> Result<(i64, LogEntry), StoreError> {
                Ok((
                    r.get("person_id"),
                    LogEntry {
                        seq: r.get::<i64, _>("seq") as u64,
                        at: r.get::<i64, _>("at") as u64,
                        kind: r.get("kind"),
                        detail: r.get("detail"),
                        hash: LogHash(hash32(r.get::<&[u8], _>("hash"))?),
                    },
                ))
            }

            /// Pushes onto `q` the statement that writes `new` (from [`chain_on`](crate::facts::chain_on)).
            pub(crate) fn push_log_entries(
                q: &mut sqlx::QueryBuilder<$db>,
                new: &[(PersonId, LogEntry)],
            ) {
                q.push("INSERT INTO log_entries (person_id, seq, at, kind, detail, hash) ");
                q.push_values(new, |mut b, (p, e)| {
                    b.push_bind(p.0)
                        .push_bind(e.seq as i64)
                        .push_bind(e.at as i64)
                        .push_bind(e.kind.as_str())
                        .push_bind(e.detail.as_str())
                        .push_bind(e.hash.0.as_slice());
                });
            }

            /// Loads `count` linked people for benchmarks (`mykey bench facts-sweep`): each a
            /// person with the issuance number `first + k`, an active Service ID of `rp` for the
            /// customer ID `B-{k}` with its consent, and the signature certificate
            /// `signature_first + k` noted. Multi-row statements in transactions of 10,000.
            pub async fn seed_linked(
                &self,
                rp: RelyingPartyId,
                (first, signature_first): (u64, u64),
                count: u64,
                at: UnixTime,
                mut progress: impl FnMut(u64),
            ) -> Result<(), StoreError> {
                let base: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS m FROM persons")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(fail)?
                    .get("m");
                let consent_base: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS m FROM consents")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(fail)?
                    .get("m");
                let mut done = 0u64;
                while done < count {
                    let batch = (count - done).min(10_000);
                    let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                    let ks: Vec<u64> = (done..done + batch).collect();
                    for chunk in ks.chunks(crate::facts::CHUNK) {
                        let id = |k: u64| base + 1 + k as i64;
                        let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO persons (id, created_at) ");
                        q.push_values(chunk, |mut b, k| {
                            b.push_bind(id(*k)).push_bind(secs(at));
                        });
                        q.build().execute(&mut *tx).await.map_err(fail)?;
                        let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO issuance_numbers (number, person_id, linked_at) ");
                        let mut numbers = Vec::with_capacity(chunk.len());
                        for k in chunk {
                            numbers.push(IssuanceNumber::from_u64(first + k).map_err(fail)?);
                        }
                        q.push_values(chunk.iter().zip(&numbers), |mut b, (k, n)| {
                            b.push_bind(n.as_be_bytes().to_vec()).push_bind(id(*k)).push_bind(secs(at));
                        });
                        q.build().execute(&mut *tx).await.map_err(fail)?;
                        let mut q = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO consents (id, person_id, function, relying_party_id, items, terms_version, given_at) ",
                        );
                        q.push_values(chunk, |mut b, k| {
                            b.push_bind(consent_base + 1 + *k as i64)
                                .push_bind(id(*k))
                                .push_bind("service-id")
                                .push_bind(rp.0)
                                .push_bind("service-id.link service-id.facts-change-check service-id.inquiries-to-relying-party")
                                .push_bind("seed")
                                .push_bind(secs(at));
                        });
                        q.build().execute(&mut *tx).await.map_err(fail)?;
                        let mut q = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO service_ids (relying_party_id, customer_id, person_id, consent_id, linked_at) ",
                        );
                        q.push_values(chunk, |mut b, k| {
                            b.push_bind(rp.0)
                                .push_bind(format!("B-{k}"))
                                .push_bind(id(*k))
                                .push_bind(consent_base + 1 + *k as i64)
                                .push_bind(secs(at));
                        });
                        q.build().execute(&mut *tx).await.map_err(fail)?;
                        let mut serials = Vec::with_capacity(chunk.len());
                        for k in chunk {
                            serials.push(IssuanceNumber::from_u64(signature_first + k).map_err(fail)?);
                        }
                        let mut q = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO signature_certificates (person_id, serial, noted_at) ",
                        );
                        q.push_values(chunk.iter().zip(&serials), |mut b, (k, s)| {
                            b.push_bind(id(*k)).push_bind(s.as_be_bytes().to_vec()).push_bind(secs(at));
                        });
                        q.build().execute(&mut *tx).await.map_err(fail)?;
                    }
                    tx.commit().await.map_err(fail)?;
                    done += batch;
                    progress(done);
                }
                Ok(())
            }

            /// Notes `serial` as the person's signature certificate (none: forgets it) inside
            /// the caller's transaction.
            async fn note_signature_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                person: PersonId,
                serial: Option<IssuanceNumber>,
                at: UnixTime,
            ) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM signature_certificates WHERE person_id = $1")
                    .bind(person.0)
                    .execute(&mut **tx)
                    .await
                    .map_err(fail)?;
                if let Some(s) = serial {
                    sqlx::query("INSERT INTO signature_certificates (person_id, serial, noted_at) VALUES ($1, $2, $3)")
                        .bind(person.0)
                        .bind(s.as_be_bytes())
                        .bind(secs(at))
                        .execute(&mut **tx)
                        .await
                        .map_err(fail)?;
                }
                Ok(())
            }

            async fn note_signature_tx(
                &self,
                person: PersonId,
                serial: Option<IssuanceNumber>,
                at: UnixTime,
                log: &NewLog,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                Self::note_signature_in(&mut tx, person, serial, at).await?;
                Self::append(&mut tx, person, at, log).await?;
                tx.commit().await.map_err(fail)?;
                Ok(())
            }

            async fn noted_signature(&self, person: PersonId) -> Result<Option<IssuanceNumber>, StoreError> {
                let row = sqlx::query("SELECT serial FROM signature_certificates WHERE person_id = $1 AND revoked_at IS NULL")
                    .bind(person.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                row.map(|r| IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("serial")).map_err(fail))
                    .transpose()
            }

            async fn to_renote(&self, after: Option<PersonId>, limit: usize) -> Result<Vec<DueSignature>, StoreError> {
                let rows = sqlx::query(
                    "SELECT c.person_id, c.serial, c.renote, (SELECT i.number FROM issuance_numbers i WHERE i.person_id = c.person_id \
                     ORDER BY i.link_seq DESC, i.linked_at DESC, i.number DESC LIMIT 1) AS number \
                     FROM signature_certificates c WHERE c.renote > 0 AND c.person_id > $2 \
                     AND EXISTS (SELECT 1 FROM service_ids s WHERE s.person_id = c.person_id AND s.ended_at IS NULL) \
                     ORDER BY c.person_id LIMIT $1",
                )
                .bind(limit as i64)
                .bind(after.map_or(0, |p| p.0))
                .fetch_all(&self.pool)
                .await
                .map_err(fail)?;
                rows.iter()
                    .map(|r| {
                        let serial = IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("serial")).map_err(fail)?;
                        let number = IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("number")).map_err(fail)?;
                        Ok(DueSignature {
                            person: PersonId(r.get("person_id")),
                            number,
                            noted: serial,
                            renewed: r.get::<i64, _>("renote") == crate::facts::RENOTE_RENEWED,
                        })
                    })
                    .collect()
            }

            async fn sweep_position(&self, ca: &[u8]) -> Result<Option<CrlSweepPosition>, StoreError> {
                let row = sqlx::query("SELECT complete_number, delta_number FROM crl_sweeps WHERE ca_key_id = $1")
                    .bind(ca)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                Ok(row.map(|r| CrlSweepPosition {
                    complete: r.get::<i64, _>("complete_number") as u64,
                    delta: r.get::<i64, _>("delta_number") as u64,
                }))
            }

            async fn set_sweep_position(&self, ca: &[u8], p: CrlSweepPosition, at: UnixTime) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO crl_sweeps (ca_key_id, complete_number, delta_number, swept_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (ca_key_id) DO UPDATE SET complete_number = excluded.complete_number, \
                     delta_number = excluded.delta_number, swept_at = excluded.swept_at",
                )
                .bind(ca)
                .bind(p.complete as i64)
                .bind(p.delta as i64)
                .bind(secs(at))
                .execute(&self.pool)
                .await
                .map_err(fail)?;
                Ok(())
            }

            async fn linked_person_of(
                &self,
                rp: RelyingPartyId,
                customer_id: &CustomerId,
            ) -> Result<Option<(PersonId, IssuanceNumber)>, StoreError> {
                let row = sqlx::query(
                    "SELECT s.person_id, (SELECT i.number FROM issuance_numbers i WHERE i.person_id = s.person_id \
                     ORDER BY i.link_seq DESC, i.linked_at DESC, i.number DESC LIMIT 1) AS number \
                     FROM service_ids s WHERE s.relying_party_id = $1 AND s.customer_id = $2 AND s.ended_at IS NULL",
                )
                .bind(rp.0)
                .bind(customer_id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(fail)?;
                row.map(|r| {
                    let n = IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("number")).map_err(fail)?;
                    Ok((PersonId(r.get("person_id")), n))
                })
                .transpose()
            }

            async fn facts_changed_tx(
                &self,
                revoked: &[(IssuanceNumber, UnixTime)],
                at: UnixTime,
            ) -> Result<FactsSweep, StoreError> {
                use crate::facts::CHUNK;
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let when: std::collections::HashMap<Vec<u8>, UnixTime> =
                    revoked.iter().map(|(s, t)| (s.as_be_bytes().to_vec(), *t)).collect();
                // Noted, not yet told: whose.
                let mut people: Vec<(PersonId, UnixTime)> = Vec::new();
                for chunk in revoked.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT person_id, serial FROM signature_certificates WHERE revoked_at IS NULL AND serial IN ",
                    );
                    q.push_tuples(chunk, |mut b, (s, _)| {
                        b.push_bind(s.as_be_bytes().to_vec());
                    });
                    for r in q.build().fetch_all(&mut *tx).await.map_err(fail)? {
                        let serial: Vec<u8> = r.get("serial");
                        let t = when.get(&serial).copied().unwrap_or(at);
                        people.push((PersonId(r.get("person_id")), t));
                    }
                }
                let mut sweep = FactsSweep { people: people.len() as u64, ..FactsSweep::default() };
                let revoked_at: std::collections::HashMap<i64, UnixTime> =
                    people.iter().map(|(p, t)| (p.0, *t)).collect();
                // (person, relying party, customer ID, relying party's name) of every active link.
                let mut links: Vec<(i64, i64, String, String)> = Vec::new();
                for chunk in people.chunks(CHUNK) {
                    // Told once; the person's next certificate is learnt at the next sweep.
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE signature_certificates SET renote = CASE renote WHEN 2 THEN 2 ELSE 1 END, revoked_at = ",
                    );
                    q.push_bind(secs(at));
                    q.push(" WHERE person_id IN ");
                    q.push_tuples(chunk, |mut b, (p, _)| {
                        b.push_bind(p.0);
                    });
                    q.build().execute(&mut *tx).await.map_err(fail)?;
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT s.person_id, s.relying_party_id, s.customer_id, r.name FROM service_ids s \
                         JOIN relying_parties r ON r.id = s.relying_party_id WHERE s.ended_at IS NULL AND s.person_id IN ",
                    );
                    q.push_tuples(chunk, |mut b, (p, _)| {
                        b.push_bind(p.0);
                    });
                    q.push(" ORDER BY s.person_id, s.id");
                    for r in q.build().fetch_all(&mut *tx).await.map_err(fail)? {
                        links.push((r.get("person_id"), r.get("relying_party_id"), r.get("customer_id"), r.get("name")));
                    }
                }
                // People first (their logs say who was told), then relying parties (their
                // events), as in every transaction that writes both.
                let mut told: std::collections::BTreeMap<i64, Vec<&str>> = std::collections::BTreeMap::new();
                for (person, _, _, name) in &links {
                    told.entry(*person).or_default().push(name);
                }
                let logs: Vec<(PersonId, NewLog)> = told
                    .into_iter()
                    .map(|(person, names)| {
                        let log = NewLog::new(
                            mykey_platform::LogKind::FactsChangeShared,
                            serde_json::json!({"relying_parties": names, "why": "signature certificate revoked: the four facts changed"}),
                        );
                        (PersonId(person), log)
                    })
                    .collect();
                for chunk in logs.chunks(CHUNK) {
                    let entries: Vec<(PersonId, UnixTime, &NewLog)> =
                        chunk.iter().map(|(p, l)| (*p, at, l)).collect();
                    Self::append_each(&mut tx, &entries).await?;
                }
                let rps: Vec<i64> = links.iter().map(|l| l.1).collect();
                Self::lock_relying_parties(&mut tx, &rps).await?;
                for chunk in links.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO events (relying_party_id, jti, kind, subject_kind, subject, detail, created_at) ",
                    );
                    q.push_values(chunk, |mut b, (person, rp, customer_id, _)| {
                        let t = revoked_at.get(person).copied().unwrap_or(at);
                        let detail = serde_json::json!({
                            "reason": "signature-certificate-revoked",
                            "revoked_at": t.as_secs(),
                        });
                        b.push_bind(*rp)
                            .push_bind(crate::events::new_jti())
                            .push_bind(EventKind::BasicFactsChanged.as_str())
                            .push_bind("customer-id")
                            .push_bind(customer_id.clone())
                            .push_bind(detail.to_string())
                            .push_bind(secs(at));
                    });
                    q.build().execute(&mut *tx).await.map_err(fail)?;
                }
                sweep.events = links.len() as u64;
                tx.commit().await.map_err(fail)?;
                Ok(sweep)
            }
        }
    };
}
pub(crate) use facts_impl;
