//! The single writer: one thread owns the write connection, takes commands from a channel and
//! commits them in groups. Under load a batch grows by itself (everything queued while the last
//! one committed); when idle a command commits alone. One fsync per batch, not per command, with
//! `synchronous=FULL` durability: a caller hears back only after its batch committed.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crossbeam_channel::Receiver;
use domain::admin::{AdminCommand, AdminEvent, decide_admin};
use domain::audit::{ChainHead, EntryFields, LogEvent, entry_hash};
use domain::ids::TicketNo;
use domain::org::Actor;
use domain::ticket::{Context, Ticket, TicketCommand, TicketEvent, decide};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use super::rows::{load_ticket, save_ticket};
use crate::registry::{REGISTRY_KINDS, Registry};
use crate::{Command, Committed, RebuildReport, Secret, StoreError, StoreResult, Submission};

/// How long the writer waits for work before checking for other writers.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) enum Job {
    Submit(Box<Submission>, oneshot::Sender<StoreResult<Committed>>),
    Rebuild(oneshot::Sender<StoreResult<RebuildReport>>),
    /// Commit what is queued before it, then stop.
    Shutdown,
}

/// The end of the log as the writer knows it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chain {
    pub head: ChainHead,
    /// The time of the last entry. Entries never go back in time: a command that arrives with an
    /// earlier `now` (two requests racing) is recorded at this time instead.
    pub last_at: Timestamp,
}

pub(crate) struct Writer {
    pub conn: Connection,
    pub chain: Chain,
    pub registry: Registry,
    pub published: Arc<RwLock<Arc<Registry>>>,
    pub max_batch: usize,
}

impl Writer {
    pub fn run(mut self, jobs: Receiver<Job>) {
        'serve: loop {
            let first = match jobs.recv_timeout(IDLE_CHECK) {
                Ok(job) => job,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    self.follow_other_writers();
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            };
            let mut submissions = Vec::new();
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Submit(s, reply) => submissions.push((s, reply)),
                    Job::Rebuild(reply) => {
                        // A rebuild runs alone, after what was queued before it.
                        self.commit_batch(std::mem::take(&mut submissions));
                        let _ = reply.send(self.rebuild());
                    }
                    Job::Shutdown => {
                        self.commit_batch(submissions);
                        break 'serve;
                    }
                }
                if submissions.len() < self.max_batch {
                    next = jobs.try_recv().ok();
                }
            }
            self.commit_batch(submissions);
        }
        tracing::info!("store writer stopped");
    }

    /// When idle, notices entries another process appended (a console command while the server
    /// runs), so a deactivated user or a new unit takes effect within a second.
    fn follow_other_writers(&mut self) {
        let Ok(stored) = load_head(&self.conn) else {
            return;
        };
        if stored == self.chain.head {
            return;
        }
        match (load_last_at(&self.conn), load_registry(&self.conn)) {
            (Ok(last_at), Ok(registry)) => {
                self.chain = Chain {
                    head: stored,
                    last_at,
                };
                self.registry = registry;
                if let Ok(mut published) = self.published.write() {
                    *published = Arc::new(self.registry.clone());
                }
            }
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "cannot follow entries another process appended")
            }
        }
    }

    fn rebuild(&mut self) -> StoreResult<RebuildReport> {
        let report = super::rebuild::rebuild(&mut self.conn)?;
        self.registry = load_registry(&self.conn)?;
        if let Ok(mut published) = self.published.write() {
            *published = Arc::new(self.registry.clone());
        }
        Ok(report)
    }

    fn commit_batch(
        &mut self,
        batch: Vec<(Box<Submission>, oneshot::Sender<StoreResult<Committed>>)>,
    ) {
        if batch.is_empty() {
            return;
        }
        let chain_before = self.chain;
        let mut registry_before: Option<Registry> = None;
        let outcome = (|| -> Result<Vec<StoreResult<Committed>>, StoreError> {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process may have appended since the last batch (an administrator's console
            // command while the server runs): continue the chain from where it really ends, with
            // the organisation as it now is. The immediate transaction holds the write lock, so
            // nobody appends between this check and the commit.
            let stored = load_head(&tx)?;
            if stored != self.chain.head {
                registry_before.get_or_insert_with(|| self.registry.clone());
                self.chain = Chain {
                    head: stored,
                    last_at: load_last_at(&tx)?,
                };
                self.registry = load_registry(&tx)?;
            }
            let mut results = Vec::with_capacity(batch.len());
            for (submission, _) in &batch {
                tx.execute_batch("SAVEPOINT command")?;
                let chain = self.chain;
                let result = apply(
                    &tx,
                    &mut self.chain,
                    &mut self.registry,
                    &mut registry_before,
                    submission,
                );
                if result.is_err() {
                    tx.execute_batch("ROLLBACK TO command")?;
                    self.chain = chain;
                }
                tx.execute_batch("RELEASE command")?;
                results.push(result);
            }
            tx.commit()?;
            Ok(results)
        })();
        match outcome {
            Ok(results) => {
                if registry_before.is_some()
                    && let Ok(mut published) = self.published.write()
                {
                    *published = Arc::new(self.registry.clone());
                }
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                tracing::error!(%error, "a batch failed to commit; its commands were not applied");
                self.chain = chain_before;
                if let Some(registry) = registry_before {
                    self.registry = registry;
                }
                let message = error.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(StoreError::Database(message.clone())));
                }
            }
        }
    }
}

