//! The contract on PostgreSQL, each test in a fresh schema of the database named by
//! `MINSHENG_TEST_POSTGRES_URL`, plus what only a shared server shows: several nodes writing to
//! one database, and raw edits behind the store's back.

use domain::time::LogTime;
use std::sync::Arc;

use domain::kpi::Period;
use domain::ticket::{Status, TicketAction};
use futures::future::join_all;
use jiff::Timestamp;
use sqlx::Connection as _;
use store::postgres::{PgOptions, PgStore, Scratch};
use store::{Store, TicketQuery};

use crate::fixture::*;

pub const URL_VARIABLE: &str = "MINSHENG_TEST_POSTGRES_URL";

/// A fresh schema of the test database, or `None` when no test database is configured. Under
/// `CI=true` a missing database is an error, so CI can never pass by skipping PostgreSQL.
pub async fn scratch() -> Option<Scratch> {
    let base = std::env::var(URL_VARIABLE).ok().filter(|u| !u.is_empty());
    if base.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {URL_VARIABLE} is not set: .ci/run starts PostgreSQL for the tests");
    }
    let base = base?;
    Some(
        Scratch::create(&base)
            .await
            .expect("create a scratch schema in the test database"),
    )
}

async fn fresh() -> Option<(Arc<dyn Store>, Scratch)> {
    let schema = scratch().await?;
    let store = PgStore::open(&schema.url(), PgOptions::default())
        .await
        .unwrap();
    Some((Arc::new(store), schema))
}

