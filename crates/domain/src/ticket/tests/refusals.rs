//! Refusals by status and by role: each action in each status, each role that may not, and what
//! a handling unit may never see. Errors name the actor or the state and what would work. Refusals
//! by rule (bad input, limits, merges) are in `rules.rs`.

use super::fixture::*;
use crate::error::DomainError;
use crate::ids::{ContactId, TicketNo};
use crate::org::{Affiliation, Role};
use crate::permission::RevealPurpose;
use crate::ticket::{EmergencyService, FollowUpOutcome, Status, TicketAction};

/// Each action with an actor allowed to do it, so only the state can refuse.
fn attempts(
    w: &mut World,
) -> Vec<(
    &'static str,
    crate::org::Actor,
    TicketAction,
    &'static [Status],
)> {
    use Status::*;
    let open_target = w.receive();
    vec![
        (
            "answer",
            operator(),
            TicketAction::AnswerOnCall { answer: "a".into() },
            &[PendingDispatch],
        ),
        (
            "dispatch",
            dispatcher(),
            dispatch("water"),
            &[PendingDispatch],
        ),
        ("sign", handler("roads"), TicketAction::Sign, &[Dispatched]),
        (
            "return",
            handler("roads"),
            TicketAction::RequestReturn {
                reason: "r".into(),
                rule: "q".into(),
            },
            &[Dispatched, InProgress],
        ),
        (
            "decide return",
            dispatcher(),
            TicketAction::DecideReturn {
                approve: true,
                note: String::new(),
            },
            &[ReturnRequested],
        ),
        (
            "extension",
            handler("roads"),
            TicketAction::RequestExtension {
                working_days: 2,
                reason: "r".into(),
            },
            &[InProgress],
        ),
        (
            "decide extension",
            dispatcher(),
            TicketAction::DecideExtension {
                approve: true,
                note: String::new(),
            },
            &[],
        ),
        (
            "urge",
            dispatcher(),
            TicketAction::Urge {
                note: String::new(),
            },
            &[Dispatched, InProgress],
        ),
        (
            "supervise",
            supervisor(),
            TicketAction::Supervise { note: "n".into() },
            &[Dispatched, InProgress, ReturnRequested],
        ),
        ("reply", handler("roads"), reply(), &[InProgress]),
        (
            "follow-up",
            follow_up_agent(),
            TicketAction::RecordFollowUp {
                outcome: FollowUpOutcome::NotReached,
                comment: String::new(),
            },
            &[Replied],
        ),
        (
            "merge",
            dispatcher(),
            TicketAction::Merge { into: open_target },
            &[
                PendingDispatch,
                Dispatched,
                InProgress,
                ReturnRequested,
                Replied,
            ],
        ),
        (
            "hand off",
            dispatcher(),
            TicketAction::HandOff {
                to: EmergencyService::Ambulance120,
                note: String::new(),
            },
            &[PendingDispatch],
        ),
    ]
}

