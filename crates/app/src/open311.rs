//! The Open311 GeoReport v2 use cases: the service list (from the category taxonomy), a
//! service's questions, submitting a request as an outside channel, and the public reads.
//!
//! What a public read shows: never the reporter (name, phone, email, device or account), never a
//! confidential request (it reads as not found), and the citizen's own words, the exact place and
//! the unit's reply only for requests whose citizen agreed to publish them (同意公开: the
//! citizen page's box, Open311's `public` parameter); of the rest only the category, the street or
//! community and the progress are shown.

use std::collections::BTreeMap;

use domain::DomainError;
use domain::ids::{CategoryCode, DivisionCode, TicketNo, TierCode};
use domain::open311::{Attribute, attributes, check_answers};
use domain::org::Actor;
use domain::privacy::Contact;
use domain::ticket::{Channel, Coordinates, RequestKind, Status, Ticket};
use jiff::{SignedDuration, Timestamp};
use store::{TicketOrder, TicketQuery};

use crate::App;
use crate::error::{AppError, AppResult};
use crate::tickets::NewTicketInput;

/// One service (a leaf category) as the spec lists it.
#[derive(Clone, Debug)]
pub struct Service {
    pub code: String,
    pub name: String,
    pub description: String,
    /// The top-level category's name.
    pub group: String,
    /// The names on the category's path.
    pub keywords: Vec<String>,
    /// Whether the service has questions (`services/{code}` lists them).
    pub metadata: bool,
}

/// A request as submitted by a client (`POST requests`).
#[derive(Clone, Debug, Default)]
pub struct Submission {
    pub service_code: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address_string: Option<String>,
    /// One of the city's division codes (a street or community), our address database.
    pub address_id: Option<String>,
    /// `attribute[code]` answers; several for a multivaluelist.
    pub attributes: BTreeMap<String, Vec<String>>,
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// The citizen agreed to publish the request's words, exact place and reply (the `public`
    /// parameter, an extension; absent means no).
    pub public: bool,
}

/// A request as anyone may read it.
#[derive(Clone, Debug)]
pub struct PublicRequest {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    pub status_notes: String,
    pub service_name: String,
    pub service_code: String,
    pub description: String,
    pub agency_responsible: String,
    pub service_notice: String,
    pub requested_datetime: Timestamp,
    pub updated_datetime: Timestamp,
    pub expected_datetime: Option<Timestamp>,
    pub address: String,
    pub address_id: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub media_url: String,
}

/// `GET requests` filters. Empty lists mean "any".
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub ids: Vec<TicketNo>,
    pub service_codes: Vec<CategoryCode>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    /// `open` and/or `closed`.
    pub statuses: Vec<String>,
    /// 1-based page of `page_size` (a mySociety-style extension; the spec returns one page).
    pub page: u32,
    pub page_size: u32,
}

/// One step of a request's progress, as the mySociety `servicerequestupdates` extension shows it.
#[derive(Clone, Debug)]
pub struct PublicUpdate {
    /// The audit log's sequence number: unique and increasing.
    pub update_id: u64,
    pub service_request_id: String,
    /// `open` or `closed` after this step.
    pub status: &'static str,
    pub updated_datetime: Timestamp,
    pub description: String,
}

/// The updates window when no dates are given.
const DEFAULT_UPDATE_HOURS: i64 = 24;

/// The spec's default window when no dates are given.
const DEFAULT_DAYS: i64 = 90;
/// The spec's default and our maximum number of requests in one answer.
pub const MAX_REQUESTS: u32 = 200;
/// How far back paging reaches (pages × page size): one read never loads a city.
const MAX_PAGED: u32 = 2_000;
/// What every answer to a submission says.
const SERVICE_NOTICE: &str = "已受理，将按时限派至承办单位办理。Received; it will be dispatched to the responsible unit within the deadline.";

impl App {
    /// Every leaf category of the taxonomy, as services.
    pub fn open311_services(&self) -> Vec<Service> {
        let registry = self.registry();
        registry
            .categories
            .values()
            .filter(|c| c.level() == 3)
            .map(|c| {
                let path = registry.category_path(&c.code);
                let keywords: Vec<String> = path.split(" / ").map(str::to_owned).collect();
                Service {
                    code: c.code.to_string(),
                    name: c.name.clone(),
                    description: c.description.clone(),
                    group: keywords.first().cloned().unwrap_or_default(),
                    keywords,
                    metadata: !attributes(&c.code).is_empty(),
                }
            })
            .collect()
    }

