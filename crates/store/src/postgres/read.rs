//! Named read queries on the pool.

use domain::audit::{ChainBreak, ChainHead, ChainVerifier, Hash, LogEntry, LogEvent, StoredEntry};
use domain::ids::{ContactId, TicketNo, UnitId, UserId};
use domain::kpi::{EventCounter, KpiCounts, Period, from_tickets};
use domain::ticket::{Status, Ticket};
use futures::TryStreamExt;
use jiff::Timestamp;
use sqlx::{PgExecutor, Postgres, QueryBuilder};

use super::ContactColumns;
use crate::write::{decode_ticket, decode_tickets};
use crate::{
    SealedContact, StatusCount, StoreError, StoreResult, TicketOrder, TicketQuery, TokenRecord,
};

type EntryRow = (
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
);
type TokenColumns = (String, String, String, i64, Option<i64>, Option<i64>);

fn stored((seq, at_ms, actor, ticket, kind, body, prev, hash): EntryRow) -> StoredEntry {
    StoredEntry {
        seq,
        at_ms,
        actor,
        ticket,
        kind,
        body: body.into_bytes(),
        prev,
        hash,
    }
}

pub(crate) async fn ticket(db: impl PgExecutor<'_>, no: TicketNo) -> StoreResult<Option<Ticket>> {
    let state: Option<(String,)> = sqlx::query_as("SELECT state FROM tickets WHERE no = $1")
        .bind(no.to_storage())
        .fetch_optional(db)
        .await?;
    state.map(|(s,)| decode_ticket(&s)).transpose()
}

/// The list query: every filter is optional; newest (or soonest due) first; cursor paging on the
/// ticket number.
pub(crate) async fn tickets(db: impl PgExecutor<'_>, q: &TicketQuery) -> StoreResult<Vec<Ticket>> {
    // Only the links are filtered: the page of ticket numbers is chosen from the index first and
    // only its tickets are read.
    let links_only = q.unit.is_some() && q.links_only();
    let mut sql = QueryBuilder::<Postgres>::new(if links_only {
        "SELECT t.state FROM (SELECT u.no, u.due_at FROM ticket_units u"
    } else {
        "SELECT t.state FROM tickets t"
    });
    // A unit's tickets are found, filtered and ordered by its links, which carry each ticket's
    // status and deadline (index `ticket_units_by_status`).
    let (status, due, no) = if q.unit.is_some() {
        ("u.status", "u.due_at", "u.no")
    } else {
        ("t.status", "t.due_at", "t.no")
    };
    match &q.unit {
        Some(unit) if links_only => {
            sql.push(" WHERE u.unit = ").push_bind(unit.to_string());
        }
        Some(unit) => {
            sql.push(" JOIN ticket_units u ON u.no = t.no AND u.unit = ")
                .push_bind(unit.to_string());
            sql.push(" WHERE TRUE");
        }
        None => {
            sql.push(" WHERE TRUE");
        }
    }
    if !q.statuses.is_empty() {
        let statuses: Vec<String> = q.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        sql.push(format!(" AND {status} = ANY("))
            .push_bind(statuses)
            .push(")");
    }
    if let Some(category) = &q.category {
        // Codes are digits, so every code under the prefix sorts before prefix + ':'.
        sql.push(" AND t.category >= ")
            .push_bind(category.to_string());
        sql.push(" AND t.category < ")
            .push_bind(format!("{category}:"));
    }
    if let Some(at) = q.overdue_at {
        sql.push(format!(" AND {due} < "))
            .push_bind(at.as_millisecond());
    }
    if let Some((from, until)) = q.due_between {
        sql.push(format!(" AND {due} >= "))
            .push_bind(from.as_millisecond());
        sql.push(format!(" AND {due} < "))
            .push_bind(until.as_millisecond());
    }
    if let Some(from) = q.received_from {
        sql.push(" AND t.received_at >= ")
            .push_bind(from.as_millisecond());
    }
    if let Some(to) = q.received_to {
        sql.push(" AND t.received_at < ")
            .push_bind(to.as_millisecond());
    }
    if let TicketOrder::NewestBefore(before) = q.order {
        sql.push(format!(" AND {no} < "))
            .push_bind(before.to_storage());
    }
    let order = |due: &str, no: &str| match q.order {
        TicketOrder::NewestFirst | TicketOrder::NewestBefore(_) => format!(" ORDER BY {no} DESC"),
        TicketOrder::OldestFirst => format!(" ORDER BY {no}"),
        // Bounded deadlines exclude tickets without one, and this order lets the deadline index
        // drive the query (see `TicketQuery::by_bounded_deadline`).
        TicketOrder::DeadlineFirst if q.by_bounded_deadline() => format!(" ORDER BY {due}, {no}"),
        TicketOrder::DeadlineFirst => format!(" ORDER BY {due} IS NULL, {due}, {no}"),
    };
    sql.push(order(due, no));
    sql.push(" LIMIT ")
        .push_bind(i64::from(q.limit.clamp(1, 1000)));
    if links_only {
        sql.push(") k JOIN tickets t ON t.no = k.no");
        sql.push(order("k.due_at", "k.no"));
    }
    let rows: Vec<(String,)> = sql.build_query_as().fetch_all(db).await?;
    rows.iter().map(|(s,)| decode_ticket(s)).collect()
}

