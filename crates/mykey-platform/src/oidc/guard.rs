//! A budget for guessing short codes. A short code (40 bits, five minutes) stands for a pending
//! cross-device request on the phone's API; whoever types a live one may answer that request (a
//! login forced on someone else's browser, or a refusal). Lookups by the QR code's handle (256
//! bits) are not limited; lookups by short code that find nothing spend from two token buckets:
//!
//! - one per source (an IPv4 address, or an IPv6 /64): [`PER_SOURCE_BURST`] misses, then one
//!   more every [`PER_SOURCE_REFILL_SECS`] seconds, so a person who mistypes a few times is never
//!   held up, and a guesser at one address gets about 10 a minute;
//! - one per IPv6 /48 (what one site is usually given, 65,536 /64s): [`PER_PREFIX_BURST`]
//!   misses, then one every [`PER_PREFIX_REFILL_SECS`] seconds, so that the /64s of one site
//!   together get little more than one address;
//! - one for the whole platform: [`GLOBAL_BURST`] misses, then [`GLOBAL_PER_SEC`] a second, so
//!   many addresses together get no more than that. When it runs dry, sources that missed in
//!   the last [`QUIET_SECS`] seconds (and lookups of unknown source, and every source while the
//!   table of sources is full) wait; a source that has not missed lately still gets its lookup
//!   from a reserve ([`RESERVE_BURST`], then [`RESERVE_PER_SEC`] a second), so that guessers
//!   elsewhere cannot keep a person from typing their own code, and fresh addresses together
//!   add no more than that reserve's rate. (Scanning the QR code always works.)
//!
//! At the global rate a day of guessing against 10,000 requests pending at every moment hits
//! one with a probability of about 1.6 %; at the per-source rate, one address would take about
//! twenty years on average.
//!
//! An empty bucket refuses further short-code lookups (hits too) with
//! [`PlatformError::Limited(crate::Limited::TooManyAttempts)`] until it has a token again. Buckets live in memory: a
//! restart forgets them, and each platform node keeps its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use mykey_pki::UnixTime;

use crate::PlatformError;

/// Misses one source may make at once.
pub const PER_SOURCE_BURST: u64 = 10;
/// Seconds for one source to earn one more miss.
pub const PER_SOURCE_REFILL_SECS: u64 = 6;
/// Misses the whole platform may see at once.
pub const GLOBAL_BURST: u64 = 600;
/// Misses the whole platform earns back a second.
pub const GLOBAL_PER_SEC: u64 = 20;
/// Misses one IPv6 /48 may make at once.
pub const PER_PREFIX_BURST: u64 = 30;
/// Seconds for one IPv6 /48 to earn one more miss.
pub const PER_PREFIX_REFILL_SECS: u64 = 3;
/// Lookups by sources that have not missed lately while the global bucket is dry, at once.
pub const RESERVE_BURST: u64 = 100;
/// Of those, earned back a second.
pub const RESERVE_PER_SEC: u64 = 2;
/// Seconds after its last miss a source counts as guessing (held to the global bucket).
pub const QUIET_SECS: u64 = 600;
/// Most sources tracked; when full, those whose buckets have refilled and that have been quiet
/// are forgotten first.
const MAX_SOURCES: usize = 100_000;

/// A token bucket counted in whole seconds: `spent` misses not yet earned back as of `at`;
/// `last_miss`, when the bucket's source last missed.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    spent: u64,
    at: u64,
    last_miss: u64,
}

impl Bucket {
    /// Brings the bucket to `now`: `per_token` seconds earn back one miss (or `per_sec` a
    /// second when `per_token` is 0).
    fn settle(&mut self, now: u64, per_token: u64, per_sec: u64) {
        let dt = now.saturating_sub(self.at);
        let earned = dt.checked_div(per_token).unwrap_or(dt * per_sec);
        if earned >= self.spent {
            self.spent = 0;
            self.at = now;
        } else if earned > 0 {
            self.spent -= earned;
            // Keep the part of a second not yet worth a whole token.
            self.at = if per_token > 0 {
                self.at + earned * per_token
            } else {
                now
            };
        }
    }

    /// Seconds until one more miss is allowed (0: allowed now).
    fn wait(&self, now: u64, burst: u64, per_token: u64) -> u64 {
        if self.spent < burst {
            0
        } else if per_token > 0 {
            (self.at + per_token).saturating_sub(now).max(1)
        } else {
            1
        }
    }
}

/// The short-code budget (see the module docs).
#[derive(Debug)]
pub struct ShortCodeGuard {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    global: Bucket,
    /// What sources that have not missed lately spend while `global` is dry.
    reserve: Bucket,
    /// By [`source_key`].
    sources: HashMap<[u8; 16], Bucket>,
    /// By IPv6 /48 ([`prefix_key`]).
    prefixes: HashMap<[u8; 16], Bucket>,
}

