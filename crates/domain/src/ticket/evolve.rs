//! Folding events into ticket state. `decide` only emits events that apply; when one does not
//! (a log edited by hand, a bug), this refuses instead of guessing.

use jiff::Timestamp;

use super::{
    Assignment, AssignmentCause, AssignmentEnd, AssignmentEndReason, Closure, FollowUpRecord,
    PendingExtension, PendingReturn, Reply, Status, Ticket, TicketEvent,
};
use crate::ids::TicketNo;
use crate::time::LogTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {kind} does not apply to ticket {no} ({status}): {why}")]
pub struct EvolveError {
    pub no: TicketNo,
    pub kind: &'static str,
    pub status: String,
    pub why: &'static str,
}

impl Ticket {
    /// A ticket's state right after its first event, which must be `Received`. `at` is the
    /// entry's time as the log holds it, so a rebuild from the log starts the same ticket.
    pub fn start(
        no: TicketNo,
        at: LogTime,
        actor: &str,
        event: &TicketEvent,
    ) -> Result<Ticket, EvolveError> {
        let at = at.timestamp();
        let TicketEvent::Received { request, contact } = event else {
            return Err(EvolveError {
                no,
                kind: event.kind(),
                status: "not yet received".into(),
                why: "a ticket starts with ticket.received",
            });
        };
        Ok(Ticket {
            no,
            request: request.clone(),
            contact: *contact,
            received_at: at,
            received_by: actor.to_owned(),
            status: Status::PendingDispatch,
            assignments: Vec::new(),
            answer: None,
            urge_count: 0,
            supervised: false,
            merged_into: None,
            absorbed: Vec::new(),
            handed_off_to: None,
            closure: None,
            sealed_numbers: 0,
            updated_at: at,
            version: 1,
        })
    }

    /// Applies one later event, at its entry's time as the log holds it. Events that only record
    /// an access (`changes_state() == false`) leave the state as it is.
    pub fn apply(&mut self, at: LogTime, event: &TicketEvent) -> Result<(), EvolveError> {
        if !event.changes_state() {
            return Ok(());
        }
        let at = at.timestamp();
        self.apply_inner(at, event)?;
        self.updated_at = at;
        self.version += 1;
        Ok(())
    }

    fn fail(&self, event: &TicketEvent, why: &'static str) -> EvolveError {
        EvolveError {
            no: self.no,
            kind: event.kind(),
            status: self.status.to_string(),
            why,
        }
    }

