//! The platform's listener: HTTP/1.1 connections (or, over TLS, HTTP/2 and HTTP/1.1) served with limits that slow or greedy
//! clients cannot get around (issue 19, finding 4). `axum::serve` has none of them: an
//! unfinished request line, a body dripped a byte at a time or an idle keep-alive connection
//! stayed open for good, and one host could hold every file descriptor.
//!
//! - a request's head (request line and headers) must arrive within [`Limits::header`] of the
//!   connection waiting for it — also on an idle keep-alive connection, which is then closed;
//!   an HTTP/2 connection with no request in flight for as long is closed too (GOAWAY);
//! - a whole request, body and answer included, within [`Limits::request`] (a long poll waits
//!   20 s at most); past it the answer is `408` and the connection closes;
//! - at most [`Limits::per_source`] connections at once from one address (IPv6: one /64), and
//!   [`Limits::total`] in all; more are closed as soon as they are accepted. (Behind a reverse
//!   proxy every client has the proxy's address: limit per client there.)
//! - at most [`Limits::in_flight`] requests handled at once (Terms Art 9.2, a significant
//!   concentration of use): one more is refused at once — `503`, `Retry-After: 1`, problem
//!   `overloaded` — rather than queued behind the others, so that what is admitted keeps its
//!   pace and what is not learns so in no time. The health endpoints are never refused.
//! - before that, the rates per source and per client the operator sets, and the slowing of
//!   bad client credentials ([`Limits::rates`], `rate.rs`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use tokio::net::TcpListener;

/// What one connection and one request may take.
#[derive(Clone, Debug)]
pub struct Limits {
    /// For a request's head to arrive (and for the next, on an idle keep-alive connection).
    pub header: Duration,
    /// For a whole request, from its head to the end of its answer.
    pub request: Duration,
    /// Connections at once from one source address.
    pub per_source: usize,
    /// Connections at once in all (keep it under the process's file-descriptor limit).
    pub total: usize,
    /// Requests handled at once; more are refused at once with `503`.
    pub in_flight: usize,
    /// Rates per source and per client, and the proxies believed (`rate.rs`).
    pub rates: crate::RateLimits,
}

impl Default for Limits {
    /// 10 s for a head, 60 s for a request, 256 connections a source, 4,096 in all, 1,024
    /// requests in flight.
    fn default() -> Self {
        Self {
            header: Duration::from_secs(10),
            request: Duration::from_secs(60),
            per_source: 256,
            total: 4096,
            in_flight: 1024,
            rates: crate::RateLimits::default(),
        }
    }
}

/// Whether `path` is one of the health endpoints, which no limit refuses.
pub(crate) fn is_health(path: &str) -> bool {
    matches!(path, "/health" | "/health/live" | "/health/ready")
}

/// The source a connection counts against: the IPv4 address, or the IPv6 /64.
pub(crate) fn source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// One connection's place in the count of its source, given back when dropped.
struct Slot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    source: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        if let Some(n) = counts.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.source);
            }
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes; then accepts no
/// more, lets each connection finish the request it is in, and returns (waiting at most the
/// request limit). Handlers see the peer's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run(listener, app, limits, None, shutdown).await
}

/// [`serve`] over TLS with `certificates` (read again when their files change: see
/// [`crate::Certificates::reload`]): HTTP/2 or HTTP/1.1 as the client's ALPN asks. The
/// handshake must end within [`Limits::header`]; an HTTP/2 connection takes at most 128
/// requests at once, and the limits on requests and requests in flight hold for each.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    certificates: Arc<crate::Certificates>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = certificates
        .server_config()
        .map_err(std::io::Error::other)?;
    run(
        listener,
        app,
        limits,
        Some(tokio_rustls::TlsAcceptor::from(config)),
        shutdown,
    )
    .await
}

