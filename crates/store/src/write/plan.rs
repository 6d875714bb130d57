//! One command in two steps, against any backend's transaction: `prepare` reads and decides,
//! writing nothing; `record` writes. `catch_up` with what other writers appended, and
//! `write_batch`, which puts the three together for a batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::access::{AccessEvent, decide_lookup};
use domain::admin::{AdminCommand, AdminEvent, decide_admin};
use domain::audit::{LogEvent, Recorded};
use domain::ids::TicketNo;
use domain::notify::notice_for;
use domain::org::Actor;
use domain::ticket::{Context, Ticket, TicketCommand, TicketEvent, decide};
use domain::time::LogTime;
use jiff::Timestamp;

use super::calls::CallBatch;
use super::{Chain, Keys, Rollups, TicketCache, TicketRow, WriteTx};
use crate::registry::{REGISTRY_KINDS, Registry};
use crate::{Command, Committed, SealedContact, Secret, StoreError, StoreResult, Submission};

/// A decided command, ready to write.
pub(crate) enum Plan<'a> {
    Ticket {
        no: TicketNo,
        at: LogTime,
        actor: &'a Actor,
        /// A new ticket's day and counter, its sealed contact and photo.
        receive: Option<(
            String,
            u32,
            Option<&'a SealedContact>,
            Option<&'a crate::SealedPhoto>,
        )>,
        /// Numbers masked out of the command's text, sealed.
        numbers: Option<&'a crate::SealedNumbers>,
        /// The events with the bytes the log will hold; the states below folded what those
        /// bytes read back as.
        events: Vec<(TicketNo, TicketEvent, Recorded)>,
        /// State after the events, with the projection keys before them (none for a new ticket).
        tickets: BTreeMap<TicketNo, (Ticket, Option<Keys>)>,
        /// What the events change in the KPI rollups.
        rollups: Rollups,
    },
    Admin {
        at: LogTime,
        actor: &'a Actor,
        event: AdminEvent,
        recorded: Recorded,
        command: &'a AdminCommand,
        secret: Option<&'a Secret>,
        /// The registry after the event, when it changes it.
        registry: Option<Registry>,
    },
    Delivery {
        at: LogTime,
        seq: u64,
        outcome: &'a crate::Delivery,
    },
    Expire {
        at: LogTime,
        created_before: Timestamp,
        reason: &'a str,
    },
    Access {
        at: LogTime,
        actor: &'a Actor,
        event: AccessEvent,
        recorded: Recorded,
    },
    Calls(super::calls::CallPlan<'a>),
}

/// A whole batch inside one open transaction: catch up with other writers, decide and record each
/// command (a refusal is that command's answer and writes nothing), store the head. The outer
/// error means the transaction must be abandoned, and the writer's view reset to before it.
pub(crate) async fn write_batch<T: WriteTx>(
    tx: &mut T,
    cache: &mut TicketCache,
    chain: &mut Chain,
    registry: &mut Arc<Registry>,
    batch: &[&Submission],
) -> StoreResult<Vec<StoreResult<Committed>>> {
    catch_up(tx, chain, registry, cache).await?;
    let mut results = Vec::with_capacity(batch.len());
    let mut rollups = Rollups::default();
    let mut calls = CallBatch::default();
    for submission in batch {
        match prepare(tx, cache, chain, registry, &calls, submission).await {
            Ok(plan) => results.push(Ok(record(
                tx,
                cache,
                chain,
                registry,
                &mut rollups,
                &mut calls,
                plan,
            )
            .await?)),
            Err(refused) => results.push(Err(refused)),
        }
    }
    // The batch's commands add to the same few unit × day rows: written once, summed.
    let rollups = rollups.without_zeros();
    if !rollups.is_empty() {
        tx.add_rollups(&rollups).await?;
    }
    let call_counts = std::mem::take(&mut calls.counts).without_zeros();
    if !call_counts.is_empty() {
        tx.add_call_rollups(&call_counts).await?;
    }
    tx.save_head(chain).await?;
    Ok(results)
}

