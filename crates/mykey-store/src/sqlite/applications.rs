//! SQLite's group commit for card-point applications (`batch.rs`): a round's opening brings
//! many at once, and each alone would cost a commit — its flush and the writing of every page
//! it touched — and half a dozen round trips to the connection's thread. One task takes every
//! application waiting and writes them set-wise in one transaction, in three round trips:
//!
//! 1. `BEGIN IMMEDIATE`, and every application's conditions in one query — the round, the
//!    service and its provider, the My Key ID, the right (Art 27), the names its answer shows —
//!    with the head of each person's log;
//! 2. the applications that meet them, in one `INSERT … ON CONFLICT DO NOTHING RETURNING id`:
//!    the unique index on round and person decides, as on PostgreSQL (two of one person in one
//!    batch: the first is taken);
//! 3. the log entries and the providers' events of those taken, and `COMMIT`.
//!
//! Each application is answered after the commit, with its own refusal if it had one. The same
//! rules, one application at a time, are `SqlStore::apply_in` (PostgreSQL).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use mykey_platform::{
    Conflict, EventKind, NewLog, NewPointApplication, NotFound, PersonId, PlatformError,
    PointApplication, PointApplicationState, PointConflict, RelyingPartyId, StoreError,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::batch::GroupWrite;
use super::spent::Spent;
use crate::{SqliteStore, fail, secs};

/// Point applications, committed in groups.
#[derive(Debug)]
pub(crate) struct Applications;

/// What an application answers: taken or refused, or a fault of its own.
type Outcome = Result<Result<PointApplication, PlatformError>, StoreError>;

impl GroupWrite for Applications {
    type Write = (NewPointApplication, Vec<NewLog>);
    type Outcome = Outcome;
    const WHAT: &'static str = "point application";

    fn batch<'a>(
        conn: &'a mut SqliteConnection,
        _spent: &'a Arc<Spent>,
        writes: &'a [Self::Write],
    ) -> impl Future<Output = Result<Vec<Outcome>, StoreError>> + Send + 'a {
        batch(conn, writes)
    }
}

fn conflict(c: PointConflict) -> Outcome {
    Ok(Err(PlatformError::Conflict(Conflict::Point(c))))
}

/// What the first query finds for one application.
struct Found {
    round_state: Option<String>,
    round_name: String,
    provider: Option<(i64, String)>,
    service_name: String,
    kiosk_name: Option<String>,
    ids: i64,
    forfeited: i64,
}

