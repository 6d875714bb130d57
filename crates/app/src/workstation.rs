//! What the workstation screens need beyond single use cases: category suggestions while an
//! operator types, the actions a ticket offers its viewer, what a dispatch would set before it is
//! confirmed, and the dispatcher's queues that are not plain status filters.

use std::collections::BTreeSet;

use domain::DomainError;
use domain::access::{AccessEvent, ReadPart, Seat};
use domain::category::match_score;
use domain::ids::{TicketNo, UnitId};
use domain::org::Actor;
use domain::permission::{Action, may_ever, require};
use domain::ticket::{Status, Ticket, likely_same_matter};
use jiff::{SignedDuration, Timestamp};
use store::{TicketOrder, TicketQuery};

use crate::App;
use crate::error::{AppError, AppResult};
use crate::tickets::ListFilter;
use crate::views::TicketView;

/// A leaf category proposed for what was typed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CategorySuggestion {
    pub code: String,
    pub name: String,
    pub path: String,
}

/// What a dispatch would set, shown before the dispatcher confirms it.
#[derive(Clone, Debug)]
pub struct DispatchPreview {
    pub ticket: TicketView,
    pub tier_name: String,
    pub sign_by: Timestamp,
    pub reply_by: Timestamp,
    /// Units whose dispatch catalogue (派单目录) covers the category, those whose jurisdiction
    /// also covers the place first.
    pub suggested: Vec<UnitChoice>,
    /// Every unit, for a dispatch outside the catalogue.
    pub all: Vec<UnitChoice>,
}

#[derive(Clone, Debug)]
pub struct UnitChoice {
    pub id: UnitId,
    pub name: String,
    pub kind_zh: &'static str,
    pub covers_place: bool,
}

/// How many open tickets a queue reads at most to find the ones it shows.
const QUEUE_SCAN: u32 = 1000;
/// How far back candidate duplicates are looked for.
const DUPLICATE_DAYS: i64 = 7;

impl App {
    /// Up to `limit` leaf categories for a description or a few typed words, best first.
    pub fn suggest_categories(&self, query: &str, limit: usize) -> Vec<CategorySuggestion> {
        let registry = self.registry();
        let query = query.trim();
        if query.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(u32, CategorySuggestion)> = registry
            .categories
            .values()
            .filter(|c| c.level() == 3)
            .filter_map(|c| {
                let path = registry.category_path(&c.code);
                let context = format!("{path} {}", c.description);
                let code_match = c.code.as_str().starts_with(query);
                let score = if code_match {
                    1000
                } else {
                    match_score(query, &c.name, &context)
                };
                (score > 0).then(|| {
                    (
                        score,
                        CategorySuggestion {
                            code: c.code.to_string(),
                            name: c.name.clone(),
                            path,
                        },
                    )
                })
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.code.cmp(&b.1.code)));
        scored.into_iter().take(limit).map(|(_, s)| s).collect()
    }