impl Default for Bucket {
    fn default() -> Self {
        Self {
            spent: 0,
            at: 0,
            last_miss: 0,
        }
    }
}

impl Default for ShortCodeGuard {
    fn default() -> Self {
        Self {
            state: Mutex::new(State::default()),
        }
    }
}

/// The IPv6 /48 an address is in (`None` for IPv4, and IPv4 mapped into IPv6).
fn prefix_key(ip: IpAddr) -> Option<[u8; 16]> {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let mut k = v6.octets();
            k[6..].fill(0);
            Some(k)
        }
        _ => None,
    }
}

/// Spends one miss from the bucket of `key` in `map` (at most `max` tracked; when full, the
/// refilled and quiet are forgotten, and if none is, the miss is not tracked there).
fn spend(map: &mut HashMap<[u8; 16], Bucket>, key: [u8; 16], now: u64, per_token: u64, max: usize) {
    if map.len() >= max && !map.contains_key(&key) {
        map.retain(|_, b| {
            b.settle(now, per_token, 0);
            b.spent > 0 || now.saturating_sub(b.last_miss) < QUIET_SECS
        });
        if map.len() >= max {
            // Every tracked source is still paying off: the global bucket holds the line.
            return;
        }
    }
    let b = map.entry(key).or_insert(Bucket {
        at: now,
        ..Bucket::default()
    });
    b.settle(now, per_token, 0);
    b.spent += 1;
    b.last_miss = now;
}

/// An IPv4 address, or the /64 an IPv6 address is in (one host usually has a whole /64).
fn source_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_ipv6_mapped().octets(),
            None => {
                let mut k = v6.octets();
                k[8..].fill(0);
                k
            }
        },
    }
}

impl ShortCodeGuard {
    /// Whether a short-code lookup from `from` (None: unknown source, counted globally only)
    /// may go ahead at `now`.
    pub(crate) fn check(&self, from: Option<IpAddr>, now: UnixTime) -> Result<(), PlatformError> {
        let now = now.as_secs();
        let Ok(mut s) = self.state.lock() else {
            return Ok(());
        };
        let State {
            global,
            reserve,
            sources,
            prefixes,
        } = &mut *s;
        global.settle(now, 0, GLOBAL_PER_SEC);
        reserve.settle(now, 0, RESERVE_PER_SEC);
        let mut wait = 0;
        // Unknown sources, sources that missed lately, and everyone while misses can no longer
        // be told apart by source, are held to the global bucket.
        let mut guessing = from.is_none() || sources.len() >= MAX_SOURCES;
        if let Some(b) = from.and_then(|ip| sources.get_mut(&source_key(ip))) {
            b.settle(now, PER_SOURCE_REFILL_SECS, 0);
            wait = wait.max(b.wait(now, PER_SOURCE_BURST, PER_SOURCE_REFILL_SECS));
            guessing |= b.last_miss > 0 && now.saturating_sub(b.last_miss) < QUIET_SECS;
        }
        if let Some(b) = from.and_then(prefix_key).and_then(|k| prefixes.get_mut(&k)) {
            b.settle(now, PER_PREFIX_REFILL_SECS, 0);
            wait = wait.max(b.wait(now, PER_PREFIX_BURST, PER_PREFIX_REFILL_SECS));
        }
        let dry = global.wait(now, GLOBAL_BURST, 0);
        if guessing {
            wait = wait.max(dry);
        } else if dry > 0 {
            wait = wait.max(reserve.wait(now, RESERVE_BURST, 0));
        }
        match wait {
            0 => Ok(()),
            retry_after => Err(PlatformError::Limited(crate::Limited::TooManyAttempts {
                retry_after,
            })),
        }
    }

