//! Ticket use cases. Each takes the actor and `now`, checks permission (in the domain decision,
//! or here for reads), and leaves the audit record to the store's transaction.

use domain::DomainError;
use domain::access::{AccessEvent, ReadPart, Seat, in_queue};
use domain::audit::LogEvent;
use domain::ids::{CategoryCode, DivisionCode, TicketNo, TierCode, UnitId};
use domain::numbers::WrittenNumber;
use domain::org::Actor;
use domain::permission::{Action, ContactVisibility, RevealPurpose, contact_visibility, require};
use domain::privacy::Contact;
use domain::ticket::{
    Channel, Coordinates, Location, NewTicket, RequestKind, Status, Ticket, TicketAction,
};
use jiff::Timestamp;
/// The order a list of tickets comes in (re-exported for the layers above the app).
pub use store::TicketOrder;
use store::{Command, StatusCount, TicketQuery};

use crate::App;
use crate::error::{AppError, AppResult};
use crate::vault::Vault;
use crate::views::{TicketView, TimelineEntry};

/// A request as an operator or channel records it.
#[derive(Clone, Debug)]
pub struct NewTicketInput {
    pub channel: Channel,
    pub kind: RequestKind,
    /// Defaults to the `general` tier.
    pub urgency: Option<TierCode>,
    pub category: CategoryCode,
    /// Defaults to the start of the description.
    pub title: Option<String>,
    pub description: String,
    pub address: String,
    pub division: Option<DivisionCode>,
    pub coordinates: Option<Coordinates>,
    pub confidential: bool,
    pub contact: Option<Contact>,
    /// Answer given on the call (直办): the ticket closes at once.
    pub answer_on_call: Option<String>,
    /// Answers to the service's extra questions (Open311 attributes).
    pub attributes: std::collections::BTreeMap<String, String>,
    pub media_url: Option<String>,
    /// SHA-256 (hex) of the citizen's private follow-up code.
    pub citizen_code: Option<String>,
    /// The citizen agreed to publish the request's words, place and reply.
    pub public: bool,
    /// A photo of the problem (JPEG, PNG or WebP, at most 5 MB); sealed before it is stored.
    pub photo: Option<Vec<u8>>,
}

/// What a ticket's page shows.
#[derive(Clone, Debug)]
pub struct TicketPage {
    pub view: TicketView,
    /// The actions the ticket offers this actor now.
    pub offers: Vec<Action>,
    pub timeline: Vec<TimelineEntry>,
}

/// A contact shown in full, with the numbers typed into the ticket's text, and where the log
/// recorded that they were shown.
#[derive(Clone, Debug)]
pub struct RevealedContact {
    /// None when the citizen left no contact details (only numbers in the text).
    pub contact: Option<Contact>,
    pub numbers: Vec<RevealedNumber>,
    pub audit_seq: u64,
}

/// A number typed into a ticket's text, shown in full: the log entry whose text it was in.
#[derive(Clone, Debug)]
pub struct RevealedNumber {
    pub seq: u64,
    pub number: WrittenNumber,
}

/// Filters for a ticket list. Unit staff always get their own unit's tickets.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub statuses: Vec<Status>,
    pub unit: Option<UnitId>,
    pub category: Option<CategoryCode>,
    pub overdue: bool,
    /// Only tickets whose running deadline falls within this many hours from now.
    pub due_within_hours: Option<u32>,
    pub received_from: Option<Timestamp>,
    pub received_to: Option<Timestamp>,
    pub limit: u32,
    /// Newest first (with where the page continues), oldest first, or deadline first.
    pub order: TicketOrder,
}

impl ListFilter {
    /// The filter as the access trail records it: every condition that chose the tickets.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.statuses.is_empty() {
            let statuses: Vec<_> = self.statuses.iter().map(|s| s.as_str()).collect();
            parts.push(format!("status={}", statuses.join(",")));
        }
        if let Some(unit) = &self.unit {
            parts.push(format!("unit={unit}"));
        }
        if let Some(category) = &self.category {
            parts.push(format!("category={category}"));
        }
        if self.overdue {
            parts.push("overdue".to_owned());
        }
        if let Some(hours) = self.due_within_hours {
            parts.push(format!("due_within_hours={hours}"));
        }
        if let Some(from) = self.received_from {
            parts.push(format!("received_from={from}"));
        }
        if let Some(to) = self.received_to {
            parts.push(format!("received_to={to}"));
        }
        match self.order {
            TicketOrder::NewestFirst => {}
            TicketOrder::NewestBefore(before) => parts.push(format!("before={before}")),
            TicketOrder::OldestFirst => parts.push("order=oldest".to_owned()),
            TicketOrder::DeadlineFirst => parts.push("order=due".to_owned()),
        }
        parts.push(format!("limit={}", self.limit));
        parts.join(" ")
    }
}

