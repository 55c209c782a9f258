//! The programme's rules, as `Platform` methods: the secretariat's (rounds, approving
//! services), the provider's (its services, its queue, its answers), the card holder's
//! (applying, withdrawing) — each checked here before the store is asked.

use serde_json::json;

use super::{
    IdShape, MAX_POINT_PAGE, NewPaymentService, NewPointApplication, POINT_CONSENT, PaymentService,
    PaymentServiceId, PaymentServiceStatus, PointApplication, PointApplicationId,
    PointApplicationState, PointParty, PointRound, PointRoundId, PointRoundState, PointRoundTerms,
    ValidationAnswer,
};
use crate::{
    AccessError, Conflict, NewConsent, NewLog, NotFound, Platform, PlatformError, PointConflict,
    RelyingParty, RelyingPartyKind, Session,
};

/// IDs drawn for one application at most.
const ID_DRAWS: u32 = 4;

/// `write` under an ID from `draw`, and under another while the store refuses the one drawn
/// as taken — 37 random bits a minute meet rarely, but not never in a national rush — or the
/// write met a concurrent one it must not wait for; [`ID_DRAWS`] at most. A refused write
/// keeps nothing, so nothing of an earlier draw remains.
pub(super) async fn under_fresh_ids<T, Fut>(
    mut draw: impl FnMut() -> PointApplicationId,
    mut write: impl FnMut(PointApplicationId) -> Fut,
) -> Result<T, PlatformError>
where
    Fut: std::future::Future<Output = Result<Result<T, PlatformError>, crate::StoreError>>,
{
    let mut draws = 1;
    loop {
        match write(draw()).await {
            Err(e) if e.kind == crate::StoreErrorKind::Conflict && draws < ID_DRAWS => draws += 1,
            done => return done?,
        }
    }
}

/// Seconds an open round or an eligible service is answered from memory when an application
/// names it. Only for the checks made before the store is asked: the store checks the round
/// open and the service eligible again in the transaction that writes.
const CHOICE_CACHE_SECS: u64 = 2;

/// Most rounds and services remembered.
const CHOICE_CACHE_SIZE: usize = 4096;

/// Open rounds and eligible services by ID, with when they were read.
#[derive(Debug, Default)]
pub(crate) struct ChoiceCache {
    rounds: std::sync::Mutex<std::collections::HashMap<i64, (mykey_pki::UnixTime, PointRound)>>,
    services:
        std::sync::Mutex<std::collections::HashMap<i64, (mykey_pki::UnixTime, PaymentService)>>,
}

fn fresh<T: Clone>(
    map: &std::sync::Mutex<std::collections::HashMap<i64, (mykey_pki::UnixTime, T)>>,
    id: i64,
    now: mykey_pki::UnixTime,
) -> Option<T> {
    let map = map.lock().ok()?;
    let (at, v) = map.get(&id)?;
    (now >= *at && now.as_secs() < at.as_secs() + CHOICE_CACHE_SECS).then(|| v.clone())
}

fn remember<T>(
    map: &std::sync::Mutex<std::collections::HashMap<i64, (mykey_pki::UnixTime, T)>>,
    id: i64,
    now: mykey_pki::UnixTime,
    v: T,
) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= CHOICE_CACHE_SIZE {
            map.clear();
        }
        map.insert(id, (now, v));
    }
}

impl ChoiceCache {
    /// Forgets everything (a round or a service changed on this node).
    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.rounds.lock() {
            m.clear();
        }
        if let Ok(mut m) = self.services.lock() {
            m.clear();
        }
    }
}

/// What the card holder sees before applying: the open rounds and the eligible services.
#[derive(Clone, Debug)]
pub struct PointProgramme {
    /// Rounds open for applications.
    pub rounds: Vec<PointRound>,
    /// Eligible cashless payment services.
    pub services: Vec<PaymentService>,
}

impl Platform {
    pub(super) fn payment_provider(rp: &RelyingParty) -> Result<(), PlatformError> {
        if rp.kind != RelyingPartyKind::PaymentProvider {
            return Err(PlatformError::Access(AccessError::PaymentProviderOnly));
        }
        Ok(())
    }

    /// Who `rp` is in the programme: a payment provider sees the applications to its
    /// services, a kiosk those it made; anyone else nothing.
    fn point_party(rp: &RelyingParty) -> Result<PointParty, PlatformError> {
        match rp.kind {
            RelyingPartyKind::PaymentProvider => Ok(PointParty::Provider(rp.id)),
            RelyingPartyKind::Kiosk => Ok(PointParty::Kiosk(rp.id)),
            _ => Err(PlatformError::Access(AccessError::PaymentProviderOnly)),
        }
    }

