//! Rate limits at the door (Terms Art 9.2), before a request is admitted, so that one source or
//! one client cannot take what the others need: token buckets per source address (IPv4, or the
//! IPv6 /64) and per client (the `client_id` of HTTP Basic, else the bearer token), at rates the
//! operator sets. The per-client rate is taken twice: at the door by the credentials as
//! presented (before anything is looked up), and again once the relying party is known — in
//! `/v1` by its authentication, at the token endpoint by `client_secret_basic` or
//! `private_key_jwt` — by the relying party itself ([`charge_relying_party`]), so that one
//! relying party's many access tokens and assertions share one rate. And a client that keeps presenting bad credentials from one source is slowed
//! down there — after [`BAD_CREDENTIALS_FREE`] failures each further attempt waits twice as long
//! as the last, up to [`BAD_CREDENTIALS_MAX_WAIT`] seconds — without locking the client out
//! everywhere else. A refusal is `429` with `Retry-After` and the problem `rate-limited`, made
//! without touching the database.
//!
//! Behind a reverse proxy every request comes from the proxy: only a peer named as a trusted
//! proxy is believed about the client's address (`X-Forwarded-For`, read from the right, past
//! the trusted proxies), and the request is then handled as coming from that address — by these
//! limits, the short-code budget and the operator log alike.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

/// Failures of one client's credentials from one source before it is slowed down.
pub const BAD_CREDENTIALS_FREE: u32 = 5;
/// The longest a client with bad credentials is made to wait, in seconds.
pub const BAD_CREDENTIALS_MAX_WAIT: u64 = 300;

/// A rate: `per_second` on average, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Requests a second, on average.
    pub per_second: f64,
    /// Requests at once.
    pub burst: f64,
}

/// An address range: an address and how many leading bits must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    bits: u8,
}

impl std::str::FromStr for Network {
    type Err = String;

    /// `192.0.2.7`, `10.0.0.0/8`, `2001:db8::/32`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an address or a network (192.0.2.0/24)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => b
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length is 0 to {max}"))?,
        };
        Ok(Self { addr, bits })
    }
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What the operator sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RateLimits {
    /// Per source address (IPv6: per /64); `None`: no limit.
    pub per_source: Option<Rate>,
    /// Per client (Basic `client_id`, else bearer token); `None`: no limit.
    pub per_client: Option<Rate>,
    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<Network>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key, in shards; a full bucket is the same as none, so the map is pruned of
/// full ones when it grows.
struct Buckets {
    shards: Vec<Mutex<HashMap<u64, Bucket>>>,
    hasher: std::collections::hash_map::RandomState,
}

const SHARDS: usize = 16;
/// Buckets a shard holds before the full ones are dropped.
const PRUNE_AT: usize = 4096;

impl Buckets {
    fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    fn key(&self, k: impl Hash) -> u64 {
        self.hasher.hash_one(k)
    }

    /// Takes one token from `key`'s bucket; `Err(seconds)` until there is one.
    fn take(&self, key: u64, rate: Rate, now: Instant) -> Result<(), u64> {
        let mut shard = self.shards[(key as usize) % SHARDS].lock();
        if shard.len() >= PRUNE_AT {
            shard.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_second < rate.burst
            });
            // Still half full of spent buckets: a flood of keys; forgotten, so that the scan
            // is not paid again soon (the map stays bounded).
            if shard.len() >= PRUNE_AT / 2 {
                shard.clear();
            }
        }
        let b = shard.entry(key).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() * rate.per_second;
        b.tokens = (b.tokens + refill).min(rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Failures of one client from one source, and until when it waits.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    until: Instant,
    last: Instant,
}

/// The limits, as the handlers see them (a request extension set at the door): for the
/// per-client rate of an authenticated relying party.
#[derive(Clone)]
pub(crate) struct Door(pub(crate) std::sync::Arc<Admission>);

/// Takes one request from relying party `rp`'s own rate, once it is authenticated (see the
/// module's documentation); `Err` is the `429` to answer. Without a per-client rate, or
/// outside the listener (tests that call the router), nothing is taken.
pub(crate) fn charge_relying_party(
    door: Option<&Door>,
    rp: mykey_platform::RelyingPartyId,
) -> Result<(), Response> {
    let Some(Door(a)) = door else {
        return Ok(());
    };
    let Some(rate) = a.limits.per_client else {
        return Ok(());
    };
    let key = a.relying_parties.key(rp);
    a.relying_parties
        .take(key, rate, Instant::now())
        .map_err(|s| {
            refused(
                s,
                "too many requests from this relying party; try again later",
            )
        })
}

/// The state of the limits.
pub(crate) struct Admission {
    limits: RateLimits,
    /// Requests in flight from one source, at most (its connections' limit: over HTTP/2 one
    /// connection carries many).
    per_source_in_flight: usize,
    in_flight: Mutex<HashMap<IpAddr, usize>>,
    sources: Buckets,
    clients: Buckets,
    relying_parties: Buckets,
    failures: Mutex<HashMap<u64, Failures>>,
    hasher: std::collections::hash_map::RandomState,
}

/// What a request was admitted as, for counting its answer; its place in its source's count
/// of requests in flight is given back when it is dropped.
pub(crate) struct Admitted<'a> {
    failure_key: Option<u64>,
    place: Option<(&'a Admission, IpAddr)>,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if let Some((a, source)) = self.place.take() {
            let mut counts = a.in_flight.lock();
            if let Some(n) = counts.get_mut(&source) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&source);
                }
            }
        }
    }
}

