//! A relying party's event stream (after the OpenID Shared Signals Framework's stream
//! configuration): push to its endpoint (RFC 8935) or poll (RFC 8936), and which event kinds it
//! wants. Push delivery keeps events in order: only the oldest pending event is tried, and after a
//! failure it waits, doubling from one second up to an hour, while the events queue up behind it
//! in the outbox; nothing is dropped. A SET the receiver refuses (HTTP 400, RFC 8935 §2.3) is
//! not sent again: it is recorded with the receiver's reason and the next one goes.

use mykey_pki::UnixTime;

use crate::{EventKind, Platform, PlatformError, RelyingParty, RelyingPartyId};

/// How a stream's events reach the relying party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The platform POSTs each SET to `endpoint_url` (RFC 8935).
    Push {
        /// An `https` URL (`http` only to a loopback host, for development).
        endpoint_url: String,
        /// Sent as the `Authorization` header, if the receiver wants one.
        authorization_header: Option<String>,
    },
    /// The relying party polls `/v1/rp/events` (RFC 8936).
    Poll,
}

/// A stream as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    /// Push or poll.
    pub delivery: Delivery,
    /// The kinds it wants (never empty).
    pub events_requested: Vec<EventKind>,
}

/// A stream with its delivery's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    /// What the relying party configured.
    pub config: StreamConfig,
    /// Failed pushes of the oldest pending event since the last success.
    pub attempts: u32,
    /// When a push is tried next.
    pub next_attempt_at: UnixTime,
    /// Why the last push failed.
    pub last_error: Option<String>,
    /// When an event was last delivered (pushed and taken, or acknowledged).
    pub last_delivered_at: Option<UnixTime>,
    /// Events waiting for the relying party.
    pub pending: u64,
}

/// What became of one push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// The receiver took it (HTTP 202).
    Delivered,
    /// The receiver refused it for good (HTTP 400 with its reason).
    Refused(String),
    /// It did not get through (unreachable, timed out, another status): try again later.
    Failed(String),
}

/// The next SET to push on a stream.
#[derive(Clone, Debug)]
pub struct Push {
    /// Where.
    pub endpoint_url: String,
    /// The `Authorization` header to send, if any.
    pub authorization_header: Option<String>,
    /// The SET's `jti`.
    pub jti: String,
    /// The SET.
    pub set: String,
}

/// How a sealed `Authorization` header begins in the store.
const SEALED: &str = "sealed:";

fn header_purpose(rp: RelyingPartyId) -> String {
    format!("streams:{}:authorization_header", rp.0)
}

/// Longest wait between two tries.
const MAX_BACKOFF: u64 = 3600;

fn check_endpoint(url: &str) -> Result<(), PlatformError> {
    let bad = PlatformError::InvalidStream;
    if url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("endpoint_url is not a URL"));
    }
    if url.starts_with("https://") && url.len() > "https://".len() {
        return Ok(());
    }
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|h| {
            url.strip_prefix(h)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if loopback {
        Ok(())
    } else {
        Err(bad(
            "endpoint_url must be https (http only to a loopback host)",
        ))
    }
}

impl Platform {
    /// Creates or replaces the relying party's stream; its delivery state starts afresh.
    pub async fn set_stream(
        &self,
        rp: &RelyingParty,
        config: &StreamConfig,
    ) -> Result<Stream, PlatformError> {
        if let Delivery::Push {
            endpoint_url,
            authorization_header,
        } = &config.delivery
        {
            check_endpoint(endpoint_url)?;
            if authorization_header
                .as_deref()
                .is_some_and(|h| h.len() > 4096 || h.chars().any(char::is_control))
            {
                return Err(PlatformError::InvalidStream(
                    "authorization_header is not a header value",
                ));
            }
        }
        if config.events_requested.is_empty() {
            return Err(PlatformError::InvalidStream(
                "events_requested names no event type this platform sends",
            ));
        }
        let mut sealed = config.clone();
        if let Delivery::Push {
            authorization_header: Some(h),
            ..
        } = &mut sealed.delivery
        {
            *h = self.seal_header(rp.id, h)?;
        }
        self.store
            .set_stream(rp.id, &sealed, self.clock.now())
            .await?;
        self.stream(rp).await
    }