    fn expect_status(&self, event: &TicketEvent, allowed: &[Status]) -> Result<(), EvolveError> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(self.fail(event, "not allowed in this status"))
        }
    }

    fn current_mut(&mut self, event: &TicketEvent) -> Result<&mut Assignment, EvolveError> {
        if self.current().is_none() {
            return Err(self.fail(event, "the ticket is not with a unit"));
        }
        let current = self.assignments.last_mut().filter(|a| a.ended.is_none());
        // Just checked; the error branch cannot run.
        current.ok_or_else(|| EvolveError {
            no: self.no,
            kind: event.kind(),
            status: String::new(),
            why: "the ticket is not with a unit",
        })
    }

    fn end_current(&mut self, at: Timestamp, reason: AssignmentEndReason) {
        if let Some(current) = self.assignments.last_mut().filter(|a| a.ended.is_none()) {
            current.ended = Some(AssignmentEnd { at, reason });
        }
    }

    fn apply_inner(&mut self, at: Timestamp, event: &TicketEvent) -> Result<(), EvolveError> {
        use Status::*;
        match event {
            TicketEvent::Received { .. } => {
                return Err(self.fail(event, "the ticket was already received"));
            }
            TicketEvent::AnsweredOnCall { answer } => {
                self.expect_status(event, &[PendingDispatch])?;
                self.answer = Some(answer.clone());
            }
            TicketEvent::Dispatched {
                lead,
                co_units,
                sign_by,
                reply_by,
                redispatch,
                ..
            } => {
                self.expect_status(event, &[PendingDispatch])?;
                self.assignments.push(Assignment::new(
                    lead.clone(),
                    co_units.clone(),
                    if *redispatch {
                        AssignmentCause::Redispatch
                    } else {
                        AssignmentCause::Dispatch
                    },
                    at,
                    *sign_by,
                    *reply_by,
                ));
                self.status = Dispatched;
            }
            TicketEvent::Signed { .. } => {
                self.expect_status(event, &[Dispatched])?;
                self.current_mut(event)?.signed_at = Some(at);
                self.status = InProgress;
            }
            TicketEvent::ReturnRequested { reason, rule, .. } => {
                self.expect_status(event, &[Dispatched, InProgress])?;
                let current = self.current_mut(event)?;
                current.return_requests.push(at);
                current.pending_return = Some(PendingReturn {
                    at,
                    reason: reason.clone(),
                    rule: rule.clone(),
                });
                self.status = ReturnRequested;
            }
            TicketEvent::ReturnApproved { .. } => {
                self.expect_status(event, &[ReturnRequested])?;
                self.current_mut(event)?.pending_return = None;
                self.end_current(at, AssignmentEndReason::Returned);
                self.status = PendingDispatch;
            }
            TicketEvent::ReturnRejected { .. } => {
                self.expect_status(event, &[ReturnRequested])?;
                let current = self.current_mut(event)?;
                current.pending_return = None;
                let signed = current.signed_at.is_some();
                self.status = if signed { InProgress } else { Dispatched };
            }
            TicketEvent::ExtensionRequested {
                working_days,
                reason,
                ..
            } => {
                self.expect_status(event, &[InProgress])?;
                let current = self.current_mut(event)?;
                current.extension_requests.push(at);
                current.pending_extension = Some(PendingExtension {
                    at,
                    working_days: *working_days,
                    reason: reason.clone(),
                });
            }
            TicketEvent::ExtensionApproved { reply_by, .. } => {
                let current = self.current_mut(event)?;
                if current.pending_extension.take().is_none() {
                    return Err(self.fail(event, "no extension was pending"));
                }
                current.extensions_approved.push(at);
                current.reply_by = *reply_by;
            }
            TicketEvent::ExtensionRejected { .. } => {
                if self.current_mut(event)?.pending_extension.take().is_none() {
                    return Err(self.fail(event, "no extension was pending"));
                }
            }
            TicketEvent::Urged { .. } => {
                self.current_mut(event)?;
                self.urge_count += 1;
            }
            TicketEvent::Supervised { .. } => {
                self.current_mut(event)?;
                self.supervised = true;
            }
            TicketEvent::Replied { result, claim, .. } => {
                self.expect_status(event, &[InProgress])?;
                let current = self.current_mut(event)?;
                current.pending_extension = None;
                current.reply = Some(Reply {
                    at,
                    result: result.clone(),
                    claim: *claim,
                });
                self.status = Replied;
            }
            TicketEvent::FollowUpRecorded {
                outcome, comment, ..
            } => {
                self.expect_status(event, &[Replied])?;
                let record = FollowUpRecord {
                    at,
                    outcome: *outcome,
                    comment: comment.clone(),
                };
                self.current_mut(event)?.follow_ups.push(record);
            }
            TicketEvent::Reopened {
                unit,
                sign_by,
                reply_by,
            } => {
                self.expect_status(event, &[Replied])?;
                let co_units = self.current_mut(event)?.co_units.clone();
                self.end_current(at, AssignmentEndReason::Reopened);
                self.assignments.push(Assignment::new(
                    unit.clone(),
                    co_units,
                    AssignmentCause::Reopen,
                    at,
                    *sign_by,
                    *reply_by,
                ));
                self.status = Dispatched;
            }
            TicketEvent::Closed { outcome } => {
                self.expect_status(event, &[PendingDispatch, Replied])?;
                self.end_current(at, AssignmentEndReason::Closed);
                self.closure = Some(Closure {
                    at,
                    outcome: *outcome,
                });
                self.status = Closed;
            }
            TicketEvent::MergedInto { target } => {
                if self.status.is_terminal() {
                    return Err(self.fail(event, "a finished ticket cannot be merged"));
                }
                self.end_current(at, AssignmentEndReason::Merged);
                self.merged_into = Some(*target);
                self.status = Merged;
            }
            TicketEvent::Absorbed { source } => {
                if self.status.is_terminal() {
                    return Err(self.fail(event, "a finished ticket cannot take in another"));
                }
                self.absorbed.push(*source);
            }
            TicketEvent::HandedOff { to, .. } => {
                self.expect_status(event, &[PendingDispatch])?;
                self.handed_off_to = Some(*to);
                self.status = HandedOff;
            }
            TicketEvent::NoteAdded {
                unit,
                contacted_citizen,
                ..
            } => {
                if *contacted_citizen
                    && let Some(current) = self.assignments.last_mut().filter(|a| a.ended.is_none())
                    && unit.as_ref() == Some(&current.unit)
                    && current.first_contact_at.is_none()
                {
                    current.first_contact_at = Some(at);
                }
            }
            TicketEvent::ContactRevealed { .. } => {}
            TicketEvent::NumbersSealed { numbers } => {
                self.sealed_numbers += u32::try_from(numbers.len()).unwrap_or(u32::MAX);
            }
        }
        Ok(())
    }
}

impl Assignment {
    fn new(
        unit: crate::ids::UnitId,
        co_units: Vec<crate::ids::UnitId>,
        cause: AssignmentCause,
        at: Timestamp,
        sign_by: Timestamp,
        reply_by: Timestamp,
    ) -> Self {
        Self {
            unit,
            co_units,
            cause,
            started_at: at,
            sign_by,
            reply_by,
            signed_at: None,
            first_contact_at: None,
            return_requests: Vec::new(),
            pending_return: None,
            extension_requests: Vec::new(),
            extensions_approved: Vec::new(),
            pending_extension: None,
            reply: None,
            follow_ups: Vec::new(),
            ended: None,
        }
    }
}