fn refused(retry_after: u64, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "urn:mykey:problem:rate-limited",
        "title": "Too many requests",
        "status": 429,
        "detail": detail,
    });
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    r.extensions_mut()
        .insert(crate::http::metrics::ProblemKind("rate-limited"));
    r
}

impl Admission {
    pub(crate) fn new(limits: RateLimits, per_source_in_flight: usize) -> Self {
        Self {
            limits,
            per_source_in_flight: per_source_in_flight.max(1),
            in_flight: Mutex::new(HashMap::new()),
            sources: Buckets::new(),
            clients: Buckets::new(),
            relying_parties: Buckets::new(),
            failures: Mutex::new(HashMap::new()),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// The client's address: the peer's, or — from a trusted proxy — the rightmost address of
    /// `X-Forwarded-For` that is not a trusted proxy's.
    pub(crate) fn client_address(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let trusted = |ip: IpAddr| self.limits.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(peer) {
            return peer;
        }
        let mut hops: Vec<&str> = Vec::new();
        for v in headers.get_all("x-forwarded-for") {
            let Ok(v) = v.to_str() else {
                return peer;
            };
            hops.extend(v.split(','));
        }
        // From the right: each trusted proxy's word is believed about the hop before it; the
        // first hop that is not a trusted proxy is the client. A hop that is not an address
        // (with a port or not) ends the reading: what is left of it is the client's own word.
        let mut client = canonical(peer);
        for hop in hops.iter().rev() {
            let hop = hop.trim();
            let Some(ip) = hop
                .parse::<IpAddr>()
                .ok()
                .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
            else {
                return client;
            };
            let ip = canonical(ip);
            if !trusted(ip) {
                return ip;
            }
            client = ip;
        }
        client
    }

    /// Admits the request, or answers why not. `req`'s peer address is replaced by the client's
    /// (see [`Admission::client_address`]).
    pub(crate) fn admit(&self, req: &mut axum::extract::Request) -> Result<Admitted<'_>, Response> {
        let now = Instant::now();
        let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied()
        else {
            return Ok(Admitted {
                failure_key: None,
                place: None,
            });
        };
        let client = self.client_address(peer.ip(), req.headers());
        if client != peer.ip() {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
        }
        if crate::listen::is_health(req.uri().path()) {
            return Ok(Admitted {
                failure_key: None,
                place: None,
            });
        }
        let source = crate::listen::source(client);
        if let Some(rate) = self.limits.per_source {
            let key = self.sources.key(source);
            self.sources
                .take(key, rate, now)
                .map_err(|s| refused(s, "too many requests from this address; try again later"))?;
        }
        let auth = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '));
        let basic = auth
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|_| crate::http::basic_credentials_of(req.headers()));
        let basic_id = basic.as_ref().map(|(id, _)| id.clone());
        if let Some(rate) = self.limits.per_client {
            // By the credentials as presented, the secret included: someone who knows only a
            // client's ID cannot spend its rate (a wrong secret is another bucket, and is
            // slowed down below).
            let key = match (&basic, auth) {
                (Some(credentials), _) => Some(self.clients.key(("basic", credentials))),
                (None, Some((scheme, token))) if scheme.eq_ignore_ascii_case("bearer") => {
                    Some(self.clients.key(("bearer", token.trim())))
                }
                _ => None,
            };
            if let Some(key) = key {
                self.clients.take(key, rate, now).map_err(|s| {
                    refused(s, "too many requests from this client; try again later")
                })?;
            }
        }
        let failure_key = basic_id.map(|id| self.failure_key(&id, source));
        if let Some(key) = failure_key {
            self.not_slowed(key, now)?;
        }
        {
            let mut counts = self.in_flight.lock();
            let n = counts.entry(source).or_insert(0);
            if *n >= self.per_source_in_flight {
                return Err(refused(
                    1,
                    "too many requests from this address are being handled; try again in a second",
                ));
            }
            *n += 1;
        }
        Ok(Admitted {
            failure_key,
            place: Some((self, source)),
        })
    }

