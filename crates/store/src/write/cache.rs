//! A writer's memory of recently written tickets, so the next command on a ticket does not read
//! and decode its projection again. It only ever holds committed state: the writer forgets
//! tickets another writer touched, and everything when a batch fails or projections are rebuilt.

use std::collections::HashMap;

use domain::ids::TicketNo;
use domain::ticket::Ticket;

/// Tickets kept; past this the cache starts afresh (cheap, and active tickets return at once).
const CAPACITY: usize = 50_000;

#[derive(Default)]
pub(crate) struct TicketCache {
    tickets: HashMap<TicketNo, Ticket>,
}

impl TicketCache {
    pub(crate) fn get(&self, no: TicketNo) -> Option<Ticket> {
        self.tickets.get(&no).cloned()
    }

    pub(crate) fn remember(&mut self, ticket: &Ticket) {
        if self.tickets.len() >= CAPACITY && !self.tickets.contains_key(&ticket.no) {
            self.tickets.clear();
        }
        self.tickets.insert(ticket.no, ticket.clone());
    }

    pub(crate) fn forget(&mut self, no: TicketNo) {
        self.tickets.remove(&no);
    }

    pub(crate) fn clear(&mut self) {
        self.tickets.clear();
    }
}
