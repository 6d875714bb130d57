//! What screens offer: exactly the actions `decide` would accept from this actor in this state.

use super::fixture::*;
use crate::permission::Action;
use crate::ticket::{TicketAction, offered_actions};

#[test]
fn each_role_is_offered_what_it_may_do_now() {
    let mut w = World::new();
    let no = w.receive();
    let new = w.ticket(no).clone();
    let dispatcher_now = offered_actions(&dispatcher(), &new, w.now, &w.rules);
    assert!(dispatcher_now.contains(&Action::Dispatch));
    assert!(dispatcher_now.contains(&Action::HandOff));
    assert!(!dispatcher_now.contains(&Action::Sign));
    assert!(offered_actions(&handler("roads"), &new, w.now, &w.rules).is_empty());

    w.ok(&dispatcher(), no, dispatch("roads"));
    let dispatched = w.ticket(no).clone();
    let roads = offered_actions(&handler("roads"), &dispatched, w.now, &w.rules);
    assert!(roads.contains(&Action::Sign));
    assert!(roads.contains(&Action::RequestReturn));
    assert!(
        !roads.contains(&Action::Reply),
        "replying needs signing first"
    );
    assert!(
        offered_actions(&handler("water"), &dispatched, w.now, &w.rules).is_empty(),
        "another unit is offered nothing"
    );
    assert!(
        !offered_actions(&dispatcher(), &dispatched, w.now, &w.rules).contains(&Action::Dispatch)
    );

    w.ok(&handler("roads"), no, TicketAction::Sign);
    let signed = w.ticket(no).clone();
    let roads = offered_actions(&handler("roads"), &signed, w.now, &w.rules);
    assert!(roads.contains(&Action::Reply));
    assert!(roads.contains(&Action::RequestExtension));
    assert!(!roads.contains(&Action::DecideExtension));
}

#[test]
fn every_offered_action_passes_the_status_and_permission_checks() {
    // Offering and deciding share one table: what is offered never fails on state or role.
    let mut w = World::new();
    let no = w.replied();
    let ticket = w.ticket(no).clone();
    let offered = offered_actions(&follow_up_agent(), &ticket, w.now, &w.rules);
    assert!(offered.contains(&Action::RecordFollowUp));
    let outcome = reached(true, crate::ticket::Satisfaction::Satisfied);
    w.ok(
        &follow_up_agent(),
        no,
        TicketAction::RecordFollowUp {
            outcome,
            comment: String::new(),
        },
    );
    assert!(
        !offered_actions(&follow_up_agent(), w.ticket(no), w.now, &w.rules)
            .contains(&Action::RecordFollowUp)
    );
}
