//! The read side of the contract: list filters and paging, and a caller's history by the keyed
//! phone index.

use domain::ticket::{Status, TicketAction};
use store::{Store, TicketOrder, TicketQuery};

use crate::fixture::*;

pub async fn lists_filter_and_page(store: &dyn Store) {
    let mut roads = Vec::new();
    for _ in 0..5 {
        let no = receive(store).await;
        act(store, dispatcher(), at_hours(1), no, dispatch("roads"))
            .await
            .unwrap();
        roads.push(no);
    }
    let water = receive_at(store, at_hours(2), "080101", None)
        .await
        .unwrap();
    act(store, dispatcher(), at_hours(2), water, dispatch("water"))
        .await
        .unwrap();
    act(
        store,
        handler("water"),
        at_hours(3),
        water,
        TicketAction::Sign,
    )
    .await
    .unwrap();
    let pending = receive_at(store, at_hours(3), "070102", None)
        .await
        .unwrap();

    let query = |q: TicketQuery| async move {
        store
            .tickets(TicketQuery { limit: 50, ..q })
            .await
            .unwrap()
            .iter()
            .map(|t| t.no)
            .collect::<Vec<_>>()
    };
    let mut newest_first = roads.clone();
    newest_first.reverse();
    assert_eq!(
        query(TicketQuery {
            unit: Some(unit("roads")),
            ..Default::default()
        })
        .await,
        newest_first
    );
    // Soonest deadline first: the roads tickets' signing (same deadline, by number), then the
    // water ticket's reply, then the ticket with no deadline yet.
    let mut soonest_first = roads.clone();
    soonest_first.extend([water, pending]);
    assert_eq!(
        query(TicketQuery {
            order: TicketOrder::DeadlineFirst,
            ..Default::default()
        })
        .await,
        soonest_first
    );
    assert_eq!(
        query(TicketQuery {
            statuses: vec![Status::InProgress],
            ..Default::default()
        })
        .await,
        vec![water]
    );
    assert_eq!(
        query(TicketQuery {
            statuses: vec![Status::PendingDispatch, Status::InProgress],
            ..Default::default()
        })
        .await,
        vec![pending, water]
    );
    assert_eq!(
        query(TicketQuery {
            category: Some("0801".parse_category()),
            ..Default::default()
        })
        .await,
        vec![water]
    );
    assert_eq!(
        query(TicketQuery {
            category: Some("07".parse_category()),
            ..Default::default()
        })
        .await
        .len(),
        6
    );
    assert_eq!(
        query(TicketQuery {
            received_from: Some(at_hours(2)),
            ..Default::default()
        })
        .await,
        vec![pending, water]
    );
    // Signing for the roads tickets was due two working hours after dispatch.
    assert_eq!(
        query(TicketQuery {
            overdue_at: Some(at_hours(30)),
            ..Default::default()
        })
        .await,
        newest_first
    );
    assert_eq!(
        query(TicketQuery {
            overdue_at: Some(at_hours(1)),
            ..Default::default()
        })
        .await,
        vec![]
    );

    let page1 = store
        .tickets(TicketQuery {
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let page2 = store
        .tickets(TicketQuery {
            limit: 3,
            order: TicketOrder::NewestBefore(page1[2].no),
            ..Default::default()
        })
        .await
        .unwrap();
    let page3 = store
        .tickets(TicketQuery {
            limit: 3,
            order: TicketOrder::NewestBefore(page2[2].no),
            ..Default::default()
        })
        .await
        .unwrap();
    let all: Vec<_> = page1
        .iter()
        .chain(&page2)
        .chain(&page3)
        .map(|t| t.no)
        .collect();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0] > w[1]));

    let counts = store
        .status_counts(Some(unit("roads")), at_hours(30))
        .await
        .unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (counts[0].status, counts[0].count, counts[0].overdue),
        (Status::Dispatched, 5, 5)
    );
}

