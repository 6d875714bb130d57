//! Refusals by rule rather than by status: malformed input names its field, returns and
//! extensions have their own limits, merges need a proper target, and answering on the call is
//! only for tickets never dispatched.

use jiff::SignedDuration;

use super::fixture::*;
use crate::error::DomainError;
use crate::ids::TicketNo;
use crate::ticket::{Status, TicketAction, TicketCommand};

#[test]
fn bad_input_is_refused_with_the_field() {
    let mut w = World::new();
    let mut bad = request(false);
    bad.description = "  ".into();
    let no = TicketNo::new(jiff::civil::date(2026, 11, 26), 500).unwrap();
    let err = w
        .run(
            &operator(),
            TicketCommand::Receive {
                no,
                request: bad,
                contact: None,
                answer_on_call: None,
                sealed: vec![],
            },
        )
        .unwrap_err();
    assert!(err.to_string().starts_with("description"), "{err}");

    let mut level2 = request(false);
    level2.category = crate::ids::CategoryCode::parse("0701").unwrap();
    let err = w
        .run(
            &operator(),
            TicketCommand::Receive {
                no,
                request: level2,
                contact: None,
                answer_on_call: None,
                sealed: vec![],
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("level-3"), "{err}");

    let mut elsewhere = request(false);
    elsewhere.location.division = Some(crate::ids::DivisionCode::parse("110101").unwrap());
    assert!(
        w.run(
            &operator(),
            TicketCommand::Receive {
                no,
                request: elsewhere,
                contact: None,
                answer_on_call: None,
                sealed: vec![],
            }
        )
        .is_err()
    );

    let mut long = request(false);
    long.description = "长".repeat(4001);
    assert!(
        w.run(
            &operator(),
            TicketCommand::Receive {
                no,
                request: long,
                contact: None,
                answer_on_call: None,
                sealed: vec![],
            }
        )
        .unwrap_err()
        .to_string()
        .contains("4001")
    );

    let t = w.receive();
    assert!(
        w.act(&dispatcher(), t, dispatch("nowhere"))
            .unwrap_err()
            .to_string()
            .contains("unknown unit")
    );
    let err = w
        .act(
            &dispatcher(),
            t,
            TicketAction::Dispatch {
                lead: unit_id("roads"),
                co_units: vec![unit_id("roads")],
                note: String::new(),
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("already the lead"), "{err}");
    assert!(
        w.act(
            &dispatcher(),
            TicketNo::new(jiff::civil::date(2026, 1, 1), 1).unwrap(),
            dispatch("roads")
        )
        .is_err()
    );
}

#[test]
fn returns_and_extensions_have_their_own_limits() {
    let mut w = World::new();
    let no = w.in_progress();
    assert!(
        w.act(
            &handler("roads"),
            no,
            TicketAction::RequestReturn {
                reason: "不属我单位".into(),
                rule: " ".into()
            }
        )
        .unwrap_err()
        .to_string()
        .starts_with("rule")
    );
    w.ok(
        &handler("roads"),
        no,
        TicketAction::RequestReturn {
            reason: "不属我单位".into(),
            rule: "三定".into(),
        },
    );
    assert!(
        w.act(
            &dispatcher(),
            no,
            TicketAction::DecideReturn {
                approve: false,
                note: String::new()
            }
        )
        .unwrap_err()
        .to_string()
        .contains("why")
    );

    let no = w.in_progress();
    assert!(
        w.act(
            &handler("roads"),
            no,
            TicketAction::RequestExtension {
                working_days: 11,
                reason: "x".into()
            }
        )
        .is_err()
    );
    assert!(
        w.act(
            &handler("roads"),
            no,
            TicketAction::RequestExtension {
                working_days: 0,
                reason: "x".into()
            }
        )
        .is_err()
    );
    w.ok(
        &handler("roads"),
        no,
        TicketAction::RequestExtension {
            working_days: 1,
            reason: "x".into(),
        },
    );
    assert!(
        w.act(
            &handler("roads"),
            no,
            TicketAction::RequestExtension {
                working_days: 1,
                reason: "x".into()
            }
        )
        .unwrap_err()
        .to_string()
        .contains("already waiting")
    );
    w.ok(
        &dispatcher(),
        no,
        TicketAction::DecideExtension {
            approve: true,
            note: String::new(),
        },
    );
    w.ok(
        &handler("roads"),
        no,
        TicketAction::RequestExtension {
            working_days: 1,
            reason: "x".into(),
        },
    );
    w.ok(
        &dispatcher(),
        no,
        TicketAction::DecideExtension {
            approve: true,
            note: String::new(),
        },
    );
    assert!(
        w.act(
            &handler("roads"),
            no,
            TicketAction::RequestExtension {
                working_days: 1,
                reason: "x".into()
            }
        )
        .unwrap_err()
        .to_string()
        .contains("most allowed")
    );

    let late = w.in_progress();
    w.now += SignedDuration::from_hours(24 * 30);
    assert!(
        w.act(
            &handler("roads"),
            late,
            TicketAction::RequestExtension {
                working_days: 1,
                reason: "x".into()
            }
        )
        .unwrap_err()
        .to_string()
        .contains("has passed")
    );
}

#[test]
fn merges_need_an_open_target_that_is_not_itself() {
    let mut w = World::new();
    let a = w.receive();
    assert!(
        w.act(&dispatcher(), a, TicketAction::Merge { into: a })
            .unwrap_err()
            .to_string()
            .contains("itself")
    );
    let closed = ticket_in(&mut w, Status::Closed);
    assert!(
        w.act(&dispatcher(), a, TicketAction::Merge { into: closed })
            .unwrap_err()
            .to_string()
            .contains("still open")
    );
    let missing = TicketNo::new(jiff::civil::date(2026, 1, 1), 1).unwrap();
    assert!(matches!(
        w.act(&dispatcher(), a, TicketAction::Merge { into: missing }),
        Err(DomainError::UnknownTicket(_))
    ));
    let b = w.in_progress();
    w.ok(
        &supervisor(),
        b,
        TicketAction::Supervise { note: "x".into() },
    );
    assert!(
        w.act(
            &supervisor(),
            b,
            TicketAction::Supervise { note: "x".into() }
        )
        .unwrap_err()
        .to_string()
        .contains("already")
    );
    assert!(
        w.act(
            &operator(),
            a,
            TicketAction::AnswerOnCall { answer: " ".into() }
        )
        .is_err()
    );
}

#[test]
fn answering_on_the_call_is_only_for_tickets_never_dispatched() {
    let mut w = World::new();
    let no = w.in_progress();
    w.ok(
        &handler("roads"),
        no,
        TicketAction::RequestReturn {
            reason: "x".into(),
            rule: "y".into(),
        },
    );
    w.ok(
        &dispatcher(),
        no,
        TicketAction::DecideReturn {
            approve: true,
            note: String::new(),
        },
    );
    let err = w
        .act(
            &operator(),
            no,
            TicketAction::AnswerOnCall { answer: "a".into() },
        )
        .unwrap_err();
    assert!(err.to_string().contains("already dispatched once"), "{err}");
}
