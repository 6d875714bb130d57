//! Query shapes shared by all backends.

use domain::ids::{CategoryCode, TicketNo, UnitId, UserId};
use domain::ticket::Status;
use jiff::Timestamp;

/// A filtered, paged list of tickets, newest first (or soonest deadline first, with
/// `due_first`). Paging is by cursor: pass the last ticket number of a newest-first page as
/// `before` to get the next.
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
    pub before: Option<TicketNo>,
    pub limit: u32,
    /// Order by the running deadline, soonest (or most overdue) first, tickets without one last:
    /// the order of a unit's inbox and of the overdue queue.
    pub due_first: bool,
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
}

/// One ticket whose stored projection was not what its log entries fold to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub no: TicketNo,
    /// What differs: projection columns (`status`, `received_at`, …) and paths inside the
    /// folded state (`state.assignments[0].signed_at`).
    pub fields: Vec<String>,
}
