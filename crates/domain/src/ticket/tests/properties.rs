//! Any sequence of commands, allowed or not, keeps the invariants; the log verifies; rebuilding
//! from the log gives the same tickets; KPIs from the log equal KPIs from the tickets.

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::fixture::*;
use crate::ids::ContactId;
use crate::kpi::{Period, from_events, from_tickets};
use crate::ticket::{
    AssignmentCause, FollowUpOutcome, ReplyClaim, Satisfaction, Status, Ticket, TicketAction,
};

#[derive(Clone, Debug)]
enum Step {
    Receive {
        confidential: bool,
    },
    /// `actor: None` picks the natural actor for the action; `Some(i)` a random one.
    Act {
        ticket: usize,
        actor: Option<usize>,
        action: u8,
        flag: bool,
        n: u32,
    },
    /// The natural next step for the ticket's state, so lifecycles get long.
    Progress {
        ticket: usize,
        choice: u32,
    },
    /// Moves the clock on by hours and a fraction of a second, so that it reads sub-millisecond
    /// parts as a real clock does; the log keeps milliseconds and a rebuild must still agree.
    Advance {
        hours: i64,
        nanos: i64,
    },
}

/// The action (and who takes it) that moves a ticket on, varied by `choice`.
fn natural_next(t: &Ticket, choice: u32) -> Option<(crate::org::Actor, TicketAction)> {
    let lead = t.lead_unit().map(|u| u.to_string()).unwrap_or_default();
    let c = choice % 20;
    let flag = !choice.is_multiple_of(3);
    let pending_extension = t.current().is_some_and(|a| a.pending_extension.is_some());
    Some(match t.status {
        Status::PendingDispatch if c == 0 => (operator(), action(0, flag, choice, t.no)),
        _ if pending_extension && c < 15 => (dispatcher(), action(6, flag, choice, t.no)),
        Status::PendingDispatch => (dispatcher(), action(1, c.is_multiple_of(2), choice, t.no)),
        Status::Dispatched if c < 2 => (handler(&lead), action(3, flag, choice, t.no)),
        Status::Dispatched => (handler(&lead), TicketAction::Sign),
        Status::InProgress if c < 3 => (handler(&lead), action(5, flag, 1 + choice % 10, t.no)),
        Status::InProgress if c < 5 => (handler(&lead), action(13, flag, choice, t.no)),
        Status::InProgress if c < 6 => (handler(&lead), action(3, flag, choice, t.no)),
        Status::InProgress => (handler(&lead), action(9, flag, choice, t.no)),
        Status::ReturnRequested => (dispatcher(), action(4, flag, choice, t.no)),
        Status::Replied => (
            follow_up_agent(),
            action(10, !choice.is_multiple_of(5), choice / 7, t.no),
        ),
        _ => return None,
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => any::<bool>().prop_map(|confidential| Step::Receive { confidential }),
        8 => (0usize..6, prop::option::weighted(0.2, 0usize..6), 0u8..15, any::<bool>(), 0u32..12)
            .prop_map(|(ticket, actor, action, flag, n)| Step::Act { ticket, actor, action, flag, n }),
        12 => (0usize..8, any::<u32>()).prop_map(|(ticket, choice)| Step::Progress { ticket, choice }),
        2 => (1i64..96, 0i64..1_000_000_000).prop_map(|(hours, nanos)| Step::Advance { hours, nanos }),
    ]
}

fn action(kind: u8, flag: bool, n: u32, other: crate::ids::TicketNo) -> TicketAction {
    let unit = if flag { "roads" } else { "water" };
    let satisfaction = [
        Satisfaction::Satisfied,
        Satisfaction::BasicallySatisfied,
        Satisfaction::Dissatisfied,
    ][n as usize % 3];
    match kind {
        0 => TicketAction::AnswerOnCall {
            answer: "已解答".into(),
        },
        1 => TicketAction::Dispatch {
            lead: unit_id(unit),
            co_units: if n.is_multiple_of(2) {
                vec![]
            } else {
                vec![unit_id("d1")]
            },
            note: String::new(),
        },
        2 => TicketAction::Sign,
        3 => TicketAction::RequestReturn {
            reason: "不属本单位".into(),
            rule: "三定".into(),
        },
        4 => TicketAction::DecideReturn {
            approve: flag,
            note: "理由".into(),
        },
        5 => TicketAction::RequestExtension {
            working_days: n,
            reason: "协调".into(),
        },
        6 => TicketAction::DecideExtension {
            approve: flag,
            note: "理由".into(),
        },
        7 => TicketAction::Urge {
            note: String::new(),
        },
        8 => TicketAction::Supervise {
            note: "督办".into(),
        },
        9 => TicketAction::Reply {
            result: "已处理".into(),
            claim: if flag {
                ReplyClaim::Solved
            } else {
                ReplyClaim::Explained
            },
        },
        10 | 11 => TicketAction::RecordFollowUp {
            outcome: if n.is_multiple_of(4) {
                FollowUpOutcome::NotReached
            } else {
                FollowUpOutcome::Reached {
                    unit_contacted: !n.is_multiple_of(3),
                    solved: flag,
                    satisfaction,
                }
            },
            comment: String::new(),
        },
        12 => TicketAction::Merge { into: other },
        13 => TicketAction::AddNote {
            text: "已联系".into(),
            contacted_citizen: flag,
        },
        _ => TicketAction::RevealContact {
            purpose: crate::permission::RevealPurpose::ClarifyRequest,
            reason: "核实诉求内容".into(),
        },
    }
}

fn check_invariants(t: &Ticket, rules: &crate::policy::Rules) {
    let current = t.current();
    assert_eq!(t.status == Status::Closed, t.closure.is_some(), "{t:?}");
    assert_eq!(t.status == Status::Merged, t.merged_into.is_some());
    assert_eq!(t.status == Status::HandedOff, t.handed_off_to.is_some());
    let with_unit = matches!(
        t.status,
        Status::Dispatched | Status::InProgress | Status::ReturnRequested | Status::Replied
    );
    assert_eq!(
        with_unit,
        current.is_some(),
        "{:?} with current {:?}",
        t.status,
        current.map(|a| &a.unit)
    );
    if let Some(a) = current {
        assert_eq!(
            t.status == Status::ReturnRequested,
            a.pending_return.is_some()
        );
        if t.status == Status::Dispatched {
            assert!(a.signed_at.is_none());
        }
        if matches!(t.status, Status::InProgress | Status::Replied) {
            assert!(a.signed_at.is_some());
        }
        assert_eq!(t.status == Status::Replied, a.reply.is_some());
        assert!(a.extensions_approved.len() as u32 <= rules.policy.extension.max_per_assignment);
    }
    let n = t.assignments.len();
    for (i, a) in t.assignments.iter().enumerate() {
        assert!(
            i + 1 == n || a.ended.is_some(),
            "only the last assignment may be open"
        );
        assert!(
            a.sign_by >= a.started_at && a.reply_by >= a.started_at,
            "deadlines lie after the start"
        );
        if let Some(end) = a.ended {
            assert!(end.at >= a.started_at);
        }
        if i > 0 {
            assert!(a.started_at >= t.assignments[i - 1].started_at);
        }
        if a.cause == AssignmentCause::Reopen {
            assert_eq!(
                a.unit,
                t.assignments[i - 1].unit,
                "a reopen goes back to the same unit"
            );
        }
    }
    assert!(t.reopen_count() <= rules.policy.follow_up.max_reopens);
    assert!(t.updated_at >= t.received_at);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_every_guarantee(steps in prop::collection::vec(step(), 1..120)) {
        let mut w = World::new();
        // A real clock: nanoseconds the log does not keep.
        w.now += SignedDuration::from_nanos(190_780_306);
        let start = w.now;
        let actors = [operator(), dispatcher(), handler("roads"), handler("water"), follow_up_agent(), supervisor()];
        let mut reply_deadlines: std::collections::BTreeMap<(crate::ids::TicketNo, usize), Timestamp> = Default::default();
        for step in steps {
            match step {
                Step::Receive { confidential } => {
                    w.receive_with(request(confidential), Some(ContactId(1)));
                }
                Step::Advance { hours, nanos } => {
                    w.now += SignedDuration::from_hours(hours) + SignedDuration::from_nanos(nanos);
                }
                Step::Progress { ticket, choice } => {
                    let keys: Vec<_> = w.tickets.keys().copied().collect();
                    let Some(no) = keys.get(ticket % keys.len().max(1)).copied() else { continue };
                    if let Some((actor, next)) = natural_next(w.ticket(no), choice) {
                        // The natural step may still be refused (a deadline passed); that is fine.
                        let _ = w.act(&actor, no, next);
                    }
                }
                Step::Act { ticket, actor, action: kind, flag, n } => {
                    if w.tickets.is_empty() {
                        continue;
                    }
                    let keys: Vec<_> = w.tickets.keys().copied().collect();
                    let no = keys[ticket % keys.len()];
                    let other = keys[(ticket / 7 + 1) % keys.len()];
                    let before = w.ticket(no).clone();
                    let log_len = w.log.len();
                    let lead = before.lead_unit().map(|u| u.to_string()).unwrap_or_else(|| "roads".into());
                    let actor = match (actor, kind) {
                        (Some(i), _) => actors[i].clone(),
                        (None, 0) => operator(),
                        (None, 1 | 4 | 6 | 7 | 12) => dispatcher(),
                        (None, 2 | 3 | 5 | 9 | 13 | 14) => handler(&lead),
                        (None, 8) => supervisor(),
                        (None, _) => follow_up_agent(),
                    };
                    match w.act(&actor, no, action(kind, flag, n, other)) {
                        Ok(events) => prop_assert_eq!(w.log.len(), log_len + events.len()),
                        Err(_) => {
                            // A refusal changes nothing and writes nothing.
                            prop_assert_eq!(w.log.len(), log_len);
                            prop_assert_eq!(w.ticket(no), &before);
                        }
                    }
                }
            }
            for t in w.tickets.values() {
                check_invariants(t, &w.rules);
                for (i, a) in t.assignments.iter().enumerate() {
                    let previous = reply_deadlines.insert((t.no, i), a.reply_by);
                    prop_assert!(previous.is_none_or(|p| a.reply_by >= p), "a reply deadline moved backwards");
                }
            }
        }

        let head = w.verify_chain();
        prop_assert_eq!(head.seq, w.log.len() as u64);
        prop_assert_eq!(&w.rebuild(), &w.tickets);

        let events = w.events();
        let end = w.now + SignedDuration::from_secs(1);
        let periods = [
            Period { start, end },
            Period { start: start + SignedDuration::from_hours(20), end: start + SignedDuration::from_hours(120) },
        ];
        for period in periods {
            let logged = from_events(period, events.iter().map(|(no, at, e)| (*no, *at, e)));
            let projected = from_tickets(period, w.tickets.values());
            prop_assert_eq!(logged, projected);
        }
        let version_total: u32 = w.tickets.values().map(|t| t.version).sum();
        let state_events = events.iter().filter(|(_, _, e)| e.changes_state()).count() as u32;
        prop_assert_eq!(version_total, state_events);
    }
}
