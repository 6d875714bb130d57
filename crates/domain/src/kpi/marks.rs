//! What a ticket's state contributes to the KPI counts, mark by mark: each counted milestone with
//! its time and whom it counts for. `from_tickets` adds up the marks inside a period; the store's
//! per unit × day rollups add up the difference a command makes to a ticket's marks, in the same
//! transaction as the command's events.

use jiff::Timestamp;

use super::{KpiCounts, UnitCounts};
use crate::ids::{CategoryCode, UnitId};
use crate::ticket::{
    AssignmentCause, AssignmentEndReason, Channel, ClosureOutcome, FollowUpOutcome, ReplyClaim,
    Satisfaction, Ticket,
};

/// One of a unit's counts ([`UnitCounts`]), named as the rollup column that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnitMeasure {
    Dispatched,
    Reopened,
    Signed,
    SignedOnTime,
    Replied,
    RepliedOnTime,
    FollowUpsReached,
    FollowUpsUnreached,
    Contacted,
    Solved,
    Satisfied,
    ClaimedSolved,
    ReturnRequests,
    ReturnsApproved,
    ExtensionsApproved,
}

impl UnitMeasure {
    pub const ALL: [UnitMeasure; 15] = [
        Self::Dispatched,
        Self::Reopened,
        Self::Signed,
        Self::SignedOnTime,
        Self::Replied,
        Self::RepliedOnTime,
        Self::FollowUpsReached,
        Self::FollowUpsUnreached,
        Self::Contacted,
        Self::Solved,
        Self::Satisfied,
        Self::ClaimedSolved,
        Self::ReturnRequests,
        Self::ReturnsApproved,
        Self::ExtensionsApproved,
    ];

    /// The field's name in [`UnitCounts`] and the rollup column's.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dispatched => "dispatched",
            Self::Reopened => "reopened",
            Self::Signed => "signed",
            Self::SignedOnTime => "signed_on_time",
            Self::Replied => "replied",
            Self::RepliedOnTime => "replied_on_time",
            Self::FollowUpsReached => "follow_ups_reached",
            Self::FollowUpsUnreached => "follow_ups_unreached",
            Self::Contacted => "contacted",
            Self::Solved => "solved",
            Self::Satisfied => "satisfied",
            Self::ClaimedSolved => "claimed_solved",
            Self::ReturnRequests => "return_requests",
            Self::ReturnsApproved => "returns_approved",
            Self::ExtensionsApproved => "extensions_approved",
        }
    }

    /// Its position in [`UnitMeasure::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl UnitCounts {
    pub fn get_mut(&mut self, measure: UnitMeasure) -> &mut u64 {
        match measure {
            UnitMeasure::Dispatched => &mut self.dispatched,
            UnitMeasure::Reopened => &mut self.reopened,
            UnitMeasure::Signed => &mut self.signed,
            UnitMeasure::SignedOnTime => &mut self.signed_on_time,
            UnitMeasure::Replied => &mut self.replied,
            UnitMeasure::RepliedOnTime => &mut self.replied_on_time,
            UnitMeasure::FollowUpsReached => &mut self.follow_ups_reached,
            UnitMeasure::FollowUpsUnreached => &mut self.follow_ups_unreached,
            UnitMeasure::Contacted => &mut self.contacted,
            UnitMeasure::Solved => &mut self.solved,
            UnitMeasure::Satisfied => &mut self.satisfied,
            UnitMeasure::ClaimedSolved => &mut self.claimed_solved,
            UnitMeasure::ReturnRequests => &mut self.return_requests,
            UnitMeasure::ReturnsApproved => &mut self.returns_approved,
            UnitMeasure::ExtensionsApproved => &mut self.extensions_approved,
        }
    }
}