pub(crate) async fn overdue_by_lead_unit(
    db: impl PgExecutor<'_>,
    units: &[UnitId],
    statuses: &[Status],
    now: Timestamp,
) -> StoreResult<Vec<(UnitId, u64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT unit, COUNT(*) FROM ticket_units
         WHERE unit = ANY($1) AND status = ANY($2) AND due_at < $3 AND lead
         GROUP BY unit",
    )
    .bind(units.iter().map(|u| u.to_string()).collect::<Vec<_>>())
    .bind(
        statuses
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect::<Vec<_>>(),
    )
    .bind(now.as_millisecond())
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(unit, n)| {
            let unit = UnitId::parse(&unit).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((unit, n as u64))
        })
        .collect()
}

pub(crate) async fn status_counts(
    db: impl PgExecutor<'_>,
    unit: Option<&UnitId>,
    now: Timestamp,
) -> StoreResult<Vec<StatusCount>> {
    let rows: Vec<(String, i64, i64)> = match unit {
        Some(unit) => {
            sqlx::query_as(
                // From the links alone: an index-only scan of the unit's range.
                "SELECT status, COUNT(*), COUNT(*) FILTER (WHERE due_at < $1) FROM ticket_units
                 WHERE unit = $2 GROUP BY status",
            )
            .bind(now.as_millisecond())
            .bind(unit.as_str())
            .fetch_all(db)
            .await?
        }
        None => {
            sqlx::query_as("SELECT status, COUNT(*), COUNT(*) FILTER (WHERE due_at < $1) FROM tickets GROUP BY status")
                .bind(now.as_millisecond())
                .fetch_all(db)
                .await?
        }
    };
    let mut out = Vec::new();
    for (status, count, overdue) in rows {
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

pub(crate) async fn ticket_log(
    db: impl PgExecutor<'_>,
    no: TicketNo,
) -> StoreResult<Vec<LogEntry>> {
    let rows: Vec<EntryRow> = sqlx::query_as("SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log WHERE ticket = $1 ORDER BY seq")
        .bind(no.to_storage())
        .fetch_all(db)
        .await?;
    rows.into_iter()
        .map(|r| stored(r).decode().map_err(StoreError::Corrupt))
        .collect()
}

pub(crate) async fn ticket_access(
    db: impl PgExecutor<'_>,
    no: TicketNo,
) -> StoreResult<Vec<LogEntry>> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log
         WHERE seq IN (SELECT seq FROM access_index WHERE no = $1)
         UNION ALL
         SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log
         WHERE seq IN (SELECT seq FROM list_sightings WHERE no = $1)
         UNION ALL
         SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log
         WHERE ticket = $1 AND kind = 'ticket.contact_revealed'
         ORDER BY seq",
    )
    .bind(no.to_storage())
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| stored(r).decode().map_err(StoreError::Corrupt))
        .collect()
}

pub(crate) async fn access_trail(
    db: impl PgExecutor<'_>,
    from: Timestamp,
    until: Timestamp,
) -> StoreResult<Vec<LogEntry>> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log
         WHERE ticket IS NULL AND at >= $1 AND at < $2
           AND (kind LIKE 'access.%' OR kind LIKE 'user.%')
         UNION ALL
         SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log
         WHERE ticket IS NOT NULL AND at >= $1 AND at < $2 AND kind = 'ticket.contact_revealed'
         ORDER BY seq",
    )
    .bind(from.as_millisecond())
    .bind(until.as_millisecond())
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| stored(r).decode().map_err(StoreError::Corrupt))
        .collect()
}