/// Brings a writer up to date with the stored head: folds admin events other writers appended
/// into the registry and forgets the tickets they touched. Returns whether anything changed.
pub(crate) async fn catch_up<T: WriteTx>(
    tx: &mut T,
    chain: &mut Chain,
    registry: &mut Arc<Registry>,
    cache: &mut TicketCache,
) -> StoreResult<bool> {
    let (stored, last_at) = tx.head().await?;
    if stored == chain.head {
        return Ok(false);
    }
    let behind = stored.seq > chain.head.seq;
    // Behind: replay the gap. Otherwise (the log was restored or replaced): start over.
    let from = if behind { chain.head.seq } else { 0 };
    if !behind {
        *registry = Arc::new(Registry::new()?);
        cache.clear();
    }
    let events = tx.registry_events_after(from).await?;
    if !events.is_empty() {
        let mut next = (**registry).clone();
        for (seq, kind, body) in events {
            next.apply_stored(seq, &kind, &body)?;
        }
        *registry = Arc::new(next);
    }
    if behind {
        for no in tx.tickets_touched_after(from).await? {
            cache.forget(no);
        }
    }
    *chain = Chain {
        head: stored,
        last_at,
    };
    Ok(true)
}

/// What the log records of sealed numbers: the masked forms, never the numbers.
fn listed(numbers: &Option<crate::SealedNumbers>) -> Vec<domain::numbers::SealedNumber> {
    numbers
        .as_ref()
        .map(|n| n.listed.clone())
        .unwrap_or_default()
}

async fn prepare<'a, T: WriteTx>(
    tx: &mut T,
    cache: &TicketCache,
    chain: &Chain,
    registry: &Registry,
    calls: &CallBatch,
    submission: &'a Submission,
) -> StoreResult<Plan<'a>> {
    let actor = &submission.actor;
    let at = submission.now.max(chain.last_at);
    match &submission.command {
        Command::Receive {
            request,
            contact,
            answer_on_call,
            photo,
            numbers,
        } => {
            let date = registry.rules.calendar.local_date(at.timestamp());
            let day = date.to_string();
            let counter = tx.day_counter(&day).await? + 1;
            let no = TicketNo::new(date, counter).map_err(domain::DomainError::from)?;
            let command = TicketCommand::Receive {
                no,
                request: request.clone(),
                contact: contact.as_ref().map(|c| c.id),
                answer_on_call: answer_on_call.clone(),
                sealed: listed(numbers),
            };
            let (events, tickets, rollups) =
                decide_ticket(tx, cache, registry, actor, at, &command).await?;
            Ok(Plan::Ticket {
                no,
                at,
                actor,
                receive: Some((day, counter, contact.as_ref(), photo.as_ref())),
                numbers: numbers.as_ref(),
                events,
                tickets,
                rollups,
            })
        }
        Command::Ticket {
            no,
            action,
            numbers,
        } => {
            let command = TicketCommand::Act {
                no: *no,
                action: action.clone(),
                sealed: listed(numbers),
            };
            let (events, tickets, rollups) =
                decide_ticket(tx, cache, registry, actor, at, &command).await?;
            Ok(Plan::Ticket {
                no: *no,
                at,
                actor,
                receive: None,
                numbers: numbers.as_ref(),
                events,
                tickets,
                rollups,
            })
        }
        Command::Admin { command, secret } => {
            let event = decide_admin(actor, &registry.rules, registry, command)?;
            if let AdminCommand::RevokeToken { token_id, user } = command
                && !tx.token_is_active(token_id, user).await?
            {
                let message = format!("user {user} has no active token {token_id}");
                return Err(domain::DomainError::invalid("token", message).into());
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
            let recorded = record_event(LogEvent::Admin(event.clone()))?;
            let next = match &recorded.event {
                // The registry folds what the log will hold, as it does when it is rebuilt.
                LogEvent::Admin(logged) if REGISTRY_KINDS.contains(&logged.kind()) => {
                    let mut next = registry.clone();
                    next.apply(logged)?;
                    Some(next)
                }
                _ => None,
            };
            Ok(Plan::Admin {
                at,
                actor,
                event,
                recorded,
                command,
                secret: secret.as_ref(),
                registry: next,
            })
        }
        Command::Deliver { seq, outcome } => {
            only_the_server(actor)?;
            Ok(Plan::Delivery {
                at,
                seq: *seq,
                outcome,
            })
        }
        Command::ExpireOutbox {
            created_before,
            reason,
        } => {
            only_the_server(actor)?;
            Ok(Plan::Expire {
                at,
                created_before: *created_before,
                reason,
            })
        }
        Command::Access(event) => {
            let event = match event {
                AccessEvent::CallerLookedUp { .. } => {
                    let since = at.timestamp() - jiff::SignedDuration::from_hours(1);
                    let mut recent = Vec::new();
                    for body in tx.lookups_since(&actor.id.to_string(), since).await? {
                        if let LogEvent::Access(e) =
                            LogEvent::from_body("access.caller_looked_up", body.as_bytes())?
                        {
                            recent.push(e);
                        }
                    }
                    let budget = registry.rules.policy.privacy.lookups_per_hour;
                    decide_lookup(event.clone(), &recent, budget)
                }
                _ => event.clone(),
            };
            let recorded = record_event(LogEvent::Access(event.clone()))?;
            Ok(Plan::Access {
                at,
                actor,
                event,
                recorded,
            })
        }
        Command::RecordCalls {
            source,
            events,
            callers,
        } => Ok(Plan::Calls(
            super::calls::prepare(tx, calls, registry, actor, at, source, events, callers).await?,
        )),
    }
}