async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let admitted = Arc::new(tokio::sync::Semaphore::new(limits.in_flight));
    let admission = Arc::new(crate::rate::Admission::new(
        limits.rates.clone(),
        limits.per_source,
    ));
    let limits = Copied {
        header: limits.header,
        request: limits.request,
        per_source: limits.per_source,
        total: limits.total,
    };
    let app = app
        .layer(axum::middleware::from_fn(
            move |req, next: axum::middleware::Next| request_limit(req, next, limits.request),
        ))
        .layer(axum::middleware::from_fn(
            move |req, next: axum::middleware::Next| in_flight_limit(req, next, admitted.clone()),
        ))
        // Outermost: what a rate refuses never takes a place in flight.
        .layer(axum::middleware::from_fn(
            move |mut req: axum::extract::Request, next: axum::middleware::Next| {
                let admission = admission.clone();
                async move {
                    req.extensions_mut()
                        .insert(crate::rate::Door(admission.clone()));
                    match admission.admit(&mut req) {
                        Err(refused) => refused,
                        Ok(admitted) => {
                            let r = next.run(req).await;
                            admission.answered(&admitted, &r);
                            r
                        }
                    }
                }
            },
        ));
    let counts: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of descriptors, or a connection reset before it was taken: go on.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let from = source(peer.ip());
        while connections.try_join_next().is_some() {}
        {
            let mut c = counts.lock();
            let n = c.get(&from).copied().unwrap_or(0);
            if n >= limits.per_source || connections.len() >= limits.total {
                drop(stream);
                continue;
            }
            c.insert(from, n + 1);
        }
        let slot = Slot {
            counts: counts.clone(),
            source: from,
        };
        // The peer's address goes into each request around the whole router (a clone of it is
        // an `Arc`'s): `Router::layer` here would wrap each of its routes anew for every
        // connection, which a storm of new connections pays for (issue 23).
        let service = TowerToHyperService::new(tower::Layer::layer(
            &axum::Extension(ConnectInfo(peer)),
            app.clone(),
        ));
        let mut stopped = stopped.clone();
        if let Some(acceptor) = tls.clone() {
            connections.spawn(async move {
                let _slot = slot;
                let Ok(Ok(stream)) =
                    tokio::time::timeout(limits.header, acceptor.accept(stream)).await
                else {
                    return;
                };
                let mut http = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                http.http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header);
                http.http2()
                    .timer(TokioTimer::new())
                    .max_concurrent_streams(128)
                    .keep_alive_interval(Some(Duration::from_secs(20)))
                    .keep_alive_timeout(limits.header);
                // HTTP/2 has no head to wait for between requests: a connection with none in
                // flight for as long as a head may take is closed (GOAWAY) here instead.
                let activity = Arc::new(Activity::default());
                let service = Watched {
                    inner: service,
                    activity: activity.clone(),
                };
                let conn = http.serve_connection(TokioIo::new(stream), service);
                tokio::pin!(conn);
                loop {
                    tokio::select! {
                        _ = conn.as_mut() => return,
                        _ = stopped.changed() => break,
                        () = tokio::time::sleep(activity.idle_check_in(limits.header)) => {
                            if activity.idle_for(limits.header) {
                                break;
                            }
                        }
                    }
                }
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(limits.request, conn).await;
            });
            continue;
        }
        connections.spawn(async move {
            let _slot = slot;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header);
            let conn = http.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopped.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(limits.request, conn).await;
                }
            }
        });
    }
    let _ = stop.send(true);
    let _ = tokio::time::timeout(limits.request, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// What one connection is doing: its requests in flight and when the last one ended.
struct Activity {
    in_flight: std::sync::atomic::AtomicUsize,
    last: Mutex<std::time::Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            last: Mutex::new(std::time::Instant::now()),
        }
    }
}

impl Activity {
    /// Whether nothing has been in flight for `limit`.
    fn idle_for(&self, limit: Duration) -> bool {
        self.in_flight.load(std::sync::atomic::Ordering::Acquire) == 0
            && self.last.lock().elapsed() >= limit
    }

    /// When to look again: when `limit` will have passed since the last request ended, or —
    /// with requests in flight, which may be long polls — after `limit`.
    fn idle_check_in(&self, limit: Duration) -> Duration {
        if self.in_flight.load(std::sync::atomic::Ordering::Acquire) > 0 {
            return limit;
        }
        limit
            .saturating_sub(self.last.lock().elapsed())
            .max(Duration::from_millis(10))
    }
}

/// A request's place in its connection's [`Activity`], given back when its handling ends.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.last.lock() = std::time::Instant::now();
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A connection's service, counting its requests into [`Activity`].
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, B> hyper::service::Service<hyper::Request<B>> for Watched<S>
where
    S: hyper::service::Service<hyper::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, req: hyper::Request<B>) -> Self::Future {
        self.activity
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let busy = Busy(self.activity.clone());
        let answer = self.inner.call(req);
        Box::pin(async move {
            let r = answer.await;
            drop(busy);
            r
        })
    }
}

/// The limits the connection loop uses, copied out of [`Limits`].
#[derive(Clone, Copy)]
struct Copied {
    header: Duration,
    request: Duration,
    per_source: usize,
    total: usize,
}

/// Refuses a request at once (`503`, `Retry-After: 1`) when `admitted` has no room left; the
/// health endpoints always pass, so that a load balancer sees an overloaded node as alive.
async fn in_flight_limit(
    req: axum::extract::Request,
    next: axum::middleware::Next,
    admitted: Arc<tokio::sync::Semaphore>,
) -> axum::response::Response {
    if is_health(req.uri().path()) {
        return next.run(req).await;
    }
    match admitted.try_acquire_owned() {
        Ok(permit) => {
            let r = next.run(req).await;
            drop(permit);
            r
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (axum::http::header::CONTENT_TYPE, "application/problem+json"),
                (axum::http::header::RETRY_AFTER, "1"),
                (axum::http::header::CACHE_CONTROL, "no-store"),
            ],
            r#"{"type":"urn:mykey:problem:overloaded","title":"Overloaded","status":503,"detail":"too many requests are being handled; try again in a second"}"#,
        )
            .into_response(),
    }
}

/// Answers `408` to a request that takes longer than `limit` (its body included).
async fn request_limit(
    req: axum::extract::Request,
    next: axum::middleware::Next,
    limit: Duration,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            let mut r = (
                StatusCode::REQUEST_TIMEOUT,
                [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
                r#"{"type":"urn:mykey:problem:request-timeout","title":"Request timeout","status":408,"detail":"the request took too long to arrive"}"#,
            )
                .into_response();
            r.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            r
        }
    }
}
