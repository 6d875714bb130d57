//! A writer's memory of recently written tickets, so the next command on a ticket does not read
//! and decode its projection again. It only ever holds committed state: the writer forgets
//! tickets another writer touched, and everything when a batch fails or projections are rebuilt.

use std::collections::{HashMap, HashSet};

use domain::ids::TicketNo;
use domain::ticket::Ticket;

/// Tickets kept; past this the cache starts afresh (cheap, and active tickets return at once).
const CAPACITY: usize = 50_000;

/// List sightings remembered; past this the memory starts afresh (a repeat costs one lookup).
const SIGHTINGS: usize = 1_000_000;

#[derive(Default)]
pub(crate) struct TicketCache {
    tickets: HashMap<TicketNo, Ticket>,
    /// The local day, and who was already noted seeing which ticket in a list on it: a queue
    /// reread all day then writes nothing more.
    sightings: (String, HashSet<(String, TicketNo)>),
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

    /// Whether this is the first time today this writer notes `actor` seeing `no` in a list
    /// (committed or in the open transaction; an abandoned transaction clears the cache).
    pub(crate) fn first_sighting(&mut self, day: &str, actor: &str, no: TicketNo) -> bool {
        let (known_day, seen) = &mut self.sightings;
        if known_day != day || seen.len() >= SIGHTINGS {
            *known_day = day.to_owned();
            seen.clear();
        }
        seen.insert((actor.to_owned(), no))
    }

    pub(crate) fn clear(&mut self) {
        self.tickets.clear();
        self.sightings.1.clear();
    }
}
