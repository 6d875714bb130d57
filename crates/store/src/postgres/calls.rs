//! Calls on PostgreSQL: the write transaction's part (repeats, stored calls, rows and rollups
//! sent as arrays) and the reads (a call, the rollups summed by bucket, the log's call entries).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use domain::calls::{AgentCounts, Call, CallCounts, QueueCounts};
use domain::ids::{CallEventId, CallId, CallSource};
use futures::TryStreamExt;
// The statements are built once from constant column names (no input reaches them).
use sqlx::{AssertSqlSafe, PgConnection, PgExecutor, Row};

use crate::StoreResult;
use crate::write::calls::{
    CallRepair, CallRow, CallSql, CallTables, Recount, Rollup, add_summed, decode_call,
    queue_column, stored_status,
};

static SQL: LazyLock<CallSql> = LazyLock::new(CallSql::postgres);

pub(crate) async fn known_events(
    conn: &mut PgConnection,
    source: &CallSource,
    ids: &[CallEventId],
) -> StoreResult<BTreeSet<CallEventId>> {
    // Planned afresh each time rather than as a cached prepared statement: a generic plan made
    // while the table was small scans it whole, and is kept until the next ANALYZE.
    let found: Vec<(String,)> =
        sqlx::query_as("SELECT event_id FROM call_events WHERE source = $1 AND event_id = ANY($2)")
            .persistent(false)
            .bind(source.as_str())
            .bind(ids.iter().map(|i| i.as_str()).collect::<Vec<_>>())
            .fetch_all(&mut *conn)
            .await?;
    let found: std::collections::HashSet<&str> = found.iter().map(|(f,)| f.as_str()).collect();
    Ok(ids
        .iter()
        .filter(|id| found.contains(id.as_str()))
        .cloned()
        .collect())
}

pub(crate) async fn load_calls(
    db: impl PgExecutor<'_>,
    source: &CallSource,
    ids: &[CallId],
) -> StoreResult<Vec<Call>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let states: Vec<(String,)> =
        sqlx::query_as("SELECT state FROM calls WHERE source = $1 AND call = ANY($2)")
            .persistent(false) // as in `known_events`
            .bind(source.as_str())
            .bind(ids.iter().map(|i| i.as_str()).collect::<Vec<_>>())
            .fetch_all(db)
            .await?;
    states.iter().map(|(s,)| decode_call(s)).collect()
}

