//! The shared write path's transaction on PostgreSQL. A network round trip per statement would
//! make a batch of fifty commands cost hundreds of round trips, so writes are gathered while the
//! batch is decided and flushed as a handful of multi-row statements just before the commit.
//! Reads during the batch see what is gathered: tickets through the writer's cache, day counters
//! and revoked tokens through the pending state here.

use std::collections::{BTreeMap, BTreeSet};

use domain::audit::{ChainHead, Hash};
use domain::calls::Call;
use domain::ids::{CallEventId, CallId, CallSource, TicketNo, UserId};
use domain::ticket::Ticket;
use domain::time::LogTime;
use jiff::Timestamp;
use sqlx::PgConnection;

use crate::registry::REGISTRY_KINDS;
use crate::write::{Chain, Keys, NewEntry, TicketRow, WriteTx, decode_ticket};
use crate::{SealedContact, StoreError, StoreResult};

pub(crate) struct PgTx<'c> {
    conn: &'c mut PgConnection,
    pending: Pending,
}

#[derive(Default)]
struct Pending {
    entries: Vec<NewEntry>,
    /// The last write of each ticket in the batch, and whether its unit links changed.
    tickets: BTreeMap<i64, (TicketRow, bool)>,
    contacts: Vec<SealedContact>,
    counters: BTreeMap<String, u32>,
    revoked: BTreeSet<(String, String)>,
    outbox: Vec<crate::OutboxItem>,
    /// `(ticket, access entry)` pairs of the access index.
    access_index: Vec<(i64, i64)>,
    /// `(ticket, day, actor, access entry)` of tickets seen in lists.
    sightings: Vec<(i64, String, String, i64)>,
    /// `(source, event id, log entry)` of call events recorded.
    call_events: Vec<(String, String, i64)>,
    /// The last write of each call in the batch.
    calls: BTreeMap<(String, String), crate::write::calls::CallRow>,
}