    /// The key of client `id`'s failures from `source`.
    fn failure_key(&self, id: &str, source: IpAddr) -> u64 {
        self.hasher.hash_one((id, source))
    }

    /// `Err(429)` while the client of `key` waits after its failures.
    fn not_slowed(&self, key: u64, now: Instant) -> Result<(), Response> {
        if let Some(f) = self.failures.lock().get(&key)
            && f.until > now
        {
            let wait = (f.until - now).as_secs_f64().ceil().max(1.0) as u64;
            return Err(refused(
                wait,
                "the client's credentials failed too often from this address; try again later",
            ));
        }
        Ok(())
    }

    /// Before a `private_key_jwt` assertion naming client `id` is verified at the token
    /// endpoint (the door does not read the form): `Err(429)` while that client waits at the
    /// request's source after failed assertions, else the key to count the answer under
    /// ([`Admission::assertion_answered`]). The name is unverified here: a wrong one is another
    /// key, as a wrong Basic secret is.
    pub(crate) fn assertion_admitted(
        &self,
        id: &str,
        peer: Option<IpAddr>,
    ) -> Result<Option<u64>, Response> {
        let Some(peer) = peer else { return Ok(None) };
        let key = self.failure_key(id, crate::listen::source(peer));
        self.not_slowed(key, Instant::now())?;
        Ok(Some(key))
    }

    /// Counts an assertion's answer: refused (`invalid_client`) adds to the failures, accepted
    /// forgets them.
    pub(crate) fn assertion_answered(&self, key: u64, accepted: bool) {
        self.count(key, !accepted, accepted);
    }

    /// Counts the answer: a refusal of the client's credentials (401 `invalid-client`, or the
    /// token endpoint's `invalid_client`) adds to its failures from that source; an accepted one
    /// forgets them.
    pub(crate) fn answered(&self, a: &Admitted<'_>, r: &Response) {
        let Some(key) = a.failure_key else {
            return;
        };
        let bad = r.status() == StatusCode::UNAUTHORIZED
            && r.extensions()
                .get::<crate::http::metrics::ProblemKind>()
                .is_some_and(|k| k.0 == "invalid-client");
        self.count(key, bad, r.status().is_success());
    }

