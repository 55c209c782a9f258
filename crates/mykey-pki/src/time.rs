//! Time as seconds since the Unix epoch, passed into every check.

use std::fmt;
use std::time::{Duration, SystemTime};

use der::asn1::GeneralizedTime;
use x509_cert::time::Time;

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The time `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// The system clock's time. Only edges (binaries, servers) call this; checks take a time.
    pub fn now() -> Self {
        let d = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self(d.as_secs())
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// This time plus `secs` seconds (saturating).
    pub const fn plus(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// This time minus `secs` seconds (saturating at the epoch).
    pub const fn minus(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs))
    }

    pub(crate) fn from_x509(t: &Time) -> Self {
        Self(t.to_unix_duration().as_secs())
    }

    pub(crate) fn from_generalized(t: &GeneralizedTime) -> Self {
        Self(t.to_unix_duration().as_secs())
    }

    /// As an X.509 `Time`: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
    pub fn to_x509(self) -> der::Result<Time> {
        let d = der::DateTime::from_unix_duration(Duration::from_secs(self.0))?;
        if d.year() < 2050 {
            Ok(Time::UtcTime(der::asn1::UtcTime::from_date_time(d)?))
        } else {
            Ok(Time::GeneralTime(GeneralizedTime::from_date_time(d)))
        }
    }

    /// As a GeneralizedTime (OCSP uses only this form).
    pub fn to_generalized(self) -> der::Result<GeneralizedTime> {
        GeneralizedTime::from_unix_duration(Duration::from_secs(self.0))
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match der::DateTime::from_unix_duration(Duration::from_secs(self.0)) {
            Ok(d) => write!(
                f,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minutes(),
                d.seconds()
            ),
            Err(_) => write!(f, "@{}", self.0),
        }
    }
}
