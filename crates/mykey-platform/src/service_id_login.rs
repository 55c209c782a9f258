//! Logging in by Service ID (Terms Art 2.13, 17): a Service ID "can be authenticated by the My
//! Number Card", so a relying party that has linked a customer ID logs that customer in with the
//! card and learns which of its customer IDs it is — never a PPID, a My Key ID or an issuance
//! number. Two ways, one core ([`Platform::log_in_by_service_id`]):
//!
//! ```text
//! OpenID Connect  a client registered for Service-ID subjects (`OidcSubject::ServiceId`): the
//!                 cross-device login of `oidc/`, whose `sub` is the customer ID
//! REST            the person's client (a counter terminal, a kiosk, an app):
//!                   POST /v1/service-id-logins/{client_id}/challenges
//!                   POST /v1/service-id-logins/{client_id}/authentications ──► a one-time code
//!                 the relying party's back office, with its own credentials:
//!                   POST /v1/rp/service-id-logins/{code} ──► the customer ID
//! ```
//!
//! A person with no Service ID at the relying party yet is offered one in the same flow: the
//! relying party names a link request it opened (`link_request`), the person sees its customer
//! ID and the three matters of Art 17.2 beside the login, and one card answer links and logs in,
//! in one transaction. Without one, the login is refused (`service-id-required`) and nothing is
//! written. Where a person has several Service IDs at one relying party, the login is by the
//! most recently linked one (a link request named in the flow chooses its own).

use mykey_pki::{IssuanceNumber, UnixTime};
use serde_json::json;

use crate::{
    CardAnswer, Challenge, ChallengePurpose, CustomerId, LinkRequest, LinkRequestId, LoginGrant,
    NewConsent, NewLog, PersonId, Platform, PlatformError, PpidCode, RelyingParty, RelyingPartyId,
    RelyingPartyStatus, SERVICE_ID_CONSENT,
};

/// A Service ID offered in the same flow as the login: the relying party's open link request
/// and the person's consent to the matters of Art 17.2.
#[derive(Debug)]
pub struct LinkInFlow<'a> {
    /// The link request.
    pub request: LinkRequestId,
    /// The consent given.
    pub consent: &'a NewConsent,
    /// The signature certificate J-LIS holds for the card now, noted for the facts-change
    /// sweep (Art 17.2.2).
    pub signature: Option<IssuanceNumber>,
}

/// What the store is asked to do, in one transaction, when a person logs in by Service ID.
#[derive(Debug)]
pub struct ServiceIdLogin<'a> {
    /// The relying party.
    pub relying_party: RelyingPartyId,
    /// The person the card is.
    pub person: PersonId,
    /// The link to make first, if one is offered in the flow.
    pub link: Option<LinkInFlow<'a>>,
    /// What the login gives.
    pub grant: LoginGrant<'a>,
    /// When.
    pub at: UnixTime,
    /// Entries to append first (J-LIS queries, the consent, the link).
    pub logs: &'a [NewLog],
    /// The `login` entry's detail (a JSON object), to which the store adds the customer ID.
    pub detail: serde_json::Value,
}

/// What a person's REST login by Service ID answers.
#[derive(Debug)]
pub struct ServiceIdAuthentication {
    /// The relying party.
    pub relying_party: RelyingParty,
    /// The customer ID the person logged in as.
    pub customer_id: CustomerId,
    /// Whether the Service ID was linked in this flow.
    pub linked: bool,
    /// The one-time code for the relying party.
    pub code: PpidCode,
    /// Until when it may be redeemed.
    pub code_expires_at: UnixTime,
}

/// What a challenge for a REST login by Service ID at `rp` is bound to (with the link request
/// offered, if any: an answer fetched for a plain login links nothing, and the other way round).
fn login_binding(rp: RelyingPartyId, link: Option<LinkRequestId>) -> [u8; 32] {
    let link = link.map(|l| l.to_string()).unwrap_or_default();
    crate::relying_party::sha256(format!("service-id-login:{}:{link}", rp.get()).as_bytes())
}

