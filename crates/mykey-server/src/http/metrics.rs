//! Prometheus metrics at `GET /metrics` (OpenMetrics text), for a scraper holding the metrics
//! token (`Authorization: Bearer …`; `mykey serve` keeps it in the data folder's
//! `metrics-token`): without a configured token the route answers 404, with a wrong one 401.
//!
//! Counted at the edge ([`observe`]), labelled by the route as declared (never the path, which
//! may hold a handle or a code), so the label sets stay few:
//! - `mykey_http_requests_total{route,method,status}` and
//!   `mykey_http_request_duration_seconds{route,method}` (a histogram from 1 ms to 8 s);
//! - `mykey_http_refusals_total{route,kind}`: each problem document by its type;
//! - `mykey_card_authentications_total{route,result}`: every answer to a request a card signs
//!   (login, approvals, PPID and Service ID logins, the kiosk), `ok` or the problem's type;
//! - `mykey_http_requests_in_flight`.
//!
//! Read at the scrape ([`mykey_platform::Gauges`]): each CRL index's age
//! (`mykey_jlis_crl_index_age_seconds{ca}`), OCSP requests and failures and failed CRL fetches
//! since start, each relying party's events waiting and the oldest's age
//! (`mykey_events_pending{relying_party}`, `mykey_events_oldest_pending_seconds{relying_party}`),
//! the connection pool (`mykey_db_connections{state}`), which functions a maintenance window
//! takes down now (`mykey_maintenance_in_effect{function}`) and the end of the system
//! (`mykey_termination_announced`, `mykey_system_terminated`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mykey_platform::Platform;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The problem type a JSON answer carries, put in its extensions by `problem.rs` for
/// [`observe`] to count.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProblemKind(pub(crate) &'static str);

/// The routes a card signs: their answers are counted as card authentications.
const CARD_ROUTES: [&str; 7] = [
    "/v1/auth/responses",
    "/v1/authorizations/{handle}/approval",
    "/v1/link-requests/{id}/approval",
    "/v1/ppid-services/{id}/authentications",
    "/v1/service-id-logins/{client_id}/authentications",
    "/v1/pinless-requests/{handle}/approval",
    "/v1/rp/point-applications",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    route: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    route: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CaLabels {
    ca: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpLabels {
    relying_party: i64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabels {
    function: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeaseLabels {
    lease: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn latency() -> Histogram {
    // 1 ms … 8.2 s, doubling.
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// The node's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    refusals: Family<KindLabels, Counter>,
    card: Family<ResultLabels, Counter>,
    in_flight: Gauge<i64, AtomicI64>,
    index_age: Family<CaLabels, FloatGauge>,
    ocsp_requests: Counter,
    ocsp_failures: Counter,
    crl_failures: Counter,
    pending: Family<RpLabels, Gauge>,
    oldest: Family<RpLabels, FloatGauge>,
    pool: Family<StateLabels, Gauge>,
    maintenance: Family<FunctionLabels, Gauge>,
    announced: Gauge,
    terminated: Gauge,
    leased: Family<LeaseLabels, Gauge>,
    /// The node's leases, when it is one (`node_info` and `lease_held` come from them).
    leases: Option<Arc<crate::Leases>>,
    /// The J-LIS counters as last read, so that each scrape adds what is new; and scrapes take
    /// turns, so that the gauges read belong to one scrape.
    seen: tokio::sync::Mutex<(u64, u64, u64)>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// The metrics of node `leases.node()`, its name in `node_info`.
    pub(crate) fn for_node(leases: Arc<crate::Leases>) -> Self {
        let mut m = Self::new();
        m.registry.register(
            "node",
            "The node answering, by its name (--node-id)",
            prometheus_client::metrics::info::Info::new(vec![(
                "node".to_owned(),
                leases.node().to_owned(),
            )]),
        );
        m.registry.register(
            "lease_held",
            "1 while this node holds the lease of a piece of background work",
            m.leased.clone(),
        );
        m.leases = Some(leases);
        m
    }

    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("mykey");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency as fn() -> Histogram,
        );
        let refusals = Family::<KindLabels, Counter>::default();
        let card = Family::<ResultLabels, Counter>::default();
        let in_flight = Gauge::<i64, AtomicI64>::default();
        let index_age = Family::<CaLabels, FloatGauge>::default();
        let (ocsp_requests, ocsp_failures, crl_failures) =
            (Counter::default(), Counter::default(), Counter::default());
        let pending = Family::<RpLabels, Gauge>::default();
        let oldest = Family::<RpLabels, FloatGauge>::default();
        let pool = Family::<StateLabels, Gauge>::default();
        let maintenance = Family::<FunctionLabels, Gauge>::default();
        let (announced, terminated) = (Gauge::default(), Gauge::default());
        let r = &mut registry;
        r.register(
            "http_requests",
            "Requests answered, by route as declared, method and status",
            requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer, by route as declared and method",
            durations.clone(),
        );
        r.register(
            "http_refusals",
            "Problem documents answered, by route and problem type",
            refusals.clone(),
        );
        r.register(
            "card_authentications",
            "Answers to requests a card signs: ok, or the problem type",
            card.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "Requests being answered now",
            in_flight.clone(),
        );
        r.register(
            "jlis_crl_index_age_seconds",
            "Age of each user-identification CA's CRL index (huge: never built)",
            index_age.clone(),
        );
        r.register(
            "jlis_ocsp_requests",
            "OCSP requests to J-LIS since start (the index stale or silent)",
            ocsp_requests.clone(),
        );
        r.register(
            "jlis_ocsp_failures",
            "OCSP requests to J-LIS that failed since start",
            ocsp_failures.clone(),
        );
        r.register(
            "jlis_crl_failures",
            "CRL fetches from J-LIS that failed since start",
            crl_failures.clone(),
        );
        r.register(
            "events_pending",
            "Events not acknowledged, by relying party",
            pending.clone(),
        );
        r.register(
            "events_oldest_pending_seconds",
            "Age of the oldest event not acknowledged (delivery lag), by relying party",
            oldest.clone(),
        );
        r.register(
            "db_connections",
            "Database connections: open, idle, max",
            pool.clone(),
        );
        r.register(
            "maintenance_in_effect",
            "1 while a maintenance window takes the function down",
            maintenance.clone(),
        );
        r.register(
            "termination_announced",
            "1 while an end of the system is announced",
            announced.clone(),
        );
        r.register(
            "system_terminated",
            "1 once the announced end of the system has come",
            terminated.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            refusals,
            card,
            in_flight,
            index_age,
            ocsp_requests,
            ocsp_failures,
            crl_failures,
            pending,
            oldest,
            pool,
            maintenance,
            announced,
            terminated,
            leased: Family::default(),
            leases: None,
            seen: tokio::sync::Mutex::new((0, 0, 0)),
        }
    }
}

/// A method as a label: the standard ones by name, anything else as `other`.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *m {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::DELETE => "DELETE",
        M::PATCH => "PATCH",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request (see the module's text).
pub(crate) async fn observe(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    m.in_flight.inc();
    let started = Instant::now();
    let resp = next.run(req).await;
    m.in_flight.dec();
    let status = resp.status().as_u16();
    m.durations
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method,
        })
        .observe(started.elapsed().as_secs_f64());
    let kind = resp.extensions().get::<ProblemKind>().map(|k| k.0);
    if let Some(kind) = kind {
        m.refusals
            .get_or_create(&KindLabels {
                route: route.clone(),
                kind,
            })
            .inc();
    }
    if CARD_ROUTES.contains(&route.as_str()) && method == "POST" {
        let result = if resp.status().is_success() {
            "ok"
        } else {
            kind.unwrap_or("other")
        };
        m.card
            .get_or_create(&ResultLabels {
                route: route.clone(),
                result,
            })
            .inc();
    }
    m.requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status,
        })
        .inc();
    resp
}

