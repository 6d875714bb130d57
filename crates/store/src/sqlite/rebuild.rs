//! Rebuilding the ticket projections from the log, ticket by ticket in index order, so memory
//! stays small whatever the size of the log.

use std::collections::HashSet;

use domain::ids::TicketNo;
use domain::ticket::Ticket;
use rusqlite::{Connection, TransactionBehavior};

use super::rows::read_row;
use crate::registry::Registry;
use crate::write::{LogRow, Replay, Rewrite, Rollups, TicketRow, compare};
use crate::{RebuildReport, StoreError, StoreResult};

/// `registry` is the calendar the KPI rollups are counted in; without one (the upgrade step, run
/// before the registry is loaded) the rollups are left alone.
pub(crate) fn rebuild(
    conn: &mut Connection,
    rewrite: Rewrite,
    registry: Option<&Registry>,
) -> StoreResult<RebuildReport> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let entries: i64 = tx.query_row("SELECT COUNT(*) FROM log", [], |r| r.get(0))?;
    let mut report = RebuildReport {
        entries: entries as u64,
        ..Default::default()
    };
    let mut seen: HashSet<i64> = HashSet::new();
    let mut rollups = Rollups::default();
    {
        let mut stmt = tx.prepare("SELECT seq, at, actor, ticket, kind, body FROM log WHERE ticket IS NOT NULL ORDER BY ticket, seq")?;
        let mut rows = stmt.query([])?;
        let mut replay = Replay::default();
        while let Some(row) = rows.next()? {
            let row = LogRow {
                seq: row.get(0)?,
                at_ms: row.get(1)?,
                actor: row.get(2)?,
                ticket: row.get(3)?,
                kind: row.get(4)?,
                body: row.get(5)?,
            };
            if let Some(done) = replay.push(row)? {
                settle(&tx, &done, rewrite, &mut report, &mut seen)?;
                count(&mut rollups, &done, registry);
            }
        }
        if let Some(done) = replay.finish() {
            settle(&tx, &done, rewrite, &mut report, &mut seen)?;
            count(&mut rollups, &done, registry);
        }
    }
    if rewrite == Rewrite::FinerTimesOnly {
        // An upgrade step removes nothing: rows without a ticket are for `rebuild` to report.
        tx.commit()?;
        return Ok(report);
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
    if registry.is_some() {
        let rollups = rollups.without_zeros();
        report.rollup_days = super::rollups::load(&tx)?.differing_days(&rollups);
        if !report.rollup_days.is_empty() {
            super::rollups::replace(&tx, &rollups)?;
        }
    }
    if let Some(registry) = registry {
        super::calls::rebuild(&tx, &registry.rules.policy.calls, &mut report)?;
    }
    tx.commit()?;
    Ok(report)
}

fn count(rollups: &mut Rollups, ticket: &Ticket, registry: Option<&Registry>) {
    if let Some(registry) = registry {
        rollups.add_ticket(ticket, &registry.rules.calendar, 1);
    }
}

/// Compares a rebuilt ticket with its stored projection and writes it if they differ.
fn settle(
    conn: &Connection,
    ticket: &Ticket,
    rewrite: Rewrite,
    report: &mut RebuildReport,
    seen: &mut HashSet<i64>,
) -> StoreResult<()> {
    seen.insert(ticket.no.to_storage());
    report.tickets += 1;
    let expected = TicketRow::of(ticket)?;
    let stored = read_row(conn, ticket.no, rewrite.links_with_copies())?;
    if let Some(difference) = compare(stored.as_ref(), &expected)? {
        if rewrite.covers(stored.as_ref(), &expected) {
            report.differing.push(difference);
            if rewrite.links_with_copies() {
                super::rows::write_all(conn, &expected)?;
            } else {
                super::rows::write_row(conn, &expected)?;
            }
        } else {
            report.left_as_found.push(difference);
        }
    }
    Ok(())
}
