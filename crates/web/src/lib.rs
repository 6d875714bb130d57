//! The HTTP layer: the browser workstation (`ui`), the JSON API (`/api/v1`), its OpenAPI
//! document, and the about page. Each
//! handler parses, calls one use case and shapes the answer; rules live below.
//!
//! Invariant: no SQL and no business rule here; errors leave as `{"error": {"code", "message"}}`.

pub mod api;
pub mod config;
pub mod error;
pub mod extract;
pub mod limit;
pub mod metrics;
pub mod open311;
pub mod ui;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;

use app::App;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// The largest request body accepted (JSON; uploads come with the citizen channels).
const BODY_LIMIT: usize = 1024 * 1024;

pub use config::WebConfig;

pub fn router(app: Arc<App>, config: WebConfig) -> Router {
    let config = Arc::new(config);
    let (api, openapi) = api::router();
    let openapi_json = Arc::new(openapi.to_pretty_json().unwrap_or_else(|_| "{}".into()));
    let metrics = Arc::new(metrics::Metrics::new(app.clone()));
    Router::new()
        .nest("/api/v1", api)
        .route(
            "/api/openapi.json",
            get(move || {
                let json = openapi_json.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        json.as_str().to_owned(),
                    )
                }
            }),
        )
        .route("/about", get(landing))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(metrics::ready))
        .route(
            "/metrics",
            get(metrics::serve).with_state((app.clone(), metrics.clone())),
        )
        .nest(open311::BASE, open311::router())
        .merge(ui::router(app.clone()))
        .fallback(|uri: axum::http::Uri| async move {
            if uri.path().starts_with("/api/") {
                error::WebError::not_found(
                    "no such endpoint; the API is described at /api/openapi.json",
                )
                .into_response()
            } else {
                ui::UiError::not_found("there is no such page; start from / to log in")
                    .into_response()
            }
        })
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // Added after the general limit, so its own (larger) one applies instead.
        .merge(ui::upload_router(app.clone()))
        .layer(CatchPanicLayer::custom(|_| {
            error::WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "something went wrong on our side",
            )
            .into_response()
        }))
        .layer(axum::middleware::from_fn_with_state(
            config.clone(),
            config::security_headers,
        ))
        .layer(axum::Extension(config))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    config: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(app, config).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn landing() -> Html<&'static str> {
    Html(include_str!("landing.html"))
}
