//! Deciding: a command, the actor, the time and the current state in; events out, or a refusal
//! that names the rule. Permission is checked first, then the state, then the input.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{
    ClosureOutcome, EmergencyService, FollowUpOutcome, NewTicket, ReplyClaim, Status, Ticket,
    TicketEvent,
};
use crate::category::Category;
use crate::error::DomainError;
use crate::ids::{CategoryCode, ContactId, DivisionCode, TicketNo, UnitId};
use crate::numbers::SealedNumber;
use crate::org::{Actor, Unit};
use crate::permission::{Action, RevealPurpose, may_reveal, require};
use crate::policy::Rules;

use super::input::{LONG, SHORT, check_request, check_units, optional_text, text};

/// Lookups a decision may need besides tickets. The store keeps these in memory.
pub trait Directory {
    fn unit(&self, id: &UnitId) -> Option<&Unit>;
    fn category(&self, code: &CategoryCode) -> Option<&Category>;
    fn knows_division(&self, code: &DivisionCode) -> bool;
}

pub struct Context<'a> {
    pub rules: &'a Rules,
    pub directory: &'a dyn Directory,
    pub actor: &'a Actor,
    pub now: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TicketCommand {
    /// 受理. The store picks the number and seals the contact before deciding.
    Receive {
        no: TicketNo,
        request: NewTicket,
        contact: Option<ContactId>,
        answer_on_call: Option<String>,
        /// Numbers masked out of the request's text and sealed (see `numbers`).
        sealed: Vec<SealedNumber>,
    },
    Act {
        no: TicketNo,
        action: TicketAction,
        /// Numbers masked out of the action's text and sealed.
        sealed: Vec<SealedNumber>,
    },
}

