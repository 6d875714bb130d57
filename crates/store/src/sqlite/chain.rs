//! The end of the log: appending an entry, and reading back the head, the last time and the
//! registry the log's admin events describe.

use domain::audit::{ChainHead, EntryFields, Hash, LogEvent, entry_hash};
use domain::ids::TicketNo;
use domain::org::Actor;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use crate::registry::{REGISTRY_KINDS, Registry};
use crate::{StoreError, StoreResult};

/// The end of the log as the writer knows it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chain {
    pub head: ChainHead,
    /// The time of the last entry. Entries never go back in time: a command that arrives with an
    /// earlier `now` (two requests racing) is recorded at this time instead.
    pub last_at: Timestamp,
}

impl Chain {
    pub(crate) fn load(conn: &Connection) -> StoreResult<Chain> {
        Ok(Chain {
            head: load_head(conn)?,
            last_at: load_last_at(conn)?,
        })
    }

    /// Appends one entry and moves the head.
    pub(crate) fn append(
        &mut self,
        conn: &Connection,
        at: Timestamp,
        actor: &Actor,
        ticket: Option<TicketNo>,
        event: &LogEvent,
    ) -> StoreResult<u64> {
        let body = event.to_body();
        let actor = actor.id.to_string();
        let fields = EntryFields {
            seq: self.head.seq + 1,
            at_ms: at.as_millisecond(),
            actor: &actor,
            ticket: ticket.map(TicketNo::to_storage),
            kind: event.kind(),
            body: &body,
        };
        let hash = entry_hash(&self.head.hash, &fields);
        let text = std::str::from_utf8(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        conn.prepare_cached(
            "INSERT INTO log (seq, at, actor, ticket, kind, body, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            fields.seq as i64,
            fields.at_ms,
            actor,
            fields.ticket,
            fields.kind,
            text,
            self.head.hash.to_hex(),
            hash.to_hex()
        ])?;
        self.head = ChainHead {
            seq: fields.seq,
            hash,
        };
        self.last_at = at;
        Ok(fields.seq)
    }
}

/// The last entry of the chain, or the genesis head for an empty log.
pub(crate) fn load_head(conn: &Connection) -> StoreResult<ChainHead> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match last {
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

fn load_last_at(conn: &Connection) -> StoreResult<Timestamp> {
    let at: Option<i64> = conn
        .query_row("SELECT at FROM log ORDER BY seq DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    let at = at.map(|ms| {
        Timestamp::from_millisecond(ms)
            .map_err(|e| StoreError::Corrupt(format!("the last log entry has a bad time: {e}")))
    });
    Ok(at.transpose()?.unwrap_or(Timestamp::UNIX_EPOCH))
}

/// Folds the admin events of the log into a fresh registry.
pub(crate) fn load_registry(conn: &Connection) -> StoreResult<Registry> {
    let mut registry = Registry::new()?;
    let kinds = REGISTRY_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare(&format!(
        "SELECT seq, kind, body FROM log WHERE ticket IS NULL AND kind IN ({kinds}) ORDER BY seq"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (seq, kind, body): (i64, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let corrupt = |e: String| StoreError::Corrupt(format!("log entry {seq}: {e}"));
        if let LogEvent::Admin(event) =
            LogEvent::from_body(&kind, body.as_bytes()).map_err(|e| corrupt(e.to_string()))?
        {
            registry.apply(&event).map_err(|e| corrupt(e.to_string()))?;
        }
    }
    Ok(registry)
}
