//! `GET /v1/me/export`: everything held about the person as one document.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::me::Log;
use crate::{ConsentRecorded, RelyingPartyShown};

/// The format an export names.
pub const EXPORT_FORMAT: &str = "mykey-export-v1";

/// Everything held about the person; never an issuance number or an internal ID.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Export {
    /// `mykey-export-v1`.
    pub format: String,
    /// When the export was made.
    #[schema(format = DateTime)]
    pub exported_at: String,
    /// Every My Key ID the person has had.
    pub my_key_ids: Vec<ExportedMyKeyId>,
    /// Every Service ID, ended ones too.
    pub service_ids: Vec<ExportedServiceId>,
    /// Every PPID service the person used.
    pub ppid_services: Vec<ExportedPpidService>,
    /// Every consent given.
    pub consents: Vec<ExportedConsent>,
    /// Every card-point application, newest first (Art 22-27).
    pub point_applications: Vec<crate::points::MyPointApplication>,
    /// The log's first page (the rest through `/v1/me/log?after=`), with the chain's head.
    pub log: Log,
}

/// A My Key ID in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportedMyKeyId {
    /// The ID.
    pub my_key_id: String,
    /// When it was made.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it ended, if it did.
    #[schema(required = true, format = DateTime)]
    pub ended_at: Option<String>,
    /// `changed` or `revoked`, if it ended.
    #[schema(required = true)]
    pub end_reason: Option<String>,
}

/// A Service ID in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportedServiceId {
    /// Who held it.
    pub relying_party: RelyingPartyShown,
    /// The relying party's ID for the person.
    pub customer_id: String,
    /// When it was linked.
    #[schema(format = DateTime)]
    pub linked_at: String,
    /// When it ended, if it did.
    #[schema(required = true, format = DateTime)]
    pub ended_at: Option<String>,
    /// `withdrawn`, `removed` or `my-key-id-revoked`, if it ended.
    #[schema(required = true)]
    pub end_reason: Option<String>,
    /// The consent given for it.
    pub consent: ConsentRecorded,
    /// How it was made: `card` or `my-key-id` (Art 17.1).
    #[schema(value_type = crate::me::LinkRoute)]
    pub route: String,
}

/// A PPID service in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportedPpidService {
    /// The service's name.
    pub name: String,
    /// Whose service it is.
    pub relying_party: RelyingPartyShown,
    /// The person's PPID, once issued.
    #[schema(required = true)]
    pub ppid: Option<String>,
    /// When it was issued.
    #[schema(required = true, format = DateTime)]
    pub issued_at: Option<String>,
}

/// A consent in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportedConsent {
    /// `service-id` or `ppid`.
    pub function: String,
    /// The relying party's name.
    #[schema(required = true)]
    pub relying_party: Option<String>,
    /// The PPID service's name, for `ppid`.
    #[schema(required = true)]
    pub ppid_service: Option<String>,
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
