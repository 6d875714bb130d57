//! The behaviours every backend must show. Each function gets a fresh, bootstrapped store.

use domain::time::LogTime;
use std::collections::BTreeSet;

use domain::DomainError;
use domain::admin::AdminCommand;
use domain::audit::LogEvent;
use domain::ids::{TicketNo, UserId};
use domain::kpi::Period;
use domain::ticket::{FollowUpOutcome, ReplyClaim, Satisfaction, Status, TicketAction};
use futures::future::join_all;
use jiff::{SignedDuration, Timestamp};
use store::{Command, Secret, Store, StoreError, Submission};

use crate::fixture::*;
pub use crate::outbox::messages_are_written_with_their_events_and_settled_once;
pub use crate::queries::{
    a_full_queue_shows_the_ticket_waiting_longest, caller_history_uses_the_phone_index,
    lists_filter_and_page, overdue_tickets_are_counted_by_lead_unit,
    ticket_events_come_by_time_window,
};

/// Declares one test per suite function for a backend: `contract_tests!(fresh_store_expression)`.
#[macro_export]
macro_rules! contract_tests {
    ($fresh:path) => {
        $crate::contract_tests!(@each $fresh;
            a_lifecycle_commits_projects_and_chains,
            refused_commands_write_nothing,
            ticket_numbers_count_per_local_day,
            concurrent_commands_commit_in_groups_without_gaps,
            a_refused_command_in_a_batch_leaves_the_others,
            lists_filter_and_page,
            a_full_queue_shows_the_ticket_waiting_longest,
            overdue_tickets_are_counted_by_lead_unit,
            caller_history_uses_the_phone_index,
            ticket_events_come_by_time_window,
            messages_are_written_with_their_events_and_settled_once,
            secrets_stay_beside_the_log,
            numbers_in_text_are_sealed_with_their_command,
            rebuild_reproduces_the_projections_and_kpis_agree,
            the_registry_follows_admin_events,
            a_closed_store_refuses_writes,
        );
    };
    (@each $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some((store, _guard)) = $fresh().await else {
                    eprintln!("skipped: this backend is not configured (see README, Development)");
                    return;
                };
                $crate::fixture::bootstrap(store.as_ref()).await;
                $crate::suite::$name(store.as_ref()).await;
                store.close().await;
            }
        )*
    };
}

