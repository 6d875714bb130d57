//! The writer's memory of recently written tickets, so the next command on a ticket does not
//! read and decode its projection again. It only ever holds committed state: the writer clears it
//! whenever a batch fails, another process appends, or the projections are rebuilt.

use std::collections::HashMap;

use domain::ids::TicketNo;
use domain::ticket::Ticket;
use rusqlite::Connection;

use super::rows::load_ticket;
use crate::StoreResult;

/// Tickets kept; past this the cache starts afresh (cheap, and active tickets return at once).
const CAPACITY: usize = 50_000;

#[derive(Default)]
pub(crate) struct TicketCache {
    tickets: HashMap<TicketNo, Ticket>,
}

impl TicketCache {
    pub(crate) fn load(&self, conn: &Connection, no: TicketNo) -> StoreResult<Option<Ticket>> {
        match self.tickets.get(&no) {
            Some(ticket) => Ok(Some(ticket.clone())),
            None => load_ticket(conn, no),
        }
    }

    pub(crate) fn remember(&mut self, ticket: &Ticket) {
        if self.tickets.len() >= CAPACITY && !self.tickets.contains_key(&ticket.no) {
            self.tickets.clear();
        }
        self.tickets.insert(ticket.no, ticket.clone());
    }

    pub(crate) fn clear(&mut self) {
        self.tickets.clear();
    }
}
