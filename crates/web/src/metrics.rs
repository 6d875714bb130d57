//! Operations: `/metrics` in the Prometheus text format, `/healthz` (the process answers) and
//! `/readyz` (it can take writes: the writer runs, no fsync failed, the database answers).
//!
//! `/metrics` carries counts only — requests by route and status, latencies, the writer's
//! batches, commit and fsync times, WAL bytes, the writer's queue, the notification backlog,
//! tickets by status — and answers only requests from this machine (a monitoring agent beside
//! the server); through a proxy it is refused like any outside request.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use app::App;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::extract::ClientAddress;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    state: String,
}

/// The server's metrics: what requests set as they pass, and what a scrape reads from the store.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    tickets: Family<StatusLabels, Gauge>,
    outbox: Family<OutboxLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(app: Arc<App>) -> Self {
        let mut registry = Registry::with_prefix("minsheng");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route (numbers replaced by :id) and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route",
            latency.clone(),
        );
        let tickets = Family::<StatusLabels, Gauge>::default();
        registry.register("tickets", "Tickets in each status", tickets.clone());
        let outbox = Family::<OutboxLabels, Gauge>::default();
        registry.register(
            "outbox_messages",
            "Notifications to citizens: pending, sent, failed",
            outbox.clone(),
        );
        registry.register_collector(Box::new(WriterCollector(app)));
        Self {
            registry,
            requests,
            latency,
            tickets,
            outbox,
        }
    }

    fn observe(&self, method: &str, route: String, status: StatusCode, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.clone(),
                status: status.as_u16(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    }
}

/// Counts and times every request.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let route = if status == StatusCode::NOT_FOUND {
        // Unknown paths are anyone's to invent: one label for all of them.
        "unmatched".to_owned()
    } else {
        route_of(&path)
    };
    metrics.observe(&method, route, status, started.elapsed().as_secs_f64());
    response
}

/// A path with every segment holding two digits or more (ticket numbers, ids, codes; not `v1`)
/// replaced by `:id`, so routes, not tickets, are counted.
fn route_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.bytes().filter(u8::is_ascii_digit).count() >= 2 {
                ":id"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `GET /metrics`.
pub async fn serve(
    State((app, metrics)): State<(Arc<App>, Arc<Metrics>)>,
    ClientAddress(client): ClientAddress,
) -> Response {
    if !client.is_loopback() {
        return crate::error::WebError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "metrics are served to this machine only (a monitoring agent beside the server)",
        )
        .into_response();
    }
    let store = app.store();
    if let Ok(counts) = store.status_counts(None, app.now()).await {
        metrics.tickets.clear();
        for count in counts {
            metrics
                .tickets
                .get_or_create(&StatusLabels {
                    status: count.status.as_str().to_owned(),
                })
                .set(count.count as i64);
        }
    }
    if let Ok(counts) = store.outbox_counts().await {
        for (state, n) in [
            ("pending", counts.pending),
            ("sent", counts.sent),
            ("failed", counts.failed),
        ] {
            metrics
                .outbox
                .get_or_create(&OutboxLabels {
                    state: state.into(),
                })
                .set(n as i64);
        }
    }
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &metrics.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// `GET /readyz`: 200 when a write would be accepted and the database answers, else 503 with
/// the reason.
pub async fn ready(State(app): State<Arc<App>>) -> Response {
    let store = app.store();
    let checked: Result<(), app::AppError> = match store.writable() {
        Ok(()) => store.audit_head().await.map(|_| ()).map_err(Into::into),
        Err(e) => Err(e.into()),
    };
    match checked {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => crate::error::WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("not ready: {}", reason(&e)),
        )
        .into_response(),
    }
}

/// What to tell an operator, without a driver's text.
fn reason(e: &app::AppError) -> String {
    match e {
        app::AppError::Unavailable(why) => why.clone(),
        _ => "the database does not answer as expected; see the server's log".into(),
    }
}

/// The writer's counters, read at each scrape.
struct WriterCollector(Arc<App>);

impl std::fmt::Debug for WriterCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriterCollector")
    }
}

impl Collector for WriterCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let store = self.0.store();
        let stats = store.writer_stats();
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let seconds = |c: &std::sync::atomic::AtomicU64| load(c) as f64 / 1e6;
        let counters: [(&str, &str, f64); 9] = [
            (
                "writer_batches",
                "Group commits",
                load(&stats.batches) as f64,
            ),
            (
                "writer_commands",
                "Commands committed",
                load(&stats.commands) as f64,
            ),
            (
                "writer_work_seconds",
                "Time deciding and writing batches",
                seconds(&stats.work_us),
            ),
            (
                "writer_commit_seconds",
                "Time in COMMIT",
                seconds(&stats.commit_us),
            ),
            (
                "wal_fsyncs",
                "fsyncs of SQLite's WAL",
                load(&stats.fsyncs) as f64,
            ),
            (
                "wal_fsync_seconds",
                "Time in fsyncs of SQLite's WAL",
                seconds(&stats.fsync_us),
            ),
            (
                "wal_written_bytes",
                "Bytes appended to SQLite's WAL",
                load(&stats.wal_bytes_written) as f64,
            ),
            (
                "wal_restarts",
                "Times SQLite's WAL was started over",
                load(&stats.wal_restarts) as f64,
            ),
            (
                "wal_restart_seconds",
                "Time the writer spent starting the WAL over",
                seconds(&stats.wal_restart_us),
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let gauges: [(&str, &str, i64); 2] = [
            (
                "wal_bytes",
                "Bytes of SQLite's WAL in use",
                load(&stats.wal_bytes) as i64,
            ),
            (
                "writer_queue",
                "Commands waiting for the writer",
                store.queued() as i64,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::route_of;

    #[test]
    fn numbers_in_a_path_become_one_label() {
        assert_eq!(
            route_of("/api/v1/tickets/26120100004/sign"),
            "/api/v1/tickets/:id/sign"
        );
        assert_eq!(route_of("/ui/units/d1-s1"), "/ui/units/:id");
        assert_eq!(route_of("/"), "/");
    }
}
