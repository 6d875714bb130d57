//! A ticket's projection as every backend stores it: a row of queryable columns plus the folded
//! state as JSON, and the units it is with.

use domain::ticket::Ticket;
use jiff::Timestamp;

use crate::StoreError;

/// The columns of a ticket's projection that change during its life, and its unit links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Keys {
    pub status: &'static str,
    pub lead_unit: Option<String>,
    pub due_at: Option<i64>,
    /// `(unit, is_lead)`, sorted.
    pub units: Vec<(String, bool)>,
}

impl Keys {
    pub(crate) fn of(ticket: &Ticket) -> Self {
        let mut units = Vec::new();
        if let Some(current) = ticket.current() {
            units.push((current.unit.to_string(), true));
            units.extend(current.co_units.iter().map(|u| (u.to_string(), false)));
        }
        units.sort();
        Self {
            status: ticket.status.as_str(),
            lead_unit: ticket.lead_unit().map(|u| u.to_string()),
            due_at: ticket.next_deadline().map(Timestamp::as_millisecond),
            units,
        }
    }
}

/// The unit links as stored, `(unit, lead, status, due_at)`, as the `units` key: a link whose
/// copy of the ticket's status or deadline differs from the ticket row's reads as a marker unit,
/// so `rebuild` names `units` and rewrites the links.
pub(crate) fn stored_units(
    links: Vec<(String, bool, String, Option<i64>)>,
    status: &str,
    due_at: Option<i64>,
) -> Vec<(String, bool)> {
    let mut units: Vec<(String, bool)> = links
        .into_iter()
        .map(|(unit, lead, s, due)| {
            if s == status && due == due_at {
                (unit, lead)
            } else {
                (format!("{unit} (stale status or deadline)"), lead)
            }
        })
        .collect();
    units.sort();
    units
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TicketRow {
    pub no: i64,
    pub keys: Keys,
    pub category: String,
    pub received_at: i64,
    pub updated_at: i64,
    pub contact_id: Option<i64>,
    pub version: i64,
    pub state: String,
}

impl TicketRow {
    pub(crate) fn of(ticket: &Ticket) -> Result<Self, StoreError> {
        Ok(Self {
            no: ticket.no.to_storage(),
            keys: Keys::of(ticket),
            category: ticket.request.category.to_string(),
            received_at: ticket.received_at.as_millisecond(),
            updated_at: ticket.updated_at.as_millisecond(),
            contact_id: ticket.contact.map(|c| c.0 as i64),
            version: i64::from(ticket.version),
            state: serde_json::to_string(ticket)?,
        })
    }
}

pub(crate) fn decode_ticket(state: &str) -> Result<Ticket, StoreError> {
    serde_json::from_str(state)
        .map_err(|e| StoreError::Corrupt(format!("a ticket projection does not decode: {e}")))
}

/// Below this many, decoding on one thread is quicker than starting others.
const PARALLEL_DECODE: usize = 2_000;

/// Decodes many projections (a KPI read of a month or more) on every core, in order.
pub(crate) fn decode_tickets(states: &[String]) -> Result<Vec<Ticket>, StoreError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads == 1 || states.len() < PARALLEL_DECODE {
        return states.iter().map(|s| decode_ticket(s)).collect();
    }
    let chunk = states.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = states
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|s| decode_ticket(s)).collect::<Vec<_>>())
            })
            .collect();
        let mut tickets = Vec::with_capacity(states.len());
        for part in parts {
            let decoded = part
                .join()
                .map_err(|_| StoreError::Corrupt("decoding ticket projections panicked".into()))?;
            for ticket in decoded {
                tickets.push(ticket?);
            }
        }
        Ok(tickets)
    })
}
