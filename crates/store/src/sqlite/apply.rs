//! One command in two steps. `prepare` reads the state inside the batch's transaction and
//! decides, writing nothing; a refusal therefore needs no rollback. `record` then writes the log
//! entries, projections and secrets; if a write fails the whole batch is abandoned and retried one
//! command at a time.

use std::collections::BTreeMap;

use domain::admin::{AdminCommand, AdminEvent, decide_admin};
use domain::audit::LogEvent;
use domain::ids::TicketNo;
use domain::org::Actor;
use domain::ticket::{Context, Ticket, TicketCommand, TicketEvent, decide};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::cache::TicketCache;
use super::chain::Chain;
use super::rows::{Keys, TicketRow};
use crate::registry::{REGISTRY_KINDS, Registry};
use crate::{Command, Committed, SealedContact, Secret, StoreError, StoreResult, Submission};

/// A decided command, ready to write.
pub(crate) enum Plan<'a> {
    Ticket {
        no: TicketNo,
        at: Timestamp,
        actor: &'a Actor,
        /// A new ticket's day and counter, and its sealed contact.
        receive: Option<(String, u32, Option<&'a SealedContact>)>,
        events: Vec<(TicketNo, TicketEvent)>,
        /// State after the events, with the projection keys before them (none for a new ticket).
        tickets: BTreeMap<TicketNo, (Ticket, Option<Keys>)>,
    },
    Admin {
        at: Timestamp,
        actor: &'a Actor,
        event: AdminEvent,
        command: &'a AdminCommand,
        secret: Option<&'a Secret>,
        /// The registry after the event, when it changes it.
        registry: Option<Registry>,
    },
}

pub(crate) fn prepare<'a>(
    conn: &Connection,
    cache: &TicketCache,
    chain: &Chain,
    registry: &Registry,
    submission: &'a Submission,
) -> StoreResult<Plan<'a>> {
    let actor = &submission.actor;
    let at = submission.now.max(chain.last_at);
    match &submission.command {
        Command::Receive {
            request,
            contact,
            answer_on_call,
        } => {
            let day = registry.rules.calendar.local_date(at).to_string();
            let last: Option<u32> = conn
                .prepare_cached("SELECT last FROM day_counters WHERE day = ?1")?
                .query_row([&day], |r| r.get(0))
                .optional()?;
            let counter = last.unwrap_or(0) + 1;
            let no = TicketNo::new(registry.rules.calendar.local_date(at), counter)
                .map_err(domain::DomainError::from)?;
            let command = TicketCommand::Receive {
                no,
                request: request.clone(),
                contact: contact.as_ref().map(|c| c.id),
                answer_on_call: answer_on_call.clone(),
            };
            let (events, tickets) = decide_ticket(conn, cache, registry, actor, at, &command)?;
            Ok(Plan::Ticket {
                no,
                at,
                actor,
                receive: Some((day, counter, contact.as_ref())),
                events,
                tickets,
            })
        }
        Command::Ticket { no, action } => {
            let command = TicketCommand::Act {
                no: *no,
                action: action.clone(),
            };
            let (events, tickets) = decide_ticket(conn, cache, registry, actor, at, &command)?;
            Ok(Plan::Ticket {
                no: *no,
                at,
                actor,
                receive: None,
                events,
                tickets,
            })
        }
        Command::Admin { command, secret } => {
            let event = decide_admin(actor, &registry.rules, registry, command)?;
            if let AdminCommand::RevokeToken { token_id, user } = command {
                let active: Option<i64> = conn
                    .prepare_cached(
                        "SELECT 1 FROM tokens WHERE id = ?1 AND user = ?2 AND revoked_at IS NULL",
                    )?
                    .query_row(params![token_id, user.as_str()], |r| r.get(0))
                    .optional()?;
                if active.is_none() {
                    let message = format!("user {user} has no active token {token_id}");
                    return Err(domain::DomainError::invalid("token", message).into());
                }
            }
            let needs_secret = matches!(
                event,
                AdminEvent::TokenIssued { .. } | AdminEvent::PasswordSet { .. }
            );
            if needs_secret && secret.is_none() {
                return Err(StoreError::Database(format!(
                    "{} needs its secret",
                    event.kind()
                )));
            }
            let next = if REGISTRY_KINDS.contains(&event.kind()) {
                let mut next = registry.clone();
                next.apply(&event)?;
                Some(next)
            } else {
                None
            };
            Ok(Plan::Admin {
                at,
                actor,
                event,
                command,
                secret: secret.as_ref(),
                registry: next,
            })
        }
    }
}

type Decided = (
    Vec<(TicketNo, TicketEvent)>,
    BTreeMap<TicketNo, (Ticket, Option<Keys>)>,
);