pub(crate) async fn failed_logins(
    db: impl PgExecutor<'_>,
    from: Timestamp,
    until: Timestamp,
) -> StoreResult<Vec<LogEntry>> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log
         WHERE ticket IS NULL AND kind = 'access.login_failed' AND at >= $1 AND at < $2
         ORDER BY seq",
    )
    .bind(from.as_millisecond())
    .bind(until.as_millisecond())
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| stored(r).decode().map_err(StoreError::Corrupt))
        .collect()
}

pub(crate) async fn ticket_events_between(
    db: impl PgExecutor<'_>,
    from: Timestamp,
    until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<LogEntry>> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log
         WHERE ticket IS NOT NULL AND at >= $1 AND at < $2 ORDER BY at, seq LIMIT $3",
    )
    .bind(from.as_millisecond())
    .bind(until.as_millisecond())
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| stored(r).decode().map_err(StoreError::Corrupt))
        .collect()
}

/// `(id, key_id, nonce, ciphertext, content_type)`.
type PhotoRow = (i64, i64, Vec<u8>, Vec<u8>, String);

pub(crate) async fn photo(
    db: impl PgExecutor<'_>,
    no: TicketNo,
) -> StoreResult<Option<crate::SealedPhoto>> {
    let row: Option<PhotoRow> = sqlx::query_as(
        "SELECT id, key_id, nonce, ciphertext, content_type FROM photos WHERE ticket = $1",
    )
    .bind(no.to_storage())
    .fetch_optional(db)
    .await?;
    Ok(row.map(
        |(id, key_id, nonce, ciphertext, content_type)| crate::SealedPhoto {
            id: id as u64,
            key_id: key_id as u32,
            nonce,
            ciphertext,
            content_type,
        },
    ))
}

/// `(id, seq, key_id, nonce, ciphertext)`.
type NumbersRow = (i64, i64, i64, Vec<u8>, Vec<u8>);

pub(crate) async fn written_numbers(
    db: impl PgExecutor<'_>,
    no: TicketNo,
) -> StoreResult<Vec<crate::StoredNumbers>> {
    let rows: Vec<NumbersRow> = sqlx::query_as(
        "SELECT id, seq, key_id, nonce, ciphertext FROM written_numbers WHERE ticket = $1 ORDER BY seq",
    )
    .bind(no.to_storage())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, seq, key_id, nonce, ciphertext)| crate::StoredNumbers {
                id: id as u64,
                seq: seq as u64,
                key_id: key_id as u32,
                nonce,
                ciphertext,
            },
        )
        .collect())
}

/// Messages due at `now`, oldest first.
pub(crate) async fn outbox_due(
    db: impl PgExecutor<'_>,
    now: Timestamp,
    limit: u32,
) -> StoreResult<Vec<crate::OutboxItem>> {
    let rows: Vec<(i64, i64, String, i64, i64, i32)> = sqlx::query_as(
        "SELECT seq, ticket, notice, contact_id, created_at, attempts FROM outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_at <= $1 ORDER BY seq LIMIT $2",
    )
    .bind(now.as_millisecond())
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(s, t, n, c, a, k)| crate::outbox::item((s, t, n, c, a, i64::from(k))))
        .collect()
}

pub(crate) async fn outbox_counts(db: impl PgExecutor<'_>) -> StoreResult<crate::OutboxCounts> {
    let (pending, sent, failed): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL),
                COUNT(*) FILTER (WHERE sent_at IS NOT NULL), COUNT(*) FILTER (WHERE failed_at IS NOT NULL)
         FROM outbox",
    )
    .fetch_one(db)
    .await?;
    Ok(crate::OutboxCounts {
        pending: pending as u64,
        sent: sent as u64,
        failed: failed as u64,
    })
}

pub(crate) async fn caller_history(
    db: impl PgExecutor<'_>,
    phone_index: &[u8; 32],
    limit: u32,
) -> StoreResult<Vec<Ticket>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT t.state FROM contacts c JOIN tickets t ON t.contact_id = c.id
         WHERE c.phone_index = $1 ORDER BY t.no DESC LIMIT $2",
    )
    .bind(phone_index.to_vec())
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    rows.iter().map(|(s,)| decode_ticket(s)).collect()
}

