//! Tickets: create, read, list, timeline, caller history, reveal, export.

use std::sync::Arc;

use app::App;
use app::tickets::{ListFilter, NewTicketInput, TicketOrder};
use app::views::{TicketView, TimelineEntry};
use axum::extract::State;
use axum::http::StatusCode;
use domain::ids::{CategoryCode, DivisionCode, TicketNo, TierCode, UnitId};
use domain::permission::RevealPurpose;
use domain::privacy::Contact;
use domain::ticket::{Channel, Coordinates, RequestKind, Status};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ErrorBody, WebError, WebResult};
use crate::extract::{Authenticated, Json, Path, Query};

pub fn ticket_no(text: &str) -> WebResult<TicketNo> {
    TicketNo::parse(text).map_err(|e| WebError::bad_request(e.to_string()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// How the request arrived; `phone` if left out.
    #[serde(default = "phone")]
    pub channel: Channel,
    pub kind: RequestKind,
    /// Urgency tier code (`emergency`, `utility`, `general`, `complex`); `general` if left out.
    pub urgency: Option<TierCode>,
    /// A level-3 category code, e.g. `070101`.
    pub category: CategoryCode,
    /// A short title; the start of the description if left out.
    pub title: Option<String>,
    pub description: String,
    /// Where the problem is.
    #[serde(default)]
    pub address: String,
    pub division: Option<DivisionCode>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// 保密: the handling unit never sees who asked.
    #[serde(default)]
    pub confidential: bool,
    pub contact: Option<ContactInput>,
    /// The answer given on the call (直办); the ticket is closed at once.
    pub answer_on_call: Option<String>,
}

fn phone() -> Channel {
    Channel::Phone
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

#[utoipa::path(post, path = "/tickets", tag = "tickets",
    request_body = CreateTicket,
    responses(
        (status = 201, description = "Recorded (and closed, when answered on the call)", body = TicketView),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 403, description = "Not an operator", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Json(body): Json<CreateTicket>,
) -> WebResult<(StatusCode, Json<TicketView>)> {
    let coordinates = match (body.lat, body.lon) {
        (Some(lat), Some(lon)) => Some(Coordinates::parse(lat, lon)?),
        (None, None) => None,
        _ => return Err(WebError::bad_request("give both lat and lon, or neither")),
    };
    let contact = match body.contact {
        Some(c) => Contact::new(c.name.as_deref(), c.phone.as_deref(), c.address.as_deref())?,
        None => None,
    };
    let input = NewTicketInput {
        channel: body.channel,
        kind: body.kind,
        urgency: body.urgency,
        category: body.category,
        title: body.title,
        description: body.description,
        address: body.address,
        division: body.division,
        coordinates,
        confidential: body.confidential,
        contact,
        answer_on_call: body.answer_on_call,
        attributes: Default::default(),
        media_url: None,
        citizen_code: None,
        public: false,
        photo: None,
    };
    let view = app.receive(&actor, app.now(), input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/tickets/{no}", tag = "tickets",
    params(("no" = String, Path, description = "Ticket number, e.g. 26112600042 or 261126-00042")),
    responses(
        (status = 200, description = "The ticket, contact masked (absent for unit staff on a confidential ticket)", body = TicketView),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Path(no): Path<String>,
) -> WebResult<Json<TicketView>> {
    Ok(Json(app.ticket(&actor, app.now(), ticket_no(&no)?).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Comma-separated statuses, e.g. `dispatched,in_progress`.
    pub status: Option<String>,
    /// Tickets with this unit (lead or co-unit). Unit staff always get their own.
    pub unit: Option<UnitId>,
    /// A category code of any level.
    pub category: Option<CategoryCode>,
    /// Only tickets past their running deadline.
    pub overdue: Option<bool>,
    /// Only tickets whose running deadline falls within this many hours.
    pub due_within_hours: Option<u32>,
    /// Received at or after: RFC 3339 instant or a date (YYYY-MM-DD, the city's midnight).
    pub from: Option<String>,
    /// Received before: RFC 3339 instant or a date.
    pub to: Option<String>,
    /// Paging: the `next_before` of the previous page.
    pub before: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketPage {
    pub tickets: Vec<TicketView>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<String>,
}

#[utoipa::path(get, path = "/tickets", tag = "tickets", params(ListParams),
    responses((status = 200, body = TicketPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Query(params): Query<ListParams>,
) -> WebResult<Json<TicketPage>> {
    let zone = app.registry().rules.calendar.zone().clone();
    let filter = ListFilter {
        statuses: match params
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(list) => list
                .split(',')
                .map(|s| Status::parse(s.trim()))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        },
        unit: params.unit,
        category: params.category,
        overdue: params.overdue.unwrap_or(false),
        due_within_hours: params.due_within_hours,
        received_from: params
            .from
            .as_deref()
            .map(|t| instant(t, &zone))
            .transpose()?,
        received_to: params
            .to
            .as_deref()
            .map(|t| instant(t, &zone))
            .transpose()?,
        // The API pages newest first; its cursor (`before`) follows ticket numbers.
        order: match params.before.as_deref().map(ticket_no).transpose()? {
            Some(before) => TicketOrder::NewestBefore(before),
            None => TicketOrder::NewestFirst,
        },
        limit: params.limit.unwrap_or(50).clamp(1, 500),
    };
    let limit = filter.limit as usize;
    let tickets = app.list(&actor, app.now(), filter).await?;
    let next_before = (tickets.len() == limit)
        .then(|| tickets.last().map(|t| t.no.clone()))
        .flatten();
    Ok(Json(TicketPage {
        tickets,
        next_before,
    }))
}

/// An RFC 3339 instant, or a date meaning its midnight in the city's zone.
fn instant(text: &str, zone: &jiff::tz::TimeZone) -> WebResult<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        WebError::bad_request(format!(
            "{text:?} is neither an RFC 3339 time nor a date (YYYY-MM-DD)"
        ))
    })?;
    zone.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .map_err(|e| WebError::bad_request(e.to_string()))
}

#[utoipa::path(get, path = "/tickets/{no}/events", tag = "tickets",
    params(("no" = String, Path, description = "Ticket number")),
    responses((status = 200, description = "The ticket's audit log, oldest first", body = Vec<TimelineEntry>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn timeline(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Path(no): Path<String>,
) -> WebResult<Json<Vec<TimelineEntry>>> {
    Ok(Json(
        app.timeline(&actor, app.now(), ticket_no(&no)?).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallerHistoryRequest {
    /// The number the caller called from (or gave), as typed at intake.
    pub phone: String,
    /// The intake being handled, from `POST /intakes`: one intake looks up one caller.
    pub intake: String,
}

#[derive(Serialize, ToSchema)]
pub struct CallerHistoryResponse {
    /// The caller's recent tickets you may see, newest first (contacts masked).
    pub tickets: Vec<TicketView>,
    /// Confidential tickets (保密) of this caller that you may not reveal: only their count.
    pub confidential: u32,
}

#[utoipa::path(post, path = "/caller-history", tag = "tickets",
    request_body = CallerHistoryRequest,
    responses((status = 200, description = "The caller's recent tickets, found by a keyed hash of the number; the lookup is recorded", body = CallerHistoryResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, description = "The intake already looked up another number", body = ErrorBody), (status = 429, description = "The hourly lookup budget is spent; the refusal is recorded", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn caller_history(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Json(body): Json<CallerHistoryRequest>,
) -> WebResult<Json<CallerHistoryResponse>> {
    let history = app
        .caller_history(&actor, app.now(), &body.phone, &body.intake)
        .await?;
    Ok(Json(CallerHistoryResponse {
        tickets: history.tickets,
        confidential: history.confidential,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Intake {
    /// Name it in the caller lookups of this intake.
    pub intake: String,
}

#[utoipa::path(post, path = "/intakes", tag = "tickets",
    responses((status = 201, description = "A new intake for the call being taken", body = Intake), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn open_intake(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
) -> WebResult<(axum::http::StatusCode, Json<Intake>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(Intake {
            intake: app.open_intake(&actor, app.now())?,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// Why, from the list: `contact_citizen`, `follow_up_call`, `clarify_request`,
    /// `supervision_check`, `other`.
    pub purpose: RevealPurpose,
    /// Why you need the full contact, in words. Kept in the audit record.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct RevealedContact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone and ID numbers typed into the ticket's text, as written.
    pub numbers_in_text: Vec<RevealedNumber>,
    /// This access was recorded in the audit log under this sequence number.
    pub audit_seq: u64,
}

/// A number typed into a ticket's text, in full.
#[derive(Serialize, ToSchema)]
pub struct RevealedNumber {
    /// The text it was in: `description`, `title`, `note`, `result`, `comment`…
    pub field: String,
    pub kind: domain::numbers::NumberKind,
    /// How the text shows it (`138****1234`).
    pub masked: String,
    /// The number as it was written.
    pub written: String,
    /// The audit-log entry whose text it was in.
    pub seq: u64,
}

#[utoipa::path(post, path = "/tickets/{no}/reveal_contact", tag = "tickets",
    params(("no" = String, Path, description = "Ticket number")),
    request_body = RevealRequest,
    responses((status = 200, description = "The full contact; the access is in the audit log", body = RevealedContact), (status = 400, body = ErrorBody), (status = 403, description = "Your role does not need this contact now (the refusal is recorded)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reveal_contact(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Path(no): Path<String>,
    Json(body): Json<RevealRequest>,
) -> WebResult<Json<RevealedContact>> {
    let revealed = app
        .reveal_contact(
            &actor,
            app.now(),
            ticket_no(&no)?,
            body.purpose,
            &body.reason,
        )
        .await?;
    let numbers_in_text = revealed
        .numbers
        .into_iter()
        .map(|n| RevealedNumber {
            field: n.number.sealed.field,
            kind: n.number.sealed.kind,
            masked: n.number.sealed.masked,
            written: n.number.written,
            seq: n.seq,
        })
        .collect();
    let (name, phone, address, email) = match revealed.contact {
        Some(c) => (
            c.name,
            c.phone.map(|p| p.as_str().to_owned()),
            c.address,
            c.email,
        ),
        None => (None, None, None, None),
    };
    Ok(Json(RevealedContact {
        name,
        phone,
        address,
        email,
        numbers_in_text,
        audit_seq: revealed.audit_seq,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountParams {
    /// Count one unit's tickets (lead or co-unit). Unit staff always get their own.
    pub unit: Option<UnitId>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusCountView {
    pub status: Status,
    pub status_zh: String,
    pub count: u64,
    /// Of those, how many are past their running deadline now.
    pub overdue: u64,
}

#[utoipa::path(get, path = "/ticket-counts", tag = "tickets", params(CountParams),
    responses((status = 200, description = "How many tickets stand in each status, and how many of them are overdue", body = Vec<StatusCountView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn counts(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Query(params): Query<CountParams>,
) -> WebResult<Json<Vec<StatusCountView>>> {
    let counts = app.status_counts(&actor, app.now(), params.unit).await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|c| StatusCountView {
                status: c.status,
                status_zh: c.status.zh().to_owned(),
                count: c.count,
                overdue: c.overdue,
            })
            .collect(),
    ))
}
