//! The phone's side of a cross-device login: what the request asks, a challenge bound to the
//! relying party, and the card holder's answer. Approving checks the card as at login, takes the
//! consent — the six matters of Art 20.1 where the person has none for the service yet, and one
//! item for each fact asked, every time — and, in one transaction, records the consent, issues
//! or uses the PPID, logs the login and the facts' consent, and marks the request approved.
//!
//! The facts asked for come from the card's signature certificate, never from what the phone
//! states: see [`Platform::vouched_facts`].

use std::net::IpAddr;

use mykey_pki::{FourFacts, IssuanceNumber, SignatureCertificate, UnixTime};
use serde_json::json;

use super::authorize::{handle_hash, normalise_short_code};
use super::confirm::new_code;
use super::{
    Authorization, AuthorizationReport, AuthorizationStatus, BrowserOrigin, FactScope, OidcClient,
    OidcSubject,
};
use crate::{
    CardAnswer, Challenge, ChallengePurpose, ConsentItem, LinkRequest, LoginGrant, NewConsent,
    NewLog, PPID_CONSENT, Platform, PlatformError, PpidIssue, PpidService, RelyingParty,
    SERVICE_ID_CONSENT,
};

/// What the phone shows before the card is read.
#[derive(Debug)]
pub struct AuthorizationView {
    /// The short code the browser shows (for the person to compare).
    pub short_code: String,
    /// Who asks (`None`: the person's own portal).
    pub relying_party: Option<RelyingParty>,
    /// For which of its PPID services (`None`: a login by Service ID, or the portal).
    pub service: Option<PpidService>,
    /// The Service ID offered with a login by Service ID: the relying party's link request.
    pub link: Option<LinkRequest>,
    /// The facts asked for.
    pub facts: Vec<FactScope>,
    /// What the person consents to by approving (items of the Art 20.1 consent are recorded
    /// only the first time; a login by Service ID asks the Art 17.2 items only with a link
    /// offered).
    pub consent_items: Vec<ConsentItem>,
    /// The terms version in force, which the consent names.
    pub terms_version: String,
    /// Until when it may be answered.
    pub expires_at: UnixTime,
    /// When the browser began it.
    pub began_at: UnixTime,
    /// Where that browser is.
    pub began: BrowserOrigin,
    /// Whether, once approved, the browser must type a code the phone shows (`confirm.rs`).
    pub confirm_in_browser: bool,
}

/// The phone's approval went through.
#[derive(Debug)]
pub struct Approved {
    /// The code to type into the browser that began the request, where one is awaited
    /// (`confirm.rs`): shown to the person on the phone, never to anyone else.
    pub confirmation_code: Option<String>,
}

/// Whether approving `a`, found by short code or not, asks the browser for the phone's code.
fn needs_confirmation(a: &Authorization, by_short_code: bool) -> bool {
    a.request.relying_party.is_none() || by_short_code
}

fn facts_of(a: &Authorization) -> Vec<FactScope> {
    a.request
        .scope
        .split(' ')
        .filter_map(FactScope::parse)
        .collect()
}

impl Platform {
    /// The pending request behind a handle (from the QR code) or a typed short code, and
    /// whether it was found by the short code; `from`, where the lookup comes from, for the
    /// short-code budget (`guard.rs`).
    async fn pending_authorization(
        &self,
        handle_or_code: &str,
        from: Option<IpAddr>,
    ) -> Result<(Authorization, bool), PlatformError> {
        let by_handle = self
            .store
            .authorization(&handle_hash(handle_or_code))
            .await?;
        let (a, by_short_code) = match by_handle {
            Some(a) => (a, false),
            None => match normalise_short_code(handle_or_code) {
                Some(code) => {
                    self.short_codes.check(from, self.clock.now())?;
                    match self.store.authorization_by_short_code(&code).await? {
                        Some(a) => (a, true),
                        None => {
                            self.short_codes.miss(from, self.clock.now());
                            return Err(PlatformError::NotFound(crate::NotFound::Authorization));
                        }
                    }
                }
                None => return Err(PlatformError::NotFound(crate::NotFound::Authorization)),
            },
        };
        if a.status != AuthorizationStatus::Pending {
            return Err(PlatformError::Conflict(
                crate::Conflict::AuthorizationAnswered,
            ));
        }
        if self.clock.now() > a.request.expires_at {
            return Err(PlatformError::Conflict(
                crate::Conflict::AuthorizationExpired,
            ));
        }
        Ok((a, by_short_code))
    }

