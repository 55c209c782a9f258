//! The signature certificates noted for linked people and the facts-change sweep's one
//! transaction (Art 17.2.2, [`mykey_platform::FactsStore`]): set-wise statements over chunks of
//! revoked serials, so that a delta of ten thousand revocations against a million linked people
//! is a few hundred statements.

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{
    CrlSweepPosition, CustomerId, DueSignature, EventKind, FactsStore, FactsSweep, NewLog,
    PersonId, RelyingPartyId, SignatureRevoked, StoreError,
};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, SqlStore, Stored, StoredRef, fail, secs};

/// `signature_certificates.renote`: learn the certificate again after a change was told (1),
/// or after a renewal of the card (2: the new card's own certificate was never seen).
pub(crate) const RENOTE_RENEWED: i64 = 2;

/// Serials (or people) per statement.
pub(crate) const CHUNK: usize = 500;

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
    /// Notes `serial` as the person's signature certificate (none: forgets it) inside
    /// the caller's transaction.
    pub(crate) async fn note_signature_in(
        tx: &mut sqlx::Transaction<'_, D>,
        person: PersonId,
        serial: Option<IssuanceNumber>,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM signature_certificates WHERE person_id = $1")
            .bind(person.get())
            .execute(&mut **tx)
            .await
            .map_err(fail)?;
        if let Some(s) = serial {
            sqlx::query("INSERT INTO signature_certificates (person_id, serial, noted_at) VALUES ($1, $2, $3)")
                .bind(person.get())
                .bind(s.as_be_bytes())
                .bind(secs(at))
                .execute(&mut **tx)
                .await
                .map_err(fail)?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl<D: Dialect> FactsStore for SqlStore<D>
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
    async fn end_cards(
        &self,
        ended: &[(IssuanceNumber, mykey_platform::CardEnd, UnixTime)],
        at: UnixTime,
    ) -> Result<u64, StoreError> {
        self.end_ended_cards(ended, at).await
    }

    async fn note_card_revocations(
        &self,
        entries: &[(
            IssuanceNumber,
            Option<mykey_pki::RevocationReason>,
            UnixTime,
        )],
    ) -> Result<(), StoreError> {
        self.note_revocations(entries).await
    }

    async fn expired_cards(
        &self,
        before: UnixTime,
        limit: usize,
    ) -> Result<Vec<IssuanceNumber>, StoreError> {
        self.newest_expired_cards(before, limit).await
    }

    async fn note_signature_certificate(
        &self,
        person: PersonId,
        serial: Option<IssuanceNumber>,
        at: UnixTime,
        log: &NewLog,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        Self::note_signature_in(&mut tx, person, serial, at).await?;
        Self::append(&mut tx, person, at, log).await?;
        tx.commit().await.map_err(fail)?;
        Ok(())
    }

    async fn facts_changed(
        &self,
        revoked: &[SignatureRevoked],
        at: UnixTime,
    ) -> Result<FactsSweep, StoreError> {
        use crate::facts::CHUNK;
        let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
        let revocation: std::collections::HashMap<Vec<u8>, &SignatureRevoked> = revoked
            .iter()
            .map(|r| (r.serial.as_be_bytes().to_vec(), r))
            .collect();
        // Noted, not yet told: whose, and how their certificate ended.
        let mut people: Vec<(PersonId, SignatureRevoked)> = Vec::new();
        for chunk in revoked.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::<D>::new(
                "SELECT person_id, serial FROM signature_certificates WHERE revoked_at IS NULL AND serial IN ",
            );
            q.push_tuples(chunk, |mut b, r| {
                b.push_bind(r.serial.as_be_bytes().to_vec());
            });
            for r in q.build().fetch_all(&mut *tx).await.map_err(fail)? {
                let serial: Vec<u8> = r.get("serial");
                let Some(how) = revocation.get(&serial) else {
                    return Err(StoreError::corrupt("a noted serial that was not asked for"));
                };
                people.push((PersonId::new(r.get("person_id")), **how));
            }
        }
        let mut sweep = FactsSweep {
            people: people.len() as u64,
            ..FactsSweep::default()
        };
        let how: std::collections::HashMap<i64, SignatureRevoked> =
            people.iter().map(|(p, r)| (p.get(), *r)).collect();
        // (person, relying party, customer ID, relying party's name) of every active link.
        let mut links: Vec<(i64, i64, String, String)> = Vec::new();
        for chunk in people.chunks(CHUNK) {
            // Told once; the person's next certificate is learnt at the next sweep.
            let mut q = sqlx::QueryBuilder::<D>::new(
                "UPDATE signature_certificates SET renote = CASE renote WHEN 2 THEN 2 ELSE 1 END, revoked_at = ",
            );
            q.push_bind(secs(at));
            q.push(" WHERE person_id IN ");
            q.push_tuples(chunk, |mut b, (p, _)| {
                b.push_bind(p.get());
            });
            q.build().execute(&mut *tx).await.map_err(fail)?;
            let mut q = sqlx::QueryBuilder::<D>::new(
                "SELECT s.person_id, s.relying_party_id, s.customer_id, r.name FROM service_ids s \
                 JOIN relying_parties r ON r.id = s.relying_party_id WHERE s.ended_at IS NULL AND s.person_id IN ",
            );
            q.push_tuples(chunk, |mut b, (p, _)| {
                b.push_bind(p.get());
            });
            q.push(" ORDER BY s.person_id, s.id");
            for r in q.build().fetch_all(&mut *tx).await.map_err(fail)? {
                links.push((
                    r.get("person_id"),
                    r.get("relying_party_id"),
                    r.get("customer_id"),
                    r.get("name"),
                ));
            }
        }
        // People first (their logs say who was told), then relying parties (their
        // events), as in every transaction that writes both.
        let mut told: std::collections::BTreeMap<i64, Vec<&str>> =
            std::collections::BTreeMap::new();
        for (person, _, _, name) in &links {
            told.entry(*person).or_default().push(name);
        }
        let logs: Vec<(PersonId, NewLog)> = told
            .into_iter()
            .map(|(person, names)| {
                let reason = how.get(&person).map(SignatureRevoked::reason_name);
                let log = NewLog::new(
                    mykey_platform::LogKind::FactsChangeShared,
                    serde_json::json!({"relying_parties": names, "revocation_reason": reason}),
                );
                (PersonId::new(person), log)
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
            let mut q = sqlx::QueryBuilder::<D>::new(
                "INSERT INTO events (relying_party_id, jti, kind, subject_kind, subject, detail, created_at) ",
            );
            q.push_values(chunk, |mut b, (person, rp, customer_id, _)| {
                let r = how.get(person);
                let kind = match r {
                    Some(r) if !r.facts_changed() => EventKind::SignatureCertificateRevoked,
                    _ => EventKind::BasicFactsChanged,
                };
                let detail = serde_json::json!({
                    "reason": "signature-certificate-revoked",
                    "revocation_reason": r.map(SignatureRevoked::reason_name),
                    "revoked_at": r.map_or(at, |r| r.revoked_at).as_secs(),
                });
                b.push_bind(*rp)
                    .push_bind(crate::events::new_jti())
                    .push_bind(kind.as_str())
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

    async fn linked_person(
        &self,
        rp: RelyingPartyId,
        customer_id: &CustomerId,
    ) -> Result<Option<(PersonId, IssuanceNumber)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.person_id, (SELECT i.number FROM issuance_numbers i WHERE i.person_id = s.person_id \
             ORDER BY i.link_seq DESC, i.linked_at DESC, i.number DESC LIMIT 1) AS number \
             FROM service_ids s WHERE s.relying_party_id = $1 AND s.customer_id = $2 AND s.ended_at IS NULL",
        )
        .bind(rp.get())
        .bind(customer_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.map(|r| {
            let n = IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("number")).map_err(fail)?;
            Ok((PersonId::new(r.get("person_id")), n))
        })
        .transpose()
    }

    async fn noted_signature_certificate(
        &self,
        person: PersonId,
    ) -> Result<Option<IssuanceNumber>, StoreError> {
        let row = sqlx::query(
            "SELECT serial FROM signature_certificates WHERE person_id = $1 AND revoked_at IS NULL",
        )
        .bind(person.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        row.map(|r| IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("serial")).map_err(fail))
            .transpose()
    }

    async fn signature_certificates_to_renote(
        &self,
        after: Option<PersonId>,
        limit: usize,
    ) -> Result<Vec<DueSignature>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.person_id, c.serial, c.renote, (SELECT i.number FROM issuance_numbers i WHERE i.person_id = c.person_id \
             ORDER BY i.link_seq DESC, i.linked_at DESC, i.number DESC LIMIT 1) AS number \
             FROM signature_certificates c WHERE c.renote > 0 AND c.person_id > $2 \
             AND EXISTS (SELECT 1 FROM service_ids s WHERE s.person_id = c.person_id AND s.ended_at IS NULL) \
             ORDER BY c.person_id LIMIT $1",
        )
        .bind(limit as i64)
        .bind(after.map_or(0, |p| p.get()))
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        rows.iter()
            .map(|r| {
                let serial =
                    IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("serial")).map_err(fail)?;
                let number =
                    IssuanceNumber::from_be_bytes(r.get::<&[u8], _>("number")).map_err(fail)?;
                Ok(DueSignature {
                    person: PersonId::new(r.get("person_id")),
                    number,
                    noted: serial,
                    renewed: r.get::<i64, _>("renote") == crate::facts::RENOTE_RENEWED,
                })
            })
            .collect()
    }

    async fn crl_sweep_position(&self, ca: &[u8]) -> Result<Option<CrlSweepPosition>, StoreError> {
        let row = sqlx::query(
            "SELECT complete_number, delta_number FROM crl_sweeps WHERE ca_key_id = $1",
        )
        .bind(ca)
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?;
        Ok(row.map(|r| CrlSweepPosition {
            complete: r.get::<i64, _>("complete_number") as u64,
            delta: r.get::<i64, _>("delta_number") as u64,
        }))
    }

    async fn set_crl_sweep_position(
        &self,
        ca: &[u8],
        p: CrlSweepPosition,
        at: UnixTime,
    ) -> Result<(), StoreError> {
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
}