pub(crate) async fn contact(
    db: impl PgExecutor<'_>,
    id: ContactId,
) -> StoreResult<Option<SealedContact>> {
    let row: Option<ContactColumns> = sqlx::query_as(
        "SELECT id, key_id, nonce, ciphertext, phone_index FROM contacts WHERE id = $1",
    )
    .bind(id.0 as i64)
    .fetch_optional(db)
    .await?;
    Ok(
        row.map(|(id, key_id, nonce, ciphertext, index)| SealedContact {
            id: ContactId(id as u64),
            key_id: key_id as u32,
            nonce,
            ciphertext,
            phone_index: index.and_then(|v| v.try_into().ok()),
        }),
    )
}

pub(crate) async fn password_hash(
    db: impl PgExecutor<'_>,
    user: &UserId,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as(r#"SELECT password_hash FROM credentials WHERE "user" = $1"#)
            .bind(user.as_str())
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(h,)| h))
}

pub(crate) async fn token(
    db: impl PgExecutor<'_>,
    hash: &[u8; 32],
) -> StoreResult<Option<TokenRecord>> {
    let row: Option<TokenColumns> =
        sqlx::query_as(r#"SELECT id, "user", label, created_at, expires_at, revoked_at FROM tokens WHERE hash = $1"#)
            .bind(hash.to_vec())
            .fetch_optional(db)
            .await?;
    let Some((id, user, label, created, expires, revoked)) = row else {
        return Ok(None);
    };
    let at =
        |ms: i64| Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt(e.to_string()));
    Ok(Some(TokenRecord {
        id,
        user: UserId::parse(&user).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        label,
        created_at: at(created)?,
        expires_at: expires.map(at).transpose()?,
        revoked_at: revoked.map(at).transpose()?,
    }))
}

pub(crate) async fn head(db: impl PgExecutor<'_>) -> StoreResult<ChainHead> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(db)
            .await?;
    match row {
        None => Ok(ChainHead {
            seq: 0,
            hash: Hash::GENESIS,
        }),
        Some((seq, hash)) => Ok(ChainHead {
            seq: seq as u64,
            hash: Hash::parse(&hash).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "log entry {seq} has a malformed hash; run `minsheng audit verify`"
                ))
            })?,
        }),
    }
}

pub(crate) async fn verify(
    db: impl PgExecutor<'_>,
    expected: Option<(u64, Hash)>,
) -> StoreResult<Result<ChainHead, ChainBreak>> {
    let mut verifier = ChainVerifier::new();
    if let Some((seq, hash)) = expected {
        verifier = verifier.expecting_head(seq, hash);
    }
    let mut rows = sqlx::query_as::<_, EntryRow>(
        "SELECT seq, at, actor, ticket, kind, body, prev, hash FROM log ORDER BY seq",
    )
    .fetch(db);
    while let Some(row) = rows.try_next().await? {
        if let Err(broken) = verifier.check(&stored(row)) {
            return Ok(Err(broken));
        }
    }
    Ok(verifier.finish())
}

pub(crate) async fn kpi_from_tickets(
    db: impl PgExecutor<'_>,
    periods: &[Period],
) -> StoreResult<Vec<KpiCounts>> {
    let Some(span) = Period::spanning(periods) else {
        return Ok(Vec::new());
    };
    // A ticket with an event in a period was received before its end and last updated after
    // its start.
    let mut rows = sqlx::query_as::<_, (String,)>(
        "SELECT state FROM tickets WHERE updated_at >= $1 AND received_at < $2",
    )
    .bind(span.start.as_millisecond())
    .bind(span.end.as_millisecond())
    .fetch(db);
    let mut states = Vec::new();
    while let Some((state,)) = rows.try_next().await? {
        states.push(state);
    }
    // Decoding a month of tickets is CPU work: off the async workers, on every core.
    let tickets = tokio::task::spawn_blocking(move || decode_tickets(&states))
        .await
        .map_err(|e| StoreError::Corrupt(format!("decoding ticket projections failed: {e}")))??;
    Ok(periods.iter().map(|p| from_tickets(*p, &tickets)).collect())
}

pub(crate) async fn kpi_from_log(
    db: impl PgExecutor<'_>,
    period: Period,
) -> StoreResult<KpiCounts> {
    let mut counter = EventCounter::new(period);
    let mut rows = sqlx::query_as::<_, (i64, i64, i64, String, String)>(
        "SELECT seq, at, ticket, kind, body FROM log WHERE ticket IS NOT NULL AND at < $1 ORDER BY seq",
    )
    .bind(period.end.as_millisecond())
    .fetch(db);
    while let Some((seq, at, ticket, kind, body)) = rows.try_next().await? {
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
