//! Finding changes of the four facts, and every other end of the signature certificate a link
//! was made with (docs/architecture.md §5, Terms Art 17.2.2: the verification result, whole).
//! J-LIS revokes a person's signature certificate with reason affiliationChanged when their
//! name, address, birth date or sex changes, and for other reasons on loss, renewal, death or
//! request; the user-identification certificate (the login) is untouched by a change of facts.
//! So:
//!
//! - when a person links a Service ID, the platform asks J-LIS which signature certificate they
//!   hold (its signature-certificate status service) and notes its serial with the link;
//! - a periodic **sweep** reads the signature CA's CRLs and, for every revoked entry (any reason
//!   but removeFromCRL, which lifts a hold), looks its serial up among the noted ones — an
//!   indexed look-up per revoked serial, not a query per linked person, which is what makes it
//!   national scale;
//! - a relying party may also **check** one linked person on demand, which asks J-LIS directly.
//!
//! Either way each relying party holding an active Service ID of that person gets one event —
//! `basic-facts-changed` for affiliationChanged, `signature-certificate-revoked` for any other
//! reason — with the reason as J-LIS gives it, and the person's log says who was told.
//!
//! After a change is told the person holds a new signature certificate, and after a renewal
//! the new card holds its own: the store marks them, and each sweep first learns them again
//! from J-LIS ([`Platform::renote_signature_certificates`]), so that every later change is
//! found too. Each signature CA's CRLs are read from where the last sweep stopped (a position
//! kept in the store): the deltas, and the complete CRL whenever the deltas move to a new base,
//! so that a revocation first published in a complete CRL is not missed (`mykey-server`'s J-LIS
//! port drives this).

use mykey_pki::{CaCertificate, Crl, IssuanceNumber, RevocationReason, UnixTime};
use serde_json::json;

use crate::{CrlSweepPosition, CustomerId, NewLog, Platform, PlatformError, RelyingParty};

/// A signature certificate J-LIS revoked, as a CRL or its status service tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureRevoked {
    /// The certificate's serial.
    pub serial: IssuanceNumber,
    /// When J-LIS revoked it.
    pub revoked_at: UnixTime,
    /// Why, as J-LIS gives it (`None`: no reason code, which RFC 5280 reads as unspecified).
    pub reason: Option<RevocationReason>,
}

impl SignatureRevoked {
    /// Whether this revocation is a change of the four facts (the rest end the certificate
    /// for other reasons: a lost card, a renewal, a death, a request).
    pub fn facts_changed(&self) -> bool {
        self.reason == Some(RevocationReason::AffiliationChanged)
    }

    /// The reason as J-LIS gives it: its RFC 5280 name, and `unspecified` for an entry without
    /// a reason code (RFC 5280 §5.3.1).
    pub fn reason_name(&self) -> &'static str {
        self.reason.map_or("unspecified", RevocationReason::name)
    }
}

/// What a sweep found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FactsSweep {
    /// Revoked entries in the CRL (removeFromCRL ones aside).
    pub revoked: u64,
    /// Of those, people the platform had noted (and not already told about).
    pub people: u64,
    /// Events queued for relying parties.
    pub events: u64,
}

impl std::ops::AddAssign for FactsSweep {
    fn add_assign(&mut self, other: Self) {
        self.revoked += other.revoked;
        self.people += other.people;
        self.events += other.events;
    }
}

impl Platform {
    /// Sweeps one signature-CA CRL (complete or delta), checked against `ca` first. Entries seen
    /// in an earlier sweep are not told again.
    pub async fn sweep_signature_crl(
        &self,
        crl: &Crl,
        ca: &CaCertificate,
    ) -> Result<FactsSweep, PlatformError> {
        let now = self.clock.now();
        crl.verify(ca, now)?;
        let mut revoked = Vec::new();
        for entry in crl.entries() {
            let entry = entry?;
            if entry.reason != Some(RevocationReason::RemoveFromCrl) {
                revoked.push(SignatureRevoked {
                    serial: entry.serial,
                    revoked_at: entry.revoked_at,
                    reason: entry.reason,
                });
            }
        }
        let mut sweep = self.store.facts_changed(&revoked, now).await?;
        sweep.revoked = revoked.len() as u64;
        Ok(sweep)
    }