pub async fn caller_history_uses_the_phone_index(store: &dyn Store) {
    let caller = [7u8; 32];
    let a = receive_at(store, t0(), "070101", Some(sealed(21, Some(caller))))
        .await
        .unwrap();
    receive_at(store, t0(), "070101", Some(sealed(22, Some([8u8; 32]))))
        .await
        .unwrap();
    let b = receive_at(store, at_hours(5), "080101", Some(sealed(23, Some(caller))))
        .await
        .unwrap();
    let history: Vec<_> = store
        .caller_history(caller, 10)
        .await
        .unwrap()
        .iter()
        .map(|t| t.no)
        .collect();
    assert_eq!(history, vec![b, a]);
    assert!(
        store
            .caller_history([9u8; 32], 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn ticket_events_come_by_time_window(store: &dyn Store) {
    let first = receive(store).await;
    act(store, dispatcher(), at_hours(1), first, dispatch("roads"))
        .await
        .unwrap();
    let second = receive_at(store, at_hours(2), "070102", None)
        .await
        .unwrap();
    let window = |from: i64, until: i64, limit: u32| async move {
        store
            .ticket_events_between(at_hours(from), at_hours(until), limit)
            .await
            .unwrap()
            .iter()
            .map(|e| (e.ticket, e.event.kind().to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        window(1, 3, 10).await,
        vec![
            (Some(first), "ticket.dispatched".to_owned()),
            (Some(second), "ticket.received".to_owned())
        ],
        "from inclusive, until exclusive, oldest first, admin events left out"
    );
    assert_eq!(window(1, 2, 10).await.len(), 1);
    assert_eq!(window(0, 3, 2).await.len(), 2, "the limit holds");
}

/// A queue worked from the ticket waiting longest: with more waiting than a page holds, the
/// oldest are the ones shown, never the ones cut off.
pub async fn a_full_queue_shows_the_ticket_waiting_longest(store: &dyn Store) {
    let mut received = Vec::new();
    for i in 0..201 {
        let at = t0() + jiff::SignedDuration::from_secs(i);
        received.push(receive_at(store, at, "070101", None).await.unwrap());
    }
    let page = |order| TicketQuery {
        statuses: vec![Status::PendingDispatch],
        limit: 200,
        order,
        ..Default::default()
    };
    let oldest = store.tickets(page(TicketOrder::OldestFirst)).await.unwrap();
    let nos: Vec<_> = oldest.iter().map(|t| t.no).collect();
    assert_eq!(
        nos,
        received[..200],
        "the 200 waiting longest, longest first"
    );
    let newest = store.tickets(page(TicketOrder::NewestFirst)).await.unwrap();
    assert_eq!(newest[0].no, received[200]);
    assert!(
        !newest.iter().any(|t| t.no == received[0]),
        "newest first, a page of 200 hides the first of 201: the reason for OldestFirst"
    );
}

/// Overdue tickets by lead unit are counted, not listed: all of them, per unit, as deadlines
/// pass, and signing (a new deadline) or replying moves a ticket out of the count.
pub async fn overdue_tickets_are_counted_by_lead_unit(store: &dyn Store) {
    let mut roads = Vec::new();
    for i in 0..3 {
        let no = receive(store).await;
        act(store, dispatcher(), at_hours(i), no, dispatch("roads"))
            .await
            .unwrap();
        roads.push(no);
    }
    let water = receive_at(store, at_hours(2), "080101", None)
        .await
        .unwrap();
    act(store, dispatcher(), at_hours(2), water, dispatch("water"))
        .await
        .unwrap();
    let open = vec![
        Status::Dispatched,
        Status::InProgress,
        Status::ReturnRequested,
    ];
    let units = vec![unit("roads"), unit("water"), unit("city")];
    let counts = |now| store.overdue_by_lead_unit(units.clone(), open.clone(), now);
    assert!(
        counts(at_hours(0)).await.unwrap().is_empty(),
        "nothing due yet"
    );
    let late = at_hours(24 * 30);
    let mut all = counts(late).await.unwrap();
    all.sort();
    assert_eq!(all, vec![(unit("roads"), 3), (unit("water"), 1)]);
    // Only the statuses asked for count.
    let replied_only = store
        .overdue_by_lead_unit(units.clone(), vec![Status::Replied], late)
        .await
        .unwrap();
    assert!(replied_only.is_empty());
    // Signing sets the reply deadline: the ticket's copy in its links moves with it.
    act(
        store,
        handler("roads"),
        at_hours(5),
        roads[0],
        TicketAction::Sign,
    )
    .await
    .unwrap();
    let signed = store.ticket(roads[0]).await.unwrap().unwrap();
    let before_reply_due = signed.next_deadline().unwrap() - jiff::SignedDuration::from_secs(1);
    let mut counts_then = counts(before_reply_due).await.unwrap();
    counts_then.sort();
    assert_eq!(counts_then, vec![(unit("roads"), 2), (unit("water"), 1)]);
}
