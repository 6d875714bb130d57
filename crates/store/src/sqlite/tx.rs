//! The shared write path's transaction on SQLite: plain synchronous calls inside async fns, run
//! to completion by the writer thread (nothing in them ever waits).

use std::collections::BTreeSet;

use domain::audit::ChainHead;
use domain::calls::Call;
use domain::ids::{CallEventId, CallId, CallSource, TicketNo, UserId};
use domain::ticket::Ticket;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::chain::{load_head, load_last_at};
use super::rows;
use crate::registry::REGISTRY_KINDS;
use crate::write::{Chain, Keys, NewEntry, TicketRow, WriteTx};
use crate::{SealedContact, StoreError, StoreResult};

/// A transaction opened with `BEGIN IMMEDIATE`, which holds SQLite's write lock: the head read at
/// its start stays the head until it commits.
pub(crate) struct SqliteTx<'c>(pub &'c Connection);

impl WriteTx for SqliteTx<'_> {
    async fn head(&mut self) -> StoreResult<(ChainHead, domain::time::LogTime)> {
        Ok((load_head(self.0)?, load_last_at(self.0)?))
    }

    async fn save_head(&mut self, _chain: &Chain) -> StoreResult<()> {
        // The head is the log's last row; nothing else to store.
        Ok(())
    }

    async fn registry_events_after(&mut self, seq: u64) -> StoreResult<Vec<(u64, String, String)>> {
        let kinds = REGISTRY_KINDS
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT seq, kind, body FROM log WHERE seq > ?1 AND ticket IS NULL AND kind IN ({kinds}) ORDER BY seq"
        ))?;
        let rows = stmt.query_map([seq as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    async fn tickets_touched_after(&mut self, seq: u64) -> StoreResult<Vec<TicketNo>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT DISTINCT ticket FROM log WHERE seq > ?1 AND ticket IS NOT NULL",
        )?;
        let raw: Vec<i64> = stmt
            .query_map([seq as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        raw.into_iter()
            .map(|n| TicketNo::from_storage(n).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn load_ticket(&mut self, no: TicketNo) -> StoreResult<Option<Ticket>> {
        rows::load_ticket(self.0, no)
    }

    async fn day_counter(&mut self, day: &str) -> StoreResult<u32> {
        let last: Option<u32> = self
            .0
            .prepare_cached("SELECT last FROM day_counters WHERE day = ?1")?
            .query_row([day], |r| r.get(0))
            .optional()?;
        Ok(last.unwrap_or(0))
    }

    async fn token_is_active(&mut self, id: &str, user: &UserId) -> StoreResult<bool> {
        let found: Option<i64> = self
            .0
            .prepare_cached(
                "SELECT 1 FROM tokens WHERE id = ?1 AND user = ?2 AND revoked_at IS NULL",
            )?
            .query_row(params![id, user.as_str()], |r| r.get(0))
            .optional()?;
        Ok(found.is_some())
    }

    async fn set_day_counter(&mut self, day: &str, counter: u32) -> StoreResult<()> {
        self.0
            .prepare_cached("INSERT INTO day_counters (day, last) VALUES (?1, ?2) ON CONFLICT (day) DO UPDATE SET last = excluded.last")?
            .execute(params![day, counter])?;
        Ok(())
    }

    async fn insert_contact(&mut self, c: &SealedContact) -> StoreResult<()> {
        self.0
            .prepare_cached("INSERT INTO contacts (id, key_id, nonce, ciphertext, phone_index) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![c.id.0 as i64, c.key_id, c.nonce, c.ciphertext, c.phone_index.as_ref().map(|i| &i[..])])?;
        Ok(())
    }

    async fn insert_photo(&mut self, no: TicketNo, p: &crate::SealedPhoto) -> StoreResult<()> {
        self.0
            .prepare_cached("INSERT INTO photos (id, ticket, key_id, nonce, ciphertext, content_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
            .execute(params![p.id as i64, no.to_storage(), p.key_id, p.nonce, p.ciphertext, p.content_type])?;
        Ok(())
    }

    async fn insert_numbers(
        &mut self,
        no: TicketNo,
        seq: u64,
        n: &crate::SealedNumbers,
    ) -> StoreResult<()> {
        self.0
            .prepare_cached("INSERT INTO written_numbers (id, ticket, seq, key_id, nonce, ciphertext) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
            .execute(params![n.id as i64, no.to_storage(), seq as i64, n.key_id, n.nonce, n.ciphertext])?;
        Ok(())
    }

    async fn insert_entry(&mut self, e: &NewEntry) -> StoreResult<()> {
        self.0
            .prepare_cached("INSERT INTO log (seq, at, actor, ticket, kind, body, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
            .execute(params![e.seq, e.at_ms, e.actor, e.ticket, e.kind, e.body, e.prev, e.hash])?;
        Ok(())
    }

    async fn insert_access_index(&mut self, no: TicketNo, seq: i64) -> StoreResult<()> {
        self.0
            .prepare_cached("INSERT OR IGNORE INTO access_index (no, seq) VALUES (?1, ?2)")?
            .execute(params![no.to_storage(), seq])?;
        Ok(())
    }

    async fn insert_list_sighting(
        &mut self,
        no: TicketNo,
        day: &str,
        actor: &str,
        seq: i64,
    ) -> StoreResult<()> {
        self.0
            .prepare_cached(
                "INSERT OR IGNORE INTO list_sightings (no, day, actor, seq) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![no.to_storage(), day, actor, seq])?;
        Ok(())
    }

    async fn lookups_since(&mut self, actor: &str, since: Timestamp) -> StoreResult<Vec<String>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT body FROM log WHERE ticket IS NULL AND actor = ?1 AND at >= ?2
             AND kind = 'access.caller_looked_up' ORDER BY at, seq",
        )?;
        let rows = stmt.query_map(params![actor, since.as_millisecond()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    async fn write_ticket(&mut self, row: &TicketRow, before: Option<&Keys>) -> StoreResult<()> {
        match before {
            Some(keys) => rows::write_changes(self.0, row, keys),
            None => rows::write_all(self.0, row),
        }
    }

    async fn store_password(&mut self, user: &str, hash: &str, at: Timestamp) -> StoreResult<()> {
        self.0
            .prepare_cached(
                "INSERT INTO credentials (user, password_hash, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
            )?
            .execute(params![user, hash, at.as_millisecond()])?;
        Ok(())
    }

    async fn store_token(
        &mut self,
        id: &str,
        hash: &[u8; 32],
        user: &str,
        label: &str,
        at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        self.0
            .prepare_cached("INSERT INTO tokens (id, hash, user, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
            .execute(params![id, &hash[..], user, label, at.as_millisecond(), expires_at.map(|t| t.as_millisecond())])?;
        Ok(())
    }

    async fn revoke_token(&mut self, id: &str, user: &str, at: Timestamp) -> StoreResult<()> {
        self.0
            .prepare_cached("UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND user = ?3")?
            .execute(params![at.as_millisecond(), id, user])?;
        Ok(())
    }

    async fn revoke_user_tokens(&mut self, user: &str, at: Timestamp) -> StoreResult<()> {
        self.0
            .prepare_cached(
                "UPDATE tokens SET revoked_at = ?1 WHERE user = ?2 AND revoked_at IS NULL",
            )?
            .execute(params![at.as_millisecond(), user])?;
        Ok(())
    }

    async fn add_rollups(&mut self, rollups: &crate::write::Rollups) -> StoreResult<()> {
        super::rollups::add(self.0, rollups)
    }

    async fn known_call_events(
        &mut self,
        source: &CallSource,
        ids: &[CallEventId],
    ) -> StoreResult<BTreeSet<CallEventId>> {
        super::calls::known_events(self.0, source, ids)
    }

    async fn load_calls(&mut self, source: &CallSource, ids: &[CallId]) -> StoreResult<Vec<Call>> {
        super::calls::load_calls(self.0, source, ids)
    }

    async fn record_call_events(
        &mut self,
        source: &CallSource,
        ids: &[CallEventId],
        seq: i64,
    ) -> StoreResult<()> {
        super::calls::record_events(self.0, source, ids, seq)
    }

    async fn write_call(&mut self, row: &crate::write::calls::CallRow) -> StoreResult<()> {
        super::calls::write_call(self.0, row)
    }

    async fn add_call_rollups(&mut self, counts: &domain::calls::CallCounts) -> StoreResult<()> {
        super::calls::add_rollups(self.0, counts)
    }

    async fn insert_outbox(&mut self, item: &crate::OutboxItem) -> StoreResult<()> {
        self.0
            .prepare_cached(
                "INSERT INTO outbox (seq, ticket, notice, contact_id, created_at, next_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![
                item.seq as i64,
                item.ticket.to_storage(),
                item.notice.as_str(),
                item.contact.0 as i64,
                item.created_at.as_millisecond()
            ])?;
        Ok(())
    }

    async fn record_delivery(
        &mut self,
        seq: u64,
        outcome: &crate::Delivery,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let (sent_at, failed_at, error, next_at) = crate::outbox::outcome_columns(outcome, at);
        let changed = self
            .0
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, sent_at = ?2, failed_at = ?3,
                 last_error = ?4, next_at = COALESCE(?5, next_at)
                 WHERE seq = ?1 AND sent_at IS NULL AND failed_at IS NULL",
            )?
            .execute(params![seq as i64, sent_at, failed_at, error, next_at])?;
        Ok(changed > 0)
    }

    async fn expire_outbox(
        &mut self,
        before: Timestamp,
        reason: &str,
        at: Timestamp,
    ) -> StoreResult<u64> {
        let count = self
            .0
            .prepare_cached(
                "UPDATE outbox SET failed_at = ?2, last_error = ?3
                 WHERE created_at < ?1 AND sent_at IS NULL AND failed_at IS NULL",
            )?
            .execute(params![
                before.as_millisecond(),
                at.as_millisecond(),
                reason
            ])?;
        Ok(count as u64)
    }
}
