//! The revocation index: what a CA's latest complete CRL plus its latest delta CRL say, laid out
//! for national scale (tens of millions of entries).
//!
//! Layout: entries whose serial fits in 64 bits sit in one flat array of 16-byte slots, grouped
//! by a multiplicative hash of the serial into about two slots per bucket, with a `u32` bucket
//! directory (about 2 bytes per entry) in front. A look-up reads one directory pair and scans a
//! bucket of about two slots: two cache misses at most, no pointers, no per-entry allocation, and
//! ~18 bytes resident per entry. Longer serials (allowed by RFC 5280, not issued by the
//! simulator) go to a side map. The delta CRL is indexed the same way, and is consulted first.

use std::collections::HashMap;

use crate::{CaCertificate, Crl, CrlKind, Error, IssuanceNumber, RevocationReason, UnixTime};

/// What the index says about a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Not on the CRLs, which were current at the time asked.
    Good,
    /// Revoked.
    Revoked {
        /// Why, when the CRL says.
        reason: Option<RevocationReason>,
        /// When.
        revoked_at: UnixTime,
    },
    /// The CRLs held are past their nextUpdate at the time asked: the answer is unknown (ask OCSP).
    Stale {
        /// The nextUpdate that has passed.
        next_update: UnixTime,
    },
}

/// One CA's revocation data. Immutable once built; a new CRL makes a new index (or delta).
#[derive(Clone, Debug)]
pub struct RevocationIndex {
    ca_key_id: Vec<u8>,
    base: Table,
    base_number: u64,
    delta: Table,
    delta_number: Option<u64>,
    fresh_until: UnixTime,
    as_of: UnixTime,
}

impl RevocationIndex {
    /// Builds the index from a complete CRL after verifying it against `ca` at `at`.
    pub fn from_full_crl(crl: &Crl, ca: &CaCertificate, at: UnixTime) -> Result<Self, Error> {
        crl.verify(ca, at)?;
        if crl.kind() != CrlKind::Full {
            return Err(Error::CrlWrongKind {
                expected: CrlKind::Full,
            });
        }
        Ok(Self {
            ca_key_id: ca.key_id().to_vec(),
            base: Table::build(crl)?,
            base_number: crl.number(),
            delta: Table::default(),
            delta_number: None,
            fresh_until: crl.next_update().unwrap_or(UnixTime::from_secs(0)),
            as_of: crl.this_update(),
        })
    }

    /// Applies a delta CRL (which replaces any earlier delta), verified against the same CA.
    pub fn apply_delta(
        &mut self,
        crl: &Crl,
        ca: &CaCertificate,
        at: UnixTime,
    ) -> Result<(), Error> {
        if ca.key_id() != self.ca_key_id {
            return Err(Error::CrlWrongIssuer);
        }
        crl.verify(ca, at)?;
        let Some(base) = crl.base_number() else {
            return Err(Error::CrlWrongKind {
                expected: CrlKind::Delta,
            });
        };
        // RFC 5280 §5.2.4: usable with a complete CRL numbered at least its base and below itself.
        let held = self.delta_number.unwrap_or(self.base_number);
        if base > self.base_number || crl.number() <= held {
            return Err(Error::CrlOutOfSequence {
                held,
                found: crl.number(),
                base: Some(base),
            });
        }
        self.delta = Table::build(crl)?;
        self.delta_number = Some(crl.number());
        self.fresh_until = crl.next_update().unwrap_or(UnixTime::from_secs(0));
        self.as_of = crl.this_update();
        Ok(())
    }

    /// The status of `serial` at `at`.
    #[inline]
    pub fn lookup(&self, serial: &IssuanceNumber, at: UnixTime) -> RevocationStatus {
        if at > self.fresh_until {
            return RevocationStatus::Stale {
                next_update: self.fresh_until,
            };
        }
        let slot = if self.delta.is_empty() {
            self.base.get(serial)
        } else {
            self.delta.get(serial).or_else(|| self.base.get(serial))
        };
        match slot {
            None => RevocationStatus::Good,
            Some(s) if s.reason == RevocationReason::RemoveFromCrl as u8 => RevocationStatus::Good,
            Some(s) => RevocationStatus::Revoked {
                reason: RevocationReason::from_code(s.reason),
                revoked_at: UnixTime::from_secs(u64::from(s.time)),
            },
        }
    }

