//! Rebuilding the ticket projections from the log, ticket by ticket in index order, so memory
//! stays small whatever the size of the log.

use std::collections::HashSet;

use domain::audit::LogEvent;
use domain::ids::TicketNo;
use domain::ticket::Ticket;
use jiff::Timestamp;
use rusqlite::{Connection, TransactionBehavior};

use super::rows::read_row;
use crate::write::TicketRow;
use crate::{RebuildReport, StoreError, StoreResult};

pub(crate) fn rebuild(conn: &mut Connection) -> StoreResult<RebuildReport> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let entries: i64 = tx.query_row("SELECT COUNT(*) FROM log", [], |r| r.get(0))?;
    let mut report = RebuildReport {
        entries: entries as u64,
        ..Default::default()
    };
    let mut seen: HashSet<i64> = HashSet::new();
    {
        let mut stmt = tx.prepare("SELECT seq, at, actor, ticket, kind, body FROM log WHERE ticket IS NOT NULL ORDER BY ticket, seq")?;
        let mut rows = stmt.query([])?;
        let mut current: Option<Ticket> = None;
        while let Some(row) = rows.next()? {
            let (seq, at, actor, ticket, kind, body): (i64, i64, String, i64, String, String) = (
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            );
            let corrupt = |what: String| StoreError::Corrupt(format!("log entry {seq}: {what}"));
            let no = TicketNo::from_storage(ticket).map_err(|e| corrupt(e.to_string()))?;
            let at = Timestamp::from_millisecond(at).map_err(|e| corrupt(e.to_string()))?;
            let LogEvent::Ticket(event) =
                LogEvent::from_body(&kind, body.as_bytes()).map_err(|e| corrupt(e.to_string()))?
            else {
                return Err(corrupt(format!("{kind} is not a ticket event")));
            };
            match current.as_mut() {
                Some(t) if t.no == no => t.apply(at, &event).map_err(|e| corrupt(e.to_string()))?,
                _ => {
                    if let Some(done) = current.take() {
                        settle(&tx, &done, &mut report, &mut seen)?;
                    }
                    current = Some(
                        Ticket::start(no, at, &actor, &event)
                            .map_err(|e| corrupt(e.to_string()))?,
                    );
                }
            }
        }
        if let Some(done) = current {
            settle(&tx, &done, &mut report, &mut seen)?;
        }
    }
    let stored: Vec<i64> = tx
        .prepare("SELECT no FROM tickets")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for no in stored.into_iter().filter(|no| !seen.contains(no)) {
        tx.execute("DELETE FROM ticket_units WHERE no = ?1", [no])?;
        tx.execute("DELETE FROM tickets WHERE no = ?1", [no])?;
        report
            .orphans
            .push(TicketNo::from_storage(no).map_err(|e| StoreError::Corrupt(e.to_string()))?);
    }
    tx.commit()?;
    Ok(report)
}

/// Compares a rebuilt ticket with its stored projection and writes it if they differ.
fn settle(
    conn: &Connection,
    ticket: &Ticket,
    report: &mut RebuildReport,
    seen: &mut HashSet<i64>,
) -> StoreResult<()> {
    seen.insert(ticket.no.to_storage());
    report.tickets += 1;
    let expected = TicketRow::of(ticket)?;
    if read_row(conn, ticket.no)?.as_ref() != Some(&expected) {
        report.differing.push(ticket.no);
        super::rows::write_all(conn, &expected)?;
    }
    Ok(())
}
