//! The call measures of GB/T 33358 (政府热线服务规范) and what counts towards them.
//!
//! Each call contributes *marks*: one to its queue's 15-minute interval (the interval it started
//! waiting in), one per agent leg to the agent's interval (the interval the agent answered in),
//! one per ring to the ringing agent's. Longer periods (30 minutes, a day, a month) are sums of
//! 15-minute intervals. The store keeps the sums per interval and adds the difference each batch
//! of events makes to a call's marks; anyone holding the events can recount them
//! ([`CallCounts::of_calls`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Call, CallSummary};
use crate::ids::{AgentId, QueueName};
use crate::time::LogTime;

/// The smallest interval counted: 15 minutes, in milliseconds. Intervals start at whole quarter
/// hours since the Unix epoch, which are whole quarter hours of local time in every zone whose
/// offset is a whole number of quarter hours (China's +08:00).
pub const INTERVAL_MS: i64 = 15 * 60 * 1000;

/// The start of the 15-minute interval `at` falls in, in milliseconds since the epoch.
pub fn interval_of(at: LogTime) -> i64 {
    at.as_millisecond().div_euclid(INTERVAL_MS) * INTERVAL_MS
}

/// The thresholds the measures use (configurable in the policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallPolicy {
    /// Answered within this many seconds of starting to wait counts as on time (GB/T 33358:
    /// 15 s).
    pub answer_within_seconds: u32,
    /// A caller who hangs up within this many seconds of starting to wait is a short abandon,
    /// left out of both the requests and the abandons (a misdial, a caller who pressed the
    /// wrong key).
    pub short_abandon_seconds: u32,
}

impl Default for CallPolicy {
    fn default() -> Self {
        Self {
            answer_within_seconds: 15,
            short_abandon_seconds: 5,
        }
    }
}

/// Defines a struct of `i64` counts with the operations rollups need: add or take away another,
/// zero, the names of the fields (the rollup columns) and their values in that order.
macro_rules! counts {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: i64),+
        }

        impl $name {
            /// The fields' names, which are the rollup table's columns.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];

            /// Adds `other` times `sign` (1 or -1).
            pub fn add(&mut self, other: &Self, sign: i64) {
                $(self.$field += sign * other.$field;)+
            }

            pub fn is_zero(&self) -> bool {
                *self == Self::default()
            }

            /// The values in the order of [`Self::FIELDS`].
            pub fn values(&self) -> Vec<i64> {
                vec![$(self.$field),+]
            }

            /// From values in the order of [`Self::FIELDS`] (missing ones are zero).
            pub fn from_values(values: &[i64]) -> Self {
                let mut it = values.iter().copied();
                Self { $($field: it.next().unwrap_or(0)),+ }
            }
        }
    };
}

counts!(
    /// What a queue's calls add up to in an interval.
    QueueCounts {
        /// Calls that reached the centre (呼入量), asking for a person or not.
        arrived,
        /// Calls that asked for a person (人工服务请求量), short abandons left out.
        requested,
        /// Answered by an agent (接通量).
        answered,
        /// Answered within the policy's threshold (15 s).
        answered_within,
        /// Gave up waiting (放弃量), short abandons left out.
        abandoned,
        /// Gave up within the short-abandon threshold.
        short_abandoned,
        /// Total wait of the answered calls.
        wait_answered_ms,
        /// Total wait of the abandoned calls.
        wait_abandoned_ms,
        /// Calls an agent transferred.
        transferred,
    }
);

counts!(
    /// What an agent's part of calls adds up to in an interval.
    AgentCounts {
        /// Times a call rang at the agent.
        offered,
        /// Rings the agent let pass (another agent answered, or the caller gave up).
        missed,
        /// Legs the agent answered.
        answered,
        /// Legs ended (talk finished).
        handled,
        talk_ms,
        hold_ms,
        /// Legs whose after-call work ended, and its total.
        wrap_ups,
        wrap_up_ms,
    }
);

/// A queue's interval: `queue` is `None` for calls that never asked for a person.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueKey {
    pub interval: i64,
    pub queue: Option<QueueName>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentKey {
    pub interval: i64,
    pub agent: AgentId,
}

