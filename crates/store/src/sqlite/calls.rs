//! Calls on SQLite: the write transaction's part (repeats, stored calls, rows, rollups) and the
//! reads (a call, the rollups summed by bucket, the log's call entries).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use domain::calls::{Call, CallCounts};
use domain::ids::{CallEventId, CallId, CallSource};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::StoreResult;
use crate::write::calls::{
    CallRepair, CallRow, CallSql, CallTables, Recount, Rollup, add_summed, decode_call,
    queue_column, stored_status,
};

static SQL: LazyLock<CallSql> = LazyLock::new(CallSql::sqlite);

pub(crate) fn known_events(
    conn: &Connection,
    source: &CallSource,
    ids: &[CallEventId],
) -> StoreResult<BTreeSet<CallEventId>> {
    let mut stmt =
        conn.prepare_cached("SELECT 1 FROM call_events WHERE source = ?1 AND event_id = ?2")?;
    let mut known = BTreeSet::new();
    for id in ids {
        let found: Option<i64> = stmt
            .query_row(params![source.as_str(), id.as_str()], |r| r.get(0))
            .optional()?;
        if found.is_some() {
            known.insert(id.clone());
        }
    }
    Ok(known)
}

pub(crate) fn load_calls(
    conn: &Connection,
    source: &CallSource,
    ids: &[CallId],
) -> StoreResult<Vec<Call>> {
    let mut stmt =
        conn.prepare_cached("SELECT state FROM calls WHERE source = ?1 AND call = ?2")?;
    let mut calls = Vec::with_capacity(ids.len());
    for id in ids {
        let state: Option<String> = stmt
            .query_row(params![source.as_str(), id.as_str()], |r| r.get(0))
            .optional()?;
        if let Some(state) = state {
            calls.push(decode_call(&state)?);
        }
    }
    Ok(calls)
}

pub(crate) fn record_events(
    conn: &Connection,
    source: &CallSource,
    ids: &[CallEventId],
    seq: i64,
) -> StoreResult<()> {
    let mut stmt =
        conn.prepare_cached("INSERT INTO call_events (source, event_id, seq) VALUES (?1, ?2, ?3)")?;
    for id in ids {
        stmt.execute(params![source.as_str(), id.as_str(), seq])?;
    }
    Ok(())
}

pub(crate) fn write_call(conn: &Connection, row: &CallRow) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO calls (source, call, status, started_at, queue, agent, caller, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (source, call) DO UPDATE SET status = excluded.status,
           started_at = excluded.started_at, queue = excluded.queue, agent = excluded.agent,
           caller = excluded.caller, state = excluded.state",
    )?
    .execute(params![
        row.source,
        row.call,
        row.status,
        row.started_at,
        row.queue,
        row.agent,
        row.caller,
        row.state
    ])?;
    Ok(())
}

pub(crate) fn add_rollups(conn: &Connection, counts: &CallCounts) -> StoreResult<()> {
    let mut queue = conn.prepare_cached(&SQL.upsert_queue)?;
    for (key, c) in &counts.queues {
        let mut values: Vec<rusqlite::types::Value> =
            vec![key.interval.into(), queue_column(&key.queue).into()];
        values.extend(c.values().into_iter().map(Into::into));
        queue.execute(params_from_iter(values))?;
    }
    let mut agent = conn.prepare_cached(&SQL.upsert_agent)?;
    for (key, c) in &counts.agents {
        let mut values: Vec<rusqlite::types::Value> =
            vec![key.interval.into(), key.agent.to_string().into()];
        values.extend(c.values().into_iter().map(Into::into));
        agent.execute(params_from_iter(values))?;
    }
    Ok(())
}

