//! The PIN-less route of Terms Art 20.2: a public authority's PPID service learns who is at its
//! counter, and their four facts, from the My Number Card without any PIN. The card's
//! ticket-item entry support AP opens its facts to access key B — the date of birth, the card's
//! expiry year and its security code, all printed on the card — and the authority supplies the
//! date of birth it holds (Art 20.2.1), so only a person with the card in hand (or its face) and
//! the authority's record goes through.
//!
//! ```text
//! relying party  POST /v1/rp/ppid-services/{id}/pinless-requests {birth_date} ──► a handle
//! terminal       GET  /v1/pinless-requests/{handle}: who asks, the date of birth, the consent
//!                reads the card: the user-identification certificate (free), files 0002 and
//!                0003 of the ticket-item AP with key B
//!                POST /v1/pinless-requests/{handle}/approval ──► the PPID and a one-time code
//! relying party  POST /v1/rp/ppid-services/{id}/codes/{code} ──► the PPID and the four facts
//! ```
//!
//! With no PIN the card signs nothing, so the evidence is different from a login's, and is
//! checked as strictly: the user-identification certificate passes the profile, path, validity
//! and revocation checks; file `0003` is J-LIS's signature over exactly the facts file sent;
//! J-LIS confirms (ticket-item service) that it signed those facts and that they are the facts
//! of the holder of that certificate now; and the date of birth they hold is the one the
//! relying party gave. The handle is used once. The facts are released under this route's own
//! consent items, quoted from Art 20.2, beside the six of Art 20.1 (recorded the first time).
//!
//! What the route cannot give: freshness. The ticket-item AP answers no challenge, so data once
//! read from a card (by anyone who held it with its face) can be sent again until J-LIS writes
//! new facts; a login with the PIN proves the card is present, this route only that its data
//! was read. The log marks such uses (`"route": "pinless"`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use mykey_pki::UnixTime;
use mykey_pki::ticket::{TicketFacts, TicketSignature};
use serde_json::json;

use crate::oidc::FactScope;
use crate::ppid_service::consent_log;
use crate::{
    ConsentItem, LoginGrant, NewConsent, NewLog, PPID_CONSENT, Platform, PlatformError, Ppid,
    PpidCode, PpidIssue, PpidService, PpidServiceId, RelyingParty,
};

/// The matters of Art 20.2, quoted, required for every use of the route.
pub const PINLESS_CONSENT: [ConsentItem; 2] = [
    ConsentItem {
        name: "pinless.birth-date-to-card",
        text: "Your My Number Card receives and uses the date of birth read with the ticket-item entry support AP, or the date of birth this public authority holds for you, sent to it through the platform (Art 20.2.1).",
    },
    ConsentItem {
        name: "pinless.facts-to-service",
        text: "Your name, address, date of birth and sex read with the ticket-item entry support AP are sent to the system of this PPID service (Art 20.2.2).",
    },
];

/// The most PIN-less requests a relying party may have open at once, over all its PPID
/// services (each lives
/// [`crate::PlatformConfig::authorization_ttl`]).
pub const MAX_OPEN_PINLESS_REQUESTS: u64 = 1_000;

/// How many answers to one PIN-less request may reach J-LIS; then the handle is spent.
pub const MAX_PINLESS_ATTEMPTS: u32 = 5;

/// What the store keeps of an open PIN-less request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPinlessRequest {
    /// The service asking.
    pub service: PpidServiceId,
    /// The date of birth the relying party holds.
    pub birth_date: time::Date,
    /// Until when it may be answered.
    pub expires_at: UnixTime,
}

/// A PIN-less request as the terminal sees it.
#[derive(Clone, Debug)]
pub struct PinlessRequest {
    /// The service asking, with its relying party.
    pub service: PpidService,
    /// The date of birth to open the card's facts with (access key B).
    pub birth_date: time::Date,
    /// Until when it may be answered.
    pub expires_at: UnixTime,
}

