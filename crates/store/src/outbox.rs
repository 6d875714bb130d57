//! The notification outbox: a message for the citizen is written in the same transaction as the
//! event that calls for it, so none is lost and none is invented; a worker delivers them and
//! records each attempt through the writer. The row's key is the log entry's sequence number,
//! which is also what a gateway receives to de-duplicate a message delivered twice.

use domain::ids::{ContactId, TicketNo};
use domain::notify::Notice;
use jiff::Timestamp;

/// A message due for delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    /// The log entry that called for it: unique, and the idempotency key of its delivery.
    pub seq: u64,
    pub ticket: TicketNo,
    pub notice: Notice,
    /// The sealed contact to send it to.
    pub contact: ContactId,
    pub created_at: Timestamp,
    /// Deliveries tried so far.
    pub attempts: u32,
}

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Failed; try again at `next_at`.
    Retry {
        error: String,
        next_at: Timestamp,
    },
    /// Failed for the last time (or cannot be sent at all, e.g. no phone number).
    GaveUp {
        error: String,
    },
}

/// How many messages are waiting, delivered, or given up on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
}

/// A delivery attempt as stored: `(sent_at, failed_at, last_error, next_at)`; `next_at` only for
/// a retry.
pub(crate) fn outcome_columns(
    d: &Delivery,
    at: Timestamp,
) -> (Option<i64>, Option<i64>, Option<String>, Option<i64>) {
    match d {
        Delivery::Sent => (Some(at.as_millisecond()), None, None, None),
        Delivery::Retry { error, next_at } => (
            None,
            None,
            Some(error.clone()),
            Some(next_at.as_millisecond()),
        ),
        Delivery::GaveUp { error } => (None, Some(at.as_millisecond()), Some(error.clone()), None),
    }
}

/// A stored row `(seq, ticket, notice, contact_id, created_at, attempts)` as an item.
pub(crate) fn item(row: (i64, i64, String, i64, i64, i64)) -> crate::StoreResult<OutboxItem> {
    let (seq, ticket, notice, contact, created_at, attempts) = row;
    let corrupt = |what: String| crate::StoreError::Corrupt(format!("outbox row {seq}: {what}"));
    Ok(OutboxItem {
        seq: seq as u64,
        ticket: TicketNo::from_storage(ticket).map_err(|e| corrupt(e.to_string()))?,
        notice: Notice::parse(&notice)
            .ok_or_else(|| corrupt(format!("unknown notice {notice:?}")))?,
        contact: ContactId(contact as u64),
        created_at: Timestamp::from_millisecond(created_at).map_err(|e| corrupt(e.to_string()))?,
        attempts: attempts as u32,
    })
}
