//! Service IDs (Terms Art 17, docs/architecture.md §4): a relying party opens a link request for one of
//! its customer IDs; the person reads who asks and for what, authenticates with the card and
//! consents to the three matters of Art 17.2 under the current terms; the link is stored. The
//! relying party lists, looks up and removes its own links; the person sees and withdraws them;
//! revoking the My Key ID ends them all (Art 15.3). Beside the card-confirmed request, the Terms'
//! own route (Art 17.1): the person gives the relying party their My Key ID and the relying party
//! applies with it and the consent it obtained ([`Platform::apply_for_service_id`]).
//!
//! A link ties (relying party, customer ID) to the person holding the active My Key ID. The
//! relying party never learns the My Key ID, an issuance number or the internal person ID.

use crate::Rng;
use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use mykey_pki::UnixTime;
use serde_json::json;

use crate::{
    ChallengePurpose, CustomerId, IdError, NewLog, Platform, PlatformError, RelyingParty,
    RelyingPartyId, RelyingPartyKind, RelyingPartyStatus, Session,
};

/// One matter a person consents to, with a stable name and the text shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsentItem {
    /// Stable name (`service-id.link`, …).
    pub name: &'static str,
    /// What the person agrees to.
    pub text: &'static str,
}

/// How long a link request is kept after it expires, answered or not: a day, so that its
/// relying party asking about it soon after learns it expired; then the minutely purge deletes
/// it (`GET` on it answers as for one never made).
pub const LINK_REQUEST_KEEP_SECS: u64 = 86_400;

/// The matters of Art 17.2, all required for a Service ID.
pub const SERVICE_ID_CONSENT: [ConsentItem; 3] = [
    ConsentItem {
        name: "service-id.link",
        text: "The customer ID of this service or business and your My Key ID are linked and registered in the platform as a Service ID (Art 17.2.1).",
    },
    ConsentItem {
        name: "service-id.facts-change-check",
        text: "To check whether your address or other basic facts have changed, the platform sends the issuance number of your user-identification certificate to J-LIS, has the validity of the linked signature certificate verified, and shares the result with this relying party (Art 17.2.2).",
    },
    ConsentItem {
        name: "service-id.inquiries-to-relying-party",
        text: "This relying party answers your inquiries and disputes about its customer IDs and Service IDs, and does not address them directly to the Digital Agency or J-LIS (Art 17.2.3).",
    },
];

/// A link request's ID: 128 random bits, base64url (22 characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkRequestId([u8; 16]);

impl LinkRequestId {
    fn random(rng: &dyn Rng) -> Self {
        Self(rng.bytes::<16>())
    }

    /// What a challenge for this request is bound to.
    fn binding(&self) -> [u8; 32] {
        crate::relying_party::sha256(&[b"link-request:".as_slice(), &self.0].concat())
    }

    /// The raw bytes (for the store).
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// From stored bytes.
    pub fn from_bytes(b: [u8; 16]) -> Self {
        Self(b)
    }
}

impl FromStr for LinkRequestId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.len() != 22 {
            return Err(IdError::LinkRequest);
        }
        B64URL
            .decode(s)
            .ok()
            .and_then(|v| v.try_into().ok())
            .map(Self)
            .ok_or(IdError::LinkRequest)
    }
}

impl fmt::Display for LinkRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&B64URL.encode(self.0))
    }
}

impl fmt::Debug for LinkRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkRequestId({self})")
    }
}

/// Where a link request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRequestState {
    /// Waiting for the person.
    Open,
    /// The person approved it; a Service ID was made.
    Approved,
    /// The person declined it.
    Refused,
}

impl LinkRequestState {
    /// The name used in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkRequestState::Open => "open",
            LinkRequestState::Approved => "approved",
            LinkRequestState::Refused => "refused",
        }
    }

    /// From [`LinkRequestState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Approved, Self::Refused]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A relying party's request to link one of its customer IDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRequest {
    /// Its ID.
    pub id: LinkRequestId,
    /// Who asks (with its current name and status).
    pub relying_party: RelyingParty,
    /// The customer ID to link.
    pub customer_id: CustomerId,
    /// Open, approved or refused.
    pub state: LinkRequestState,
    /// Until when the person may answer.
    pub expires_at: UnixTime,
}

/// A consent to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConsent {
    /// The item names agreed to.
    pub items: Vec<String>,
    /// The terms version agreed under.
    pub terms_version: String,
}

/// A consent as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The item names agreed to.
    pub items: Vec<String>,
    /// The terms version agreed under.
    pub terms_version: String,
    /// When.
    pub given_at: UnixTime,
}

/// A Service ID as its relying party sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingPartyLink {
    /// Its customer ID.
    pub customer_id: CustomerId,
    /// When the person linked it.
    pub linked_at: UnixTime,
}