/// Deliveries are recorded by the server's own notifier (a system actor), never by a person.
fn only_the_server(actor: &Actor) -> StoreResult<()> {
    if matches!(actor.id, domain::org::ActorId::System(_)) {
        Ok(())
    } else {
        Err(domain::DomainError::not_permitted(
            actor,
            domain::permission::Action::ManageRules,
            "deliveries are recorded by the server's notifier only",
        )
        .into())
    }
}

type Decided = (
    Vec<(TicketNo, TicketEvent, Recorded)>,
    BTreeMap<TicketNo, (Ticket, Option<Keys>)>,
    Rollups,
);

/// The event with the bytes the log will hold for it, and read back from them.
fn record_event(event: LogEvent) -> StoreResult<Recorded> {
    event
        .recorded()
        .map_err(|e| StoreError::Corrupt(format!("{} does not read back: {e}", event.kind())))
}

async fn decide_ticket<T: WriteTx>(
    tx: &mut T,
    cache: &TicketCache,
    registry: &Registry,
    actor: &Actor,
    at: LogTime,
    command: &TicketCommand,
) -> StoreResult<Decided> {
    let mut current = BTreeMap::new();
    for no in command.tickets() {
        let ticket = match cache.get(no) {
            Some(ticket) => Some(ticket),
            None => tx.load_ticket(no).await?,
        };
        if let Some(ticket) = ticket {
            current.insert(no, ticket);
        }
    }
    let ctx = Context {
        rules: &registry.rules,
        directory: registry,
        actor,
        now: at.timestamp(),
    };
    let events = decide(&ctx, command, &current)?;
    let calendar = &registry.rules.calendar;
    let mut rollups = Rollups::default();
    let changes_state = events.iter().any(|(_, e)| e.changes_state());
    if changes_state {
        for ticket in current.values() {
            rollups.add_ticket(ticket, calendar, -1);
        }
    }
    let mut tickets: BTreeMap<TicketNo, (Ticket, Option<Keys>)> = current
        .into_iter()
        .map(|(no, t)| {
            let keys = Keys::of(&t);
            (no, (t, Some(keys)))
        })
        .collect();
    let corrupt = |e: domain::ticket::EvolveError| StoreError::Corrupt(e.to_string());
    let mut recorded = Vec::with_capacity(events.len());
    for (no, event) in events {
        let logged = record_event(LogEvent::Ticket(event.clone()))?;
        let LogEvent::Ticket(read_back) = &logged.event else {
            return Err(StoreError::Corrupt(format!(
                "{} read back as another kind of event",
                event.kind()
            )));
        };
        match tickets.get_mut(&no) {
            Some((ticket, _)) => ticket.apply(at, read_back).map_err(corrupt)?,
            None => {
                let ticket =
                    Ticket::start(no, at, &actor.id.to_string(), read_back).map_err(corrupt)?;
                tickets.insert(no, (ticket, None));
            }
        }
        recorded.push((no, event, logged));
    }
    if changes_state {
        for (ticket, _) in tickets.values() {
            rollups.add_ticket(ticket, calendar, 1);
        }
    }
    Ok((recorded, tickets, rollups))
}