/// One counted milestone of a ticket.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// Counts for the lead unit (主办) of an assignment.
    Unit {
        at: Timestamp,
        unit: UnitId,
        measure: UnitMeasure,
    },
    /// The request came in, on this channel, under this top-level category.
    Received {
        at: Timestamp,
        channel: Channel,
        category: CategoryCode,
    },
    /// 直办: answered on the call.
    AnsweredOnCall {
        at: Timestamp,
        channel: Channel,
        category: CategoryCode,
    },
}

impl Mark {
    pub fn at(&self) -> Timestamp {
        match self {
            Mark::Unit { at, .. } | Mark::Received { at, .. } | Mark::AnsweredOnCall { at, .. } => {
                *at
            }
        }
    }
}

/// Every counted milestone of a ticket as it stands.
pub fn marks(ticket: &Ticket) -> Vec<Mark> {
    let mut marks = Vec::new();
    let (channel, category) = (ticket.request.channel, ticket.request.category.top());
    marks.push(Mark::Received {
        at: ticket.received_at,
        channel,
        category: category.clone(),
    });
    if let Some(closure) = ticket.closure
        && closure.outcome == ClosureOutcome::AnsweredOnCall
    {
        marks.push(Mark::AnsweredOnCall {
            at: closure.at,
            channel,
            category,
        });
    }
    for a in &ticket.assignments {
        let mut mark = |at: Timestamp, measure: UnitMeasure| {
            marks.push(Mark::Unit {
                at,
                unit: a.unit.clone(),
                measure,
            })
        };
        match a.cause {
            AssignmentCause::Dispatch | AssignmentCause::Redispatch => {
                mark(a.started_at, UnitMeasure::Dispatched)
            }
            AssignmentCause::Reopen => mark(a.started_at, UnitMeasure::Reopened),
        }
        if let Some(signed) = a.signed_at {
            mark(signed, UnitMeasure::Signed);
            if signed <= a.sign_by {
                mark(signed, UnitMeasure::SignedOnTime);
            }
        }
        if let Some(reply) = &a.reply {
            mark(reply.at, UnitMeasure::Replied);
            if reply.at <= a.reply_by {
                mark(reply.at, UnitMeasure::RepliedOnTime);
            }
        }
        let claimed_solved = a.reply.as_ref().map(|r| r.claim) == Some(ReplyClaim::Solved);
        for f in &a.follow_ups {
            match f.outcome {
                FollowUpOutcome::NotReached => mark(f.at, UnitMeasure::FollowUpsUnreached),
                FollowUpOutcome::Reached {
                    unit_contacted,
                    solved,
                    satisfaction,
                } => {
                    mark(f.at, UnitMeasure::FollowUpsReached);
                    if unit_contacted {
                        mark(f.at, UnitMeasure::Contacted);
                    }
                    if solved {
                        mark(f.at, UnitMeasure::Solved);
                    }
                    if satisfaction != Satisfaction::Dissatisfied {
                        mark(f.at, UnitMeasure::Satisfied);
                    }
                    if claimed_solved {
                        mark(f.at, UnitMeasure::ClaimedSolved);
                    }
                }
            }
        }
        for at in &a.return_requests {
            mark(*at, UnitMeasure::ReturnRequests);
        }
        for at in &a.extensions_approved {
            mark(*at, UnitMeasure::ExtensionsApproved);
        }
        if let Some(end) = a.ended
            && end.reason == AssignmentEndReason::Returned
        {
            mark(end.at, UnitMeasure::ReturnsApproved);
        }
    }
    marks
}

impl KpiCounts {
    /// Adds `n` of what `mark` counts (its time is the caller's business).
    pub fn add(&mut self, mark: &Mark, n: u64) {
        match mark {
            Mark::Unit { unit, measure, .. } => *self.unit(unit).get_mut(*measure) += n,
            Mark::Received {
                channel, category, ..
            } => {
                let h = &mut self.hotline;
                h.received += n;
                *h.by_channel.entry(*channel).or_default() += n;
                *h.by_category.entry(category.clone()).or_default() += n;
            }
            Mark::AnsweredOnCall { .. } => self.hotline.answered_on_call += n,
        }
    }
}
