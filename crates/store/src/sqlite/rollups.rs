//! The KPI rollups on SQLite: adding a batch's difference, summing periods, reading them all (for
//! `rebuild`), and filling them once for a database written before they existed.

use std::sync::LazyLock;

use domain::kpi::{KpiCounts, Period};
use domain::ticket::Ticket;
use rusqlite::{Connection, params_from_iter};

use crate::StoreResult;
use crate::registry::Registry;
use crate::write::{RollupSql, Rollups, decode_ticket, rollup, whole_days};

static SQL: LazyLock<RollupSql> = LazyLock::new(RollupSql::sqlite);

pub(crate) fn add(conn: &Connection, rollups: &Rollups) -> StoreResult<()> {
    let mut unit = conn.prepare_cached(&SQL.upsert_unit)?;
    for ((day, id), row) in &rollups.units {
        let mut values: Vec<rusqlite::types::Value> =
            vec![day.to_string().into(), id.to_string().into()];
        values.extend(row.iter().map(|n| (*n).into()));
        unit.execute(params_from_iter(values))?;
    }
    let mut hotline = conn.prepare_cached(&SQL.upsert_hotline)?;
    for ((day, channel, category), row) in &rollups.hotline {
        hotline.execute(rusqlite::params![
            day.to_string(),
            channel.as_str(),
            category.to_string(),
            row[0],
            row[1]
        ])?;
    }
    Ok(())
}

/// Each period's counts from the rollups; a period not made of whole days is counted from the
/// tickets instead.
pub(crate) fn counts(
    conn: &Connection,
    registry: &Registry,
    periods: &[Period],
) -> StoreResult<Vec<KpiCounts>> {
    let calendar = &registry.rules.calendar;
    let mut all = Vec::with_capacity(periods.len());
    for period in periods {
        let Some((first, end)) = whole_days(*period, calendar) else {
            all.extend(super::read::kpi_from_tickets(conn, &[*period])?);
            continue;
        };
        let (first, end) = (first.to_string(), end.to_string());
        let mut counts = KpiCounts::default();
        let mut stmt = conn.prepare_cached(&SQL.unit_sums)?;
        let mut rows = stmt.query([&first, &end])?;
        while let Some(r) = rows.next()? {
            let unit = rollup::parse_unit(&r.get::<_, String>(0)?)?;
            let mut row = [0i64; 15];
            for (i, n) in row.iter_mut().enumerate() {
                *n = r.get(i + 1)?;
            }
            rollup::add_unit_sums(&mut counts, unit, &row);
        }
        let mut stmt = conn.prepare_cached(&SQL.hotline_sums)?;
        let mut rows = stmt.query([&first, &end])?;
        while let Some(r) = rows.next()? {
            let (channel, category) =
                rollup::parse_hotline_key(&r.get::<_, String>(0)?, &r.get::<_, String>(1)?)?;
            rollup::add_hotline_sums(&mut counts, channel, category, &[r.get(2)?, r.get(3)?]);
        }
        all.push(counts);
    }
    Ok(all)
}

/// Every stored rollup row.
pub(crate) fn load(conn: &Connection) -> StoreResult<Rollups> {
    let mut rollups = Rollups::default();
    let mut stmt = conn.prepare(&SQL.all_units)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let day = rollup::parse_day(&r.get::<_, String>(0)?)?;
        let unit = rollup::parse_unit(&r.get::<_, String>(1)?)?;
        let mut row = [0i64; 15];
        for (i, n) in row.iter_mut().enumerate() {
            *n = r.get(i + 2)?;
        }
        rollups.units.insert((day, unit), row);
    }
    let mut stmt = conn.prepare(&SQL.all_hotline)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let day = rollup::parse_day(&r.get::<_, String>(0)?)?;
        let (channel, category) =
            rollup::parse_hotline_key(&r.get::<_, String>(1)?, &r.get::<_, String>(2)?)?;
        rollups
            .hotline
            .insert((day, channel, category), [r.get(3)?, r.get(4)?]);
    }
    Ok(rollups.without_zeros())
}

/// Replaces every rollup row with `rollups`.
pub(crate) fn replace(conn: &Connection, rollups: &Rollups) -> StoreResult<()> {
    conn.execute_batch("DELETE FROM kpi_unit_day; DELETE FROM kpi_hotline_day;")?;
    add(conn, rollups)
}

/// A database written before the rollups existed has tickets and no rollup rows (every ticket
/// counts as received on some day, so a database with tickets always has some): they are filled
/// once from the ticket projections.
pub(crate) fn fill_if_missing(conn: &mut Connection, registry: &Registry) -> StoreResult<()> {
    let missing: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM tickets) AND NOT EXISTS (SELECT 1 FROM kpi_hotline_day)",
        [],
        |r| r.get(0),
    )?;
    if !missing {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let mut rollups = Rollups::default();
    let mut tickets = 0u64;
    {
        let mut stmt = tx.prepare("SELECT state FROM tickets")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let ticket: Ticket = decode_ticket(&r.get::<_, String>(0)?)?;
            rollups.add_ticket(&ticket, &registry.rules.calendar, 1);
            tickets += 1;
        }
    }
    add(&tx, &rollups.without_zeros())?;
    tx.commit()?;
    tracing::info!(
        tickets,
        "filled the KPI rollups from the ticket projections"
    );
    Ok(())
}
