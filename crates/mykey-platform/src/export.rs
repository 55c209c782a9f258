//! The person's export (working group: transparency and control): everything the platform holds
//! about the person, in one document — their My Key IDs, Service IDs, PPID services with their
//! PPIDs, every consent, and the log with its head hash. The log is paged like `/v1/me/log`
//! (cursor-based, [`MAX_LOG_PAGE`] entries a page, oldest first): the export holds the first
//! page and the cursor of the next, so that no request builds an unbounded document (issue 19,
//! finding 9); the portal's download streams every page into one file. Issuance numbers and
//! internal IDs stay out: the edge renders only the fields below.

use mykey_pki::UnixTime;
use serde_json::json;

use crate::{
    Consent, LogEntry, LogHash, MAX_LOG_PAGE, MyKeyId, NewLog, PersonLink, PersonPpidService,
    Platform, PlatformError, Session,
};

/// A My Key ID the person holds or held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyKeyIdRecord {
    /// The ID.
    pub id: MyKeyId,
    /// When it was created (or changed to).
    pub created_at: UnixTime,
    /// When it ended, and why (`changed`, `revoked`).
    pub ended: Option<(UnixTime, String)>,
}

/// A Service ID the person holds or held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceIdRecord {
    /// The link with the consent it was made under.
    pub link: PersonLink,
    /// When it ended, and why (`withdrawn`, `removed`, `my-key-id-revoked`).
    pub ended: Option<(UnixTime, String)>,
}

/// A consent the person gave, with what it was for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The function (`my-key-id`, `service-id`, `ppid`, `facts`).
    pub function: String,
    /// The relying party's name.
    pub relying_party: Option<String>,
    /// The PPID service's name, for a PPID consent.
    pub ppid_service: Option<String>,
    /// What was agreed, under which terms, when.
    pub consent: Consent,
    /// When it was withdrawn, if it was.
    pub withdrawn_at: Option<UnixTime>,
}

/// Everything held about a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// When the export was made.
    pub at: UnixTime,
    /// Every My Key ID, oldest first.
    pub my_key_ids: Vec<MyKeyIdRecord>,
    /// Every Service ID, active and ended, oldest first.
    pub service_ids: Vec<ServiceIdRecord>,
    /// The PPID services, with the person's PPIDs.
    pub ppid_services: Vec<PersonPpidService>,
    /// Every consent, oldest first.
    pub consents: Vec<ConsentRecord>,
    /// Every card-point application, newest first.
    pub point_applications: Vec<crate::PointApplication>,
    /// The registrations claimed on them for points (Art 24, 25).
    pub point_triggers: Vec<crate::PointTrigger>,
    /// The log's first page, oldest first (the last page ends with this export's own entry).
    pub log: Vec<LogEntry>,
    /// The cursor of the log's next page (`after`), if there is one.
    pub log_next: Option<u64>,
    /// The log's head hash: this export's own entry's, which ends the log as exported.
    pub head: Option<LogHash>,
    /// The sequence number of this export's own entry: the export's log ends there, whatever
    /// is appended while it is read.
    pub upto: u64,
}

impl Platform {
    /// The person's export. The download is logged first (`export.downloaded`), so the export
    /// holds its own entry and the head hash covers it.
    pub async fn export(&self, s: &Session) -> Result<Export, PlatformError> {
        let at = self.clock.now();
        let own = self
            .store
            .append_log(
                s.person,
                at,
                &NewLog::new(crate::LogKind::ExportDownloaded, json!({})),
            )
            .await?;
        let (mut log, mut log_next) = self.log_page(s, None, false, MAX_LOG_PAGE).await?;
        if log.last().is_some_and(|e| e.seq >= own.seq) {
            log.retain(|e| e.seq <= own.seq);
            log_next = None;
        }
        Ok(Export {
            at,
            my_key_ids: self.store.my_key_id_history(s.person).await?,
            service_ids: self.store.service_id_history(s.person).await?,
            ppid_services: self.store.person_ppid_services(s.person).await?,
            consents: self.store.person_consents(s.person).await?,
            point_applications: self.store.person_point_applications(s.person).await?,
            point_triggers: self.store.person_point_triggers(s.person).await?,
            head: Some(own.hash),
            upto: own.seq,
            log,
            log_next,
        })
    }
}
