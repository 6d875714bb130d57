//! Storage for minsheng. [`Store`] is the contract every backend implements (SQLite here,
//! PostgreSQL next); the contract tests in `tests/` run against each.
//!
//! What every backend guarantees:
//! - a command is decided and its events appended to the hash-chained log, and the projections
//!   updated, in one transaction; the caller hears back only after it is durable;
//! - sequence numbers are gapless and strictly increasing; each entry links to the one before;
//! - the projections (tickets, the in-memory [`Registry`]) can be rebuilt from the log;
//! - secrets (sealed contacts, password and token hashes) live beside the log, never in it.
//!
//! Invariant: the store decides nothing itself: it loads state, calls `domain`'s decide, and
//! records the result.

mod command;
pub mod copy;
mod error;
mod migration;
mod outbox;
pub mod postgres;
mod query;
mod registry;
pub mod sqlite;
mod stats;
mod write;

use std::sync::Arc;

use async_trait::async_trait;
use domain::audit::{ChainBreak, ChainHead, Hash, LogEntry};
use domain::calls::{Call, CallCounts};
use domain::ids::{CallId, CallSource, ContactId, TicketNo, UserId};
use domain::kpi::{KpiCounts, Period};
use domain::ticket::Ticket;

pub use command::{
    Command, Committed, SealedContact, SealedNumbers, SealedPhoto, Secret, StoredNumbers,
    Submission,
};
pub use error::StoreError;
pub use outbox::{Delivery, OutboxCounts, OutboxItem};
pub use query::{Difference, RebuildReport, StatusCount, TicketOrder, TicketQuery, TokenRecord};
pub use registry::Registry;
pub use stats::WriterStats;
pub use write::QUEUE_CAPACITY;

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether a store's writer thread is still running.
pub(crate) fn writer_running(
    writer: &std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
) -> StoreResult<()> {
    match writer.lock() {
        Ok(handle) if handle.as_ref().is_some_and(|h| !h.is_finished()) => Ok(()),
        _ => Err(StoreError::Unavailable("the writer has stopped".into())),
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Decides and commits one command. Commands from many callers are committed together
    /// (group commit); each caller hears back once its command is durable.
    async fn submit(&self, submission: Submission) -> StoreResult<Committed>;

    /// Units, users, categories, divisions and rules as of the last commit.
    fn registry(&self) -> Arc<Registry>;

    async fn ticket(&self, no: TicketNo) -> StoreResult<Option<Ticket>>;

    /// Tickets matching the query, newest first.
    async fn tickets(&self, query: TicketQuery) -> StoreResult<Vec<Ticket>>;

    /// How many tickets are in each status (for one unit, or all), and how many of them are past
    /// their running deadline at `now`.
    async fn status_counts(
        &self,
        unit: Option<domain::ids::UnitId>,
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<StatusCount>>;

    /// How many tickets in `statuses` each of `units` leads whose running deadline passed before
    /// `now`: counted in the unit links' index, however many there are. Units with none are left
    /// out.
    async fn overdue_by_lead_unit(
        &self,
        units: Vec<domain::ids::UnitId>,
        statuses: Vec<domain::ticket::Status>,
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<(domain::ids::UnitId, u64)>>;

    /// The ticket's log entries, oldest first: its timeline.
    async fn ticket_log(&self, no: TicketNo) -> StoreResult<Vec<LogEntry>>;

    /// Ticket events recorded in `[from, until)`, oldest first, at most `limit`.
    async fn ticket_events_between(
        &self,
        from: jiff::Timestamp,
        until: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>>;

    /// Who looked at this ticket, oldest first: every look at it alone (detail, timeline, photo,
    /// caller lookup), every reveal, and each person's first look at it in a list on each day.
    async fn ticket_access(&self, no: TicketNo) -> StoreResult<Vec<LogEntry>>;

    /// The access trail of `[from, until)`, oldest first: every look (`access.*`), every reveal
    /// (`ticket.contact_revealed`) and every change to a user (`user.*`, for role changes).
    async fn access_trail(
        &self,
        from: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> StoreResult<Vec<LogEntry>>;

    /// Failed logins (`access.login_failed`) in `[from, until)`, oldest first: read by their kind's
    /// index, not by scanning the whole access trail of the period.
    async fn failed_logins(
        &self,
        from: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> StoreResult<Vec<LogEntry>>;

    /// Tickets whose contact has this phone index (keyed hash), newest first.
    async fn caller_history(&self, phone_index: [u8; 32], limit: u32) -> StoreResult<Vec<Ticket>>;

    async fn contact(&self, id: ContactId) -> StoreResult<Option<SealedContact>>;

    /// The bytes the database takes on disk (SQLite: the file and its WAL; PostgreSQL: the whole
    /// database).
    async fn database_bytes(&self) -> StoreResult<u64>;

    /// The bytes all stored photos take.
    async fn photo_bytes(&self) -> StoreResult<u64>;

    /// Space left for the database on its disk, where the store can tell (SQLite); a server
    /// database (PostgreSQL) watches its own disk.
    fn available_space(&self) -> Option<u64> {
        None
    }

    /// The sealed photo attached to a ticket, if any.
    async fn photo(&self, no: TicketNo) -> StoreResult<Option<SealedPhoto>>;

    /// The numbers typed into a ticket's text, sealed, in the order they were written.
    async fn written_numbers(&self, no: TicketNo) -> StoreResult<Vec<StoredNumbers>>;

    async fn password_hash(&self, user: &UserId) -> StoreResult<Option<String>>;

    async fn token(&self, hash: [u8; 32]) -> StoreResult<Option<TokenRecord>>;

    /// The last entry's sequence number and hash.
    async fn audit_head(&self) -> StoreResult<ChainHead>;

    /// Recomputes the whole chain. The outer error is the store failing; the inner one is the
    /// chain breaking.
    async fn verify_log(
        &self,
        expected_head: Option<(u64, Hash)>,
    ) -> StoreResult<Result<ChainHead, ChainBreak>>;

    /// KPI counts from the ticket projections.
    async fn kpi_from_tickets(&self, period: Period) -> StoreResult<KpiCounts> {
        let mut counts = self.kpi_from_tickets_each(vec![period]).await?;
        Ok(counts.pop().unwrap_or_default())
    }

    /// KPI counts for several periods (a trend) from one read of the ticket projections, in the
    /// order given.
    async fn kpi_from_tickets_each(&self, periods: Vec<Period>) -> StoreResult<Vec<KpiCounts>>;

    /// KPI counts for several periods from the per unit × day rollups, in the order given: what
    /// reports read. A period not made of whole civil days is counted from the tickets.
    async fn kpi_from_rollups(&self, periods: Vec<Period>) -> StoreResult<Vec<KpiCounts>>;

    /// KPI counts by streaming the log.
    async fn kpi_from_log(&self, period: Period) -> StoreResult<KpiCounts>;

    /// A call as reported by `source`.
    async fn call(&self, source: &CallSource, id: &CallId) -> StoreResult<Option<Call>>;

    /// The call measures' counts over `[from, to)` from the rollups, summed into buckets of
    /// `bucket` (a multiple of 15 minutes) starting at `from`; each key's interval is its
    /// bucket's start.
    async fn call_counts(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        bucket: jiff::SignedDuration,
    ) -> StoreResult<CallCounts>;

    /// The call measures' counts of every 15-minute interval, recounted from the log's call
    /// entries alone (every call is folded in memory: a tool for checking, not for screens).
    async fn call_counts_from_log(&self) -> StoreResult<CallCounts>;

    /// Messages for citizens due at `now` (not delivered, not given up, their retry time come),
    /// oldest first. Deliveries are recorded with `Command::Deliver`.
    async fn outbox_due(&self, now: jiff::Timestamp, limit: u32) -> StoreResult<Vec<OutboxItem>>;

    async fn outbox_counts(&self) -> StoreResult<OutboxCounts>;

    /// Rebuilds the ticket projections from the log, reporting what differed.
    async fn rebuild(&self) -> StoreResult<RebuildReport>;

    /// Stops the writer after the commands already queued; later submissions fail.
    async fn close(&self);

    /// The database only answers reads (a PostgreSQL standby replica): every write is refused.
    fn read_only(&self) -> bool {
        false
    }

    /// Whether a write would be accepted now; the error says why not (the writer stopped, an
    /// fsync failed, a read-only standby). For readiness checks.
    fn writable(&self) -> StoreResult<()>;

    /// What the writer has done (batches, commit and fsync times, WAL bytes), for monitoring.
    fn writer_stats(&self) -> &WriterStats;

    /// Commands waiting for the writer now.
    fn queued(&self) -> usize;
}