/// `GET /metrics`.
pub(crate) async fn scrape(m: Arc<Metrics>, p: Arc<Platform>, headers: HeaderMap) -> Response {
    if !p.metrics_enabled() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let token = super::bearer_of(&headers).unwrap_or("");
    if !p.metrics_token_ok(token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
        )
            .into_response();
    }
    let mut seen = m.seen.lock().await;
    let g = p.gauges().await;
    m.index_age.clear();
    for (ca, age) in &g.jlis.index_ages {
        m.index_age
            .get_or_create(&CaLabels { ca: ca.clone() })
            .set(*age as f64);
    }
    m.ocsp_requests
        .inc_by(g.jlis.ocsp_requests.saturating_sub(seen.0));
    m.ocsp_failures
        .inc_by(g.jlis.ocsp_failures.saturating_sub(seen.1));
    m.crl_failures
        .inc_by(g.jlis.crl_failures.saturating_sub(seen.2));
    *seen = (
        g.jlis.ocsp_requests,
        g.jlis.ocsp_failures,
        g.jlis.crl_failures,
    );
    if g.outbox_read {
        m.pending.clear();
        m.oldest.clear();
        for (rp, n, age) in &g.outbox {
            let l = RpLabels {
                relying_party: rp.get(),
            };
            m.pending
                .get_or_create(&l)
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
            m.oldest.get_or_create(&l).set(*age as f64);
        }
    }
    for (state, n) in [
        ("open", g.pool.open),
        ("idle", g.pool.idle),
        ("max", g.pool.max),
    ] {
        m.pool
            .get_or_create(&StateLabels { state })
            .set(i64::from(n));
    }
    for (f, on) in &g.maintenance {
        m.maintenance
            .get_or_create(&FunctionLabels {
                function: f.as_str(),
            })
            .set(i64::from(*on));
    }
    m.announced.set(i64::from(g.termination.0));
    m.terminated.set(i64::from(g.termination.1));
    if let Some(leases) = &m.leases {
        for w in crate::Work::ALL {
            m.leased
                .get_or_create(&LeaseLabels { lease: w.as_str() })
                .set(i64::from(leases.holds(w)));
        }
    }
    let mut text = String::with_capacity(16 * 1024);
    if prometheus_client::encoding::text::encode(&mut text, &m.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    drop(seen);
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