/// The rollups of `[from, to)` (ms) summed into buckets of `bucket` ms starting at `from`; each
/// key's interval is its bucket's start.
pub(crate) fn sums(conn: &Connection, from: i64, to: i64, bucket: i64) -> StoreResult<CallCounts> {
    let mut counts = CallCounts::default();
    for rollup in Rollup::BOTH {
        let mut stmt = conn.prepare_cached(SQL.sums(rollup))?;
        let mut rows = stmt.query(params![from, to, bucket])?;
        while let Some(r) = rows.next()? {
            let values: Vec<i64> = (0..rollup.width())
                .map(|i| r.get(i + 2))
                .collect::<Result<_, _>>()?;
            let interval = from + r.get::<_, i64>(0)? * bucket;
            add_summed(
                &mut counts,
                rollup,
                interval,
                &r.get::<_, String>(1)?,
                &values,
            )?;
        }
    }
    Ok(counts)
}

pub(crate) fn call(
    conn: &Connection,
    source: &CallSource,
    id: &CallId,
) -> StoreResult<Option<Call>> {
    Ok(load_calls(conn, source, std::slice::from_ref(id))?.pop())
}

/// Every call entry of the log, in order, as `(seq, body)`.
pub(crate) fn call_entries(
    conn: &Connection,
    each: &mut dyn FnMut(i64, &str) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut stmt = conn.prepare(
        "SELECT seq, body FROM log INDEXED BY log_admin
         WHERE ticket IS NULL AND kind = 'call.events_recorded' ORDER BY kind, seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let body: String = r.get(1)?;
        each(r.get(0)?, &body)?;
    }
    Ok(())
}

/// Makes the call tables what the log says (within `rebuild`'s transaction).
pub(crate) fn rebuild(
    conn: &Connection,
    policy: &domain::calls::CallPolicy,
    report: &mut crate::RebuildReport,
) -> StoreResult<()> {
    let mut recount = Recount::default();
    call_entries(conn, &mut |seq, body| recount.push(seq, body))?;
    let expected = recount.tables(policy)?;
    report.calls = expected.rows.len() as u64;
    let repair = CallRepair::between(expected, stored_tables(conn)?);
    for (source, call) in &repair.stale_rows {
        conn.execute(
            "DELETE FROM calls WHERE source = ?1 AND call = ?2",
            params![source, call],
        )?;
    }
    for row in &repair.rows {
        write_call(conn, row)?;
    }
    for (source, id) in &repair.stale_events {
        conn.execute(
            "DELETE FROM call_events WHERE source = ?1 AND event_id = ?2",
            params![source, id],
        )?;
    }
    for (source, id, seq) in &repair.events {
        conn.execute(
            "INSERT INTO call_events (source, event_id, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (source, event_id) DO UPDATE SET seq = excluded.seq",
            params![source, id, seq],
        )?;
    }
    if let Some(counts) = &repair.counts {
        conn.execute_batch("DELETE FROM call_queue_intervals; DELETE FROM call_agent_intervals;")?;
        add_rollups(conn, counts)?;
        report.call_rollups_differed = true;
    }
    report.calls_differing = repair.named.into_iter().collect();
    Ok(())
}

/// Everything the call tables hold.
fn stored_tables(conn: &Connection) -> StoreResult<CallTables> {
    let mut tables = CallTables::default();
    let mut stmt = conn.prepare("SELECT source, event_id, seq FROM call_events")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        tables.events.insert((r.get(0)?, r.get(1)?), r.get(2)?);
    }
    let mut stmt = conn.prepare(
        "SELECT source, call, status, started_at, queue, agent, caller, state FROM calls",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let row = CallRow {
            source: r.get(0)?,
            call: r.get(1)?,
            status: stored_status(&r.get::<_, String>(2)?)?,
            started_at: r.get(3)?,
            queue: r.get(4)?,
            agent: r.get(5)?,
            caller: r.get(6)?,
            state: r.get(7)?,
        };
        tables
            .rows
            .insert((row.source.clone(), row.call.clone()), row);
    }
    tables.counts = sums(conn, 0, i64::MAX, domain::calls::INTERVAL_MS)?.without_zeros();
    Ok(tables)
}
