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
mod limit;

use std::collections::BTreeMap;
use std::sync::Arc;

use app::open311::{PublicRequest, RequestFilter, Submission};
use app::{App, AppError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use domain::ids::{CategoryCode, TicketNo};
use domain::org::UnitKind;
use jiff::Timestamp;

use format::{Format, Node, respond};
use limit::RateLimit;

/// Where the interface lives.
pub const BASE: &str = "/open311/v2";
const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// When this interface last changed in a way clients may care about.
const CHANGESET: &str = "2026-11-27T00:00:00+08:00";

type Params = Vec<(String, String)>;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/{file}", get(root_get).post(root_post))
        .route("/services/{file}", get(service_definition))
        .route("/requests/{file}", get(one_request))
        .route("/tokens/{file}", get(token))
        .layer(Extension(Arc::new(RateLimit::new(
            limit::DEFAULT_PER_MINUTE,
        ))))
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
    headers: HeaderMap,
    Path(file): Path<String>,
    axum::extract::Query(params): axum::extract::Query<Params>,
) -> Response {
    let Some((name, format)) = Format::split(&file) else {
        return no_format(&file);
    };
    let result = match name {
        "discovery" => Ok(discovery(&headers, format)),
        "services" => check_jurisdiction(&app, &params).map(|()| services(&app, format)),
        "requests" => match check_jurisdiction(&app, &params) {
            Ok(()) => list_requests(&app, &params, format).await,
            Err(e) => Err(e),
        },
        "servicerequestupdates" => match check_jurisdiction(&app, &params) {
            Ok(()) => list_updates(&app, &params, format).await,
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
    submit(&app, &limit, &params, format)
        .await
        .unwrap_or_else(|e| e.respond(format))
}

fn ext(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        Format::Xml => "xml",
    }
}

fn discovery(headers: &HeaderMap, format: Format) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    let changeset = Node::text(CHANGESET);
    let node = Node::Fields(vec![
        ("changeset", changeset.clone()),
        (
            "contact",
            Node::text("12345 政务服务便民热线 — the city's citizen service hotline"),
        ),
        (
            "key_service",
            Node::text(
                "API keys are issued by the hotline's administrator to each channel (app, mini-program, partner system); see docs/open311.md",
            ),
        ),
        (
            "endpoints",
            Node::List(
                "endpoint",
                vec![Node::Fields(vec![
                    ("specification", Node::text(SPECIFICATION)),
                    ("url", Node::text(format!("{scheme}://{host}{BASE}"))),
                    ("changeset", changeset),
                    ("type", Node::text("production")),
                    (
                        "formats",
                        Node::List(
                            "format",
                            vec![Node::text("text/xml"), Node::text("application/json")],
                        ),
                    ),
                ])],
            ),
        ),
    ]);
    respond(format, StatusCode::OK, "discovery", &node)
}

fn services(app: &App, format: Format) -> Response {
    let list = app
        .open311_services()
        .into_iter()
        .map(|s| {
            Node::Fields(vec![
                ("service_code", Node::text(s.code)),
                ("service_name", Node::text(s.name)),
                ("description", Node::text(s.description)),
                ("metadata", Node::Bool(s.metadata)),
                // The number comes back at once: a realtime service in the spec's terms.
                ("type", Node::text("realtime")),
                ("keywords", Node::text(s.keywords.join(","))),
                ("group", Node::text(s.group)),
            ])
        })
        .collect();
    respond(
        format,
        StatusCode::OK,
        "services",
        &Node::List("service", list),
    )
}