    /// The relying party asking and its client registration.
    async fn authorization_client(
        &self,
        a: &Authorization,
    ) -> Result<(RelyingParty, OidcClient), PlatformError> {
        let rp = a
            .request
            .relying_party
            .ok_or(PlatformError::NotFound(crate::NotFound::Authorization))?;
        let client = self
            .store
            .oidc_client(rp)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::OidcClient))?;
        let rp = self
            .store
            .relying_party(rp)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::OidcClient))?;
        if rp.status != crate::RelyingPartyStatus::Approved {
            return Err(PlatformError::Access(
                crate::AccessError::RelyingPartyNotApproved,
            ));
        }
        Ok((rp, client))
    }

    /// What the request behind a handle or short code asks.
    pub async fn authorization_view(
        &self,
        handle_or_code: &str,
        from: Option<IpAddr>,
    ) -> Result<AuthorizationView, PlatformError> {
        let (a, by_short_code) = self.pending_authorization(handle_or_code, from).await?;
        let confirm_in_browser = needs_confirmation(&a, by_short_code);
        let facts = facts_of(&a);
        let (mut relying_party, mut service, mut link) = (None, None, None);
        let mut consent_items = Vec::new();
        // The person's own portal has nothing to consent to.
        if a.request.relying_party.is_some() {
            let (rp, client) = self.authorization_client(&a).await?;
            match client.subject {
                OidcSubject::Ppid(id) => {
                    service = Some(self.ppid_service(id).await?);
                    consent_items.extend(PPID_CONSENT);
                }
                OidcSubject::ServiceId => {
                    if let Some(id) = a.request.link_request {
                        link = Some(self.offered_link(&rp, id).await?);
                        consent_items.extend(SERVICE_ID_CONSENT);
                    }
                }
            }
            consent_items.extend(facts.iter().map(|f| f.consent_item()));
            relying_party = Some(rp);
        }
        Ok(AuthorizationView {
            short_code: a.request.short_code,
            relying_party,
            service,
            link,
            facts,
            consent_items,
            terms_version: self.terms_version().await?,
            expires_at: a.request.expires_at,
            began_at: a.request.created_at,
            confirm_in_browser,
            began: a.request.began,
        })
    }

    /// A card challenge for answering the request (bound to its relying party).
    pub async fn authorization_challenge(
        &self,
        handle: &str,
        from: Option<IpAddr>,
    ) -> Result<Challenge, PlatformError> {
        let (a, _) = self.pending_authorization(handle, from).await?;
        let purpose = match a.request.relying_party {
            Some(_) => ChallengePurpose::Authorization,
            None => ChallengePurpose::Login,
        };
        self.bound_challenge(
            purpose,
            a.request.relying_party,
            Some(&a.request.handle_hash),
        )
        .await
    }

    /// The card holder approves: see the module docs. `consent` must name every item of
    /// [`AuthorizationView::consent_items`] under the terms in force; `signature_certificate`
    /// is the card's signature certificate (DER) when facts are asked for, and absent when none
    /// are.
    pub async fn approve_authorization(
        &self,
        handle: &str,
        from: Option<IpAddr>,
        card: &CardAnswer<'_>,
        consent: &NewConsent,
        signature_certificate: Option<&[u8]>,
    ) -> Result<Approved, PlatformError> {
        let (a, by_short_code) = self.pending_authorization(handle, from).await?;
        if a.request.relying_party.is_none() {
            if signature_certificate.is_some() {
                return Err(PlatformError::Invalid(crate::InvalidError::Facts(
                    "no facts are asked for: send no signature certificate",
                )));
            }
            let code = self
                .approve_portal_login(&a.request.handle_hash, card, consent)
                .await?;
            self.answers.tell(&a.request.handle_hash);
            return Ok(Approved {
                confirmation_code: Some(code),
            });
        }
        let (rp, client) = self.authorization_client(&a).await?;
        let OidcSubject::Ppid(service) = client.subject else {
            return self
                .approve_service_id_login(
                    &a,
                    by_short_code,
                    rp,
                    card,
                    consent,
                    signature_certificate,
                )
                .await;
        };
        let key = self
            .ppid
            .as_ref()
            .ok_or(PlatformError::Access(crate::AccessError::PpidClosed))?;
        let service = self.ppid_service(service).await?;
        let asked = facts_of(&a);
        let mut wanted = PPID_CONSENT.to_vec();
        wanted.extend(asked.iter().map(|f| f.consent_item()));
        self.check_consent(consent, &wanted).await?;
        let now = self.clock.now();
        let certificate = self.facts_certificate(&asked, signature_certificate, now)?;
        let proof = self
            .verify_card_once(
                card,
                ChallengePurpose::Authorization,
                Some(service.relying_party.id),
                Some(&a.request.handle_hash),
                now,
            )
            .await?;
        let person = self
            .person_for(proof.issuance_number, proof.expires_at, now)
            .await?;
        let mut logs = proof.logs;
        let claims = match &certificate {
            None => "{}".to_owned(),
            Some(cert) => {
                let facts = self
                    .vouched_facts(
                        cert,
                        proof.issuance_number,
                        &service.relying_party,
                        &mut logs,
                    )
                    .await?;
                super::claims::claims(facts, &asked)
            }
        };
        let ppid_items: Vec<String> = PPID_CONSENT.iter().map(|i| i.name.to_owned()).collect();
        let ppid_consent = NewConsent {
            items: ppid_items,
            terms_version: consent.terms_version.clone(),
        };
        let (confirmation_code, confirm_hash) = if needs_confirmation(&a, by_short_code) {
            let (code, hash) = new_code(&*self.rng, &a.request.handle_hash);
            (Some(code), Some(hash))
        } else {
            (None, None)
        };
        let first_consent = self.store.ppid_consent(person, service.id).await?.is_none();
        if first_consent {
            logs.push(crate::ppid_service::consent_log(
                "ppid",
                &service,
                &ppid_consent.items,
                &ppid_consent.terms_version,
            ));
        }
        if !asked.is_empty() {
            logs.push(NewLog::new(
                crate::LogKind::ConsentGiven,
                json!({
                    "function": "facts",
                    "relying_party": service.relying_party.name,
                    "items": asked.iter().map(|f| f.consent_item().name).collect::<Vec<_>>(),
                    "terms_version": consent.terms_version,
                }),
            ));
        }
        logs.push(NewLog::new(
            crate::LogKind::Login,
            json!({
                "purpose": "openid-connect",
                "relying_party": service.relying_party.name,
                "ppid_service": service.name,
                "scope": a.request.scope,
            }),
        ));
        self.store
            .issue_ppid(&PpidIssue {
                service: service.id,
                person,
                derived: key.derive(service.id, person),
                consent: first_consent.then_some(&ppid_consent),
                grant: LoginGrant::Authorization {
                    handle_hash: a.request.handle_hash,
                    facts: &claims,
                    confirm_hash,
                },
                at: now,
                logs: &logs,
                detail: json!({
                    "relying_party": service.relying_party.name,
                    "ppid_service": service.name,
                })
                .to_string(),
            })
            .await??;
        self.answers.tell(&a.request.handle_hash);
        Ok(Approved { confirmation_code })
    }

    /// The signature certificate sent for the facts `asked` (one must come when some are asked,
    /// none when none are), checked as [`Platform::signature_certificate`] does.
    fn facts_certificate(
        &self,
        asked: &[FactScope],
        sent: Option<&[u8]>,
        now: UnixTime,
    ) -> Result<Option<SignatureCertificate>, PlatformError> {
        match (asked.is_empty(), sent) {
            (true, None) => Ok(None),
            (true, Some(_)) => Err(PlatformError::Invalid(crate::InvalidError::Facts(
                "no facts are asked for: send no signature certificate",
            ))),
            (false, None) => Err(PlatformError::Invalid(crate::InvalidError::Facts(
                "the facts asked for need the card's signature certificate",
            ))),
            (false, Some(der)) => Ok(Some(self.signature_certificate(der, now)?)),
        }
    }

    /// A login by Service ID approved on the phone (`service_id_login.rs`): the consent names
    /// the Art 17.2 items when a link is offered and one item per fact asked; the card is
    /// checked, the facts vouched for, and the link, the login and the approval written in one
    /// transaction. A card holder without a Service ID there, and with none offered, is refused
    /// (`service-id-required`) and the request declined, so that the browser goes back to the
    /// relying party (`access_denied`) instead of waiting.
    async fn approve_service_id_login(
        &self,
        a: &Authorization,
        by_short_code: bool,
        rp: RelyingParty,
        card: &CardAnswer<'_>,
        consent: &NewConsent,
        signature_certificate: Option<&[u8]>,
    ) -> Result<Approved, PlatformError> {
        let link = match a.request.link_request {
            Some(id) => Some(self.offered_link(&rp, id).await?),
            None => None,
        };
        let asked = facts_of(a);
        if !asked.is_empty() {
            self.public_authority_function(&rp)?;
        }
        let mut wanted = Vec::new();
        if link.is_some() {
            wanted.extend(SERVICE_ID_CONSENT);
        }
        wanted.extend(asked.iter().map(|f| f.consent_item()));
        self.check_consent(consent, &wanted).await?;
        let now = self.clock.now();
        let certificate = self.facts_certificate(&asked, signature_certificate, now)?;
        let mut proof = self
            .verify_card_once(
                card,
                ChallengePurpose::Authorization,
                Some(rp.id),
                Some(&a.request.handle_hash),
                now,
            )
            .await?;
        let claims = match &certificate {
            None => "{}".to_owned(),
            Some(cert) => {
                let n = proof.issuance_number;
                let facts = self.vouched_facts(cert, n, &rp, &mut proof.logs).await?;
                proof.logs.push(NewLog::new(
                    crate::LogKind::ConsentGiven,
                    json!({
                        "function": "facts",
                        "relying_party": rp.name,
                        "items": asked.iter().map(|f| f.consent_item().name).collect::<Vec<_>>(),
                        "terms_version": consent.terms_version,
                    }),
                ));
                super::claims::claims(facts, &asked)
            }
        };
        let (confirmation_code, confirm_hash) = if needs_confirmation(a, by_short_code) {
            let (code, hash) = new_code(&*self.rng, &a.request.handle_hash);
            (Some(code), Some(hash))
        } else {
            (None, None)
        };
        let link_consent = NewConsent {
            items: SERVICE_ID_CONSENT
                .iter()
                .map(|i| i.name.to_owned())
                .collect(),
            terms_version: consent.terms_version.clone(),
        };
        let detail = json!({
            "purpose": "service-id-login",
            "via": "openid-connect",
            "relying_party": rp.name,
            "scope": a.request.scope,
        });
        let grant = LoginGrant::Authorization {
            handle_hash: a.request.handle_hash,
            facts: &claims,
            confirm_hash,
        };
        let offered = link.map(|r| (r, &link_consent));
        match self
            .log_in_by_service_id(&rp, proof, offered, grant, detail, now)
            .await
        {
            Ok(_) => {}
            Err(PlatformError::Conflict(crate::Conflict::ServiceIdRequired)) => {
                self.store
                    .decline_authorization(&a.request.handle_hash, now, None)
                    .await?;
                self.answers.tell(&a.request.handle_hash);
                return Err(PlatformError::Conflict(crate::Conflict::ServiceIdRequired));
            }
            Err(e) => return Err(e),
        }
        self.answers.tell(&a.request.handle_hash);
        Ok(Approved { confirmation_code })
    }

    /// A signature certificate sent for the facts, parsed and on a path to J-LIS's signature CA
    /// at `now` (before the card's answer is checked, which spends the challenge).
    fn signature_certificate(
        &self,
        der: &[u8],
        now: UnixTime,
    ) -> Result<SignatureCertificate, PlatformError> {
        let cert = SignatureCertificate::from_der(der).map_err(|_| {
            PlatformError::Invalid(crate::InvalidError::Facts(
                "signature_certificate is not a JPKI signature certificate",
            ))
        })?;
        self.certificates
            .anchors()
            .validate_signature(&cert, now)
            .map_err(|_| {
                PlatformError::Invalid(crate::InvalidError::Facts(
                    "the signature certificate is not J-LIS's or not valid now",
                ))
            })?;
        Ok(cert)
    }

    /// The four facts of `cert` (already on a path to J-LIS's signature CA), once J-LIS says
    /// it is the current, unrevoked signature certificate of the person whose card signed with
    /// the user-identification certificate `number`: a holder cannot pass off another
    /// person's certificate, nor one revoked since the facts changed. The query is logged.
    async fn vouched_facts<'c>(
        &self,
        cert: &'c SignatureCertificate,
        number: IssuanceNumber,
        asked_by: &RelyingParty,
        logs: &mut Vec<NewLog>,
    ) -> Result<&'c FourFacts, PlatformError> {
        let status = self.jlis.signature_certificate_status(number).await?;
        if status.current != Some(cert.serial_number()) {
            return Err(PlatformError::Invalid(crate::InvalidError::Facts(
                "the signature certificate is not the valid one J-LIS holds for this card",
            )));
        }
        logs.push(crate::signature_query(true, &asked_by.name));
        Ok(cert.facts())
    }

    /// The card holder declines (no card needed: declining gives nothing away); with `report`,
    /// says the request is not theirs (someone asked them to approve it, or it appeared
    /// unasked), recorded for the operator with where the browser was (`mykey admin reports`),
    /// within a quota per source address and in all (`quota.rs`).
    pub async fn decline_authorization(
        &self,
        handle: &str,
        from: Option<IpAddr>,
        report: bool,
    ) -> Result<(), PlatformError> {
        let (a, by_short_code) = self.pending_authorization(handle, from).await?;
        let now = self.clock.now();
        let source = BrowserOrigin::new(from, None).address;
        if report {
            // Anyone may start a request and report it, so reports are held to a quota per
            // source address (three, then one every ten minutes) and in all (100, then one a
            // second): over it, 429 and nothing written.
            let key = source.as_deref().unwrap_or_default();
            self.reports.take(crate::RelyingPartyId::new(0), key, now)?;
        }
        let report = report.then(|| AuthorizationReport {
            id: 0,
            reported_at: now,
            relying_party: a.request.relying_party,
            purpose: match a.request.relying_party {
                Some(_) => "openid-connect",
                None => "portal",
            }
            .to_owned(),
            began_at: a.request.created_at,
            began: a.request.began.clone(),
            by_short_code,
            reported_from: source,
        });
        if self
            .store
            .decline_authorization(&a.request.handle_hash, now, report.as_ref())
            .await?
        {
            self.answers.tell(&a.request.handle_hash);
            Ok(())
        } else {
            Err(PlatformError::Conflict(
                crate::Conflict::AuthorizationAnswered,
            ))
        }
    }
}

/// Most reports one listing answers.
pub const MAX_REPORT_PAGE: u32 = 500;

impl Platform {
    /// Cross-device requests reported as not the person's own, after row `after`, oldest first
    /// (the operator's listing; at most [`MAX_REPORT_PAGE`]).
    pub async fn authorization_reports(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuthorizationReport>, PlatformError> {
        Ok(self
            .store
            .authorization_reports(after, limit.clamp(1, MAX_REPORT_PAGE))
            .await?)
    }
}
