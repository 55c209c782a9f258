//! SQLite's group commit for logins. A login is one transaction
//! ([`mykey_platform::LoginStore::login`]). SQLite has one writer and flushes once per commit
//! (`synchronous=FULL`, about 0.3 ms here), so its logins go through a group commit (`batch.rs`): one
//! task takes every login waiting, runs them in one transaction and answers each after the
//! commit — a login is acknowledged only once it is on disk, and 64 concurrent logins cost one
//! flush instead of 64. (On PostgreSQL each login runs its own transaction, and concurrent
//! commits share WAL flushes: `postgres.rs`.)

use std::collections::HashMap;
use std::sync::Arc;

use mykey_pki::UnixTime;
use mykey_platform::{LoginOutcome, LoginWrite, NewLog, PersonId, StoreError};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::batch::GroupWrite;
use super::spent::Spent;
use crate::{SqliteStore, fail, secs};

/// Logins, committed in groups (see the module docs and `batch.rs`): each binds 5 values
/// and 6 a log entry, a statement at a time (SQLite allows 32,766 a statement).
#[derive(Debug)]
pub(crate) struct Logins;

impl GroupWrite for Logins {
    type Write = LoginWrite;
    type Outcome = LoginOutcome;
    const WHAT: &'static str = "login";

    fn batch<'a>(
        conn: &'a mut SqliteConnection,
        spent: &'a Arc<Spent>,
        writes: &'a [LoginWrite],
    ) -> impl Future<Output = Result<Vec<LoginOutcome>, StoreError>> + Send + 'a {
        batch(conn, spent, writes)
    }
}

/// Every login in one transaction, all of them committed or none, in two round trips to the
/// connection's thread: the first begins the transaction and reads whose the issuance numbers
/// are, whether they are suspended, with the head of each one's log; the second writes the batch set-wise (nonces, log
/// entries, sessions) and commits.
async fn batch(
    conn: &mut SqliteConnection,
    spent: &Arc<Spent>,
    writes: &[LoginWrite],
) -> Result<Vec<LoginOutcome>, StoreError> {
    let mut out = vec![LoginOutcome::UnknownNumber; writes.len()];

    // Whose issuance numbers, and their logs' heads: an unknown number's login is refused, and
    // its nonce not spent.
    let mut q = QueryBuilder::<Sqlite>::new(
        "BEGIN IMMEDIATE; SELECT i.number, i.person_id, p.suspended_at IS NOT NULL AS suspended, \
         l.seq, l.at, l.kind, l.detail, l.hash \
         FROM issuance_numbers i JOIN persons p ON p.id = i.person_id LEFT JOIN ",
    );
    q.push(crate::chain::head_of("i.person_id"));
    q.push(" WHERE i.number IN ");
    q.push_tuples(writes, |mut b, j| {
        b.push_bind(j.issuance_number.as_be_bytes());
    });
    let mut persons: HashMap<Vec<u8>, (PersonId, bool)> = HashMap::new();
    let mut heads = HashMap::new();
    for r in q.build().fetch_all(&mut *conn).await.map_err(fail)? {
        persons.insert(
            r.get("number"),
            (PersonId::new(r.get("person_id")), r.get("suspended")),
        );
        if r.get::<Option<i64>, _>("seq").is_some() {
            let (person, head) = SqliteStore::log_head_row(&r)?;
            heads.insert(person, head);
        }
    }
    let known: Vec<(usize, (PersonId, bool))> = writes
        .iter()
        .enumerate()
        .filter_map(|(i, j)| {
            let n = j.issuance_number.as_be_bytes();
            persons.get(n).map(|p| (i, *p))
        })
        .collect();
    if known.len() < writes.len() {
        // Rare (a card's first login): an unknown number's answer that was already used is
        // told so, before its number is tied to anyone.
        for (o, j) in out.iter_mut().zip(writes) {
            if spent.contains(&j.nonce.nonce) {
                *o = LoginOutcome::Replayed;
            }
        }
    }

    // Spend the nonces; of a nonce answered twice in one batch the first answer wins. A
    // suspended person's login (Art 8.2) spends its nonce and writes nothing else.
    let mut claims = spent.claims();
    let mut done = Vec::with_capacity(known.len());
    let mut refused = Vec::new();
    for (i, (p, suspended)) in known {
        out[i] = match (claims.claim(&writes[i].nonce), suspended) {
            (false, _) => LoginOutcome::Replayed,
            (true, true) => {
                refused.push(i);
                LoginOutcome::Suspended
            }
            (true, false) => {
                done.push((i, p));
                LoginOutcome::Done(p)
            }
        };
    }
    if done.is_empty() && refused.is_empty() {
        sqlx::query("ROLLBACK")
            .execute(&mut *conn)
            .await
            .map_err(fail)?;
        return Ok(out);
    }
    // The log entries, chained on in batch order.
    let entries: Vec<(PersonId, UnixTime, &NewLog)> = done
        .iter()
        .flat_map(|(i, p)| {
            let w = &writes[*i];
            w.logs.iter().map(move |log| (*p, w.at, log))
        })
        .collect();
    let new = crate::chain::chain_on(&mut heads, &entries);
    let mut q = QueryBuilder::<Sqlite>::new("");
    super::spent::push_append(
        &mut q,
        done.iter()
            .map(|(i, _)| *i)
            .chain(refused)
            .map(|i| &writes[i].nonce),
    );
    if !new.is_empty() {
        q.push("; ");
        SqliteStore::push_log_entries(&mut q, &new);
    }
    if !done.is_empty() {
        q.push("; INSERT INTO sessions (token_hash, person_id, expires_at) ");
        q.push_values(&done, |mut b, (i, p)| {
            let w = &writes[*i];
            b.push_bind(w.token_hash.as_slice())
                .push_bind(p.get())
                .push_bind(secs(w.expires_at));
        });
    }
    q.push("; COMMIT");
    q.build().execute(&mut *conn).await.map_err(fail)?;
    claims.keep();
    Ok(out)
}
