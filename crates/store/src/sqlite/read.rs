//! Named read queries, each a function of a read-only connection.

use domain::audit::{ChainBreak, ChainHead, ChainVerifier, Hash, LogEntry, LogEvent};
use domain::ids::{ContactId, TicketNo, UnitId, UserId};
use domain::kpi::{EventCounter, KpiCounts, Period, from_tickets};
use domain::ticket::{Status, Ticket};
use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::rows::{self, ENTRY_COLUMNS};
use crate::write::{decode_ticket, decode_tickets};
use crate::{
    SealedContact, StatusCount, StoreError, StoreResult, TicketOrder, TicketQuery, TokenRecord,
};

pub(crate) fn ticket(conn: &Connection, no: TicketNo) -> StoreResult<Option<Ticket>> {
    rows::load_ticket(conn, no)
}

/// The list query: every filter is optional; newest (or soonest due) first; cursor paging on the
/// ticket number.
pub(crate) fn tickets(conn: &Connection, q: &TicketQuery) -> StoreResult<Vec<Ticket>> {
    let mut sql = String::from("SELECT t.state FROM tickets t");
    let mut args: Vec<Value> = Vec::new();
    let arg = |v: Value, args: &mut Vec<Value>| {
        args.push(v);
        format!("?{}", args.len())
    };
    // A unit's tickets are found, filtered and ordered by its links, which carry each ticket's
    // status and deadline (index `ticket_units_by_status`): an index range, however many
    // tickets the unit ever had.
    let (status, due, no) = if q.unit.is_some() {
        ("u.status", "u.due_at", "u.no")
    } else if q.by_bounded_deadline() {
        // `+` keeps SQLite from choosing the status index when the deadline index can drive
        // the query in order (see `TicketQuery::by_bounded_deadline`).
        ("+t.status", "t.due_at", "t.no")
    } else {
        ("t.status", "t.due_at", "t.no")
    };
    let mut conditions: Vec<String> = Vec::new();
    // Only the links are filtered: the page of ticket numbers is chosen from the index first and
    // only its tickets are read (otherwise every matching ticket's state is read to sort).
    let links_only = q.unit.is_some() && q.links_only();
    if let Some(unit) = &q.unit {
        let p = arg(Value::Text(unit.to_string()), &mut args);
        if links_only {
            conditions.push(format!("u.unit = {p}"));
        } else {
            sql += &format!(" JOIN ticket_units u ON u.no = t.no AND u.unit = {p}");
        }
    }
    if !q.statuses.is_empty() {
        let list: Vec<String> = q
            .statuses
            .iter()
            .map(|s| arg(Value::Text(s.as_str().into()), &mut args))
            .collect();
        conditions.push(format!("{status} IN ({})", list.join(", ")));
    }
    if let Some(category) = &q.category {
        // Codes are digits, so every code under the prefix sorts before prefix + ':'.
        let low = arg(Value::Text(category.to_string()), &mut args);
        let high = arg(Value::Text(format!("{category}:")), &mut args);
        conditions.push(format!("t.category >= {low} AND t.category < {high}"));
    }
    if let Some(at) = q.overdue_at {
        conditions.push(format!(
            "{due} < {}",
            arg(Value::Integer(at.as_millisecond()), &mut args)
        ));
    }
    if let Some((from, until)) = q.due_between {
        let from = arg(Value::Integer(from.as_millisecond()), &mut args);
        let until = arg(Value::Integer(until.as_millisecond()), &mut args);
        conditions.push(format!("{due} >= {from} AND {due} < {until}"));
    }
    if let Some(from) = q.received_from {
        conditions.push(format!(
            "t.received_at >= {}",
            arg(Value::Integer(from.as_millisecond()), &mut args)
        ));
    }
    if let Some(to) = q.received_to {
        conditions.push(format!(
            "t.received_at < {}",
            arg(Value::Integer(to.as_millisecond()), &mut args)
        ));
    }
    if let TicketOrder::NewestBefore(before) = q.order {
        conditions.push(format!(
            "{no} < {}",
            arg(Value::Integer(before.to_storage()), &mut args)
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let order = |due: &str, no: &str| match q.order {
        TicketOrder::NewestFirst | TicketOrder::NewestBefore(_) => format!(" ORDER BY {no} DESC"),
        TicketOrder::OldestFirst => format!(" ORDER BY {no}"),
        // Bounded deadlines exclude tickets without one, and this order is the index's.
        TicketOrder::DeadlineFirst if q.by_bounded_deadline() => {
            format!(" ORDER BY {due}, {no}")
        }
        TicketOrder::DeadlineFirst => format!(" ORDER BY {due} IS NULL, {due}, {no}"),
    };
    let limit = format!(
        " LIMIT {}",
        arg(Value::Integer(i64::from(q.limit.clamp(1, 1000))), &mut args)
    );
    if links_only {
        sql = format!(
            "SELECT t.state FROM (SELECT u.no, u.due_at FROM ticket_units u{filter}{}{limit}) k \
             JOIN tickets t ON t.no = k.no{}",
            order(due, no),
            order("k.due_at", "k.no")
        );
    } else {
        sql += &filter;
        sql += &order(due, no);
        sql += &limit;
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let states: Vec<String> = stmt
        .query_map(params_from_iter(args), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    states.iter().map(|s| decode_ticket(s)).collect()
}

pub(crate) fn overdue_by_lead_unit(
    conn: &Connection,
    units: &[UnitId],
    statuses: &[Status],
    now: Timestamp,
) -> StoreResult<Vec<(UnitId, u64)>> {
    if units.is_empty() || statuses.is_empty() {
        return Ok(Vec::new());
    }
    let mut args: Vec<Value> = vec![Value::Integer(now.as_millisecond())];
    let list = |values: Vec<Value>, args: &mut Vec<Value>| {
        let start = args.len();
        args.extend(values);
        (start + 1..=args.len())
            .map(|n| format!("?{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let units_list = list(
        units.iter().map(|u| Value::Text(u.to_string())).collect(),
        &mut args,
    );
    let statuses_list = list(
        statuses
            .iter()
            .map(|s| Value::Text(s.as_str().to_owned()))
            .collect(),
        &mut args,
    );
    // Both lists are index columns (`ticket_units_by_status`): one seek per unit and status.
    let sql = format!(
        "SELECT unit, COUNT(*) FROM ticket_units
         WHERE unit IN ({units_list}) AND status IN ({statuses_list}) AND due_at < ?1 AND lead
         GROUP BY unit"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    rows.map(|r| {
        let (unit, n) = r?;
        let unit = UnitId::parse(&unit).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok((unit, n as u64))
    })
    .collect()
}

pub(crate) fn status_counts(
    conn: &Connection,
    unit: Option<&UnitId>,
    now: Timestamp,
) -> StoreResult<Vec<StatusCount>> {
    let sql = match unit {
        Some(_) => {
            // From the links alone: an index-only scan of the unit's range.
            "SELECT status, COUNT(*), COALESCE(SUM(due_at < ?1), 0) FROM ticket_units
             WHERE unit = ?2 GROUP BY status"
        }
        None => {
            "SELECT status, COUNT(*), COALESCE(SUM(due_at < ?1), 0) FROM tickets WHERE ?2 IS NULL GROUP BY status"
        }
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(
        params![now.as_millisecond(), unit.map(|u| u.as_str())],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (status, count, overdue) = row?;
        let status = Status::parse(&status).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        out.push(StatusCount {
            status,
            count: count as u64,
            overdue: overdue as u64,
        });
    }
    out.sort_by_key(|c| c.status);
    Ok(out)
}

pub(crate) fn ticket_log(conn: &Connection, no: TicketNo) -> StoreResult<Vec<LogEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM log WHERE ticket = ?1 ORDER BY seq"
    ))?;
    let entries = stmt.query_map([no.to_storage()], rows::entry)?;
    entries
        .map(|e| {
            e.map_err(StoreError::from)
                .and_then(|e| e.decode().map_err(StoreError::Corrupt))
        })
        .collect()
}

pub(crate) fn ticket_access(conn: &Connection, no: TicketNo) -> StoreResult<Vec<LogEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM log WHERE seq IN (SELECT seq FROM access_index WHERE no = ?1)
         UNION ALL
         SELECT {ENTRY_COLUMNS} FROM log WHERE seq IN (SELECT seq FROM list_sightings WHERE no = ?1)
         UNION ALL
         SELECT {ENTRY_COLUMNS} FROM log WHERE ticket = ?1 AND kind = 'ticket.contact_revealed'
         ORDER BY seq"
    ))?;
    let entries = stmt.query_map([no.to_storage()], rows::entry)?;
    decode_all(entries)
}

pub(crate) fn access_trail(
    conn: &Connection,
    from: Timestamp,
    until: Timestamp,
) -> StoreResult<Vec<LogEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM log WHERE ticket IS NULL AND at >= ?1 AND at < ?2
           AND (kind LIKE 'access.%' OR kind LIKE 'user.%')
         UNION ALL
         SELECT {ENTRY_COLUMNS} FROM log WHERE ticket IS NOT NULL AND at >= ?1 AND at < ?2
           AND kind = 'ticket.contact_revealed'
         ORDER BY seq"
    ))?;
    let entries = stmt.query_map(
        params![from.as_millisecond(), until.as_millisecond()],
        rows::entry,
    )?;
    decode_all(entries)
}

