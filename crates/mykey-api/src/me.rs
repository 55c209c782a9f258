//! `/v1/me`: the person, with a session: the My Key ID, the log, Service IDs and PPID services.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{ConsentRecorded, RelyingPartyShown};

/// The person's overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The active My Key ID, if any.
    #[schema(required = true)]
    pub my_key_id: Option<MyKeyId>,
    /// When the session ends.
    #[schema(format = DateTime)]
    pub session_expires_at: String,
}

/// A My Key ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MyKeyId {
    /// 8 of A-Z and 0-9.
    #[schema(pattern = "^[A-Z0-9]{8}$")]
    pub id: String,
    /// Since when it is the person's (absent where it was just made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub since: Option<String>,
}

/// The My Key ID wanted (the body may also be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyKeyIdRequest {
    /// 8 of A-Z, 0-9 (lower case accepted); absent for a random free one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9]{8}$")]
    pub id: Option<String>,
}

/// A My Key ID to create, with the person's acceptance of Art 16.1 (the items
/// `GET /v1/me/my-key-id/consent` asks for, under the terms version in force).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyKeyIdCreation {
    /// 8 of A-Z, 0-9 (lower case accepted); absent for a random free one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9]{8}$")]
    pub id: Option<String>,
    /// Exactly the items asked for, under the terms version in force.
    pub consent: crate::ConsentGiven,
}

/// `?after=SEQ&limit=N`: a page of the log, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogPage {
    /// The `next` of the page before: entries after this `seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// At most this many entries (1 to 1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// One entry of the person's hash-chained log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogEntry {
    /// Its place in the chain, from 1.
    #[schema(minimum = 1)]
    pub seq: u64,
    /// When.
    #[schema(format = DateTime)]
    pub at: String,
    /// What happened (`login`, `my-key-id.created`, …).
    pub kind: String,
    /// The event's details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// The SHA-256 chain hash, hex.
    pub hash: String,
}

/// A page of the log, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Log {
    /// The page's entries.
    pub entries: Vec<LogEntry>,
    /// The chain's head hash, on the page that ends with it.
    #[schema(required = true)]
    pub head: Option<String>,
    /// The cursor of the next page (`GET /v1/me/log?after=`); null on the last page, which
    /// alone carries `head` in `/v1/me/log` (the export always carries it).
    #[schema(required = true)]
    pub next: Option<String>,
}

/// Whether the person's log chain verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogVerdict {
    /// The chain is intact.
    pub valid: bool,
    /// How many entries it holds.
    pub entries: usize,
    /// The head hash, when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// What is wrong, when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A Service ID as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceId {
    /// The link's ID, by which the person withdraws it.
    pub id: i64,
    /// Who holds it.
    pub relying_party: RelyingPartyShown,
    /// The relying party's ID for the person.
    pub customer_id: String,
    /// When it was linked.
    #[schema(format = DateTime)]
    pub linked_at: String,
    /// The consent given for it.
    pub consent: ConsentRecorded,
    /// How it was made: `card` (the person confirmed the relying party's link request with the
    /// card) or `my-key-id` (the person gave the relying party their My Key ID and it applied
    /// with it and the consent it obtained, Art 17.1).
    #[schema(value_type = LinkRoute)]
    pub route: String,
}

/// How a Service ID was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LinkRoute {
    /// The person confirmed a link request with the card.
    Card,
    /// The relying party applied with the My Key ID the person gave it.
    MyKeyId,
}

/// The person's Service IDs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceIds {
    /// Each link.
    pub service_ids: Vec<ServiceId>,
}

/// A consent to a PPID service, and whether it was withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PpidConsentRecorded {
    /// The item names consented to.
    pub items: Vec<String>,
    /// The terms version it was given under.
    pub terms_version: String,
    /// When.
    #[schema(format = DateTime)]
    pub given_at: String,
    /// When it was withdrawn, if it was.
    #[schema(required = true, format = DateTime)]
    pub withdrawn_at: Option<String>,
}

/// A PPID service as the person sees it: their PPID and their latest consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonPpidService {
    /// The PPID service's ID, by which the person withdraws.
    pub id: i64,
    /// The service's name.
    pub name: String,
    /// Whose service it is.
    pub relying_party: RelyingPartyShown,
    /// The person's PPID for it, once issued.
    #[schema(required = true)]
    pub ppid: Option<String>,
    /// When the PPID was issued.
    #[schema(required = true, format = DateTime)]
    pub issued_at: Option<String>,
    /// The latest consent.
    #[schema(required = true)]
    pub consent: Option<PpidConsentRecorded>,
}

/// The person's PPID services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonPpidServices {
    /// Each service.
    pub ppid_services: Vec<PersonPpidService>,
}