    /// A payment provider registers one of its cashless payment services (Art 22.1.5–7), as
    /// pending until the secretariat approves it.
    pub async fn register_payment_service(
        &self,
        rp: &RelyingParty,
        name: &str,
        kind: super::PaymentServiceKind,
        shape: IdShape,
    ) -> Result<PaymentService, PlatformError> {
        self.refuse_after_termination().await?;
        Self::payment_provider(rp)?;
        let new = NewPaymentService {
            name: crate::names::display_name(name)?,
            kind,
            shape,
        };
        self.store
            .add_payment_service(rp.id, &new, self.clock.now())
            .await?
    }

    /// A provider's own services.
    pub async fn own_payment_services(
        &self,
        rp: &RelyingParty,
    ) -> Result<Vec<PaymentService>, PlatformError> {
        Self::payment_provider(rp)?;
        Ok(self.store.payment_services(Some(rp.id), None).await?)
    }

    /// Every registered service, for the secretariat; in one status, or any.
    pub async fn payment_services(
        &self,
        status: Option<PaymentServiceStatus>,
    ) -> Result<Vec<PaymentService>, PlatformError> {
        Ok(self.store.payment_services(None, status).await?)
    }

    /// The secretariat approves a service (it becomes eligible), withdraws it (no new
    /// applications; those made stand), or sets it back to pending.
    pub async fn set_payment_service_status(
        &self,
        id: PaymentServiceId,
        status: PaymentServiceStatus,
    ) -> Result<PaymentService, PlatformError> {
        self.point_cache.clear();
        self.store
            .set_payment_service_status(id, status)
            .await?
            .ok_or(PlatformError::NotFound(NotFound::PaymentService))
    }

    /// The secretariat defines a round, as a draft.
    pub async fn define_point_round(
        &self,
        name: &str,
        terms: PointRoundTerms,
    ) -> Result<PointRound, PlatformError> {
        self.refuse_after_termination().await?;
        let name = crate::names::display_name(name)?;
        terms.check()?;
        self.store
            .add_point_round(&name, &terms, self.clock.now())
            .await?
    }

    /// The rounds, for the secretariat; in one state, or any.
    pub async fn point_rounds(
        &self,
        state: Option<PointRoundState>,
    ) -> Result<Vec<PointRound>, PlatformError> {
        Ok(self.store.point_rounds(state).await?)
    }

    /// The secretariat opens a draft round for applications.
    pub async fn open_point_round(&self, id: PointRoundId) -> Result<PointRound, PlatformError> {
        self.store
            .set_point_round_state(
                id,
                PointRoundState::Draft,
                PointRoundState::Open,
                self.clock.now(),
            )
            .await?
    }

    /// The secretariat closes an open round: no new applications.
    pub async fn close_point_round(&self, id: PointRoundId) -> Result<PointRound, PlatformError> {
        self.point_cache.clear();
        self.store
            .set_point_round_state(
                id,
                PointRoundState::Open,
                PointRoundState::Closed,
                self.clock.now(),
            )
            .await?
    }

    /// What anyone may read before applying: the open rounds and the eligible services.
    pub async fn point_programme(&self) -> Result<PointProgramme, PlatformError> {
        Ok(PointProgramme {
            rounds: self.store.point_rounds(Some(PointRoundState::Open)).await?,
            services: self
                .store
                .payment_services(None, Some(PaymentServiceStatus::Eligible))
                .await?,
        })
    }

    /// The card holder applies in `round` through `service` with the Payment Service ID they
    /// know it by, accepting the three matters of Art 23.1 under the terms in force. Needs an
    /// active My Key ID (the right ends with it, Art 27.1.1); one application per person per
    /// round. The Payment Service ID is checked against the service's shape first, so that a
    /// mistyped one is told at once; the provider is told by its event stream.
    pub async fn apply_for_points(
        &self,
        s: &Session,
        round: PointRoundId,
        service: PaymentServiceId,
        payment_service_user_id: &str,
        payment_service_code: Option<&str>,
        consent: &NewConsent,
    ) -> Result<PointApplication, PlatformError> {
        self.refuse_after_termination().await?;
        self.check_consent(consent, &POINT_CONSENT).await?;
        let (round, service) = self.point_choice(round, service).await?;
        service.shape.check(payment_service_user_id)?;
        service.shape.check_code(payment_service_code)?;
        let at = self.clock.now();
        self.apply_under_fresh_id(at, |id| {
            let logs = application_logs(id, &round, &service, consent, None).to_vec();
            let new = NewPointApplication {
                id,
                round: round.id,
                person: s.person,
                service: service.id,
                payment_service_user_id: payment_service_user_id.to_owned(),
                payment_service_code: payment_service_code.map(str::to_owned),
                kiosk: None,
                at,
            };
            (new, logs)
        })
        .await
    }