pub(crate) fn failed_logins(
    conn: &Connection,
    from: Timestamp,
    until: Timestamp,
) -> StoreResult<Vec<LogEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM log INDEXED BY log_admin
         WHERE ticket IS NULL AND kind = 'access.login_failed' AND at >= ?1 AND at < ?2
         ORDER BY seq"
    ))?;
    let entries = stmt.query_map(
        params![from.as_millisecond(), until.as_millisecond()],
        rows::entry,
    )?;
    decode_all(entries)
}

fn decode_all(
    entries: impl Iterator<Item = rusqlite::Result<domain::audit::StoredEntry>>,
) -> StoreResult<Vec<LogEntry>> {
    entries
        .map(|e| {
            e.map_err(StoreError::from)
                .and_then(|e| e.decode().map_err(StoreError::Corrupt))
        })
        .collect()
}

pub(crate) fn ticket_events_between(
    conn: &Connection,
    from: Timestamp,
    until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<LogEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM log WHERE ticket IS NOT NULL AND at >= ?1 AND at < ?2 ORDER BY at, seq LIMIT ?3"
    ))?;
    let entries = stmt.query_map(
        params![from.as_millisecond(), until.as_millisecond(), limit],
        rows::entry,
    )?;
    entries
        .map(|e| {
            e.map_err(StoreError::from)
                .and_then(|e| e.decode().map_err(StoreError::Corrupt))
        })
        .collect()
}

