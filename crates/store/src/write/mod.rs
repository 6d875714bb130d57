//! The write path every backend shares. A backend supplies one transaction ([`WriteTx`]); this
//! module decides each command against it and records the result, so the rules of what is
//! written — log entries, projections, secrets, the chain's head — exist once, not once per
//! backend.
//!
//! A batch goes: `begin` (which locks the chain's head), [`catch_up`] with whatever other writers
//! appended, then for each command [`prepare`] (read and decide, writing nothing: a refusal needs
//! no rollback) and [`record`] (write), then `finish` (store the head, commit).

mod cache;
pub(crate) mod calls;
mod chain;
mod commit;
mod plan;
mod projection;
mod queue;
mod replay;
pub(crate) mod rollup;

pub(crate) use cache::TicketCache;
pub(crate) use chain::{Chain, NewEntry};
pub(crate) use commit::{Attempt, Failure, commit_batch};
pub(crate) use plan::{catch_up, write_batch};
pub(crate) use projection::{Keys, TicketRow, decode_ticket, decode_tickets, stored_units};
pub use queue::QUEUE_CAPACITY;
pub(crate) use queue::{Jobs, Next, Pending, Queue, Then, queue};
pub(crate) use replay::{LogRow, Replay, Rewrite, compare, report_upgrade};
pub(crate) use rollup::{RollupSql, Rollups, whole_days};

use std::collections::BTreeSet;

use domain::audit::ChainHead;
use domain::calls::Call;
use domain::ids::{CallEventId, CallId, CallSource, TicketNo, UserId};
use domain::ticket::Ticket;
use jiff::Timestamp;

use crate::{SealedContact, StoreResult};

/// One write transaction of a backend. Methods are async so PostgreSQL can await the network;
/// SQLite's run synchronously inside them.
#[allow(async_fn_in_trait)]
pub(crate) trait WriteTx {
    /// The chain's head as stored, locked against other writers until the transaction ends.
    async fn head(&mut self) -> StoreResult<(ChainHead, domain::time::LogTime)>;
    /// Stores the head after the batch (a backend that derives it from the log does nothing).
    async fn save_head(&mut self, chain: &Chain) -> StoreResult<()>;
    /// Admin events of the registry's kinds after `seq`, as `(seq, kind, body)`.
    async fn registry_events_after(&mut self, seq: u64) -> StoreResult<Vec<(u64, String, String)>>;
    /// Tickets with log entries after `seq`.
    async fn tickets_touched_after(&mut self, seq: u64) -> StoreResult<Vec<TicketNo>>;

    async fn load_ticket(&mut self, no: TicketNo) -> StoreResult<Option<Ticket>>;
    /// The last ticket counter used on a local day (0 if none).
    async fn day_counter(&mut self, day: &str) -> StoreResult<u32>;
    async fn token_is_active(&mut self, id: &str, user: &UserId) -> StoreResult<bool>;

    async fn set_day_counter(&mut self, day: &str, counter: u32) -> StoreResult<()>;
    async fn insert_contact(&mut self, contact: &SealedContact) -> StoreResult<()>;
    async fn insert_photo(&mut self, no: TicketNo, photo: &crate::SealedPhoto) -> StoreResult<()>;
    /// Numbers typed into a command's text on ticket `no`, whose first log entry is `seq`.
    async fn insert_numbers(
        &mut self,
        no: TicketNo,
        seq: u64,
        numbers: &crate::SealedNumbers,
    ) -> StoreResult<()>;
    async fn insert_entry(&mut self, entry: &NewEntry) -> StoreResult<()>;
    /// Notes that access entry `seq` showed ticket `no`.
    async fn insert_access_index(&mut self, no: TicketNo, seq: i64) -> StoreResult<()>;
    /// Notes that `actor` saw ticket `no` in a list on local `day`, unless already noted that
    /// day (then the first look stands).
    async fn insert_list_sighting(
        &mut self,
        no: TicketNo,
        day: &str,
        actor: &str,
        seq: i64,
    ) -> StoreResult<()>;
    /// The bodies of `actor`'s caller lookups (`access.caller_looked_up`) at or after `since`,
    /// oldest first, including those written earlier in this transaction.
    async fn lookups_since(&mut self, actor: &str, since: Timestamp) -> StoreResult<Vec<String>>;
    /// Writes a ticket's projection: everything when `before` is `None` (a new ticket), else
    /// only what changed.
    async fn write_ticket(&mut self, row: &TicketRow, before: Option<&Keys>) -> StoreResult<()>;
    async fn store_password(&mut self, user: &str, hash: &str, at: Timestamp) -> StoreResult<()>;
    async fn store_token(
        &mut self,
        id: &str,
        hash: &[u8; 32],
        user: &str,
        label: &str,
        at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<()>;
    async fn revoke_token(&mut self, id: &str, user: &str, at: Timestamp) -> StoreResult<()>;
    /// Revokes every token of `user` not yet revoked (a new password ends all sessions).
    async fn revoke_user_tokens(&mut self, user: &str, at: Timestamp) -> StoreResult<()>;
    /// Adds a batch's difference to the KPI rollups.
    async fn add_rollups(&mut self, rollups: &Rollups) -> StoreResult<()>;
    /// A new message for the citizen, due at once.
    async fn insert_outbox(&mut self, item: &crate::OutboxItem) -> StoreResult<()>;
    /// One delivery attempt; false when the message is unknown or already settled.
    async fn record_delivery(
        &mut self,
        seq: u64,
        outcome: &crate::Delivery,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Which of these events of `source` are recorded already (committed before this batch).
    async fn known_call_events(
        &mut self,
        source: &CallSource,
        ids: &[CallEventId],
    ) -> StoreResult<BTreeSet<CallEventId>>;
    /// The stored calls among `ids` (committed before this batch).
    async fn load_calls(&mut self, source: &CallSource, ids: &[CallId]) -> StoreResult<Vec<Call>>;
    /// Notes that log entry `seq` recorded these events.
    async fn record_call_events(
        &mut self,
        source: &CallSource,
        ids: &[CallEventId],
        seq: i64,
    ) -> StoreResult<()>;
    /// Writes a call's projection row (insert or replace).
    async fn write_call(&mut self, row: &calls::CallRow) -> StoreResult<()>;
    /// Adds a batch's difference to the call rollups.
    async fn add_call_rollups(&mut self, counts: &domain::calls::CallCounts) -> StoreResult<()>;
    /// Gives up every undelivered message created before `before`; returns how many.
    async fn expire_outbox(
        &mut self,
        before: Timestamp,
        reason: &str,
        at: Timestamp,
    ) -> StoreResult<u64>;
}
