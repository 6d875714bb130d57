//! The public reads: `requests` with its filters and paging, one request, a token, and the
//! mySociety `servicerequestupdates` extension.

use std::sync::Arc;

use app::App;
use app::open311::{PublicRequest, RequestFilter};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::ids::{CategoryCode, TicketNo};
use jiff::Timestamp;

use super::format::{Format, Node, respond};
use super::{Failure, Params, check_jurisdiction, no_format, param, w3c};

pub(super) async fn list(app: &App, params: &Params, format: Format) -> Result<Response, Failure> {
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
pub(super) async fn updates(
    app: &App,
    params: &Params,
    format: Format,
) -> Result<Response, Failure> {
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

pub(super) async fn one(
    State(app): State<Arc<App>>,
    Path(file): Path<String>,
    axum::extract::Query(params): axum::extract::Query<Params>,
) -> Response {
    let Some((id, format)) = Format::split(&file) else {
        return no_format(&file);
    };
    let result = match check_jurisdiction(&app, &params) {
        Ok(()) => app.open311_request(id).await.map_err(Failure::from),
        Err(e) => Err(e),
    };
    match result {
        // A single request is still a one-element list, as the spec shows it.
        Ok(request) => requests_response(&app, &[request], format),
        Err(e) => e.respond(format),
    }
}

pub(super) async fn token(State(app): State<Arc<App>>, Path(file): Path<String>) -> Response {
    let Some((token, format)) = Format::split(&file) else {
        return no_format(&file);
    };
    // Tokens are the request ids themselves (see `submit`).
    match app.open311_request(token).await {
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