pub(crate) fn photo(conn: &Connection, no: TicketNo) -> StoreResult<Option<crate::SealedPhoto>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, key_id, nonce, ciphertext, content_type FROM photos WHERE ticket = ?1",
        )?
        .query_row([no.to_storage()], |r| {
            Ok(crate::SealedPhoto {
                id: r.get::<_, i64>(0)? as u64,
                key_id: r.get(1)?,
                nonce: r.get(2)?,
                ciphertext: r.get(3)?,
                content_type: r.get(4)?,
            })
        })
        .optional()?)
}

pub(crate) fn written_numbers(
    conn: &Connection,
    no: TicketNo,
) -> StoreResult<Vec<crate::StoredNumbers>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, seq, key_id, nonce, ciphertext FROM written_numbers WHERE ticket = ?1 ORDER BY seq",
    )?;
    let rows = statement.query_map([no.to_storage()], |r| {
        Ok(crate::StoredNumbers {
            id: r.get::<_, i64>(0)? as u64,
            seq: r.get::<_, i64>(1)? as u64,
            key_id: r.get(2)?,
            nonce: r.get(3)?,
            ciphertext: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Messages due at `now`, oldest first.
pub(crate) fn outbox_due(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
) -> StoreResult<Vec<crate::OutboxItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, ticket, notice, contact_id, created_at, attempts FROM outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_at <= ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows: Vec<(i64, i64, String, i64, i64, i64)> = stmt
        .query_map(params![now.as_millisecond(), limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter().map(crate::outbox::item).collect()
}

pub(crate) fn outbox_counts(conn: &Connection) -> StoreResult<crate::OutboxCounts> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(sent_at IS NULL AND failed_at IS NULL), 0),
                COALESCE(SUM(sent_at IS NOT NULL), 0), COALESCE(SUM(failed_at IS NOT NULL), 0) FROM outbox",
        [],
        |r| {
            Ok(crate::OutboxCounts {
                pending: r.get::<_, i64>(0)? as u64,
                sent: r.get::<_, i64>(1)? as u64,
                failed: r.get::<_, i64>(2)? as u64,
            })
        },
    )?)
}

pub(crate) fn caller_history(
    conn: &Connection,
    phone_index: &[u8; 32],
    limit: u32,
) -> StoreResult<Vec<Ticket>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.state FROM contacts c JOIN tickets t ON t.contact_id = c.id
         WHERE c.phone_index = ?1 ORDER BY t.no DESC LIMIT ?2",
    )?;
    let states: Vec<String> = stmt
        .query_map(params![&phone_index[..], limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    states.iter().map(|s| decode_ticket(s)).collect()
}

pub(crate) fn contact(conn: &Connection, id: ContactId) -> StoreResult<Option<SealedContact>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, key_id, nonce, ciphertext, phone_index FROM contacts WHERE id = ?1",
        )?
        .query_row([id.0 as i64], rows::contact)
        .optional()?)
}