pub async fn a_lifecycle_commits_projects_and_chains(store: &dyn Store) {
    let head = store.audit_head().await.unwrap();
    let no = receive_at(store, t0(), "070101", Some(sealed(11, None)))
        .await
        .unwrap();
    act(store, dispatcher(), at_hours(1), no, dispatch("roads"))
        .await
        .unwrap();
    act(store, handler("roads"), at_hours(2), no, TicketAction::Sign)
        .await
        .unwrap();
    act(
        store,
        handler("roads"),
        at_hours(30),
        no,
        TicketAction::Reply {
            result: "已修复".into(),
            claim: ReplyClaim::Solved,
        },
    )
    .await
    .unwrap();
    let committed = act(
        store,
        follow_up(),
        at_hours(50),
        no,
        TicketAction::RecordFollowUp {
            outcome: FollowUpOutcome::Reached {
                unit_contacted: true,
                solved: true,
                satisfaction: Satisfaction::Satisfied,
            },
            comment: String::new(),
        },
    )
    .await
    .unwrap();
    assert_eq!(committed.ticket().unwrap().status, Status::Closed);

    let ticket = store.ticket(no).await.unwrap().unwrap();
    assert_eq!(ticket.status, Status::Closed);
    assert_eq!(ticket.contact.unwrap().0, 11);
    assert_eq!(&ticket, committed.ticket().unwrap());

    let log = store.ticket_log(no).await.unwrap();
    let kinds: Vec<_> = log.iter().map(|e| e.event.kind()).collect();
    assert_eq!(
        kinds,
        [
            "ticket.received",
            "ticket.dispatched",
            "ticket.signed",
            "ticket.replied",
            "ticket.follow_up_recorded",
            "ticket.closed"
        ]
    );
    assert_eq!(log[0].actor, "op");
    assert_eq!(log[2].at.timestamp(), at_hours(2));

    let new_head = store.audit_head().await.unwrap();
    assert_eq!(new_head.seq, head.seq + 6);
    assert_eq!(store.verify_log(None).await.unwrap().unwrap(), new_head);
    assert!(
        store
            .contact(ticket.contact.unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn refused_commands_write_nothing(store: &dyn Store) {
    let first = receive(store).await;
    let head = store.audit_head().await.unwrap();
    let err = act(store, operator(), at_hours(1), first, dispatch("roads"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Refused(DomainError::NotPermitted { .. })),
        "{err}"
    );
    let err = act(store, dispatcher(), at_hours(1), first, dispatch("nowhere"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown unit"), "{err}");
    // A refused receive consumes no ticket number.
    let err = receive_at(store, t0(), "07", None).await.unwrap_err();
    assert!(err.to_string().contains("level-3"), "{err}");
    assert_eq!(store.audit_head().await.unwrap(), head);
    let second = receive(store).await;
    assert_eq!(second.counter(), first.counter() + 1);
    assert_eq!(
        store.ticket(first).await.unwrap().unwrap().status,
        Status::PendingDispatch
    );
}

pub async fn ticket_numbers_count_per_local_day(store: &dyn Store) {
    let a = receive(store).await;
    let b = receive(store).await;
    // 23:30 in Beijing is still the same local day; 00:30 the next.
    let late = receive_at(
        store,
        at_hours(13) + SignedDuration::from_mins(30),
        "070101",
        None,
    )
    .await
    .unwrap();
    let next_day = receive_at(
        store,
        at_hours(14) + SignedDuration::from_mins(30),
        "070101",
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        [a.to_string(), b.to_string(), late.to_string()],
        ["26112600001", "26112600002", "26112600003"]
    );
    assert_eq!(next_day.to_string(), "26112700001");
}

pub async fn concurrent_commands_commit_in_groups_without_gaps(store: &dyn Store) {
    let head = store.audit_head().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..300u64 {
        tasks.push(
            async move { receive_at(store, t0(), "070101", Some(sealed(1000 + i, None))).await },
        );
    }
    let numbers: Vec<TicketNo> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let distinct: BTreeSet<_> = numbers.iter().map(|n| n.counter()).collect();
    assert_eq!(distinct, (1..=300).collect());
    let after = store.audit_head().await.unwrap();
    assert_eq!(after.seq, head.seq + 300);
    assert_eq!(store.verify_log(None).await.unwrap().unwrap(), after);
}

pub async fn a_refused_command_in_a_batch_leaves_the_others(store: &dyn Store) {
    let no = receive(store).await;
    let mut tasks = Vec::new();
    for i in 0..50u32 {
        let action = if i % 10 == 0 {
            TicketAction::RevealContact {
                purpose: domain::permission::RevealPurpose::ClarifyRequest,
                reason: "没有联系方式".into(),
            } // refused: no contact
        } else {
            TicketAction::AddNote {
                text: format!("note {i}"),
                contacted_citizen: false,
            }
        };
        tasks.push(act(store, dispatcher(), at_hours(1), no, action));
    }
    let results = join_all(tasks).await;
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 5);
    let notes = store
        .ticket_log(no)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event.kind() == "ticket.note_added")
        .count();
    assert_eq!(notes, 45);
    assert!(store.verify_log(None).await.unwrap().is_ok());
}

pub async fn numbers_in_text_are_sealed_with_their_command(store: &dyn Store) {
    use domain::numbers::{NumberKind, SealedNumber};
    let sealed_numbers = |id: u64, masked: &str| store::SealedNumbers {
        id,
        listed: vec![SealedNumber {
            field: "text".into(),
            kind: NumberKind::Mobile,
            masked: masked.into(),
        }],
        key_id: 1,
        nonce: vec![0; 24],
        ciphertext: b"opaque numbers".to_vec(),
    };
    let note = |text: &str| TicketAction::AddNote {
        text: text.into(),
        contacted_citizen: false,
    };
    let no = receive(store).await;
    let submit = |actor, id, masked: &'static str| {
        store.submit(Submission {
            actor,
            now: LogTime::of(at_hours(1)),
            command: Command::Ticket {
                no,
                action: note("市民补充电话 138****1234"),
                numbers: Some(sealed_numbers(id, masked)),
            },
        })
    };
    // Refused (a unit's staff on a ticket not dispatched to them): nothing sealed either.
    submit(handler("roads"), 9, "139****0000")
        .await
        .unwrap_err();
    assert!(store.written_numbers(no).await.unwrap().is_empty());

    let committed = submit(operator(), 7, "138****1234").await.unwrap();
    let first_seq = committed.last_seq().unwrap() - 1;
    let stored = store.written_numbers(no).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].id, stored[0].seq, &stored[0].ciphertext[..]),
        (7, first_seq, &b"opaque numbers"[..])
    );
    // The log says which text had numbers and how they show, never the numbers.
    let log = store.ticket_log(no).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.event.kind(), "ticket.numbers_sealed");
    assert_eq!(log[log.len() - 2].event.kind(), "ticket.note_added");
    let ticket = store.ticket(no).await.unwrap().unwrap();
    assert_eq!(ticket.sealed_numbers, 1);
    assert!(ticket.has_personal_data());
    store.verify_log(None).await.unwrap().unwrap();
}