/// Writes a decided command. An error here leaves the transaction half-written: the caller
/// abandons the batch.
async fn record<T: WriteTx>(
    tx: &mut T,
    cache: &mut TicketCache,
    chain: &mut Chain,
    registry: &mut Arc<Registry>,
    rollups: &mut Rollups,
    calls: &mut CallBatch,
    plan: Plan<'_>,
) -> StoreResult<Committed> {
    match plan {
        Plan::Calls(plan) => {
            let (recorded, repeated) = (plan.new.clone(), plan.repeated.clone());
            let seq = super::calls::record(tx, chain, calls, plan).await?;
            Ok(Committed::Calls {
                seq,
                recorded,
                repeated,
            })
        }
        Plan::Ticket {
            no,
            at,
            actor,
            receive,
            numbers,
            events,
            tickets,
            rollups: changed,
        } => {
            rollups.merge(changed);
            if let Some((day, counter, contact, photo)) = receive {
                tx.set_day_counter(&day, counter).await?;
                if let Some(contact) = contact {
                    tx.insert_contact(contact).await?;
                }
                if let Some(photo) = photo {
                    tx.insert_photo(no, photo).await?;
                }
            }
            let mut written = Vec::with_capacity(events.len());
            for (ticket, event, logged) in events {
                let entry = chain.next(at, actor, Some(ticket), &logged)?;
                tx.insert_entry(&entry).await?;
                // A message for the citizen, in the same transaction as the step it reports.
                let contact = tickets.get(&ticket).and_then(|(t, _)| t.contact);
                if let (Some(notice), Some(contact)) = (notice_for(&event), contact) {
                    let item = crate::OutboxItem {
                        seq: entry.seq as u64,
                        ticket,
                        notice,
                        contact,
                        created_at: at.timestamp(),
                        attempts: 0,
                    };
                    tx.insert_outbox(&item).await?;
                }
                written.push((entry.seq as u64, ticket, event));
            }
            if let (Some(numbers), Some((first, _, _))) = (numbers, written.first()) {
                tx.insert_numbers(no, *first, numbers).await?;
            }
            let mut after = Vec::with_capacity(tickets.len());
            for (ticket_no, (ticket, before)) in tickets {
                if written
                    .iter()
                    .any(|(_, n, e)| *n == ticket_no && e.changes_state())
                {
                    tx.write_ticket(&TicketRow::of(&ticket)?, before.as_ref())
                        .await?;
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
            recorded,
            command,
            secret,
            registry: next,
        } => {
            if let AdminCommand::RevokeToken { token_id, user } = command {
                tx.revoke_token(token_id, user.as_str(), at.timestamp())
                    .await?;
            }
            // A new password ends every session and token the user had, in the same transaction.
            if let AdminEvent::PasswordSet { user } = &event {
                tx.revoke_user_tokens(user.as_str(), at.timestamp()).await?;
            }
            store_secret(tx, &event, secret, at.timestamp()).await?;
            let entry = chain.next(at, actor, None, &recorded)?;
            tx.insert_entry(&entry).await?;
            if let Some(next) = next {
                *registry = Arc::new(next);
            }
            Ok(Committed::Admin {
                seq: entry.seq as u64,
                event,
            })
        }
        Plan::Delivery { at, seq, outcome } => {
            let recorded = tx.record_delivery(seq, outcome, at.timestamp()).await?;
            Ok(Committed::Delivery { seq, recorded })
        }
        Plan::Access {
            at,
            actor,
            event,
            recorded,
        } => {
            let entry = chain.next(at, actor, None, &recorded)?;
            tx.insert_entry(&entry).await?;
            if let AccessEvent::TicketsListed { tickets, .. } = &event {
                let day = registry
                    .rules
                    .calendar
                    .local_date(at.timestamp())
                    .to_string();
                for no in tickets {
                    if cache.first_sighting(&day, &entry.actor, *no) {
                        tx.insert_list_sighting(*no, &day, &entry.actor, entry.seq)
                            .await?;
                    }
                }
            } else {
                for no in event.tickets() {
                    tx.insert_access_index(no, entry.seq).await?;
                }
            }
            Ok(Committed::Access {
                seq: entry.seq as u64,
                event,
            })
        }
        Plan::Expire {
            at,
            created_before,
            reason,
        } => {
            let count = tx
                .expire_outbox(created_before, reason, at.timestamp())
                .await?;
            Ok(Committed::Expired { count })
        }
    }
}

async fn store_secret<T: WriteTx>(
    tx: &mut T,
    event: &AdminEvent,
    secret: Option<&Secret>,
    at: Timestamp,
) -> StoreResult<()> {
    let password_owner = match event {
        AdminEvent::UserCreated { user, .. } | AdminEvent::UserUpdated { user, .. } => {
            Some(user.id.as_str())
        }
        AdminEvent::PasswordSet { user } => Some(user.as_str()),
        _ => None,
    };
    match (event, secret) {
        (_, Some(Secret::PasswordHash(hash))) => {
            if let Some(owner) = password_owner {
                tx.store_password(owner, hash, at).await?;
            }
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
            tx.store_token(token_id, hash, user.as_str(), label, at, *expires_at)
                .await?;
        }
        _ => {}
    }
    Ok(())
}
