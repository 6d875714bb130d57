//! KPI counts by streaming the log, keeping only what each ticket's later events need.

use std::collections::HashMap;

use jiff::Timestamp;

use super::{KpiCounts, Period};
use crate::ids::TicketNo;
use crate::ticket::{FollowUpOutcome, ReplyClaim, Satisfaction, TicketEvent};

/// Counts a period from the events of the whole log, in log order. Events before the period still
/// matter: they set the deadlines that events inside it are measured against.
pub fn from_events<'a>(
    period: Period,
    events: impl IntoIterator<Item = (TicketNo, Timestamp, &'a TicketEvent)>,
) -> KpiCounts {
    let mut counter = EventCounter::new(period);
    for (no, at, event) in events {
        counter.push(no, at, event);
    }
    counter.finish()
}

#[derive(Default)]
struct Open {
    sign_by: Option<Timestamp>,
    reply_by: Option<Timestamp>,
    claim: Option<ReplyClaim>,
}

pub struct EventCounter {
    period: Period,
    open: HashMap<TicketNo, Open>,
    counts: KpiCounts,
}

impl EventCounter {
    pub fn new(period: Period) -> Self {
        Self {
            period,
            open: HashMap::new(),
            counts: KpiCounts::default(),
        }
    }

    pub fn push(&mut self, no: TicketNo, at: Timestamp, event: &TicketEvent) {
        let inside = self.period.contains(at);
        let state = self.open.entry(no).or_default();
        let counts = &mut self.counts;
        match event {
            TicketEvent::Received { request, .. } if inside => {
                counts.hotline.received += 1;
                *counts
                    .hotline
                    .by_channel
                    .entry(request.channel)
                    .or_default() += 1;
                *counts
                    .hotline
                    .by_category
                    .entry(request.category.top())
                    .or_default() += 1;
            }
            TicketEvent::AnsweredOnCall { .. } if inside => counts.hotline.answered_on_call += 1,
            TicketEvent::Dispatched {
                lead,
                sign_by,
                reply_by,
                ..
            } => {
                *state = Open {
                    sign_by: Some(*sign_by),
                    reply_by: Some(*reply_by),
                    claim: None,
                };
                if inside {
                    counts.unit(lead).dispatched += 1;
                }
            }
            TicketEvent::Reopened {
                unit,
                sign_by,
                reply_by,
            } => {
                *state = Open {
                    sign_by: Some(*sign_by),
                    reply_by: Some(*reply_by),
                    claim: None,
                };
                if inside {
                    counts.unit(unit).reopened += 1;
                }
            }
            TicketEvent::Signed { unit } if inside => {
                let c = counts.unit(unit);
                c.signed += 1;
                c.signed_on_time += u64::from(state.sign_by.is_some_and(|d| at <= d));
            }
            TicketEvent::ReturnRequested { unit, .. } if inside => {
                counts.unit(unit).return_requests += 1
            }
            TicketEvent::ReturnApproved { unit, .. } => {
                if inside {
                    counts.unit(unit).returns_approved += 1;
                }
                *state = Open::default();
            }
            TicketEvent::ExtensionApproved { unit, reply_by, .. } => {
                state.reply_by = Some(*reply_by);
                if inside {
                    counts.unit(unit).extensions_approved += 1;
                }
            }
            TicketEvent::Replied { unit, claim, .. } => {
                state.claim = Some(*claim);
                if inside {
                    let c = counts.unit(unit);
                    c.replied += 1;
                    c.replied_on_time += u64::from(state.reply_by.is_some_and(|d| at <= d));
                }
            }
            TicketEvent::FollowUpRecorded { unit, outcome, .. } if inside => {
                let c = counts.unit(unit);
                match outcome {
                    FollowUpOutcome::NotReached => c.follow_ups_unreached += 1,
                    FollowUpOutcome::Reached {
                        unit_contacted,
                        solved,
                        satisfaction,
                    } => {
                        c.follow_ups_reached += 1;
                        c.contacted += u64::from(*unit_contacted);
                        c.solved += u64::from(*solved);
                        c.satisfied += u64::from(*satisfaction != Satisfaction::Dissatisfied);
                        c.claimed_solved += u64::from(state.claim == Some(ReplyClaim::Solved));
                    }
                }
            }
            TicketEvent::Closed { .. }
            | TicketEvent::MergedInto { .. }
            | TicketEvent::HandedOff { .. } => {
                self.open.remove(&no);
            }
            _ => {}
        }
    }

    pub fn finish(self) -> KpiCounts {
        self.counts
    }
}
