//! A call as the set of its events, and what they add up to.

use serde::{Deserialize, Serialize};

use super::{CallEvent, CallStep};
use crate::ids::{AgentId, CallId, CallSource, ContactId, QueueName};
use crate::time::LogTime;

/// A call (来电): every event its source reported, each once, sorted by time. What the call is —
/// when it queued, who answered, how long it talked — is computed from the whole set
/// ([`Call::summary`]), so events arriving in any order give the same call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub source: CallSource,
    pub id: CallId,
    /// Sorted by time, then by the order steps happen in at one instant, then by event id.
    events: Vec<CallEvent>,
}

/// The order of steps that carry the same time: a call arrives before it queues, rings before
/// it is answered, ends before the after-call work ends.
fn rank(step: &CallStep) -> u8 {
    step.kind() as u8
}

fn order_key(event: &CallEvent) -> (LogTime, u8, &str) {
    (event.at, rank(&event.step), event.id.as_str())
}

impl Call {
    pub fn new(source: CallSource, id: CallId) -> Self {
        Self {
            source,
            id,
            events: Vec::new(),
        }
    }

    /// Adds an event in its place; false (and nothing changes) when the call already has an
    /// event with that id.
    pub fn add(&mut self, event: CallEvent) -> bool {
        if self.events.iter().any(|e| e.id == event.id) {
            return false;
        }
        let at = self
            .events
            .partition_point(|e| order_key(e) < order_key(&event));
        self.events.insert(at, event);
        true
    }

    pub fn events(&self) -> &[CallEvent] {
        &self.events
    }

    pub fn summary(&self) -> CallSummary {
        let mut s = CallSummary::default();
        // The leg being talked on, and when its current hold began.
        let mut open: Option<usize> = None;
        let mut held_since: Option<LogTime> = None;
        let close = |s: &mut CallSummary,
                     open: &mut Option<usize>,
                     held_since: &mut Option<LogTime>,
                     at: LogTime| {
            if let Some(i) = open.take() {
                let leg = &mut s.legs[i];
                if let Some(since) = held_since.take() {
                    leg.hold_ms += at.as_millisecond() - since.as_millisecond();
                }
                leg.ended_at = Some(at);
            }
        };
        for event in &self.events {
            let at = event.at;
            s.first_at.get_or_insert(at);
            match &event.step {
                CallStep::Arrived { caller } => {
                    s.arrived_at.get_or_insert(at);
                    if s.caller.is_none() {
                        s.caller = *caller;
                    }
                }
                CallStep::Queued { queue } => {
                    if s.queued_at.is_none() {
                        s.queued_at = Some(at);
                        s.queue = Some(queue.clone());
                    }
                }
                CallStep::Offered { agent } => s.offers.push((agent.clone(), at)),
                CallStep::Answered { agent } => {
                    close(&mut s, &mut open, &mut held_since, at);
                    s.answered_at.get_or_insert(at);
                    s.legs.push(Leg {
                        agent: agent.clone(),
                        answered_at: at,
                        ended_at: None,
                        hold_ms: 0,
                        wrap_up_ended_at: None,
                    });
                    open = Some(s.legs.len() - 1);
                }
                CallStep::Held => {
                    if open.is_some() && held_since.is_none() {
                        held_since = Some(at);
                    }
                }
                CallStep::Resumed => {
                    if let (Some(i), Some(since)) = (open, held_since.take()) {
                        s.legs[i].hold_ms += at.as_millisecond() - since.as_millisecond();
                    }
                }
                CallStep::Transferred { .. } => {
                    s.transfers += 1;
                    close(&mut s, &mut open, &mut held_since, at);
                }
                CallStep::Abandoned => {
                    if s.answered_at.is_none() {
                        s.abandoned_at.get_or_insert(at);
                    }
                }
                CallStep::Ended => {
                    s.ended_at = Some(at);
                    close(&mut s, &mut open, &mut held_since, at);
                }
                CallStep::WrapUpEnded { agent } => {
                    // The agent's latest finished leg still without its after-call work.
                    if let Some(leg) = s.legs.iter_mut().rev().find(|l| {
                        &l.agent == agent
                            && l.wrap_up_ended_at.is_none()
                            && l.ended_at.is_some_and(|end| end <= at)
                    }) {
                        leg.wrap_up_ended_at = Some(at);
                    }
                }
                CallStep::Recorded { reference } => s.recording = Some(reference.clone()),
                CallStep::Disposition { code } => s.disposition = Some(code.clone()),
            }
        }
        // A caller who hung up while waiting abandoned, whether or not the ACD said so.
        if s.answered_at.is_none() && s.queued_at.is_some() && s.abandoned_at.is_none() {
            s.abandoned_at = s.ended_at;
        }
        s
    }
}

