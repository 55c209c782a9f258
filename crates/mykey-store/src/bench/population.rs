//! A national population for `mykey bench scale` (PostgreSQL only): people as the platform holds
//! them after years of use — issuance numbers (some renewed), My Key IDs, consents, Service IDs,
//! PPIDs and logs chained exactly as the platform chains them — made set-wise on the server
//! from a number series, so that ten million take minutes rather than hours.

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::StoreError;
use sqlx::Row;

use crate::{PostgresStore, fail, secs};

/// People per transaction.
const BATCH: u64 = 50_000;

/// The relying parties a seeded population links to (Service IDs: every second person, to one
/// of them in turn), and the first two of them each run a PPID service (every third person).
const RELYING_PARTIES: i64 = 4;

/// Seeded issuance numbers are six bytes: `first + k` from 2^40, and a renewed card's
/// previous number 2^44 above its current one.
const NUMBERS_FROM: u64 = 1 << 40;
const PREVIOUS_ABOVE: u64 = 1 << 44;

/// 36^8: the My Key IDs there are (eight of `[A-Z0-9]`).
const MY_KEY_IDS: i64 = 2_821_109_907_456;

/// The log's hash chain as an aggregate, run as a window over a person's entries in order:
/// each step is `mykey_platform::LogEntry::next`'s hash — SHA-256 of `mykey-log-v1`, the
/// previous hash (32 zero bytes for the first), then seq, at and the lengths of kind and detail
/// as 8-byte big-endian with kind and detail — in the session's own temporary schema, so the
/// database keeps nothing of it. A bulk load without waiting on each commit's flush: a crash
/// loses the last batches, which the next run seeds again.
const CHAIN: [&str; 4] = [
    "SET LOCAL synchronous_commit = off",
    "SET LOCAL work_mem = '256MB'",
    "CREATE OR REPLACE FUNCTION pg_temp.mykey_chain_step(h BYTEA, seq BIGINT, at BIGINT, \
     kind TEXT, detail TEXT) RETURNS BYTEA LANGUAGE sql IMMUTABLE AS \
     $$ SELECT sha256('mykey-log-v1'::BYTEA || h || int8send(seq) || int8send(at) \
     || int8send(CAST(octet_length(kind) AS BIGINT)) || convert_to(kind, 'UTF8') \
     || int8send(CAST(octet_length(detail) AS BIGINT)) || convert_to(detail, 'UTF8')) $$",
    "CREATE OR REPLACE AGGREGATE pg_temp.mykey_chain(BIGINT, BIGINT, TEXT, TEXT) \
     (SFUNC = pg_temp.mykey_chain_step, STYPE = BYTEA, \
     INITCOND = '\\x0000000000000000000000000000000000000000000000000000000000000000')",
];

/// What [`PostgresStore::population`] finds.
#[derive(Clone, Debug)]
pub struct Population {
    /// People in the database.
    pub persons: u64,
    /// The database's size on disk (`pg_database_size`), tables, indexes and all.
    pub bytes: u64,
    /// Log entries in all.
    pub log_entries: u64,
    /// The server's `shared_buffers` (its own page cache), as it says it.
    pub shared_buffers: String,
}

/// SQL for My Key ID number `x` (0 ≤ x < 36^8) as the platform writes one: eight characters
/// of `A–Z0–9`, most significant first.
fn my_key_id_sql(x: &str) -> String {
    let digits: Vec<String> = (0..8)
        .rev()
        .map(|i| {
            format!(
                "substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', \
                 CAST(({x} / {}) % 36 AS INT) + 1, 1)",
                36i64.pow(i)
            )
        })
        .collect();
    digits.join(" || ")
}

