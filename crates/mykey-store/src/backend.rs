//! The two backends. The SQL is shared; the macro below stamps the `Store` implementation out
//! for each, differing only in how a transaction begins and how a person's row is locked.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use mykey_pki::{IssuanceNumber, UnixTime};
use mykey_platform::{
    Consent, ConsentRecord, CrlSweepPosition, CustomerId, Delivery, DueSignature, Event, EventKind,
    EventSubject, FactsSweep, LinkOutcome, LinkRequest, LinkRequestId, LinkRequestState, LogEntry,
    LogHash, LoginOutcome, LoginWrite, MyKeyId, MyKeyIdChange, MyKeyIdRecord, MyKeyIdState,
    NewConsent, NewLog, NewRelyingParty, PersonId, PersonLink, PersonPpidService, PlatformError,
    Ppid, PpidGrant, PpidIssue, PpidIssued, PpidService, PpidServiceId, PushOutcome, RelyingParty,
    RelyingPartyId, RelyingPartyKind, RelyingPartyLink, RelyingPartyStatus, ServiceIdEnd,
    ServicePpid, Session, Store, StoreError, Stream, StreamConfig, TermsVersion, UsedNonce, oidc,
};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::clients::clients_impl;
use crate::events::events_impl;
use crate::facts::facts_impl;
use crate::fail;
use crate::links::{Which, active_link, links_impl, rp_columns};
use crate::login::{LoginBatcher, login_impl};
use crate::oidc::oidc_impl;
use crate::ppids::{ppid_service_columns, ppids_impl};

/// SQLite: the embedded default, a file under the data folder (WAL, synchronous=FULL).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    pub(crate) spent: Arc<crate::spent::Spent>,
    logins: LoginBatcher,
    pub(crate) exchanges: crate::exchange::ExchangeBatcher,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(fail)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Statement journals (a multi-row statement's undo) in memory: past 64 KiB SQLite
            // would otherwise spill them to a temporary file, opened and deleted per statement.
            .pragma("temp_store", "MEMORY")
            // 32 MiB of page cache (the default is 2 MiB), so the indexes' hot pages stay.
            .pragma("cache_size", "-32768")
            .busy_timeout(std::time::Duration::from_secs(10));
        // One connection: SQLite has one writer at a time, and with several connections the
        // others wait in its busy handler (sleeping), which costs far more than queueing here.
        // It never checkpoints the WAL itself: see `checkpoint.rs`.
        // No ping before each use: the file connection has no network to lose, and the ping
        // is one more round trip to the connection's thread per transaction.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(fail)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(fail)?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(fail)?;
        let spent = crate::spent::Spent::load(&pool).await?;
        let logins = LoginBatcher::start(pool.clone(), Arc::clone(&spent));
        crate::checkpoint::start(checkpointer, logins.downgrade());
        let exchanges = crate::exchange::ExchangeBatcher::start(pool.clone(), Arc::clone(&spent));
        Ok(Self {
            logins,
            exchanges,
            pool,
            spent,
        })
    }

    async fn login_write(&self, w: &LoginWrite) -> Result<LoginOutcome, StoreError> {
        self.logins.login(w).await
    }
}

/// PostgreSQL: production.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(fail)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(fail)?;
        Ok(Self { pool })
    }

    /// The pool (for tests that need a fresh schema).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn login_write(&self, w: &LoginWrite) -> Result<LoginOutcome, StoreError> {
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let outcome = Self::login_in(&mut tx, w).await?;
        if let LoginOutcome::Done(_) = outcome {
            tx.commit().await.map_err(fail)?;
        }
        Ok(outcome)
    }

    /// One login inside the caller's transaction, which keeps nothing unless it is done. The
    /// nonce comes first: a replayed answer is told so even for a number not yet tied.
    async fn login_in(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        w: &LoginWrite,
    ) -> Result<LoginOutcome, StoreError> {
        if !Self::spend_nonce(tx, &w.nonce).await? {
            return Ok(LoginOutcome::Replayed);
        }
        let person = sqlx::query("SELECT person_id FROM issuance_numbers WHERE number = $1")
            .bind(w.issuance_number.as_be_bytes())
            .fetch_optional(&mut **tx)
            .await
            .map_err(fail)?;
        let Some(person) = person.map(|r| PersonId(r.get("person_id"))) else {
            return Ok(LoginOutcome::UnknownNumber);
        };
        for log in &w.logs {
            Self::append(tx, person, w.at, log).await?;
        }
        sqlx::query("INSERT INTO sessions (token_hash, person_id, expires_at) VALUES ($1, $2, $3)")
            .bind(w.token_hash.as_slice())
            .bind(person.0)
            .bind(secs(w.expires_at))
            .execute(&mut **tx)
            .await
            .map_err(fail)?;
        Ok(LoginOutcome::Done(person))
    }
}