async fn service_definition(
    State(app): State<Arc<App>>,
    Path(file): Path<String>,
    axum::extract::Query(params): axum::extract::Query<Params>,
) -> Response {
    let Some((code, format)) = Format::split(&file) else {
        return no_format(&file);
    };
    let result = check_jurisdiction(&app, &params)
        .and_then(|()| app.open311_service(code).map_err(Failure::from));
    let (code, attributes) = match result {
        Ok(found) => found,
        Err(e) => return e.respond(format),
    };
    let attributes = attributes
        .into_iter()
        .map(|a| {
            Node::Fields(vec![
                ("variable", Node::Bool(true)),
                ("code", Node::text(a.code)),
                ("datatype", Node::text(a.datatype.as_str())),
                ("required", Node::Bool(a.required)),
                (
                    "datatype_description",
                    Node::opt_text(Some(a.datatype_description.to_owned())),
                ),
                ("order", Node::Int(i64::from(a.order))),
                ("description", Node::text(a.description)),
                (
                    "values",
                    Node::List(
                        "value",
                        a.values
                            .iter()
                            .map(|(key, name)| {
                                Node::Fields(vec![
                                    ("key", Node::text(*key)),
                                    ("name", Node::text(*name)),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    let node = Node::Fields(vec![
        ("service_code", Node::text(code)),
        ("attributes", Node::List("attribute", attributes)),
    ]);
    respond(format, StatusCode::OK, "service_definition", &node)
}

async fn submit(
    app: &App,
    limit: &RateLimit,
    params: &Params,
    format: Format,
) -> Result<Response, Failure> {
    check_jurisdiction(app, params)?;
    let key = param(params, "api_key").ok_or_else(|| {
        Failure::new(
            StatusCode::FORBIDDEN,
            "api_key is required to submit a request; the hotline's administrator issues keys",
        )
    })?;
    if !limit.allow(key, std::time::Instant::now()) {
        return Err(Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "this api_key sent more than {} requests in a minute; wait and retry",
                limit.limit()
            ),
        ));
    }
    let actor = app.authenticate(app.now(), key).await.map_err(|_| {
        Failure::new(
            StatusCode::FORBIDDEN,
            "api_key is not valid (unknown, revoked or expired)",
        )
    })?;
    let service_code = param(params, "service_code")
        .ok_or_else(|| Failure::new(StatusCode::BAD_REQUEST, "service_code is required"))?;
    let number = |name: &str| -> Result<Option<f64>, Failure> {
        param(params, name)
            .map(|v| {
                v.parse::<f64>().map_err(|_| {
                    Failure::new(
                        StatusCode::BAD_REQUEST,
                        format!("{name} must be a number, not {v:?}"),
                    )
                })
            })
            .transpose()
    };
    let text = |name: &str| param(params, name).map(str::to_owned);
    let submission = Submission {
        service_code: service_code.to_owned(),
        lat: number("lat")?,
        lon: number("long")?,
        address_string: text("address_string"),
        address_id: text("address_id"),
        attributes: attribute_answers(params),
        email: text("email"),
        device_id: text("device_id"),
        account_id: text("account_id"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        phone: text("phone"),
        description: text("description"),
        media_url: text("media_url"),
    };
    let account_id = submission.account_id.clone();
    let (id, notice) = app.open311_submit(&actor, app.now(), submission).await?;
    let node = Node::List(
        "request",
        vec![Node::Fields(vec![
            ("service_request_id", Node::text(id.clone())),
            // Our ids exist at once; the token is the id, so clients that poll tokens work too.
            ("token", Node::text(id)),
            ("service_notice", Node::text(notice)),
            ("account_id", Node::opt_text(account_id)),
        ])],
    );
    Ok(respond(
        format,
        StatusCode::CREATED,
        "service_requests",
        &node,
    ))
}

/// `attribute[code]=v` and, for multiple values, `attribute[code][]=v` (repeated).
fn attribute_answers(params: &Params) -> BTreeMap<String, Vec<String>> {
    let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in params {
        let Some(rest) = key.strip_prefix("attribute[") else {
            continue;
        };
        let code = rest.trim_end_matches("[]").trim_end_matches(']');
        if !code.is_empty() && !value.trim().is_empty() {
            answers
                .entry(code.to_owned())
                .or_default()
                .push(value.clone());
        }
    }
    answers
}

async fn list_requests(app: &App, params: &Params, format: Format) -> Result<Response, Failure> {
    let bad = |m: String| Failure::new(StatusCode::BAD_REQUEST, m);
    let list = |name: &str| -> Vec<String> {
        param(params, name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let ids = list("service_request_id")
        .iter()
        .map(|id| {
            TicketNo::parse(id)
                .map_err(|_| bad(format!("service_request_id {id:?} is not a request id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let service_codes = list("service_code")
        .iter()
        .map(|c| {
            CategoryCode::parse(c)
                .map_err(|_| bad(format!("service_code {c:?} is not a service code")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let date = |name: &str| -> Result<Option<Timestamp>, Failure> {
        param(params, name)
            .map(|v| {
                v.parse::<Timestamp>()
                    .map_err(|_| bad(format!("{name} must be a W3C date and time such as 2026-11-26T00:00:00+08:00, not {v:?}")))
            })
            .transpose()
    };
    let statuses = list("status");
    if let Some(s) = statuses.iter().find(|s| *s != "open" && *s != "closed") {
        return Err(bad(format!("status is open or closed, not {s:?}")));
    }
    let whole = |name: &str, default: u32| -> Result<u32, Failure> {
        param(params, name)
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| bad(format!("{name} must be a whole number")))
            })
            .transpose()
            .map(|v| v.unwrap_or(default))
    };
    let filter = RequestFilter {
        ids,
        service_codes,
        start: date("start_date")?,
        end: date("end_date")?,
        statuses,
        page: whole("page", 1)?,
        page_size: whole("page_size", app::open311::MAX_REQUESTS)?,
    };
    let found = app.open311_requests(app.now(), filter).await?;
    Ok(requests_response(app, &found, format))
}

/// The mySociety extension: each step of public requests, for one request
/// (`service_request_id`) or a window (`start_date`, `end_date`; the last day by default).
async fn list_updates(app: &App, params: &Params, format: Format) -> Result<Response, Failure> {
    let date = |name: &str| -> Result<Option<Timestamp>, Failure> {
        param(params, name)
            .map(|v| {
                v.parse::<Timestamp>().map_err(|_| {
                    Failure::new(
                        StatusCode::BAD_REQUEST,
                        format!("{name} must be a W3C date and time, not {v:?}"),
                    )
                })
            })
            .transpose()
    };
    let updates = app
        .open311_updates(
            app.now(),
            param(params, "service_request_id"),
            date("start_date")?,
            date("end_date")?,
        )
        .await?;
    let list = updates
        .into_iter()
        .map(|u| {
            Node::Fields(vec![
                ("update_id", Node::text(u.update_id.to_string())),
                ("service_request_id", Node::text(u.service_request_id)),
                ("status", Node::text(u.status)),
                ("updated_datetime", Node::text(w3c(app, u.updated_datetime))),
                ("description", Node::text(u.description)),
                ("media_url", Node::Empty),
            ])
        })
        .collect();
    Ok(respond(
        format,
        StatusCode::OK,
        "service_request_updates",
        &Node::List("request_update", list),
    ))
}

async fn one_request(
    State(app): State<Arc<App>>,
    Path(file): Path<String>,
    axum::extract::Query(params): axum::extract::Query<Params>,
) -> Response {
    let Some((id, format)) = Format::split(&file) else {
        return no_format(&file);
    };
    let result = match check_jurisdiction(&app, &params) {
        Ok(()) => app
            .open311_request(app.now(), id)
            .await
            .map_err(Failure::from),
        Err(e) => Err(e),
    };
    match result {
        // A single request is still a one-element list, as the spec shows it.
        Ok(request) => requests_response(&app, &[request], format),
        Err(e) => e.respond(format),
    }
}

async fn token(State(app): State<Arc<App>>, Path(file): Path<String>) -> Response {
    let Some((token, format)) = Format::split(&file) else {
        return no_format(&file);
    };
    // Tokens are the request ids themselves (see `submit`).
    match app.open311_request(app.now(), token).await {
        Ok(found) => {
            let node = Node::List(
                "request",
                vec![Node::Fields(vec![
                    ("service_request_id", Node::text(found.service_request_id)),
                    ("token", Node::text(token)),
                ])],
            );
            respond(format, StatusCode::OK, "service_requests", &node)
        }
        Err(_) => Failure::new(
            StatusCode::NOT_FOUND,
            format!("token {token} was not found"),
        )
        .respond(format),
    }
}

fn requests_response(app: &App, requests: &[PublicRequest], format: Format) -> Response {
    let list = requests.iter().map(|r| request_node(app, r)).collect();
    respond(
        format,
        StatusCode::OK,
        "service_requests",
        &Node::List("request", list),
    )
}

fn request_node(app: &App, r: &PublicRequest) -> Node {
    let number = |v: Option<f64>| v.map(Node::Number).unwrap_or(Node::Empty);
    Node::Fields(vec![
        (
            "service_request_id",
            Node::text(r.service_request_id.clone()),
        ),
        ("status", Node::text(r.status)),
        ("status_notes", Node::opt_text(Some(r.status_notes.clone()))),
        ("service_name", Node::text(r.service_name.clone())),
        ("service_code", Node::text(r.service_code.clone())),
        ("description", Node::opt_text(Some(r.description.clone()))),
        (
            "agency_responsible",
            Node::opt_text(Some(r.agency_responsible.clone())),
        ),
        (
            "service_notice",
            Node::opt_text(Some(r.service_notice.clone())),
        ),
        (
            "requested_datetime",
            Node::text(w3c(app, r.requested_datetime)),
        ),
        ("updated_datetime", Node::text(w3c(app, r.updated_datetime))),
        (
            "expected_datetime",
            Node::opt_text(r.expected_datetime.map(|t| w3c(app, t))),
        ),
        ("address", Node::opt_text(Some(r.address.clone()))),
        ("address_id", Node::opt_text(Some(r.address_id.clone()))),
        ("zipcode", Node::Empty),
        ("lat", number(r.lat)),
        ("long", number(r.lon)),
        ("media_url", Node::opt_text(Some(r.media_url.clone()))),
    ])
}

/// `2026-11-26T10:00:00+08:00`: W3C date and time in the city's offset.
fn w3c(app: &App, at: Timestamp) -> String {
    let zone = app.registry().rules.calendar.zone().clone();
    at.to_zoned_datetime(zone)
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}