/// What a call's events add up to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallSummary {
    /// The earliest event's time.
    pub first_at: Option<LogTime>,
    pub arrived_at: Option<LogTime>,
    pub caller: Option<ContactId>,
    /// When it first asked for a person, and in which queue.
    pub queued_at: Option<LogTime>,
    pub queue: Option<QueueName>,
    /// Every time it rang at an agent.
    pub offers: Vec<(AgentId, LogTime)>,
    /// The first answer.
    pub answered_at: Option<LogTime>,
    /// Each stretch one agent talked (a transfer starts another).
    pub legs: Vec<Leg>,
    pub transfers: u32,
    /// When the caller gave up waiting (only for a call never answered).
    pub abandoned_at: Option<LogTime>,
    pub ended_at: Option<LogTime>,
    pub recording: Option<String>,
    pub disposition: Option<String>,
}

/// One agent's part of a call: from answering to the end or a transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leg {
    pub agent: AgentId,
    pub answered_at: LogTime,
    pub ended_at: Option<LogTime>,
    pub hold_ms: i64,
    pub wrap_up_ended_at: Option<LogTime>,
}

impl Leg {
    /// Talking time, hold excluded; once the leg has ended.
    pub fn talk_ms(&self) -> Option<i64> {
        self.ended_at
            .map(|end| end.as_millisecond() - self.answered_at.as_millisecond() - self.hold_ms)
    }

    /// After-call work (话后处理), once it has ended.
    pub fn wrap_up_ms(&self) -> Option<i64> {
        match (self.ended_at, self.wrap_up_ended_at) {
            (Some(end), Some(done)) => Some(done.as_millisecond() - end.as_millisecond()),
            _ => None,
        }
    }
}

/// Where a call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// In the IVR: not yet asking for a person (or never did, and still on the line).
    Ivr,
    /// Waiting in a queue for a person.
    Waiting,
    /// An agent is talking on it.
    Talking,
    /// Ended or given up.
    Over,
}

crate::names::names!(CallStatus, "call status" {
    Ivr => "ivr",
    Waiting => "waiting",
    Talking => "talking",
    Over => "over",
});

impl CallSummary {
    pub fn status(&self) -> CallStatus {
        if self.waiting() {
            CallStatus::Waiting
        } else if self.ended_at.is_some() || self.abandoned_at.is_some() {
            CallStatus::Over
        } else if self.talking_agent().is_some() {
            CallStatus::Talking
        } else {
            CallStatus::Ivr
        }
    }

    /// Waiting for a person right now: queued, not answered, not over.
    pub fn waiting(&self) -> bool {
        self.queued_at.is_some()
            && self.answered_at.is_none()
            && self.abandoned_at.is_none()
            && self.ended_at.is_none()
    }

    /// The agent talking on it now, if any.
    pub fn talking_agent(&self) -> Option<&AgentId> {
        self.legs
            .last()
            .filter(|l| l.ended_at.is_none())
            .map(|l| &l.agent)
    }

