//! The notification outbox: written with the events that call for a message, read when due, and
//! settled once (sent, retried, given up) only by the server itself.

use domain::notify::Notice;
use domain::ticket::TicketAction;
use domain::time::LogTime;
use jiff::SignedDuration;
use store::{Command, Committed, Delivery, OutboxCounts, Store, Submission};

use crate::fixture::*;

async fn settle(store: &dyn Store, at: jiff::Timestamp, command: Command) -> Committed {
    store
        .submit(Submission {
            actor: domain::org::Actor::system("notifier"),
            now: LogTime::of(at),
            command,
        })
        .await
        .unwrap()
}

pub async fn messages_are_written_with_their_events_and_settled_once(store: &dyn Store) {
    let with_contact = receive_at(store, t0(), "070101", Some(sealed(501, None)))
        .await
        .unwrap();
    let without = receive(store).await;
    for no in [with_contact, without] {
        act(store, dispatcher(), at_hours(1), no, dispatch("roads"))
            .await
            .unwrap();
    }
    let due = store.outbox_due(at_hours(1), 10).await.unwrap();
    assert_eq!(
        due.len(),
        1,
        "only a ticket with a contact gets a message: {due:?}"
    );
    let message = &due[0];
    assert_eq!(
        (message.ticket, message.notice),
        (with_contact, Notice::Dispatched)
    );
    assert_eq!(message.contact.0, 501);
    assert_eq!(message.attempts, 0);
    let log = store.ticket_log(with_contact).await.unwrap();
    let dispatched = log
        .iter()
        .find(|e| e.event.kind() == "ticket.dispatched")
        .unwrap();
    assert_eq!(
        message.seq, dispatched.seq,
        "keyed by the event's log entry"
    );

    // A person cannot settle a message.
    let refused = store
        .submit(Submission {
            actor: dispatcher(),
            now: LogTime::of(at_hours(1)),
            command: Command::Deliver {
                seq: message.seq,
                outcome: Delivery::Sent,
            },
        })
        .await;
    assert!(refused.is_err());

    let retry_at = at_hours(1) + SignedDuration::from_secs(30);
    let retried = Command::Deliver {
        seq: message.seq,
        outcome: Delivery::Retry {
            error: "gateway down".into(),
            next_at: retry_at,
        },
    };
    settle(store, at_hours(1), retried).await;
    assert!(
        store.outbox_due(at_hours(1), 10).await.unwrap().is_empty(),
        "waits for its retry time"
    );
    let again = store.outbox_due(retry_at, 10).await.unwrap();
    assert_eq!(again[0].attempts, 1);
    let sent = Command::Deliver {
        seq: message.seq,
        outcome: Delivery::Sent,
    };
    assert!(matches!(
        settle(store, retry_at, sent.clone()).await,
        Committed::Delivery { recorded: true, .. }
    ));
    assert!(
        matches!(
            settle(store, retry_at, sent).await,
            Committed::Delivery {
                recorded: false,
                ..
            }
        ),
        "a message is settled once"
    );
    assert_eq!(
        store.outbox_counts().await.unwrap(),
        OutboxCounts {
            pending: 0,
            sent: 1,
            failed: 0
        }
    );

    // Signing sends nothing; a reply does; expiring gives up what is older.
    act(
        store,
        handler("roads"),
        at_hours(2),
        with_contact,
        TicketAction::Sign,
    )
    .await
    .unwrap();
    let reply = TicketAction::Reply {
        result: "已修复".into(),
        claim: domain::ticket::ReplyClaim::Solved,
    };
    act(store, handler("roads"), at_hours(3), with_contact, reply)
        .await
        .unwrap();
    let due = store.outbox_due(at_hours(3), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|m| m.notice).collect::<Vec<_>>(),
        [Notice::Replied]
    );
    let expired = settle(
        store,
        at_hours(4),
        Command::ExpireOutbox {
            created_before: at_hours(4),
            reason: "stale".into(),
        },
    )
    .await;
    assert!(matches!(expired, Committed::Expired { count: 1 }));
    assert_eq!(
        store.outbox_counts().await.unwrap(),
        OutboxCounts {
            pending: 0,
            sent: 1,
            failed: 1
        }
    );
}
