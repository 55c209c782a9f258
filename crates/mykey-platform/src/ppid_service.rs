//! PPID services and PPIDs (Terms Art 19–20, docs/architecture.md §6). A relying party registers its
//! services; a person obtains their PPID for one by authenticating with the card for that
//! relying party and consenting, once per service, to the six matters of Art 20.1 under the
//! terms in force. The PPID is derived ([`crate::PpidKey`]) the first time and stored, so a later
//! rotation of the key never changes an issued PPID; every issue and use lands in the person's
//! log. The person's client receives the PPID and a one-time code, which the relying party
//! redeems with its own credentials to learn the PPID from the platform rather than from the
//! person's device. The relying party may associate its customer ID with a PPID (Art 20.1.3).
//!
//! A consent stays valid when a later terms version comes into force (Art 12.3: using the
//! platform after an amendment is agreement to it); a withdrawn one must be given anew, under
//! the version in force then. Withdrawing leaves the stored PPID: a new consent brings the same
//! PPID back, and the relying party keeps the PPIDs (and customer-ID associations) it holds.
//!
//! PPIDs hang on the internal person ID, which renewal continuity carries to a renewed card
//! (Art 20.1.5–6), so they are stable across renewals. They do not use the My Key ID: Art 15.3
//! ends "the functions of the System that use the My Key ID" when it is revoked, and Art 20
//! ties a PPID to the issuance number (20.1.2), not to the My Key ID — so a person needs no My
//! Key ID for PPIDs, and revoking it leaves their PPIDs and consents as they are.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use mykey_pki::UnixTime;
use serde_json::json;

use crate::{
    CardAnswer, Challenge, ChallengePurpose, Consent, ConsentItem, CustomerId, NewConsent, NewLog,
    Platform, PlatformError, Ppid, PpidServiceId, RelyingParty, RelyingPartyKind,
    RelyingPartyStatus, Session,
};

/// The matters of Art 20.1, all required before a person's first PPID for a service.
pub const PPID_CONSENT: [ConsentItem; 6] = [
    ConsentItem {
        name: "ppid.certificate-to-platform",
        text: "Your user-identification certificate is sent to the platform through this PPID service's system (Art 20.1.1).",
    },
    ConsentItem {
        name: "ppid.managed-with-issuance-number",
        text: "The platform manages you as a user of this PPID service by associating your PPID with the issuance number of your user-identification certificate (Art 20.1.2).",
    },
    ConsentItem {
        name: "ppid.customer-id-association",
        text: "This relying party may manage your PPID by associating it with its customer ID or another number it gives you (Art 20.1.3).",
    },
    ConsentItem {
        name: "ppid.validity-check",
        text: "To confirm that your user-identification certificate is valid, the platform sends its issuance number to J-LIS (Art 20.1.4).",
    },
    ConsentItem {
        name: "ppid.previous-issuance-numbers",
        text: "When you renew your card, the platform may use the old issuance number so that you keep using the account made before the renewal (Art 20.1.5).",
    },
    ConsentItem {
        name: "ppid.jlis-previous-number-search",
        text: "For that, J-LIS searches the old issuance number from the one sent to it and, if there is one, sends it to the platform (Art 20.1.6).",
    },
];

/// A relying party's PPID service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PpidService {
    /// Its ID.
    pub id: PpidServiceId,
    /// The relying party it belongs to (as it is now).
    pub relying_party: RelyingParty,
    /// Its name, shown to people.
    pub name: String,
    /// When it was registered.
    pub created_at: UnixTime,
}

/// A PPID as its relying party sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePpid {
    /// The PPID.
    pub ppid: Ppid,
    /// The relying party's customer ID associated with it (Art 20.1.3), if any.
    pub customer_id: Option<CustomerId>,
    /// When it was first issued.
    pub issued_at: UnixTime,
}

/// A PPID service as the person sees it: their PPID (once issued) and their consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonPpidService {
    /// The service's ID (the person withdraws by it).
    pub id: PpidServiceId,
    /// The service's name.
    pub name: String,
    /// The relying party's name.
    pub relying_party: String,
    /// Its kind.
    pub relying_party_kind: RelyingPartyKind,
    /// Where the person turns to it.
    pub relying_party_profile: Option<crate::RelyingPartyProfile>,
    /// The person's PPID for it and when it was issued, once issued.
    pub ppid: Option<(Ppid, UnixTime)>,
    /// The latest consent, with when it was withdrawn (if it was).
    pub consent: Option<(Consent, Option<UnixTime>)>,
}

/// A one-time code the relying party redeems for the PPID: 256 random bits, base64url. Only its
/// SHA-256 is stored; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct PpidCode(String);