/// Decides one submission inside the open transaction and records it: log entries, projections,
/// secrets. On error the caller rolls back to the savepoint.
fn apply(
    conn: &Connection,
    chain: &mut Chain,
    registry: &mut Registry,
    registry_before: &mut Option<Registry>,
    submission: &Submission,
) -> StoreResult<Committed> {
    let Submission {
        actor,
        now,
        command,
    } = submission;
    let now = &(*now).max(chain.last_at);
    match command {
        Command::Receive {
            request,
            contact,
            answer_on_call,
        } => {
            let day = registry.rules.calendar.local_date(*now);
            let counter: u32 = conn
                .prepare_cached(
                    "INSERT INTO day_counters (day, last) VALUES (?1, 1)
                     ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
                )?
                .query_row([day.to_string()], |r| r.get(0))?;
            let no = TicketNo::new(day, counter).map_err(domain::DomainError::from)?;
            if let Some(c) = contact {
                conn.prepare_cached("INSERT INTO contacts (id, key_id, nonce, ciphertext, phone_index) VALUES (?1, ?2, ?3, ?4, ?5)")?
                    .execute(params![c.id.0 as i64, c.key_id, c.nonce, c.ciphertext, c.phone_index.as_ref().map(|i| &i[..])])?;
            }
            let command = TicketCommand::Receive {
                no,
                request: request.clone(),
                contact: contact.as_ref().map(|c| c.id),
                answer_on_call: answer_on_call.clone(),
            };
            ticket_command(conn, chain, registry, actor, *now, no, &command)
        }
        Command::Ticket { no, action } => {
            let command = TicketCommand::Act {
                no: *no,
                action: action.clone(),
            };
            ticket_command(conn, chain, registry, actor, *now, *no, &command)
        }
        Command::Admin { command, secret } => {
            let event = decide_admin(actor, &registry.rules, registry, command)?;
            if let AdminCommand::RevokeToken { token_id, user } = command {
                let revoked = conn
                    .prepare_cached("UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND user = ?3 AND revoked_at IS NULL")?
                    .execute(params![now.as_millisecond(), token_id, user.as_str()])?;
                if revoked == 0 {
                    return Err(domain::DomainError::invalid(
                        "token",
                        format!("user {user} has no active token {token_id}"),
                    )
                    .into());
                }
            }
            store_secret(conn, &event, secret.as_ref(), *now)?;
            if REGISTRY_KINDS.contains(&event.kind()) {
                let mut next = registry.clone();
                next.apply(&event)?;
                if registry_before.is_none() {
                    *registry_before = Some(registry.clone());
                }
                *registry = next;
            }
            let seq = append(
                conn,
                chain,
                *now,
                actor,
                None,
                &LogEvent::Admin(event.clone()),
            )?;
            Ok(Committed::Admin { seq, event })
        }
    }
}

fn ticket_command(
    conn: &Connection,
    chain: &mut Chain,
    registry: &Registry,
    actor: &Actor,
    now: Timestamp,
    no: TicketNo,
    command: &TicketCommand,
) -> StoreResult<Committed> {
    let mut tickets = BTreeMap::new();
    for needed in command.tickets() {
        if let Some(ticket) = load_ticket(conn, needed)? {
            tickets.insert(needed, ticket);
        }
    }
    let ctx = Context {
        rules: &registry.rules,
        directory: registry,
        actor,
        now,
    };
    let events = decide(&ctx, command, &tickets)?;
    let mut written = Vec::with_capacity(events.len());
    let mut touched: Vec<TicketNo> = Vec::new();
    for (ticket_no, event) in events {
        let seq = append(
            conn,
            chain,
            now,
            actor,
            Some(ticket_no),
            &LogEvent::Ticket(event.clone()),
        )?;
        evolve(&mut tickets, ticket_no, now, actor, &event)?;
        if event.changes_state() && !touched.contains(&ticket_no) {
            touched.push(ticket_no);
        }
        written.push((seq, ticket_no, event));
    }
    for ticket_no in &touched {
        if let Some(ticket) = tickets.get(ticket_no) {
            save_ticket(conn, ticket)?;
        }
    }
    Ok(Committed::Ticket {
        no,
        events: written,
        tickets: tickets.into_values().collect(),
    })
}

