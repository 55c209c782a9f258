//! A relying party's event stream (after the OpenID Shared Signals Framework's stream
//! configuration): push to its endpoint (RFC 8935) or poll (RFC 8936), and which event kinds it
//! wants. Push delivery keeps events in order: only the oldest pending event is tried, and after a
//! failure it waits, doubling from one second up to an hour, while the events queue up behind it
//! in the outbox; nothing is dropped. A SET the receiver refuses (HTTP 400, RFC 8935 §2.3) is
//! not sent again: it is recorded with the receiver's reason and the next one goes.

use std::net::{IpAddr, Ipv4Addr};

use mykey_pki::UnixTime;

use crate::{EventKind, Platform, PlatformError, RelyingParty, RelyingPartyId};

/// How a stream's events reach the relying party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The platform POSTs each SET to `endpoint_url` (RFC 8935).
    Push {
        /// An `https` URL on the public Internet ([`check_endpoint`]).
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
    format!("streams:{}:authorization_header", rp.get())
}

/// Longest wait between two tries.
const MAX_BACKOFF: u64 = 3600;

/// Whether the platform may send to `ip`: an address on the public Internet. Loopback,
/// private (RFC 1918, unique-local), link-local (cloud metadata services live there), shared
/// (CGNAT), multicast, documentation, benchmarking and reserved ranges are refused, IPv4 mapped
/// or translated into IPv6 included. Every push checks the addresses it connects to.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || v4.octets() == [168, 63, 129, 16] // a cloud's host service (Azure WireServer)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_address(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96), SIIT (::ffff:0:0/96) and 6to4 (2002::/16) carry an IPv4
            // address.
            let siit = s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0;
            if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) || siit {
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                return is_public_address(IpAddr::V4(v4));
            }
            if s[0] == 0x2002 {
                let v4 =
                    Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
                return is_public_address(IpAddr::V4(v4));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 (RFC 8215)
                || (s[0] == 0x2001 && s[1] == 0) // Teredo
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0100 && s[1..4] == [0; 3]) // discard
                || s[..6] == [0; 6]) // IPv4-compatible and other reserved ::/80
        }
    }
}

/// A push endpoint, parsed: `https`, a host, no user name or password (which would also let
/// `http://127.0.0.1:@other.host/` pass a prefix check), no fragment; an address given as such
/// must be public ([`is_public_address`]). With `private` (a development setting), `http` and
/// private addresses are allowed too.
pub fn check_endpoint(raw: &str, private: bool) -> Result<url::Url, PlatformError> {
    let bad = |r: &'static str| PlatformError::Invalid(crate::InvalidError::Stream(r));
    if raw.len() > 2000 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("endpoint_url is not a URL"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad("endpoint_url is not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if private => {}
        _ => return Err(bad("endpoint_url must be https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("endpoint_url must not carry a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(bad("endpoint_url must not have a fragment"));
    }
    let literal = match url.host() {
        None => return Err(bad("endpoint_url names no host")),
        Some(url::Host::Domain(_)) => None,
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    if let Some(ip) = literal
        && !private
        && !is_public_address(ip)
    {
        return Err(bad(
            "endpoint_url must be on the public Internet (not loopback, private, link-local or reserved)",
        ));
    }
    Ok(url)
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
            check_endpoint(endpoint_url, self.config.push_to_private_addresses)?;
            if authorization_header
                .as_deref()
                .is_some_and(|h| h.len() > 4096 || h.chars().any(char::is_control))
            {
                return Err(PlatformError::Invalid(crate::InvalidError::Stream(
                    "authorization_header is not a header value",
                )));
            }
        }
        if config.events_requested.is_empty() {
            return Err(PlatformError::Invalid(crate::InvalidError::Stream(
                "events_requested names no event type this platform sends",
            )));
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
            .map_err(|_| {
                PlatformError::Internal(crate::Internal("sealing a stream header failed"))
            })?;
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
            PlatformError::Store(crate::StoreError::corrupt(format!(
                "the sealed authorization header of relying party {}'s stream does not open",
                rp.get()
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

    /// Seals the receivers' `Authorization` headers an earlier version stored as given, and has
    /// the store compact its files so that the clear text is gone (run at start); answers how
    /// many were sealed.
    pub async fn seal_stored_headers(&self) -> Result<u64, PlatformError> {
        let plain = self.store.plaintext_stream_headers().await?;
        let mut changes = Vec::with_capacity(plain.len());
        for (rp, header) in plain {
            let sealed = self.seal_header(rp, &header)?;
            changes.push((rp, header, sealed));
        }
        Ok(self.store.reseal_stream_headers(&changes).await?)
    }

    /// The relying party's stream and its delivery's state.
    pub async fn stream(&self, rp: &RelyingParty) -> Result<Stream, PlatformError> {
        self.store
            .stream(rp.id)
            .await?
            .ok_or(PlatformError::NotFound(crate::NotFound::Stream))
    }

    /// Removes the relying party's stream (events stay in the outbox, to be polled).
    pub async fn delete_stream(&self, rp: &RelyingParty) -> Result<(), PlatformError> {
        match self.store.delete_stream(rp.id).await? {
            true => Ok(()),
            false => Err(PlatformError::NotFound(crate::NotFound::Stream)),
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
        let pending = self.store.pending_events(rp.id, kinds, 1).await?;
        let Some(event) = self.withhold_ppids(&rp, pending).await?.pop() else {
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
    use super::{check_endpoint, is_public_address};

    #[test]
    fn endpoints_are_https_urls_of_public_hosts() {
        for ok in [
            "https://rp.example/events",
            "https://rp.example:8443/x?y=1",
            "https://93.184.216.34/x",
            "https://[2606:2800:220:1:248:1893:25c8:1946]/x",
        ] {
            assert!(check_endpoint(ok, false).is_ok(), "{ok}");
        }
        // Issue 19, finding 3: each made the platform call somewhere it must not.
        for bad in [
            "http://127.0.0.1:@other.host/",
            "https://127.0.0.1:@other.host/",
            "https://user:pw@rp.example/",
            "http://rp.example/events",
            "http://127.0.0.1:9000/x",
            "https://127.0.0.1/x",
            "https://localhost.:443@169.254.169.254/",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.1.2.3/",
            "https://192.168.0.1/",
            "https://100.100.100.200/",
            "https://[::1]/",
            "https://[fe80::1]/",
            "https://[fd00:ec2::254]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[2002:7f00:1::]/",
            "https://[::ffff:0:7f00:1]/",
            "https://[64:ff9b:1::a00:1]/",
            "https://[fec0::1]/",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "https://168.63.129.16/",
            "https://0/",
            "https://2130706433/",
            "https://rp.example/#x",
            "ftp://x",
            "https://",
            "https://a b",
        ] {
            assert!(check_endpoint(bad, false).is_err(), "{bad}");
        }
        // The development setting allows http and private addresses, never credentials.
        assert!(check_endpoint("http://127.0.0.1:9000/x", true).is_ok());
        assert!(check_endpoint("http://127.0.0.1:@other.host/", true).is_err());
    }

    #[test]
    fn public_addresses() {
        for ip in ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            assert!(is_public_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "0.0.0.0",
            "172.16.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "::",
            "ff02::1",
        ] {
            assert!(!is_public_address(ip.parse().unwrap()), "{ip}");
        }
    }
}