impl PpidCode {
    /// A fresh code.
    pub(crate) fn random(rng: &dyn crate::Rng) -> Self {
        Self(B64URL.encode(rng.bytes::<32>()))
    }

    /// The code text, for the person's client to pass to the relying party.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash under which a code is stored.
    pub fn hash(code: &str) -> [u8; 32] {
        crate::relying_party::sha256(code.as_bytes())
    }
}

impl fmt::Debug for PpidCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PpidCode(…)")
    }
}

/// What the store is asked to do when a person authenticates for a PPID service, in one
/// transaction.
#[derive(Debug)]
pub struct PpidIssue<'a> {
    /// The service.
    pub service: PpidServiceId,
    /// The person.
    pub person: crate::PersonId,
    /// The PPID derived now, stored only if the person has none for the service yet.
    pub derived: Ppid,
    /// A new consent to record; `None` when the person's active consent must already exist.
    pub consent: Option<&'a NewConsent>,
    /// What the authentication gives once the PPID is in hand.
    pub grant: LoginGrant<'a>,
    /// When.
    pub at: UnixTime,
    /// Entries to append first (J-LIS queries, the consent).
    pub logs: &'a [NewLog],
    /// The detail of the `ppid.issued` / `ppid.used` entry the store appends.
    pub detail: String,
}

/// What a card authentication for a relying party gives, in the same transaction as the PPID
/// or the Service ID it finds.
#[derive(Debug)]
pub enum LoginGrant<'a> {
    /// A one-time code for the relying party (the REST flow).
    Code {
        /// Its SHA-256.
        hash: [u8; 32],
        /// Until when it may be redeemed.
        expires_at: UnixTime,
    },
    /// The approval of a pending OpenID Connect authorization request; refused with
    /// [`Conflict::AuthorizationAnswered`](crate::Conflict::AuthorizationAnswered) (nothing written) unless it is still pending
    /// and in time.
    Authorization {
        /// SHA-256 of the request's handle.
        handle_hash: [u8; 32],
        /// The claims given (JSON object text).
        facts: &'a str,
        /// SHA-256 of the code the browser must type before it continues, when it must.
        confirm_hash: Option<[u8; 32]>,
    },
    /// A one-time code for the relying party with the four facts, answering an open PIN-less
    /// request (Art 20.2), which it uses up; refused with
    /// [`NotFound::PinlessRequest`](crate::NotFound::PinlessRequest) (nothing written) unless
    /// the request is still open.
    PinlessCode {
        /// SHA-256 of the request's handle.
        request_hash: [u8; 32],
        /// SHA-256 of the code.
        hash: [u8; 32],
        /// Until when it may be redeemed.
        expires_at: UnixTime,
        /// The claims given with the PPID (JSON object text).
        facts: &'a str,
    },
}

/// What the store answers to a [`PpidIssue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PpidIssued {
    /// The person's PPID for the service (the stored one if there was one).
    pub ppid: Ppid,
    /// Whether it was stored just now.
    pub first: bool,
}

/// What a person's PPID authentication answers.
#[derive(Debug)]
pub struct PpidAuthentication {
    /// The service.
    pub service: PpidService,
    /// The person's PPID for it.
    pub ppid: Ppid,
    /// Whether it was issued just now (else it was issued before and is being used).
    pub first: bool,
    /// The one-time code for the relying party.
    pub code: PpidCode,
    /// Until when the code may be redeemed.
    pub code_expires_at: UnixTime,
}

/// The `consent.given` entry of a consent to PPID service `s` for `function` (`ppid`, the
/// matters of Art 20.1; `pinless-facts`, those of Art 20.2).
pub(crate) fn consent_log(
    function: &str,
    s: &PpidService,
    items: &[impl serde::Serialize],
    terms_version: &str,
) -> NewLog {
    NewLog::new(
        crate::LogKind::ConsentGiven,
        json!({
            "function": function,
            "relying_party": s.relying_party.name,
            "ppid_service": s.name,
            "items": items,
            "terms_version": terms_version,
        }),
    )
}

/// What a challenge for PPID service `id` is bound to.
fn service_binding(id: PpidServiceId) -> [u8; 32] {
    crate::relying_party::sha256(format!("ppid-service:{}", id.get()).as_bytes())
}

impl Platform {
    /// Registers a PPID service of `rp` (Art 19).
    pub async fn register_ppid_service(
        &self,
        rp: &RelyingParty,
        name: &str,
    ) -> Result<PpidService, PlatformError> {
        self.refuse_after_termination().await?;
        self.public_authority_function(rp)?;
        let name = crate::names::display_name(name)?;
        Ok(self
            .store
            .insert_ppid_service(rp.id, &name, self.clock.now())
            .await?)
    }

