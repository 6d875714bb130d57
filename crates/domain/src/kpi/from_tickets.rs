//! KPI counts from ticket states: each assignment keeps the times of its milestones.

use super::{KpiCounts, Period};
use crate::ticket::{
    AssignmentCause, AssignmentEndReason, ClosureOutcome, FollowUpOutcome, ReplyClaim,
    Satisfaction, Ticket,
};

pub fn from_tickets<'a>(
    period: Period,
    tickets: impl IntoIterator<Item = &'a Ticket>,
) -> KpiCounts {
    let mut counts = KpiCounts::default();
    // A ticket last changed before the period or received after it has nothing in it; skipping
    // it early matters when one read serves several periods.
    for ticket in tickets
        .into_iter()
        .filter(|t| t.updated_at >= period.start && t.received_at < period.end)
    {
        count_ticket(&mut counts, period, ticket);
    }
    counts
}

fn count_ticket(counts: &mut KpiCounts, period: Period, ticket: &Ticket) {
    let inside = |t| period.contains(t);
    if inside(ticket.received_at) {
        counts.hotline.received += 1;
        *counts
            .hotline
            .by_channel
            .entry(ticket.request.channel)
            .or_default() += 1;
        *counts
            .hotline
            .by_category
            .entry(ticket.request.category.top())
            .or_default() += 1;
    }
    if let Some(closure) = ticket.closure
        && closure.outcome == ClosureOutcome::AnsweredOnCall
        && inside(closure.at)
    {
        counts.hotline.answered_on_call += 1;
    }
    for a in &ticket.assignments {
        let c = counts.unit(&a.unit);
        if inside(a.started_at) {
            match a.cause {
                AssignmentCause::Dispatch | AssignmentCause::Redispatch => c.dispatched += 1,
                AssignmentCause::Reopen => c.reopened += 1,
            }
        }
        if let Some(signed) = a.signed_at.filter(|t| inside(*t)) {
            c.signed += 1;
            c.signed_on_time += u64::from(signed <= a.sign_by);
        }
        if let Some(reply) = a.reply.as_ref().filter(|r| inside(r.at)) {
            c.replied += 1;
            c.replied_on_time += u64::from(reply.at <= a.reply_by);
        }
        for f in a.follow_ups.iter().filter(|f| inside(f.at)) {
            match f.outcome {
                FollowUpOutcome::NotReached => c.follow_ups_unreached += 1,
                FollowUpOutcome::Reached {
                    unit_contacted,
                    solved,
                    satisfaction,
                } => {
                    c.follow_ups_reached += 1;
                    c.contacted += u64::from(unit_contacted);
                    c.solved += u64::from(solved);
                    c.satisfied += u64::from(satisfaction != Satisfaction::Dissatisfied);
                    c.claimed_solved +=
                        u64::from(a.reply.as_ref().map(|r| r.claim) == Some(ReplyClaim::Solved));
                }
            }
        }
        c.return_requests += a.return_requests.iter().filter(|t| inside(**t)).count() as u64;
        c.extensions_approved +=
            a.extensions_approved.iter().filter(|t| inside(**t)).count() as u64;
        if a.ended
            .is_some_and(|e| e.reason == AssignmentEndReason::Returned && inside(e.at))
        {
            c.returns_approved += 1;
        }
        // Units with nothing in the period are not listed.
        if *c == Default::default() {
            counts.units.remove(&a.unit);
        }
    }
}