    /// Writes the application `made` gives for an ID, with its log entries, under a fresh ID
    /// made `at` (see [`under_fresh_ids`]).
    pub(super) async fn apply_under_fresh_id(
        &self,
        at: mykey_pki::UnixTime,
        made: impl Fn(PointApplicationId) -> (NewPointApplication, Vec<NewLog>),
    ) -> Result<PointApplication, PlatformError> {
        under_fresh_ids(
            || PointApplicationId::fresh(at, &*self.rng),
            |id| {
                let (new, logs) = made(id);
                async move { self.store.apply_for_points(&new, &logs).await }
            },
        )
        .await
    }

    /// The round and service an application names, both as they are now: an unknown one is
    /// not found — and so is a draft round or a pending service, which nobody outside the
    /// secretariat and the provider is to learn of —, one no longer taking applications a
    /// conflict (the store checks both again in the transaction that writes).
    pub(super) async fn point_choice(
        &self,
        round: PointRoundId,
        service: PaymentServiceId,
    ) -> Result<(PointRound, PaymentService), PlatformError> {
        let now = self.clock.now();
        let cache = &self.point_cache;
        let round = match fresh(&cache.rounds, round.get(), now) {
            Some(r) => r,
            None => {
                let r = self
                    .store
                    .point_round(round)
                    .await?
                    .filter(|r| r.state != PointRoundState::Draft)
                    .ok_or(PlatformError::NotFound(NotFound::PointRound))?;
                if r.state == PointRoundState::Open {
                    remember(&cache.rounds, r.id.get(), now, r.clone());
                }
                r
            }
        };
        let service = match fresh(&cache.services, service.get(), now) {
            Some(s) => s,
            None => {
                let s = self
                    .store
                    .payment_service(service)
                    .await?
                    .filter(|s| s.status != PaymentServiceStatus::Pending)
                    .ok_or(PlatformError::NotFound(NotFound::PaymentService))?;
                if s.status == PaymentServiceStatus::Eligible {
                    remember(&cache.services, s.id.get(), now, s.clone());
                }
                s
            }
        };
        if round.state != PointRoundState::Open {
            return Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::RoundNotOpen,
            )));
        }
        if service.status != PaymentServiceStatus::Eligible {
            return Err(PlatformError::Conflict(Conflict::Point(
                PointConflict::ServiceNotEligible,
            )));
        }
        Ok((round, service))
    }

    /// The person's applications, newest first.
    pub async fn my_point_applications(
        &self,
        s: &Session,
    ) -> Result<Vec<PointApplication>, PlatformError> {
        Ok(self.store.person_point_applications(s.person).await?)
    }

    /// The person withdraws a submitted or validated application: final for the round.
    pub async fn withdraw_point_application(
        &self,
        s: &Session,
        id: PointApplicationId,
    ) -> Result<PointApplication, PlatformError> {
        let log = |a: &PointApplication| {
            NewLog::new(
                crate::LogKind::PointWithdrawn,
                json!({
                    "application": a.id.to_string(),
                    "round": a.round_name,
                    "payment_service": a.service_name,
                    "relying_party": a.provider_name,
                }),
            )
        };
        self.store
            .withdraw_point_application(s.person, id, self.clock.now(), &log)
            .await?
    }

    /// A provider's (or a kiosk's) applications, in ID order after `after`, at most `limit`
    /// (1 to [`MAX_POINT_PAGE`]): the provider's queue is those `submitted`.
    pub async fn party_point_applications(
        &self,
        rp: &RelyingParty,
        state: Option<PointApplicationState>,
        after: Option<PointApplicationId>,
        limit: usize,
    ) -> Result<Vec<PointApplication>, PlatformError> {
        let party = Self::point_party(rp)?;
        if !(1..=MAX_POINT_PAGE).contains(&limit) {
            return Err(PlatformError::Invalid(crate::InvalidError::PointRequest(
                "limit is 1 to 1000",
            )));
        }
        Ok(self
            .store
            .party_point_applications(party, state, after, limit)
            .await?)
    }

    /// One of a provider's (or a kiosk's) applications.
    pub async fn party_point_application(
        &self,
        rp: &RelyingParty,
        id: PointApplicationId,
    ) -> Result<PointApplication, PlatformError> {
        let party = Self::point_party(rp)?;
        self.store
            .party_point_application(party, id)
            .await?
            .ok_or(PlatformError::NotFound(NotFound::PointApplication))
    }

    /// The provider answers one of its submitted applications (Art 23.1.2): valid, with its
    /// settlement user ID, or invalid, with a reason the person reads (1 to 200 characters,
    /// as a name). Answered once.
    pub async fn answer_point_application(
        &self,
        rp: &RelyingParty,
        id: PointApplicationId,
        answer: ValidationAnswer,
    ) -> Result<PointApplication, PlatformError> {
        Self::payment_provider(rp)?;
        let answer = match answer {
            ValidationAnswer::Invalid(reason) => {
                ValidationAnswer::Invalid(crate::names::display_name(&reason).map_err(|_| {
                    PlatformError::Invalid(crate::InvalidError::PointRequest(
                        "reason is 1 to 200 characters of plain text",
                    ))
                })?)
            }
            valid => valid,
        };
        let log = |a: &PointApplication| match &answer {
            ValidationAnswer::Valid(_) => NewLog::new(
                crate::LogKind::PointValidated,
                json!({
                    "application": a.id.to_string(),
                    "round": a.round_name,
                    "relying_party": a.provider_name,
                }),
            ),
            ValidationAnswer::Invalid(reason) => NewLog::new(
                crate::LogKind::PointRejected,
                json!({
                    "application": a.id.to_string(),
                    "round": a.round_name,
                    "relying_party": a.provider_name,
                    "reason": reason,
                }),
            ),
        };
        self.store
            .answer_point_application(rp.id, id, &answer, self.clock.now(), &log)
            .await?
    }
}