    /// The key identifier of the CA whose CRLs these are.
    pub fn ca_key_id(&self) -> &[u8] {
        &self.ca_key_id
    }

    /// The complete CRL's number.
    pub fn base_number(&self) -> u64 {
        self.base_number
    }

    /// The applied delta CRL's number, if any.
    pub fn delta_number(&self) -> Option<u64> {
        self.delta_number
    }

    /// As of when the index knows the revocations (the newest CRL's thisUpdate): one made
    /// after this is not in it.
    pub fn as_of(&self) -> UnixTime {
        self.as_of
    }

    /// Until when the index answers (the newest CRL's nextUpdate).
    pub fn fresh_until(&self) -> UnixTime {
        self.fresh_until
    }

    /// Entries held (complete plus delta).
    pub fn len(&self) -> usize {
        self.base.len() + self.delta.len()
    }

    /// Whether no certificate is revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of memory the index holds (what the benchmark reports per entry).
    pub fn resident_bytes(&self) -> usize {
        self.base.resident_bytes() + self.delta.resident_bytes()
    }
}

const NO_REASON: u8 = 0xff;

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    key: u64,
    // Seconds since the epoch: u32 lasts until 2106, beyond any certificate in use.
    time: u32,
    reason: u8,
}

#[derive(Clone, Debug, Default)]
struct Table {
    // dir[b]..dir[b+1] is bucket b's range in `slots`.
    dir: Vec<u32>,
    slots: Vec<Slot>,
    shift: u32,
    long: HashMap<IssuanceNumber, Slot>,
}

impl Table {
    fn build(crl: &Crl) -> Result<Self, Error> {
        let mut short = Vec::new();
        let mut long = HashMap::new();
        for entry in crl.entries() {
            let entry = entry?;
            let slot = Slot {
                key: entry.serial.to_u64().unwrap_or(0),
                time: u32::try_from(entry.revoked_at.as_secs()).unwrap_or(u32::MAX),
                reason: entry.reason.map_or(NO_REASON, RevocationReason::code),
            };
            match entry.serial.to_u64() {
                Some(_) => short.push(slot),
                None => {
                    long.insert(entry.serial, slot);
                }
            }
        }
        let mut table = Self::from_slots(short);
        table.long = long;
        Ok(table)
    }

    fn from_slots(entries: Vec<Slot>) -> Self {
        if entries.is_empty() {
            return Self::default();
        }
        // About two slots per bucket; at least two buckets so the shift stays below 64.
        let bits = (entries.len().next_power_of_two().trailing_zeros()).max(2) - 1;
        let shift = 64 - bits;
        let buckets = 1usize << bits;
        let mut dir = vec![0u32; buckets + 1];
        for s in &entries {
            dir[bucket(s.key, shift) + 1] += 1;
        }
        for b in 0..buckets {
            dir[b + 1] += dir[b];
        }
        let mut fill: Vec<u32> = dir[..buckets].to_vec();
        let mut slots = vec![Slot::default(); entries.len()];
        for s in entries {
            let b = bucket(s.key, shift);
            slots[fill[b] as usize] = s;
            fill[b] += 1;
        }
        Self {
            dir,
            slots,
            shift,
            long: HashMap::new(),
        }
    }

    #[inline]
    fn get(&self, serial: &IssuanceNumber) -> Option<&Slot> {
        match serial.to_u64() {
            Some(key) => {
                if self.slots.is_empty() {
                    return None;
                }
                let b = bucket(key, self.shift);
                let (lo, hi) = (self.dir[b] as usize, self.dir[b + 1] as usize);
                self.slots[lo..hi].iter().find(|s| s.key == key)
            }
            None => self.long.get(serial),
        }
    }

    fn len(&self) -> usize {
        self.slots.len() + self.long.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn resident_bytes(&self) -> usize {
        self.dir.capacity() * 4
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.long.capacity() * (std::mem::size_of::<IssuanceNumber>() + 24)
    }
}

#[inline]
fn bucket(key: u64, shift: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}