impl Platform {
    /// The approved relying party whose client ID is `client_id`.
    async fn approved_client(&self, client_id: &str) -> Result<RelyingParty, PlatformError> {
        let (rp, _) = self
            .store
            .relying_party_by_client_id(client_id)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::RelyingParty))?;
        if rp.status != RelyingPartyStatus::Approved {
            return Err(PlatformError::Access(
                crate::AccessError::RelyingPartyNotApproved,
            ));
        }
        self.identity_function(&rp)?;
        Ok(rp)
    }

    /// Refused while a maintenance window takes the Service IDs down, and once the system has
    /// ended: a link offered within a login (REST or OpenID Connect) is Service IDs' work, and
    /// makes a new link.
    pub(crate) async fn linking_open(&self) -> Result<(), PlatformError> {
        self.under_maintenance(crate::Function::ServiceIds).await?;
        self.refuse_after_termination().await
    }

    /// `rp`'s open link request `id`, offered in a login flow.
    pub(crate) async fn offered_link(
        &self,
        rp: &RelyingParty,
        id: LinkRequestId,
    ) -> Result<LinkRequest, PlatformError> {
        self.linking_open().await?;
        let r = self.link_request(id).await?;
        if r.relying_party.id != rp.id {
            // Another party's request is unknown to this one.
            return Err(PlatformError::NotFound(crate::NotFound::LinkRequest));
        }
        Ok(r)
    }

    /// A card challenge for logging in by Service ID at the relying party `client_id` (REST),
    /// bound to it and to the link request offered, if any.
    pub async fn service_id_login_challenge(
        &self,
        client_id: &str,
        link: Option<LinkRequestId>,
    ) -> Result<Challenge, PlatformError> {
        let rp = self.approved_client(client_id).await?;
        if let Some(id) = link {
            self.offered_link(&rp, id).await?;
        }
        self.bound_challenge(
            ChallengePurpose::Authorization,
            Some(rp.id),
            Some(&login_binding(rp.id, link)),
        )
        .await
    }

    /// The person logs in by Service ID at the relying party `client_id` with the card (REST):
    /// the card is checked as at login (renewals followed); with `link`, the link request is
    /// approved first under the consent given (the Art 17.2 items under the terms in force).
    /// Answers the customer ID and a one-time code the relying party redeems for it.
    pub async fn authenticate_by_service_id(
        &self,
        client_id: &str,
        card: &CardAnswer<'_>,
        link: Option<(LinkRequestId, NewConsent)>,
    ) -> Result<ServiceIdAuthentication, PlatformError> {
        let rp = self.approved_client(client_id).await?;
        let offered = match &link {
            Some((id, consent)) => {
                let r = self.offered_link(&rp, *id).await?;
                self.check_consent(consent, &SERVICE_ID_CONSENT).await?;
                Some((r, consent))
            }
            None => None,
        };
        let now = self.clock.now();
        let proof = self
            .verify_card_once(
                card,
                ChallengePurpose::Authorization,
                Some(rp.id),
                Some(&login_binding(rp.id, link.as_ref().map(|(id, _)| *id))),
                now,
            )
            .await?;
        let code = PpidCode::random(&*self.rng);
        let code_expires_at = now.plus(self.config.ppid_code_ttl.as_secs());
        let grant = LoginGrant::Code {
            hash: PpidCode::hash(code.as_str()),
            expires_at: code_expires_at,
        };
        let detail = json!({"purpose": "service-id-login", "relying_party": rp.name});
        let (customer_id, linked) = self
            .log_in_by_service_id(&rp, proof, offered, grant, detail, now)
            .await?;
        Ok(ServiceIdAuthentication {
            relying_party: rp,
            customer_id,
            linked,
            code,
            code_expires_at,
        })
    }

    /// The core of both ways in (see the module docs): the person the card is (who must be
    /// known: a Service ID needs a My Key ID, made at the portal), the link offered made first,
    /// then the Service ID found and the grant given, in one transaction. Answers the customer
    /// ID and whether it was linked just now.
    pub(crate) async fn log_in_by_service_id(
        &self,
        rp: &RelyingParty,
        proof: crate::auth::CardProof,
        offered: Option<(LinkRequest, &NewConsent)>,
        grant: LoginGrant<'_>,
        detail: serde_json::Value,
        now: UnixTime,
    ) -> Result<(CustomerId, bool), PlatformError> {
        let mut logs = proof.logs;
        let person = self
            .known_person_for(proof.issuance_number, proof.expires_at, now)
            .await?
            .ok_or(match offered {
                Some(_) => PlatformError::Conflict(crate::Conflict::MyKeyIdRequired),
                None => PlatformError::Conflict(crate::Conflict::ServiceIdRequired),
            })?;
        let link = match &offered {
            None => None,
            Some((r, consent)) => {
                let signature = self
                    .jlis
                    .signature_certificate_status(proof.issuance_number)
                    .await?
                    .current;
                logs.push(crate::signature_query(signature.is_some(), &rp.name));
                logs.extend(crate::service_id::link_logs(
                    rp,
                    &r.customer_id,
                    consent,
                    None,
                ));
                Some(LinkInFlow {
                    request: r.id,
                    consent,
                    signature,
                })
            }
        };
        let linked = link.is_some();
        let customer_id = self
            .store
            .service_id_login(&ServiceIdLogin {
                relying_party: rp.id,
                person,
                link,
                grant,
                at: now,
                logs: &logs,
                detail,
            })
            .await??;
        Ok((customer_id, linked))
    }

    /// The relying party redeems a one-time code of a REST login by Service ID for the customer
    /// ID. Unknown, used, expired and foreign codes get one answer.
    pub async fn redeem_service_id_login(
        &self,
        rp: &RelyingParty,
        code: &str,
    ) -> Result<CustomerId, PlatformError> {
        self.store
            .redeem_service_id_code(rp.id, &PpidCode::hash(code), self.clock.now())
            .await?
            .ok_or(PlatformError::Invalid(crate::InvalidError::LoginCode))
    }
}
