//! Maintenance windows (Terms Art 9.3). An operator announces a window ahead — when it starts
//! and ends, which [`Function`]s it takes down, a notice in English and Japanese — and relying
//! parties are told by an event; the portal and the authorize page show it. While it is in
//! effect, the functions it names answer `503` with `Retry-After` (the edge asks
//! [`Platform::under_maintenance`]) and every other function keeps working. An urgent window
//! (Art 9.3's proviso) needs a reason and starts at once. An operator may end a window early,
//! or call off one not yet begun; relying parties are told that too.

use std::sync::Arc;

use mykey_pki::UnixTime;

use crate::{Platform, PlatformError, StoreError};

/// How far ahead a window is announced, unless urgent: 24 hours.
pub const MAINTENANCE_NOTICE_SECS: u64 = 24 * 60 * 60;

/// The longest window: 7 days. A longer outage is announced again, with what is known then.
pub const MAX_MAINTENANCE_SECS: u64 = 7 * 24 * 60 * 60;

/// The farthest ahead a window may start: a year.
const MAINTENANCE_HORIZON_SECS: u64 = 366 * 24 * 60 * 60;

/// The longest notice, in characters, in each language.
pub const MAX_NOTICE_CHARS: usize = 2000;

/// Seconds the windows are answered from memory: another node's announcement (or early end)
/// is seen within this time, this node's at once. A window's start and end are exact, since
/// what is kept is the windows themselves.
const MAINTENANCE_CACHE_SECS: u64 = 5;

/// A group of the platform's functions that maintenance can take down on its own. The
/// operator API, health, the terms, the announcements themselves, discovery and the public keys
/// are never taken down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// Card login: `/v1/auth`.
    CardLogin,
    /// The OpenID Connect provider and cross-device approvals: `/oidc/…` (not its keys or
    /// discovery), `/v1/authorizations`.
    Oidc,
    /// Service IDs: link requests, relying parties' Service IDs, Service ID logins, the
    /// person's links.
    ServiceIds,
    /// PPID services and PPIDs, PIN-less requests.
    Ppids,
    /// The card-point programme (Art 22–27), relying parties' and people's sides.
    Points,
    /// Events for relying parties: polling, stream configuration, and pushing.
    Events,
    /// The person's own API (`/v1/me`) and the portal's pages.
    Portal,
    /// A relying party's own profile.
    RelyingParties,
}

impl Function {
    /// Every function, in a fixed order.
    pub const ALL: [Function; 8] = [
        Function::CardLogin,
        Function::Oidc,
        Function::ServiceIds,
        Function::Ppids,
        Function::Points,
        Function::Events,
        Function::Portal,
        Function::RelyingParties,
    ];

    /// Its name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::CardLogin => "card-login",
            Function::Oidc => "oidc",
            Function::ServiceIds => "service-ids",
            Function::Ppids => "ppids",
            Function::Points => "points",
            Function::Events => "events",
            Function::Portal => "portal",
            Function::RelyingParties => "relying-parties",
        }
    }

    /// From [`Function::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A notice in both languages, each 1 to [`MAX_NOTICE_CHARS`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// In English.
    pub en: String,
    /// In Japanese.
    pub ja: String,
}

impl Notice {
    /// Checked and trimmed.
    pub fn new(en: &str, ja: &str) -> Result<Self, PlatformError> {
        // As a reason is checked: no control, format (bidi overrides, zero-width) or unassigned
        // characters on a line, so that a notice cannot make a page read otherwise than it is.
        let ok = |s: &str| {
            crate::terms::valid_text(s, MAX_NOTICE_CHARS)
                && s.trim()
                    .split('\n')
                    .all(|line| line.trim().is_empty() || crate::names::plain_text(line.trim()))
        };
        if !ok(en) || !ok(ja) {
            return Err(PlatformError::Invalid(crate::InvalidError::Notice(
                "a notice is given in English (en) and Japanese (ja), each 1 to 2000 characters",
            )));
        }
        Ok(Self {
            en: en.trim().to_owned(),
            ja: ja.trim().to_owned(),
        })
    }
}

/// An announced maintenance window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// Its ID.
    pub id: i64,
    /// When it starts.
    pub starts_at: UnixTime,
    /// When it ends, as announced.
    pub ends_at: UnixTime,
    /// What it takes down, in [`Function::ALL`]'s order, each once.
    pub functions: Vec<Function>,
    /// What people and relying parties read.
    pub notice: Notice,
    /// When it was announced.
    pub announced_at: UnixTime,
    /// Why it was urgent, if it was (it then started when announced).
    pub urgent_reason: Option<String>,
    /// When an operator ended it early (or called it off before it began).
    pub ended_at: Option<UnixTime>,
}