impl PostgresStore {
    /// Loads `count` people after those already there (`mykey bench scale`). Person `k` (its
    /// ID the highest so far plus `1 + k`) was created 30 days to 5 years before `at` and holds:
    /// - the issuance number `2^40 + n` (`n` counts every person ever seeded), its card
    ///   expiring within the next five years, and every fifth a renewed card's previous number
    ///   as well, the renewal half-way through its life;
    /// - an active My Key ID, with its consent;
    /// - every second, a Service ID of one of four relying parties (customer ID `P{id}`), with
    ///   its consent; every third, a PPID of one of two services, with its consent;
    /// - a log of 4 to 15 entries — created, My Key ID, renewal, consents and links, then 2 to
    ///   10 logins — spread over its life and chained as the platform chains them
    ///   (`mykey_platform::LogEntry::next`, computed here by the server's `sha256`).
    ///
    /// In transactions of 50,000 people; `progress` is told how many are in. The relying
    /// parties (`seed-population-0` to `-3`, approved, with a secret no one knows) and their
    /// PPID services are made by the first call and found by later ones.
    pub async fn seed_population(
        &self,
        count: u64,
        at: UnixTime,
        mut progress: impl FnMut(u64),
    ) -> Result<(), StoreError> {
        let (rps, services) = self.population_parties(at).await?;
        let persons_before: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM persons")
            .fetch_one(&self.pool)
            .await
            .map_err(fail)?
            .get(0);
        // Numbers go on from the highest seeded so far (a card given to a seeded person took
        // its number, so counting them would hand one out twice).
        let highest: Option<Vec<u8>> = sqlx::query(
            "SELECT number FROM issuance_numbers WHERE length(number) = 6 AND number < $1 \
             ORDER BY number DESC LIMIT 1",
        )
        .bind(
            IssuanceNumber::from_u64(NUMBERS_FROM + PREVIOUS_ABOVE)
                .map_err(fail)?
                .as_be_bytes(),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(fail)?
        .map(|r| r.get(0));
        let next_number = highest.map_or(NUMBERS_FROM, |b| {
            b.iter().fold(0u64, |n, d| n << 8 | u64::from(*d)) + 1
        });
        let consents_before: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM consents")
            .fetch_one(&self.pool)
            .await
            .map_err(fail)?
            .get(0);
        if next_number.saturating_add(count) >= NUMBERS_FROM + PREVIOUS_ABOVE {
            return Err(fail(std::io::Error::other(
                "a seeded population is at most 2^44 people",
            )));
        }
        let my_key_id_items = mykey_platform::MY_KEY_ID_CONSENT
            .iter()
            .map(|i| i.name)
            .collect::<Vec<_>>();
        // Every statement reads the batch as `k` (0-based over the batch's people) with these
        // columns; $1, $2: the batch; $3: persons' ID base; $4: now; $5: the first number.
        let people = "FROM generate_series(CAST($1 AS BIGINT), CAST($2 AS BIGINT) - 1) AS g(k), \
             LATERAL (SELECT $3 + 1 + k AS id, \
             $4 - (30 + (k * 7919) % 1826) * 86400 AS created, \
             $5 + k AS n) AS p";
        let mkid = my_key_id_sql(&format!("((p.id * 1000000007) % {MY_KEY_IDS})"));
        let mut done = 0u64;
        while done < count {
            let batch = (count - done).min(BATCH);
            let (from, to) = (done as i64, (done + batch) as i64);
            let n0 = (next_number + done) as i64;
            let mut tx = self.pool.begin().await.map_err(fail)?;
            for sql in CHAIN {
                sqlx::query(sql).execute(&mut *tx).await.map_err(fail)?;
            }
            let run = |sql: String| {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(from)
                    .bind(to)
                    .bind(persons_before)
                    .bind(secs(at))
                    .bind(n0)
            };
            let statements = [
                format!("INSERT INTO persons (id, created_at) SELECT p.id, p.created {people}"),
                // The current card, expiring within the next five years; a renewed one's tied
                // half-way through the person's life, after the previous card (`link_seq`).
                format!(
                    "INSERT INTO issuance_numbers (number, person_id, linked_at, link_seq, expires_at) \
                     SELECT substring(int8send(p.n) FROM 3), p.id, \
                     CASE WHEN k % 5 = 0 THEN p.created + ($4 - p.created) / 2 ELSE p.created END, \
                     CASE WHEN k % 5 = 0 THEN 2 ELSE 1 END, \
                     $4 + (30 + (k * 104729) % 1800) * 86400 \
                     {people}"
                ),
                format!(
                    "INSERT INTO issuance_numbers (number, person_id, linked_at, link_seq) \
                     SELECT substring(int8send(p.n + {PREVIOUS_ABOVE}) FROM 3), p.id, p.created, 1 \
                     {people} WHERE k % 5 = 0"
                ),
                format!(
                    "INSERT INTO my_key_ids (id, person_id, created_at) \
                     SELECT {mkid}, p.id, p.created {people}"
                ),
                // Consents: 3 IDs a person, $6 above the highest: My Key ID, Service ID, PPID.
                format!(
                    "INSERT INTO consents (id, person_id, function, relying_party_id, items, \
                     terms_version, given_at, ppid_service_id) \
                     SELECT $6 + 3 * (p.id - $3) - 2, p.id, 'my-key-id', CAST(NULL AS BIGINT), $7, \
                     '2026-11-01', p.created, CAST(NULL AS BIGINT) {people} \
                     UNION ALL \
                     SELECT $6 + 3 * (p.id - $3) - 1, p.id, 'service-id', ($8)[1 + (k / 2) % {RELYING_PARTIES}], \
                     'service-id.link service-id.facts-change-check service-id.inquiries-to-relying-party', \
                     '2026-11-01', p.created + 86400, NULL {people} WHERE k % 2 = 0 \
                     UNION ALL \
                     SELECT $6 + 3 * (p.id - $3), p.id, 'ppid', ($8)[1 + (k / 3) % 2], \
                     'ppid.certificate-to-platform ppid.managed-with-issuance-number', \
                     '2026-11-01', p.created + 2 * 86400, ($9)[1 + (k / 3) % 2] {people} WHERE k % 3 = 0"
                ),
                format!(
                    "INSERT INTO service_ids (relying_party_id, customer_id, person_id, consent_id, linked_at) \
                     SELECT ($8)[1 + (k / 2) % {RELYING_PARTIES}], 'P' || p.id, p.id, \
                     $6 + 3 * (p.id - $3) - 1, p.created + 86400 {people} WHERE k % 2 = 0"
                ),
                format!(
                    "INSERT INTO ppids (ppid_service_id, person_id, ppid, issued_at) \
                     SELECT ($9)[1 + (k / 3) % 2], p.id, \
                     sha256(int8send(p.id) || int8send(($9)[1 + (k / 3) % 2])), \
                     p.created + 2 * 86400 {people} WHERE k % 3 = 0"
                ),
                // The logs: the entries planned per person, each hashed on the one before by a
                // window over the person's entries (`CHAIN`).
                format!(
                    "WITH plan AS (\
                     SELECT p.id AS person_id, p.created, \
                     ARRAY['person.created', 'my-key-id.created'] \
                     || CASE WHEN k % 5 = 0 THEN ARRAY['card.renewed'] ELSE ARRAY[]::TEXT[] END \
                     || CASE WHEN k % 2 = 0 THEN ARRAY['consent.given', 'service-id.linked'] ELSE ARRAY[]::TEXT[] END \
                     || CASE WHEN k % 3 = 0 THEN ARRAY['consent.given', 'ppid.issued'] ELSE ARRAY[]::TEXT[] END \
                     || array_fill('login'::TEXT, ARRAY[2 + CAST(k % 9 AS INT)]) AS kinds, \
                     ARRAY['{{\"via\":\"card\"}}', '{{\"my_key_id\":\"' || {mkid} || '\"}}'] \
                     || CASE WHEN k % 5 = 0 THEN ARRAY['{{\"previous_issuance_numbers\":1}}'] ELSE ARRAY[]::TEXT[] END \
                     || CASE WHEN k % 2 = 0 THEN ARRAY[\
                        '{{\"function\":\"service-id\",\"items\":[\"service-id.link\",\"service-id.facts-change-check\",\"service-id.inquiries-to-relying-party\"],\"relying_party\":\"Seed business ' || (k / 2) % {RELYING_PARTIES} || '\",\"terms_version\":\"2026-11-01\"}}', \
                        '{{\"customer_id\":\"P' || p.id || '\",\"relying_party\":\"Seed business ' || (k / 2) % {RELYING_PARTIES} || '\"}}'] \
                        ELSE ARRAY[]::TEXT[] END \
                     || CASE WHEN k % 3 = 0 THEN ARRAY[\
                        '{{\"function\":\"ppid\",\"items\":[\"ppid.certificate-to-platform\",\"ppid.managed-with-issuance-number\"],\"ppid_service\":\"Seed service ' || (k / 3) % 2 || '\",\"terms_version\":\"2026-11-01\"}}', \
                        '{{\"ppid_service\":\"Seed service ' || (k / 3) % 2 || '\",\"relying_party\":\"Seed business ' || (k / 3) % 2 || '\"}}'] \
                        ELSE ARRAY[]::TEXT[] END \
                     || array_fill('{{\"purpose\":\"login\"}}'::TEXT, ARRAY[2 + CAST(k % 9 AS INT)]) AS details \
                     {people}), \
                     entries AS (SELECT person_id, e.seq, \
                     created + (e.seq - 1) * (($4 - created) / cardinality(kinds)) AS at, \
                     e.kind, details[e.seq] AS detail \
                     FROM plan, unnest(kinds) WITH ORDINALITY AS e(kind, seq)) \
                     INSERT INTO log_entries (person_id, seq, at, kind, detail, hash) \
                     SELECT person_id, seq, at, kind, detail, \
                     pg_temp.mykey_chain(seq, at, kind, detail) OVER (PARTITION BY person_id ORDER BY seq) \
                     FROM entries"
                ),
            ];
            for sql in statements {
                run(sql)
                    .bind(consents_before)
                    .bind(my_key_id_items.join(" "))
                    .bind(&rps)
                    .bind(&services)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
            }
            tx.commit().await.map_err(fail)?;
            done += batch;
            progress(done);
        }
        // Explicit IDs leave the sequences behind: the platform's own rows come after them.
        for table in ["persons", "consents"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )))
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        }
        sqlx::query("ANALYZE")
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    /// The seeded relying parties and PPID services, made once.
    async fn population_parties(&self, at: UnixTime) -> Result<(Vec<i64>, Vec<i64>), StoreError> {
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let mut rps = Vec::new();
        for j in 0..RELYING_PARTIES {
            sqlx::query(
                "INSERT INTO relying_parties (client_id, name, kind, status, secret_hash, created_at) \
                 VALUES ($1, $2, 'business', 'approved', \
                 sha256(convert_to(gen_random_uuid()::TEXT || clock_timestamp()::TEXT, 'UTF8')), $3) \
                 ON CONFLICT (client_id) DO NOTHING",
            )
            .bind(format!("seed-population-{j}"))
            .bind(format!("Seed business {j}"))
            .bind(secs(at))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            let id: i64 = sqlx::query("SELECT id FROM relying_parties WHERE client_id = $1")
                .bind(format!("seed-population-{j}"))
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?
                .get(0);
            rps.push(id);
        }
        let mut services = Vec::new();
        for (j, rp) in rps.iter().take(2).enumerate() {
            let name = format!("Seed service {j}");
            let found = sqlx::query(
                "SELECT id FROM ppid_services WHERE relying_party_id = $1 AND name = $2",
            )
            .bind(rp)
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
            let id: i64 = match found {
                Some(r) => r.get(0),
                None => sqlx::query(
                    "INSERT INTO ppid_services (relying_party_id, name, created_at) \
                     VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(rp)
                .bind(&name)
                .bind(secs(at))
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?
                .get(0),
            };
            services.push(id);
        }
        tx.commit().await.map_err(fail)?;
        Ok((rps, services))
    }

    /// Gives `cards` (their issuance numbers) to seeded people spread evenly over the
    /// population — the `i`-th card takes the current number of the person at `i / len` of
    /// the way — so that their logins land all over the tables, as real ones do. Answers the
    /// people chosen.
    pub async fn seat_cards(&self, cards: &[IssuanceNumber]) -> Result<Vec<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(id), MAX(id) FROM persons")
            .fetch_one(&self.pool)
            .await
            .map_err(fail)?;
        let (Some(lo), Some(hi)) = (row.get::<Option<i64>, _>(0), row.get::<Option<i64>, _>(1))
        else {
            return Err(fail(std::io::Error::other(
                "no people to give the cards to",
            )));
        };
        let len = cards.len().max(1) as i64;
        let people: Vec<i64> = (0..len).map(|i| lo + (hi - lo) * i / len).collect();
        let numbers: Vec<Vec<u8>> = cards.iter().map(|n| n.as_be_bytes().to_vec()).collect();
        // The person's current number is the one linked last (as the platform orders them):
        // found per card first (on the index by person), then replaced on the primary key.
        sqlx::query(
            "UPDATE issuance_numbers i SET number = c.card \
             FROM (SELECT s.card, (SELECT j.number FROM issuance_numbers j \
             WHERE j.person_id = s.person_id ORDER BY j.link_seq DESC, j.linked_at DESC LIMIT 1) AS current \
             FROM unnest($1::BIGINT[], $2::BYTEA[]) AS s(person_id, card)) AS c \
             WHERE i.number = c.current",
        )
        .bind(&people)
        .bind(&numbers)
        .execute(&self.pool)
        .await
        .map_err(fail)?;
        Ok(people)
    }

    /// How many people the database holds and its size on disk.
    pub async fn population(&self) -> Result<Population, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM persons), pg_database_size(current_database()), \
             (SELECT count(*) FROM log_entries), current_setting('shared_buffers')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(fail)?;
        Ok(Population {
            persons: row.get::<i64, _>(0) as u64,
            bytes: row.get::<i64, _>(1) as u64,
            log_entries: row.get::<i64, _>(2) as u64,
            shared_buffers: row.get(3),
        })
    }
}
