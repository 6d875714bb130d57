//! KPI counts from ticket states: each assignment keeps the times of its milestones ([`marks`]).

use super::marks::marks;
use super::{KpiCounts, Period};
use crate::ticket::Ticket;

pub fn from_tickets<'a>(
    period: Period,
    tickets: impl IntoIterator<Item = &'a Ticket>,
) -> KpiCounts {
    let mut counts = KpiCounts::default();
    // A ticket last changed before the period or received after it has nothing in it; skipping
    // it early matters when one read serves several periods.
    for ticket in tickets
        .into_iter()
        .filter(|t| t.updated_at >= period.start && t.received_at < period.end)
    {
        for mark in marks(ticket).iter().filter(|m| period.contains(m.at())) {
            counts.add(mark, 1);
        }
    }
    counts
}
