//! Open311 GeoReport v2 under `/open311/v2`, every resource as `.json` or `.xml`:
//! `discovery`, `services`, `services/{code}`, `requests` (GET and POST), `requests/{id}` and
//! `tokens/{token}`, plus mySociety's `servicerequestupdates` and paging of `requests`. Errors
//! are the spec's list of `{code, description}`.
//!
//! Lenient where real clients differ and the spec allows it: empty parameters count as absent,
//! `api_key` is read from the query string or the form body, and a single request still comes
//! back as a one-element list. Submitting needs an API key: an ordinary token of a user allowed
//! to record requests (an outside channel's account, see `docs/open311.md`); keys are limited to
//! a number of requests a minute each.

mod format;
mod requests;
mod services;
mod submit;

use std::sync::Arc;

use app::{App, AppError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use domain::org::UnitKind;
use jiff::Timestamp;

use crate::limit::{self, RateLimit};
use format::{Format, Node, respond};

/// Where the interface lives.
pub const BASE: &str = "/open311/v2";
const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// When this interface last changed in a way clients may care about.
const CHANGESET: &str = "2026-11-27T00:00:00+08:00";

type Params = Vec<(String, String)>;

pub fn router() -> Router<Arc<App>> {
    let per_address = Arc::new(RateLimit::new(limit::OPEN311_PER_ADDRESS, limit::MINUTE));
    Router::new()
        .route("/{file}", get(root_get).post(root_post))
        .route("/services/{file}", get(services::definition))
        // Some clients ask for a service's definition at the singular path.
        .route("/service/{file}", get(services::definition))
        .route("/requests/{file}", get(requests::one))
        .route("/tokens/{file}", get(requests::token))
        .layer(Extension(Arc::new(RateLimit::new(
            limit::DEFAULT_PER_MINUTE,
            limit::MINUTE,
        ))))
        .layer(axum::middleware::from_fn_with_state(
            per_address,
            limit_per_address,
        ))
}

/// Anyone may read the public interface, but no one address may take all of it: past
/// `OPEN311_PER_ADDRESS` requests a minute, 429 until the minute ends.
async fn limit_per_address(
    State(limit): State<Arc<RateLimit>>,
    crate::extract::ClientAddress(address): crate::extract::ClientAddress,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if limit.allow(&address.to_string(), std::time::Instant::now()) {
        return next.run(request).await;
    }
    let format = if request.uri().path().ends_with(".xml") {
        Format::Xml
    } else {
        Format::Json
    };
    Failure::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "more than {} requests a minute from this address; wait a minute",
            limit.limit()
        ),
    )
    .respond(format)
}

/// An error in the spec's shape, in the format the client asked for.
struct Failure {
    status: StatusCode,
    description: String,
}

impl Failure {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
        }
    }

    fn respond(self, format: Format) -> Response {
        let node = Node::List(
            "error",
            vec![Node::Fields(vec![
                ("code", Node::Int(i64::from(self.status.as_u16()))),
                ("description", Node::text(self.description)),
            ])],
        );
        respond(format, self.status, "errors", &node)
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        let web = crate::error::WebError::from(e);
        // The spec knows 400, 403 and 404; a refused permission or key is 403.
        let status = match web.status() {
            StatusCode::UNAUTHORIZED => StatusCode::FORBIDDEN,
            StatusCode::CONFLICT => StatusCode::BAD_REQUEST,
            other => other,
        };
        Self::new(status, web.message())
    }
}

impl From<domain::DomainError> for Failure {
    fn from(e: domain::DomainError) -> Self {
        AppError::from(e).into()
    }
}

/// A parameter's value, empty counting as absent.
fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The answer to a resource named without its format (in JSON, having no other to choose).
fn no_format(file: &str) -> Response {
    Failure::new(
        StatusCode::NOT_FOUND,
        format!("{file}: add .json or .xml to choose the format"),
    )
    .respond(Format::Json)
}

/// This installation serves one jurisdiction: the city (its unit id). A client may name it or
/// leave it out; another one is not found, as the spec says.
fn check_jurisdiction(app: &App, params: &Params) -> Result<(), Failure> {
    let Some(asked) = param(params, "jurisdiction_id") else {
        return Ok(());
    };
    let ours = jurisdiction(app);
    if asked == ours {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!("jurisdiction_id {asked:?} is not served here; this endpoint serves {ours:?}"),
        ))
    }
}

fn jurisdiction(app: &App) -> String {
    app.registry()
        .units
        .values()
        .find(|u| u.kind == UnitKind::City)
        .map(|u| u.id.to_string())
        .unwrap_or_else(|| "city".into())
}

async fn root_get(
    State(app): State<Arc<App>>,
    axum::Extension(config): axum::Extension<Arc<crate::WebConfig>>,
    Path(file): Path<String>,
    axum::extract::Query(params): axum::extract::Query<Params>,
) -> Response {
    let Some((name, format)) = Format::split(&file) else {
        return no_format(&file);
    };
    let result = match name {
        "discovery" => Ok(services::discovery(&config, format)),
        "services" => check_jurisdiction(&app, &params).map(|()| services::list(&app, format)),
        "requests" => match check_jurisdiction(&app, &params) {
            Ok(()) => requests::list(&app, &params, format).await,
            Err(e) => Err(e),
        },
        "servicerequestupdates" => match check_jurisdiction(&app, &params) {
            Ok(()) => requests::updates(&app, &params, format).await,
            Err(e) => Err(e),
        },
        other => Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!(
                "there is no resource {other:?}; see discovery.{}",
                ext(format)
            ),
        )),
    };
    result.unwrap_or_else(|e| e.respond(format))
}

async fn root_post(
    State(app): State<Arc<App>>,
    Extension(limit): Extension<Arc<RateLimit>>,
    Path(file): Path<String>,
    axum::extract::Query(query): axum::extract::Query<Params>,
    body: axum::body::Bytes,
) -> Response {
    let Some((name, format)) = Format::split(&file) else {
        return no_format(&file);
    };
    if name != "requests" {
        return Failure::new(
            StatusCode::NOT_FOUND,
            format!("only requests.{} takes a POST", ext(format)),
        )
        .respond(format);
    }
    // Body first, then the query string: a client may put any parameter in either.
    let Ok(mut params) = serde_urlencoded::from_bytes::<Params>(&body) else {
        return Failure::new(
            StatusCode::BAD_REQUEST,
            "send the parameters as application/x-www-form-urlencoded",
        )
        .respond(format);
    };
    params.extend(query);
    submit::submit(&app, &limit, &params, format)
        .await
        .unwrap_or_else(|e| e.respond(format))
}

fn ext(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        Format::Xml => "xml",
    }
}

/// `2026-11-26T10:00:00+08:00`: W3C date and time in the city's offset.
fn w3c(app: &App, at: Timestamp) -> String {
    let zone = app.registry().rules.calendar.zone().clone();
    at.to_zoned_datetime(zone)
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}