/// What the terminal read from the card, without a PIN.
#[derive(Debug)]
pub struct PinlessEvidence<'a> {
    /// The user-identification certificate (file `000A`, DER).
    pub certificate: &'a [u8],
    /// File `0002` of the ticket-item AP, as read.
    pub facts_file: &'a [u8],
    /// File `0003`: J-LIS's signature over it.
    pub signature: &'a TicketSignature,
}

/// What the terminal gets once the card's data is accepted.
#[derive(Debug)]
pub struct PinlessApproval {
    /// The person's PPID for the service.
    pub ppid: Ppid,
    /// Whether it was issued just now.
    pub first: bool,
    /// The one-time code the relying party redeems for the PPID and the facts.
    pub code: PpidCode,
    /// Until when.
    pub code_expires_at: UnixTime,
}

/// A date as `YYYY-MM-DD`, exactly (four-digit year, two-digit month and day, ASCII digits),
/// and a real one.
pub fn parse_iso_date(s: &str) -> Option<time::Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    time::Date::from_calendar_date(
        i32::try_from(num(0..4)?).ok()?,
        month,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()
}

/// A date as `YYYY-MM-DD`.
pub fn iso_date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The handle of a PIN-less request: 256 random bits, base64url; only its SHA-256 is stored.
fn handle_hash(handle: &str) -> [u8; 32] {
    crate::relying_party::sha256(handle.as_bytes())
}

fn refused(p: crate::TicketItemsProblem) -> PlatformError {
    PlatformError::Card(crate::CardError::TicketItems(p))
}

impl Platform {
    /// A relying party opens a PIN-less request for its PPID service `id` with the date of birth
    /// it holds. Answers the handle (for the terminal) and when it expires.
    pub async fn open_pinless_request(
        &self,
        rp: &RelyingParty,
        id: PpidServiceId,
        birth_date: time::Date,
    ) -> Result<(String, UnixTime), PlatformError> {
        if self.ppid.is_none() {
            return Err(PlatformError::Access(crate::AccessError::PpidClosed));
        }
        let s = self.own_ppid_service(rp, id).await?;
        let now = self.clock.now();
        let today = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
            .map(|t| t.to_offset(time::macros::offset!(+9)).date())
            .map_err(|_| PlatformError::Internal(crate::Internal("clock out of range")))?;
        if birth_date > today || birth_date.year() < 1868 {
            return Err(PlatformError::Invalid(crate::InvalidError::PinlessRequest(
                "birth_date is in the future or before 1868",
            )));
        }
        let handle = B64URL.encode(self.rng.bytes::<32>());
        let expires_at = now.plus(self.config.authorization_ttl.as_secs());
        let opened = self
            .store
            .open_pinless_request(
                &handle_hash(&handle),
                &StoredPinlessRequest {
                    service: s.id,
                    birth_date,
                    expires_at,
                },
                now,
                MAX_OPEN_PINLESS_REQUESTS,
            )
            .await?;
        if !opened {
            return Err(PlatformError::Limited(crate::Limited::Quota {
                retry_after: self.config.authorization_ttl.as_secs(),
            }));
        }
        Ok((handle, expires_at))
    }