pub async fn secrets_stay_beside_the_log(store: &dyn Store) {
    let system = domain::org::Actor::system("test");
    let secret_hash =
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$notarealhashbutsecretenough".to_owned();
    let newcomer = user(
        "newcomer",
        domain::org::Role::Operator,
        domain::org::Affiliation::Centre,
    );
    store
        .submit(Submission {
            actor: system.clone(),
            now: LogTime::of(t0()),
            command: Command::Admin {
                command: AdminCommand::CreateUser(newcomer.clone()),
                secret: Some(Secret::PasswordHash(secret_hash.clone())),
            },
        })
        .await
        .unwrap();
    assert_eq!(
        store.password_hash(&newcomer.id).await.unwrap(),
        Some(secret_hash.clone())
    );

    let token_hash = [42u8; 32];
    let issue = AdminCommand::IssueToken {
        token_id: "tok1".into(),
        user: newcomer.id.clone(),
        label: "cli".into(),
        expires_at: None,
    };
    store
        .submit(Submission {
            actor: system.clone(),
            now: LogTime::of(t0()),
            command: Command::Admin {
                command: issue,
                secret: Some(Secret::TokenHash(token_hash)),
            },
        })
        .await
        .unwrap();
    let record = store.token(token_hash).await.unwrap().unwrap();
    assert_eq!(
        (record.id.as_str(), record.user.as_str(), record.revoked_at),
        ("tok1", "newcomer", None)
    );

    let revoke = |id: &str, user: &str| AdminCommand::RevokeToken {
        token_id: id.into(),
        user: UserId::parse(user).unwrap(),
    };
    let wrong_owner = store
        .submit(Submission {
            actor: system.clone(),
            now: LogTime::of(at_hours(1)),
            command: Command::Admin {
                command: revoke("tok1", "op"),
                secret: None,
            },
        })
        .await;
    assert!(wrong_owner.is_err());
    store
        .submit(Submission {
            actor: system.clone(),
            now: LogTime::of(at_hours(1)),
            command: Command::Admin {
                command: revoke("tok1", "newcomer"),
                secret: None,
            },
        })
        .await
        .unwrap();
    assert_eq!(
        store.token(token_hash).await.unwrap().unwrap().revoked_at,
        Some(at_hours(1))
    );

    // The log records that these happened, never the secrets themselves.
    let head = store.audit_head().await.unwrap();
    assert!(head.seq > 0);
    let duplicate = store
        .submit(Submission {
            actor: system,
            now: LogTime::of(t0()),
            command: Command::Admin {
                command: AdminCommand::CreateUser(newcomer),
                secret: None,
            },
        })
        .await
        .unwrap_err();
    assert!(
        duplicate.to_string().contains("exists already"),
        "{duplicate}"
    );
}