const DEFAULT_TIER: &str = "general";

impl App {
    /// 受理: records a request; with `answer_on_call` it is answered and closed at once (直办).
    pub async fn receive(
        &self,
        actor: &Actor,
        now: Timestamp,
        input: NewTicketInput,
    ) -> AppResult<TicketView> {
        // Refuse early, before any sealing, when the actor may not record tickets at all.
        require(actor, Action::Receive, None)?;
        let urgency = match input.urgency {
            Some(tier) => tier,
            None => TierCode::parse(DEFAULT_TIER).map_err(DomainError::from)?,
        };
        let title = input
            .title
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| summarise(&input.description));
        let request = NewTicket {
            channel: input.channel,
            kind: input.kind,
            urgency,
            category: input.category,
            title,
            description: input.description,
            location: Location {
                address: input.address,
                division: input.division,
                coordinates: input.coordinates,
            },
            confidential: input.confidential,
            attributes: input.attributes,
            media_url: input.media_url,
            citizen_code: input.citizen_code,
            public: input.public,
            photo: None,
        };
        let mut request = request;
        self.check_room(&request.channel, input.photo.as_deref())
            .await?;
        let photo = match &input.photo {
            Some(bytes) => {
                let content_type = domain::media::photo_type(bytes)?;
                request.photo = Some(content_type.to_owned());
                let cleaned = crate::photo::without_metadata(bytes, content_type)?;
                Some(self.vault.seal_photo(now, &cleaned, content_type)?)
            }
            None => None,
        };
        let contact = match &input.contact {
            Some(c) => Some(self.vault.seal(Vault::new_contact_id(now)?, c)?),
            None => None,
        };
        let committed = self
            .submit(
                actor,
                now,
                Command::Receive {
                    request,
                    contact,
                    answer_on_call: input.answer_on_call,
                    photo,
                    numbers: None,
                },
            )
            .await?;
        let ticket = committed
            .ticket()
            .ok_or_else(|| AppError::Internal("the new ticket was not returned".into()))?;
        Ok(TicketView::of(
            ticket,
            &self.registry(),
            now,
            input.contact.as_ref().map(Contact::masked),
        ))
    }

    /// Any lifecycle action on an existing ticket.
    pub async fn act(
        &self,
        actor: &Actor,
        now: Timestamp,
        no: TicketNo,
        action: TicketAction,
    ) -> AppResult<TicketView> {
        let committed = self
            .submit(
                actor,
                now,
                Command::Ticket {
                    no,
                    action,
                    numbers: None,
                },
            )
            .await?;
        let ticket = committed
            .ticket()
            .ok_or_else(|| AppError::Internal("the ticket was not returned".into()))?;
        Ok(TicketView::of(ticket, &self.registry(), now, None))
    }

    /// One ticket with its contact masked (or absent, for unit staff on a confidential ticket).
    /// The read is recorded in the access trail.
    pub async fn ticket(
        &self,
        actor: &Actor,
        now: Timestamp,
        no: TicketNo,
    ) -> AppResult<TicketView> {
        let ticket = self.read_ticket(actor, now, no, ReadPart::Detail).await?;
        self.view_of(actor, now, &ticket).await
    }

    /// A ticket's page: the ticket, the actions it offers this actor, and its timeline, read
    /// (and recorded) once.
    pub async fn ticket_page(
        &self,
        actor: &Actor,
        now: Timestamp,
        no: TicketNo,
    ) -> AppResult<TicketPage> {
        let ticket = self.read_ticket(actor, now, no, ReadPart::Detail).await?;
        Ok(TicketPage {
            view: self.view_of(actor, now, &ticket).await?,
            offers: domain::ticket::offered_actions(actor, &ticket, now, &self.registry().rules),
            timeline: self.timeline_of(no).await?,
        })
    }

    /// The view of a ticket the actor may see, its contact masked (or absent).
    async fn view_of(
        &self,
        actor: &Actor,
        now: Timestamp,
        ticket: &Ticket,
    ) -> AppResult<TicketView> {
        let visibility = contact_visibility(actor, ticket);
        let contact = match (visibility, ticket.contact) {
            (ContactVisibility::Masked, Some(id)) => match self.store.contact(id).await? {
                Some(sealed) => Some(self.vault.open(&sealed)?.masked()),
                None => None,
            },
            _ => None,
        };
        let mut view = TicketView::of(ticket, &self.registry(), now, contact);
        if visibility == ContactVisibility::Hidden {
            view.photo = None;
        }
        Ok(view)
    }

    /// The photo attached to a ticket, for those who may view the ticket: `(media type, bytes)`.
    /// Each view is recorded.
    pub async fn ticket_photo(
        &self,
        actor: &Actor,
        now: Timestamp,
        no: TicketNo,
    ) -> AppResult<(String, Vec<u8>)> {
        let ticket = self.read_ticket(actor, now, no, ReadPart::Photo).await?;
        if contact_visibility(actor, &ticket) == ContactVisibility::Hidden {
            // A photo can show a face or a front door: on a confidential ticket it is the
            // citizen's as much as their name.
            return Err(DomainError::not_permitted(
                actor,
                Action::ViewTicket,
                format!("ticket {no} is confidential (保密): its citizen's photo is not shown to a handling unit"),
            )
            .into());
        }
        let sealed = self
            .store
            .photo(no)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("ticket {no} has no photo")))?;
        Ok((sealed.content_type.clone(), self.vault.open_photo(&sealed)?))
    }

    /// The ticket's whole history from the audit log (the read is recorded).
    pub async fn timeline(
        &self,
        actor: &Actor,
        now: Timestamp,
        no: TicketNo,
    ) -> AppResult<Vec<TimelineEntry>> {
        self.read_ticket(actor, now, no, ReadPart::Timeline).await?;
        self.timeline_of(no).await
    }

    async fn timeline_of(&self, no: TicketNo) -> AppResult<Vec<TimelineEntry>> {
        let entries = self.store.ticket_log(no).await?;
        Ok(entries
            .into_iter()
            .map(|e| {
                let mut details = match &e.event {
                    LogEvent::Ticket(t) => serde_json::to_value(t).unwrap_or_default(),
                    LogEvent::Admin(a) => serde_json::to_value(a).unwrap_or_default(),
                    LogEvent::Access(a) => serde_json::to_value(a).unwrap_or_default(),
                    LogEvent::Call(c) => serde_json::to_value(c).unwrap_or_default(),
                };
                if let Some(map) = details.as_object_mut() {
                    map.remove("kind");
                    map.remove("contact");
                }
                TimelineEntry {
                    seq: e.seq,
                    at: e.at.timestamp(),
                    actor: e.actor,
                    kind: e.event.kind().to_owned(),
                    details,
                }
            })
            .collect())
    }

    /// Shows the full contact, after recording who asked and why in the audit log. A reveal the
    /// permission table refuses (no need for it now) is recorded as refused.
    pub async fn reveal_contact(
        &self,
        actor: &Actor,
        now: Timestamp,
        no: TicketNo,
        purpose: RevealPurpose,
        reason: &str,
    ) -> AppResult<RevealedContact> {
        let action = TicketAction::RevealContact {
            purpose,
            reason: reason.to_owned(),
        };
        let committed = match self
            .submit(
                actor,
                now,
                Command::Ticket {
                    no,
                    action,
                    numbers: None,
                },
            )
            .await
        {
            Err(AppError::Refused(refusal @ DomainError::NotPermitted { .. })) => {
                let event = AccessEvent::RevealRefused {
                    ticket: no,
                    reason: format!("{}: {reason}", purpose.as_str()),
                    why: refusal.to_string(),
                    seat: Seat::of(actor),
                };
                self.record_access(actor, now, event).await?;
                return Err(refusal.into());
            }
            other => other?,
        };
        let audit_seq = committed.last_seq().unwrap_or_default();
        let contact = match committed.ticket().and_then(|t| t.contact) {
            Some(id) => {
                let sealed = self.store.contact(id).await?.ok_or_else(|| {
                    AppError::Internal(format!("contact {id} of ticket {no} is missing"))
                })?;
                Some(self.vault.open(&sealed)?)
            }
            None => None,
        };
        let mut numbers = Vec::new();
        for stored in self.store.written_numbers(no).await? {
            numbers.extend(self.vault.open_numbers(&stored)?.into_iter().map(|number| {
                RevealedNumber {
                    seq: stored.seq,
                    number,
                }
            }));
        }
        Ok(RevealedContact {
            contact,
            numbers,
            audit_seq,
        })
    }

    /// A page of tickets with their descriptions; the page is recorded in the access trail
    /// with the filter that chose it.
    pub async fn list(
        &self,
        actor: &Actor,
        now: Timestamp,
        filter: ListFilter,
    ) -> AppResult<Vec<TicketView>> {
        let listing = filter.describe();
        let tickets = self.list_unrecorded(actor, now, filter).await?;
        let record = async {
            if tickets.is_empty() {
                return Ok(());
            }
            let event = AccessEvent::TicketsListed {
                tickets: tickets.iter().map(|t| t.no).collect(),
                listing,
                seat: Seat::of(actor),
            };
            self.record_access(actor, now, event).await.map(|_| ())
        };
        let views = async {
            let registry = self.registry();
            tickets
                .iter()
                .map(|t| {
                    let mut view = TicketView::of(t, &registry, now, None);
                    if contact_visibility(actor, t) == ContactVisibility::Hidden {
                        view.photo = None;
                    }
                    view
                })
                .collect::<Vec<_>>()
        };
        // The views are made while the writer records the look; they leave only once it is.
        let (recorded, views) = tokio::join!(record, views);
        recorded?;
        Ok(views)
    }

    /// The tickets of a list, for a use case that records the look itself (an export).
    pub(crate) async fn list_unrecorded(
        &self,
        actor: &Actor,
        now: Timestamp,
        filter: ListFilter,
    ) -> AppResult<Vec<Ticket>> {
        let unit = scope(actor, filter.unit)?;
        let query = TicketQuery {
            statuses: filter.statuses,
            unit,
            category: filter.category,
            overdue_at: filter.overdue.then_some(now),
            due_between: filter
                .due_within_hours
                .map(|h| (now, now + jiff::SignedDuration::from_hours(i64::from(h)))),
            received_from: filter.received_from,
            received_to: filter.received_to,
            order: filter.order,
            limit: if filter.limit == 0 {
                50
            } else {
                filter.limit.min(500)
            },
        };
        Ok(self.store.tickets(query).await?)
    }

    pub async fn status_counts(
        &self,
        actor: &Actor,
        now: Timestamp,
        unit: Option<UnitId>,
    ) -> AppResult<Vec<StatusCount>> {
        let unit = scope(actor, unit)?;
        Ok(self.store.status_counts(unit, now).await?)
    }

    /// Keeps the disk from filling through the channels anyone may use: below the disk reserve
    /// the citizen page and Open311 take no new requests, and no new photos come from anyone;
    /// past the photo quota no new photos. Refused with "unavailable" (503), nothing written.
    async fn check_room(&self, channel: &Channel, photo: Option<&[u8]>) -> AppResult<()> {
        let storage = self.registry().rules.policy.storage;
        let mib = 1024 * 1024;
        let anonymous = matches!(channel, Channel::Web | Channel::Open311);
        if (anonymous || photo.is_some())
            && let Some(free) = self.store.available_space()
            && free < storage.disk_reserve_mb.saturating_mul(mib)
        {
            return Err(AppError::Unavailable(
                "the server's disk is nearly full, so new requests from the web are not taken; call 12345, or try again later".into(),
            ));
        }
        if let Some(photo) = photo {
            let used = self.store.photo_bytes().await?;
            if used.saturating_add(photo.len() as u64) > storage.photo_quota_mb.saturating_mul(mib)
            {
                return Err(AppError::Unavailable(
                    "no more photos can be stored now; send the request without one".into(),
                ));
            }
        }
        Ok(())
    }

    /// A ticket the actor may view, its read recorded before it is returned.
    async fn read_ticket(
        &self,
        actor: &Actor,
        now: Timestamp,
        no: TicketNo,
        part: ReadPart,
    ) -> AppResult<Ticket> {
        let ticket = self.visible_ticket(actor, no).await?;
        self.record_read(actor, now, &ticket, part).await?;
        Ok(ticket)
    }

    /// Records a read of `ticket`, which the caller checked the actor may see.
    pub(crate) async fn record_read(
        &self,
        actor: &Actor,
        now: Timestamp,
        ticket: &Ticket,
        part: ReadPart,
    ) -> AppResult<()> {
        let event = AccessEvent::TicketRead {
            ticket: ticket.no,
            part,
            seat: Seat::of(actor),
            in_queue: in_queue(actor, ticket),
        };
        self.record_access(actor, now, event).await.map(|_| ())
    }

    async fn visible_ticket(&self, actor: &Actor, no: TicketNo) -> AppResult<Ticket> {
        let ticket = self
            .store
            .ticket(no)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("ticket {no} does not exist")))?;
        require(actor, Action::ViewTicket, Some(&ticket))?;
        Ok(ticket)
    }
}

/// The unit a list is restricted to: unit staff see their own unit only; centre staff may filter.
fn scope(actor: &Actor, requested: Option<UnitId>) -> AppResult<Option<UnitId>> {
    match actor.affiliation.unit() {
        Some(own) => match requested {
            Some(other) if &other != own => Err(DomainError::not_permitted(
                actor,
                Action::ViewTicket,
                format!("unit staff see their own unit's tickets only, not those of {other}"),
            )
            .into()),
            _ => Ok(Some(own.clone())),
        },
        None => {
            if !domain::permission::may_ever(actor, Action::ViewTicket) {
                return Err(DomainError::not_permitted(
                    actor,
                    Action::ViewTicket,
                    "this account does not work on tickets (administrators and outside channels see no lists)",
                )
                .into());
            }
            Ok(requested)
        }
    }
}

/// The first line of a description, cut to 30 characters, as a title.
fn summarise(description: &str) -> String {
    let line = description.trim().lines().next().unwrap_or("").trim();
    let mut title: String = line.chars().take(30).collect();
    if line.chars().count() > 30 {
        title.push('…');
    }
    title
}
