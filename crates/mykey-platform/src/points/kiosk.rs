//! Applying at a kiosk (Art 22.1.10, 26.1.2): an application-support business's ATM or
//! multi-function copier reads the card in front of it — the holder enters the PIN at the
//! kiosk, and the card signs a challenge bound to that kiosk — shows the holder the three
//! matters of Art 23.1, and applies on their behalf. The application is the holder's own (one
//! per person per round, in their log and export); the kiosk's name is recorded on it and in
//! the log, and the kiosk sees only the applications it made.

use super::{NewPointApplication, POINT_CONSENT, PaymentServiceId, PointApplication, PointRoundId};
use crate::{
    AccessError, CardAnswer, Challenge, ChallengePurpose, NewConsent, Platform, PlatformError,
    RelyingParty, RelyingPartyKind,
};

/// What the holder chose at the kiosk.
#[derive(Clone, Copy, Debug)]
pub struct KioskChoice<'a> {
    /// The round.
    pub round: PointRoundId,
    /// The payment service.
    pub service: PaymentServiceId,
    /// The Payment Service ID.
    pub payment_service_user_id: &'a str,
    /// Its security code, when the service issues one.
    pub payment_service_code: Option<&'a str>,
}

impl Platform {
    fn kiosk(rp: &RelyingParty) -> Result<(), PlatformError> {
        if rp.kind != RelyingPartyKind::Kiosk {
            return Err(PlatformError::Access(AccessError::KioskOnly));
        }
        Ok(())
    }

    /// A challenge for the card in front of kiosk `rp`, answerable only with that kiosk.
    pub async fn kiosk_challenge(&self, rp: &RelyingParty) -> Result<Challenge, PlatformError> {
        Self::kiosk(rp)?;
        self.challenge(ChallengePurpose::PointApplication, Some(rp.id))
            .await
    }

    /// Kiosk `rp` applies for the holder of the card that answered its challenge. Everything
    /// the request says is checked before the card is (so a mistyped ID spends no challenge);
    /// then the card, as at login; the holder must be known to the platform with an active My
    /// Key ID — nobody is created at a kiosk.
    pub async fn apply_at_kiosk(
        &self,
        rp: &RelyingParty,
        card: &CardAnswer<'_>,
        choice: KioskChoice<'_>,
        consent: &NewConsent,
    ) -> Result<PointApplication, PlatformError> {
        self.refuse_after_termination().await?;
        Self::kiosk(rp)?;
        self.check_consent(consent, &POINT_CONSENT).await?;
        let (round, service) = self.point_choice(choice.round, choice.service).await?;
        service.shape.check(choice.payment_service_user_id)?;
        service.shape.check_code(choice.payment_service_code)?;
        let now = self.clock.now();
        let proof = self
            .verify_card_once(
                card,
                ChallengePurpose::PointApplication,
                Some(rp.id),
                None,
                now,
            )
            .await?;
        let person = self
            .known_person_for(proof.issuance_number, proof.expires_at, now)
            .await?
            .ok_or(PlatformError::Conflict(crate::Conflict::MyKeyIdRequired))?;
        let logs = proof.logs;
        self.apply_under_fresh_id(now, |id| {
            let mut logs = logs.clone();
            logs.extend(super::programme::application_logs(
                id,
                &round,
                &service,
                consent,
                Some(&rp.name),
            ));
            let new = NewPointApplication {
                id,
                round: round.id,
                person,
                service: service.id,
                payment_service_user_id: choice.payment_service_user_id.to_owned(),
                payment_service_code: choice.payment_service_code.map(str::to_owned),
                kiosk: Some(rp.id),
                at: now,
            };
            (new, logs)
        })
        .await
    }
}