impl MaintenanceWindow {
    /// When it ends: as announced, or earlier if an operator ended it.
    pub fn end(&self) -> UnixTime {
        self.ended_at.map_or(self.ends_at, |e| e.min(self.ends_at))
    }

    /// Whether it is in effect at `at`.
    pub fn in_effect(&self, at: UnixTime) -> bool {
        self.starts_at <= at && at < self.end()
    }

    /// Whether it takes `f` down.
    pub fn covers(&self, f: Function) -> bool {
        self.functions.contains(&f)
    }
}

/// What an operator announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMaintenance {
    /// When it starts; `None` for an urgent window, which starts at once.
    pub starts_at: Option<UnixTime>,
    /// When it is expected to end.
    pub ends_at: UnixTime,
    /// What it takes down.
    pub functions: Vec<Function>,
    /// The notice.
    pub notice: Notice,
    /// `Some(reason)` for an urgent window.
    pub urgent_reason: Option<String>,
}

/// A function under maintenance: the request is refused with `503` until `until`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} is under maintenance until {}: {}", function.as_str(), until.as_secs(), notice.en)]
pub struct Maintenance {
    /// The function asked for.
    pub function: Function,
    /// The window.
    pub window: i64,
    /// When it ends.
    pub until: UnixTime,
    /// Seconds from now until then (at least 1).
    pub retry_after: u64,
    /// Its notice.
    pub notice: Notice,
}

/// A value read from the store, answered from memory for [`MAINTENANCE_CACHE_SECS`]: the
/// maintenance windows and the standing termination are held this way.
#[derive(Debug)]
pub(crate) struct Held<T>(std::sync::Mutex<Option<(UnixTime, T)>>);

impl<T> Default for Held<T> {
    fn default() -> Self {
        Self(std::sync::Mutex::new(None))
    }
}

impl<T: Clone> Held<T> {
    pub(crate) fn get(&self, now: UnixTime) -> Option<T> {
        let held = self.0.lock().ok()?;
        let (read_at, value) = held.as_ref()?;
        (now >= *read_at && now.as_secs() < read_at.as_secs() + MAINTENANCE_CACHE_SECS)
            .then(|| value.clone())
    }

    pub(crate) fn put(&self, now: UnixTime, value: T) {
        if let Ok(mut held) = self.0.lock() {
            *held = Some((now, value));
        }
    }

    pub(crate) fn forget(&self) {
        if let Ok(mut held) = self.0.lock() {
            *held = None;
        }
    }
}

/// The maintenance windows' storage.
#[async_trait::async_trait]
pub trait MaintenanceStore: Send + Sync + 'static {
    /// Keeps an announced window (its `id` is given by the store) and tells every approved
    /// relying party (`maintenance-announced`), in one transaction.
    async fn insert_maintenance(
        &self,
        w: &MaintenanceWindow,
    ) -> Result<MaintenanceWindow, StoreError>;

    /// The windows not over at `at` (in effect or coming), soonest start first.
    async fn maintenance_windows(&self, at: UnixTime)
    -> Result<Vec<MaintenanceWindow>, StoreError>;

    /// Ends window `id` at `at` — or calls it off, not yet begun — and tells every approved
    /// relying party (`maintenance-ended`), in one transaction; `None` when no window has that
    /// ID or it is over.
    async fn end_maintenance(
        &self,
        id: i64,
        at: UnixTime,
    ) -> Result<Option<MaintenanceWindow>, StoreError>;
}

fn invalid(why: &'static str) -> PlatformError {
    PlatformError::Invalid(crate::InvalidError::Maintenance(why))
}