/// What one call contributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallMarks {
    pub queue: Option<(QueueKey, QueueCounts)>,
    pub agents: Vec<(AgentKey, AgentCounts)>,
}

impl CallMarks {
    pub fn of(call: &CallSummary, policy: &CallPolicy) -> Self {
        let Some(start) = call.queued_at.or(call.first_at) else {
            return Self::default();
        };
        let mut q = QueueCounts {
            arrived: 1,
            ..Default::default()
        };
        if call.queued_at.is_some() {
            let wait = call.wait_ms();
            let short = call.answered_at.is_none()
                && call.abandoned_at.is_some()
                && wait.is_some_and(|w| w < i64::from(policy.short_abandon_seconds) * 1000);
            if short {
                q.short_abandoned = 1;
            } else {
                q.requested = 1;
                if call.answered_at.is_some() {
                    let wait = wait.unwrap_or(0);
                    q.answered = 1;
                    q.wait_answered_ms = wait;
                    q.answered_within =
                        i64::from(wait <= i64::from(policy.answer_within_seconds) * 1000);
                } else if call.abandoned_at.is_some() {
                    q.abandoned = 1;
                    q.wait_abandoned_ms = wait.unwrap_or(0);
                }
            }
            q.transferred = i64::from(call.transfers > 0);
        }
        let queue = Some((
            QueueKey {
                interval: interval_of(start),
                queue: call.queue.clone(),
            },
            q,
        ));

        let mut agents: Vec<(AgentKey, AgentCounts)> = Vec::new();
        let mut mark = |agent: &AgentId, at: LogTime, counts: AgentCounts| {
            let key = AgentKey {
                interval: interval_of(at),
                agent: agent.clone(),
            };
            match agents.iter_mut().find(|(k, _)| *k == key) {
                Some((_, c)) => c.add(&counts, 1),
                None => agents.push((key, counts)),
            }
        };
        for leg in &call.legs {
            let mut c = AgentCounts {
                answered: 1,
                ..Default::default()
            };
            if let Some(talk) = leg.talk_ms() {
                c.handled = 1;
                c.talk_ms = talk;
                c.hold_ms = leg.hold_ms;
            }
            if let Some(wrap) = leg.wrap_up_ms() {
                c.wrap_ups = 1;
                c.wrap_up_ms = wrap;
            }
            mark(&leg.agent, leg.answered_at, c);
        }
        let settled = call.ended_at.or(call.abandoned_at);
        for (i, (agent, at)) in call.offers.iter().enumerate() {
            let taken = call
                .legs
                .iter()
                .any(|l| &l.agent == agent && l.answered_at >= *at);
            // A ring is missed once the call has moved on without this agent answering it.
            let moved_on = settled.is_some()
                || call.legs.iter().any(|l| l.answered_at >= *at)
                || call.offers[i + 1..].iter().any(|(_, later)| later >= at);
            let c = AgentCounts {
                offered: 1,
                missed: i64::from(!taken && moved_on),
                ..Default::default()
            };
            mark(agent, *at, c);
        }
        Self { queue, agents }
    }
}

/// Sums of marks: per queue interval and per agent interval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub queues: BTreeMap<QueueKey, QueueCounts>,
    pub agents: BTreeMap<AgentKey, AgentCounts>,
}

impl CallCounts {
    /// Adds a call's marks times `sign` (1, or -1 to take them away).
    pub fn add(&mut self, marks: &CallMarks, sign: i64) {
        if let Some((key, counts)) = &marks.queue {
            self.queues
                .entry(key.clone())
                .or_default()
                .add(counts, sign);
        }
        for (key, counts) in &marks.agents {
            self.agents
                .entry(key.clone())
                .or_default()
                .add(counts, sign);
        }
    }

    /// Adds another sum.
    pub fn merge(&mut self, other: CallCounts) {
        for (key, counts) in other.queues {
            self.queues.entry(key).or_default().add(&counts, 1);
        }
        for (key, counts) in other.agents {
            self.agents.entry(key).or_default().add(&counts, 1);
        }
    }

