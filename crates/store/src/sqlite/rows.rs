//! Mapping between domain values and SQLite rows.

use domain::audit::StoredEntry;
use domain::ids::{ContactId, TicketNo};
use domain::ticket::Ticket;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

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

pub(crate) fn decode_ticket(state: &str) -> Result<Ticket, StoreError> {
    serde_json::from_str(state)
        .map_err(|e| StoreError::Corrupt(format!("a ticket projection does not decode: {e}")))
}

pub(crate) fn load_ticket(conn: &Connection, no: TicketNo) -> Result<Option<Ticket>, StoreError> {
    let state: Option<String> = conn
        .prepare_cached("SELECT state FROM tickets WHERE no = ?1")?
        .query_row([no.to_storage()], |r| r.get(0))
        .optional()?;
    state.map(|s| decode_ticket(&s)).transpose()
}

/// The projection of one ticket as stored: the row and its unit links.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TicketRow {
    no: i64,
    status: String,
    category: String,
    lead_unit: Option<String>,
    received_at: i64,
    due_at: Option<i64>,
    updated_at: i64,
    contact_id: Option<i64>,
    version: i64,
    state: String,
    /// `(unit, is_lead)`, sorted.
    units: Vec<(String, bool)>,
}

impl TicketRow {
    pub(crate) fn of(ticket: &Ticket) -> Result<Self, StoreError> {
        let mut units = Vec::new();
        if let Some(current) = ticket.current() {
            units.push((current.unit.to_string(), true));
            units.extend(current.co_units.iter().map(|u| (u.to_string(), false)));
        }
        units.sort();
        Ok(Self {
            no: ticket.no.to_storage(),
            status: ticket.status.as_str().to_owned(),
            category: ticket.request.category.to_string(),
            lead_unit: ticket.lead_unit().map(|u| u.to_string()),
            received_at: ticket.received_at.as_millisecond(),
            due_at: ticket.next_deadline().map(Timestamp::as_millisecond),
            updated_at: ticket.updated_at.as_millisecond(),
            contact_id: ticket.contact.map(|c| c.0 as i64),
            version: i64::from(ticket.version),
            state: serde_json::to_string(ticket)?,
            units,
        })
    }

    pub(crate) fn read(conn: &Connection, no: TicketNo) -> Result<Option<Self>, StoreError> {
        let row = conn
            .prepare_cached(
                "SELECT no, status, category, lead_unit, received_at, due_at, updated_at, contact_id, version, state
                 FROM tickets WHERE no = ?1",
            )?
            .query_row([no.to_storage()], |r| {
                Ok(Self {
                    no: r.get(0)?,
                    status: r.get(1)?,
                    category: r.get(2)?,
                    lead_unit: r.get(3)?,
                    received_at: r.get(4)?,
                    due_at: r.get(5)?,
                    updated_at: r.get(6)?,
                    contact_id: r.get(7)?,
                    version: r.get(8)?,
                    state: r.get(9)?,
                    units: Vec::new(),
                })
            })
            .optional()?;
        let Some(mut row) = row else { return Ok(None) };
        let mut stmt = conn.prepare_cached(
            "SELECT unit, lead FROM ticket_units WHERE no = ?1 ORDER BY unit, lead",
        )?;
        row.units = stmt
            .query_map([no.to_storage()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
            })?
            .collect::<Result<_, _>>()?;
        row.units.sort();
        Ok(Some(row))
    }

    pub(crate) fn write(&self, conn: &Connection) -> Result<(), StoreError> {
        conn.prepare_cached(
            "INSERT INTO tickets (no, status, category, lead_unit, received_at, due_at, updated_at, contact_id, version, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (no) DO UPDATE SET status = excluded.status, category = excluded.category,
               lead_unit = excluded.lead_unit, received_at = excluded.received_at, due_at = excluded.due_at,
               updated_at = excluded.updated_at, contact_id = excluded.contact_id, version = excluded.version,
               state = excluded.state",
        )?
        .execute(params![
            self.no,
            self.status,
            self.category,
            self.lead_unit,
            self.received_at,
            self.due_at,
            self.updated_at,
            self.contact_id,
            self.version,
            self.state,
        ])?;
        conn.prepare_cached("DELETE FROM ticket_units WHERE no = ?1")?
            .execute([self.no])?;
        let mut insert =
            conn.prepare_cached("INSERT INTO ticket_units (unit, no, lead) VALUES (?1, ?2, ?3)")?;
        for (unit, lead) in &self.units {
            insert.execute(params![unit, self.no, lead])?;
        }
        Ok(())
    }
}

/// Writes the projection of one ticket.
pub(crate) fn save_ticket(conn: &Connection, ticket: &Ticket) -> Result<(), StoreError> {
    TicketRow::of(ticket)?.write(conn)
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
