//! The one clock the project reads time from: the platform and the J-LIS simulator take an
//! `Arc<dyn Clock>` at start-up — [`SystemClock`] in production, [`ManualClock`] in tests, which
//! set and advance it. (Checks in this crate take a [`UnixTime`] and read no clock.)

use std::sync::atomic::{AtomicU64, Ordering};

use crate::UnixTime;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> UnixTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::now()
    }
}

/// A clock that tests set and advance.
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock standing at `t`.
    pub fn new(t: UnixTime) -> Self {
        Self(AtomicU64::new(t.as_secs()))
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// Moves the clock forward to the system clock's time, if it is behind: what a service on
    /// the system clock just made (a CRL's thisUpdate) is then not in this clock's future.
    pub fn catch_up(&self) {
        self.0
            .fetch_max(UnixTime::now().as_secs(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// The one source of randomness the platform draws its secrets, IDs and codes from, passed in
/// at start-up like the clock: [`SystemRng`] in production, [`SeededRng`] where a test wants the
/// same values each run.
pub trait Rng: Send + Sync + 'static {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

impl dyn Rng {
    /// `N` random bytes.
    pub fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.fill(&mut b);
        b
    }
}

/// The system's cryptographic random number generator (aws-lc's).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&self, buf: &mut [u8]) {
        // Without the system RNG no secret can be made safely: not recoverable.
        aws_lc_rs::rand::fill(buf).expect("system randomness");
    }
}

/// A deterministic generator for tests: SHA-256 of the seed and a counter, block after block.
/// Never for production: anyone who knows the seed knows every value.
#[derive(Debug)]
pub struct SeededRng {
    seed: [u8; 32],
    counter: AtomicU64,
}

impl SeededRng {
    /// A generator whose output follows from `seed`.
    pub fn new(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

impl Rng for SeededRng {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::SeqCst);
            let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
            ctx.update(&self.seed);
            ctx.update(&n.to_be_bytes());
            let block = ctx.finish();
            chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_generator_repeats_its_seed_s_values_and_no_other_s() {
        let (a, b, c) = (
            SeededRng::new([1; 32]),
            SeededRng::new([1; 32]),
            SeededRng::new([2; 32]),
        );
        let (a, b, c): (&dyn Rng, &dyn Rng, &dyn Rng) = (&a, &b, &c);
        let first = a.bytes::<40>();
        assert_eq!(first, b.bytes::<40>());
        assert_ne!(first, c.bytes::<40>());
        assert_ne!(a.bytes::<40>(), first, "each draw is new");
        let system: &dyn Rng = &SystemRng;
        assert_ne!(system.bytes::<16>(), system.bytes::<16>());
    }
}