    /// Without the keys whose counts came to zero (a change that undid itself).
    pub fn without_zeros(mut self) -> Self {
        self.queues.retain(|_, c| !c.is_zero());
        self.agents.retain(|_, c| !c.is_zero());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.queues.is_empty() && self.agents.is_empty()
    }

    /// Counted from calls alone.
    pub fn of_calls<'a>(calls: impl IntoIterator<Item = &'a Call>, policy: &CallPolicy) -> Self {
        let mut counts = Self::default();
        for call in calls {
            counts.add(&CallMarks::of(&call.summary(), policy), 1);
        }
        counts
    }
}

/// How a call report divides its period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CallBucket {
    #[serde(rename = "15m")]
    Quarter,
    #[serde(rename = "30m")]
    HalfHour,
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "day")]
    Day,
    /// The whole period as one.
    #[serde(rename = "period")]
    Period,
}

crate::names::names!(CallBucket, "call report bucket" {
    Quarter => "15m",
    HalfHour => "30m",
    Hour => "1h",
    Day => "day",
    Period => "period",
});

impl CallBucket {
    /// Its length in milliseconds for a period of `period_ms` (days are 24 hours: the city's
    /// zone keeps no daylight saving time).
    pub fn millis(self, period_ms: i64) -> i64 {
        match self {
            Self::Quarter => INTERVAL_MS,
            Self::HalfHour => 2 * INTERVAL_MS,
            Self::Hour => 4 * INTERVAL_MS,
            Self::Day => 96 * INTERVAL_MS,
            // Rounded up to whole intervals, so the period is one bucket.
            Self::Period => (period_ms.max(1) + INTERVAL_MS - 1) / INTERVAL_MS * INTERVAL_MS,
        }
    }
}

impl CallCounts {
    /// The counts of intervals in `[from, to)` (ms), summed into buckets of `bucket` ms
    /// starting at `from`; each key's interval becomes its bucket's start. What the store's
    /// summing query does, for counts recounted elsewhere.
    pub fn rebucket(&self, from: i64, to: i64, bucket: i64) -> Self {
        let start = |interval: i64| from + (interval - from).div_euclid(bucket) * bucket;
        let mut out = Self::default();
        for (key, counts) in self.queues.range(..) {
            if key.interval >= from && key.interval < to {
                let key = QueueKey {
                    interval: start(key.interval),
                    queue: key.queue.clone(),
                };
                out.queues.entry(key).or_default().add(counts, 1);
            }
        }
        for (key, counts) in &self.agents {
            if key.interval >= from && key.interval < to {
                let key = AgentKey {
                    interval: start(key.interval),
                    agent: key.agent.clone(),
                };
                out.agents.entry(key).or_default().add(counts, 1);
            }
        }
        out.without_zeros()
    }
}

/// A share, `None` when nothing was counted under it.
fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn average(total: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| total as f64 / count as f64)
}

/// GB/T 33358's measures of a queue (or of the whole centre) over a period.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueMeasures {
    pub arrived: i64,
    pub requested: i64,
    pub answered: i64,
    pub abandoned: i64,
    pub short_abandoned: i64,
    /// 15秒接通率: answered within the threshold ÷ requests.
    pub service_level: Option<f64>,
    /// 接通率: answered ÷ requests (GB/T 33358: ≥ 95 % over 24 hours).
    pub connection_rate: Option<f64>,
    /// 呼损率/放弃率: abandoned ÷ requests.
    pub abandonment_rate: Option<f64>,
    /// Average speed of answer (平均应答时长), seconds.
    pub average_speed_of_answer_seconds: Option<f64>,
    /// Average wait of those who gave up, seconds.
    pub average_abandon_wait_seconds: Option<f64>,
}

impl QueueMeasures {
    pub fn of(c: &QueueCounts) -> Self {
        Self {
            arrived: c.arrived,
            requested: c.requested,
            answered: c.answered,
            abandoned: c.abandoned,
            short_abandoned: c.short_abandoned,
            service_level: share(c.answered_within, c.requested),
            connection_rate: share(c.answered, c.requested),
            abandonment_rate: share(c.abandoned, c.requested),
            average_speed_of_answer_seconds: average(c.wait_answered_ms, c.answered * 1000),
            average_abandon_wait_seconds: average(c.wait_abandoned_ms, c.abandoned * 1000),
        }
    }
}