    /// A relying party's own PPID services.
    pub async fn relying_party_ppid_services(
        &self,
        rp: &RelyingParty,
    ) -> Result<Vec<PpidService>, PlatformError> {
        self.public_authority_function(rp)?;
        Ok(self.store.ppid_services_of(rp.id).await?)
    }

    /// A PPID service, for anyone about to authenticate for it: its relying party must be
    /// approved.
    pub async fn ppid_service(&self, id: PpidServiceId) -> Result<PpidService, PlatformError> {
        let s = self
            .store
            .ppid_service(id)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::PpidService))?;
        if s.relying_party.status != RelyingPartyStatus::Approved {
            return Err(PlatformError::Access(
                crate::AccessError::RelyingPartyNotApproved,
            ));
        }
        self.public_authority_function(&s.relying_party)?;
        Ok(s)
    }

    /// `rp`'s own service `id`; another party's is unknown to it.
    pub(crate) async fn own_ppid_service(
        &self,
        rp: &RelyingParty,
        id: PpidServiceId,
    ) -> Result<PpidService, PlatformError> {
        self.public_authority_function(rp)?;
        self.store
            .ppid_service(id)
            .await?
            .filter(|s| s.relying_party.id == rp.id)
            .ok_or(PlatformError::NotFound(crate::NotFound::PpidService))
    }

    /// A card challenge for authenticating to PPID service `id`, bound to its relying party and
    /// to the service: an answer fetched for one service of the relying party serves no other.
    pub async fn ppid_challenge(&self, id: PpidServiceId) -> Result<Challenge, PlatformError> {
        let s = self.ppid_service(id).await?;
        self.bound_challenge(
            ChallengePurpose::Authorization,
            Some(s.relying_party.id),
            Some(&service_binding(id)),
        )
        .await
    }

    /// The person authenticates with the card for PPID service `id`. A person without an active
    /// consent for the service must give one naming exactly the Art 20.1 items under the terms
    /// in force (a person who has one may repeat it; it is not recorded twice). The card is
    /// checked as at login (renewals followed; a new card holder becomes a person). The PPID is
    /// derived and stored the first time, then reused; the consent, the issue or use, and the
    /// one-time code are stored in one transaction.
    pub async fn authenticate_for_ppid(
        &self,
        id: PpidServiceId,
        card: &CardAnswer<'_>,
        consent: Option<NewConsent>,
    ) -> Result<PpidAuthentication, PlatformError> {
        let key = self
            .ppid
            .as_ref()
            .ok_or(PlatformError::Access(crate::AccessError::PpidClosed))?;
        let s = self.ppid_service(id).await?;
        if let Some(c) = &consent {
            self.check_consent(c, &PPID_CONSENT).await?;
        }
        let now = self.clock.now();
        let proof = self
            .verify_card_once(
                card,
                ChallengePurpose::Authorization,
                Some(s.relying_party.id),
                Some(&service_binding(id)),
                now,
            )
            .await?;
        let mut logs = proof.logs;
        // Without a consent in hand, only a known person (with an active consent) can go on:
        // nobody is created for a card holder who is refused.
        let person = match &consent {
            Some(_) => Some(
                self.person_for(proof.issuance_number, proof.expires_at, now)
                    .await?,
            ),
            None => {
                self.known_person_for(proof.issuance_number, proof.expires_at, now)
                    .await?
            }
        }
        .ok_or(PlatformError::Invalid(
            crate::InvalidError::ConsentIncomplete,
        ))?;
        let active = self.store.ppid_consent(person, id).await?.is_some();
        let new_consent = match consent {
            Some(c) if !active => Some(c),
            Some(_) => None,
            None if active => None,
            None => {
                return Err(PlatformError::Invalid(
                    crate::InvalidError::ConsentIncomplete,
                ));
            }
        };
        if let Some(c) = &new_consent {
            logs.push(consent_log("ppid", &s, &c.items, &c.terms_version));
        }
        let code = PpidCode::random(&*self.rng);
        let code_expires_at = now.plus(self.config.ppid_code_ttl.as_secs());
        let issued = self
            .store
            .issue_ppid(&PpidIssue {
                service: id,
                person,
                derived: key.derive(id, person),
                consent: new_consent.as_ref(),
                grant: LoginGrant::Code {
                    hash: PpidCode::hash(code.as_str()),
                    expires_at: code_expires_at,
                },
                at: now,
                logs: &logs,
                detail: json!({"relying_party": s.relying_party.name, "ppid_service": s.name})
                    .to_string(),
            })
            .await??;
        Ok(PpidAuthentication {
            service: s,
            ppid: issued.ppid,
            first: issued.first,
            code,
            code_expires_at,
        })
    }

    /// The relying party redeems a one-time code of its service `id` for the PPID, and the
    /// four facts when the code answered a PIN-less request (Art 20.2; the claims object as
    /// JSON text); the person's log records what was given (`ppid.given`, `facts.given`).
    /// Unknown, used, expired and foreign codes get one answer.
    pub async fn redeem_ppid_code(
        &self,
        rp: &RelyingParty,
        id: PpidServiceId,
        code: &str,
    ) -> Result<(Ppid, Option<String>), PlatformError> {
        let s = self.own_ppid_service(rp, id).await?;
        let log = NewLog::new(
            crate::LogKind::PpidGiven,
            json!({"relying_party": s.relying_party.name, "ppid_service": s.name}),
        );
        let facts_log = NewLog::new(
            crate::LogKind::FactsGiven,
            json!({
                "relying_party": s.relying_party.name,
                "ppid_service": s.name,
                "items": crate::oidc::FactScope::ALL.map(|f| f.as_str()),
                "via": "pinless",
            }),
        );
        self.store
            .redeem_ppid_code(
                s.id,
                &PpidCode::hash(code),
                self.clock.now(),
                &log,
                &facts_log,
            )
            .await?
            .ok_or(PlatformError::Invalid(crate::InvalidError::PpidCode))
    }

    /// The relying party associates its customer ID with an issued PPID of its service `id`
    /// (Art 20.1.3); the person's log records it. Held to a quota per PPID and per relying
    /// party (`quota.rs`).
    pub async fn associate_customer_id(
        &self,
        rp: &RelyingParty,
        id: PpidServiceId,
        ppid: Ppid,
        customer_id: CustomerId,
    ) -> Result<ServicePpid, PlatformError> {
        let s = self.own_ppid_service(rp, id).await?;
        self.ppid_associations
            .take(rp.id, &ppid.to_string(), self.clock.now())?;
        let log = NewLog::new(
            crate::LogKind::PpidCustomerIdAssociated,
            json!({
                "relying_party": s.relying_party.name,
                "ppid_service": s.name,
                "customer_id": customer_id.as_str(),
            }),
        );
        self.store
            .set_ppid_customer_id(s.id, ppid, &customer_id, self.clock.now(), &log)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::Ppid))
    }

    /// The issued PPIDs of `rp`'s service `id` (only those associated with `customer_id`, when
    /// given).
    pub async fn service_ppids(
        &self,
        rp: &RelyingParty,
        id: PpidServiceId,
        customer_id: Option<&CustomerId>,
    ) -> Result<Vec<ServicePpid>, PlatformError> {
        let s = self.own_ppid_service(rp, id).await?;
        let ppids = self.store.service_ppids(s.id, customer_id).await?;
        if !ppids.is_empty() {
            // Each person read is told, once a day (`ReadOf`).
            let log = NewLog::new(
                crate::LogKind::PpidRead,
                json!({"relying_party": rp.name, "ppid_service": s.name}),
            );
            let of = crate::ReadOf::Ppids {
                service: s.id,
                customer_id,
            };
            self.store
                .log_reads(rp.id, of, self.clock.now(), &log)
                .await?;
        }
        Ok(ppids)
    }

    /// The person's PPID services: each with their PPID and their latest consent.
    pub async fn my_ppid_services(
        &self,
        s: &Session,
    ) -> Result<Vec<PersonPpidService>, PlatformError> {
        Ok(self.store.person_ppid_services(s.person).await?)
    }

    /// The person withdraws their consent for PPID service `id`: further authentications need
    /// a new consent; the PPID itself stays (a new consent brings the same one back).
    pub async fn withdraw_ppid_consent(
        &self,
        s: &Session,
        id: PpidServiceId,
    ) -> Result<(), PlatformError> {
        let service = self
            .store
            .ppid_service(id)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::PpidService))?;
        let log = NewLog::new(
            crate::LogKind::ConsentWithdrawn,
            json!({
                "function": "ppid",
                "relying_party": service.relying_party.name,
                "ppid_service": service.name,
            }),
        );
        if self
            .store
            .withdraw_ppid_consent(s.person, id, self.clock.now(), &log)
            .await?
        {
            Ok(())
        } else {
            Err(PlatformError::NotFound(crate::NotFound::PpidService))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consent_items_are_the_six_of_art_20_1_and_codes_are_hidden() {
        assert_eq!(PPID_CONSENT.len(), 6);
        for (i, item) in PPID_CONSENT.iter().enumerate() {
            assert!(item.name.starts_with("ppid."));
            assert!(
                item.text.contains(&format!("Art 20.1.{}", i + 1)),
                "{item:?}"
            );
        }
        let c = PpidCode(B64URL.encode((&crate::SystemRng as &dyn crate::Rng).bytes::<32>()));
        assert_eq!(format!("{c:?}"), "PpidCode(…)");
        assert_eq!(c.as_str().len(), 43);
    }
}
