//! The end of the log as a writer knows it, and the next entry to append.

use domain::audit::{ChainHead, EntryFields, Recorded, entry_hash};
use domain::ids::TicketNo;
use domain::org::Actor;
use domain::time::LogTime;

use crate::{StoreError, StoreResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chain {
    pub head: ChainHead,
    /// The time of the last entry. Entries never go back in time: a command that arrives with an
    /// earlier `now` (two requests racing) is recorded at this time instead.
    pub last_at: LogTime,
}

/// A log row ready to insert.
#[derive(Clone, Debug)]
pub(crate) struct NewEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub ticket: Option<i64>,
    pub kind: &'static str,
    pub body: String,
    pub prev: String,
    pub hash: String,
}

impl Chain {
    /// The next entry, holding `recorded`'s exact bytes, and the head moved past it.
    pub(crate) fn next(
        &mut self,
        at: LogTime,
        actor: &Actor,
        ticket: Option<TicketNo>,
        recorded: &Recorded,
    ) -> StoreResult<NewEntry> {
        let body = String::from_utf8(recorded.body.clone())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let kind = recorded.event.kind();
        let actor = actor.id.to_string();
        let seq = self.head.seq + 1;
        let fields = EntryFields {
            seq,
            at_ms: at.as_millisecond(),
            actor: &actor,
            ticket: ticket.map(TicketNo::to_storage),
            kind,
            body: body.as_bytes(),
        };
        let hash = entry_hash(&self.head.hash, &fields);
        let entry = NewEntry {
            seq: seq as i64,
            at_ms: fields.at_ms,
            ticket: fields.ticket,
            kind,
            prev: self.head.hash.to_hex(),
            hash: hash.to_hex(),
            actor,
            body,
        };
        self.head = ChainHead { seq, hash };
        self.last_at = at;
        Ok(entry)
    }
}
