//! SQLite's group commit for code exchanges, as `login.rs` does for logins: one task takes every
//! exchange waiting and carries them out in one transaction with a few set-wise statements —
//! the client assertions' `jti`s spent (`spent.rs`), the codes' requests read, the redeemed ones
//! marked, their access tokens stored — and answers each only after the commit. The rule each exchange
//! follows is [`mykey_platform::oidc::CodeExchange::step`], the one PostgreSQL applies one
//! exchange at a time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use mykey_platform::oidc::{
    Authorization, CodeExchange, ExchangeOutcome, ExchangeStep, IdTokenAlg,
};
use mykey_platform::{StoreError, UsedNonce};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::batch::GroupWrite;
use super::spent::Spent;
use crate::{SqliteStore, fail, secs};

/// Code exchanges, committed in groups (see the module docs and `batch.rs`): each binds at
/// most 3 values a statement.
#[derive(Debug)]
pub(crate) struct Exchanges;

impl GroupWrite for Exchanges {
    type Write = CodeExchange;
    type Outcome = ExchangeOutcome;
    const WHAT: &'static str = "exchange";

    fn batch<'a>(
        conn: &'a mut SqliteConnection,
        spent: &'a Arc<Spent>,
        writes: &'a [CodeExchange],
    ) -> impl Future<Output = Result<Vec<ExchangeOutcome>, StoreError>> + Send + 'a {
        batch(conn, spent, writes)
    }
}

/// The batch in one transaction, in two round trips to the connection's thread.
async fn batch(
    tx: &mut SqliteConnection,
    spent: &Arc<Spent>,
    writes: &[CodeExchange],
) -> Result<Vec<ExchangeOutcome>, StoreError> {
    let mut out: Vec<Option<ExchangeOutcome>> = vec![None; writes.len()];

    // Spend the assertions' jtis (see `spent.rs`); of one jti twice in a batch the first wins.
    let mut claims = spent.claims();
    let mut fresh: Vec<&UsedNonce> = Vec::new();
    for (o, j) in out.iter_mut().zip(writes) {
        if let Some(n) = &j.assertion {
            if claims.claim(n) {
                fresh.push(n);
            } else {
                *o = Some(ExchangeOutcome::AssertionReplayed);
            }
        }
    }
    // One round trip to the connection's thread: the transaction begun, the spent jtis
    // appended, and the requests the codes name read.
    let mut q = QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE; ");
    if !fresh.is_empty() {
        super::spent::push_append(&mut q, fresh.iter().copied());
        q.push("; ");
    }
    q.push(
        "SELECT a.*, c.id_token_alg FROM authorizations a \
         LEFT JOIN oidc_clients c ON c.relying_party_id = a.relying_party_id WHERE a.code_hash IN ",
    );
    q.push_tuples(writes, |mut b, j| {
        b.push_bind(j.code_hash.as_slice());
    });
    let requests = q.build().fetch_all(&mut *tx).await.map_err(fail)?;

    let mut found: HashMap<Vec<u8>, (Authorization, IdTokenAlg)> = HashMap::new();
    for r in &requests {
        let a = SqliteStore::authorization_row(r)?;
        let alg = r
            .get::<Option<&str>, _>("id_token_alg")
            .and_then(IdTokenAlg::parse)
            .unwrap_or_default();
        found.insert(r.get::<Vec<u8>, _>("code_hash"), (a, alg));
    }

    // Each exchange's step, in order: a code redeemed earlier in the batch is a reuse.
    let mut taken: HashSet<i64> = HashSet::new();
    let mut redeem: Vec<(usize, i64)> = Vec::new();
    let mut revoke: Vec<(usize, i64)> = Vec::new();
    for (i, j) in writes.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let hit = found.get(j.code_hash.as_slice());
        let id = hit.map(|(a, _)| a.id);
        let taken_now = id.is_some_and(|id| taken.contains(&id));
        match j.step(hit.map(|(a, _)| a), taken_now) {
            ExchangeStep::Redeem => {
                let (a, alg) = hit.expect("a redeemed code was found");
                taken.insert(a.id);
                redeem.push((i, a.id));
                out[i] = Some(ExchangeOutcome::Redeemed(Box::new(a.clone()), *alg));
            }
            ExchangeStep::Revoke => {
                let (a, _) = hit.expect("a reused code was found");
                revoke.push((i, a.id));
                out[i] = Some(ExchangeOutcome::Reused {
                    revoked: 0,
                    person: a.person,
                });
            }
            ExchangeStep::Refuse(o) => out[i] = Some(o),
        }
    }
    let mut committed = false;
    if !redeem.is_empty() {
        // The request's row stays while its token does (see the purge); only the status moves.
        // Both statements in one round trip, and the commit with them unless reuses follow.
        let mut q = QueryBuilder::<Sqlite>::new(
            "UPDATE authorizations SET status = 'redeemed' WHERE status = 'continued' AND id IN ",
        );
        q.push_tuples(&redeem, |mut b, (_, id)| {
            b.push_bind(*id);
        });
        q.push("; INSERT INTO access_tokens (token_hash, authorization_id, expires_at) ");
        q.push_values(&redeem, |mut b, (i, id)| {
            let x = &writes[*i];
            b.push_bind(x.token_hash.as_slice())
                .push_bind(*id)
                .push_bind(secs(x.token_expires_at));
        });
        if revoke.is_empty() {
            q.push("; COMMIT");
            committed = true;
        }
        q.build().execute(&mut *tx).await.map_err(fail)?;
    }
    // Reuses (rare): after the batch's own tokens, so a code used twice in one batch loses both.
    for (i, id) in revoke {
        let at = secs(writes[i].at);
        let revoked = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE authorization_id = $2 AND revoked_at IS NULL AND expires_at >= $1",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(fail)?
        .rows_affected();
        if let Some(ExchangeOutcome::Reused { revoked: r, .. }) = &mut out[i] {
            *r = revoked;
        }
        for o in out.iter_mut() {
            if matches!(o, Some(ExchangeOutcome::Redeemed(a, _)) if a.id == id) {
                // Its token was just revoked by the reuse: answer it as refused too.
                *o = Some(ExchangeOutcome::Unknown);
            }
        }
    }
    if !committed {
        sqlx::query("COMMIT")
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    claims.keep();
    Ok(out
        .into_iter()
        .map(|o| o.unwrap_or(ExchangeOutcome::Unknown))
        .collect())
}