/// An agent's measures over a period.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentMeasures {
    pub offered: i64,
    pub answered: i64,
    pub missed: i64,
    pub handled: i64,
    /// Average talk (平均通话时长), hold excluded, seconds.
    pub average_talk_seconds: Option<f64>,
    pub average_hold_seconds: Option<f64>,
    /// Average after-call work (平均话后处理时长), seconds.
    pub average_wrap_up_seconds: Option<f64>,
    /// Average handling time (平均处理时长): talk + hold + after-call work, seconds.
    pub average_handling_seconds: Option<f64>,
}

impl AgentMeasures {
    pub fn of(c: &AgentCounts) -> Self {
        let wrap_up = average(c.wrap_up_ms, c.wrap_ups * 1000);
        let talk_and_hold = average(c.talk_ms + c.hold_ms, c.handled * 1000);
        Self {
            offered: c.offered,
            answered: c.answered,
            missed: c.missed,
            handled: c.handled,
            average_talk_seconds: average(c.talk_ms, c.handled * 1000),
            average_hold_seconds: average(c.hold_ms, c.handled * 1000),
            average_wrap_up_seconds: wrap_up,
            average_handling_seconds: talk_and_hold.map(|t| t + wrap_up.unwrap_or(0.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::call::tests::{agent, answered_call, at, call_of, event, queued};
    use super::super::{CallEvent, CallStep};
    use super::*;
    use proptest::prelude::*;

    fn queue_counts(events: Vec<CallEvent>) -> QueueCounts {
        let marks = CallMarks::of(&call_of(events).summary(), &CallPolicy::default());
        marks.queue.unwrap().1
    }

    #[test]
    fn an_answered_call_counts_towards_service_level_and_handling() {
        let marks = CallMarks::of(&call_of(answered_call()).summary(), &CallPolicy::default());
        let (key, q) = marks.queue.clone().unwrap();
        assert_eq!(key.interval, interval_of(at(3)));
        assert_eq!(
            (q.arrived, q.requested, q.answered, q.answered_within),
            (1, 1, 1, 1)
        );
        assert_eq!(q.wait_answered_ms, 12_000);
        let (_, a) = &marks.agents[0];
        assert_eq!((a.offered, a.missed, a.answered, a.handled), (1, 0, 1, 1));
        assert_eq!(
            (a.talk_ms, a.hold_ms, a.wrap_up_ms),
            (165_000, 20_000, 30_000)
        );
        let m = AgentMeasures::of(a);
        assert_eq!(m.average_handling_seconds, Some(215.0));
    }

    #[test]
    fn the_thresholds_decide_on_time_and_short_abandons() {
        let answered_after = |secs| {
            queue_counts(vec![
                queued("q", 0),
                event(
                    "a",
                    secs,
                    CallStep::Answered {
                        agent: agent("op1"),
                    },
                ),
            ])
        };
        assert_eq!(answered_after(15).answered_within, 1, "15 s is within 15 s");
        assert_eq!(answered_after(16).answered_within, 0);

        let gave_up_after =
            |secs| queue_counts(vec![queued("q", 0), event("e", secs, CallStep::Ended)]);
        let short = gave_up_after(4);
        assert_eq!(
            (short.requested, short.abandoned, short.short_abandoned),
            (0, 0, 1)
        );
        let long = gave_up_after(5);
        assert_eq!(
            (long.requested, long.abandoned, long.short_abandoned),
            (1, 1, 0)
        );
        assert_eq!(long.wait_abandoned_ms, 5_000);

        let m = QueueMeasures::of(&{
            let mut sum = QueueCounts::default();
            sum.add(&answered_after(10), 1);
            sum.add(&answered_after(30), 1);
            sum.add(&long, 1);
            sum.add(&short, 1);
            sum
        });
        assert_eq!(m.requested, 3);
        assert_eq!(m.service_level, Some(1.0 / 3.0));
        assert_eq!(m.connection_rate, Some(2.0 / 3.0));
        assert_eq!(m.abandonment_rate, Some(1.0 / 3.0));
        assert_eq!(m.average_speed_of_answer_seconds, Some(20.0));
    }

    #[test]
    fn a_ring_let_pass_is_missed_once_the_call_moves_on() {
        let ringing = vec![
            queued("q", 0),
            event(
                "o1",
                2,
                CallStep::Offered {
                    agent: agent("op1"),
                },
            ),
        ];
        let marks = |events: Vec<CallEvent>| {
            CallMarks::of(&call_of(events).summary(), &CallPolicy::default()).agents
        };
        assert_eq!(marks(ringing.clone())[0].1.missed, 0, "still ringing");
        let mut passed = ringing.clone();
        passed.push(event(
            "o2",
            20,
            CallStep::Offered {
                agent: agent("op2"),
            },
        ));
        passed.push(event(
            "a2",
            22,
            CallStep::Answered {
                agent: agent("op2"),
            },
        ));
        let agents = marks(passed);
        let op1 = agents
            .iter()
            .find(|(k, _)| k.agent == agent("op1"))
            .unwrap();
        assert_eq!((op1.1.offered, op1.1.missed), (1, 1));
        let op2 = agents
            .iter()
            .find(|(k, _)| k.agent == agent("op2"))
            .unwrap();
        assert_eq!((op2.1.offered, op2.1.missed, op2.1.answered), (1, 0, 1));
    }

    #[test]
    fn a_call_that_never_queued_counts_only_as_arrived() {
        let q = queue_counts(vec![
            event("a", 0, CallStep::Arrived { caller: None }),
            event("e", 60, CallStep::Ended),
        ]);
        assert_eq!(
            q,
            QueueCounts {
                arrived: 1,
                ..Default::default()
            }
        );
    }

    fn arbitrary_call() -> impl Strategy<Value = Vec<CallEvent>> {
        // Steps from a pool, at times within five minutes, some repeated.
        let step = prop_oneof![
            Just(CallStep::Arrived { caller: None }),
            Just(CallStep::Queued {
                queue: QueueName::parse("12345").unwrap()
            }),
            Just(CallStep::Offered {
                agent: agent("op1")
            }),
            Just(CallStep::Offered {
                agent: agent("op2")
            }),
            Just(CallStep::Answered {
                agent: agent("op1")
            }),
            Just(CallStep::Answered {
                agent: agent("op2")
            }),
            Just(CallStep::Held),
            Just(CallStep::Resumed),
            Just(CallStep::Transferred {
                to: "expert".into()
            }),
            Just(CallStep::Abandoned),
            Just(CallStep::Ended),
            Just(CallStep::WrapUpEnded {
                agent: agent("op1")
            }),
            Just(CallStep::WrapUpEnded {
                agent: agent("op2")
            }),
        ];
        prop::collection::vec((step, 0i64..300), 1..14).prop_map(|steps| {
            steps
                .into_iter()
                .enumerate()
                .map(|(i, (step, secs))| event(&format!("e{i}"), secs, step))
                .collect()
        })
    }

    proptest! {
        /// The counts a call ends with do not depend on the order its events came in, and adding
        /// the difference each arrival makes (the store's rollups) sums to counting at the end.
        #[test]
        fn counts_do_not_depend_on_arrival_order(events in arbitrary_call(), seed in any::<u64>()) {
            let policy = CallPolicy::default();
            let mut shuffled = events.clone();
            // A cheap deterministic shuffle from the seed.
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                shuffled.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let at_end = CallCounts::of_calls([&call_of(events)], &policy).without_zeros();

            let mut call = call_of([]);
            let mut running = CallCounts::default();
            for e in shuffled.iter().chain(shuffled.iter()) {
                let before = CallMarks::of(&call.summary(), &policy);
                if call.add(e.clone()) {
                    running.add(&before, -1);
                    running.add(&CallMarks::of(&call.summary(), &policy), 1);
                }
            }
            prop_assert_eq!(running.without_zeros(), at_end);
        }
    }
}