pub async fn rebuild_reproduces_the_projections_and_kpis_agree(store: &dyn Store) {
    for i in 0..12i64 {
        let no = receive_at(store, at_hours(i), "070101", None)
            .await
            .unwrap();
        act(
            store,
            dispatcher(),
            at_hours(i + 1),
            no,
            dispatch(if i % 2 == 0 { "roads" } else { "water" }),
        )
        .await
        .unwrap();
        if i % 3 == 0 {
            continue;
        }
        let lead = if i % 2 == 0 { "roads" } else { "water" };
        act(
            store,
            handler(lead),
            at_hours(i + 2),
            no,
            TicketAction::Sign,
        )
        .await
        .unwrap();
        act(
            store,
            handler(lead),
            at_hours(i + 20),
            no,
            TicketAction::Reply {
                result: "处理完毕".into(),
                claim: ReplyClaim::Solved,
            },
        )
        .await
        .unwrap();
        let outcome = FollowUpOutcome::Reached {
            unit_contacted: true,
            solved: i % 4 != 2,
            satisfaction: Satisfaction::BasicallySatisfied,
        };
        act(
            store,
            follow_up(),
            at_hours(i + 40),
            no,
            TicketAction::RecordFollowUp {
                outcome,
                comment: String::new(),
            },
        )
        .await
        .unwrap();
    }
    let report = store.rebuild().await.unwrap();
    assert_eq!(report.tickets, 12);
    assert!(report.differing.is_empty(), "{:?}", report.differing);
    assert!(report.orphans.is_empty());

    let period = Period {
        start: t0(),
        end: at_hours(24 * 7),
    };
    let from_log = store.kpi_from_log(period).await.unwrap();
    let from_tickets = store.kpi_from_tickets(period).await.unwrap();
    assert_eq!(from_log, from_tickets);
    // The rollups count whole days: from midnight before the first ticket to a week later, and
    // each of those days alone, they say what the log says.
    let midnight = Timestamp::from_second(1_795_622_400).unwrap(); // 2026-11-26 00:00 Beijing
    let days: Vec<Period> = (0..8)
        .map(|d| Period {
            start: midnight + SignedDuration::from_hours(24 * d),
            end: midnight + SignedDuration::from_hours(24 * (d + 1)),
        })
        .collect();
    let week = Period {
        start: midnight,
        end: midnight + SignedDuration::from_hours(24 * 8),
    };
    let mut periods = vec![week];
    periods.extend(days.iter().copied());
    let from_rollups = store.kpi_from_rollups(periods.clone()).await.unwrap();
    for (period, rolled_up) in periods.iter().zip(&from_rollups) {
        assert_eq!(
            *rolled_up,
            store.kpi_from_log(*period).await.unwrap(),
            "{period:?}"
        );
    }
    assert_eq!(from_rollups[0].hotline.received, 12);
    assert!(report.rollup_days.is_empty(), "{:?}", report.rollup_days);
    let roads = &from_log.units[&unit("roads")];
    assert_eq!(roads.dispatched, 6);
    assert!(
        roads.follow_ups_reached > 0 && roads.solved < roads.claimed_solved,
        "{roads:?}"
    );
    assert_eq!(from_log.hotline.received, 12);
    let entries = store
        .ticket_log(TicketNo::parse("26112600001").unwrap())
        .await
        .unwrap();
    assert!(matches!(entries[0].event, LogEvent::Ticket(_)));
}

pub async fn the_registry_follows_admin_events(store: &dyn Store) {
    let registry = store.registry();
    assert_eq!(registry.units.len(), 3);
    assert_eq!(registry.users.len(), 5);
    assert_eq!(
        registry.category_path(&"070102".parse_category()),
        "城乡建设 / 市政设施 / 路灯照明"
    );
    assert_eq!(
        registry.division_name(&domain::ids::DivisionCode::parse("990101001").unwrap()),
        Some("湖滨街道")
    );
    let mut policy = registry.rules.policy.clone();
    policy.kpi.response = 20;
    policy.kpi.resolution = 40;
    policy.kpi.satisfaction = 40;
    let set = |policy| Submission {
        actor: domain::org::Actor::system("test"),
        now: LogTime::of(t0()),
        command: Command::Admin {
            command: AdminCommand::SetPolicy(policy),
            secret: None,
        },
    };
    store.submit(set(policy.clone())).await.unwrap();
    assert_eq!(store.registry().rules.policy.kpi.response, 20);
    let mut bad_zone = policy;
    bad_zone.time_zone = "Mars/Olympus".into();
    let err = store.submit(set(bad_zone)).await.unwrap_err();
    assert!(err.to_string().contains("time zone"), "{err}");
    assert_eq!(store.registry().rules.policy.time_zone, "Asia/Shanghai");
}

pub async fn a_closed_store_refuses_writes(store: &dyn Store) {
    let no = receive(store).await;
    store.close().await;
    let err = act(store, dispatcher(), at_hours(1), no, dispatch("roads"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    // Reads still work.
    assert!(store.ticket(no).await.unwrap().is_some());
}