impl TicketCommand {
    /// The tickets whose state the decision reads.
    pub fn tickets(&self) -> Vec<TicketNo> {
        match self {
            Self::Receive { .. } => vec![],
            Self::Act {
                no,
                action: TicketAction::Merge { into },
                ..
            } => vec![*no, *into],
            Self::Act { no, .. } => vec![*no],
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TicketAction {
    AnswerOnCall {
        answer: String,
    },
    Dispatch {
        lead: UnitId,
        co_units: Vec<UnitId>,
        note: String,
    },
    Sign,
    RequestReturn {
        reason: String,
        rule: String,
    },
    DecideReturn {
        approve: bool,
        note: String,
    },
    RequestExtension {
        working_days: u32,
        reason: String,
    },
    DecideExtension {
        approve: bool,
        note: String,
    },
    Urge {
        note: String,
    },
    Supervise {
        note: String,
    },
    Reply {
        result: String,
        claim: ReplyClaim,
    },
    RecordFollowUp {
        outcome: FollowUpOutcome,
        comment: String,
    },
    Merge {
        into: TicketNo,
    },
    HandOff {
        to: EmergencyService,
        note: String,
    },
    AddNote {
        text: String,
        contacted_citizen: bool,
    },
    RevealContact {
        purpose: RevealPurpose,
        reason: String,
    },
}

impl TicketAction {
    /// The free text a person typed into this action, by field name, for masking the phone and
    /// ID numbers in it (`numbers::mask_texts`).
    pub fn texts_mut(&mut self) -> Vec<(&'static str, &mut String)> {
        match self {
            Self::AnswerOnCall { answer } => vec![("answer", answer)],
            Self::RequestReturn { reason, rule } => vec![("reason", reason), ("rule", rule)],
            Self::RequestExtension { reason, .. } | Self::RevealContact { reason, .. } => {
                vec![("reason", reason)]
            }
            Self::Dispatch { note, .. }
            | Self::DecideReturn { note, .. }
            | Self::DecideExtension { note, .. }
            | Self::Urge { note }
            | Self::Supervise { note }
            | Self::HandOff { note, .. } => vec![("note", note)],
            Self::Reply { result, .. } => vec![("result", result)],
            Self::RecordFollowUp { comment, .. } => vec![("comment", comment)],
            Self::AddNote { text, .. } => vec![("text", text)],
            Self::Sign | Self::Merge { .. } => vec![],
        }
    }

    pub fn action(&self) -> Action {
        match self {
            Self::AnswerOnCall { .. } => Action::AnswerOnCall,
            Self::Dispatch { .. } => Action::Dispatch,
            Self::Sign => Action::Sign,
            Self::RequestReturn { .. } => Action::RequestReturn,
            Self::DecideReturn { .. } => Action::DecideReturn,
            Self::RequestExtension { .. } => Action::RequestExtension,
            Self::DecideExtension { .. } => Action::DecideExtension,
            Self::Urge { .. } => Action::Urge,
            Self::Supervise { .. } => Action::Supervise,
            Self::Reply { .. } => Action::Reply,
            Self::RecordFollowUp { .. } => Action::RecordFollowUp,
            Self::Merge { .. } => Action::Merge,
            Self::HandOff { .. } => Action::HandOff,
            Self::AddNote { .. } => Action::AddNote,
            Self::RevealContact { .. } => Action::RevealContact,
        }
    }
}

/// Decides a command against the current tickets (`tickets` holds those `command.tickets()`
/// names, where they exist).
pub fn decide(
    ctx: &Context<'_>,
    command: &TicketCommand,
    tickets: &BTreeMap<TicketNo, Ticket>,
) -> Result<Vec<(TicketNo, TicketEvent)>, DomainError> {
    let (no, sealed, mut events) = match command {
        TicketCommand::Receive {
            no,
            request,
            contact,
            answer_on_call,
            sealed,
        } => (
            *no,
            sealed,
            receive(ctx, *no, request, *contact, answer_on_call.as_deref())?,
        ),
        TicketCommand::Act { no, action, sealed } => {
            let ticket = tickets.get(no).ok_or(DomainError::UnknownTicket(*no))?;
            match action {
                TicketAction::RevealContact { .. } => {
                    may_reveal(ctx.actor, ticket, ctx.now, &ctx.rules.policy.privacy)?
                }
                _ => require(ctx.actor, action.action(), Some(ticket))?,
            }
            (*no, sealed, act(ctx, ticket, action, tickets)?)
        }
    };
    if !sealed.is_empty() {
        events.push((
            no,
            TicketEvent::NumbersSealed {
                numbers: sealed.clone(),
            },
        ));
    }
    Ok(events)
}

fn receive(
    ctx: &Context<'_>,
    no: TicketNo,
    request: &NewTicket,
    contact: Option<ContactId>,
    answer_on_call: Option<&str>,
) -> Result<Vec<(TicketNo, TicketEvent)>, DomainError> {
    require(ctx.actor, Action::Receive, None)?;
    if answer_on_call.is_some() {
        require(ctx.actor, Action::AnswerOnCall, None)?;
    }
    let request = check_request(ctx, request)?;
    let mut events = vec![(no, TicketEvent::Received { request, contact })];
    if let Some(answer) = answer_on_call {
        events.push((
            no,
            TicketEvent::AnsweredOnCall {
                answer: text("answer", answer, LONG)?,
            },
        ));
        events.push((
            no,
            TicketEvent::Closed {
                outcome: ClosureOutcome::AnsweredOnCall,
            },
        ));
    }
    Ok(events)
}

fn act(
    ctx: &Context<'_>,
    ticket: &Ticket,
    action: &TicketAction,
    tickets: &BTreeMap<TicketNo, Ticket>,
) -> Result<Vec<(TicketNo, TicketEvent)>, DomainError> {
    let no = ticket.no;
    let one = |event| Ok(vec![(no, event)]);
    let state = || expect_status(ticket, action.action());
    let lead = || {
        ticket
            .lead_unit()
            .cloned()
            .ok_or_else(|| wrong(ticket, action.action(), "it is not with a unit"))
    };
    match action {
        TicketAction::AnswerOnCall { answer } => {
            state()?;
            if !ticket.assignments.is_empty() {
                return Err(wrong(
                    ticket,
                    action.action(),
                    "it was already dispatched once; dispatch it again instead",
                ));
            }
            Ok(vec![
                (
                    no,
                    TicketEvent::AnsweredOnCall {
                        answer: text("answer", answer, LONG)?,
                    },
                ),
                (
                    no,
                    TicketEvent::Closed {
                        outcome: ClosureOutcome::AnsweredOnCall,
                    },
                ),
            ])
        }
        TicketAction::Dispatch {
            lead,
            co_units,
            note,
        } => {
            state()?;
            let co_units = check_units(ctx, lead, co_units)?;
            let tier = ctx.rules.tier(&ticket.request.urgency)?;
            one(TicketEvent::Dispatched {
                lead: lead.clone(),
                co_units,
                sign_by: ctx.rules.calendar.add(ctx.now, tier.sign_within),
                reply_by: ctx.rules.calendar.add(ctx.now, tier.reply_within),
                redispatch: !ticket.assignments.is_empty(),
                note: optional_text("note", note, SHORT)?,
            })
        }
        TicketAction::Sign => {
            state()?;
            one(TicketEvent::Signed { unit: lead()? })
        }
        TicketAction::RequestReturn { reason, rule } => {
            state()?;
            one(TicketEvent::ReturnRequested {
                unit: lead()?,
                reason: text("reason", reason, LONG)?,
                rule: text("rule", rule, SHORT)?,
            })
        }
        TicketAction::DecideReturn { approve, note } => {
            state()?;
            let (unit, note) = (lead()?, optional_text("note", note, SHORT)?);
            if *approve {
                one(TicketEvent::ReturnApproved { unit, note })
            } else if note.is_empty() {
                Err(DomainError::invalid(
                    "note",
                    "say why the return is rejected, so the unit knows what to do",
                ))
            } else {
                one(TicketEvent::ReturnRejected { unit, note })
            }
        }
        TicketAction::RequestExtension {
            working_days,
            reason,
        } => {
            state()?;
            let current = ticket
                .current()
                .ok_or_else(|| wrong(ticket, action.action(), "it is not with a unit"))?;
            let policy = ctx.rules.policy.extension;
            if current.pending_extension.is_some() {
                return Err(wrong(
                    ticket,
                    action.action(),
                    "an extension request is already waiting for a decision",
                ));
            }
            if current.extensions_approved.len() as u32 >= policy.max_per_assignment {
                return Err(wrong(
                    ticket,
                    action.action(),
                    &format!(
                        "it already had {} extension(s), the most allowed",
                        policy.max_per_assignment
                    ),
                ));
            }
            if ctx.now > current.reply_by {
                return Err(wrong(
                    ticket,
                    action.action(),
                    "the reply deadline has passed; an extension must be requested before it",
                ));
            }
            if *working_days == 0 || *working_days > policy.max_working_days {
                return Err(DomainError::invalid(
                    "working_days",
                    format!("ask for 1 to {} working days", policy.max_working_days),
                ));
            }
            one(TicketEvent::ExtensionRequested {
                unit: current.unit.clone(),
                working_days: *working_days,
                reason: text("reason", reason, LONG)?,
            })
        }
        TicketAction::DecideExtension { approve, note } => {
            let current = ticket
                .current()
                .ok_or_else(|| wrong(ticket, action.action(), "it is not with a unit"))?;
            let Some(pending) = current.pending_extension.as_ref() else {
                return Err(wrong(
                    ticket,
                    action.action(),
                    "there is no extension request to decide",
                ));
            };
            let note = optional_text("note", note, SHORT)?;
            if *approve {
                one(TicketEvent::ExtensionApproved {
                    unit: current.unit.clone(),
                    working_days: pending.working_days,
                    reply_by: ctx
                        .rules
                        .calendar
                        .extend(current.reply_by, pending.working_days),
                    note,
                })
            } else if note.is_empty() {
                Err(DomainError::invalid(
                    "note",
                    "say why the extension is rejected",
                ))
            } else {
                one(TicketEvent::ExtensionRejected {
                    unit: current.unit.clone(),
                    note,
                })
            }
        }
        TicketAction::Urge { note } => {
            state()?;
            one(TicketEvent::Urged {
                unit: lead()?,
                note: optional_text("note", note, SHORT)?,
            })
        }
        TicketAction::Supervise { note } => {
            state()?;
            if ticket.supervised {
                return Err(wrong(
                    ticket,
                    action.action(),
                    "it is already under supervision",
                ));
            }
            one(TicketEvent::Supervised {
                unit: lead()?,
                note: text("note", note, SHORT)?,
            })
        }
        TicketAction::Reply { result, claim } => {
            state()?;
            one(TicketEvent::Replied {
                unit: lead()?,
                result: text("result", result, LONG)?,
                claim: *claim,
            })
        }
        TicketAction::RecordFollowUp { outcome, comment } => {
            state()?;
            follow_up(
                ctx,
                ticket,
                *outcome,
                optional_text("comment", comment, LONG)?,
            )
        }
        TicketAction::Merge { into } => merge(ticket, *into, tickets),
        TicketAction::HandOff { to, note } => {
            state()?;
            one(TicketEvent::HandedOff {
                to: *to,
                note: optional_text("note", note, SHORT)?,
            })
        }
        TicketAction::AddNote {
            text: body,
            contacted_citizen,
        } => one(TicketEvent::NoteAdded {
            unit: ctx.actor.affiliation.unit().cloned(),
            text: text("text", body, LONG)?,
            contacted_citizen: *contacted_citizen,
        }),
        TicketAction::RevealContact { purpose, reason } => {
            if !ticket.has_personal_data() {
                return Err(wrong(
                    ticket,
                    action.action(),
                    "the citizen left no contact details and wrote no phone or ID number",
                ));
            }
            let reason = text("reason", reason, SHORT)?;
            if reason.chars().count() < 4 {
                return Err(DomainError::invalid(
                    "reason",
                    "give a real reason (at least 4 characters); it is kept in the audit record",
                ));
            }
            one(TicketEvent::ContactRevealed {
                reason,
                purpose: Some(*purpose),
                seat: Some(crate::access::Seat::of(ctx.actor)),
            })
        }
    }
}

fn follow_up(
    ctx: &Context<'_>,
    ticket: &Ticket,
    outcome: FollowUpOutcome,
    comment: String,
) -> Result<Vec<(TicketNo, TicketEvent)>, DomainError> {
    let no = ticket.no;
    let current = ticket
        .current()
        .ok_or_else(|| wrong(ticket, Action::RecordFollowUp, "it is not with a unit"))?;
    let policy = ctx.rules.policy.follow_up;
    let attempt = current.follow_ups.len() as u32 + 1;
    let mut events = vec![(
        no,
        TicketEvent::FollowUpRecorded {
            unit: current.unit.clone(),
            attempt,
            outcome,
            comment,
        },
    )];
    let closing = match outcome {
        FollowUpOutcome::NotReached if attempt >= policy.max_attempts => {
            Some(ClosureOutcome::Unreachable)
        }
        FollowUpOutcome::NotReached => None,
        _ if !outcome.needs_rework() => Some(ClosureOutcome::Solved),
        _ if ticket.reopen_count() >= policy.max_reopens => Some(ClosureOutcome::Unsolved),
        _ => {
            let tier = ctx.rules.tier(&ticket.request.urgency)?;
            events.push((
                no,
                TicketEvent::Reopened {
                    unit: current.unit.clone(),
                    sign_by: ctx.rules.calendar.add(ctx.now, tier.sign_within),
                    reply_by: ctx.rules.calendar.add(ctx.now, tier.reply_within),
                },
            ));
            None
        }
    };
    if let Some(outcome) = closing {
        events.push((no, TicketEvent::Closed { outcome }));
    }
    Ok(events)
}

fn merge(
    ticket: &Ticket,
    into: TicketNo,
    tickets: &BTreeMap<TicketNo, Ticket>,
) -> Result<Vec<(TicketNo, TicketEvent)>, DomainError> {
    if ticket.status.is_terminal() {
        return Err(wrong(
            ticket,
            Action::Merge,
            "a finished ticket cannot be merged",
        ));
    }
    if into == ticket.no {
        return Err(DomainError::invalid(
            "into",
            "a ticket cannot be merged into itself",
        ));
    }
    let target = tickets.get(&into).ok_or(DomainError::UnknownTicket(into))?;
    if target.status.is_terminal() {
        return Err(DomainError::invalid(
            "into",
            format!(
                "ticket {into} is {}; merge into a ticket that is still open",
                target.status
            ),
        ));
    }
    Ok(vec![
        (ticket.no, TicketEvent::MergedInto { target: into }),
        (into, TicketEvent::Absorbed { source: ticket.no }),
    ])
}

/// The statuses an action needs, and what to tell someone who tries it in another. `None`: the
/// action does not depend on the status alone (its own checks say when it applies).
pub fn required_status(action: Action) -> Option<(&'static [Status], &'static str)> {
    use Status::*;
    Some(match action {
        Action::AnswerOnCall => (
            &[PendingDispatch],
            "only a ticket waiting for dispatch can be answered on the call",
        ),
        Action::Dispatch => (
            &[PendingDispatch],
            "only a ticket waiting for dispatch can be dispatched",
        ),
        Action::Sign => (&[Dispatched], "only a dispatched ticket can be signed for"),
        Action::RequestReturn => (
            &[Dispatched, InProgress],
            "a return can be requested while the ticket is with the unit and not yet replied",
        ),
        Action::DecideReturn => (&[ReturnRequested], "there is no return request to decide"),
        Action::RequestExtension => (
            &[InProgress],
            "an extension can be requested after signing and before replying",
        ),
        Action::Urge => (
            &[Dispatched, InProgress],
            "only a ticket a unit is working on can be urged",
        ),
        Action::Supervise => (
            &[Dispatched, InProgress, ReturnRequested],
            "only a ticket a unit is working on can be supervised",
        ),
        Action::Reply => (&[InProgress], "a unit replies after signing for the ticket"),
        Action::RecordFollowUp => (&[Replied], "the follow-up comes after the unit's reply"),
        Action::HandOff => (
            &[PendingDispatch],
            "only a ticket not yet dispatched can be handed off",
        ),
        _ => return None,
    })
}

/// The actions on a ticket that this actor may take now: permitted to them, and possible in the
/// ticket's state. Screens offer exactly these; `decide` still checks each input when it comes.
pub fn offered_actions(
    actor: &Actor,
    ticket: &Ticket,
    now: Timestamp,
    rules: &Rules,
) -> Vec<Action> {
    let current = ticket.current();
    let pending_extension = current.is_some_and(|a| a.pending_extension.is_some());
    Action::ON_A_TICKET
        .into_iter()
        .filter(|action| match action {
            Action::AnswerOnCall => ticket.assignments.is_empty(),
            Action::RequestExtension => !pending_extension,
            Action::DecideExtension => pending_extension,
            Action::Supervise => !ticket.supervised,
            Action::Merge => !ticket.status.is_terminal(),
            Action::RevealContact => ticket.has_personal_data(),
            _ => true,
        })
        .filter(|action| expect_status(ticket, *action).is_ok())
        .filter(|action| match action {
            Action::RevealContact => may_reveal(actor, ticket, now, &rules.policy.privacy).is_ok(),
            _ => require(actor, *action, Some(ticket)).is_ok(),
        })
        .collect()
}

fn expect_status(ticket: &Ticket, action: Action) -> Result<(), DomainError> {
    match required_status(action) {
        Some((allowed, _)) if allowed.contains(&ticket.status) => Ok(()),
        Some((_, needs)) => Err(wrong(ticket, action, needs)),
        None => Ok(()),
    }
}

fn wrong(ticket: &Ticket, action: Action, needs: &str) -> DomainError {
    DomainError::WrongState {
        no: ticket.no,
        action,
        status: ticket.status,
        needs: needs.to_owned(),
    }
}
