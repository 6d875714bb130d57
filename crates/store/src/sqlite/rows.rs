//! Mapping between domain values and SQLite rows.

use domain::audit::StoredEntry;
use domain::ids::{ContactId, TicketNo};
use domain::ticket::Ticket;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::write::{Keys, TicketRow, decode_ticket};
use crate::{SealedContact, StoreError, TokenRecord};

pub(crate) const ENTRY_COLUMNS: &str = "seq, at, actor, ticket, kind, body, prev, hash";

pub(crate) fn entry(row: &Row<'_>) -> rusqlite::Result<StoredEntry> {
    let body: String = row.get(5)?;
    Ok(StoredEntry {
        seq: row.get(0)?,
        at_ms: row.get(1)?,
        actor: row.get(2)?,
        ticket: row.get(3)?,
        kind: row.get(4)?,
        body: body.into_bytes(),
        prev: row.get(6)?,
        hash: row.get(7)?,
    })
}

pub(crate) fn load_ticket(conn: &Connection, no: TicketNo) -> Result<Option<Ticket>, StoreError> {
    let state: Option<String> = conn
        .prepare_cached("SELECT state FROM tickets WHERE no = ?1")?
        .query_row([no.to_storage()], |r| r.get(0))
        .optional()?;
    state.map(|s| decode_ticket(&s)).transpose()
}

/// A ticket's projection as stored, for comparing with a rebuilt one.
/// `copies`: the links carry the ticket's status and deadline (schema version 9 on).
pub(crate) fn read_row(
    conn: &Connection,
    no: TicketNo,
    copies: bool,
) -> Result<Option<TicketRow>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT no, status, category, lead_unit, received_at, due_at, updated_at, contact_id, version, state
             FROM tickets WHERE no = ?1",
        )?
        .query_row([no.to_storage()], |r| {
            let status: String = r.get(1)?;
            let row = TicketRow {
                no: r.get(0)?,
                keys: Keys { status: "", lead_unit: r.get(3)?, due_at: r.get(5)?, units: Vec::new() },
                category: r.get(2)?,
                received_at: r.get(4)?,
                updated_at: r.get(6)?,
                contact_id: r.get(7)?,
                version: r.get(8)?,
                state: r.get(9)?,
            };
            Ok((status, row))
        })
        .optional()?;
    let Some((status, mut row)) = row else {
        return Ok(None);
    };
    // A status the code does not know (a hand-edited row) reads as a marker that never equals a
    // real one.
    row.keys.status = domain::ticket::Status::parse(&status)
        .map(|s| s.as_str())
        .unwrap_or("?");
    let links: Vec<(String, bool, String, Option<i64>)> = if copies {
        conn.prepare_cached("SELECT unit, lead, status, due_at FROM ticket_units WHERE no = ?1")?
            .query_map([no.to_storage()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?
    } else {
        conn.prepare_cached("SELECT unit, lead FROM ticket_units WHERE no = ?1")?
            .query_map([no.to_storage()], |r| {
                Ok((r.get(0)?, r.get(1)?, status.clone(), row.keys.due_at))
            })?
            .collect::<Result<_, _>>()?
    };
    row.keys.units = crate::write::stored_units(links, &status, row.keys.due_at);
    Ok(Some(row))
}

/// Writes every column and the unit links (a new ticket, or a repair).
pub(crate) fn write_all(conn: &Connection, row: &TicketRow) -> Result<(), StoreError> {
    write_row(conn, row)?;
    write_units(conn, row)
}

/// Writes every column of the ticket's row, not its links.
pub(crate) fn write_row(conn: &Connection, row: &TicketRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO tickets (no, status, category, lead_unit, received_at, due_at, updated_at, contact_id, version, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (no) DO UPDATE SET status = excluded.status, category = excluded.category,
           lead_unit = excluded.lead_unit, received_at = excluded.received_at, due_at = excluded.due_at,
           updated_at = excluded.updated_at, contact_id = excluded.contact_id, version = excluded.version,
           state = excluded.state",
    )?
    .execute(params![
        row.no,
        row.keys.status,
        row.category,
        row.keys.lead_unit,
        row.received_at,
        row.keys.due_at,
        row.updated_at,
        row.contact_id,
        row.version,
        row.state,
    ])?;
    Ok(())
}

/// Writes what changed since `before`: indexes whose column did not change are not touched,
/// which keeps the pages a command dirties (and the WAL it writes) small.
pub(crate) fn write_changes(
    conn: &Connection,
    row: &TicketRow,
    before: &Keys,
) -> Result<(), StoreError> {
    let (status, lead, due) = (
        row.keys.status != before.status,
        row.keys.lead_unit != before.lead_unit,
        row.keys.due_at != before.due_at,
    );
    let mut sql = String::from("UPDATE tickets SET updated_at = ?2, version = ?3, state = ?4");
    if status {
        sql += ", status = ?5";
    }
    if lead {
        sql += ", lead_unit = ?6";
    }
    if due {
        sql += ", due_at = ?7";
    }
    sql += " WHERE no = ?1";
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.raw_bind_parameter(1, row.no)?;
    stmt.raw_bind_parameter(2, row.updated_at)?;
    stmt.raw_bind_parameter(3, row.version)?;
    stmt.raw_bind_parameter(4, &row.state)?;
    if status {
        stmt.raw_bind_parameter(5, row.keys.status)?;
    }
    if lead {
        stmt.raw_bind_parameter(6, &row.keys.lead_unit)?;
    }
    if due {
        stmt.raw_bind_parameter(7, row.keys.due_at)?;
    }
    stmt.raw_execute()?;
    if row.keys.units != before.units {
        write_units(conn, row)?;
    } else if status || due {
        // The links carry the ticket's status and deadline for the unit inbox.
        conn.prepare_cached("UPDATE ticket_units SET status = ?2, due_at = ?3 WHERE no = ?1")?
            .execute(params![row.no, row.keys.status, row.keys.due_at])?;
    }
    Ok(())
}

fn write_units(conn: &Connection, row: &TicketRow) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM ticket_units WHERE no = ?1")?
        .execute([row.no])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO ticket_units (unit, no, lead, status, due_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (unit, lead) in &row.keys.units {
        insert.execute(params![
            unit,
            row.no,
            lead,
            row.keys.status,
            row.keys.due_at
        ])?;
    }
    Ok(())
}

pub(crate) fn contact(row: &Row<'_>) -> rusqlite::Result<SealedContact> {
    let index: Option<Vec<u8>> = row.get(4)?;
    let id: i64 = row.get(0)?;
    Ok(SealedContact {
        id: ContactId(id as u64),
        key_id: row.get(1)?,
        nonce: row.get(2)?,
        ciphertext: row.get(3)?,
        phone_index: index.and_then(|v| v.try_into().ok()),
    })
}

pub(crate) fn token(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let user: String = row.get(1)?;
    let user = domain::ids::UserId::parse(&user).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let ts = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
        let ms: Option<i64> = row.get(i)?;
        ms.map(|ms| {
            Timestamp::from_millisecond(ms).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Integer,
                    Box::new(e),
                )
            })
        })
        .transpose()
    };
    Ok(TokenRecord {
        id: row.get(0)?,
        user,
        label: row.get(2)?,
        created_at: ts(3)?.unwrap_or(Timestamp::UNIX_EPOCH),
        expires_at: ts(4)?,
        revoked_at: ts(5)?,
    })
}