    /// A service's questions, or not found.
    pub fn open311_service(&self, code: &str) -> AppResult<(String, Vec<Attribute>)> {
        let code = self.service_code(code)?;
        Ok((code.to_string(), attributes(&code)))
    }

    fn service_code(&self, code: &str) -> AppResult<CategoryCode> {
        let not_found = || {
            AppError::NotFound(format!(
                "service_code {code:?} is not a service of this city; see services"
            ))
        };
        let parsed = CategoryCode::parse(code.trim()).map_err(|_| not_found())?;
        match self.registry().categories.get(&parsed) {
            Some(c) if c.level() == 3 => Ok(parsed),
            _ => Err(not_found()),
        }
    }

    /// `POST requests`: records the request as the channel behind the API key (the ticket's
    /// `received_by`). The reporter's name, phone and email are sealed like any caller's. The
    /// client's `device_id` and `account_id` identify the citizen too and are not kept: the
    /// client already knows them, and the sealed contact is what the centre needs.
    pub async fn open311_submit(
        &self,
        actor: &Actor,
        now: Timestamp,
        submission: Submission,
    ) -> AppResult<(String, &'static str)> {
        let category = self.service_code(&submission.service_code)?;
        let answers = check_answers(&category, &submission.attributes)?;
        let coordinates = match (submission.lat, submission.lon) {
            (Some(lat), Some(lon)) => Some(Coordinates::parse(lat, lon)?),
            (None, None) => None,
            _ => {
                return Err(
                    DomainError::invalid("lat", "give both lat and long, or neither").into(),
                );
            }
        };
        let address = submission
            .address_string
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .to_owned();
        let division = match submission.address_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => Some(DivisionCode::parse(id).map_err(|_| {
                DomainError::invalid(
                    "address_id",
                    format!("{id:?} is not a division code of this city"),
                )
            })?),
            _ => None,
        };
        if coordinates.is_none() && address.is_empty() && division.is_none() {
            return Err(DomainError::invalid(
                "location",
                "give lat and long, address_string or address_id",
            )
            .into());
        }
        let description = submission
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                self.registry()
                    .categories
                    .get(&category)
                    .map(|c| c.name.clone())
                    .unwrap_or_default()
            });
        let name = match (
            submission.last_name.as_deref(),
            submission.first_name.as_deref(),
        ) {
            // Chinese order: family name first, no space.
            (Some(last), Some(first)) => Some(format!("{}{}", last.trim(), first.trim())),
            (last, first) => last.or(first).map(|n| n.trim().to_owned()),
        };
        let contact = Contact::with_email(
            name.as_deref(),
            submission.phone.as_deref(),
            None,
            submission.email.as_deref(),
        )?;
        let input = NewTicketInput {
            channel: Channel::Open311,
            kind: RequestKind::Help,
            urgency: Some(TierCode::parse("general").map_err(DomainError::from)?),
            category,
            title: None,
            description,
            address,
            division,
            coordinates,
            confidential: false,
            contact,
            answer_on_call: None,
            attributes: answers,
            media_url: submission.media_url.filter(|u| !u.trim().is_empty()),
            citizen_code: None,
            public: submission.public,
            photo: None,
        };
        let view = self.receive(actor, now, input).await?;
        Ok((view.no, SERVICE_NOTICE))
    }

    /// `GET requests/{id}`: one request, or not found (also when it is confidential).
    pub async fn open311_request(&self, id: &str) -> AppResult<PublicRequest> {
        let not_found = || AppError::NotFound(format!("service_request_id {id} was not found"));
        let no = TicketNo::parse(id.trim()).map_err(|_| not_found())?;
        match self.store.ticket(no).await? {
            Some(t) if !t.request.confidential => Ok(self.public(&t)),
            _ => Err(not_found()),
        }
    }

    /// `GET requests`: by ids (other filters then ignored, as the spec says), else by service,
    /// dates (the last 90 days by default) and status, newest first.
    pub async fn open311_requests(
        &self,
        now: Timestamp,
        filter: RequestFilter,
    ) -> AppResult<Vec<PublicRequest>> {
        if !filter.ids.is_empty() {
            let mut found = Vec::new();
            for no in filter.ids.iter().take(MAX_REQUESTS as usize) {
                if let Some(t) = self.store.ticket(*no).await?
                    && !t.request.confidential
                {
                    found.push(self.public(&t));
                }
            }
            return Ok(found);
        }
        let end = filter.end.unwrap_or(now);
        let start = filter
            .start
            .unwrap_or(end - SignedDuration::from_hours(DEFAULT_DAYS * 24));
        if end.duration_since(start) > SignedDuration::from_hours(DEFAULT_DAYS * 24) {
            return Err(DomainError::invalid(
                "start_date",
                format!("a read covers {DEFAULT_DAYS} days at most; ask for several windows"),
            )
            .into());
        }
        if start > end {
            if filter.start.is_some() && filter.end.is_some() {
                return Err(
                    DomainError::invalid("start_date", "start_date is after end_date").into(),
                );
            }
            // Only one end given, and nothing can lie between it and the default other end.
            return Ok(Vec::new());
        }
        let statuses: Vec<Status> = Status::ALL
            .into_iter()
            .filter(|s| {
                filter.statuses.is_empty()
                    || filter
                        .statuses
                        .iter()
                        .any(|wanted| wanted == domain::open311::status(*s))
            })
            .collect();
        let page_size = filter.page_size.clamp(1, MAX_REQUESTS);
        let wanted = filter.page.max(1).saturating_mul(page_size);
        if wanted > MAX_PAGED {
            return Err(DomainError::invalid(
                "page",
                format!("pages reach back {MAX_PAGED} requests at most; narrow start_date and end_date instead"),
            )
            .into());
        }
        let wanted = wanted as usize;
        let categories: Vec<Option<CategoryCode>> = if filter.service_codes.is_empty() {
            vec![None]
        } else {
            filter.service_codes.iter().cloned().map(Some).collect()
        };
        let mut tickets: Vec<Ticket> = Vec::new();
        for category in categories {
            let mut before = None;
            // Pages of the store until enough public requests are found or the window ends.
            loop {
                let batch = self
                    .store
                    .tickets(TicketQuery {
                        statuses: statuses.clone(),
                        category: category.clone(),
                        received_from: Some(start),
                        // end_date is inclusive.
                        received_to: Some(end + SignedDuration::from_millis(1)),
                        order: match before {
                            Some(no) => TicketOrder::NewestBefore(no),
                            None => TicketOrder::NewestFirst,
                        },
                        limit: MAX_REQUESTS,
                        ..TicketQuery::default()
                    })
                    .await?;
                let done = batch.len() < MAX_REQUESTS as usize;
                before = batch.last().map(|t| t.no);
                tickets.extend(batch.into_iter().filter(|t| !t.request.confidential));
                if done || tickets.len() >= wanted {
                    break;
                }
            }
        }
        tickets.sort_by_key(|t| std::cmp::Reverse(t.no));
        Ok(tickets
            .iter()
            .skip(wanted - page_size as usize)
            .take(page_size as usize)
            .map(|t| self.public(t))
            .collect())
    }

    /// Progress of public requests: every step a citizen would care about (received, dispatched,
    /// signed, re-dispatched, extended, replied, reopened, closed, merged, handed off), for one
    /// request or for a window of time (the last day by default), oldest first.
    pub async fn open311_updates(
        &self,
        now: Timestamp,
        request: Option<&str>,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
    ) -> AppResult<Vec<PublicUpdate>> {
        let entries = match request {
            Some(id) => {
                let found = self.open311_request(id).await?;
                let no = TicketNo::parse(&found.service_request_id)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                self.store.ticket_log(no).await?
            }
            None => {
                let end = end.unwrap_or(now);
                let start = start.unwrap_or(end - SignedDuration::from_hours(DEFAULT_UPDATE_HOURS));
                self.store
                    .ticket_events_between(
                        start,
                        end + SignedDuration::from_millis(1),
                        MAX_REQUESTS,
                    )
                    .await?
            }
        };
        let mut tickets: BTreeMap<TicketNo, Option<Ticket>> = BTreeMap::new();
        let mut updates = Vec::new();
        for entry in entries {
            let (Some(no), domain::audit::LogEvent::Ticket(event)) = (entry.ticket, &entry.event)
            else {
                continue;
            };
            let Some(step) = public_step(event) else {
                continue;
            };
            let ticket = match tickets.entry(no) {
                std::collections::btree_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::btree_map::Entry::Vacant(slot) => {
                    let found = self.store.ticket(no).await?;
                    slot.insert(found.filter(|t| !t.request.confidential))
                }
            };
            let Some(ticket) = ticket else {
                continue;
            };
            let public_channel = matches!(ticket.request.channel, Channel::Open311 | Channel::Web);
            let description = match event {
                domain::ticket::TicketEvent::Replied { result, .. } if public_channel => {
                    format!("{step}：{result}")
                }
                _ => step.to_owned(),
            };
            updates.push(PublicUpdate {
                update_id: entry.seq,
                service_request_id: no.to_string(),
                status: if matches!(
                    event,
                    domain::ticket::TicketEvent::Closed { .. }
                        | domain::ticket::TicketEvent::MergedInto { .. }
                        | domain::ticket::TicketEvent::HandedOff { .. }
                ) {
                    "closed"
                } else {
                    "open"
                },
                updated_datetime: entry.at.timestamp(),
                description,
            });
        }
        Ok(updates)
    }

    /// What anyone may read of a ticket. Unless the citizen agreed to publish it, nothing that
    /// could point at a household: no words of theirs, no reply, no photo link, and the place only
    /// as its street or community (the division's name), without house number or coordinates.
    fn public(&self, t: &Ticket) -> PublicRequest {
        let registry = self.registry();
        let published = t.request.public;
        let last = t.assignments.last();
        let reply = last.and_then(|a| a.reply.as_ref());
        let mut notes = t.status.zh().to_owned();
        if published && let Some(r) = reply {
            notes = format!("{notes}：{}", r.result);
        }
        let location = &t.request.location;
        let area = location
            .division
            .as_ref()
            .and_then(|d| registry.divisions.get(d))
            .cloned()
            .unwrap_or_default();
        PublicRequest {
            service_request_id: t.no.to_string(),
            status: domain::open311::status(t.status),
            status_notes: notes,
            service_name: registry
                .category_name(&t.request.category)
                .unwrap_or_default()
                .to_owned(),
            service_code: t.request.category.to_string(),
            description: if published {
                t.request.description.clone()
            } else {
                String::new()
            },
            agency_responsible: t
                .current()
                .or(last)
                .and_then(|a| registry.unit_name(&a.unit))
                .unwrap_or_default()
                .to_owned(),
            service_notice: String::new(),
            requested_datetime: t.received_at,
            updated_datetime: t.updated_at,
            expected_datetime: t.current().map(|a| a.reply_by),
            address: if published {
                location.address.clone()
            } else {
                area
            },
            address_id: location
                .division
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            lat: location.coordinates.filter(|_| published).map(|c| c.lat),
            lon: location.coordinates.filter(|_| published).map(|c| c.lon),
            media_url: if published {
                t.request.media_url.clone().unwrap_or_default()
            } else {
                String::new()
            },
        }
    }
}

/// The words for a step the public may see, or `None` for internal ones (notes, reveals,
/// urging, arbitration the citizen does not wait on).
pub(crate) fn public_step(event: &domain::ticket::TicketEvent) -> Option<&'static str> {
    use domain::ticket::TicketEvent::*;
    Some(match event {
        Received { .. } => "已受理",
        AnsweredOnCall { .. } => "已当场答复",
        Dispatched {
            redispatch: false, ..
        } => "已派至承办单位",
        Dispatched {
            redispatch: true, ..
        } => "已改派承办单位",
        Signed { .. } => "承办单位已签收，正在办理",
        ExtensionApproved { .. } => "办理时限已延长",
        Replied { .. } => "承办单位已答复",
        Reopened { .. } => "市民反映未解决，已重新交办",
        Closed { .. } => "已办结",
        MergedInto { .. } => "已并单",
        HandedOff { .. } => "已转交",
        _ => return None,
    })
}