    /// Adds a failure to `key` (`bad`), or forgets its failures (`accepted`).
    fn count(&self, key: u64, bad: bool, accepted: bool) {
        let now = Instant::now();
        let mut failures = self.failures.lock();
        if !bad {
            if accepted {
                failures.remove(&key);
            }
            return;
        }
        if failures.len() >= PRUNE_AT * SHARDS {
            failures.retain(|_, f| f.until > now);
            // A flood of failures: bounded by forgetting them (each is still slowed at its
            // source's rate), so that no request pays for a scan again soon.
            if failures.len() >= PRUNE_AT * SHARDS / 2 {
                failures.clear();
            }
        }
        let f = failures.entry(key).or_insert(Failures {
            count: 0,
            until: now,
            last: now,
        });
        // Failures long past are forgiven.
        if now.duration_since(f.last).as_secs() > BAD_CREDENTIALS_MAX_WAIT {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
        if f.count > BAD_CREDENTIALS_FREE {
            let wait = 1u64
                .checked_shl(f.count - BAD_CREDENTIALS_FREE - 1)
                .unwrap_or(u64::MAX)
                .min(BAD_CREDENTIALS_MAX_WAIT);
            f.until = now + std::time::Duration::from_secs(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_match() {
        let n: Network = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        let one: Network = "2001:db8::1".parse().unwrap();
        assert!(one.contains("2001:db8::1".parse().unwrap()));
        assert!(!one.contains("2001:db8::2".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "example.com", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_trusted_proxy_is_believed_and_read_from_the_right() {
        let a = Admission::new(
            RateLimits {
                trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
                ..RateLimits::default()
            },
            256,
        );
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7, 10.0.0.3".parse().unwrap(),
        );
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let outsider: IpAddr = "192.0.2.1".parse().unwrap();
        // The client the last untrusted hop names; whatever it claimed before is its own word.
        assert_eq!(
            a.client_address(proxy, &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Not from a trusted proxy: the header is the client's word, not believed.
        assert_eq!(a.client_address(outsider, &h), outsider);
        // A hop that is not an address ends the reading: to its right is believed, to its left
        // not; a port is allowed.
        h.insert("x-forwarded-for", "junk, 198.51.100.7".parse().unwrap());
        assert_eq!(
            a.client_address(proxy, &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        h.insert(
            "x-forwarded-for",
            "198.51.100.7:4444, 10.0.0.3".parse().unwrap(),
        );
        assert_eq!(
            a.client_address(proxy, &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        h.insert("x-forwarded-for", "203.0.113.9, junk".parse().unwrap());
        assert_eq!(a.client_address(proxy, &h), proxy);
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, junk, 10.0.0.3".parse().unwrap(),
        );
        assert_eq!(
            a.client_address(proxy, &h),
            "10.0.0.3".parse::<IpAddr>().unwrap()
        );
    }

    /// Over HTTP/1.1 or HTTP/2 alike, one address holds at most its share of the places in
    /// flight; a place is given back when its request is answered.
    #[test]
    fn one_address_holds_at_most_its_places_in_flight() {
        let a = Admission::new(RateLimits::default(), 2);
        let request = |from: [u8; 4]| {
            let mut r = axum::extract::Request::new(axum::body::Body::empty());
            *r.uri_mut() = "/v1/terms".parse().unwrap();
            r.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from((from, 40_000))));
            r
        };
        let first = a.admit(&mut request([192, 0, 2, 1])).ok().unwrap();
        let _second = a.admit(&mut request([192, 0, 2, 1])).ok().unwrap();
        let refused = a.admit(&mut request([192, 0, 2, 1])).err().unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(a.admit(&mut request([192, 0, 2, 2])).is_ok());
        drop(first);
        assert!(a.admit(&mut request([192, 0, 2, 1])).is_ok());
    }

    #[test]
    fn a_bucket_gives_its_burst_then_its_rate() {
        let b = Buckets::new();
        let rate = Rate {
            per_second: 2.0,
            burst: 3.0,
        };
        let t = Instant::now();
        for _ in 0..3 {
            assert!(b.take(1, rate, t).is_ok());
        }
        assert_eq!(b.take(1, rate, t), Err(1));
        assert!(b.take(2, rate, t).is_ok());
        assert!(
            b.take(1, rate, t + std::time::Duration::from_millis(500))
                .is_ok()
        );
        assert!(
            b.take(1, rate, t + std::time::Duration::from_millis(500))
                .is_err()
        );
    }
}
