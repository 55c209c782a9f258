//! The end of the system (Terms Art 10). An administrator announces the date at least three
//! months ahead — or, urgent, with a reason, as soon as now — with a notice in English and
//! Japanese; relying parties are told by an event, and the portal and the authorize page say so
//! (with the way to the person's export) from the announcement on. Before the date it can be
//! withdrawn. On the date new applications stop ([`Platform::refuse_after_termination`]: a My
//! Key ID, a relying party, a link, a PPID service, a payment service, a round, an application
//! for points) and the card-point rights are forfeited (Art 27.1.3): every application in flight
//! ends, its provider told, and points instructed and not granted with it
//! ([`Platform::carry_out_termination`], run by the node every minute). Logins, the person's
//! own data and export, withdrawals and the operator API go on.

use std::sync::Arc;

use mykey_pki::UnixTime;

use crate::{Notice, Platform, PlatformError, StoreError};

/// "No later than three months prior" (Art 10): 92 days, the longest any three months run.
pub const TERMINATION_NOTICE_SECS: u64 = 92 * 24 * 60 * 60;

/// The farthest ahead a termination may be announced: ten years.
const TERMINATION_HORIZON_SECS: u64 = 10 * 366 * 24 * 60 * 60;

/// How long after the date the rights are forfeited: past the few seconds another node may
/// still hold the termination unseen (an urgent announcement), so that no application it lets
/// through is left standing.
pub const TERMINATION_SETTLE_SECS: u64 = 10;

/// People whose rights one transaction forfeits.
const FORFEIT_BATCH: usize = 500;

/// An announced end of the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Termination {
    /// Its ID.
    pub id: i64,
    /// When the system ends.
    pub terminates_at: UnixTime,
    /// What people and relying parties read.
    pub notice: Notice,
    /// When it was announced.
    pub announced_at: UnixTime,
    /// Why it was urgent (less than three months' notice), if it was.
    pub urgent_reason: Option<String>,
    /// When it was withdrawn.
    pub withdrawn_at: Option<UnixTime>,
    /// When the rights were forfeited, on or after the date.
    pub carried_out_at: Option<UnixTime>,
}

/// What an administrator announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTermination {
    /// When the system ends.
    pub terminates_at: UnixTime,
    /// The notice.
    pub notice: Notice,
    /// `Some(reason)` for an urgent end, which may come with less notice.
    pub urgent_reason: Option<String>,
}

/// The termination's storage.
#[async_trait::async_trait]
pub trait TerminationStore: Send + Sync + 'static {
    /// Keeps an announced termination and tells every approved relying party
    /// (`termination-announced`), in one transaction; `None` (nothing written) when one stands.
    async fn insert_termination(&self, t: &Termination) -> Result<Option<Termination>, StoreError>;

    /// The standing (not withdrawn) termination.
    async fn termination(&self) -> Result<Option<Termination>, StoreError>;

    /// Withdraws the standing termination if its date is after `at`, telling every approved
    /// relying party (`termination-withdrawn`); `None` when none stands or its date has come.
    async fn withdraw_termination(&self, at: UnixTime) -> Result<Option<Termination>, StoreError>;

    /// Forfeits the card-point rights (Art 27.1.3) of up to `limit` people who hold an
    /// application in flight, each in the way [`crate::PointStore::forfeit_point_rights`] does;
    /// answers how many.
    async fn forfeit_for_termination(
        &self,
        at: UnixTime,
        limit: usize,
    ) -> Result<usize, StoreError>;

    /// Records that termination `id` was carried out at `at`.
    async fn termination_carried_out(&self, id: i64, at: UnixTime) -> Result<(), StoreError>;
}