#[test]
fn each_action_is_refused_in_every_status_that_does_not_allow_it() {
    let mut checked = 0;
    for status in Status::ALL {
        let mut w = World::new();
        let no = ticket_in(&mut w, status);
        assert_eq!(w.ticket(no).status, status);
        for (name, actor, action, allowed) in attempts(&mut w) {
            // Unit actions on tickets that are not with a unit fail on permission first; use a
            // dispatcher-visible check for those.
            let result = w.clone_world_act(&actor, no, &action);
            if allowed.contains(&status) {
                assert!(
                    result.is_ok(),
                    "{name} in {status:?} should work: {result:?}"
                );
                continue;
            }
            let err = result.expect_err(name);
            match &err {
                DomainError::WrongState { status: s, .. } => assert_eq!(*s, status, "{name}"),
                DomainError::NotPermitted { why, .. } => {
                    assert!(
                        why.contains("not with your unit") || why.contains("is with unit"),
                        "{name} in {status:?}: {err}"
                    )
                }
                other => panic!("{name} in {status:?}: unexpected {other}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} refusals checked");
}

impl World {
    /// Tries an action on a copy, so one attempt does not disturb the next.
    fn clone_world_act(
        &mut self,
        actor: &crate::org::Actor,
        no: TicketNo,
        action: &TicketAction,
    ) -> Result<(), DomainError> {
        let saved = (self.tickets.clone(), self.log.len());
        let result = self.act(actor, no, action.clone()).map(|_| ());
        self.tickets = saved.0;
        self.log.truncate(saved.1);
        result
    }
}

#[test]
fn refusals_name_the_actor_and_what_would_allow_it() {
    let mut w = World::new();
    let no = w.receive();
    let err = w
        .act(&operator(), no, dispatch("roads"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("op (operator at the call-centre contractor) may not dispatch"),
        "{err}"
    );
    assert!(err.contains("dispatcher"), "{err}");

    w.ok(&dispatcher(), no, dispatch("roads"));
    let err = w
        .act(&handler("water"), no, TicketAction::Sign)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is not with your unit") && !err.contains("roads"),
        "{err}"
    );

    let err = w
        .act(&handler("roads"), no, reply())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("dispatched (待签收)") && err.contains("after signing"),
        "{err}"
    );

    let admin = actor("root", Role::Admin, Affiliation::Centre);
    assert!(matches!(
        w.act(
            &admin,
            no,
            TicketAction::AddNote {
                text: "x".into(),
                contacted_citizen: false
            }
        ),
        Err(DomainError::NotPermitted { .. })
    ));
}

#[test]
fn units_never_reveal_a_confidential_citizen() {
    let mut w = World::new();
    let no = w.receive_with(request(true), Some(ContactId(7)));
    w.ok(&dispatcher(), no, dispatch("roads"));
    let err = w
        .act(
            &handler("roads"),
            no,
            TicketAction::RevealContact {
                purpose: RevealPurpose::ContactCitizen,
                reason: "需上门核实".into(),
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("confidential"), "{err}");
    // The centre's supervisor still can, with a reason.
    w.ok(
        &supervisor(),
        no,
        TicketAction::RevealContact {
            purpose: RevealPurpose::SupervisionCheck,
            reason: "核实诉求人身份".into(),
        },
    );
}

#[test]
fn reveals_need_a_contact_and_a_real_reason() {
    let mut w = World::new();
    let no = w.receive_with(request(false), None);
    assert!(
        w.act(
            &dispatcher(),
            no,
            TicketAction::RevealContact {
                purpose: RevealPurpose::ClarifyRequest,
                reason: "核实身份信息".into()
            }
        )
        .unwrap_err()
        .to_string()
        .contains("no contact")
    );
    let no = w.receive();
    assert!(
        w.act(
            &dispatcher(),
            no,
            TicketAction::RevealContact {
                purpose: RevealPurpose::Other,
                reason: "看看".into()
            }
        )
        .unwrap_err()
        .to_string()
        .contains("reason")
    );
}

#[test]
fn a_contact_is_revealed_only_where_the_work_needs_it() {
    use crate::permission::may_reveal;
    let mut w = World::new();
    let reveal = |purpose| TicketAction::RevealContact {
        purpose,
        reason: "需联系市民核实情况".into(),
    };
    let no = w.receive();
    // The operator who took the call, while the call is fresh; another operator never.
    w.ok(&operator(), no, reveal(RevealPurpose::ClarifyRequest));
    let other = actor(
        "op2",
        crate::org::Role::Operator,
        crate::org::Affiliation::Contractor,
    );
    let err = w
        .act(&other, no, reveal(RevealPurpose::ClarifyRequest))
        .unwrap_err();
    assert!(err.to_string().contains("only tickets they took"), "{err}");
    w.ok(&dispatcher(), no, reveal(RevealPurpose::ClarifyRequest));
    w.advance(5);
    let err = w
        .act(&operator(), no, reveal(RevealPurpose::ClarifyRequest))
        .unwrap_err();
    assert!(err.to_string().contains("within 4 hours"), "{err}");

    // Routed: the dispatcher's need ends, the unit's begins; the follow-up agent waits.
    w.ok(&dispatcher(), no, dispatch("roads"));
    assert!(
        w.act(&dispatcher(), no, reveal(RevealPurpose::ClarifyRequest))
            .is_err()
    );
    assert!(
        w.act(&follow_up_agent(), no, reveal(RevealPurpose::FollowUpCall))
            .is_err()
    );
    w.ok(&handler("roads"), no, reveal(RevealPurpose::ContactCitizen));
    w.ok(&handler("roads"), no, TicketAction::Sign);
    w.ok(&handler("roads"), no, reply());
    // Replied: the follow-up agent may call back; the unit is done.
    w.ok(&follow_up_agent(), no, reveal(RevealPurpose::FollowUpCall));
    let err = w
        .act(&handler("roads"), no, reveal(RevealPurpose::ContactCitizen))
        .unwrap_err();
    assert!(err.to_string().contains("while handling"), "{err}");
    // A supervisor may always, and it is checked the same way screens ask.
    w.ok(&supervisor(), no, reveal(RevealPurpose::SupervisionCheck));
    let t = w.ticket(no).clone();
    assert!(may_reveal(&supervisor(), &t, w.now, &w.rules.policy.privacy).is_ok());
    assert!(may_reveal(&dispatcher(), &t, w.now, &w.rules.policy.privacy).is_err());
}
