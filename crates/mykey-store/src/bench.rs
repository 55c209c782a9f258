//! Benchmark seeding (feature `bench`, which the `mykey` command's benchmarks enable): loading
//! synthetic people, links and exchangeable codes in bulk, straight into the tables, so that a
//! benchmark starts from a national-scale state without running each flow. Not part of the
//! store the platform uses.

use std::sync::Arc;

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{PersonId, Ppid, RelyingPartyId, Store, StoreError};
use sqlx::{ColumnIndex, Encode, Executor, Row};

use crate::{Dialect, PostgresStore, SqlStore, SqliteStore, Stored, StoredRef, fail, open, secs};

mod population;
pub use population::Population;

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
    /// The highest ID in `table` (0 when empty): seeded rows take the IDs above it.
    async fn highest_id(&self, table: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COALESCE(MAX(id), 0) AS m FROM {table}"
        )))
        .fetch_one(&self.pool)
        .await
        .map_err(fail)?
        .get("m"))
    }

    /// Loads `count` people, each holding one synthetic issuance number from `first` on,
    /// in transactions of 10,000 (benchmarks: `mykey bench seed`). `progress` is told how
    /// many are in.
    pub async fn seed_persons(
        &self,
        first: u64,
        count: u64,
        at: UnixTime,
        mut progress: impl FnMut(u64),
    ) -> Result<(), StoreError> {
        let mut done = 0;
        while done < count {
            let batch = (count - done).min(10_000);
            let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
            for k in 0..batch {
                let n = IssuanceNumber::from_u64(first + done + k).map_err(fail)?;
                let id: i64 =
                    sqlx::query("INSERT INTO persons (created_at) VALUES ($1) RETURNING id")
                        .bind(secs(at))
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(fail)?
                        .get(0);
                sqlx::query("INSERT INTO issuance_numbers (number, person_id, linked_at) VALUES ($1, $2, $3)")
                    .bind(n.as_be_bytes())
                    .bind(id)
                    .bind(secs(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
            }
            tx.commit().await.map_err(fail)?;
            done += batch;
            progress(done);
        }
        Ok(())
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
        let base: i64 = self.highest_id("persons").await?;
        let consent_base: i64 = self.highest_id("consents").await?;
        let mut done = 0u64;
        while done < count {
            let batch = (count - done).min(10_000);
            let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
            let ks: Vec<u64> = (done..done + batch).collect();
            for chunk in ks.chunks(crate::facts::CHUNK) {
                let id = |k: u64| base + 1 + k as i64;
                let mut q = sqlx::QueryBuilder::<D>::new("INSERT INTO persons (id, created_at) ");
                q.push_values(chunk, |mut b, k| {
                    b.push_bind(id(*k)).push_bind(secs(at));
                });
                q.build().execute(&mut *tx).await.map_err(fail)?;
                let mut q = sqlx::QueryBuilder::<D>::new(
                    "INSERT INTO issuance_numbers (number, person_id, linked_at) ",
                );
                let mut numbers = Vec::with_capacity(chunk.len());
                for k in chunk {
                    numbers.push(IssuanceNumber::from_u64(first + k).map_err(fail)?);
                }
                q.push_values(chunk.iter().zip(&numbers), |mut b, (k, n)| {
                    b.push_bind(n.as_be_bytes().to_vec())
                        .push_bind(id(*k))
                        .push_bind(secs(at));
                });
                q.build().execute(&mut *tx).await.map_err(fail)?;
                let mut q = sqlx::QueryBuilder::<D>::new(
                    "INSERT INTO consents (id, person_id, function, relying_party_id, items, terms_version, given_at) ",
                );
                q.push_values(chunk, |mut b, k| {
                    b.push_bind(consent_base + 1 + *k as i64)
                        .push_bind(id(*k))
                        .push_bind("service-id")
                        .push_bind(rp.get())
                        .push_bind("service-id.link service-id.facts-change-check service-id.inquiries-to-relying-party")
                        .push_bind("seed")
                        .push_bind(secs(at));
                });
                q.build().execute(&mut *tx).await.map_err(fail)?;
                let mut q = sqlx::QueryBuilder::<D>::new(
                    "INSERT INTO service_ids (relying_party_id, customer_id, person_id, consent_id, linked_at) ",
                );
                q.push_values(chunk, |mut b, k| {
                    b.push_bind(rp.get())
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
                let mut q = sqlx::QueryBuilder::<D>::new(
                    "INSERT INTO signature_certificates (person_id, serial, noted_at) ",
                );
                q.push_values(chunk.iter().zip(&serials), |mut b, (k, s)| {
                    b.push_bind(id(*k))
                        .push_bind(s.as_be_bytes().to_vec())
                        .push_bind(secs(at));
                });
                q.build().execute(&mut *tx).await.map_err(fail)?;
            }
            tx.commit().await.map_err(fail)?;
            done += batch;
            progress(done);
        }
        Ok(())
    }

    /// Loads `count` people, each with a validated application in `round` through `service`
    /// of `provider` (`mykey bench points --holders`, `--round-size`): person `k` (from
    /// `first` on) gives the Payment Service ID `100000000000 + k` and holds the settlement
    /// user ID `SEED-{k}`. Set-wise, straight from a recursive number series, in transactions
    /// of 100,000.
    pub async fn seed_point_applicants(
        &self,
        (provider, service, round): (RelyingPartyId, i64, i64),
        first: u64,
        count: u64,
        at: UnixTime,
        mut progress: impl FnMut(u64),
    ) -> Result<(), StoreError> {
        let base: i64 = self.highest_id("persons").await?;
        let series = "WITH RECURSIVE g(k) AS (SELECT CAST($1 AS BIGINT) UNION ALL \
                      SELECT k + 1 FROM g WHERE k + 1 < $2) ";
        let mut done = 0u64;
        while done < count {
            let batch = (count - done).min(100_000);
            let (from, to) = ((first + done) as i64, (first + done + batch) as i64);
            let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{series}INSERT INTO persons (id, created_at) SELECT $3 + 1 + k, $4 FROM g"
            )))
            .bind(from)
            .bind(to)
            .bind(base)
            .bind(secs(at))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{series}INSERT INTO point_applications (id, round_id, person_id, \
                 payment_service_id, provider_id, payment_service_user_id, state, \
                 settlement_user_id, submitted_at, decided_at) \
                 SELECT 4611686018427387904 + $3 + 1 + k, $5, $3 + 1 + k, $6, $7, \
                 CAST(100000000000 + k AS TEXT), 'validated', 'SEED-' || CAST(k AS TEXT), $4, $4 \
                 FROM g"
            )))
            .bind(from)
            .bind(to)
            .bind(base)
            .bind(secs(at))
            .bind(round)
            .bind(service)
            .bind(provider.get())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            done += batch;
            progress(done);
        }
        // What PostgreSQL would have done by itself some minutes after such a load, done now,
        // so that what is measured next is the platform in a big round and not the load's
        // aftermath: autovacuum's vacuum and analyze (plans made on a table it thinks is empty
        // scan it; the first reads of rows no vacuum has seen write their pages again), and
        // a checkpoint (else the load's dirty pages are written out under the measurement).
        if D::ROW_LOCKS {
            sqlx::query("VACUUM (ANALYZE) persons, point_applications")
                .execute(&self.pool)
                .await
                .map_err(fail)?;
            // Only a superuser or pg_checkpoint may: without it the timed checkpoint comes
            // later.
            let _ = sqlx::query("CHECKPOINT").execute(&self.pool).await;
        }
        Ok(())
    }

    /// Benchmarks (`mykey bench oidc-compare`): `codes` (SHA-256 of each code, and its
    /// PKCE challenge) as requests of `rp` that `person` approved and the browser
    /// continued, exchangeable until `expires_at` — the state the token endpoint starts
    /// from, without running a cross-device login for each.
    pub async fn seed_codes(
        &self,
        rp: RelyingPartyId,
        person: PersonId,
        ppid: Ppid,
        codes: &[([u8; 32], String)],
        at: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        for chunk in codes.chunks(5_000) {
            let mut tx = self.pool.begin_with(D::BEGIN).await.map_err(fail)?;
            for (code_hash, challenge) in chunk {
                let handle: Vec<u8> = code_hash.iter().map(|b| !b).collect();
                sqlx::query(
                    "INSERT INTO authorizations (handle_hash, short_code, browser_hash, relying_party_id, redirect_uri, scope, state, nonce, \
                     code_challenge, sid, created_at, expires_at, status, person_id, ppid, facts, approved_at, code_hash, code_expires_at, keep_until) \
                     VALUES ($1, 'SEED-CODE', $1, $2, $3, 'openid', 'bench', 'bench', $4, $5, $6, $7, 'continued', $8, $9, '{}', $6, $10, $7, $7)",
                )
                .bind(handle.as_slice())
                .bind(rp.get())
                .bind("https://rp.example/callback")
                .bind(challenge.as_str())
                .bind(code_hash[..16].iter().map(|b| format!("{b:02x}")).collect::<String>())
                .bind(secs(at))
                .bind(secs(expires_at))
                .bind(person.get())
                .bind(ppid.as_bytes().as_slice())
                .bind(code_hash.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            }
            tx.commit().await.map_err(fail)?;
        }
        Ok(())
    }
}