/// The log entry for the forfeiture of a person's point-programme rights (Art 27): the rounds
/// whose right to apply ended and the applications ended with it. The store writes it in the
/// transaction that forfeits.
pub fn forfeiture_log(
    reason: super::Forfeiture,
    rounds: &[String],
    applications: &[PointApplicationId],
) -> NewLog {
    NewLog::new(
        crate::LogKind::PointForfeited,
        json!({
            "reason": reason.as_str(),
            "rounds": rounds,
            "applications": applications.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
    )
}

/// The two log entries of an application: the consent to Art 23.1's three matters, then the
/// application itself; `kiosk` names the kiosk it was made at, in both.
pub(super) fn application_logs(
    id: PointApplicationId,
    round: &PointRound,
    service: &PaymentService,
    consent: &NewConsent,
    kiosk: Option<&str>,
) -> [NewLog; 2] {
    let mut consented = json!({
        "function": "points",
        "relying_party": service.provider_name,
        "items": consent.items,
        "terms_version": consent.terms_version,
    });
    let mut applied = json!({
        "application": id.to_string(),
        "round": round.name,
        "payment_service": service.name,
        "relying_party": service.provider_name,
    });
    if let Some(kiosk) = kiosk {
        for detail in [&mut consented, &mut applied] {
            detail["via"] = json!("kiosk");
            detail["kiosk"] = json!(kiosk);
        }
    }
    [
        NewLog::new(crate::LogKind::ConsentGiven, consented),
        NewLog::new(crate::LogKind::PointApplied, applied),
    ]
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::{StoreError, StoreErrorKind};

    /// Draws 1, 2, 3, …; the store refuses the IDs in `taken` as taken; what was tried.
    async fn applying(taken: &[i64]) -> (Result<i64, PlatformError>, Vec<i64>) {
        let next = RefCell::new(0);
        let tried = RefCell::new(Vec::new());
        let r = under_fresh_ids(
            || {
                *next.borrow_mut() += 1;
                PointApplicationId::new(*next.borrow())
            },
            |id| {
                tried.borrow_mut().push(id.get());
                let refused = taken.contains(&id.get());
                async move {
                    if refused {
                        Err(StoreError::conflict("point application ID collision"))
                    } else {
                        Ok(Ok(id.get()))
                    }
                }
            },
        )
        .await;
        (r, tried.into_inner())
    }

    #[tokio::test]
    async fn an_id_drawn_twice_is_drawn_again() {
        let (r, tried) = applying(&[]).await;
        assert_eq!((r.ok(), tried), (Some(1), vec![1]));
        let (r, tried) = applying(&[1, 2]).await;
        assert_eq!((r.ok(), tried), (Some(3), vec![1, 2, 3]));
        // Four draws at most: the fourth refusal is the answer, an error of the store.
        let (r, tried) = applying(&[1, 2, 3, 4, 5]).await;
        assert_eq!(tried, [1, 2, 3, 4]);
        assert!(
            matches!(&r, Err(PlatformError::Store(e)) if e.kind == StoreErrorKind::Conflict),
            "{r:?}"
        );
    }
}