    /// The open request `handle` names, for the terminal; unknown, used and expired handles get
    /// one answer.
    pub async fn pinless_request(&self, handle: &str) -> Result<PinlessRequest, PlatformError> {
        let now = self.clock.now();
        let r = self
            .store
            .pinless_request(&handle_hash(handle), now)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::PinlessRequest))?;
        let service = self.ppid_service(r.service).await?;
        Ok(PinlessRequest {
            service,
            birth_date: r.birth_date,
            expires_at: r.expires_at,
        })
    }

    /// The terminal answers request `handle` with what it read from the card. The consent must
    /// name the six Art 20.1 items and the two of Art 20.2 under the terms in force. Every check
    /// passes before anything is written; then, in one transaction, the request is used up, the
    /// PPID consent recorded (the first time), the PPID issued or used, the code stored with the
    /// facts, and the J-LIS query, the consent and the use logged.
    pub async fn approve_pinless(
        &self,
        handle: &str,
        evidence: &PinlessEvidence<'_>,
        consent: &NewConsent,
    ) -> Result<PinlessApproval, PlatformError> {
        let key = self
            .ppid
            .as_ref()
            .ok_or(PlatformError::Access(crate::AccessError::PpidClosed))?;
        let request = self.pinless_request(handle).await?;
        let s = &request.service;
        let wanted: Vec<ConsentItem> = PPID_CONSENT
            .iter()
            .chain(PINLESS_CONSENT.iter())
            .copied()
            .collect();
        self.check_consent(consent, &wanted).await?;
        let now = self.clock.now();

        // The card's data, checked before J-LIS is asked.
        let cert = self
            .certificates
            .user_identification(evidence.certificate, now)?;
        if !evidence.signature.covers(evidence.facts_file) {
            return Err(refused(crate::TicketItemsProblem::Invalid));
        }
        let facts = TicketFacts::from_tlv(evidence.facts_file)
            .ok()
            .and_then(|f| f.to_four_facts().ok())
            .ok_or(refused(crate::TicketItemsProblem::Invalid))?;
        if facts.birth_date().date() != request.birth_date {
            return Err(refused(crate::TicketItemsProblem::BirthDate));
        }
        let (n, cert_expires_at, mut logs) = self.check_revocation(&cert, now).await?;
        // Only J-LIS checks its signature: each answer that gets this far costs a query, and
        // one handle buys a few.
        if !self
            .store
            .spend_pinless_attempt(&handle_hash(handle), now, MAX_PINLESS_ATTEMPTS)
            .await?
        {
            return Err(PlatformError::NotFound(crate::NotFound::PinlessRequest));
        }
        let status = self.jlis.ticket_item_status(n, evidence.signature).await?;
        logs.push(NewLog::new(
            crate::LogKind::JlisQuery,
            json!({"service": "ticket-items", "answer": status.as_str()}),
        ));
        match status {
            crate::TicketItemStatus::Current => {}
            crate::TicketItemStatus::Outdated => {
                return Err(refused(crate::TicketItemsProblem::Outdated));
            }
            crate::TicketItemStatus::Invalid => {
                return Err(refused(crate::TicketItemsProblem::Invalid));
            }
            // Revoked since the CRL the platform holds: no PIN protects this route, so a card
            // reported lost must stop working the moment J-LIS knows.
            crate::TicketItemStatus::Revoked => {
                return Err(PlatformError::Card(crate::CardError::Revoked {
                    reason: None,
                }));
            }
        }

        let person = self.person_for(n, cert_expires_at, now).await?;
        let ppid_consent = NewConsent {
            items: PPID_CONSENT.iter().map(|i| i.name.to_owned()).collect(),
            terms_version: consent.terms_version.clone(),
        };
        let first_consent = self.store.ppid_consent(person, s.id).await?.is_none();
        if first_consent {
            logs.push(consent_log(
                "ppid",
                s,
                &ppid_consent.items,
                &consent.terms_version,
            ));
        }
        logs.push(consent_log(
            "pinless-facts",
            s,
            &PINLESS_CONSENT.map(|i| i.name),
            &consent.terms_version,
        ));
        let claims = crate::oidc::claims_of(&facts, &FactScope::ALL);
        let code = PpidCode::random(&*self.rng);
        let code_expires_at = now.plus(self.config.ppid_code_ttl.as_secs());
        let issued = self
            .store
            .issue_ppid(&PpidIssue {
                service: s.id,
                person,
                derived: key.derive(s.id, person),
                consent: first_consent.then_some(&ppid_consent),
                grant: LoginGrant::PinlessCode {
                    request_hash: handle_hash(handle),
                    hash: PpidCode::hash(code.as_str()),
                    expires_at: code_expires_at,
                    facts: &claims,
                },
                at: now,
                logs: &logs,
                detail: json!({
                    "relying_party": s.relying_party.name,
                    "ppid_service": s.name,
                    "route": "pinless",
                })
                .to_string(),
            })
            .await??;
        Ok(PinlessApproval {
            ppid: issued.ppid,
            first: issued.first,
            code,
            code_expires_at,
        })
    }
}