    /// The deadlines a dispatch made now would set, and the units to choose from. The ticket is
    /// shown with it, so the look is recorded.
    pub async fn dispatch_preview(
        &self,
        actor: &Actor,
        now: Timestamp,
        no: TicketNo,
    ) -> AppResult<DispatchPreview> {
        let ticket = self
            .store
            .ticket(no)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("ticket {no} does not exist")))?;
        require(actor, Action::Dispatch, Some(&ticket))?;
        self.record_read(actor, now, &ticket, ReadPart::Detail)
            .await?;
        let registry = self.registry();
        let tier = registry.rules.tier(&ticket.request.urgency)?;
        let division = ticket.request.location.division.as_ref();
        let choice = |u: &domain::org::Unit| UnitChoice {
            id: u.id.clone(),
            name: u.name.clone(),
            kind_zh: u.kind.zh(),
            covers_place: division.is_some_and(|d| u.covers(d)),
        };
        let mut suggested: Vec<UnitChoice> = registry
            .units
            .values()
            .filter(|u| u.handles(&ticket.request.category))
            .map(choice)
            .collect();
        suggested.sort_by_key(|u| !u.covers_place);
        let all = registry.units.values().map(choice).collect();
        Ok(DispatchPreview {
            tier_name: tier.name_zh.clone(),
            sign_by: registry.rules.calendar.add(now, tier.sign_within),
            reply_by: registry.rules.calendar.add(now, tier.reply_within),
            ticket: TicketView::of(&ticket, &registry, now, None),
            suggested,
            all,
        })
    }

    /// The dispatcher's queues (派单台) — new, returns, pending extensions, overdue, due within
    /// a day, likely duplicates — read together and recorded as one look.
    pub async fn dispatch_queues(
        &self,
        actor: &Actor,
        now: Timestamp,
        limit: u32,
    ) -> AppResult<DispatchQueues> {
        queue_permitted(actor, Action::Dispatch)?;
        let list = |statuses: Vec<Status>, overdue: bool, due_within_hours: Option<u32>| {
            ListFilter {
                statuses,
                overdue,
                due_within_hours,
                limit,
                // Queues of deadlines come most urgent first; the others from the ticket that
                // has waited longest, so a full page never hides it.
                order: if overdue || due_within_hours.is_some() {
                    TicketOrder::DeadlineFirst
                } else {
                    TicketOrder::OldestFirst
                },
                ..ListFilter::default()
            }
        };
        let open = || {
            vec![
                Status::Dispatched,
                Status::InProgress,
                Status::ReturnRequested,
            ]
        };
        let new = self
            .list_unrecorded(actor, now, list(vec![Status::PendingDispatch], false, None))
            .await?;
        let returns = self
            .list_unrecorded(actor, now, list(vec![Status::ReturnRequested], false, None))
            .await?;
        let overdue = self
            .list_unrecorded(actor, now, list(open(), true, None))
            .await?;
        let due_soon = self
            .list_unrecorded(actor, now, list(open(), false, Some(24)))
            .await?;
        let extensions = self.pending_extensions(actor).await?;
        let duplicates = self.duplicate_candidates(actor, now).await?;
        let shown: BTreeSet<TicketNo> = [&new, &returns, &overdue, &due_soon, &extensions]
            .into_iter()
            .flatten()
            .map(|t| t.no)
            .chain(duplicates.iter().flat_map(|(a, b)| [a.no, b.no]))
            .collect();
        if !shown.is_empty() {
            let event = AccessEvent::TicketsListed {
                tickets: shown.into_iter().collect(),
                listing: format!(
                    "dispatch queues: new, returns, extensions, overdue, due within 24 h, likely duplicates; limit={limit}"
                ),
                seat: Seat::of(actor),
            };
            self.record_access(actor, now, event).await?;
        }
        let registry = self.registry();
        let views = |tickets: &[Ticket]| -> Vec<TicketView> {
            tickets
                .iter()
                .map(|t| TicketView::of(t, &registry, now, None))
                .collect()
        };
        Ok(DispatchQueues {
            new: views(&new),
            returns: views(&returns),
            extensions: views(&extensions),
            overdue: views(&overdue),
            due_soon: views(&due_soon),
            duplicates: duplicates
                .iter()
                .map(|(a, b)| {
                    (
                        TicketView::of(a, &registry, now, None),
                        TicketView::of(b, &registry, now, None),
                    )
                })
                .collect(),
        })
    }

    /// Tickets whose unit asked for an extension the actor may decide.
    async fn pending_extensions(&self, actor: &Actor) -> AppResult<Vec<Ticket>> {
        let tickets = self
            .store
            .tickets(open_query(vec![Status::InProgress], None))
            .await?;
        // Scanned newest first, shown oldest first.
        Ok(tickets
            .into_iter()
            .rev()
            .filter(|t| t.current().is_some_and(|a| a.pending_extension.is_some()))
            .filter(|t| require(actor, Action::DecideExtension, Some(t)).is_ok())
            .collect())
    }

    /// New tickets that are probably about the same matter as another open ticket of the last
    /// week: pairs of (new ticket, the earlier one to merge it into).
    async fn duplicate_candidates(
        &self,
        actor: &Actor,
        now: Timestamp,
    ) -> AppResult<Vec<(Ticket, Ticket)>> {
        let mut query = open_query(
            vec![
                Status::PendingDispatch,
                Status::Dispatched,
                Status::InProgress,
                Status::ReturnRequested,
                Status::Replied,
            ],
            Some(now - SignedDuration::from_hours(DUPLICATE_DAYS * 24)),
        );
        query.limit = QUEUE_SCAN;
        let open = self.store.tickets(query).await?;
        let mut pairs = Vec::new();
        let mergeable = |t: &&Ticket| require(actor, Action::Merge, Some(t)).is_ok();
        for new in open
            .iter()
            .filter(|t| t.status == Status::PendingDispatch)
            .filter(mergeable)
        {
            if let Some(earlier) = open
                .iter()
                .filter(|o| o.no < new.no)
                .find(|o| likely_same_matter(new, o))
            {
                pairs.push((new.clone(), earlier.clone()));
            }
        }
        Ok(pairs)
    }
}

/// The dispatcher's queues, as [`App::dispatch_queues`] reads them.
#[derive(Clone, Debug)]
pub struct DispatchQueues {
    pub new: Vec<TicketView>,
    pub returns: Vec<TicketView>,
    pub extensions: Vec<TicketView>,
    pub overdue: Vec<TicketView>,
    pub due_soon: Vec<TicketView>,
    /// Pairs of (new ticket, the earlier one it likely repeats).
    pub duplicates: Vec<(TicketView, TicketView)>,
}

/// A queue is shown only to those whose role takes its action.
fn queue_permitted(actor: &Actor, action: Action) -> AppResult<()> {
    if may_ever(actor, action) {
        Ok(())
    } else {
        Err(DomainError::not_permitted(
            actor,
            action,
            "this queue is for the roles that take its action",
        )
        .into())
    }
}

fn open_query(statuses: Vec<Status>, received_from: Option<Timestamp>) -> TicketQuery {
    TicketQuery {
        statuses,
        unit: None,
        category: None,
        overdue_at: None,
        due_between: None,
        received_from,
        received_to: None,
        limit: QUEUE_SCAN,
        order: TicketOrder::NewestFirst,
    }
}