    /// Learns again from J-LIS the signature certificate of at most `limit` people, from after
    /// `after`, whose noted one was told revoked or whose card was renewed (each query in their
    /// log). Where J-LIS shows the renewed card's own certificate already revoked, that is told
    /// now, as a sweep would have. Answers how many were
    /// looked at and the last of them (the cursor of the next batch).
    pub async fn renote_signature_certificates(
        &self,
        after: Option<crate::PersonId>,
        limit: usize,
    ) -> Result<(usize, Option<crate::PersonId>), PlatformError> {
        let due = self
            .store
            .signature_certificates_to_renote(after, limit)
            .await?;
        for d in &due {
            match self.renote(d).await {
                Ok(()) => {}
                // J-LIS unreachable: the same; the others are still tried.
                Err(PlatformError::JlisUnavailable(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((due.len(), due.last().map(|d| d.person)))
    }

    /// Brings one person's noted signature certificate up to date (see
    /// [`Platform::renote_signature_certificates`]). When J-LIS names no current one yet
    /// (between a change and the new certificate's issue) the person stays due, to be asked
    /// about again at the next pass.
    async fn renote(&self, d: &crate::DueSignature) -> Result<(), PlatformError> {
        let status = self.jlis.signature_certificate_status(d.number).await?;
        let now = self.clock.now();
        if d.renewed
            && let Some((paired, Some(reason))) = status.paired
            && reason != RevocationReason::RemoveFromCrl
            && paired != d.noted
        {
            let log = signature_query(true, "the facts-change sweep");
            self.store
                .note_signature_certificate(d.person, Some(paired), now, &log)
                .await?;
            let revoked = SignatureRevoked {
                serial: paired,
                revoked_at: now,
                reason: Some(reason),
            };
            self.store.facts_changed(&[revoked], now).await?;
        }
        let Some(current) = status.current else {
            return Ok(());
        };
        let log = signature_query(true, "the facts-change sweep");
        self.store
            .note_signature_certificate(d.person, Some(current), now, &log)
            .await?;
        Ok(())
    }

    /// How far the CRLs of the signature CA `ca` were swept (none yet: `None`).
    pub async fn crl_sweep_position(
        &self,
        ca: &CaCertificate,
    ) -> Result<Option<CrlSweepPosition>, PlatformError> {
        Ok(self.store.crl_sweep_position(ca.key_id()).await?)
    }

    /// Records how far the CRLs of the signature CA `ca` were swept.
    pub async fn set_crl_sweep_position(
        &self,
        ca: &CaCertificate,
        position: CrlSweepPosition,
    ) -> Result<(), PlatformError> {
        Ok(self
            .store
            .set_crl_sweep_position(ca.key_id(), position, self.clock.now())
            .await?)
    }

    /// A relying party checks whether the four facts of the person behind its link of
    /// `customer_id` changed since they linked: J-LIS is asked (the person's log records it),
    /// and a revocation of the noted certificate, for whatever reason, is told as an event as a
    /// sweep would. Answers the revocation it found, if any ([`SignatureRevoked::facts_changed`]
    /// says whether the facts changed).
    pub async fn check_facts(
        &self,
        rp: &RelyingParty,
        customer_id: &CustomerId,
    ) -> Result<Option<SignatureRevoked>, PlatformError> {
        let (person, number) = self
            .store
            .linked_person(rp.id, customer_id)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::ServiceId))?;
        self.facts_checks
            .take(rp.id, customer_id.as_str(), self.clock.now())?;
        let status = self.jlis.signature_certificate_status(number).await?;
        let now = self.clock.now();
        let log = signature_query(status.current.is_some(), &rp.name);
        let noted = self.store.noted_signature_certificate(person).await?;
        // What J-LIS says of the noted certificate: revoked (and why), or gone unexplained.
        let revoked = match noted {
            // Nothing noted (or its end already told): the newest is noted from now on.
            None => None,
            // The usual case: the certificate issued with the card, revoked or not.
            Some(noted) if status.paired.is_some_and(|(p, _)| p == noted) => status
                .paired
                .and_then(|(_, r)| r)
                .filter(|r| *r != RevocationReason::RemoveFromCrl)
                .map(|reason| SignatureRevoked {
                    serial: noted,
                    revoked_at: now,
                    reason: Some(reason),
                }),
            // A later certificate that is no longer the newest: J-LIS does not say why it went,
            // so it is told as a change — the relying party asks the person again, the safe side.
            Some(noted) if status.current != Some(noted) => Some(SignatureRevoked {
                serial: noted,
                revoked_at: now,
                reason: Some(RevocationReason::AffiliationChanged),
            }),
            Some(_) => None,
        };
        if let Some(revoked) = revoked {
            self.store.facts_changed(&[revoked], now).await?;
        }
        self.store
            .note_signature_certificate(person, status.current, now, &log)
            .await?;
        Ok(revoked)
    }
}

/// The person's log entry for a query of J-LIS's signature-certificate status service.
pub(crate) fn signature_query(found: bool, asked_for: &str) -> NewLog {
    NewLog::new(
        crate::LogKind::JlisQuery,
        json!({
            "service": "signature-certificate-status",
            "found": found,
            "for": asked_for,
        }),
    )
}