impl Platform {
    /// Announces the end of the system on `terminates_at`: at least three months ahead
    /// ([`TERMINATION_NOTICE_SECS`]), unless urgent with a reason (then not before now). One at a
    /// time (409 `termination-announced`).
    pub async fn announce_termination(
        &self,
        t: NewTermination,
    ) -> Result<Termination, PlatformError> {
        let now = self.clock.now();
        let urgent_reason = t.urgent_reason.as_deref().map(crate::reason).transpose()?;
        let earliest = match urgent_reason {
            Some(_) => now,
            None => now.plus(TERMINATION_NOTICE_SECS),
        };
        if t.terminates_at < earliest {
            return Err(PlatformError::Invalid(
                crate::InvalidError::TerminationNoticeTooShort { earliest },
            ));
        }
        if t.terminates_at > now.plus(TERMINATION_HORIZON_SECS) {
            return Err(PlatformError::Invalid(crate::InvalidError::Termination(
                "terminates_at is more than ten years ahead",
            )));
        }
        let kept = self
            .store
            .insert_termination(&Termination {
                id: 0,
                terminates_at: t.terminates_at,
                notice: t.notice,
                announced_at: now,
                urgent_reason,
                withdrawn_at: None,
                carried_out_at: None,
            })
            .await?;
        self.termination_cache.forget();
        kept.ok_or(PlatformError::Conflict(
            crate::Conflict::TerminationAnnounced,
        ))
    }

    /// Withdraws the announced termination, before its date.
    pub async fn withdraw_termination(&self) -> Result<Termination, PlatformError> {
        let now = self.clock.now();
        let withdrawn = self.store.withdraw_termination(now).await?;
        self.termination_cache.forget();
        match withdrawn {
            Some(t) => Ok(t),
            None => Err(match self.store.termination().await? {
                Some(_) => PlatformError::Conflict(crate::Conflict::SystemTerminated),
                None => PlatformError::NotFound(crate::NotFound::Termination),
            }),
        }
    }

    /// The standing termination: what `GET /v1/termination` answers. Held in memory for a few
    /// seconds (this node's own announcements are seen at once).
    pub async fn termination(&self) -> Result<Option<Termination>, PlatformError> {
        Ok(self.held_termination().await?.as_deref().cloned())
    }

    /// The standing termination as held in memory, for the pages that show it; none when the
    /// store cannot be read.
    pub async fn announced_termination(&self) -> Option<Arc<Termination>> {
        self.held_termination().await.ok().flatten()
    }

    async fn held_termination(&self) -> Result<Option<Arc<Termination>>, StoreError> {
        let now = self.clock.now();
        if let Some(t) = self.termination_cache.get(now) {
            return Ok(t);
        }
        let t = self.store.termination().await?.map(Arc::new);
        self.termination_cache.put(now, t.clone());
        Ok(t)
    }

    /// Refused (410 `system-terminated`) once the system has ended: what starts something new
    /// asks this first.
    pub async fn refuse_after_termination(&self) -> Result<(), PlatformError> {
        match self.held_termination().await? {
            Some(t) if t.terminates_at <= self.clock.now() => {
                Err(PlatformError::Conflict(crate::Conflict::SystemTerminated))
            }
            _ => Ok(()),
        }
    }

    /// On (a few seconds after) the date: forfeits every card-point right in flight (Art
    /// 27.1.3), a batch of people at a time, then records it done. Safe to run on every node
    /// and again after a crash: each batch is its own transaction, and forfeiting what is
    /// forfeited does nothing. Answers how many people's rights it forfeited.
    pub async fn carry_out_termination(&self) -> Result<usize, PlatformError> {
        let now = self.clock.now();
        let Some(t) = self.store.termination().await? else {
            return Ok(0);
        };
        if t.carried_out_at.is_some() || now < t.terminates_at.plus(TERMINATION_SETTLE_SECS) {
            return Ok(0);
        }
        let mut people = 0;
        loop {
            let n = self
                .store
                .forfeit_for_termination(self.clock.now(), FORFEIT_BATCH)
                .await?;
            people += n;
            if n < FORFEIT_BATCH {
                break;
            }
        }
        self.store
            .termination_carried_out(t.id, self.clock.now())
            .await?;
        self.termination_cache.forget();
        Ok(people)
    }
}