    /// Counts a short-code lookup from `from` that found nothing (one that [`check`] let
    /// through, so within its source's budget).
    ///
    /// [`check`]: ShortCodeGuard::check
    pub(crate) fn miss(&self, from: Option<IpAddr>, now: UnixTime) {
        let now = now.as_secs();
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        let State {
            global,
            reserve,
            sources,
            prefixes,
        } = &mut *s;
        global.settle(now, 0, GLOBAL_PER_SEC);
        if global.spent >= GLOBAL_BURST {
            // Let through from the reserve (see `check`).
            reserve.settle(now, 0, RESERVE_PER_SEC);
            reserve.spent += 1;
        }
        global.spent += 1;
        let Some(ip) = from else { return };
        spend(
            sources,
            source_key(ip),
            now,
            PER_SOURCE_REFILL_SECS,
            MAX_SOURCES,
        );
        if let Some(k) = prefix_key(ip) {
            spend(prefixes, k, now, PER_PREFIX_REFILL_SECS, MAX_SOURCES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> UnixTime {
        UnixTime::from_secs(1_800_000_000 + s)
    }

    #[test]
    fn one_source_gets_its_burst_then_one_miss_every_six_seconds() {
        let g = ShortCodeGuard::default();
        let me: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        for _ in 0..PER_SOURCE_BURST {
            g.check(me, at(0)).unwrap();
            g.miss(me, at(0));
        }
        assert!(matches!(
            g.check(me, at(0)),
            Err(PlatformError::Limited(crate::Limited::TooManyAttempts {
                retry_after: 6
            }))
        ));
        assert!(matches!(
            g.check(me, at(5)),
            Err(PlatformError::Limited(crate::Limited::TooManyAttempts {
                retry_after: 1
            }))
        ));
        // Another address is not held up.
        g.check(Some("192.0.2.8".parse().unwrap()), at(5)).unwrap();
        g.check(me, at(6)).unwrap();
        g.miss(me, at(6));
        assert!(g.check(me, at(11)).is_err());
        g.check(me, at(12)).unwrap();
        // A quiet minute earns back the whole burst.
        for _ in 0..PER_SOURCE_BURST {
            g.check(me, at(80)).unwrap();
            g.miss(me, at(80));
        }
        assert!(g.check(me, at(80)).is_err());
    }

    #[test]
    fn an_ipv6_slash_64_is_one_source_and_mapped_ipv4_is_the_ipv4_address() {
        let g = ShortCodeGuard::default();
        for i in 0..PER_SOURCE_BURST {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            g.miss(Some(ip), at(0));
        }
        assert!(
            g.check(Some("2001:db8:1:2:ffff::1".parse().unwrap()), at(0))
                .is_err()
        );
        g.check(Some("2001:db8:1:3::1".parse().unwrap()), at(0))
            .unwrap();
        for _ in 0..PER_SOURCE_BURST {
            g.miss(Some("198.51.100.1".parse().unwrap()), at(0));
        }
        assert!(
            g.check(Some("::ffff:198.51.100.1".parse().unwrap()), at(0))
                .is_err()
        );
    }

    #[test]
    fn the_slash_64s_of_one_ipv6_slash_48_share_a_budget() {
        let g = ShortCodeGuard::default();
        for i in 0..PER_PREFIX_BURST {
            let ip: IpAddr = format!("2001:db8:7:{i:x}::1").parse().unwrap();
            g.check(Some(ip), at(0)).unwrap();
            g.miss(Some(ip), at(0));
        }
        let next: IpAddr = "2001:db8:7:ffff::1".parse().unwrap();
        assert!(matches!(
            g.check(Some(next), at(0)),
            Err(PlatformError::Limited(crate::Limited::TooManyAttempts {
                retry_after: PER_PREFIX_REFILL_SECS
            }))
        ));
        g.check(Some("2001:db8:8::1".parse().unwrap()), at(0))
            .unwrap();
        g.check(Some(next), at(PER_PREFIX_REFILL_SECS)).unwrap();
    }

    #[test]
    fn many_sources_together_are_held_to_the_global_rate() {
        let g = ShortCodeGuard::default();
        for i in 0..GLOBAL_BURST {
            let ip: IpAddr = format!("10.0.{}.{}", i / 256, i % 256).parse().unwrap();
            g.check(Some(ip), at(0)).unwrap();
            g.miss(Some(ip), at(0));
        }
        // A source that missed lately, or an unknown one, waits for the global bucket ...
        let guesser: Option<IpAddr> = Some("10.0.0.1".parse().unwrap());
        assert!(matches!(
            g.check(guesser, at(0)),
            Err(PlatformError::Limited(crate::Limited::TooManyAttempts {
                retry_after: 1
            }))
        ));
        assert!(g.check(None, at(0)).is_err());
        // ... while a person who has not missed still types their own code (issue 19, 10).
        let person: Option<IpAddr> = Some("203.0.113.9".parse().unwrap());
        g.check(person, at(0)).unwrap();
        g.miss(person, at(0));
        assert!(g.check(person, at(0)).is_err(), "missed: now held too");
        // Fresh addresses together get no more than the reserve.
        for i in 1..RESERVE_BURST {
            let ip: Option<IpAddr> =
                Some(format!("198.51.{}.{}", i / 256, i % 256).parse().unwrap());
            g.check(ip, at(0)).unwrap();
            g.miss(ip, at(0));
        }
        assert!(
            g.check(Some("192.0.2.200".parse().unwrap()), at(0))
                .is_err()
        );
        // Each second earns back GLOBAL_PER_SEC (the reserve's lookups were misses too: 100
        // over the burst take five seconds to earn back, a sixth gives twenty).
        assert!(g.check(None, at(5)).is_err());
        for _ in 0..GLOBAL_PER_SEC {
            g.check(None, at(6)).unwrap();
            g.miss(None, at(6));
        }
        assert!(g.check(None, at(6)).is_err());
    }
}