pub(crate) fn secs(t: UnixTime) -> i64 {
    t.as_secs() as i64
}

fn time(v: i64) -> UnixTime {
    UnixTime::from_secs(v.max(0) as u64)
}

pub(crate) fn hash32(v: &[u8]) -> Result<[u8; 32], StoreError> {
    v.try_into()
        .map_err(|_| StoreError("stored hash is not 32 bytes".into()))
}

macro_rules! store_impl {
    ($store:ty, $db:ty, begin: $begin:expr, lock_person: $lock:expr) => {
        impl $store {
            /// Loads `count` people, each holding one synthetic issuance number from `first` on,
            /// in transactions of 10,000 (benchmarks: `mykey bench seed`). `progress` is told how
            /// many are in.
            pub async fn seed_persons(&self, first: u64, count: u64, at: UnixTime, mut progress: impl FnMut(u64)) -> Result<(), StoreError> {
                let mut done = 0;
                while done < count {
                    let batch = (count - done).min(10_000);
                    let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                    for k in 0..batch {
                        let n = IssuanceNumber::from_u64(first + done + k).map_err(fail)?;
                        let id: i64 = sqlx::query("INSERT INTO persons (created_at) VALUES ($1) RETURNING id")
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
        }

        impl $store {
            /// Appends one entry to a person's chain inside the caller's transaction, first
            /// locking the person's row where the backend needs it (PostgreSQL); SQLite's
            /// IMMEDIATE transactions already serialise writers.
            async fn append(
                tx: &mut sqlx::Transaction<'_, $db>,
                person: PersonId,
                at: UnixTime,
                log: &NewLog,
            ) -> Result<LogEntry, StoreError> {
                let lock: &'static str = $lock;
                if !lock.is_empty() {
                    sqlx::query(lock).bind(person.0).execute(&mut **tx).await.map_err(fail)?;
                }
                let last = sqlx::query(
                    "SELECT seq, at, kind, detail, hash FROM log_entries WHERE person_id = $1 ORDER BY seq DESC LIMIT 1",
                )
                .bind(person.0)
                .fetch_optional(&mut **tx)
                .await
                .map_err(fail)?;
                let prev = match last {
                    Some(r) => Some(LogEntry {
                        seq: r.get::<i64, _>("seq") as u64,
                        at: r.get::<i64, _>("at") as u64,
                        kind: r.get("kind"),
                        detail: r.get("detail"),
                        hash: LogHash(hash32(r.get::<&[u8], _>("hash"))?),
                    }),
                    None => None,
                };
                let entry = LogEntry::next(prev.as_ref(), at.as_secs(), log.kind.as_str(), &log.detail);
                sqlx::query(
                    "INSERT INTO log_entries (person_id, seq, at, kind, detail, hash) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(person.0)
                .bind(entry.seq as i64)
                .bind(entry.at as i64)
                .bind(entry.kind.as_str())
                .bind(entry.detail.as_str())
                .bind(entry.hash.0.as_slice())
                .execute(&mut **tx)
                .await
                .map_err(fail)?;
                Ok(entry)
            }
        }
        #[async_trait::async_trait]
        impl Store for $store {
            async fn use_nonce(&self, n: &UsedNonce) -> Result<bool, StoreError> {
                self.use_nonce_tx(n).await
            }

            async fn login(&self, w: &LoginWrite) -> Result<LoginOutcome, StoreError> {
                self.login_write(w).await
            }

            async fn end_sessions_before_revocation(
                &self,
                revoked: &[(IssuanceNumber, UnixTime)],
                session_ttl: u64,
                token_ttl: u64,
                at: UnixTime,
            ) -> Result<u64, StoreError> {
                if revoked.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let mut ended = 0;
                for chunk in revoked.chunks(crate::facts::CHUNK) {
                    // (number, until): what of its holder expires by `until` (revocation time plus
                    // the lifetime) was made by the revocation.
                    let until = |q: &mut sqlx::QueryBuilder<$db>, ttl: u64| {
                        q.push("(VALUES ");
                        let mut each = q.separated(", ");
                        for (n, t) in chunk {
                            each.push("(").push_bind_unseparated(n.as_be_bytes().to_vec());
                            each.push_unseparated(", ").push_bind_unseparated(secs(*t) + ttl as i64).push_unseparated(")");
                        }
                        q.push(") AS r JOIN issuance_numbers i ON i.number = r.column1 ");
                    };
                    let mut q = sqlx::QueryBuilder::<$db>::new("DELETE FROM sessions WHERE EXISTS (SELECT 1 FROM ");
                    until(&mut q, session_ttl);
                    q.push("WHERE i.person_id = sessions.person_id AND sessions.expires_at <= r.column2)");
                    ended += q.build().execute(&mut *tx).await.map_err(fail)?.rows_affected();
                    let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE access_tokens SET revoked_at = ");
                    q.push_bind(secs(at));
                    q.push(" WHERE revoked_at IS NULL AND EXISTS (SELECT 1 FROM ");
                    until(&mut q, token_ttl);
                    q.push("JOIN authorizations a ON a.person_id = i.person_id \
                            WHERE a.id = access_tokens.authorization_id AND access_tokens.expires_at <= r.column2)");
                    ended += q.build().execute(&mut *tx).await.map_err(fail)?.rows_affected();
                }
                tx.commit().await.map_err(fail)?;
                Ok(ended)
            }

            async fn purge_expired(&self, at: UnixTime) -> Result<u64, StoreError> {
                self.purge_tx(at).await
            }

            async fn person_by_issuance_number(&self, n: IssuanceNumber) -> Result<Option<PersonId>, StoreError> {
                let row = sqlx::query("SELECT person_id FROM issuance_numbers WHERE number = $1")
                    .bind(n.as_be_bytes())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                Ok(row.map(|r| PersonId(r.get("person_id"))))
            }

            async fn link_issuance_number(
                &self,
                n: IssuanceNumber,
                previous: &[IssuanceNumber],
                at: UnixTime,
                logs: &[NewLog],
            ) -> Result<LinkOutcome, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let known = sqlx::query("SELECT person_id FROM issuance_numbers WHERE number = $1")
                    .bind(n.as_be_bytes())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(fail)?;
                if let Some(r) = known {
                    tx.commit().await.map_err(fail)?;
                    return Ok(LinkOutcome::Known(PersonId(r.get("person_id"))));
                }
                let mut holder = None;
                for p in previous {
                    let row = sqlx::query("SELECT person_id FROM issuance_numbers WHERE number = $1")
                        .bind(p.as_be_bytes())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(fail)?;
                    if let Some(r) = row {
                        holder = Some(PersonId(r.get("person_id")));
                        break;
                    }
                }
                let outcome = match holder {
                    Some(p) => LinkOutcome::Renewed(p),
                    None => {
                        let id: i64 = sqlx::query("INSERT INTO persons (created_at) VALUES ($1) RETURNING id")
                            .bind(secs(at))
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(fail)?
                            .get(0);
                        LinkOutcome::Created(PersonId(id))
                    }
                };
                let person = outcome.person();
                // A person's numbers in the order they were linked (several may be linked within
                // one second): the newest is the one J-LIS is asked about.
                sqlx::query(
                    "INSERT INTO issuance_numbers (number, person_id, linked_at, link_seq) VALUES ($1, $2, $3, \
                     (SELECT COALESCE(MAX(link_seq), 0) + 1 FROM issuance_numbers WHERE person_id = $2))",
                )
                    .bind(n.as_be_bytes())
                    .bind(person.0)
                    .bind(secs(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                let mut all: Vec<NewLog> = logs.to_vec();
                all.push(match outcome {
                    LinkOutcome::Renewed(_) => NewLog {
                        kind: mykey_platform::LogKind::CardRenewed,
                        detail: r#"{"note":"a renewed card's new number now leads to you"}"#.into(),
                    },
                    _ => NewLog { kind: mykey_platform::LogKind::PersonCreated, detail: "{}".into() },
                });
                for log in &all {
                    Self::append(&mut tx, person, at, log).await?;
                }
                // After the person's row is locked (by the log), as everywhere: no deadlocks.
                if let LinkOutcome::Renewed(_) = outcome {
                    Self::tell_renewal(&mut tx, person, at).await?;
                    // The new card has its own signature certificate: learn it (facts.rs).
                    sqlx::query("UPDATE signature_certificates SET renote = 2 WHERE person_id = $1")
                        .bind(person.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                }
                tx.commit().await.map_err(fail)?;
                Ok(outcome)
            }

            async fn session(&self, token_hash: &[u8; 32], at: UnixTime) -> Result<Option<Session>, StoreError> {
                let row = sqlx::query("SELECT person_id, expires_at FROM sessions WHERE token_hash = $1 AND expires_at >= $2")
                    .bind(token_hash.as_slice())
                    .bind(secs(at))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                Ok(row.map(|r| Session {
                    token_hash: *token_hash,
                    person: PersonId(r.get("person_id")),
                    expires_at: time(r.get("expires_at")),
                }))
            }

            async fn my_key_id(&self, person: PersonId) -> Result<Option<MyKeyIdState>, StoreError> {
                let row = sqlx::query("SELECT id, created_at FROM my_key_ids WHERE person_id = $1 AND ended_at IS NULL")
                    .bind(person.0)
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
            ) -> Result<Result<(), PlatformError>, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let active: Option<String> =
                    sqlx::query("SELECT id FROM my_key_ids WHERE person_id = $1 AND ended_at IS NULL")
                        .bind(person.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(fail)?
                        .map(|r| r.get("id"));
                let (end, new) = match (change, &active) {
                    (MyKeyIdChange::Create(_), Some(_)) => return Ok(Err(PlatformError::MyKeyIdAlreadyActive)),
                    (MyKeyIdChange::Create(id), None) => (None, Some(id)),
                    (MyKeyIdChange::Change(_) | MyKeyIdChange::Revoke, None) => return Ok(Err(PlatformError::NoMyKeyId)),
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
                    .bind(person.0)
                    .bind(secs(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                    if inserted.rows_affected() == 0 {
                        // Rolled back on drop: the old ID stays active.
                        return Ok(Err(PlatformError::MyKeyIdTaken));
                    }
                }
                Self::append(&mut tx, person, at, log).await?;
                if let MyKeyIdChange::Revoke = change {
                    // Art 15.3: every function that uses the My Key ID ends with it, and so do the
                    // access tokens relying parties hold for the person.
                    Self::end_links_of(&mut tx, person, at, ServiceIdEnd::MyKeyIdRevoked).await?;
                    sqlx::query(
                        "UPDATE authorizations SET status = 'declined' \
                         WHERE status IN ('approved', 'continued') AND person_id = $1",
                    )
                    .bind(person.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                    sqlx::query(
                        "UPDATE access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND authorization_id IN \
                         (SELECT a.id FROM authorizations a WHERE a.person_id = $2)",
                    )
                    .bind(secs(at))
                    .bind(person.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                }
                tx.commit().await.map_err(fail)?;
                Ok(Ok(()))
            }

            async fn append_log(&self, person: PersonId, at: UnixTime, log: &NewLog) -> Result<LogEntry, StoreError> {
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let entry = Self::append(&mut tx, person, at, log).await?;
                tx.commit().await.map_err(fail)?;
                Ok(entry)
            }

            async fn log_page(&self, person: PersonId, from: Option<u64>, newest_first: bool, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
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
                .bind(person.0)
                .bind(bound)
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await
                .map_err(fail)?;
                Self::log_rows(&rows)
            }

            async fn log(&self, person: PersonId) -> Result<Vec<LogEntry>, StoreError> {
                let rows = sqlx::query("SELECT seq, at, kind, detail, hash FROM log_entries WHERE person_id = $1 ORDER BY seq")
                    .bind(person.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(fail)?;
                Self::log_rows(&rows)
            }

            async fn insert_relying_party(&self, rp: &NewRelyingParty) -> Result<RelyingParty, StoreError> {
                self.insert_relying_party_tx(rp).await
            }

            async fn relying_parties(&self) -> Result<Vec<RelyingParty>, StoreError> {
                self.relying_parties_all().await
            }

            async fn relying_party_by_client_id(&self, client_id: &str) -> Result<Option<(RelyingParty, [u8; 32])>, StoreError> {
                self.relying_party_by_client(client_id).await
            }

            async fn set_relying_party_status(&self, id: RelyingPartyId, status: RelyingPartyStatus) -> Result<Option<RelyingParty>, StoreError> {
                self.update_relying_party(id, Some(status), None).await
            }

            async fn set_relying_party_secret(&self, id: RelyingPartyId, secret_hash: &[u8; 32]) -> Result<Option<RelyingParty>, StoreError> {
                self.update_relying_party(id, None, Some(secret_hash)).await
            }

            async fn relying_party_jwks(&self, id: RelyingPartyId) -> Result<Option<String>, StoreError> {
                self.jwks_of(id).await
            }

            async fn set_relying_party_jwks(&self, id: RelyingPartyId, jwks: Option<&str>) -> Result<Option<RelyingParty>, StoreError> {
                self.set_jwks_tx(id, jwks).await
            }

            async fn insert_client_token(&self, token_hash: &[u8; 32], rp: RelyingPartyId, expires_at: UnixTime) -> Result<(), StoreError> {
                self.insert_client_token_tx(token_hash, rp, expires_at).await
            }

            async fn client_token(&self, token_hash: &[u8; 32], at: UnixTime) -> Result<Option<RelyingParty>, StoreError> {
                self.client_token_rp(token_hash, at).await
            }

            async fn insert_link_request(&self, r: &LinkRequest) -> Result<(), StoreError> {
                self.insert_link_request_tx(r).await
            }

            async fn link_request(&self, id: &LinkRequestId) -> Result<Option<LinkRequest>, StoreError> {
                self.link_request_by_id(id).await
            }

            async fn refuse_link_request(&self, id: &LinkRequestId, at: UnixTime) -> Result<Result<(), PlatformError>, StoreError> {
                self.refuse_link_request_tx(id, at).await
            }

            async fn approve_link_request(
                &self,
                id: &LinkRequestId,
                person: PersonId,
                consent: &NewConsent,
                signature: Option<IssuanceNumber>,
                at: UnixTime,
                logs: &[NewLog],
            ) -> Result<Result<PersonLink, PlatformError>, StoreError> {
                self.approve_link_request_tx(id, person, consent, signature, at, logs).await
            }

            async fn relying_party_links(&self, rp: RelyingPartyId, customer_id: Option<&CustomerId>) -> Result<Vec<RelyingPartyLink>, StoreError> {
                self.relying_party_links_of(rp, customer_id).await
            }

            async fn remove_link(&self, rp: RelyingPartyId, customer_id: &CustomerId, at: UnixTime) -> Result<bool, StoreError> {
                self.end_one_link(Which::Customer(rp, customer_id), at, ServiceIdEnd::RemovedByRelyingParty).await
            }

            async fn person_links(&self, person: PersonId) -> Result<Vec<PersonLink>, StoreError> {
                self.person_links_of(person).await
            }

            async fn withdraw_link(&self, person: PersonId, id: i64, at: UnixTime) -> Result<bool, StoreError> {
                self.end_one_link(Which::Link(person, id), at, ServiceIdEnd::Withdrawn).await
            }

            async fn insert_terms(&self, t: &TermsVersion) -> Result<bool, StoreError> {
                self.insert_terms_tx(t).await
            }

            async fn terms_versions(&self) -> Result<Vec<TermsVersion>, StoreError> {
                self.terms_all().await
            }

            async fn terms_in_force(&self, at: UnixTime) -> Result<Option<TermsVersion>, StoreError> {
                self.terms_at(at).await
            }

            async fn insert_ppid_service(&self, rp: RelyingPartyId, name: &str, at: UnixTime) -> Result<PpidService, StoreError> {
                self.insert_ppid_service_tx(rp, name, at).await
            }

            async fn ppid_services_of(&self, rp: RelyingPartyId) -> Result<Vec<PpidService>, StoreError> {
                self.ppid_services_by_rp(rp).await
            }

            async fn ppid_service(&self, id: PpidServiceId) -> Result<Option<PpidService>, StoreError> {
                self.ppid_service_by_id(id).await
            }

            async fn ppid_consent(&self, person: PersonId, service: PpidServiceId) -> Result<Option<Consent>, StoreError> {
                self.active_ppid_consent(person, service).await
            }

            async fn issue_ppid(&self, issue: &PpidIssue<'_>) -> Result<Result<PpidIssued, PlatformError>, StoreError> {
                self.issue_ppid_tx(issue).await
            }

            async fn redeem_ppid_code(&self, service: PpidServiceId, code_hash: &[u8; 32], at: UnixTime, log: &NewLog) -> Result<Option<Ppid>, StoreError> {
                self.redeem_code_tx(service, code_hash, at, log).await
            }

            async fn set_ppid_customer_id(
                &self,
                service: PpidServiceId,
                ppid: Ppid,
                customer_id: &CustomerId,
                at: UnixTime,
                log: &NewLog,
            ) -> Result<Option<ServicePpid>, StoreError> {
                self.set_customer_id_tx(service, ppid, customer_id, at, log).await
            }

            async fn service_ppids(&self, service: PpidServiceId, customer_id: Option<&CustomerId>) -> Result<Vec<ServicePpid>, StoreError> {
                self.service_ppids_of(service, customer_id).await
            }

            async fn person_ppid_services(&self, person: PersonId) -> Result<Vec<PersonPpidService>, StoreError> {
                self.person_ppid_services_of(person).await
            }

            async fn withdraw_ppid_consent(&self, person: PersonId, service: PpidServiceId, at: UnixTime, log: &NewLog) -> Result<bool, StoreError> {
                self.withdraw_ppid_consent_tx(person, service, at, log).await
            }

            async fn pending_events(&self, rp: RelyingPartyId, kinds: &[EventKind], limit: usize) -> Result<Vec<Event>, StoreError> {
                self.pending_events_of(rp, kinds, limit).await
            }

            async fn relying_party(&self, id: RelyingPartyId) -> Result<Option<RelyingParty>, StoreError> {
                let mut c = self.pool.acquire().await.map_err(fail)?;
                Self::rp_by_id(&mut c, id).await
            }

            async fn set_stream(&self, rp: RelyingPartyId, config: &StreamConfig, at: UnixTime) -> Result<(), StoreError> {
                self.set_stream_tx(rp, config, at).await
            }

            async fn stream(&self, rp: RelyingPartyId) -> Result<Option<Stream>, StoreError> {
                self.stream_of(rp).await
            }

            async fn plaintext_stream_headers(&self) -> Result<Vec<(RelyingPartyId, String)>, StoreError> {
                self.plaintext_stream_headers_tx().await
            }

            async fn reseal_stream_headers(&self, changes: &[(RelyingPartyId, String, String)]) -> Result<u64, StoreError> {
                self.reseal_stream_headers_tx(changes).await
            }

            async fn delete_stream(&self, rp: RelyingPartyId) -> Result<bool, StoreError> {
                self.delete_stream_tx(rp).await
            }

            async fn due_push_streams(&self, at: UnixTime, limit: usize) -> Result<Vec<RelyingPartyId>, StoreError> {
                self.due_streams_at(at, limit).await
            }

            async fn record_push(&self, rp: RelyingPartyId, jti: &str, outcome: &PushOutcome, at: UnixTime, next: UnixTime) -> Result<(), StoreError> {
                self.record_push_tx(rp, jti, outcome, at, next).await
            }

            async fn acknowledge_events(&self, rp: RelyingPartyId, jtis: &[String], at: UnixTime) -> Result<u64, StoreError> {
                self.acknowledge_tx(rp, jtis, at).await
            }

            async fn note_signature_certificate(&self, person: PersonId, serial: Option<IssuanceNumber>, at: UnixTime, log: &NewLog) -> Result<(), StoreError> {
                self.note_signature_tx(person, serial, at, log).await
            }

            async fn facts_changed(&self, revoked: &[(IssuanceNumber, UnixTime)], at: UnixTime) -> Result<FactsSweep, StoreError> {
                self.facts_changed_tx(revoked, at).await
            }

            async fn linked_person(&self, rp: RelyingPartyId, customer_id: &CustomerId) -> Result<Option<(PersonId, IssuanceNumber)>, StoreError> {
                self.linked_person_of(rp, customer_id).await
            }

            async fn noted_signature_certificate(&self, person: PersonId) -> Result<Option<IssuanceNumber>, StoreError> {
                self.noted_signature(person).await
            }

            async fn signature_certificates_to_renote(&self, after: Option<PersonId>, limit: usize) -> Result<Vec<DueSignature>, StoreError> {
                self.to_renote(after, limit).await
            }

            async fn crl_sweep_position(&self, ca: &[u8]) -> Result<Option<CrlSweepPosition>, StoreError> {
                self.sweep_position(ca).await
            }

            async fn set_crl_sweep_position(&self, ca: &[u8], position: CrlSweepPosition, at: UnixTime) -> Result<(), StoreError> {
                self.set_sweep_position(ca, position, at).await
            }

            async fn my_key_id_history(&self, person: PersonId) -> Result<Vec<MyKeyIdRecord>, StoreError> {
                self.my_key_ids_of(person).await
            }

            async fn service_id_history(&self, person: PersonId) -> Result<Vec<mykey_platform::ServiceIdRecord>, StoreError> {
                self.service_ids_of(person).await
            }

            async fn person_consents(&self, person: PersonId) -> Result<Vec<ConsentRecord>, StoreError> {
                self.consents_of(person).await
            }
        }
    };
}

store_impl!(SqliteStore, sqlx::Sqlite, begin: "BEGIN IMMEDIATE", lock_person: "");
login_impl!(SqliteStore, sqlx::Sqlite);
clients_impl!(SqliteStore, sqlx::Sqlite, begin: "BEGIN IMMEDIATE");
clients_impl!(PostgresStore, sqlx::Postgres, begin: "BEGIN");
events_impl!(SqliteStore, sqlx::Sqlite, lock_relying_parties: false);
events_impl!(PostgresStore, sqlx::Postgres, lock_relying_parties: true);
facts_impl!(SqliteStore, sqlx::Sqlite, begin: "BEGIN IMMEDIATE", lock_people: false);
facts_impl!(PostgresStore, sqlx::Postgres, begin: "BEGIN", lock_people: true);
login_impl!(PostgresStore, sqlx::Postgres);
links_impl!(SqliteStore, sqlx::Sqlite, begin: "BEGIN IMMEDIATE");
ppids_impl!(SqliteStore, sqlx::Sqlite, begin: "BEGIN IMMEDIATE");
oidc_impl!(SqliteStore, sqlx::Sqlite, begin: "BEGIN IMMEDIATE", exchange: exchange_batched);
oidc_impl!(PostgresStore, sqlx::Postgres, begin: "BEGIN", exchange: exchange_one);
ppids_impl!(PostgresStore, sqlx::Postgres, begin: "BEGIN");
links_impl!(PostgresStore, sqlx::Postgres, begin: "BEGIN");
store_impl!(PostgresStore, sqlx::Postgres, begin: "BEGIN", lock_person: "SELECT id FROM persons WHERE id = $1 FOR UPDATE");