    /// A receiver's `Authorization` header as the store keeps it: sealed
    /// ([`crate::PlatformConfig::sealing_key`]), bound to its relying party, base64 after
    /// [`SEALED`].
    fn seal_header(&self, rp: RelyingPartyId, header: &str) -> Result<String, PlatformError> {
        use base64::Engine;
        let sealed = self
            .sealing
            .seal(&header_purpose(rp), header.as_bytes())
            .map_err(|e| PlatformError::Store(crate::StoreError(e.to_string())))?;
        Ok(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(sealed)
        ))
    }

    /// The header [`seal_header`](Self::seal_header) sealed; one stored before headers were
    /// sealed is taken as it is.
    fn open_header(&self, rp: RelyingPartyId, stored: String) -> Result<String, PlatformError> {
        use base64::Engine;
        let Some(b64) = stored.strip_prefix(SEALED) else {
            return Ok(stored);
        };
        let unreadable = || {
            PlatformError::Store(crate::StoreError(format!(
                "the sealed authorization header of relying party {}'s stream does not open",
                rp.0
            )))
        };
        let sealed = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64)
            .map_err(|_| unreadable())?;
        let plain = self
            .sealing
            .open(&header_purpose(rp), &sealed)
            .map_err(|_| unreadable())?;
        String::from_utf8(plain).map_err(|_| unreadable())
    }

    /// The relying party's stream and its delivery's state.
    pub async fn stream(&self, rp: &RelyingParty) -> Result<Stream, PlatformError> {
        self.store
            .stream(rp.id)
            .await?
            .ok_or(PlatformError::StreamUnknown)
    }

    /// Removes the relying party's stream (events stay in the outbox, to be polled).
    pub async fn delete_stream(&self, rp: &RelyingParty) -> Result<(), PlatformError> {
        match self.store.delete_stream(rp.id).await? {
            true => Ok(()),
            false => Err(PlatformError::StreamUnknown),
        }
    }

    /// Push streams whose next try is due, with events waiting.
    pub async fn due_streams(&self) -> Result<Vec<RelyingPartyId>, PlatformError> {
        Ok(self.store.due_push_streams(self.clock.now(), 1000).await?)
    }

    /// The oldest pending event of a push stream, signed, if one waits and its try is due.
    pub async fn next_push(&self, rp: RelyingPartyId) -> Result<Option<Push>, PlatformError> {
        let Some(stream) = self.store.stream(rp).await? else {
            return Ok(None);
        };
        let Delivery::Push {
            endpoint_url,
            authorization_header,
        } = stream.config.delivery
        else {
            return Ok(None);
        };
        if stream.next_attempt_at > self.clock.now() {
            return Ok(None);
        }
        let Some(rp) = self.store.relying_party(rp).await? else {
            return Ok(None);
        };
        let kinds = &stream.config.events_requested;
        let Some(event) = self.store.pending_events(rp.id, kinds, 1).await?.pop() else {
            return Ok(None);
        };
        Ok(Some(Push {
            endpoint_url,
            authorization_header: authorization_header
                .map(|h| self.open_header(rp.id, h))
                .transpose()?,
            set: self.security_event_token(&rp, &event)?,
            jti: event.jti,
        }))
    }

    /// Records what became of pushing `jti`: delivered or refused (the next event may go), or
    /// failed (the stream waits, twice as long as last time, at most an hour).
    pub async fn record_push(
        &self,
        rp: RelyingPartyId,
        jti: &str,
        outcome: &PushOutcome,
    ) -> Result<(), PlatformError> {
        let now = self.clock.now();
        let attempts = self.store.stream(rp).await?.map_or(0, |s| s.attempts);
        let next = match outcome {
            PushOutcome::Failed(_) => now.plus((1u64 << attempts.min(12)).min(MAX_BACKOFF)),
            _ => now,
        };
        self.store.record_push(rp, jti, outcome, now, next).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_endpoint;

    #[test]
    fn endpoints_are_https_or_loopback() {
        for ok in [
            "https://rp.example/events",
            "http://127.0.0.1:9000/x",
            "http://localhost/x",
            "http://[::1]:80",
        ] {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://rp.example/events",
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example",
            "ftp://x",
            "https://",
            "https://a b",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }
}
