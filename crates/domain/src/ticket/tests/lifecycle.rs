//! Every transition of the lifecycle, one by one.

use jiff::civil::date;

use super::fixture::*;
use crate::ids::{ContactId, TicketNo};
use crate::permission::RevealPurpose;
use crate::policy::Policy;
use crate::ticket::{
    AssignmentCause, ClosureOutcome, EmergencyService, FollowUpOutcome, Satisfaction, Status,
    TicketAction, TicketCommand, TicketEvent,
};

#[test]
fn received_then_dispatched_signed_replied_followed_up_and_closed_as_solved() {
    let mut w = World::new();
    let no = w.receive();
    assert_eq!(w.ticket(no).status, Status::PendingDispatch);

    let events = w.ok(&dispatcher(), no, dispatch("roads"));
    let TicketEvent::Dispatched {
        sign_by,
        reply_by,
        redispatch,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert!(!redispatch);
    // Thursday 10:00 + 2 working hours; + 7 working days = end of Monday 7 December.
    assert_eq!(
        *sign_by,
        zone()
            .to_timestamp(date(2026, 11, 26).at(12, 0, 0, 0))
            .unwrap()
    );
    assert_eq!(
        *reply_by,
        zone()
            .to_timestamp(date(2026, 12, 8).at(0, 0, 0, 0))
            .unwrap()
    );
    assert_eq!(w.ticket(no).status, Status::Dispatched);
    assert_eq!(w.ticket(no).next_deadline(), Some(*sign_by));

    w.advance(1);
    w.ok(&handler("roads"), no, TicketAction::Sign);
    assert_eq!(w.ticket(no).status, Status::InProgress);
    assert_eq!(w.ticket(no).current().unwrap().signed_at, Some(w.now));

    w.ok(
        &handler("roads"),
        no,
        TicketAction::AddNote {
            text: "已电话联系市民".into(),
            contacted_citizen: true,
        },
    );
    assert_eq!(
        w.ticket(no).current().unwrap().first_contact_at,
        Some(w.now)
    );

    w.advance(24);
    w.ok(&handler("roads"), no, reply());
    assert_eq!(w.ticket(no).status, Status::Replied);

    w.advance(24);
    let events = w.ok(
        &follow_up_agent(),
        no,
        TicketAction::RecordFollowUp {
            outcome: reached(true, Satisfaction::Satisfied),
            comment: String::new(),
        },
    );
    assert_eq!(events.len(), 2);
    assert_eq!(w.ticket(no).status, Status::Closed);
    assert_eq!(
        w.ticket(no).closure.unwrap().outcome,
        ClosureOutcome::Solved
    );
    assert!(w.ticket(no).current().is_none());
}

#[test]
fn answered_on_the_call_closes_at_once() {
    let mut w = World::new();
    let no = TicketNo::new(date(2026, 11, 26), 99).unwrap();
    let events = w
        .run(
            &operator(),
            TicketCommand::Receive {
                no,
                request: request(false),
                contact: None,
                answer_on_call: Some("社保卡补办请到区政务中心".into()),
                sealed: vec![],
            },
        )
        .unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(w.ticket(no).status, Status::Closed);
    assert_eq!(
        w.ticket(no).closure.unwrap().outcome,
        ClosureOutcome::AnsweredOnCall
    );

    let later = w.receive();
    w.ok(
        &operator(),
        later,
        TicketAction::AnswerOnCall {
            answer: "已解答".into(),
        },
    );
    assert_eq!(w.ticket(later).answer.as_deref(), Some("已解答"));
}

#[test]
fn an_approved_return_goes_back_for_redispatch_to_another_unit() {
    let mut w = World::new();
    let no = w.in_progress();
    w.ok(
        &handler("roads"),
        no,
        TicketAction::RequestReturn {
            reason: "属供水管网".into(),
            rule: "派单目录 供水类 第3条".into(),
        },
    );
    assert_eq!(w.ticket(no).status, Status::ReturnRequested);
    w.ok(
        &dispatcher(),
        no,
        TicketAction::DecideReturn {
            approve: true,
            note: String::new(),
        },
    );
    assert_eq!(w.ticket(no).status, Status::PendingDispatch);
    assert!(w.ticket(no).lead_unit().is_none());

    let events = w.ok(&dispatcher(), no, dispatch("water"));
    assert!(matches!(
        events[0],
        TicketEvent::Dispatched {
            redispatch: true,
            ..
        }
    ));
    assert_eq!(
        w.ticket(no).current().unwrap().cause,
        AssignmentCause::Redispatch
    );
    assert_eq!(w.ticket(no).lead_unit().unwrap().as_str(), "water");
    // The old unit lost the ticket.
    assert!(w.act(&handler("roads"), no, TicketAction::Sign).is_err());
}

#[test]
fn a_rejected_return_resumes_where_it_was() {
    let mut w = World::new();
    let unsigned = w.receive();
    w.ok(&dispatcher(), unsigned, dispatch("roads"));
    w.ok(
        &handler("roads"),
        unsigned,
        TicketAction::RequestReturn {
            reason: "不属本单位".into(),
            rule: "三定方案".into(),
        },
    );
    w.ok(
        &dispatcher(),
        unsigned,
        TicketAction::DecideReturn {
            approve: false,
            note: "道路照明属你单位".into(),
        },
    );
    assert_eq!(w.ticket(unsigned).status, Status::Dispatched);

    let signed = w.in_progress();
    w.ok(
        &handler("roads"),
        signed,
        TicketAction::RequestReturn {
            reason: "不属本单位".into(),
            rule: "三定方案".into(),
        },
    );
    w.ok(
        &dispatcher(),
        signed,
        TicketAction::DecideReturn {
            approve: false,
            note: "属你单位".into(),
        },
    );
    assert_eq!(w.ticket(signed).status, Status::InProgress);
    assert_eq!(w.ticket(signed).current().unwrap().return_requests.len(), 1);
}

#[test]
fn an_approved_extension_moves_the_reply_deadline_by_working_days() {
    let mut w = World::new();
    let no = w.in_progress();
    let before = w.ticket(no).current().unwrap().reply_by;
    w.ok(
        &handler("roads"),
        no,
        TicketAction::RequestExtension {
            working_days: 5,
            reason: "需协调施工队".into(),
        },
    );
    assert!(w.ticket(no).current().unwrap().pending_extension.is_some());
    w.ok(
        &dispatcher(),
        no,
        TicketAction::DecideExtension {
            approve: true,
            note: String::new(),
        },
    );
    let after = w.ticket(no).current().unwrap().reply_by;
    // 8 December 00:00 closes Monday 7 December; five working days later is Monday 14.
    assert_eq!(
        after,
        zone()
            .to_timestamp(date(2026, 12, 15).at(0, 0, 0, 0))
            .unwrap()
    );
    assert!(after > before);

    w.ok(
        &handler("roads"),
        no,
        TicketAction::RequestExtension {
            working_days: 1,
            reason: "材料未到".into(),
        },
    );
    w.ok(
        &dispatcher(),
        no,
        TicketAction::DecideExtension {
            approve: false,
            note: "请按期办结".into(),
        },
    );
    assert_eq!(w.ticket(no).current().unwrap().reply_by, after);
    assert!(w.ticket(no).current().unwrap().pending_extension.is_none());
}

#[test]
fn urging_counts_and_supervision_marks_the_ticket() {
    let mut w = World::new();
    let no = w.in_progress();
    w.ok(
        &dispatcher(),
        no,
        TicketAction::Urge {
            note: "请尽快".into(),
        },
    );
    w.ok(
        &supervisor(),
        no,
        TicketAction::Urge {
            note: String::new(),
        },
    );
    w.ok(
        &supervisor(),
        no,
        TicketAction::Supervise {
            note: "列入督办".into(),
        },
    );
    assert_eq!(w.ticket(no).urge_count, 2);
    assert!(w.ticket(no).supervised);
}

#[test]
fn an_unsolved_follow_up_reopens_to_the_same_unit_until_the_limit() {
    let mut w = World::new();
    let no = w.replied();
    let not_solved = || TicketAction::RecordFollowUp {
        outcome: reached(false, Satisfaction::Dissatisfied),
        comment: "灯还是不亮".into(),
    };

    for round in 1..=2 {
        w.advance(2);
        let events = w.ok(&follow_up_agent(), no, not_solved());
        assert!(
            matches!(events[1], TicketEvent::Reopened { .. }),
            "round {round}: {events:?}"
        );
        assert_eq!(w.ticket(no).status, Status::Dispatched);
        assert_eq!(
            w.ticket(no).current().unwrap().cause,
            AssignmentCause::Reopen
        );
        assert_eq!(w.ticket(no).lead_unit().unwrap().as_str(), "roads");
        assert_eq!(w.ticket(no).current().unwrap().started_at, w.now);
        w.ok(&handler("roads"), no, TicketAction::Sign);
        w.ok(&handler("roads"), no, reply());
    }
    let events = w.ok(&follow_up_agent(), no, not_solved());
    assert_eq!(
        events[1],
        TicketEvent::Closed {
            outcome: ClosureOutcome::Unsolved
        }
    );
    assert_eq!(w.ticket(no).reopen_count(), 2);
}

#[test]
fn solved_but_dissatisfied_also_goes_back() {
    let mut w = World::new();
    let no = w.replied();
    let events = w.ok(
        &follow_up_agent(),
        no,
        TicketAction::RecordFollowUp {
            outcome: reached(true, Satisfaction::Dissatisfied),
            comment: String::new(),
        },
    );
    assert!(matches!(events[1], TicketEvent::Reopened { .. }));
    let no = w.replied();
    w.ok(
        &follow_up_agent(),
        no,
        TicketAction::RecordFollowUp {
            outcome: reached(true, Satisfaction::BasicallySatisfied),
            comment: String::new(),
        },
    );
    assert_eq!(
        w.ticket(no).closure.unwrap().outcome,
        ClosureOutcome::Solved
    );
}

#[test]
fn an_unreachable_citizen_closes_the_ticket_after_the_last_attempt() {
    let mut w = World::with_policy(Policy::default());
    let no = w.replied();
    for _ in 0..2 {
        let events = w.ok(
            &follow_up_agent(),
            no,
            TicketAction::RecordFollowUp {
                outcome: FollowUpOutcome::NotReached,
                comment: "无人接听".into(),
            },
        );
        assert_eq!(events.len(), 1);
        assert_eq!(w.ticket(no).status, Status::Replied);
    }
    let events = w.ok(
        &follow_up_agent(),
        no,
        TicketAction::RecordFollowUp {
            outcome: FollowUpOutcome::NotReached,
            comment: String::new(),
        },
    );
    assert_eq!(
        events[1],
        TicketEvent::Closed {
            outcome: ClosureOutcome::Unreachable
        }
    );
}

#[test]
fn merging_closes_the_duplicate_and_records_it_on_the_target() {
    let mut w = World::new();
    let target = w.in_progress();
    let duplicate = w.receive();
    w.ok(
        &dispatcher(),
        duplicate,
        TicketAction::Merge { into: target },
    );
    assert_eq!(w.ticket(duplicate).status, Status::Merged);
    assert_eq!(w.ticket(duplicate).merged_into, Some(target));
    assert_eq!(w.ticket(target).absorbed, vec![duplicate]);
    assert_eq!(w.ticket(target).status, Status::InProgress);
}

#[test]
fn emergencies_are_handed_off_before_dispatch() {
    let mut w = World::new();
    let no = w.receive();
    w.ok(
        &operator(),
        no,
        TicketAction::HandOff {
            to: EmergencyService::Fire119,
            note: "楼道冒烟".into(),
        },
    );
    assert_eq!(w.ticket(no).status, Status::HandedOff);
    assert_eq!(w.ticket(no).handed_off_to, Some(EmergencyService::Fire119));
}

#[test]
fn a_reveal_is_recorded_without_changing_the_ticket() {
    let mut w = World::new();
    let no = w.in_progress();
    let version = w.ticket(no).version;
    let events = w.ok(
        &handler("roads"),
        no,
        TicketAction::RevealContact {
            purpose: RevealPurpose::ContactCitizen,
            reason: "需上门核实地址".into(),
        },
    );
    assert_eq!(
        events,
        vec![TicketEvent::ContactRevealed {
            reason: "需上门核实地址".into(),
            purpose: Some(RevealPurpose::ContactCitizen),
            seat: Some(crate::access::Seat::of(&handler("roads"))),
        }]
    );
    assert_eq!(w.ticket(no).version, version);
    assert_eq!(w.log.last().unwrap().kind, "ticket.contact_revealed");
}

#[test]
fn co_units_see_and_note_but_do_not_handle() {
    let mut w = World::new();
    let no = w.receive();
    w.ok(
        &dispatcher(),
        no,
        TicketAction::Dispatch {
            lead: unit_id("roads"),
            co_units: vec![unit_id("water"), unit_id("water")],
            note: "协同处理".into(),
        },
    );
    assert_eq!(
        w.ticket(no).current().unwrap().co_units,
        vec![unit_id("water")]
    );
    w.ok(
        &handler("water"),
        no,
        TicketAction::AddNote {
            text: "已排查管网".into(),
            contacted_citizen: true,
        },
    );
    // A co-unit's contact does not count as the lead unit's response.
    assert_eq!(w.ticket(no).current().unwrap().first_contact_at, None);
    assert!(w.act(&handler("water"), no, TicketAction::Sign).is_err());
    assert!(
        w.act(
            &handler("d1"),
            no,
            TicketAction::AddNote {
                text: "x".into(),
                contacted_citizen: false
            }
        )
        .is_err()
    );
}

#[test]
fn contact_ids_follow_the_ticket() {
    let mut w = World::new();
    let no = w.receive_with(request(true), Some(ContactId(42)));
    assert_eq!(w.ticket(no).contact, Some(ContactId(42)));
    assert!(w.ticket(no).request.confidential);
}

#[test]
fn numbers_sealed_from_the_text_are_logged_and_make_a_contactless_ticket_revealable() {
    use crate::numbers::{NumberKind, SealedNumber};
    let mut w = World::new();
    let reveal = TicketAction::RevealContact {
        purpose: RevealPurpose::ClarifyRequest,
        reason: "回拨核实地点".into(),
    };
    let bare = w.receive_with(request(false), None);
    assert!(w.act(&operator(), bare, reveal.clone()).is_err());

    let no = TicketNo::new(w.rules.calendar.local_date(w.now), 50).unwrap();
    let sealed = vec![SealedNumber {
        field: "description".into(),
        kind: NumberKind::Mobile,
        masked: "139****4321".into(),
    }];
    let events = w
        .run(
            &operator(),
            TicketCommand::Receive {
                no,
                request: request(false),
                contact: None,
                answer_on_call: None,
                sealed: sealed.clone(),
            },
        )
        .unwrap();
    assert_eq!(
        events.last(),
        Some(&TicketEvent::NumbersSealed { numbers: sealed })
    );
    assert_eq!(w.ticket(no).sealed_numbers, 1);
    assert!(w.ticket(no).has_personal_data());
    w.ok(&operator(), no, reveal);
}
