//! The KPI rollups on PostgreSQL: adding a batch's difference (one statement per table, rows sent
//! as arrays), summing periods, reading them all (for `rebuild`), and filling them once for a
//! database written before they existed.

use std::sync::LazyLock;

use domain::kpi::{KpiCounts, Period};
use domain::ticket::Ticket;
use futures::TryStreamExt;
use sqlx::postgres::PgRow;
// The statements are built once from constant column names (no input reaches them).
use sqlx::{AssertSqlSafe, PgConnection, Row};

use crate::StoreResult;
use crate::registry::Registry;
use crate::write::{RollupSql, Rollups, decode_ticket, rollup, whole_days};

static SQL: LazyLock<RollupSql> = LazyLock::new(RollupSql::postgres);

pub(crate) async fn add(conn: &mut PgConnection, rollups: &Rollups) -> StoreResult<()> {
    if !rollups.units.is_empty() {
        let keys = rollups.units.keys();
        let mut query = sqlx::query(AssertSqlSafe(SQL.upsert_unit.as_str()))
            .bind(keys.clone().map(|(d, _)| d.to_string()).collect::<Vec<_>>())
            .bind(keys.map(|(_, u)| u.to_string()).collect::<Vec<_>>());
        for i in 0..15 {
            query = query.bind(rollups.units.values().map(|r| r[i]).collect::<Vec<i64>>());
        }
        query.execute(&mut *conn).await?;
    }
    if !rollups.hotline.is_empty() {
        let keys = rollups.hotline.keys();
        sqlx::query(AssertSqlSafe(SQL.upsert_hotline.as_str()))
            .bind(
                keys.clone()
                    .map(|(d, _, _)| d.to_string())
                    .collect::<Vec<_>>(),
            )
            .bind(keys.clone().map(|(_, c, _)| c.as_str()).collect::<Vec<_>>())
            .bind(keys.map(|(_, _, c)| c.to_string()).collect::<Vec<_>>())
            .bind(rollups.hotline.values().map(|r| r[0]).collect::<Vec<i64>>())
            .bind(rollups.hotline.values().map(|r| r[1]).collect::<Vec<i64>>())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn unit_row(r: &PgRow, from: usize) -> StoreResult<rollup::UnitRow> {
    let mut row = [0i64; 15];
    for (i, n) in row.iter_mut().enumerate() {
        *n = r.try_get(from + i)?;
    }
    Ok(row)
}

/// Each period's counts from the rollups; a period not made of whole days is counted from the
/// tickets instead.
pub(crate) async fn counts(
    db: &sqlx::PgPool,
    registry: &Registry,
    periods: &[Period],
) -> StoreResult<Vec<KpiCounts>> {
    let calendar = &registry.rules.calendar;
    let mut all = Vec::with_capacity(periods.len());
    for period in periods {
        let Some((first, end)) = whole_days(*period, calendar) else {
            all.extend(super::read::kpi_from_tickets(db, &[*period]).await?);
            continue;
        };
        let (first, end) = (first.to_string(), end.to_string());
        let mut counts = KpiCounts::default();
        let rows = sqlx::query(AssertSqlSafe(SQL.unit_sums.as_str()))
            .bind(&first)
            .bind(&end)
            .fetch_all(db)
            .await?;
        for r in &rows {
            let unit = rollup::parse_unit(r.try_get(0)?)?;
            rollup::add_unit_sums(&mut counts, unit, &unit_row(r, 1)?);
        }
        let rows = sqlx::query(AssertSqlSafe(SQL.hotline_sums.as_str()))
            .bind(&first)
            .bind(&end)
            .fetch_all(db)
            .await?;
        for r in &rows {
            let (channel, category) = rollup::parse_hotline_key(r.try_get(0)?, r.try_get(1)?)?;
            let row = [r.try_get(2)?, r.try_get(3)?];
            rollup::add_hotline_sums(&mut counts, channel, category, &row);
        }
        all.push(counts);
    }
    Ok(all)
}

/// Every stored rollup row.
pub(crate) async fn load(db: &mut PgConnection) -> StoreResult<Rollups> {
    let mut rollups = Rollups::default();
    for r in sqlx::query(AssertSqlSafe(SQL.all_units.as_str()))
        .fetch_all(&mut *db)
        .await?
    {
        let day = rollup::parse_day(r.try_get(0)?)?;
        let unit = rollup::parse_unit(r.try_get(1)?)?;
        rollups.units.insert((day, unit), unit_row(&r, 2)?);
    }
    for r in sqlx::query(AssertSqlSafe(SQL.all_hotline.as_str()))
        .fetch_all(&mut *db)
        .await?
    {
        let day = rollup::parse_day(r.try_get(0)?)?;
        let (channel, category) = rollup::parse_hotline_key(r.try_get(1)?, r.try_get(2)?)?;
        rollups
            .hotline
            .insert((day, channel, category), [r.try_get(3)?, r.try_get(4)?]);
    }
    Ok(rollups.without_zeros())
}

/// Replaces every rollup row with `rollups`.
pub(crate) async fn replace(conn: &mut PgConnection, rollups: &Rollups) -> StoreResult<()> {
    sqlx::query("DELETE FROM kpi_unit_day")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM kpi_hotline_day")
        .execute(&mut *conn)
        .await?;
    add(conn, rollups).await
}

/// A database written before the rollups existed has tickets and no rollup rows: they are filled
/// once from the ticket projections, under the chain's lock so no writer adds meanwhile.
pub(crate) async fn fill_if_missing(
    conn: &mut PgConnection,
    registry: &Registry,
) -> StoreResult<()> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE")
        .execute(&mut *tx)
        .await?;
    let (missing,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM tickets) AND NOT EXISTS (SELECT 1 FROM kpi_hotline_day)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !missing {
        return Ok(());
    }
    let mut rollups = Rollups::default();
    let mut tickets = 0u64;
    {
        let mut rows = sqlx::query_as::<_, (String,)>("SELECT state FROM tickets").fetch(&mut *tx);
        while let Some((state,)) = rows.try_next().await? {
            let ticket: Ticket = decode_ticket(&state)?;
            rollups.add_ticket(&ticket, &registry.rules.calendar, 1);
            tickets += 1;
        }
    }
    add(&mut tx, &rollups.without_zeros()).await?;
    tx.commit().await?;
    tracing::info!(
        tickets,
        "filled the KPI rollups from the ticket projections"
    );
    Ok(())
}
