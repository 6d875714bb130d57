//! The contract on SQLite, plus what only a file database shows: reopening and raw edits.

use domain::time::LogTime;
use std::sync::Arc;

use domain::kpi::Period;
use domain::ticket::{Status, TicketAction};
use jiff::Timestamp;
use store::sqlite::{SqliteOptions, SqliteStore};
use store::{Store, TicketQuery};
use tempfile::TempDir;

use crate::fixture::*;

async fn fresh() -> Option<(Arc<dyn Store>, TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("test.db"), SqliteOptions::default()).unwrap();
    Some((Arc::new(store), dir))
}

crate::contract_tests!(fresh);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_and_its_wal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    bootstrap(&store).await;
    receive(&store).await;
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.path().join(format!("private.db{suffix}"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_committed_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    bootstrap(&store).await;
    let no = receive(&store).await;
    act(&store, dispatcher(), at_hours(1), no, dispatch("roads"))
        .await
        .unwrap();
    let head = store.audit_head().await.unwrap();
    store.close().await;
    drop(store);

    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    assert_eq!(store.audit_head().await.unwrap(), head);
    assert_eq!(store.registry().units.len(), 3);
    assert_eq!(
        store.ticket(no).await.unwrap().unwrap().status,
        Status::Dispatched
    );
    // The chain continues from where it was.
    act(
        &store,
        handler("roads"),
        at_hours(2),
        no,
        TicketAction::Sign,
    )
    .await
    .unwrap();
    assert_eq!(
        store.verify_log(None).await.unwrap().unwrap().seq,
        head.seq + 1
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_repairs_a_projection_edited_behind_the_logs_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    bootstrap(&store).await;
    let edited = receive(&store).await;
    let deleted = receive(&store).await;
    act(&store, dispatcher(), at_hours(1), edited, dispatch("roads"))
        .await
        .unwrap();
    let forged = rusqlite::Connection::open(&path).unwrap();
    forged
        .execute(
            "UPDATE tickets SET status = 'closed' WHERE no = ?1",
            [edited.to_storage()],
        )
        .unwrap();
    forged
        .execute(
            "UPDATE tickets SET category = '080101' WHERE no = ?1",
            [deleted.to_storage()],
        )
        .unwrap();
    forged.execute(
        "INSERT INTO tickets (no, status, category, received_at, updated_at, version, state) SELECT no + 1000, status, category, received_at, updated_at, version, state FROM tickets WHERE no = ?1",
        [deleted.to_storage()],
    )
    .unwrap();
    drop(forged);
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
    let found: Vec<_> = report
        .differing
        .iter()
        .map(|d| (d.no, d.fields.clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            // The unit links' copy of the status no longer agrees with the edited row either.
            (edited, vec!["status".to_owned(), "units".to_owned()]),
            (deleted, vec!["category".to_owned()])
        ]
    );
    assert_eq!(report.orphans.len(), 1);
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
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_link_whose_copy_of_the_status_is_stale_is_repaired_by_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    bootstrap(&store).await;
    let no = receive(&store).await;
    act(&store, dispatcher(), at_hours(1), no, dispatch("roads"))
        .await
        .unwrap();
    let inbox = || TicketQuery {
        statuses: vec![Status::Dispatched],
        unit: Some(unit("roads")),
        limit: 10,
        order: store::TicketOrder::DeadlineFirst,
        ..Default::default()
    };
    assert_eq!(store.tickets(inbox()).await.unwrap().len(), 1);
    let forged = rusqlite::Connection::open(&path).unwrap();
    forged
        .execute("UPDATE ticket_units SET status = 'closed'", [])
        .unwrap();
    drop(forged);
    // The unit's inbox reads the links: the ticket vanished from it.
    assert!(store.tickets(inbox()).await.unwrap().is_empty());
    let report = store.rebuild().await.unwrap();
    assert_eq!(report.differing.len(), 1);
    assert_eq!(report.differing[0].fields, ["units"]);
    assert_eq!(store.tickets(inbox()).await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_recounts_rollups_edited_behind_the_logs_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
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
    let forged = rusqlite::Connection::open(&path).unwrap();
    forged
        .execute_batch("UPDATE kpi_unit_day SET dispatched = 40, solved = 40")
        .unwrap();
    drop(forged);
    assert_ne!(store.kpi_from_rollups(vec![day]).await.unwrap(), honest);

    let report = store.rebuild().await.unwrap();
    assert_eq!(report.rollup_days, ["2026-11-26".parse().unwrap()]);
    assert!(report.differing.is_empty());
    assert_eq!(store.kpi_from_rollups(vec![day]).await.unwrap(), honest);
    assert!(store.rebuild().await.unwrap().rollup_days.is_empty());
    store.close().await;

    // A database written before the rollups existed has them filled once at start.
    let emptied = rusqlite::Connection::open(&path).unwrap();
    emptied
        .execute_batch("DELETE FROM kpi_unit_day; DELETE FROM kpi_hotline_day;")
        .unwrap();
    drop(emptied);
    let reopened = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    assert_eq!(reopened.kpi_from_rollups(vec![day]).await.unwrap(), honest);
    reopened.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_refuses_updates_and_deletes_through_sql() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    bootstrap(&store).await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let update = conn
        .execute("UPDATE log SET actor = 'someone' WHERE seq = 1", [])
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    assert!(conn.execute("DELETE FROM log WHERE seq = 1", []).is_err());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_file_keep_one_chain() {
    // As when an administrator runs a console command while the server is running.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let server = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    bootstrap(&server).await;
    let console = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    for i in 0..20 {
        let writer: &dyn Store = if i % 2 == 0 { &server } else { &console };
        receive(writer).await;
    }
    let newcomer = user(
        "newcomer",
        domain::org::Role::Dispatcher,
        domain::org::Affiliation::Centre,
    );
    console
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
    // The server's next command sees the new user and continues the same chain.
    let no = receive(&server).await;
    act(
        &server,
        newcomer.actor(),
        at_hours(1),
        no,
        dispatch("roads"),
    )
    .await
    .unwrap();
    let head = server.verify_log(None).await.unwrap().unwrap();
    assert_eq!(head, console.verify_log(None).await.unwrap().unwrap());
    assert_eq!(no.counter(), 21);
    console.close().await;
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_under_its_bound_while_writes_never_stop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bounded.db");
    let limit = 4 << 20;
    let options = SqliteOptions {
        wal_limit: limit,
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open(&path, options).unwrap());
    bootstrap(store.as_ref()).await;
    let wal = dir.path().join("bounded.db-wal");
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (wal, watching) = (wal.clone(), watching.clone());
        std::thread::spawn(move || {
            let mut largest = 0;
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            largest
        })
    };
    // 16 writers, 250 tickets each: about 60 MB of WAL written in all, fifteen times the bound.
    let writers: Vec<_> = (0..16u64)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut nos = Vec::new();
                for i in 0..250u64 {
                    let mut contact = sealed(w * 1000 + i + 1, Some([(w * 7 + i) as u8; 32]));
                    contact.ciphertext = vec![7; 600];
                    let no = receive_at(store.as_ref(), t0(), "070101", Some(contact))
                        .await
                        .unwrap();
                    nos.push(no);
                }
                nos
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let largest = watcher.join().unwrap();
    let stats = store.stats();
    let written = stats
        .wal_bytes_written
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        written > 10 * limit,
        "the test must write many times the bound: {written} bytes"
    );
    assert!(
        largest <= limit,
        "the WAL reached {largest} bytes; its bound is {limit}"
    );
    assert!(
        stats
            .wal_restarts
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    assert_eq!(acknowledged.len(), 4000);
    for no in acknowledged {
        assert!(store.ticket(no).await.unwrap().is_some(), "{no} is missing");
    }
    let head = store.verify_log(None).await.unwrap().unwrap();
    store.close().await;
    drop(store);
    assert_eq!(
        SqliteStore::verify_file(&path, None).unwrap().unwrap(),
        head
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_writer_queue_refuses_at_once_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions {
        queue_capacity: 2,
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open(dir.path().join("busy.db"), options).unwrap());
    bootstrap(store.as_ref()).await;
    let before = store.audit_head().await.unwrap().seq;
    let tries: Vec<_> = (0..200)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { receive_at(store.as_ref(), t0(), "070101", None).await })
        })
        .collect();
    let (mut accepted, mut refused) = (Vec::new(), 0);
    for attempt in tries {
        match attempt.await.unwrap() {
            Ok(no) => accepted.push(no),
            Err(store::StoreError::Saturated(waiting)) => {
                assert_eq!(waiting, 2);
                refused += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(refused > 0, "200 at once must overflow a queue of 2");
    assert!(!accepted.is_empty());
    for no in &accepted {
        assert!(store.ticket(*no).await.unwrap().is_some());
    }
    // Only what was accepted was written: one log entry per ticket received.
    let head = store.verify_log(None).await.unwrap().unwrap();
    assert_eq!(head.seq - before, accepted.len() as u64);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_whose_applied_migration_differs_from_the_binarys_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    store.close().await;
    drop(store);
    // As if migration 3 had been edited after this database applied it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 3",
        [],
    )
    .unwrap();
    drop(conn);
    let refused = SqliteStore::open(&path, SqliteOptions::default())
        .err()
        .expect("an edited migration is refused");
    assert!(
        refused.to_string().contains("migration 3") && refused.to_string().contains("edited"),
        "{refused}"
    );
    // A database from before checksums were kept gets them, and opens.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE schema_migrations SET checksum = NULL", [])
        .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    store.close().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let missing: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM schema_migrations WHERE checksum IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(missing, 0);
}