crate::contract_tests!(fresh);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_nodes_writing_at_once_keep_one_chain() {
    let Some(schema) = scratch().await else {
        return;
    };
    let first = PgStore::open(&schema.url(), PgOptions::default())
        .await
        .unwrap();
    bootstrap(&first).await;
    let nodes = [
        first,
        PgStore::open(&schema.url(), PgOptions::default())
            .await
            .unwrap(),
        PgStore::open(&schema.url(), PgOptions::default())
            .await
            .unwrap(),
    ];
    let head = nodes[0].audit_head().await.unwrap();
    // Each node receives and dispatches tickets concurrently with the others.
    let work = (0..90).map(|i| {
        let node = &nodes[i % 3];
        async move {
            let no = receive_at(node, t0(), "070101", Some(sealed(5000 + i as u64, None)))
                .await
                .unwrap();
            act(node, dispatcher(), at_hours(1), no, dispatch("roads"))
                .await
                .unwrap();
            no
        }
    });
    let numbers = join_all(work).await;
    let distinct: std::collections::BTreeSet<_> = numbers.iter().map(|n| n.counter()).collect();
    assert_eq!(distinct.len(), 90, "no ticket number was handed out twice");
    let verified = nodes[1].verify_log(None).await.unwrap().unwrap();
    assert_eq!(verified.seq, head.seq + 180, "no gap and no duplicate");
    // A ticket dispatched on one node is signed on another: the second node catches up.
    act(
        &nodes[2],
        handler("roads"),
        at_hours(2),
        numbers[0],
        TicketAction::Sign,
    )
    .await
    .unwrap();
    assert_eq!(
        nodes[0].ticket(numbers[0]).await.unwrap().unwrap().status,
        Status::InProgress
    );
    // A user created on one node can act on another.
    let newcomer = user(
        "newcomer",
        domain::org::Role::Dispatcher,
        domain::org::Affiliation::Centre,
    );
    nodes[0]
        .submit(store::Submission {
            actor: domain::org::Actor::system("test"),
            now: LogTime::of(t0()),
            command: store::Command::Admin {
                command: domain::admin::AdminCommand::CreateUser(newcomer.clone()),
                secret: None,
            },
        })
        .await
        .unwrap();
    act(
        &nodes[1],
        newcomer.actor(),
        at_hours(2),
        numbers[1],
        TicketAction::Urge {
            note: "请尽快".into(),
        },
    )
    .await
    .unwrap();
    for node in &nodes {
        node.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_repairs_projections_and_the_log_refuses_edits() {
    let Some(schema) = scratch().await else {
        return;
    };
    let store = PgStore::open(&schema.url(), PgOptions::default())
        .await
        .unwrap();
    bootstrap(&store).await;
    let no = receive(&store).await;
    act(&store, dispatcher(), at_hours(1), no, dispatch("roads"))
        .await
        .unwrap();
    sqlx::query("UPDATE tickets SET status = 'closed' WHERE no = $1")
        .bind(no.to_storage())
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        store
            .tickets(TicketQuery {
                statuses: vec![Status::Closed],
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
    let report = store.rebuild().await.unwrap();
    assert_eq!(report.differing.len(), 1);
    assert_eq!(report.differing[0].no, no);
    // The unit links' copy of the status no longer agrees with the edited row either.
    assert_eq!(report.differing[0].fields, ["status", "units"]);
    assert!(
        store
            .tickets(TicketQuery {
                statuses: vec![Status::Closed],
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.rebuild().await.unwrap().differing.is_empty());

    for statement in [
        "UPDATE log SET actor = 'someone' WHERE seq = 1",
        "DELETE FROM log WHERE seq = 1",
        "TRUNCATE log CASCADE",
    ] {
        let err = sqlx::raw_sql(statement)
            .execute(store.pool())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: {err}"
        );
    }
    store.close().await;
    // Everything committed is there when the store opens again.
    let reopened = PgStore::open(&schema.url(), PgOptions::default())
        .await
        .unwrap();
    assert_eq!(
        reopened.ticket(no).await.unwrap().unwrap().status,
        Status::Dispatched
    );
    assert_eq!(reopened.registry().units.len(), 3);
    assert!(reopened.verify_log(None).await.unwrap().is_ok());
    reopened.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_recounts_rollups_edited_behind_the_logs_back() {
    let Some(schema) = scratch().await else {
        return;
    };
    let store = PgStore::open(&schema.url(), PgOptions::default())
        .await
        .unwrap();
    bootstrap(&store).await;
    let no = receive(&store).await;
    act(&store, dispatcher(), at_hours(1), no, dispatch("roads"))
        .await
        .unwrap();
    let day = Period {
        start: Timestamp::from_second(1_795_622_400).unwrap(), // 2026-11-26 00:00 Beijing
        end: Timestamp::from_second(1_795_708_800).unwrap(),
    };
    let honest = store.kpi_from_rollups(vec![day]).await.unwrap();
    assert_eq!(honest[0].units[&unit("roads")].dispatched, 1);
    sqlx::query("UPDATE kpi_unit_day SET dispatched = 40, solved = 40")
        .execute(store.pool())
        .await
        .unwrap();
    assert_ne!(store.kpi_from_rollups(vec![day]).await.unwrap(), honest);
    let report = store.rebuild().await.unwrap();
    assert_eq!(report.rollup_days, ["2026-11-26".parse().unwrap()]);
    assert_eq!(store.kpi_from_rollups(vec![day]).await.unwrap(), honest);
    store.close().await;

    // A database written before the rollups existed has them filled once at start.
    sqlx::raw_sql("DELETE FROM kpi_unit_day; DELETE FROM kpi_hotline_day;")
        .execute(store.pool())
        .await
        .unwrap();
    let reopened = PgStore::open(&schema.url(), PgOptions::default())
        .await
        .unwrap();
    assert_eq!(reopened.kpi_from_rollups(vec![day]).await.unwrap(), honest);
    reopened.close().await;
}

/// A database restart or failover drops every connection. The node must not need restarting:
/// its writer reconnects before the next batch, its readers are replaced, and the chain goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_carries_on_after_the_database_drops_its_connections() {
    let Some(schema) = scratch().await else {
        return;
    };
    // A name to find exactly this store's connections by, among other tests' on the server.
    let name = format!("minsheng_cut_{}", std::process::id());
    let url = format!("{}&application_name={name}", schema.url());
    let store = PgStore::open(&url, PgOptions::default()).await.unwrap();
    bootstrap(&store).await;
    let before = receive_at(&store, t0(), "070101", Some(sealed(9001, None)))
        .await
        .unwrap();

    let mut admin = sqlx::PgConnection::connect(&schema.url()).await.unwrap();
    let cut: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1) AS terminated",
    )
    .bind(&name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(
        cut >= 2,
        "the writer's and at least one reader's connection were cut ({cut})"
    );

    // Straight away, before the writer's idle check could notice: the command still commits.
    let after = receive_at(&store, at_hours(1), "070101", Some(sealed(9002, None)))
        .await
        .unwrap();
    act(&store, dispatcher(), at_hours(2), before, dispatch("roads"))
        .await
        .unwrap();
    assert_eq!(
        store.ticket(before).await.unwrap().unwrap().status,
        Status::Dispatched
    );
    assert!(store.ticket(after).await.unwrap().is_some());
    let head = store.verify_log(None).await.unwrap().unwrap();
    assert_eq!(head, store.audit_head().await.unwrap());
    let reconnected: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert!(reconnected >= 2, "the node is connected again");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_whose_applied_migration_differs_from_the_binarys_is_refused() {
    let Some(schema) = scratch().await else {
        return;
    };
    let store = PgStore::open(&schema.url(), PgOptions::default())
        .await
        .unwrap();
    store.close().await;
    let edit = |sql: &'static str| {
        let url = schema.url();
        async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    };
    edit("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 3").await;
    let refused = PgStore::open(&schema.url(), PgOptions::default())
        .await
        .err()
        .expect("an edited migration is refused");
    assert!(
        refused.to_string().contains("migration 3") && refused.to_string().contains("edited"),
        "{refused}"
    );
    edit("UPDATE schema_migrations SET checksum = NULL").await;
    let store = PgStore::open(&schema.url(), PgOptions::default())
        .await
        .unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_whose_log_does_not_verify_leaves_the_target_empty() {
    let Some(schema) = scratch().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.db");
    let source =
        store::sqlite::SqliteStore::open(&path, store::sqlite::SqliteOptions::default()).unwrap();
    bootstrap(&source).await;
    receive(&source).await;
    source.close().await;
    drop(source);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER log_is_append_only_update;
         UPDATE log SET body = replace(body, '路灯', '路等') WHERE seq = (SELECT max(seq) FROM log);",
    )
    .unwrap();
    drop(conn);
    let refused = store::copy::sqlite_to_postgres(&path, &schema.url())
        .await
        .expect_err("a source whose log does not verify is not copied");
    assert!(
        refused.to_string().contains("nothing was written"),
        "{refused}"
    );
    let mut target = sqlx::PgConnection::connect(&schema.url()).await.unwrap();
    let (entries,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM log")
        .fetch_one(&mut target)
        .await
        .unwrap();
    assert_eq!(entries, 0, "no half-filled target");
}
