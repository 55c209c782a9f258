//! Terms versions (Terms Art 3, 12). Operators publish each version with the moment it takes
//! effect; unless the change is urgent (with the reason recorded), that moment is at least seven
//! days after publication (Art 12.2). The version in force at a time is the published one with
//! the latest `effective_at` not after it, and it is what every consent must name. A fresh
//! install holds one seeded version (`2026-11-01`, in force since the epoch), so consents work
//! before any operator publishes.

use mykey_pki::UnixTime;

use crate::{Platform, PlatformError};

/// Art 12.2: the announcement comes no later than seven days before the change.
pub const TERMS_NOTICE_SECS: u64 = 7 * 24 * 60 * 60;

/// The farthest ahead a version may take effect: ten years. Further is a mistake (a
/// "9999-12-31" placeholder), and a published version cannot be taken back.
const TERMS_HORIZON_SECS: u64 = 10 * 366 * 24 * 60 * 60;

/// A published terms version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermsVersion {
    /// Its name (`2026-11-01`, …): 1–64 characters of A–Z, a–z, 0–9, `.`, `_`, `-`.
    pub version: String,
    /// When it takes effect.
    pub effective_at: UnixTime,
    /// Where its full text is, if given.
    pub text_url: Option<String>,
    /// A summary of the change, if given.
    pub summary: Option<String>,
    /// When the operator published it.
    pub published_at: UnixTime,
    /// Why it was published with less than seven days' notice (Art 12.2's urgent case).
    pub urgent_reason: Option<String>,
}

/// The terms version in force as read at `read_at`: it holds for [`TERMS_CACHE_SECS`], and
/// not past the next version's taking effect. (Another node's urgent publication is seen
/// within that time; this node's at once.)
#[derive(Debug)]
pub(crate) struct InForce {
    version: String,
    read_at: UnixTime,
    next: Option<UnixTime>,
}

/// Seconds the terms version in force is answered from memory.
const TERMS_CACHE_SECS: u64 = 5;

impl InForce {
    fn holds_at(&self, now: UnixTime) -> bool {
        now >= self.read_at
            && now.as_secs() < self.read_at.as_secs() + TERMS_CACHE_SECS
            && self.next.is_none_or(|n| now < n)
    }
}

/// What an operator publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTerms {
    /// Its name.
    pub version: String,
    /// When it takes effect.
    pub effective_at: UnixTime,
    /// Where its full text is.
    pub text_url: Option<String>,
    /// A summary of the change.
    pub summary: Option<String>,
    /// `Some(reason)` for an urgent change, which may take effect with less notice.
    pub urgent_reason: Option<String>,
}

fn valid_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub(crate) fn valid_text(s: &str, max: usize) -> bool {
    let s = s.trim();
    !s.is_empty() && s.chars().count() <= max && s.chars().all(|c| !c.is_control() || c == '\n')
}

impl Platform {
    /// Publishes a terms version. Refused unless it takes effect at least seven days from now
    /// (Art 12.2) — or, for an urgent change with a reason, not before now; the version name
    /// and the moment must both be new.
    pub async fn publish_terms(&self, t: NewTerms) -> Result<TermsVersion, PlatformError> {
        if !valid_version(&t.version) {
            return Err(PlatformError::Invalid(crate::InvalidError::Terms(
                "a version is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
            )));
        }
        if t.text_url.is_none() && t.summary.is_none() {
            return Err(PlatformError::Invalid(crate::InvalidError::Terms(
                "give the text's URL or a summary",
            )));
        }
        if let Some(u) = &t.text_url
            && (!(u.starts_with("https://") || u.starts_with("http://")) || !valid_text(u, 2000))
        {
            return Err(PlatformError::Invalid(crate::InvalidError::Terms(
                "text_url must be an http(s) URL",
            )));
        }
        if let Some(s) = &t.summary
            && !valid_text(s, 4000)
        {
            return Err(PlatformError::Invalid(crate::InvalidError::Terms(
                "a summary is 1 to 4000 characters",
            )));
        }
        if let Some(r) = &t.urgent_reason
            && !valid_text(r, 2000)
        {
            return Err(PlatformError::Invalid(crate::InvalidError::Terms(
                "an urgent change needs a reason of 1 to 2000 characters",
            )));
        }
        let now = self.clock.now();
        let earliest = match t.urgent_reason {
            Some(_) => now,
            None => now.plus(TERMS_NOTICE_SECS),
        };
        if t.effective_at > now.plus(TERMS_HORIZON_SECS) {
            return Err(PlatformError::Invalid(crate::InvalidError::Terms(
                "effective_at is more than ten years ahead",
            )));
        }
        if t.effective_at < earliest {
            return Err(PlatformError::Invalid(
                crate::InvalidError::TermsNoticeTooShort {
                    effective_at: t.effective_at,
                    earliest,
                },
            ));
        }
        let published = TermsVersion {
            version: t.version,
            effective_at: t.effective_at,
            text_url: t.text_url,
            summary: t.summary.map(|s| s.trim().to_owned()),
            published_at: now,
            urgent_reason: t.urgent_reason.map(|s| s.trim().to_owned()),
        };
        if self.store.insert_terms(&published).await? {
            if let Ok(mut cached) = self.terms_cache.lock() {
                *cached = None;
            }
            Ok(published)
        } else {
            Err(PlatformError::Conflict(crate::Conflict::TermsVersionExists))
        }
    }