/// Loads `count` synthetic people (see [`SqlStore::seed_persons`]) into the store at `url`.
pub async fn seed(
    url: &str,
    first: u64,
    count: u64,
    at: mykey_pki::UnixTime,
    progress: impl FnMut(u64),
) -> Result<(), StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        SqliteStore::open(std::path::Path::new(path))
            .await?
            .seed_persons(first, count, at, progress)
            .await
    } else {
        PostgresStore::open(url)
            .await?
            .seed_persons(first, count, at, progress)
            .await
    }
}

/// Opens the store at `url` and loads `count` linked people for relying party `rp` (see
/// [`SqlStore::seed_linked`]); answers the store.
pub async fn seed_linked(
    url: &str,
    rp: mykey_platform::RelyingPartyId,
    first: (u64, u64),
    count: u64,
    at: mykey_pki::UnixTime,
    progress: impl FnMut(u64),
) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let s = SqliteStore::open(std::path::Path::new(path)).await?;
        s.seed_linked(rp, first, count, at, progress).await?;
        Ok(Arc::new(s))
    } else {
        let s = PostgresStore::open(url).await?;
        s.seed_linked(rp, first, count, at, progress).await?;
        Ok(Arc::new(s))
    }
}

/// Opens the store at `url` and seeds exchangeable authorization codes for the OpenID Connect
/// client `client_id` (see [`SqlStore::seed_codes`]): `codes` are each code's SHA-256 and
/// PKCE challenge, all for one new person.
pub async fn seed_codes(
    url: &str,
    client_id: &str,
    codes: &[([u8; 32], String)],
    at: mykey_pki::UnixTime,
    expires_at: mykey_pki::UnixTime,
) -> Result<(), StoreError> {
    let store = open(url).await?;
    let (rp, _) = store
        .relying_party_by_client_id(client_id)
        .await?
        .ok_or_else(|| StoreError::corrupt(format!("no relying party {client_id}")))?;
    let number =
        mykey_pki::IssuanceNumber::from_u64(0xB0_0000_0000 + at.as_secs()).map_err(fail)?;
    let person = store
        .link_issuance_number(number, None, &[], at, &[])
        .await?
        .person();
    let ppid = mykey_platform::Ppid::from_bytes([0xB5; 16]);
    if let Some(path) = url.strip_prefix("sqlite://") {
        SqliteStore::open(std::path::Path::new(path))
            .await?
            .seed_codes(rp.id, person, ppid, codes, at, expires_at)
            .await
    } else {
        PostgresStore::open(url)
            .await?
            .seed_codes(rp.id, person, ppid, codes, at, expires_at)
            .await
    }
}

/// Opens the store at `url` and loads `count` validated point applicants (see
/// [`SqlStore::seed_point_applicants`]).
pub async fn seed_point_applicants(
    url: &str,
    of: (RelyingPartyId, i64, i64),
    first: u64,
    count: u64,
    at: mykey_pki::UnixTime,
    progress: impl FnMut(u64),
) -> Result<(), StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        SqliteStore::open(std::path::Path::new(path))
            .await?
            .seed_point_applicants(of, first, count, at, progress)
            .await
    } else {
        PostgresStore::open(url)
            .await?
            .seed_point_applicants(of, first, count, at, progress)
            .await
    }
}