fn decide_ticket(
    conn: &Connection,
    cache: &TicketCache,
    registry: &Registry,
    actor: &Actor,
    at: Timestamp,
    command: &TicketCommand,
) -> StoreResult<Decided> {
    let mut current = BTreeMap::new();
    for no in command.tickets() {
        if let Some(ticket) = cache.load(conn, no)? {
            current.insert(no, ticket);
        }
    }
    let ctx = Context {
        rules: &registry.rules,
        directory: registry,
        actor,
        now: at,
    };
    let events = decide(&ctx, command, &current)?;
    let mut tickets: BTreeMap<TicketNo, (Ticket, Option<Keys>)> = current
        .into_iter()
        .map(|(no, t)| {
            let keys = Keys::of(&t);
            (no, (t, Some(keys)))
        })
        .collect();
    let corrupt = |e: domain::ticket::EvolveError| StoreError::Corrupt(e.to_string());
    for (no, event) in &events {
        match tickets.get_mut(no) {
            Some((ticket, _)) => ticket.apply(at, event).map_err(corrupt)?,
            None => {
                let ticket =
                    Ticket::start(*no, at, &actor.id.to_string(), event).map_err(corrupt)?;
                tickets.insert(*no, (ticket, None));
            }
        }
    }
    Ok((events, tickets))
}

/// Writes a decided command. An error here leaves the transaction half-written: the caller
/// abandons the batch.
pub(crate) fn record(
    conn: &Connection,
    cache: &mut TicketCache,
    chain: &mut Chain,
    registry: &mut std::sync::Arc<Registry>,
    plan: Plan<'_>,
) -> StoreResult<Committed> {
    match plan {
        Plan::Ticket {
            no,
            at,
            actor,
            receive,
            events,
            tickets,
        } => {
            if let Some((day, counter, contact)) = receive {
                conn.prepare_cached(
                    "INSERT INTO day_counters (day, last) VALUES (?1, ?2) ON CONFLICT (day) DO UPDATE SET last = excluded.last",
                )?
                .execute(params![day, counter])?;
                if let Some(c) = contact {
                    conn.prepare_cached(
                        "INSERT INTO contacts (id, key_id, nonce, ciphertext, phone_index) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![c.id.0 as i64, c.key_id, c.nonce, c.ciphertext, c.phone_index.as_ref().map(|i| &i[..])])?;
                }
            }
            let mut written = Vec::with_capacity(events.len());
            for (ticket, event) in events {
                let seq = chain.append(
                    conn,
                    at,
                    actor,
                    Some(ticket),
                    &LogEvent::Ticket(event.clone()),
                )?;
                written.push((seq, ticket, event));
            }
            let mut after = Vec::with_capacity(tickets.len());
            for (ticket_no, (ticket, before)) in tickets {
                let changed = written
                    .iter()
                    .any(|(_, n, e)| *n == ticket_no && e.changes_state());
                if changed {
                    let row = TicketRow::of(&ticket)?;
                    match &before {
                        Some(keys) => row.write_changes(conn, keys)?,
                        None => row.write_all(conn)?,
                    }
                    cache.remember(&ticket);
                }
                after.push(ticket);
            }
            Ok(Committed::Ticket {
                no,
                events: written,
                tickets: after,
            })
        }
        Plan::Admin {
            at,
            actor,
            event,
            command,
            secret,
            registry: next,
        } => {
            if let AdminCommand::RevokeToken { token_id, user } = command {
                conn.prepare_cached(
                    "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND user = ?3",
                )?
                .execute(params![at.as_millisecond(), token_id, user.as_str()])?;
            }
            store_secret(conn, &event, secret, at)?;
            let seq = chain.append(conn, at, actor, None, &LogEvent::Admin(event.clone()))?;
            if let Some(next) = next {
                *registry = std::sync::Arc::new(next);
            }
            Ok(Committed::Admin { seq, event })
        }
    }
}

fn store_secret(
    conn: &Connection,
    event: &AdminEvent,
    secret: Option<&Secret>,
    at: Timestamp,
) -> StoreResult<()> {
    let password_owner = match event {
        AdminEvent::UserCreated { user } | AdminEvent::UserUpdated { user } => {
            Some(user.id.as_str())
        }
        AdminEvent::PasswordSet { user } => Some(user.as_str()),
        _ => None,
    };
    match (event, secret) {
        (_, Some(Secret::PasswordHash(hash))) if password_owner.is_some() => {
            conn.prepare_cached(
                "INSERT INTO credentials (user, password_hash, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
            )?
            .execute(params![password_owner, hash, at.as_millisecond()])?;
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
            conn.prepare_cached(
                "INSERT INTO tokens (id, hash, user, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![token_id, &hash[..], user.as_str(), label, at.as_millisecond(), expires_at.map(|t| t.as_millisecond())])?;
        }
        _ => {}
    }
    Ok(())
}