/// A Service ID as the person sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonLink {
    /// The link's number (the person withdraws it by this).
    pub id: crate::LinkId,
    /// The relying party's name.
    pub relying_party: String,
    /// Its kind.
    pub relying_party_kind: RelyingPartyKind,
    /// Where the person turns to it.
    pub relying_party_profile: Option<crate::RelyingPartyProfile>,
    /// The relying party's customer ID.
    pub customer_id: CustomerId,
    /// When it was made.
    pub linked_at: UnixTime,
    /// The consent it was made under.
    pub consent: Consent,
    /// How it was made.
    pub route: LinkRoute,
}

/// Why a Service ID ended; each is recorded in the person's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceIdEnd {
    /// The person withdrew their consent.
    Withdrawn,
    /// The relying party removed the link.
    RemovedByRelyingParty,
    /// The person revoked their My Key ID (Art 15.3).
    MyKeyIdRevoked,
    /// The platform revoked the My Key ID because the card ended (Art 15.3, `card_end.rs`).
    CardEnded(crate::CardEnd),
}

impl ServiceIdEnd {
    /// The name used in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceIdEnd::Withdrawn => "withdrawn",
            ServiceIdEnd::RemovedByRelyingParty => "removed",
            // The My Key ID was revoked: why is in the log and the event.
            ServiceIdEnd::MyKeyIdRevoked | ServiceIdEnd::CardEnded(_) => "my-key-id-revoked",
        }
    }

    /// What the event and the log say of why: the stored name, or how the card ended (with
    /// J-LIS's reason for a revocation).
    fn why(self) -> serde_json::Value {
        match self {
            ServiceIdEnd::CardEnded(c) => match c.revocation_reason() {
                Some(r) => json!({"reason": c.as_str(), "revocation_reason": r}),
                None => json!({"reason": c.as_str()}),
            },
            _ => json!({"reason": self.as_str()}),
        }
    }

    /// The event the relying party is sent when a link ends this way.
    pub fn event(self) -> (crate::EventKind, serde_json::Value) {
        match self {
            ServiceIdEnd::MyKeyIdRevoked | ServiceIdEnd::CardEnded(_) => {
                (crate::EventKind::AccountDisabled, self.why())
            }
            _ => (crate::EventKind::ServiceIdEnded, self.why()),
        }
    }

    /// The person's log entries for the end of the link of `customer_id` at `relying_party`
    /// (a withdrawal also records the consent's withdrawal).
    pub fn logs(self, relying_party: &str, customer_id: &str) -> Vec<NewLog> {
        let mut logs = Vec::new();
        if self == ServiceIdEnd::Withdrawn {
            logs.push(NewLog::new(
                crate::LogKind::ConsentWithdrawn,
                json!({"function": "service-id", "relying_party": relying_party}),
            ));
        }
        let kind = match self {
            ServiceIdEnd::Withdrawn => crate::LogKind::ServiceIdWithdrawn,
            ServiceIdEnd::RemovedByRelyingParty => crate::LogKind::ServiceIdRemoved,
            ServiceIdEnd::MyKeyIdRevoked | ServiceIdEnd::CardEnded(_) => {
                crate::LogKind::ServiceIdEnded
            }
        };
        let mut detail = self.why();
        detail["relying_party"] = json!(relying_party);
        detail["customer_id"] = json!(customer_id);
        logs.push(NewLog::new(kind, detail));
        logs
    }
}

/// The person's log entries for a Service ID made: the consent and the link. `via`: how the
/// consent reached the platform when the person did not give it here with the card
/// (`my-key-id`: the relying party obtained it when the person gave it the My Key ID, Art 17.1).
pub(crate) fn link_logs(
    rp: &RelyingParty,
    customer_id: &CustomerId,
    consent: &NewConsent,
    via: Option<&str>,
) -> [NewLog; 2] {
    let mut given = json!({
        "function": "service-id",
        "relying_party": rp.name,
        "items": consent.items,
        "terms_version": consent.terms_version,
    });
    let mut linked = json!({"relying_party": rp.name, "customer_id": customer_id.as_str()});
    if let Some(via) = via {
        given["via"] = json!(via);
        linked["via"] = json!(via);
    }
    [
        NewLog::new(crate::LogKind::ConsentGiven, given),
        NewLog::new(crate::LogKind::ServiceIdLinked, linked),
    ]
}

/// How a Service ID was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRoute {
    /// The person confirmed the relying party's link request with the card (and consented
    /// there).
    Card,
    /// The person gave the relying party their My Key ID, and the relying party applied with it
    /// and the consent it obtained (Art 17.1, 17.2).
    MyKeyId,
}

impl LinkRoute {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::MyKeyId => "my-key-id",
        }
    }

    /// From [`LinkRoute::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Card, Self::MyKeyId]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A relying party's application for a Service ID with a My Key ID the person gave it
