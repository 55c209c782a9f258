//! Maintenance windows (Terms Art 9.3): announced by operators ahead, read by anyone — relying
//! parties, the portal, the authorize page.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A notice in both languages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// In English: 1 to 2000 characters.
    #[schema(max_length = 2000)]
    pub en: String,
    /// In Japanese: 1 to 2000 characters.
    #[schema(max_length = 2000)]
    pub ja: String,
}

/// A maintenance window to announce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceAnnouncement {
    /// When it starts: at least 24 hours from now (Art 9.3's posting in advance). Not given
    /// for an urgent window, which starts at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// When it is expected to end: after it starts, at most 7 days later.
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// The functions it takes down (at least one): `card-login`, `oidc`, `service-ids`,
    /// `ppids`, `points`, `events`, `portal`, `relying-parties`.
    pub functions: Vec<String>,
    /// What people and relying parties read.
    pub notice: Notice,
    /// Art 9.3's urgent case: starts at once; needs a reason.
    #[serde(default)]
    pub urgent: bool,
    /// Why it is urgent (recorded); only with `urgent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An announced maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceWindow {
    /// Its ID.
    pub id: i64,
    /// When it starts.
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// When it ends: as announced, or earlier when an operator ended it.
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// The functions it takes down.
    pub functions: Vec<String>,
    /// The notice.
    pub notice: Notice,
    /// When it was announced.
    #[schema(format = DateTime)]
    pub announced_at: String,
    /// Whether it was urgent (started at once).
    pub urgent: bool,
    /// Why it was urgent: in answers to operators only (`null` in the public list).
    #[schema(required = true)]
    pub urgent_reason: Option<String>,
    /// Whether an operator ended it before its announced end (or called it off before it began).
    pub ended_early: bool,
    /// Whether it is in effect now.
    pub in_effect: bool,
}

/// The maintenance windows in effect or coming, soonest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceWindows {
    /// Each window.
    pub windows: Vec<MaintenanceWindow>,
}

/// The end of the system to announce (Terms Art 10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminationAnnouncement {
    /// When the system ends: at least three months (92 days) from now, unless urgent; never in
    /// the past.
    #[schema(format = DateTime)]
    pub terminates_at: String,
    /// What people and relying parties read.
    pub notice: Notice,
    /// Art 10's urgent case: may come with less notice; needs a reason.
    #[serde(default)]
    pub urgent: bool,
    /// Why it is urgent (recorded); only with `urgent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An announced end of the system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Termination {
    /// Its ID.
    pub id: i64,
    /// When the system ends: from then on new applications are refused (410
    /// `system-terminated`) and the card-point rights are forfeited (Art 27.1.3).
    #[schema(format = DateTime)]
    pub terminates_at: String,
    /// The notice.
    pub notice: Notice,
    /// When it was announced.
    #[schema(format = DateTime)]
    pub announced_at: String,
    /// Whether it was urgent.
    pub urgent: bool,
    /// Why it was urgent: in answers to operators only (`null` in `GET /v1/termination`).
    #[schema(required = true)]
    pub urgent_reason: Option<String>,
    /// Whether the date has come.
    pub terminated: bool,
    /// When the card-point rights were forfeited, once they were.
    #[schema(required = true, format = DateTime)]
    pub carried_out_at: Option<String>,
}

/// The standing announcement of the end of the system, if there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TerminationState {
    /// The announcement (`null` when the end of the system is not announced).
    #[schema(required = true)]
    pub termination: Option<Termination>,
}
