//! Quotas on what relying parties can make the platform do on a person's behalf: each
//! on-demand facts check asks J-LIS and adds an entry to the person's log, and so does each
//! association of a customer ID with a PPID (Art 20.1.3), so one relying party must not be able
//! to grow a log or load J-LIS without limit (issue 19, finding 9). (Userinfo answers are logged
//! once per access token, `oidc/tokens.rs`; everything else a relying party does to a person's
//! log happens at most once per link, code or consent.) Reports of cross-device requests,
//! which anyone may make, are held the same way per source address, with the whole platform
//! as the one "relying party".
//!
//! Token buckets in whole seconds, in memory (a restart forgets them; each node keeps its own),
//! one [`RpQuota`] per kind of act:
//! - per item (a link — relying party and customer ID — or a PPID): [`PER_LINK_BURST`] acts,
//!   then one every [`PER_LINK_REFILL_SECS`] seconds — the four facts change a few times in a
//!   life, and a customer ID is associated once or twice;
//! - per relying party: [`PER_RP_BURST`] acts, then one every [`PER_RP_REFILL_SECS`] second.
//!
//! Applications for a Service ID with a My Key ID (Art 17.1) are held tighter
//! ([`APPLICATION_RATES`]): a wrong My Key ID costs the same as a right one, so a relying party
//! cannot try more than a few thousand a day, and one My Key ID only a few times an hour.

use std::collections::HashMap;
use std::sync::Mutex;

use mykey_pki::UnixTime;

use crate::{PlatformError, RelyingPartyId};

/// Facts checks of one link at once.
pub const PER_LINK_BURST: u64 = 3;
/// Seconds for a link to earn one more facts check.
pub const PER_LINK_REFILL_SECS: u64 = 600;
/// Facts checks of one relying party at once.
pub const PER_RP_BURST: u64 = 100;
/// Seconds for a relying party to earn one more facts check.
pub const PER_RP_REFILL_SECS: u64 = 1;
/// How fast one kind of act may come: per relying party and per item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates {
    /// Acts of one relying party at once.
    pub per_rp_burst: u64,
    /// Seconds for a relying party to earn one more.
    pub per_rp_refill_secs: u64,
    /// Acts on one item at once.
    pub per_item_burst: u64,
    /// Seconds for an item to earn one more.
    pub per_item_refill_secs: u64,
}

/// The rates of facts checks, customer-ID associations and reports.
pub const CHECK_RATES: Rates = Rates {
    per_rp_burst: PER_RP_BURST,
    per_rp_refill_secs: PER_RP_REFILL_SECS,
    per_item_burst: PER_LINK_BURST,
    per_item_refill_secs: PER_LINK_REFILL_SECS,
};

/// The rates of applications for a Service ID with a My Key ID (Art 17.1): 20 at once per
/// relying party, then one every 30 seconds (2,880 a day); 3 per My Key ID, then one every ten
/// minutes.
pub const APPLICATION_RATES: Rates = Rates {
    per_rp_burst: 20,
    per_rp_refill_secs: 30,
    per_item_burst: 3,
    per_item_refill_secs: 600,
};

/// The rate of applications naming one My Key ID, whichever relying parties make them: ten
/// at once, then one every ten minutes (the per-relying-party buckets are not used).
pub const APPLICATION_ID_RATES: Rates = Rates {
    per_rp_burst: u64::MAX,
    per_rp_refill_secs: 1,
    per_item_burst: 10,
    per_item_refill_secs: 600,
};

/// The rate of a person's claims of card-point registrations (each may call Mynaportal or the
/// account registry): ten at once, then one a minute (the per-relying-party buckets are not
/// used).
pub const TRIGGER_RATES: Rates = Rates {
    per_rp_burst: u64::MAX,
    per_rp_refill_secs: 1,
    per_item_burst: 10,
    per_item_refill_secs: 60,
};

/// The rate of a payment provider's batches of grants (each counts every transaction not yet
/// counted in the round: a batch over a million holders takes the database seconds): ten at
/// once per provider, then one a minute; three at once per provider and round, then one a
/// minute. (Reports of transactions are held by the rates at the door, per client.)
pub const BATCH_RATES: Rates = Rates {
    per_rp_burst: 10,
    per_rp_refill_secs: 60,
    per_item_burst: 3,
    per_item_refill_secs: 60,
};