fn evolve(
    tickets: &mut BTreeMap<TicketNo, Ticket>,
    no: TicketNo,
    at: Timestamp,
    actor: &Actor,
    event: &TicketEvent,
) -> StoreResult<()> {
    let corrupt = |e: domain::ticket::EvolveError| StoreError::Corrupt(e.to_string());
    match tickets.get_mut(&no) {
        Some(ticket) => ticket.apply(at, event).map_err(corrupt),
        None => {
            tickets.insert(
                no,
                Ticket::start(no, at, &actor.id.to_string(), event).map_err(corrupt)?,
            );
            Ok(())
        }
    }
}

/// Appends one entry to the chain and moves the head.
pub(crate) fn append(
    conn: &Connection,
    chain: &mut Chain,
    at: Timestamp,
    actor: &Actor,
    ticket: Option<TicketNo>,
    event: &LogEvent,
) -> StoreResult<u64> {
    let body = event.to_body();
    let actor = actor.id.to_string();
    let head = &mut chain.head;
    let fields = EntryFields {
        seq: head.seq + 1,
        at_ms: at.as_millisecond(),
        actor: &actor,
        ticket: ticket.map(TicketNo::to_storage),
        kind: event.kind(),
        body: &body,
    };
    let hash = entry_hash(&head.hash, &fields);
    let text = std::str::from_utf8(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.prepare_cached("INSERT INTO log (seq, at, actor, ticket, kind, body, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
        .execute(params![fields.seq as i64, fields.at_ms, actor, fields.ticket, fields.kind, text, head.hash.to_hex(), hash.to_hex()])?;
    *head = ChainHead {
        seq: fields.seq,
        hash,
    };
    chain.last_at = at;
    Ok(fields.seq)
}

fn store_secret(
    conn: &Connection,
    event: &AdminEvent,
    secret: Option<&Secret>,
    now: Timestamp,
) -> StoreResult<()> {
    let password_owner = match event {
        AdminEvent::UserCreated { user } | AdminEvent::UserUpdated { user } => Some(&user.id),
        AdminEvent::PasswordSet { user } => Some(user),
        _ => None,
    };
    match (event, secret) {
        (_, Some(Secret::PasswordHash(hash))) if password_owner.is_some() => {
            let id = password_owner.map(|u| u.as_str());
            conn.prepare_cached(
                "INSERT INTO credentials (user, password_hash, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
            )?
            .execute(params![id, hash, now.as_millisecond()])?;
        }
        (
            AdminEvent::TokenIssued {
                token_id,
                user,
                label,
                expires_at,
            },
            Some(Secret::TokenHash(hash)),
        ) => {
            conn.prepare_cached("INSERT INTO tokens (id, hash, user, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
                .execute(params![token_id, &hash[..], user.as_str(), label, now.as_millisecond(), expires_at.map(|t| t.as_millisecond())])?;
        }
        (AdminEvent::TokenIssued { .. } | AdminEvent::PasswordSet { .. }, None) => {
            return Err(StoreError::Database(format!(
                "{} needs its secret",
                event.kind()
            )));
        }
        _ => {}
    }
    Ok(())
}

/// The last entry of the chain, or the genesis head for an empty log.
pub(crate) fn load_head(conn: &Connection) -> StoreResult<ChainHead> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match last {
        None => Ok(ChainHead {
            seq: 0,
            hash: domain::audit::Hash::GENESIS,
        }),
        Some((seq, hash)) => Ok(ChainHead {
            seq: seq as u64,
            hash: domain::audit::Hash::parse(&hash).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "log entry {seq} has a malformed hash; run `minsheng audit verify`"
                ))
            })?,
        }),
    }
}

pub(crate) fn load_last_at(conn: &Connection) -> StoreResult<Timestamp> {
    let at: Option<i64> = conn
        .query_row("SELECT at FROM log ORDER BY seq DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    at.map(|ms| {
        Timestamp::from_millisecond(ms)
            .map_err(|e| StoreError::Corrupt(format!("the last log entry has a bad time: {e}")))
    })
    .transpose()
    .map(|t| t.unwrap_or(Timestamp::UNIX_EPOCH))
}

/// Folds the admin events of the log into a fresh registry.
pub(crate) fn load_registry(conn: &Connection) -> StoreResult<Registry> {
    let mut registry = Registry::new()?;
    let placeholders = REGISTRY_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare(&format!("SELECT seq, kind, body FROM log WHERE ticket IS NULL AND kind IN ({placeholders}) ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (seq, kind, body): (i64, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let event = LogEvent::from_body(&kind, body.as_bytes())
            .map_err(|e| StoreError::Corrupt(format!("log entry {seq}: {e}")))?;
        if let LogEvent::Admin(event) = event {
            registry
                .apply(&event)
                .map_err(|e| StoreError::Corrupt(format!("log entry {seq}: {e}")))?;
        }
    }
    Ok(registry)
}