async fn batch(
    conn: &mut SqliteConnection,
    writes: &[(NewPointApplication, Vec<NewLog>)],
) -> Result<Vec<Outcome>, StoreError> {
    // 1. Every condition, and the logs' heads.
    let mut q = QueryBuilder::<Sqlite>::new(
        "BEGIN IMMEDIATE; WITH v (i, round, service, person, kiosk) AS (",
    );
    q.push_values(writes.iter().enumerate(), |mut b, (i, (new, _))| {
        b.push_bind(i as i64)
            .push_bind(new.round.get())
            .push_bind(new.service.get())
            .push_bind(new.person.get())
            .push_bind(new.kiosk.map(RelyingPartyId::get));
    });
    q.push(
        ") SELECT v.i, r.state AS round_state, r.name AS round_name, \
         s.name AS service_name, \
         (SELECT s2.relying_party_id FROM payment_services s2 \
          JOIN relying_parties p2 ON p2.id = s2.relying_party_id \
          WHERE s2.id = v.service AND s2.status = 'eligible' AND p2.status = 'approved') AS provider, \
         (SELECT p3.name FROM payment_services s3 JOIN relying_parties p3 \
          ON p3.id = s3.relying_party_id WHERE s3.id = v.service) AS provider_name, \
         (SELECT name FROM relying_parties WHERE id = v.kiosk) AS kiosk_name, \
         (SELECT COUNT(*) FROM my_key_ids WHERE person_id = v.person AND ended_at IS NULL) AS ids, \
         (SELECT COUNT(*) FROM point_forfeitures WHERE person_id = v.person \
          AND round_id = v.round) AS forfeited \
         FROM v LEFT JOIN point_rounds r ON r.id = v.round \
         LEFT JOIN payment_services s ON s.id = v.service ORDER BY v.i",
    );
    let rows = q.build().fetch_all(&mut *conn).await.map_err(fail)?;
    let mut found = Vec::with_capacity(writes.len());
    for r in &rows {
        let provider: Option<i64> = r.get("provider");
        found.push(Found {
            round_state: r.get("round_state"),
            round_name: r.get::<Option<String>, _>("round_name").unwrap_or_default(),
            provider: provider.map(|p| {
                (
                    p,
                    r.get::<Option<String>, _>("provider_name")
                        .unwrap_or_default(),
                )
            }),
            service_name: r
                .get::<Option<String>, _>("service_name")
                .unwrap_or_default(),
            kiosk_name: r.get("kiosk_name"),
            ids: r.get("ids"),
            forfeited: r.get("forfeited"),
        });
    }
    if found.len() != writes.len() {
        return Err(StoreError::corrupt(
            "an application's conditions went missing",
        ));
    }

    // Which may be written; the others are refused now.
    let mut out: Vec<Option<Outcome>> = Vec::with_capacity(writes.len());
    let mut candidates = Vec::new();
    for (i, f) in found.iter().enumerate() {
        let refused = match f.round_state.as_deref() {
            None | Some("draft") => Some(Ok(Err(PlatformError::NotFound(NotFound::PointRound)))),
            Some("open") if f.provider.is_none() => {
                Some(conflict(PointConflict::ServiceNotEligible))
            }
            Some("open") if f.ids == 0 => {
                Some(Ok(Err(PlatformError::Conflict(Conflict::MyKeyIdRequired))))
            }
            Some("open") if f.forfeited > 0 => Some(conflict(PointConflict::RightsForfeited)),
            Some("open") => None,
            Some(_) => Some(conflict(PointConflict::RoundNotOpen)),
        };
        if refused.is_none() {
            candidates.push(i);
        }
        out.push(refused);
    }
    if candidates.is_empty() {
        sqlx::query("ROLLBACK")
            .execute(&mut *conn)
            .await
            .map_err(fail)?;
        return answers(out);
    }

    // 2. The unique indexes decide.
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO point_applications (id, round_id, person_id, payment_service_id, \
         provider_id, payment_service_user_id, payment_service_code, kiosk_id, state, \
         submitted_at) ",
    );
    q.push_values(&candidates, |mut b, i| {
        let new = &writes[*i].0;
        let provider = found[*i].provider.as_ref().map_or(0, |(p, _)| *p);
        b.push_bind(new.id.get())
            .push_bind(new.round.get())
            .push_bind(new.person.get())
            .push_bind(new.service.get())
            .push_bind(provider)
            .push_bind(new.payment_service_user_id.as_str())
            .push_bind(new.payment_service_code.as_deref())
            .push_bind(new.kiosk.map(RelyingPartyId::get))
            .push_bind("submitted")
            .push_bind(secs(new.at));
    });
    q.push(" ON CONFLICT DO NOTHING RETURNING id, round_id, person_id");
    // Which rows went in, by ID, round and person: two of the batch may have drawn one ID (the
    // later is not inserted), and each row is claimed once, by the first of the batch that
    // matches it (the one inserted when they match in all three).
    let mut taken: HashSet<(i64, i64, i64)> = q
        .build()
        .fetch_all(&mut *conn)
        .await
        .map_err(fail)?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut written = Vec::new();
    let mut applied: HashSet<(i64, i64)> = HashSet::new();
    for i in candidates {
        let new = &writes[i].0;
        if taken.remove(&(new.id.get(), new.round.get(), new.person.get())) {
            applied.insert((new.round.get(), new.person.get()));
            written.push(i);
        }
    }
    // Those not taken: the person's application in the round (maybe one of this batch), or
    // an ID met another (37 random bits a minute): the platform draws again.
    for (i, o) in out.iter_mut().enumerate() {
        if o.is_some() || written.contains(&i) {
            continue;
        }
        let new = &writes[i].0;
        let theirs = applied.contains(&(new.round.get(), new.person.get()))
            || sqlx::query(
                "SELECT 1 FROM point_applications WHERE round_id = $1 AND person_id = $2 \
                 AND state <> 'rejected'",
            )
            .bind(new.round.get())
            .bind(new.person.get())
            .fetch_optional(&mut *conn)
            .await
            .map_err(fail)?
            .is_some();
        *o = Some(if theirs {
            conflict(PointConflict::ApplicationExists)
        } else {
            Err(StoreError::conflict("point application ID collision"))
        });
    }

    // 3. The logs (chained on in batch order) and the events of those taken, and the commit.
    if !written.is_empty() {
        let people: Vec<i64> = written.iter().map(|i| writes[*i].0.person.get()).collect();
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT p.id AS person_id, l.seq, l.at, l.kind, l.detail, l.hash FROM persons p JOIN ",
        );
        q.push(crate::chain::head_of("p.id"));
        q.push(" WHERE p.id IN ");
        q.push_tuples(&people, |mut b, p| {
            b.push_bind(*p);
        });
        let mut heads = HashMap::new();
        for r in q.build().fetch_all(&mut *conn).await.map_err(fail)? {
            let (person, head) = SqliteStore::log_head_row(&r)?;
            heads.insert(person, head);
        }
        let entries: Vec<(PersonId, mykey_pki::UnixTime, &NewLog)> = written
            .iter()
            .flat_map(|i| {
                let (new, logs) = &writes[*i];
                logs.iter().map(move |l| (new.person, new.at, l))
            })
            .collect();
        let chained = crate::chain::chain_on(&mut heads, &entries);
        let mut q = QueryBuilder::<Sqlite>::new("");
        if !chained.is_empty() {
            SqliteStore::push_log_entries(&mut q, &chained);
            q.push("; ");
        }
        q.push(
            "INSERT INTO events (relying_party_id, jti, kind, subject_kind, subject, \
             ppid_service_id, detail, created_at) ",
        );
        q.push_values(&written, |mut b, i| {
            let new = &writes[*i].0;
            let provider = found[*i].provider.as_ref().map_or(0, |(p, _)| *p);
            let detail = serde_json::json!({
                "round": new.round.get(),
                "payment_service": new.service.get(),
                "payment_service_user_id": new.payment_service_user_id,
            });
            b.push_bind(provider)
                .push_bind(crate::events::new_jti())
                .push_bind(EventKind::PointApplicationSubmitted.as_str())
                .push_bind("point-application")
                .push_bind(new.id.to_string())
                .push_bind(None::<i64>)
                .push_bind(detail.to_string())
                .push_bind(secs(new.at));
        });
        q.push("; COMMIT");
        q.build().execute(&mut *conn).await.map_err(fail)?;
    } else {
        sqlx::query("ROLLBACK")
            .execute(&mut *conn)
            .await
            .map_err(fail)?;
    }
    for i in written {
        let (new, _) = &writes[i];
        let f = &found[i];
        let (provider, provider_name) = f.provider.clone().unwrap_or_default();
        out[i] = Some(Ok(Ok(PointApplication {
            id: new.id,
            round: new.round,
            round_name: f.round_name.clone(),
            service: new.service,
            service_name: f.service_name.clone(),
            provider: RelyingPartyId::new(provider),
            provider_name,
            payment_service_user_id: new.payment_service_user_id.clone(),
            payment_service_code: new.payment_service_code.clone(),
            kiosk: f.kiosk_name.clone(),
            state: PointApplicationState::Submitted,
            settlement_user_id: None,
            reason: None,
            submitted_at: new.at,
            decided_at: None,
            ended_at: None,
        })));
    }
    answers(out)
}

fn answers(out: Vec<Option<Outcome>>) -> Result<Vec<Outcome>, StoreError> {
    out.into_iter()
        .map(|o| o.ok_or_else(|| StoreError::corrupt("an application left unanswered")))
        .collect()
}
