//! Rebuilding the ticket projections from the log. Every writer on every node is held off for the
//! duration (the chain's head row stays locked); the log streams ticket by ticket in index order
//! from a second connection, and each chunk of rebuilt tickets is compared with the stored
//! projections, so memory stays small whatever the size of the log.

use std::collections::HashSet;

use domain::ids::TicketNo;
use domain::ticket::Ticket;
use futures::TryStreamExt;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::TicketColumns;
use super::tx::{write_rows, write_units};
use crate::registry::Registry;
use crate::write::{Keys, LogRow, Replay, Rewrite, Rollups, TicketRow, compare};
use crate::{RebuildReport, StoreError, StoreResult};

pub(crate) async fn rebuild(
    conn: &mut PgConnection,
    options: &PgConnectOptions,
    rewrite: Rewrite,
    registry: Option<&Registry>,
) -> StoreResult<RebuildReport> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE")
        .execute(&mut *tx)
        .await?;
    let (entries,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM log")
        .fetch_one(&mut *tx)
        .await?;
    let mut report = RebuildReport {
        entries: entries as u64,
        ..Default::default()
    };
    let mut seen = HashSet::new();
    let mut rollups = Rollups::default();
    // The log streams from a second connection while the first, holding the lock, writes.
    let mut reader = PgConnection::connect_with(options).await?;
    {
        let mut rows = sqlx::query_as::<_, (i64, i64, String, i64, String, String)>(
            "SELECT seq, at, actor, ticket, kind, body FROM log WHERE ticket IS NOT NULL ORDER BY ticket, seq",
        )
        .fetch(&mut reader);
        let mut done: Vec<Ticket> = Vec::new();
        let mut replay = Replay::default();
        while let Some((seq, at_ms, actor, ticket, kind, body)) = rows.try_next().await? {
            let row = LogRow {
                seq,
                at_ms,
                actor,
                ticket,
                kind,
                body,
            };
            done.extend(replay.push(row)?);
            if done.len() >= CHUNK {
                count(&mut rollups, &done, registry);
                settle(
                    &mut tx,
                    &std::mem::take(&mut done),
                    rewrite,
                    &mut report,
                    &mut seen,
                )
                .await?;
            }
        }
        done.extend(replay.finish());
        count(&mut rollups, &done, registry);
        settle(&mut tx, &done, rewrite, &mut report, &mut seen).await?;
    }
    if rewrite == Rewrite::Everything
        && let Some(registry) = registry
    {
        super::calls::rebuild(
            &mut tx,
            &mut reader,
            &registry.rules.policy.calls,
            &mut report,
        )
        .await?;
    }
    let _ = reader.close().await;
    if rewrite == Rewrite::FinerTimesOnly {
        // An upgrade step removes nothing: rows without a ticket are for `rebuild` to report.
        tx.commit().await?;
        return Ok(report);
    }
    let all: Vec<(i64,)> = sqlx::query_as("SELECT no FROM tickets")
        .fetch_all(&mut *tx)
        .await?;
    let orphans: Vec<i64> = all
        .into_iter()
        .map(|(n,)| n)
        .filter(|n| !seen.contains(n))
        .collect();
    if !orphans.is_empty() {
        sqlx::query("DELETE FROM ticket_units WHERE no = ANY($1)")
            .bind(&orphans)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tickets WHERE no = ANY($1)")
            .bind(&orphans)
            .execute(&mut *tx)
            .await?;
    }
    for no in orphans {
        report
            .orphans
            .push(TicketNo::from_storage(no).map_err(|e| StoreError::Corrupt(e.to_string()))?);
    }
    if registry.is_some() {
        let rollups = rollups.without_zeros();
        report.rollup_days = super::rollups::load(&mut tx)
            .await?
            .differing_days(&rollups);
        if !report.rollup_days.is_empty() {
            super::rollups::replace(&mut tx, &rollups).await?;
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Adds rebuilt tickets to the rollups' recount (when there is a calendar to count days in).
fn count(rollups: &mut Rollups, tickets: &[Ticket], registry: Option<&Registry>) {
    if let Some(registry) = registry {
        for ticket in tickets {
            rollups.add_ticket(ticket, &registry.rules.calendar, 1);
        }
    }
}

const CHUNK: usize = 1000;

/// Compares rebuilt tickets with their stored projections and writes those that differ.
async fn settle(
    conn: &mut PgConnection,
    rebuilt: &[Ticket],
    rewrite: Rewrite,
    report: &mut RebuildReport,
    seen: &mut HashSet<i64>,
) -> StoreResult<()> {
    let numbers: Vec<i64> = rebuilt.iter().map(|t| t.no.to_storage()).collect();
    let stored = stored_rows(conn, &numbers, rewrite.links_with_copies()).await?;
    let mut repairs: Vec<TicketRow> = Vec::new();
    for ticket in rebuilt {
        seen.insert(ticket.no.to_storage());
        report.tickets += 1;
        let expected = TicketRow::of(ticket)?;
        let before = stored.iter().find(|r| r.no == expected.no);
        if let Some(difference) = compare(before, &expected)? {
            if rewrite.covers(before, &expected) {
                report.differing.push(difference);
                repairs.push(expected);
            } else {
                report.left_as_found.push(difference);
            }
        }
    }
    write_rows(conn, repairs.iter()).await?;
    if rewrite.links_with_copies() {
        write_units(conn, &repairs.iter().collect::<Vec<_>>()).await?;
    }
    Ok(())
}

/// The stored projections of these tickets, with their unit links.
/// A unit link as stored: ticket, unit, lead, and its copies of the status and deadline.
type StoredLink = (i64, String, bool, Option<String>, Option<i64>);

/// `copies`: the links carry the ticket's status and deadline (schema version 9 on).
async fn stored_rows(
    conn: &mut PgConnection,
    numbers: &[i64],
    copies: bool,
) -> StoreResult<Vec<TicketRow>> {
    let rows: Vec<TicketColumns> = sqlx::query_as(
        "SELECT no, status, category, lead_unit, received_at, due_at, updated_at, contact_id, version, state
         FROM tickets WHERE no = ANY($1)",
    )
    .bind(numbers)
    .fetch_all(&mut *conn)
    .await?;
    // Without copies, each link reads as agreeing with its ticket.
    let links: Vec<StoredLink> = sqlx::query_as(if copies {
        "SELECT no, unit, lead, status, due_at FROM ticket_units WHERE no = ANY($1)"
    } else {
        "SELECT no, unit, lead, NULL::text, NULL::bigint FROM ticket_units WHERE no = ANY($1)"
    })
    .bind(numbers)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                no,
                status,
                category,
                lead_unit,
                received_at,
                due_at,
                updated_at,
                contact_id,
                version,
                state,
            )| {
                let units = crate::write::stored_units(
                    links
                        .iter()
                        .filter(|l| l.0 == no)
                        .map(|l| match &l.3 {
                            Some(copy) => (l.1.clone(), l.2, copy.clone(), l.4),
                            None => (l.1.clone(), l.2, status.clone(), due_at),
                        })
                        .collect(),
                    &status,
                    due_at,
                );
                // A status the code does not know (a hand-edited row) never equals a real one.
                let status = domain::ticket::Status::parse(&status)
                    .map(|s| s.as_str())
                    .unwrap_or("?");
                TicketRow {
                    no,
                    keys: Keys {
                        status,
                        lead_unit,
                        due_at,
                        units,
                    },
                    category,
                    received_at,
                    updated_at,
                    contact_id,
                    version,
                    state,
                }
            },
        )
        .collect())
}
