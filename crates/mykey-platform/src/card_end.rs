//! The end of a card ends the My Key ID (Terms Art 15.3, "not limited to" revocation;
//! docs/architecture.md §3.1): when J-LIS revokes a person's user-identification certificate
//! for any reason but a renewal — a lost card, a death, a key compromise — or it expires and no
//! renewal follows within the grace period ([`PlatformConfig::card_expiry_grace`]), the My Key
//! ID is revoked and every Service ID with it ends: each linked relying party is told once
//! (`account-disabled`, with the reason), and the person's log says why.
//!
//! Found by the same sweep that finds changes of the four facts (`facts.rs`): the
//! user-identification CA's CRLs are read from where the last pass stopped, and each pass also
//! looks for cards expired beyond the grace period (the expiry is kept with each issuance number
//! when it is first seen). Only a person's newest card counts, as of the revocation: an old
//! card's end after a renewal ends nothing, but a renewal after the card was revoked (a lost
//! card replaced) does not save the My Key ID. Every entry is also noted with its number, so
//! that an application with the My Key ID (Art 17.1) is refused while the newest card is
//! revoked or suspended. A renewal's own revocation (superseded), a suspension (certificateHold) and its
//! lifting (removeFromCRL) end nothing either.
//!
//! [`PlatformConfig::card_expiry_grace`]: crate::PlatformConfig::card_expiry_grace

use mykey_pki::{CaCertificate, Crl, IssuanceNumber, RevocationReason, UnixTime};

use crate::{Platform, PlatformError};

/// Why a card ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardEnd {
    /// J-LIS revoked the user-identification certificate, with this reason (`None`: no reason
    /// code, read as unspecified).
    Revoked(Option<RevocationReason>),
    /// The certificate expired and no renewal followed within the grace period.
    Expired,
}

impl CardEnd {
    /// The reason the log and the event give: `card-revoked` or `card-expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoked(_) => "card-revoked",
            Self::Expired => "card-expired",
        }
    }

    /// J-LIS's reason for a revocation (its RFC 5280 name).
    pub fn revocation_reason(self) -> Option<&'static str> {
        match self {
            Self::Revoked(r) => Some(r.map_or("unspecified", RevocationReason::name)),
            Self::Expired => None,
        }
    }

    /// Whether a CRL entry with `reason` ends a card: not a renewal, a suspension or its lifting.
    pub fn ends_card(reason: Option<RevocationReason>) -> bool {
        !matches!(
            reason,
            Some(
                RevocationReason::Superseded
                    | RevocationReason::CertificateHold
                    | RevocationReason::RemoveFromCrl
            )
        )
    }
}

/// Most people one pass ends the My Key IDs of for expiry (the next pass does the rest).
pub const EXPIRY_BATCH: usize = 1000;

impl Platform {
    /// Sweeps one user-identification-CA CRL (complete or delta), checked against `ca` first:
    /// every entry that ends a card ([`CardEnd::ends_card`]) ends the My Key ID of the person
    /// whose newest card it is, if they hold one. Answers how many My Key IDs ended.
    pub async fn sweep_user_identification_crl(
        &self,
        crl: &Crl,
        ca: &CaCertificate,
    ) -> Result<u64, PlatformError> {
        let now = self.clock.now();
        crl.verify(ca, now)?;
        let mut noted = Vec::new();
        let mut ended = Vec::new();
        for entry in crl.entries() {
            let entry = entry?;
            noted.push((entry.serial, entry.reason, entry.revoked_at));
            if CardEnd::ends_card(entry.reason) {
                ended.push((
                    entry.serial,
                    CardEnd::Revoked(entry.reason),
                    entry.revoked_at,
                ));
            }
        }
        self.store.note_card_revocations(&noted).await?;
        Ok(self.store.end_cards(&ended, now).await?)
    }

    /// Ends the My Key IDs of people whose newest card expired more than the grace period ago
    /// (at most [`EXPIRY_BATCH`] a call). Answers how many ended.
    pub async fn end_expired_cards(&self) -> Result<u64, PlatformError> {
        let now = self.clock.now();
        let cut = UnixTime::from_secs(
            now.as_secs()
                .saturating_sub(self.config.card_expiry_grace.as_secs()),
        );
        let expired = self.store.expired_cards(cut, EXPIRY_BATCH).await?;
        let ended: Vec<(IssuanceNumber, CardEnd, UnixTime)> = expired
            .into_iter()
            .map(|n| (n, CardEnd::Expired, now))
            .collect();
        Ok(self.store.end_cards(&ended, now).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ends_that_are_not_renewals_or_suspensions_end_a_card() {
        use RevocationReason as R;
        for r in [
            None,
            Some(R::KeyCompromise),
            Some(R::CessationOfOperation),
            Some(R::AffiliationChanged),
            Some(R::Unspecified),
        ] {
            assert!(CardEnd::ends_card(r), "{r:?}");
        }
        for r in [R::Superseded, R::CertificateHold, R::RemoveFromCrl] {
            assert!(!CardEnd::ends_card(Some(r)), "{r:?}");
        }
        assert_eq!(
            CardEnd::Revoked(Some(R::KeyCompromise)).revocation_reason(),
            Some("keyCompromise")
        );
        assert_eq!(CardEnd::Expired.as_str(), "card-expired");
    }
}