/// Most buckets kept; when full, the refilled ones are forgotten.
const MAX_BUCKETS: usize = 200_000;

/// `spent` not yet earned back as of `at`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    spent: u64,
    at: u64,
}

impl Bucket {
    fn settle(&mut self, now: u64, per: u64) {
        let earned = now.saturating_sub(self.at) / per;
        if earned >= self.spent {
            *self = Bucket { spent: 0, at: now };
        } else if earned > 0 {
            self.spent -= earned;
            self.at += earned * per;
        }
    }

    fn wait(&self, now: u64, burst: u64, per: u64) -> u64 {
        if self.spent < burst {
            0
        } else {
            (self.at + per).saturating_sub(now).max(1)
        }
    }
}

/// One kind of act's quotas (see the module docs).
#[derive(Debug)]
pub(crate) struct RpQuota {
    rates: Rates,
    state: Mutex<(HashMap<i64, Bucket>, HashMap<(i64, String), Bucket>)>,
}

impl Default for RpQuota {
    fn default() -> Self {
        Self::new(CHECK_RATES)
    }
}

impl RpQuota {
    /// A quota at `rates`.
    pub(crate) fn new(rates: Rates) -> Self {
        Self {
            rates,
            state: Mutex::default(),
        }
    }

    /// Takes one act on `item` (a customer ID, a PPID) of `rp` at `now`, or says how long to
    /// wait.
    pub(crate) fn take(
        &self,
        rp: RelyingPartyId,
        item: &str,
        now: UnixTime,
    ) -> Result<(), PlatformError> {
        let now = now.as_secs();
        let Ok(mut s) = self.state.lock() else {
            return Ok(());
        };
        let (rps, links) = &mut *s;
        let Rates {
            per_rp_burst,
            per_rp_refill_secs,
            per_item_burst,
            per_item_refill_secs,
        } = self.rates;
        if rps.len() + links.len() >= MAX_BUCKETS {
            rps.retain(|_, b| {
                b.settle(now, per_rp_refill_secs);
                b.spent > 0
            });
            links.retain(|_, b| {
                b.settle(now, per_item_refill_secs);
                b.spent > 0
            });
        }
        let fresh = Bucket { spent: 0, at: now };
        let r = rps.entry(rp.get()).or_insert(fresh);
        r.settle(now, per_rp_refill_secs);
        let l = links.entry((rp.get(), item.to_owned())).or_insert(fresh);
        l.settle(now, per_item_refill_secs);
        let wait = r.wait(now, per_rp_burst, per_rp_refill_secs).max(l.wait(
            now,
            per_item_burst,
            per_item_refill_secs,
        ));
        if wait > 0 {
            return Err(PlatformError::Limited(crate::Limited::Quota {
                retry_after: wait,
            }));
        }
        r.spent += 1;
        l.spent += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_gets_its_burst_then_one_check_every_ten_minutes() {
        let q = RpQuota::default();
        let rp = RelyingPartyId::new(1);
        let c = "C-1";
        let t = |s: u64| UnixTime::from_secs(1_800_000_000 + s);
        for _ in 0..PER_LINK_BURST {
            q.take(rp, c, t(0)).unwrap();
        }
        assert!(matches!(
            q.take(rp, c, t(0)),
            Err(PlatformError::Limited(crate::Limited::Quota {
                retry_after: 600
            }))
        ));
        // Another link of the same relying party is not held up.
        q.take(rp, "C-2", t(0)).unwrap();
        q.take(rp, c, t(600)).unwrap();
        assert!(q.take(rp, c, t(601)).is_err());
    }

    #[test]
    fn a_relying_party_is_held_to_its_own_rate_across_links() {
        let q = RpQuota::default();
        let rp = RelyingPartyId::new(2);
        for i in 0..PER_RP_BURST {
            q.take(rp, &format!("C-{i}"), UnixTime::from_secs(10))
                .unwrap();
        }
        assert!(matches!(
            q.take(rp, "C-x", UnixTime::from_secs(10)),
            Err(PlatformError::Limited(crate::Limited::Quota {
                retry_after: 1
            }))
        ));
        q.take(RelyingPartyId::new(3), "C-x", UnixTime::from_secs(10))
            .unwrap();
    }
}