    /// How long it waited before it was answered or given up, once either happened.
    pub fn wait_ms(&self) -> Option<i64> {
        let queued = self.queued_at?;
        let settled = self.answered_at.or(self.abandoned_at)?;
        Some((settled.as_millisecond() - queued.as_millisecond()).max(0))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ids::CallEventId;

    pub(crate) fn at(seconds: i64) -> LogTime {
        // 2026-12-01T00:00:00Z plus seconds.
        LogTime::from_millisecond(1_796_083_200_000 + seconds * 1000).unwrap()
    }

    pub(crate) fn event(id: &str, seconds: i64, step: CallStep) -> CallEvent {
        CallEvent {
            id: CallEventId::parse(id).unwrap(),
            call: CallId::parse("c1").unwrap(),
            at: at(seconds),
            step,
        }
    }

    pub(crate) fn queued(id: &str, seconds: i64) -> CallEvent {
        event(
            id,
            seconds,
            CallStep::Queued {
                queue: QueueName::parse("12345").unwrap(),
            },
        )
    }

    pub(crate) fn agent(name: &str) -> AgentId {
        AgentId::parse(name).unwrap()
    }

    /// A call answered after 12 s, held 20 s, talked until 200 s, 30 s of after-call work.
    pub(crate) fn answered_call() -> Vec<CallEvent> {
        vec![
            event(
                "a",
                0,
                CallStep::Arrived {
                    caller: Some(ContactId(9)),
                },
            ),
            queued("q", 3),
            event(
                "o",
                10,
                CallStep::Offered {
                    agent: agent("op1"),
                },
            ),
            event(
                "ans",
                15,
                CallStep::Answered {
                    agent: agent("op1"),
                },
            ),
            event("h", 50, CallStep::Held),
            event("r", 70, CallStep::Resumed),
            event("end", 200, CallStep::Ended),
            event(
                "w",
                230,
                CallStep::WrapUpEnded {
                    agent: agent("op1"),
                },
            ),
            event(
                "rec",
                200,
                CallStep::Recorded {
                    reference: "rec/2026/12/01/c1.wav".into(),
                },
            ),
        ]
    }

    pub(crate) fn call_of(events: impl IntoIterator<Item = CallEvent>) -> Call {
        let mut call = Call::new(
            CallSource::parse("pbx").unwrap(),
            CallId::parse("c1").unwrap(),
        );
        for e in events {
            call.add(e);
        }
        call
    }

    #[test]
    fn an_answered_call_adds_up() {
        let s = call_of(answered_call()).summary();
        assert_eq!(s.caller, Some(ContactId(9)));
        assert_eq!(s.wait_ms(), Some(12_000));
        assert_eq!(s.legs.len(), 1);
        let leg = &s.legs[0];
        assert_eq!(leg.hold_ms, 20_000);
        assert_eq!(leg.talk_ms(), Some(165_000));
        assert_eq!(leg.wrap_up_ms(), Some(30_000));
        assert_eq!(s.abandoned_at, None);
        assert_eq!(s.recording.as_deref(), Some("rec/2026/12/01/c1.wav"));
        assert!(!s.waiting());
    }

    #[test]
    fn any_order_and_repeats_give_the_same_call() {
        let events = answered_call();
        let forward = call_of(events.clone());
        let mut reversed = events.clone();
        reversed.reverse();
        let mut twice = events.clone();
        twice.extend(events.iter().rev().cloned());
        assert_eq!(call_of(reversed), forward);
        assert_eq!(call_of(twice), forward);
        // A repeat is refused by id, even with other contents.
        let mut call = forward.clone();
        assert!(!call.add(event("ans", 99, CallStep::Ended)));
        assert_eq!(call, forward);
    }

    #[test]
    fn a_caller_who_hangs_up_in_the_queue_abandoned() {
        let s = call_of([
            queued("q", 0),
            event(
                "o",
                5,
                CallStep::Offered {
                    agent: agent("op1"),
                },
            ),
            event("end", 40, CallStep::Ended),
        ])
        .summary();
        assert_eq!(s.abandoned_at, Some(at(40)));
        assert_eq!(s.wait_ms(), Some(40_000));
        assert!(s.legs.is_empty());
    }

    #[test]
    fn a_transfer_starts_another_agents_leg() {
        let s = call_of([
            queued("q", 0),
            event(
                "a1",
                5,
                CallStep::Answered {
                    agent: agent("op1"),
                },
            ),
            event("h", 30, CallStep::Held),
            event(
                "t",
                60,
                CallStep::Transferred {
                    to: "expert".into(),
                },
            ),
            event(
                "a2",
                80,
                CallStep::Answered {
                    agent: agent("op2"),
                },
            ),
            event("end", 200, CallStep::Ended),
            event(
                "w1",
                90,
                CallStep::WrapUpEnded {
                    agent: agent("op1"),
                },
            ),
        ])
        .summary();
        assert_eq!(s.transfers, 1);
        assert_eq!(s.legs.len(), 2);
        assert_eq!(s.legs[0].hold_ms, 30_000, "a hold ends with the leg");
        assert_eq!(s.legs[0].talk_ms(), Some(25_000));
        assert_eq!(s.legs[0].wrap_up_ms(), Some(30_000));
        assert_eq!(s.legs[1].talk_ms(), Some(120_000));
        assert_eq!(s.wait_ms(), Some(5_000), "the first answer ends the wait");
    }
}