impl<'c> PgTx<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        Self {
            conn,
            pending: Pending::default(),
        }
    }

    async fn flush(&mut self) -> StoreResult<()> {
        let pending = std::mem::take(&mut self.pending);
        if !pending.counters.is_empty() {
            let (days, lasts): (Vec<String>, Vec<i64>) = pending
                .counters
                .into_iter()
                .map(|(d, c)| (d, i64::from(c)))
                .unzip();
            sqlx::query(
                "INSERT INTO day_counters (day, last) SELECT * FROM UNNEST($1::text[], $2::bigint[])
                 ON CONFLICT (day) DO UPDATE SET last = excluded.last",
            )
            .bind(days)
            .bind(lasts)
            .execute(&mut *self.conn)
            .await?;
        }
        if !pending.contacts.is_empty() {
            let c = &pending.contacts;
            sqlx::query(
                "INSERT INTO contacts (id, key_id, nonce, ciphertext, phone_index)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[])",
            )
            .bind(c.iter().map(|c| c.id.0 as i64).collect::<Vec<_>>())
            .bind(c.iter().map(|c| i64::from(c.key_id)).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.nonce.clone()).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.ciphertext.clone()).collect::<Vec<_>>())
            .bind(c.iter().map(|c| c.phone_index.map(|i| i.to_vec())).collect::<Vec<_>>())
            .execute(&mut *self.conn)
            .await?;
        }
        if !pending.entries.is_empty() {
            let e = &pending.entries;
            sqlx::query(
                "INSERT INTO log (seq, at, actor, ticket, kind, body, prev, hash)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[])",
            )
            .bind(e.iter().map(|e| e.seq).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.at_ms).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.actor.clone()).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.ticket).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.kind.to_owned()).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.body.clone()).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.prev.clone()).collect::<Vec<_>>())
            .bind(e.iter().map(|e| e.hash.clone()).collect::<Vec<_>>())
            .execute(&mut *self.conn)
            .await?;
        }
        if !pending.access_index.is_empty() {
            let (numbers, seqs): (Vec<i64>, Vec<i64>) = pending.access_index.into_iter().unzip();
            sqlx::query(
                "INSERT INTO access_index (no, seq) SELECT * FROM UNNEST($1::bigint[], $2::bigint[])
                 ON CONFLICT DO NOTHING",
            )
            .bind(numbers)
            .bind(seqs)
            .execute(&mut *self.conn)
            .await?;
        }
        if !pending.sightings.is_empty() {
            let s = &pending.sightings;
            sqlx::query(
                "INSERT INTO list_sightings (no, day, actor, seq)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[])
                 ON CONFLICT DO NOTHING",
            )
            .bind(s.iter().map(|x| x.0).collect::<Vec<_>>())
            .bind(s.iter().map(|x| x.1.clone()).collect::<Vec<_>>())
            .bind(s.iter().map(|x| x.2.clone()).collect::<Vec<_>>())
            .bind(s.iter().map(|x| x.3).collect::<Vec<_>>())
            .execute(&mut *self.conn)
            .await?;
        }
        if !pending.outbox.is_empty() {
            let o = &pending.outbox;
            sqlx::query(
                "INSERT INTO outbox (seq, ticket, notice, contact_id, created_at, next_at)
                 SELECT s, t, n, c, a, a FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[])
                 AS x(s, t, n, c, a)",
            )
            .bind(o.iter().map(|i| i.seq as i64).collect::<Vec<_>>())
            .bind(o.iter().map(|i| i.ticket.to_storage()).collect::<Vec<_>>())
            .bind(o.iter().map(|i| i.notice.as_str()).collect::<Vec<_>>())
            .bind(o.iter().map(|i| i.contact.0 as i64).collect::<Vec<_>>())
            .bind(o.iter().map(|i| i.created_at.as_millisecond()).collect::<Vec<_>>())
            .execute(&mut *self.conn)
            .await?;
        }
        let calls: Vec<_> = pending.calls.into_values().collect();
        super::calls::flush(self.conn, &pending.call_events, &calls).await?;
        if !pending.tickets.is_empty() {
            let rows: Vec<&(TicketRow, bool)> = pending.tickets.values().collect();
            write_rows(self.conn, rows.iter().map(|(row, _)| row)).await?;
            let relinked: Vec<&TicketRow> = rows
                .iter()
                .filter(|(_, changed)| *changed)
                .map(|(row, _)| row)
                .collect();
            write_units(self.conn, &relinked).await?;
            // The links carry the ticket's status and deadline for the unit inbox.
            let moved: Vec<&TicketRow> = rows
                .iter()
                .filter(|(_, changed)| !*changed)
                .map(|(row, _)| row)
                .collect();
            if !moved.is_empty() {
                sqlx::query(
                    "UPDATE ticket_units u SET status = v.status, due_at = v.due_at
                     FROM UNNEST($1::bigint[], $2::text[], $3::bigint[]) AS v(no, status, due_at)
                     WHERE u.no = v.no AND (u.status <> v.status OR u.due_at IS DISTINCT FROM v.due_at)",
                )
                .bind(moved.iter().map(|r| r.no).collect::<Vec<_>>())
                .bind(moved.iter().map(|r| r.keys.status.to_owned()).collect::<Vec<_>>())
                .bind(moved.iter().map(|r| r.keys.due_at).collect::<Vec<_>>())
                .execute(&mut *self.conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// Upserts ticket rows, every column.
pub(crate) async fn write_rows<'r>(
    conn: &mut PgConnection,
    rows: impl Iterator<Item = &'r TicketRow>,
) -> StoreResult<()> {
    let rows: Vec<&TicketRow> = rows.collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO tickets (no, status, category, lead_unit, received_at, due_at, updated_at, contact_id, version, state)
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])
         ON CONFLICT (no) DO UPDATE SET status = excluded.status, category = excluded.category,
           lead_unit = excluded.lead_unit, received_at = excluded.received_at, due_at = excluded.due_at,
           updated_at = excluded.updated_at, contact_id = excluded.contact_id, version = excluded.version,
           state = excluded.state",
    )
    .bind(rows.iter().map(|r| r.no).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.keys.status.to_owned()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.category.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.keys.lead_unit.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.received_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.keys.due_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.contact_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.version).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.state.clone()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the unit links of these tickets.
