//! `/v1/ops/operators`, `/v1/ops/operator-log` and `/v1/ops/people`: operator accounts, the
//! operator log, and the help desk's view of a person (docs/architecture.md §9).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::me::{LogEntry, PersonPpidService, ServiceId};

/// What an operator account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OperatorRole {
    /// Relying parties, Terms versions, operator accounts, reported logins.
    Administrator,
    /// The card-point programme (Art 22–27).
    PointSecretariat,
    /// Inquiries (Art 18): people by My Key ID, their links and log, suspension (Art 8.2).
    HelpDesk,
    /// Reads everything, including the operator log; changes nothing.
    Auditor,
}

/// A new operator account, bound to the person holding the My Key ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorRegistration {
    /// The My Key ID of the person who will sign in as this operator with their card.
    pub my_key_id: String,
    /// The operator's name, as the operator log shows it (1 to 200 characters).
    pub name: String,
    /// What the account may do.
    pub role: OperatorRole,
}

/// An operator account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OperatorAccount {
    /// Its ID.
    pub id: i64,
    /// The operator's name.
    pub name: String,
    /// What it may do.
    pub role: OperatorRole,
    /// When it was made.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it was ended; absent while active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
}

/// Every operator account, ended ones too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OperatorAccounts {
    /// Oldest first.
    pub operators: Vec<OperatorAccount>,
}

/// Which page of the operator log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OperatorLogPage {
    /// The `next` of the page before: entries after this `seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// At most this many entries (1 to 1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A page of the operator log, oldest first. Each entry's `kind` is the request (`POST
/// /v1/ops/relying-parties/{id}/approval`); its `detail` says who (`operator`, `name`, `role`),
/// on what (`target`), from where (`from`), the answer (`status`) and what the act adds (a
/// suspension's `reason`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatorLog {
    /// The page's entries.
    pub entries: Vec<LogEntry>,
    /// The cursor of the next page (`after=`); null on the last page.
    #[schema(required = true)]
    pub next: Option<u64>,
}

/// Why an operator acts (a suspension, a resumption).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// 1 to 1000 characters; line breaks allowed. Written to the person's log and the
    /// operator log.
    pub reason: String,
}

/// What the help desk sees of a person (Art 18 inquiries), found by a My Key ID they hold or
/// held. Reading it is recorded in the person's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonRecord {
    /// The active My Key ID, if any (it may differ from the one looked up, if that one was
    /// changed).
    #[schema(required = true)]
    pub my_key_id: Option<String>,
    /// Since when the person's use of the system is suspended (Art 8.2); null if it is not.
    #[schema(required = true, format = DateTime)]
    pub suspended_at: Option<String>,
    /// Since when the active My Key ID's use is suspended; null if it is not.
    #[schema(required = true, format = DateTime)]
    pub my_key_id_suspended_at: Option<String>,
    /// Their Service IDs.
    pub service_ids: Vec<ServiceId>,
    /// Their PPID services.
    pub ppid_services: Vec<PersonPpidService>,
}
