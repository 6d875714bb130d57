//! Query shapes shared by all backends.

use domain::ids::{CategoryCode, TicketNo, UnitId, UserId};
use domain::ticket::Status;
use jiff::Timestamp;

/// The order of a list of tickets, with where a page continues (ticket numbers grow with time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TicketOrder {
    /// Newest first; `before` continues after the previous page's last ticket.
    #[default]
    NewestFirst,
    /// Newest first, from just before this ticket.
    NewestBefore(TicketNo),
    /// Oldest first: a queue worked from the ticket that has waited longest, so the longest
    /// waiting are never the ones cut off by the page's limit.
    OldestFirst,
    /// Soonest (or most overdue) running deadline first, tickets without one last: a unit's
    /// inbox, the overdue queue.
    DeadlineFirst,
}

/// A filtered, limited list of tickets in a [`TicketOrder`].
#[derive(Clone, Debug, Default)]
pub struct TicketQuery {
    pub statuses: Vec<Status>,
    /// Tickets currently with this unit, as lead or co-unit.
    pub unit: Option<UnitId>,
    /// Category or any of its subcategories.
    pub category: Option<CategoryCode>,
    /// Only tickets whose running deadline is before this instant.
    pub overdue_at: Option<Timestamp>,
    /// Only tickets whose running deadline falls in `[from, until)`: due soon.
    pub due_between: Option<(Timestamp, Timestamp)>,
    pub received_from: Option<Timestamp>,
    pub received_to: Option<Timestamp>,
    pub limit: u32,
    pub order: TicketOrder,
}

impl TicketQuery {
    /// Filters only what a unit's links carry (status, deadline, number): no category and no
    /// time of receipt.
    pub(crate) fn links_only(&self) -> bool {
        self.category.is_none() && self.received_from.is_none() && self.received_to.is_none()
    }

    /// Deadline first with a bound on the deadline (overdue, due soon): only tickets with a
    /// running deadline qualify, so the deadline index can drive the query in order and stop at
    /// the limit, instead of every open ticket being read and sorted.
    pub(crate) fn by_bounded_deadline(&self) -> bool {
        self.order == TicketOrder::DeadlineFirst
            && (self.overdue_at.is_some() || self.due_between.is_some())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCount {
    pub status: Status,
    pub count: u64,
    pub overdue: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub user: UserId,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub entries: u64,
    pub tickets: u64,
    /// Tickets whose stored projection differed from the log (and were corrected).
    pub differing: Vec<Difference>,
    /// Projection rows with no ticket in the log (removed).
    pub orphans: Vec<TicketNo>,
    /// Projections that differed but were left as found: only the upgrade step that rewrites
    /// times written at a finer resolution leaves any, for `rebuild` to report.
    pub left_as_found: Vec<Difference>,
    /// Days whose KPI rollups differed from the rebuilt tickets' counts (and were corrected).
    pub rollup_days: Vec<jiff::civil::Date>,
    /// Calls folded from the log.
    pub calls: u64,
    /// Calls whose row or recorded event ids differed from the log (`source call`, or
    /// `source event id`), and were rewritten or removed.
    pub calls_differing: Vec<String>,
    /// Whether the call rollups differed from the log's counts (and were recounted).
    pub call_rollups_differed: bool,
}

/// One ticket whose stored projection was not what its log entries fold to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub no: TicketNo,
    /// What differs: projection columns (`status`, `received_at`, …) and paths inside the
    /// folded state (`state.assignments[0].signed_at`).
    pub fields: Vec<String>,
}