pub(crate) async fn write_units(conn: &mut PgConnection, rows: &[&TicketRow]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query("DELETE FROM ticket_units WHERE no = ANY($1)")
        .bind(rows.iter().map(|r| r.no).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    let links: Vec<(String, &TicketRow, bool)> = rows
        .iter()
        .flat_map(|r| {
            r.keys
                .units
                .iter()
                .map(move |(unit, lead)| (unit.clone(), *r, *lead))
        })
        .collect();
    if !links.is_empty() {
        sqlx::query(
            "INSERT INTO ticket_units (unit, no, lead, status, due_at)
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::boolean[], $4::text[], $5::bigint[])",
        )
        .bind(links.iter().map(|l| l.0.clone()).collect::<Vec<_>>())
        .bind(links.iter().map(|l| l.1.no).collect::<Vec<_>>())
        .bind(links.iter().map(|l| l.2).collect::<Vec<_>>())
        .bind(links.iter().map(|l| l.1.keys.status.to_owned()).collect::<Vec<_>>())
        .bind(links.iter().map(|l| l.1.keys.due_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl WriteTx for PgTx<'_> {
    async fn head(&mut self) -> StoreResult<(ChainHead, LogTime)> {
        let (seq, hash, at): (i64, String, i64) =
            sqlx::query_as("SELECT seq, hash, at FROM chain_head WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut *self.conn)
                .await?;
        let hash = Hash::parse(&hash)
            .ok_or_else(|| StoreError::Corrupt("chain_head has a malformed hash".into()))?;
        let at = LogTime::from_millisecond(at).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok((
            ChainHead {
                seq: seq as u64,
                hash,
            },
            at,
        ))
    }

    async fn save_head(&mut self, chain: &Chain) -> StoreResult<()> {
        self.flush().await?;
        sqlx::query("UPDATE chain_head SET seq = $1, hash = $2, at = $3 WHERE id = 1")
            .bind(chain.head.seq as i64)
            .bind(chain.head.hash.to_hex())
            .bind(chain.last_at.as_millisecond())
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn registry_events_after(&mut self, seq: u64) -> StoreResult<Vec<(u64, String, String)>> {
        let kinds: Vec<String> = REGISTRY_KINDS.iter().map(|k| (*k).to_owned()).collect();
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, kind, body FROM log WHERE seq > $1 AND ticket IS NULL AND kind = ANY($2) ORDER BY seq",
        )
        .bind(seq as i64)
        .bind(kinds)
        .fetch_all(&mut *self.conn)
        .await?;
        Ok(rows.into_iter().map(|(s, k, b)| (s as u64, k, b)).collect())
    }

    async fn tickets_touched_after(&mut self, seq: u64) -> StoreResult<Vec<TicketNo>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT DISTINCT ticket FROM log WHERE seq > $1 AND ticket IS NOT NULL")
                .bind(seq as i64)
                .fetch_all(&mut *self.conn)
                .await?;
        rows.into_iter()
            .map(|(n,)| TicketNo::from_storage(n).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn load_ticket(&mut self, no: TicketNo) -> StoreResult<Option<Ticket>> {
        if let Some((row, _)) = self.pending.tickets.get(&no.to_storage()) {
            return decode_ticket(&row.state).map(Some);
        }
        let state: Option<(String,)> = sqlx::query_as("SELECT state FROM tickets WHERE no = $1")
            .bind(no.to_storage())
            .fetch_optional(&mut *self.conn)
            .await?;
        state.map(|(s,)| decode_ticket(&s)).transpose()
    }

    async fn day_counter(&mut self, day: &str) -> StoreResult<u32> {
        if let Some(counter) = self.pending.counters.get(day) {
            return Ok(*counter);
        }
        let last: Option<(i64,)> = sqlx::query_as("SELECT last FROM day_counters WHERE day = $1")
            .bind(day)
            .fetch_optional(&mut *self.conn)
            .await?;
        Ok(last.map_or(0, |(l,)| l as u32))
    }

    async fn token_is_active(&mut self, id: &str, user: &UserId) -> StoreResult<bool> {
        if self
            .pending
            .revoked
            .contains(&(id.to_owned(), user.to_string()))
        {
            return Ok(false);
        }
        let found: Option<(i32,)> = sqlx::query_as(
            r#"SELECT 1 FROM tokens WHERE id = $1 AND "user" = $2 AND revoked_at IS NULL"#,
        )
        .bind(id)
        .bind(user.as_str())
        .fetch_optional(&mut *self.conn)
        .await?;
        Ok(found.is_some())
    }

    async fn set_day_counter(&mut self, day: &str, counter: u32) -> StoreResult<()> {
        self.pending.counters.insert(day.to_owned(), counter);
        Ok(())
    }

    async fn insert_contact(&mut self, contact: &SealedContact) -> StoreResult<()> {
        self.pending.contacts.push(contact.clone());
        Ok(())
    }

    async fn insert_photo(&mut self, no: TicketNo, p: &crate::SealedPhoto) -> StoreResult<()> {
        // Rare and large: written at once rather than gathered for the batch's flush.
        sqlx::query(
            "INSERT INTO photos (id, ticket, key_id, nonce, ciphertext, content_type) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(p.id as i64)
        .bind(no.to_storage())
        .bind(i64::from(p.key_id))
        .bind(&p.nonce)
        .bind(&p.ciphertext)
        .bind(&p.content_type)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn insert_numbers(
        &mut self,
        no: TicketNo,
        seq: u64,
        n: &crate::SealedNumbers,
    ) -> StoreResult<()> {
        // Rare: written at once rather than gathered for the batch's flush.
        sqlx::query(
            "INSERT INTO written_numbers (id, ticket, seq, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(n.id as i64)
        .bind(no.to_storage())
        .bind(seq as i64)
        .bind(i64::from(n.key_id))
        .bind(&n.nonce)
        .bind(&n.ciphertext)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn insert_entry(&mut self, entry: &NewEntry) -> StoreResult<()> {
        self.pending.entries.push(entry.clone());
        Ok(())
    }

    async fn insert_access_index(&mut self, no: TicketNo, seq: i64) -> StoreResult<()> {
        self.pending.access_index.push((no.to_storage(), seq));
        Ok(())
    }

    async fn insert_list_sighting(
        &mut self,
        no: TicketNo,
        day: &str,
        actor: &str,
        seq: i64,
    ) -> StoreResult<()> {
        self.pending
            .sightings
            .push((no.to_storage(), day.to_owned(), actor.to_owned(), seq));
        Ok(())
    }

    async fn lookups_since(&mut self, actor: &str, since: Timestamp) -> StoreResult<Vec<String>> {
        const KIND: &str = "access.caller_looked_up";
        let stored: Vec<(String,)> = sqlx::query_as(
            "SELECT body FROM log WHERE ticket IS NULL AND actor = $1 AND at >= $2
             AND kind = 'access.caller_looked_up' ORDER BY at, seq",
        )
        .bind(actor)
        .bind(since.as_millisecond())
        .fetch_all(&mut *self.conn)
        .await?;
        let gathered =
            self.pending.entries.iter().filter(|e| {
                e.kind == KIND && e.actor == actor && e.at_ms >= since.as_millisecond()
            });
        Ok(stored
            .into_iter()
            .map(|(body,)| body)
            .chain(gathered.map(|e| e.body.clone()))
            .collect())
    }

    async fn write_ticket(&mut self, row: &TicketRow, before: Option<&Keys>) -> StoreResult<()> {
        let relinked = before.is_none_or(|keys| keys.units != row.keys.units);
        let entry = self
            .pending
            .tickets
            .entry(row.no)
            .or_insert_with(|| (row.clone(), false));
        entry.0 = row.clone();
        entry.1 |= relinked;
        Ok(())
    }

    async fn store_password(&mut self, user: &str, hash: &str, at: Timestamp) -> StoreResult<()> {
        sqlx::query(
            r#"INSERT INTO credentials ("user", password_hash, updated_at) VALUES ($1, $2, $3)
               ON CONFLICT ("user") DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at"#,
        )
        .bind(user)
        .bind(hash)
        .bind(at.as_millisecond())
        .execute(&mut *self.conn)
        .await?;
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
        sqlx::query(r#"INSERT INTO tokens (id, hash, "user", label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"#)
            .bind(id)
            .bind(hash.to_vec())
            .bind(user)
            .bind(label)
            .bind(at.as_millisecond())
            .bind(expires_at.map(|t| t.as_millisecond()))
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn revoke_token(&mut self, id: &str, user: &str, at: Timestamp) -> StoreResult<()> {
        sqlx::query(r#"UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND "user" = $3"#)
            .bind(at.as_millisecond())
            .bind(id)
            .bind(user)
            .execute(&mut *self.conn)
            .await?;
        self.pending
            .revoked
            .insert((id.to_owned(), user.to_owned()));
        Ok(())
    }

    async fn revoke_user_tokens(&mut self, user: &str, at: Timestamp) -> StoreResult<()> {
        sqlx::query(
            r#"UPDATE tokens SET revoked_at = $1 WHERE "user" = $2 AND revoked_at IS NULL"#,
        )
        .bind(at.as_millisecond())
        .bind(user)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn add_rollups(&mut self, rollups: &crate::write::Rollups) -> StoreResult<()> {
        super::rollups::add(self.conn, rollups).await
    }

    async fn known_call_events(
        &mut self,
        source: &CallSource,
        ids: &[CallEventId],
    ) -> StoreResult<BTreeSet<CallEventId>> {
        super::calls::known_events(self.conn, source, ids).await
    }

    async fn load_calls(&mut self, source: &CallSource, ids: &[CallId]) -> StoreResult<Vec<Call>> {
        super::calls::load_calls(&mut *self.conn, source, ids).await
    }

    async fn record_call_events(
        &mut self,
        source: &CallSource,
        ids: &[CallEventId],
        seq: i64,
    ) -> StoreResult<()> {
        self.pending.call_events.extend(
            ids.iter()
                .map(|id| (source.to_string(), id.to_string(), seq)),
        );
        Ok(())
    }

    async fn write_call(&mut self, row: &crate::write::calls::CallRow) -> StoreResult<()> {
        self.pending
            .calls
            .insert((row.source.clone(), row.call.clone()), row.clone());
        Ok(())
    }

    async fn add_call_rollups(&mut self, counts: &domain::calls::CallCounts) -> StoreResult<()> {
        super::calls::add_rollups(self.conn, counts).await
    }

    async fn insert_outbox(&mut self, item: &crate::OutboxItem) -> StoreResult<()> {
        self.pending.outbox.push(item.clone());
        Ok(())
    }

    async fn record_delivery(
        &mut self,
        seq: u64,
        outcome: &crate::Delivery,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let (sent_at, failed_at, error, next_at) = crate::outbox::outcome_columns(outcome, at);
        let done = sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, sent_at = $2, failed_at = $3,
             last_error = $4, next_at = COALESCE($5, next_at)
             WHERE seq = $1 AND sent_at IS NULL AND failed_at IS NULL",
        )
        .bind(seq as i64)
        .bind(sent_at)
        .bind(failed_at)
        .bind(error)
        .bind(next_at)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn expire_outbox(
        &mut self,
        before: Timestamp,
        reason: &str,
        at: Timestamp,
    ) -> StoreResult<u64> {
        // Messages of this batch are not written yet; they are new, so none is stale.
        let done = sqlx::query(
            "UPDATE outbox SET failed_at = $2, last_error = $3
             WHERE created_at < $1 AND sent_at IS NULL AND failed_at IS NULL",
        )
        .bind(before.as_millisecond())
        .bind(at.as_millisecond())
        .bind(reason)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected())
    }
}
