//! Challenges the platform can check without having stored them.
//!
//! A nonce is 32 bytes: `expires_at` (8, big-endian seconds) ‖ 8 random bytes ‖ the first 16
//! bytes of `HMAC-SHA-256(K, "mykey-challenge-v1" ‖ purpose ‖ relying party ‖ the first 16
//! [‖ 0x02 ‖ binding])`, the binding being 32 bytes naming the one request a challenge answers
//! (a cross-device login's handle hash). The tag binds the nonce to its purpose, its relying
//! party, its request where it has one, and its expiry, so a nonce the
//! platform did not issue, or one issued for something else, is refused without a look-up; the
//! store only records the nonces that were *used* (until they expire), which is what makes each
//! one answerable once. Issuing a challenge therefore writes nothing, and a login is one
//! transaction.
//!
//! `K` is 256 random bits per platform process unless configured
//! ([`crate::PlatformConfig::challenge_secret`]): nodes that share a database and a load balancer
//! share the secret too. Challenges outstanding when the key changes must be asked for again.

use crate::Rng;
use aws_lc_rs::{constant_time, hmac};
use mykey_pki::UnixTime;

use crate::{ChallengePurpose, RelyingPartyId};

/// The platform's challenge key. `Debug` hides it.
pub(crate) struct ChallengeKey(hmac::Key);

impl ChallengeKey {
    /// From 32 secret bytes.
    pub(crate) fn new(secret: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// A key drawn from `rng`.
    pub(crate) fn random(rng: &dyn Rng) -> Self {
        Self::new(&rng.bytes::<32>())
    }

    fn tag(
        &self,
        purpose: ChallengePurpose,
        relying_party: Option<RelyingPartyId>,
        binding: Option<&[u8; 32]>,
        head: &[u8],
    ) -> [u8; 16] {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(b"mykey-challenge-v1");
        ctx.update(&[purpose_byte(purpose)]);
        match relying_party {
            Some(rp) => {
                ctx.update(&[1]);
                ctx.update(&rp.get().to_be_bytes());
            }
            None => ctx.update(&[0]),
        }
        ctx.update(head);
        // `head` has a fixed length, so a bound input is never an unbound one.
        if let Some(b) = binding {
            ctx.update(&[2]);
            ctx.update(b);
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&ctx.sign().as_ref()[..16]);
        out
    }

    /// A fresh nonce for `purpose`, `relying_party` and `binding`, answerable until `expires_at`.
    pub(crate) fn issue(
        &self,
        rng: &dyn Rng,
        purpose: ChallengePurpose,
        relying_party: Option<RelyingPartyId>,
        binding: Option<&[u8; 32]>,
        expires_at: UnixTime,
    ) -> [u8; 32] {
        let mut nonce = [0u8; 32];
        nonce[..8].copy_from_slice(&expires_at.as_secs().to_be_bytes());
        nonce[8..16].copy_from_slice(&rng.bytes::<8>());
        let tag = self.tag(purpose, relying_party, binding, &nonce[..16]);
        nonce[16..].copy_from_slice(&tag);
        nonce
    }

    /// When `nonce` expires, if this key issued it for `purpose`, `relying_party` and `binding`.
    pub(crate) fn open(
        &self,
        nonce: &[u8; 32],
        purpose: ChallengePurpose,
        relying_party: Option<RelyingPartyId>,
        binding: Option<&[u8; 32]>,
    ) -> Option<UnixTime> {
        let tag = self.tag(purpose, relying_party, binding, &nonce[..16]);
        constant_time::verify_slices_are_equal(&tag, &nonce[16..]).ok()?;
        let mut secs = [0u8; 8];
        secs.copy_from_slice(&nonce[..8]);
        Some(UnixTime::from_secs(u64::from_be_bytes(secs)))
    }
}

impl std::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengeKey(…)")
    }
}

fn purpose_byte(p: ChallengePurpose) -> u8 {
    match p {
        ChallengePurpose::Login => 1,
        ChallengePurpose::ServiceIdLink => 2,
        ChallengePurpose::Authorization => 3,
        ChallengePurpose::PointApplication => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_opens_only_for_its_purpose_relying_party_and_key() {
        let k = ChallengeKey::new(&[7; 32]);
        let at = UnixTime::from_secs(1_800_000_000);
        let rp = Some(RelyingPartyId::new(3));
        let n = k.issue(
            &mykey_pki::SystemRng,
            ChallengePurpose::ServiceIdLink,
            rp,
            None,
            at,
        );
        assert_eq!(
            k.open(&n, ChallengePurpose::ServiceIdLink, rp, None),
            Some(at)
        );
        assert_eq!(k.open(&n, ChallengePurpose::Login, rp, None), None);
        assert_eq!(
            k.open(&n, ChallengePurpose::ServiceIdLink, None, None),
            None
        );
        assert_eq!(
            k.open(
                &n,
                ChallengePurpose::ServiceIdLink,
                Some(RelyingPartyId::new(4)),
                None
            ),
            None
        );
        assert_eq!(
            ChallengeKey::new(&[8; 32]).open(&n, ChallengePurpose::ServiceIdLink, rp, None),
            None
        );
        // Every byte counts: a later expiry, other random bytes or another tag are refused.
        for i in [0, 7, 8, 15, 16, 31] {
            let mut m = n;
            m[i] ^= 1;
            assert_eq!(
                k.open(&m, ChallengePurpose::ServiceIdLink, rp, None),
                None,
                "{i}"
            );
        }
        assert_ne!(
            n,
            k.issue(
                &mykey_pki::SystemRng,
                ChallengePurpose::ServiceIdLink,
                rp,
                None,
                at
            )
        );
        // A challenge bound to one request answers only that request.
        let b = k.issue(
            &mykey_pki::SystemRng,
            ChallengePurpose::Authorization,
            rp,
            Some(&[1; 32]),
            at,
        );
        assert_eq!(
            k.open(&b, ChallengePurpose::Authorization, rp, Some(&[1; 32])),
            Some(at)
        );
        assert_eq!(
            k.open(&b, ChallengePurpose::Authorization, rp, Some(&[2; 32])),
            None
        );
        assert_eq!(k.open(&b, ChallengePurpose::Authorization, rp, None), None);
        let u = k.issue(
            &mykey_pki::SystemRng,
            ChallengePurpose::Authorization,
            rp,
            None,
            at,
        );
        assert_eq!(
            k.open(&u, ChallengePurpose::Authorization, rp, Some(&[1; 32])),
            None
        );
        assert_eq!(format!("{k:?}"), "ChallengeKey(…)");
    }
}