/// Writes gathered call rows and recorded event ids.
pub(crate) async fn flush(
    conn: &mut PgConnection,
    events: &[(String, String, i64)],
    rows: &[CallRow],
) -> StoreResult<()> {
    if !events.is_empty() {
        sqlx::query(
            "INSERT INTO call_events (source, event_id, seq)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])",
        )
        .bind(events.iter().map(|e| e.0.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.1.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.2).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    if !rows.is_empty() {
        sqlx::query(
            "INSERT INTO calls (source, call, status, started_at, queue, agent, caller, state)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],
                                  $6::text[], $7::bigint[], $8::text[])
             ON CONFLICT (source, call) DO UPDATE SET status = excluded.status,
               started_at = excluded.started_at, queue = excluded.queue, agent = excluded.agent,
               caller = excluded.caller, state = excluded.state",
        )
        .bind(rows.iter().map(|r| r.source.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.call.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.status).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.started_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.queue.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.agent.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.caller).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.state.clone()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn add_rollups(conn: &mut PgConnection, counts: &CallCounts) -> StoreResult<()> {
    if !counts.queues.is_empty() {
        let mut query = sqlx::query(AssertSqlSafe(SQL.upsert_queue.as_str()))
            .bind(counts.queues.keys().map(|k| k.interval).collect::<Vec<_>>())
            .bind(
                counts
                    .queues
                    .keys()
                    .map(|k| queue_column(&k.queue))
                    .collect::<Vec<_>>(),
            );
        let values: Vec<Vec<i64>> = counts.queues.values().map(|c| c.values()).collect();
        for i in 0..QueueCounts::FIELDS.len() {
            query = query.bind(values.iter().map(|v| v[i]).collect::<Vec<_>>());
        }
        query.execute(&mut *conn).await?;
    }
    if !counts.agents.is_empty() {
        let mut query = sqlx::query(AssertSqlSafe(SQL.upsert_agent.as_str()))
            .bind(counts.agents.keys().map(|k| k.interval).collect::<Vec<_>>())
            .bind(
                counts
                    .agents
                    .keys()
                    .map(|k| k.agent.to_string())
                    .collect::<Vec<_>>(),
            );
        let values: Vec<Vec<i64>> = counts.agents.values().map(|c| c.values()).collect();
        for i in 0..AgentCounts::FIELDS.len() {
            query = query.bind(values.iter().map(|v| v[i]).collect::<Vec<_>>());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The rollups of `[from, to)` (ms) summed into buckets of `bucket` ms starting at `from`.
pub(crate) async fn sums_on(
    conn: &mut PgConnection,
    from: i64,
    to: i64,
    bucket: i64,
) -> StoreResult<CallCounts> {
    let mut counts = CallCounts::default();
    for rollup in Rollup::BOTH {
        let rows = sqlx::query(AssertSqlSafe(SQL.sums(rollup)))
            .bind(from)
            .bind(to)
            .bind(bucket)
            .fetch_all(&mut *conn)
            .await?;
        for r in rows {
            let values: Vec<i64> = (0..rollup.width())
                .map(|i| r.try_get(i + 2))
                .collect::<Result<_, _>>()?;
            let interval = from + r.try_get::<i64, _>(0)? * bucket;
            add_summed(
                &mut counts,
                rollup,
                interval,
                &r.try_get::<String, _>(1)?,
                &values,
            )?;
        }
    }
    Ok(counts)
}

pub(crate) async fn sums(
    db: &sqlx::PgPool,
    from: i64,
    to: i64,
    bucket: i64,
) -> StoreResult<CallCounts> {
    sums_on(&mut *db.acquire().await?, from, to, bucket).await
}

/// Every call entry of the log, in order.
pub(crate) async fn recount(
    db: &sqlx::PgPool,
    policy: &domain::calls::CallPolicy,
) -> StoreResult<CallCounts> {
    let mut recount = crate::write::calls::Recount::default();
    let mut rows = sqlx::query_as::<_, (i64, String)>(
        "SELECT seq, body FROM log WHERE ticket IS NULL AND kind = 'call.events_recorded' ORDER BY seq",
    )
    .fetch(db);
    while let Some((seq, body)) = rows.try_next().await? {
        recount.push(seq, &body)?;
    }
    Ok(recount.finish(policy))
}

/// Makes the call tables what the log says (within `rebuild`'s transaction, which holds the
/// head locked; `reader` streams the log).
pub(crate) async fn rebuild(
    tx: &mut PgConnection,
    reader: &mut PgConnection,
    policy: &domain::calls::CallPolicy,
    report: &mut crate::RebuildReport,
) -> StoreResult<()> {
    let mut recount = Recount::default();
    {
        let mut rows = sqlx::query_as::<_, (i64, String)>(
            "SELECT seq, body FROM log WHERE ticket IS NULL AND kind = 'call.events_recorded' ORDER BY seq",
        )
        .fetch(&mut *reader);
        while let Some((seq, body)) = rows.try_next().await? {
            recount.push(seq, &body)?;
        }
    }
    let expected = recount.tables(policy)?;
    report.calls = expected.rows.len() as u64;
    let repair = CallRepair::between(expected, stored_tables(tx).await?);
    delete_pairs(
        tx,
        "DELETE FROM calls c USING UNNEST($1::text[], $2::text[]) AS s(source, call)
         WHERE c.source = s.source AND c.call = s.call",
        repair.stale_rows.iter().map(|(a, b)| (a, b)),
    )
    .await?;
    // Ids to rewrite are deleted too, then inserted with the entry the log says.
    delete_pairs(
        tx,
        "DELETE FROM call_events c USING UNNEST($1::text[], $2::text[]) AS s(source, event_id)
         WHERE c.source = s.source AND c.event_id = s.event_id",
        repair
            .stale_events
            .iter()
            .map(|(a, b)| (a, b))
            .chain(repair.events.iter().map(|(a, b, _)| (a, b))),
    )
    .await?;
    flush(tx, &repair.events, &repair.rows).await?;
    if let Some(counts) = &repair.counts {
        sqlx::query("DELETE FROM call_queue_intervals")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM call_agent_intervals")
            .execute(&mut *tx)
            .await?;
        add_rollups(tx, counts).await?;
        report.call_rollups_differed = true;
    }
    report.calls_differing = repair.named.into_iter().collect();
    Ok(())
}

/// Runs a delete keyed by pairs of text columns, sent as two arrays.
async fn delete_pairs<'a>(
    conn: &mut PgConnection,
    sql: &'static str,
    pairs: impl Iterator<Item = (&'a String, &'a String)>,
) -> StoreResult<()> {
    let (first, second): (Vec<String>, Vec<String>) =
        pairs.map(|(a, b)| (a.clone(), b.clone())).unzip();
    if !first.is_empty() {
        sqlx::query(sql)
            .bind(first)
            .bind(second)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Everything the call tables hold.
async fn stored_tables(conn: &mut PgConnection) -> StoreResult<CallTables> {
    let mut tables = CallTables::default();
    let events: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT source, event_id, seq FROM call_events")
            .fetch_all(&mut *conn)
            .await?;
    for (source, id, seq) in events {
        tables.events.insert((source, id), seq);
    }
    type Columns = (
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<i64>,
        String,
    );
    let rows: Vec<Columns> = sqlx::query_as(
        "SELECT source, call, status, started_at, queue, agent, caller, state FROM calls",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (source, call, status, started_at, queue, agent, caller, state) in rows {
        let row = CallRow {
            source,
            call,
            status: stored_status(&status)?,
            started_at,
            queue,
            agent,
            caller,
            state,
        };
        tables
            .rows
            .insert((row.source.clone(), row.call.clone()), row);
    }
    tables.counts = sums_on(&mut *conn, 0, i64::MAX, domain::calls::INTERVAL_MS)
        .await?
        .without_zeros();
    Ok(tables)
}