pub(crate) fn password_hash(conn: &Connection, user: &UserId) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT password_hash FROM credentials WHERE user = ?1")?
        .query_row([user.as_str()], |r| r.get(0))
        .optional()?)
}

pub(crate) fn token(conn: &Connection, hash: &[u8; 32]) -> StoreResult<Option<TokenRecord>> {
    Ok(conn
        .prepare_cached("SELECT id, user, label, created_at, expires_at, revoked_at FROM tokens WHERE hash = ?1")?
        .query_row([&hash[..]], rows::token)
        .optional()?)
}

pub(crate) fn verify(
    conn: &Connection,
    expected: Option<(u64, Hash)>,
) -> StoreResult<Result<ChainHead, ChainBreak>> {
    let mut verifier = ChainVerifier::new();
    if let Some((seq, hash)) = expected {
        verifier = verifier.expecting_head(seq, hash);
    }
    let mut stmt = conn.prepare(&format!("SELECT {ENTRY_COLUMNS} FROM log ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let entry = rows::entry(row)?;
        if let Err(broken) = verifier.check(&entry) {
            return Ok(Err(broken));
        }
    }
    Ok(verifier.finish())
}

pub(crate) fn kpi_from_tickets(
    conn: &Connection,
    periods: &[Period],
) -> StoreResult<Vec<KpiCounts>> {
    let Some(span) = Period::spanning(periods) else {
        return Ok(Vec::new());
    };
    // A ticket with an event in a period was received before its end and last updated after
    // its start.
    let mut stmt = conn
        .prepare_cached("SELECT state FROM tickets WHERE updated_at >= ?1 AND received_at < ?2")?;
    let states = stmt.query_map(
        params![span.start.as_millisecond(), span.end.as_millisecond()],
        |r| r.get::<_, String>(0),
    )?;
    let states: Vec<String> = states.collect::<Result<_, _>>()?;
    let tickets = decode_tickets(&states)?;
    Ok(periods.iter().map(|p| from_tickets(*p, &tickets)).collect())
}

pub(crate) fn kpi_from_log(conn: &Connection, period: Period) -> StoreResult<KpiCounts> {
    let mut counter = EventCounter::new(period);
    let mut stmt = conn.prepare("SELECT seq, at, ticket, kind, body FROM log WHERE ticket IS NOT NULL AND at < ?1 ORDER BY seq")?;
    let mut rows = stmt.query([period.end.as_millisecond()])?;
    while let Some(row) = rows.next()? {
        let (seq, at, ticket, kind, body): (i64, i64, i64, String, String) = (
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        );
        let corrupt = |what: String| StoreError::Corrupt(format!("log entry {seq}: {what}"));
        let no = TicketNo::from_storage(ticket).map_err(|e| corrupt(e.to_string()))?;
        let at = Timestamp::from_millisecond(at).map_err(|e| corrupt(e.to_string()))?;
        if let LogEvent::Ticket(event) =
            LogEvent::from_body(&kind, body.as_bytes()).map_err(|e| corrupt(e.to_string()))?
        {
            counter.push(no, at, &event);
        }
    }
    Ok(counter.finish())
}