impl Platform {
    /// Announces a maintenance window. A planned one starts at least
    /// [`MAINTENANCE_NOTICE_SECS`] from now (Art 9.3: posted in advance); an urgent one needs a
    /// reason and starts now. Either ends after it starts and within [`MAX_MAINTENANCE_SECS`],
    /// and takes down at least one function.
    pub async fn announce_maintenance(
        &self,
        m: NewMaintenance,
    ) -> Result<MaintenanceWindow, PlatformError> {
        let now = self.clock.now();
        let urgent_reason = m.urgent_reason.as_deref().map(crate::reason).transpose()?;
        let starts_at = match (m.starts_at, &urgent_reason) {
            (None, Some(_)) => now,
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "an urgent window starts at once: give no starts_at",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "give starts_at, or make the window urgent with a reason",
                ));
            }
            (Some(s), None) => {
                let earliest = now.plus(MAINTENANCE_NOTICE_SECS);
                if s < earliest {
                    return Err(PlatformError::Invalid(
                        crate::InvalidError::MaintenanceNoticeTooShort { earliest },
                    ));
                }
                if s > now.plus(MAINTENANCE_HORIZON_SECS) {
                    return Err(invalid("starts_at is more than a year ahead"));
                }
                s
            }
        };
        if m.ends_at <= starts_at || m.ends_at > starts_at.plus(MAX_MAINTENANCE_SECS) {
            return Err(invalid(
                "ends_at is after starts_at and at most 7 days later",
            ));
        }
        if m.functions.is_empty() {
            return Err(invalid("name at least one function"));
        }
        let mut functions = m.functions;
        functions.sort_unstable();
        functions.dedup();
        let window = self
            .store
            .insert_maintenance(&MaintenanceWindow {
                id: 0,
                starts_at,
                ends_at: m.ends_at,
                functions,
                notice: m.notice,
                announced_at: now,
                urgent_reason,
                ended_at: None,
            })
            .await?;
        self.maintenance_cache.forget();
        Ok(window)
    }

    /// Ends a window now, or calls off one not yet begun.
    pub async fn end_maintenance(&self, id: i64) -> Result<MaintenanceWindow, PlatformError> {
        let now = self.clock.now();
        let ended = self.store.end_maintenance(id, now).await?;
        self.maintenance_cache.forget();
        ended.ok_or(PlatformError::NotFound(crate::NotFound::MaintenanceWindow))
    }

    /// The windows in effect or coming, soonest first: what the announcements endpoint answers.
    /// Held in memory for a few seconds (this node's own announcements are seen at once).
    pub async fn maintenance_windows(&self) -> Result<Vec<MaintenanceWindow>, PlatformError> {
        let now = self.clock.now();
        let windows = self.held_windows(now).await?;
        Ok(windows.iter().filter(|w| w.end() > now).cloned().collect())
    }

    /// The windows in effect or coming as held in memory, for the pages that show them; none
    /// when the store cannot be read.
    pub async fn announced_maintenance(&self) -> Vec<MaintenanceWindow> {
        self.maintenance_windows().await.unwrap_or_default()
    }

    async fn held_windows(&self, now: UnixTime) -> Result<Arc<Vec<MaintenanceWindow>>, StoreError> {
        if let Some(w) = self.maintenance_cache.get(now) {
            return Ok(w);
        }
        let w = Arc::new(self.store.maintenance_windows(now).await?);
        self.maintenance_cache.put(now, w.clone());
        Ok(w)
    }

    /// Whether `f` is under maintenance now: the refusal to answer if it is. Read from memory
    /// for a few seconds at a time, so that it costs a request almost nothing. When the store
    /// cannot be read, the function is taken to be open: the request then meets the store's
    /// own failure, if it needs the store.
    pub async fn under_maintenance(&self, f: Function) -> Result<(), PlatformError> {
        let now = self.clock.now();
        let Ok(windows) = self.held_windows(now).await else {
            return Ok(());
        };
        match windows
            .iter()
            .filter(|w| w.covers(f) && w.in_effect(now))
            .max_by_key(|w| w.end())
        {
            None => Ok(()),
            Some(w) => Err(PlatformError::Maintenance(Maintenance {
                function: f,
                window: w.id,
                until: w.end(),
                retry_after: w.end().as_secs().saturating_sub(now.as_secs()).max(1),
                notice: w.notice.clone(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_read_back_and_notices_are_checked() {
        for f in Function::ALL {
            assert_eq!(Function::parse(f.as_str()), Some(f));
        }
        assert_eq!(Function::parse("ops"), None);
        assert!(Notice::new(" Down for an upgrade ", "更新のため停止します").is_ok());
        assert!(Notice::new("", "停止").is_err());
        assert!(Notice::new("Down", &"あ".repeat(2001)).is_err());
        assert!(Notice::new("Down\u{7}", "停止").is_err());
        assert!(Notice::new("Down", "\u{202e}停止").is_err());
        assert!(Notice::new("Down\u{200b}", "停止").is_err());
        assert!(Notice::new("Line one\nLine two", "一行目\n二行目").is_ok());
    }

    #[test]
    fn a_window_ends_early_and_is_in_effect_only_between() {
        let mut w = MaintenanceWindow {
            id: 1,
            starts_at: UnixTime::from_secs(100),
            ends_at: UnixTime::from_secs(200),
            functions: vec![Function::Oidc],
            notice: Notice::new("x", "x").unwrap(),
            announced_at: UnixTime::from_secs(0),
            urgent_reason: None,
            ended_at: None,
        };
        assert!(!w.in_effect(UnixTime::from_secs(99)));
        assert!(w.in_effect(UnixTime::from_secs(100)));
        assert!(!w.in_effect(UnixTime::from_secs(200)));
        w.ended_at = Some(UnixTime::from_secs(150));
        assert_eq!(w.end(), UnixTime::from_secs(150));
        assert!(!w.in_effect(UnixTime::from_secs(150)));
        assert!(w.covers(Function::Oidc) && !w.covers(Function::Points));
    }
}
