//! Reading back the end of the log: the head, the last time, and the registry the log's admin
//! events describe.

use domain::audit::{ChainHead, Hash};
use domain::time::LogTime;
use rusqlite::{Connection, OptionalExtension};

use crate::registry::{REGISTRY_KINDS, Registry};
use crate::write::Chain;
use crate::{StoreError, StoreResult};

/// The stored head and the time of the last entry.
pub(crate) fn load_chain(conn: &Connection) -> StoreResult<Chain> {
    Ok(Chain {
        head: load_head(conn)?,
        last_at: load_last_at(conn)?,
    })
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

pub(crate) fn load_last_at(conn: &Connection) -> StoreResult<LogTime> {
    let at: Option<i64> = conn
        .query_row("SELECT at FROM log ORDER BY seq DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    let at = at.map(|ms| {
        LogTime::from_millisecond(ms)
            .map_err(|e| StoreError::Corrupt(format!("the last log entry has a bad time: {e}")))
    });
    Ok(at
        .transpose()?
        .unwrap_or(LogTime::of(jiff::Timestamp::UNIX_EPOCH)))
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
        registry.apply_stored(seq as u64, &kind, &body)?;
    }
    Ok(registry)
}
