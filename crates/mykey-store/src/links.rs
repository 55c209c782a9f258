//! Relying parties, link requests, consents and Service IDs: the SQL shared by both backends,
//! stamped out as inherent methods that the `Store` implementation in `backend.rs` calls. Each
//! public method is one transaction; one active Service ID per (relying party, customer ID) is
//! the `one_active_service_id` partial unique index's rule, not only the code's.

/// Column list naming a relying party (`r`) the way `rp_row` reads it.
macro_rules! rp_columns {
    () => {
        "r.id AS rp_id, r.client_id, r.name, r.kind, r.status, r.created_at AS rp_created_at"
    };
}
pub(crate) use rp_columns;

/// An active link with what its end needs logged.
macro_rules! active_link {
    () => {
        "SELECT s.id, s.person_id, s.consent_id, s.relying_party_id, r.name, s.customer_id FROM service_ids s \
         JOIN relying_parties r ON r.id = s.relying_party_id WHERE s.ended_at IS NULL"
    };
}
pub(crate) use active_link;

macro_rules! links_impl {
    ($store:ty, $db:ty, begin: $begin:expr) => {
        impl $store {
            fn rp_row(r: &<$db as sqlx::Database>::Row) -> Result<RelyingParty, StoreError> {
                Ok(RelyingParty {
                    id: RelyingPartyId(r.get("rp_id")),
                    client_id: r.get("client_id"),
                    name: r.get("name"),
                    kind: RelyingPartyKind::parse(r.get("kind"))
                        .ok_or_else(|| StoreError("unknown relying-party kind".into()))?,
                    status: RelyingPartyStatus::parse(r.get("status"))
                        .ok_or_else(|| StoreError("unknown relying-party status".into()))?,
                    created_at: time(r.get("rp_created_at")),
                })
            }

            fn person_link_row(r: &<$db as sqlx::Database>::Row) -> Result<PersonLink, StoreError> {
                Ok(PersonLink {
                    id: r.get("id"),
                    relying_party: r.get("name"),
                    relying_party_kind: RelyingPartyKind::parse(r.get("kind"))
                        .ok_or_else(|| StoreError("unknown relying-party kind".into()))?,
                    customer_id: r.get::<&str, _>("customer_id").parse().map_err(fail)?,
                    linked_at: time(r.get("linked_at")),
                    consent: Consent {
                        items: r.get::<&str, _>("items").split(' ').map(str::to_owned).collect(),
                        terms_version: r.get("terms_version"),
                        given_at: time(r.get("given_at")),
                    },
                })
            }

            async fn rp_by_id(
                ex: &mut <$db as sqlx::Database>::Connection,
                id: RelyingPartyId,
            ) -> Result<Option<RelyingParty>, StoreError> {
                let row = sqlx::query(concat!("SELECT ", rp_columns!(), " FROM relying_parties r WHERE r.id = $1"))
                    .bind(id.0)
                    .fetch_optional(&mut *ex)
                    .await
                    .map_err(fail)?;
                row.as_ref().map(Self::rp_row).transpose()
            }

            /// Ends every active Service ID of `person` for `why`, logging each, inside the
            /// caller's transaction.
            async fn end_links_of(
                tx: &mut sqlx::Transaction<'_, $db>,
                person: PersonId,
                at: UnixTime,
                why: ServiceIdEnd,
            ) -> Result<(), StoreError> {
                let rows = sqlx::query(
                    "SELECT s.id, s.relying_party_id, r.name, s.customer_id FROM service_ids s JOIN relying_parties r ON r.id = s.relying_party_id \
                     WHERE s.person_id = $1 AND s.ended_at IS NULL ORDER BY s.id",
                )
                .bind(person.0)
                .fetch_all(&mut **tx)
                .await
                .map_err(fail)?;
                for r in &rows {
                    sqlx::query("UPDATE service_ids SET ended_at = $1, end_reason = $2 WHERE id = $3")
                        .bind(secs(at))
                        .bind(why.as_str())
                        .bind(r.get::<i64, _>("id"))
                        .execute(&mut **tx)
                        .await
                        .map_err(fail)?;
                    for log in why.logs(r.get("name"), r.get("customer_id")) {
                        Self::append(tx, person, at, &log).await?;
                    }
                    let (kind, detail) = why.event();
                    let subject = EventSubject::CustomerId(r.get("customer_id"));
                    Self::enqueue(tx, r.get("relying_party_id"), kind, &subject, &detail, at).await?;
                }
                Ok(())
            }

            async fn insert_relying_party_tx(&self, rp: &NewRelyingParty) -> Result<RelyingParty, StoreError> {
                let id: i64 = sqlx::query(
                    "INSERT INTO relying_parties (client_id, name, kind, status, secret_hash, created_at, jwks) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(rp.client_id.as_str())
                .bind(rp.name.as_str())
                .bind(rp.kind.as_str())
                .bind(RelyingPartyStatus::Pending.as_str())
                .bind(rp.secret_hash.as_slice())
                .bind(secs(rp.created_at))
                .bind(rp.jwks.as_deref())
                .fetch_one(&self.pool)
                .await
                .map_err(fail)?
                .get(0);
                Ok(RelyingParty {
                    id: RelyingPartyId(id),
                    client_id: rp.client_id.clone(),
                    name: rp.name.clone(),
                    kind: rp.kind,
                    status: RelyingPartyStatus::Pending,
                    created_at: rp.created_at,
                })
            }

            async fn relying_parties_all(&self) -> Result<Vec<RelyingParty>, StoreError> {
                let rows = sqlx::query(concat!("SELECT ", rp_columns!(), " FROM relying_parties r ORDER BY r.id"))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(fail)?;
                rows.iter().map(Self::rp_row).collect()
            }

            async fn relying_party_by_client(&self, client_id: &str) -> Result<Option<(RelyingParty, [u8; 32])>, StoreError> {
                let row = sqlx::query(concat!("SELECT ", rp_columns!(), ", r.secret_hash FROM relying_parties r WHERE r.client_id = $1"))
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                row.map(|r| Ok((Self::rp_row(&r)?, hash32(r.get::<&[u8], _>("secret_hash"))?)))
                    .transpose()
            }

            async fn update_relying_party(
                &self,
                id: RelyingPartyId,
                status: Option<RelyingPartyStatus>,
                secret_hash: Option<&[u8; 32]>,
            ) -> Result<Option<RelyingParty>, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                if let Some(s) = status {
                    sqlx::query("UPDATE relying_parties SET status = $1 WHERE id = $2")
                        .bind(s.as_str())
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    if s != RelyingPartyStatus::Approved {
                        // Suspended: nothing it was given goes on working, on any node, and no
                        // login not yet exchanged gives it anything.
                        sqlx::query(
                            "UPDATE authorizations SET status = 'declined' \
                             WHERE status IN ('approved', 'continued') AND relying_party_id = $1",
                        )
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                        sqlx::query(
                            "DELETE FROM access_tokens WHERE authorization_id IN \
                             (SELECT a.id FROM authorizations a WHERE a.relying_party_id = $1)",
                        )
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    }
                }
                if let Some(h) = secret_hash {
                    sqlx::query("UPDATE relying_parties SET secret_hash = $1 WHERE id = $2")
                        .bind(h.as_slice())
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                }
                if status.is_some_and(|s| s != RelyingPartyStatus::Approved) || secret_hash.is_some() {
                    // A new secret (or a suspension) ends the client tokens got with the old one.
                    sqlx::query("DELETE FROM client_tokens WHERE relying_party_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                }
                let rp = Self::rp_by_id(&mut tx, id).await?;
                tx.commit().await.map_err(fail)?;
                Ok(rp)
            }

            async fn insert_link_request_tx(&self, l: &LinkRequest) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO link_requests (id, relying_party_id, customer_id, state, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(l.id.as_bytes().as_slice())
                .bind(l.relying_party.id.0)
                .bind(l.customer_id.as_str())
                .bind(LinkRequestState::Open.as_str())
                .bind(secs(l.expires_at))
                .execute(&self.pool)
                .await
                .map_err(fail)?;
                Ok(())
            }

            async fn link_request_by_id(&self, id: &LinkRequestId) -> Result<Option<LinkRequest>, StoreError> {
                let row = sqlx::query(concat!(
                    "SELECT l.customer_id, l.state, l.expires_at, ", rp_columns!(),
                    " FROM link_requests l JOIN relying_parties r ON r.id = l.relying_party_id WHERE l.id = $1"
                ))
                .bind(id.as_bytes().as_slice())
                .fetch_optional(&self.pool)
                .await
                .map_err(fail)?;
                row.map(|r| {
                    Ok(LinkRequest {
                        id: *id,
                        relying_party: Self::rp_row(&r)?,
                        customer_id: r.get::<&str, _>("customer_id").parse().map_err(fail)?,
                        state: LinkRequestState::parse(r.get("state"))
                            .ok_or_else(|| StoreError("unknown link-request state".into()))?,
                        expires_at: time(r.get("expires_at")),
                    })
                })
                .transpose()
            }

            /// Moves an open, unexpired request to `to` inside `tx`; the refusal says why not.
            async fn answer_link_request(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: &LinkRequestId,
                to: LinkRequestState,
                at: UnixTime,
            ) -> Result<Result<(RelyingPartyId, String), PlatformError>, StoreError> {
                let row = sqlx::query(
                    "UPDATE link_requests SET state = $1, answered_at = $2 \
                     WHERE id = $3 AND state = 'open' AND expires_at >= $4 RETURNING relying_party_id, customer_id",
                )
                .bind(to.as_str())
                .bind(secs(at))
                .bind(id.as_bytes().as_slice())
                .bind(secs(at))
                .fetch_optional(&mut **tx)
                .await
                .map_err(fail)?;
                if let Some(r) = row {
                    return Ok(Ok((RelyingPartyId(r.get("relying_party_id")), r.get("customer_id"))));
                }
                let state: Option<String> = sqlx::query("SELECT state FROM link_requests WHERE id = $1")
                    .bind(id.as_bytes().as_slice())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(fail)?
                    .map(|r| r.get("state"));
                Ok(Err(match state.as_deref() {
                    None => PlatformError::LinkRequestUnknown,
                    Some("open") => PlatformError::LinkRequestExpired,
                    Some(_) => PlatformError::LinkRequestAnswered,
                }))
            }

            async fn refuse_link_request_tx(
                &self,
                id: &LinkRequestId,
                at: UnixTime,
            ) -> Result<Result<(), PlatformError>, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                if let Err(e) = Self::answer_link_request(&mut tx, id, LinkRequestState::Refused, at).await? {
                    return Ok(Err(e));
                }
                tx.commit().await.map_err(fail)?;
                Ok(Ok(()))
            }

            async fn approve_link_request_tx(
                &self,
                id: &LinkRequestId,
                person: PersonId,
                consent: &NewConsent,
                signature: Option<IssuanceNumber>,
                at: UnixTime,
                logs: &[NewLog],
            ) -> Result<Result<PersonLink, PlatformError>, StoreError> {
                // Any refusal below returns before commit: the transaction rolls back on drop.
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let (rp, customer_id) =
                    match Self::answer_link_request(&mut tx, id, LinkRequestState::Approved, at).await? {
                        Ok(v) => v,
                        Err(e) => return Ok(Err(e)),
                    };
                let has_id = sqlx::query("SELECT id FROM my_key_ids WHERE person_id = $1 AND ended_at IS NULL")
                    .bind(person.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(fail)?
                    .is_some();
                if !has_id {
                    return Ok(Err(PlatformError::MyKeyIdRequired));
                }
                let consent_id: i64 = sqlx::query(
                    "INSERT INTO consents (person_id, function, relying_party_id, items, terms_version, given_at) \
                     VALUES ($1, 'service-id', $2, $3, $4, $5) RETURNING id",
                )
                .bind(person.0)
                .bind(rp.0)
                .bind(consent.items.join(" "))
                .bind(consent.terms_version.as_str())
                .bind(secs(at))
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?
                .get(0);
                let link = sqlx::query(
                    "INSERT INTO service_ids (relying_party_id, customer_id, person_id, consent_id, linked_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(rp.0)
                .bind(customer_id.as_str())
                .bind(person.0)
                .bind(consent_id)
                .bind(secs(at))
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?;
                let Some(link) = link else {
                    return Ok(Err(PlatformError::ServiceIdExists));
                };
                let link_id: i64 = link.get(0);
                Self::note_signature_in(&mut tx, person, signature, at).await?;
                for log in logs {
                    Self::append(&mut tx, person, at, log).await?;
                }
                let row = sqlx::query(
                    "SELECT s.id, r.name, r.kind, s.customer_id, s.linked_at, c.items, c.terms_version, c.given_at \
                     FROM service_ids s JOIN relying_parties r ON r.id = s.relying_party_id JOIN consents c ON c.id = s.consent_id \
                     WHERE s.id = $1",
                )
                .bind(link_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
                let link = Self::person_link_row(&row)?;
                tx.commit().await.map_err(fail)?;
                Ok(Ok(link))
            }

            async fn relying_party_links_of(
                &self,
                rp: RelyingPartyId,
                customer_id: Option<&CustomerId>,
            ) -> Result<Vec<RelyingPartyLink>, StoreError> {
                let rows = match customer_id {
                    Some(c) => sqlx::query(
                        "SELECT customer_id, linked_at FROM service_ids WHERE relying_party_id = $1 AND customer_id = $2 AND ended_at IS NULL",
                    )
                    .bind(rp.0)
                    .bind(c.as_str())
                    .fetch_all(&self.pool)
                    .await,
                    None => sqlx::query(
                        "SELECT customer_id, linked_at FROM service_ids WHERE relying_party_id = $1 AND ended_at IS NULL ORDER BY id",
                    )
                    .bind(rp.0)
                    .fetch_all(&self.pool)
                    .await,
                }
                .map_err(fail)?;
                rows.iter()
                    .map(|r| {
                        Ok(RelyingPartyLink {
                            customer_id: r.get::<&str, _>("customer_id").parse().map_err(fail)?,
                            linked_at: time(r.get("linked_at")),
                        })
                    })
                    .collect()
            }

            /// Ends one active link, logging it; `false` when none matches.
            async fn end_one_link(
                &self,
                which: Which<'_>,
                at: UnixTime,
                why: ServiceIdEnd,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let found = match which {
                    Which::Customer(rp, c) => {
                        sqlx::query(concat!(active_link!(), " AND s.relying_party_id = $1 AND s.customer_id = $2"))
                            .bind(rp.0)
                            .bind(c.as_str())
                            .fetch_optional(&mut *tx)
                            .await
                    }
                    Which::Link(person, id) => {
                        sqlx::query(concat!(active_link!(), " AND s.person_id = $1 AND s.id = $2"))
                            .bind(person.0)
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await
                    }
                }
                .map_err(fail)?;
                let Some(r) = found else {
                    return Ok(false);
                };
                let person = PersonId(r.get("person_id"));
                sqlx::query("UPDATE service_ids SET ended_at = $1, end_reason = $2 WHERE id = $3")
                    .bind(secs(at))
                    .bind(why.as_str())
                    .bind(r.get::<i64, _>("id"))
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                if why == ServiceIdEnd::Withdrawn {
                    sqlx::query("UPDATE consents SET withdrawn_at = $1 WHERE id = $2")
                        .bind(secs(at))
                        .bind(r.get::<i64, _>("consent_id"))
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                }
                for log in why.logs(r.get("name"), r.get("customer_id")) {
                    Self::append(&mut tx, person, at, &log).await?;
                }
                let (kind, detail) = why.event();
                let subject = EventSubject::CustomerId(r.get("customer_id"));
                Self::enqueue(&mut tx, r.get("relying_party_id"), kind, &subject, &detail, at).await?;
                tx.commit().await.map_err(fail)?;
                Ok(true)
            }

            async fn person_links_of(&self, person: PersonId) -> Result<Vec<PersonLink>, StoreError> {
                let rows = sqlx::query(
                    "SELECT s.id, r.name, r.kind, s.customer_id, s.linked_at, c.items, c.terms_version, c.given_at \
                     FROM service_ids s JOIN relying_parties r ON r.id = s.relying_party_id JOIN consents c ON c.id = s.consent_id \
                     WHERE s.person_id = $1 AND s.ended_at IS NULL ORDER BY s.id",
                )
                .bind(person.0)
                .fetch_all(&self.pool)
                .await
                .map_err(fail)?;
                rows.iter().map(Self::person_link_row).collect()
            }
        }
    };
}
pub(crate) use links_impl;

/// Which active link to end.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Which<'a> {
    /// A relying party's, by customer ID.
    Customer(
        mykey_platform::RelyingPartyId,
        &'a mykey_platform::CustomerId,
    ),
    /// A person's, by link ID.
    Link(mykey_platform::PersonId, i64),
}