    /// Every published terms version (oldest effective first) and the one in force now.
    pub async fn terms(&self) -> Result<(Vec<TermsVersion>, Option<String>), PlatformError> {
        let all = self.store.terms_versions().await?;
        let now = self.clock.now();
        let in_force = all
            .iter()
            .filter(|t| t.effective_at <= now)
            .max_by_key(|t| t.effective_at)
            .map(|t| t.version.clone());
        Ok((all, in_force))
    }

    /// The published versions not yet in force, soonest first: what the portal announces
    /// (Art 12.2).
    pub async fn coming_terms(&self) -> Result<Vec<TermsVersion>, PlatformError> {
        let now = self.clock.now();
        let mut coming: Vec<TermsVersion> = self
            .store
            .terms_versions()
            .await?
            .into_iter()
            .filter(|t| t.effective_at > now)
            .collect();
        coming.sort_by_key(|t| t.effective_at);
        Ok(coming)
    }

    /// The terms version in force now, which consents must name.
    pub async fn terms_version(&self) -> Result<String, PlatformError> {
        let now = self.clock.now();
        if let Ok(cached) = self.terms_cache.lock()
            && let Some(c) = cached.as_ref()
            && c.holds_at(now)
        {
            return Ok(c.version.clone());
        }
        let version = self
            .store
            .terms_in_force(now)
            .await?
            .map(|t| t.version)
            // The seeded version is in force from the epoch on; only a damaged store lacks one.
            .ok_or_else(|| PlatformError::Store(crate::StoreError::corrupt("no terms in force")))?;
        let next = self
            .store
            .terms_versions()
            .await?
            .iter()
            .map(|t| t.effective_at)
            .filter(|at| *at > now)
            .min();
        if let Ok(mut cached) = self.terms_cache.lock() {
            *cached = Some(InForce {
                version: version.clone(),
                read_at: now,
                next,
            });
        }
        Ok(version)
    }

    /// Whether `consent` names exactly `wanted` (in any order, each once) under the terms in
    /// force now.
    pub(crate) async fn check_consent(
        &self,
        consent: &crate::NewConsent,
        wanted: &[crate::ConsentItem],
    ) -> Result<(), PlatformError> {
        let mut wanted: Vec<&str> = wanted.iter().map(|i| i.name).collect();
        let mut given: Vec<&str> = consent.items.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        given.sort_unstable();
        if given != wanted || consent.terms_version != self.terms_version().await? {
            return Err(PlatformError::Invalid(
                crate::InvalidError::ConsentIncomplete,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_texts_are_checked() {
        assert!(valid_version("2027-04-01"));
        assert!(valid_version("v2.1_rc-1"));
        for bad in ["", "a b", "版", &"x".repeat(65)] {
            assert!(!valid_version(bad), "{bad}");
        }
        assert!(valid_text("line one\nline two", 100));
        assert!(!valid_text("  ", 100));
        assert!(!valid_text("bell\u{7}", 100));
        assert!(!valid_text("long", 3));
    }
}