/// (Art 17.1), as the store makes it in one transaction.
#[derive(Debug)]
pub struct MyKeyIdApplication<'a> {
    /// The relying party.
    pub relying_party: RelyingPartyId,
    /// The My Key ID given.
    pub my_key_id: crate::MyKeyId,
    /// The person who held it when the application was checked: the link is made only if they
    /// still do.
    pub person: crate::PersonId,
    /// The customer ID to link.
    pub customer_id: &'a CustomerId,
    /// The consent the relying party obtained (Art 17.2).
    pub consent: &'a NewConsent,
    /// The signature certificate J-LIS holds for the person's card (Art 17.2.2).
    pub signature: Option<mykey_pki::IssuanceNumber>,
    /// When.
    pub at: UnixTime,
    /// The person's log entries.
    pub logs: &'a [NewLog],
}

impl Platform {
    /// A relying party applies for a Service ID with the My Key ID the person gave it and the
    /// consent to the matters of Art 17.2 it obtained from them (Art 17.1–2), beside the
    /// card-confirmed link request. The person sees the link at once (portal, log, API) and can
    /// withdraw it; the answer, and everything the relying party receives afterwards, names
    /// only its customer ID. A My Key ID that is unknown, ended or changed is one answer
    /// (`no-my-key-id`) — and so is the My Key ID of a person who withdrew a Service ID from
    /// this relying party (their withdrawal stands until they link again with the card), or
    /// whose newest card is revoked, suspended or expired.
    /// Applications are held to quotas per relying party, per relying party and My Key ID, and
    /// per My Key ID (`quota.rs`), so that they cannot be used to guess My Key IDs.
    pub async fn apply_for_service_id(
        &self,
        rp: &RelyingParty,
        my_key_id: crate::MyKeyId,
        customer_id: CustomerId,
        consent: NewConsent,
    ) -> Result<RelyingPartyLink, PlatformError> {
        self.refuse_after_termination().await?;
        self.identity_function(rp)?;
        self.check_consent(&consent, &SERVICE_ID_CONSENT).await?;
        let now = self.clock.now();
        self.applications.take(rp.id, my_key_id.as_str(), now)?;
        // And per My Key ID across relying parties, so that colluding ones gain nothing.
        self.applications_per_id
            .take(RelyingPartyId::new(0), my_key_id.as_str(), now)?;
        // A customer ID already linked is refused before the My Key ID is looked at: the answer
        // must not tell a live My Key ID from an unknown one.
        if !self
            .store
            .relying_party_links(rp.id, Some(&customer_id))
            .await?
            .is_empty()
        {
            return Err(PlatformError::Conflict(crate::Conflict::ServiceIdExists));
        }
        let (person, number) = self
            .store
            .my_key_id_holder(&my_key_id, now)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::MyKeyId))?;
        let mut logs = Vec::new();
        let signature = match number {
            Some(n) => {
                let current = self.jlis.signature_certificate_status(n).await?.current;
                logs.push(crate::signature_query(current.is_some(), &rp.name));
                current
            }
            None => None,
        };
        logs.extend(link_logs(rp, &customer_id, &consent, Some("my-key-id")));
        self.store
            .apply_with_my_key_id(&MyKeyIdApplication {
                relying_party: rp.id,
                my_key_id,
                person,
                customer_id: &customer_id,
                consent: &consent,
                signature,
                at: now,
                logs: &logs,
            })
            .await?
    }

    /// Opens a link request of `rp` for `customer_id`, valid for the configured time.
    pub async fn open_link_request(
        &self,
        rp: &RelyingParty,
        customer_id: CustomerId,
    ) -> Result<LinkRequest, PlatformError> {
        self.refuse_after_termination().await?;
        self.identity_function(rp)?;
        let r = LinkRequest {
            id: LinkRequestId::random(&*self.rng),
            relying_party: rp.clone(),
            customer_id,
            state: LinkRequestState::Open,
            expires_at: self
                .clock
                .now()
                .plus(self.config.link_request_ttl.as_secs()),
        };
        self.store.insert_link_request(&r).await?;
        Ok(r)
    }

    /// An open, unexpired link request of an approved relying party.
    pub async fn link_request(&self, id: LinkRequestId) -> Result<LinkRequest, PlatformError> {
        let r = self
            .store
            .link_request(&id)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::LinkRequest))?;
        if r.state != LinkRequestState::Open {
            return Err(PlatformError::Conflict(
                crate::Conflict::LinkRequestAnswered,
            ));
        }
        if self.clock.now() > r.expires_at {
            return Err(PlatformError::Conflict(crate::Conflict::LinkRequestExpired));
        }
        if r.relying_party.status != RelyingPartyStatus::Approved {
            return Err(PlatformError::Access(
                crate::AccessError::RelyingPartyNotApproved,
            ));
        }
        Ok(r)
    }

    /// A card challenge for approving link request `id`, bound to its relying party and to
    /// the request itself: an answer fetched for one request approves no other.
    pub async fn link_challenge(
        &self,
        id: LinkRequestId,
    ) -> Result<crate::Challenge, PlatformError> {
        let r = self.link_request(id).await?;
        self.bound_challenge(
            ChallengePurpose::ServiceIdLink,
            Some(r.relying_party.id),
            Some(&id.binding()),
        )
        .await
    }

    /// The person approves link request `id` with the card's answer and their consent: the card
    /// is checked as at login; the consent must name exactly the Art 17.2 items under the terms
    /// in force; the person must hold an active My Key ID (Art 17.1). Then, in one transaction,
    /// the request is used, the consent and the Service ID stored, and both logged.
    pub async fn approve_link_request(
        &self,
        id: LinkRequestId,
        card: &crate::CardAnswer<'_>,
        consent: NewConsent,
    ) -> Result<PersonLink, PlatformError> {
        self.refuse_after_termination().await?;
        let r = self.link_request(id).await?;
        self.check_consent(&consent, &SERVICE_ID_CONSENT).await?;
        let now = self.clock.now();
        let proof = self
            .verify_card_once(
                card,
                ChallengePurpose::ServiceIdLink,
                Some(r.relying_party.id),
                Some(&id.binding()),
                now,
            )
            .await?;
        let person = self
            .known_person_for(proof.issuance_number, proof.expires_at, now)
            .await?
            .ok_or(PlatformError::Conflict(crate::Conflict::MyKeyIdRequired))?;
        // The signature certificate they hold now, for the facts-change sweep (Art 17.2.2),
        // noted with the link.
        let signature = self
            .jlis
            .signature_certificate_status(proof.issuance_number)
            .await?
            .current;
        let mut logs = proof.logs;
        logs.push(crate::signature_query(
            signature.is_some(),
            &r.relying_party.name,
        ));
        logs.extend(link_logs(&r.relying_party, &r.customer_id, &consent, None));
        self.store
            .approve_link_request(&id, person, &consent, signature, now, &logs)
            .await?
    }

    /// The person declines link request `id` (no card needed: declining gives nothing away),
    /// whatever has become of the relying party meanwhile.
    pub async fn refuse_link_request(&self, id: LinkRequestId) -> Result<(), PlatformError> {
        self.store
            .refuse_link_request(&id, self.clock.now())
            .await?
    }

    /// A relying party's own active links, or the one for `customer_id`.
    pub async fn relying_party_links(
        &self,
        rp: &RelyingParty,
        customer_id: Option<&CustomerId>,
    ) -> Result<Vec<RelyingPartyLink>, PlatformError> {
        let links = self.store.relying_party_links(rp.id, customer_id).await?;
        if !links.is_empty() {
            // Each person read is told, once a day (`ReadOf`).
            let log = NewLog::new(
                crate::LogKind::ServiceIdRead,
                json!({"relying_party": rp.name}),
            );
            let of = crate::ReadOf::ServiceIds { customer_id };
            self.store
                .log_reads(rp.id, of, self.clock.now(), &log)
                .await?;
        }
        Ok(links)
    }

    /// A relying party removes its link of `customer_id`; the person's log records it.
    pub async fn remove_link(
        &self,
        rp: &RelyingParty,
        customer_id: &CustomerId,
    ) -> Result<(), PlatformError> {
        if self
            .store
            .remove_link(rp.id, customer_id, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(PlatformError::NotFound(crate::NotFound::ServiceId))
        }
    }

    /// The person's active links.
    pub async fn my_links(&self, s: &Session) -> Result<Vec<PersonLink>, PlatformError> {
        Ok(self.store.person_links(s.person).await?)
    }

    /// The person withdraws the consent behind link `id`: the link ends at once.
    pub async fn withdraw_link(&self, s: &Session, id: crate::LinkId) -> Result<(), PlatformError> {
        if self
            .store
            .withdraw_link(s.person, id, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(PlatformError::NotFound(crate::NotFound::ServiceId))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_request_ids_round_trip_and_refuse_junk() {
        let id = LinkRequestId::random(&crate::SystemRng);
        assert_eq!(id.to_string().parse::<LinkRequestId>().unwrap(), id);
        for bad in ["", "abc", "!!!!!!!!!!!!!!!!!!!!!!", &"A".repeat(23)] {
            assert!(bad.parse::<LinkRequestId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_consent_items_are_the_three_of_art_17_2() {
        let names: Vec<&str> = SERVICE_ID_CONSENT.iter().map(|i| i.name).collect();
        assert_eq!(
            names,
            [
                "service-id.link",
                "service-id.facts-change-check",
                "service-id.inquiries-to-relying-party"
            ]
        );
    }
}
