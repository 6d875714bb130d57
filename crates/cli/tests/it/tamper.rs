//! Someone with write access to the database file edits, deletes, inserts, reorders or rewrites
//! log rows with raw SQL; `minsheng audit verify` catches each and names where.

use std::path::{Path, PathBuf};

use domain::audit::{EntryFields, Hash, entry_hash};
use rusqlite::{Connection, params};

use crate::cli::{demo_db, run, stdout};

/// A copy of the demo database with its WAL folded in, opened for tampering like an intruder
/// would: the append-only triggers dropped first.
fn tampered_copy(source: &Path, name: &str) -> (PathBuf, Connection) {
    let conn = Connection::open(source).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    let copy = source.with_file_name(format!("{name}.db"));
    std::fs::copy(source, &copy).unwrap();
    let conn = Connection::open(&copy).unwrap();
    conn.execute_batch(
        "DROP TRIGGER log_is_append_only_update; DROP TRIGGER log_is_append_only_delete;",
    )
    .unwrap();
    (copy, conn)
}

fn verify(db: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["audit", "verify", "--db", db.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&args);
    (out.status.success(), stdout(&out))
}

struct Row {
    seq: i64,
    at: i64,
    actor: String,
    ticket: Option<i64>,
    kind: String,
    body: String,
    prev: String,
}

fn row(conn: &Connection, seq: i64) -> Row {
    conn.query_row(
        "SELECT seq, at, actor, ticket, kind, body, prev FROM log WHERE seq = ?1",
        [seq],
        |r| {
            Ok(Row {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                ticket: r.get(3)?,
                kind: r.get(4)?,
                body: r.get(5)?,
                prev: r.get(6)?,
            })
        },
    )
    .unwrap()
}

fn hash_of(r: &Row) -> Hash {
    let prev = Hash::parse(&r.prev).unwrap();
    entry_hash(
        &prev,
        &EntryFields {
            seq: r.seq as u64,
            at_ms: r.at,
            actor: &r.actor,
            ticket: r.ticket,
            kind: &r.kind,
            body: r.body.as_bytes(),
        },
    )
}

/// A ticket event somewhere in the middle of the log.
fn middle_ticket_entry(conn: &Connection) -> i64 {
    let count: i64 = conn
        .query_row("SELECT COUNT(*) FROM log", [], |r| r.get(0))
        .unwrap();
    conn.query_row(
        "SELECT MIN(seq) FROM log WHERE seq > ?1 AND kind = 'ticket.replied'",
        [count / 2],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn every_kind_of_tampering_is_caught_and_located() {
    let (_dir, db) = demo_db();
    let (intact, text) = verify(&db, &[]);
    assert!(intact, "{text}");

    // Changed: a unit's reply is reworded after the fact.
    let (copy, conn) = tampered_copy(&db, "edited");
    let target = middle_ticket_entry(&conn);
    let changed = conn
        .execute(
            "UPDATE log SET body = replace(body, '\"claim\":\"', '\"claim\":\"x') WHERE seq = ?1",
            [target],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let (ok, text) = verify(&copy, &[]);
    assert!(!ok);
    assert!(
        text.contains(&format!("BROKEN at entry {target}:")) && text.contains("was changed"),
        "{text}"
    );

    // Removed: an embarrassing follow-up disappears.
    let (copy, conn) = tampered_copy(&db, "deleted");
    let target = middle_ticket_entry(&conn);
    conn.execute("DELETE FROM log WHERE seq = ?1", [target])
        .unwrap();
    drop(conn);
    let (ok, text) = verify(&copy, &[]);
    assert!(!ok);
    assert!(
        text.contains(&format!("BROKEN at entry {target}:")),
        "{text}"
    );

    // Inserted: a forged entry slipped in with a correct hash of its own, later rows renumbered.
    let (copy, conn) = tampered_copy(&db, "inserted");
    let target = middle_ticket_entry(&conn);
    conn.execute("UPDATE log SET seq = -seq WHERE seq >= ?1", [target])
        .unwrap();
    conn.execute("UPDATE log SET seq = 1 - seq WHERE seq < 0", [])
        .unwrap();
    let previous = row(&conn, target - 1);
    let mut forged = row(&conn, target + 1);
    forged.seq = target;
    forged.prev = hash_of(&previous).to_hex();
    forged.kind = "ticket.note_added".into();
    forged.body =
        r#"{"kind":"ticket.note_added","unit":null,"text":"已办结","contacted_citizen":true}"#
            .into();
    conn.execute(
        "INSERT INTO log (seq, at, actor, ticket, kind, body, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![forged.seq, forged.at, forged.actor, forged.ticket, forged.kind, forged.body, forged.prev, hash_of(&forged).to_hex()],
    )
    .unwrap();
    drop(conn);
    let (ok, text) = verify(&copy, &[]);
    assert!(!ok);
    assert!(
        text.contains(&format!("BROKEN at entry {}:", target + 1))
            && text.contains(&format!("link to entry {target}")),
        "{text}"
    );

    // Reordered: two entries swap places.
    let (copy, conn) = tampered_copy(&db, "reordered");
    let target = middle_ticket_entry(&conn);
    conn.execute("UPDATE log SET seq = -1 WHERE seq = ?1", [target])
        .unwrap();
    conn.execute(
        "UPDATE log SET seq = ?1 WHERE seq = ?2",
        [target, target + 1],
    )
    .unwrap();
    conn.execute("UPDATE log SET seq = ?1 WHERE seq = -1", [target + 1])
        .unwrap();
    drop(conn);
    let (ok, text) = verify(&copy, &[]);
    assert!(!ok);
    assert!(
        text.contains(&format!("BROKEN at entry {target}:")),
        "{text}"
    );
}

#[test]
fn a_recorded_head_catches_a_rewritten_history_and_a_cut_off_end() {
    let (_dir, db) = demo_db();
    let head = stdout(&run(&["audit", "head", "--db", db.to_str().unwrap()]));
    let (seq, hash) = head.trim().split_once(' ').unwrap();
    let expect = format!("{seq}:{hash}");

    // Rewritten: one entry changed and every hash after it recomputed, so the chain itself is
    // consistent again. Only the head a supervisor wrote down shows it.
    let (copy, conn) = tampered_copy(&db, "rewritten");
    let target = middle_ticket_entry(&conn);
    let changed = conn.execute("UPDATE log SET body = replace(body, '\"result\":\"', '\"result\":\"（已改）') WHERE seq = ?1", [target]).unwrap();
    assert_eq!(changed, 1);
    let last: i64 = conn
        .query_row("SELECT MAX(seq) FROM log", [], |r| r.get(0))
        .unwrap();
    let mut prev = hash_of(&row(&conn, target - 1));
    for seq in target..=last {
        let mut r = row(&conn, seq);
        r.prev = prev.to_hex();
        let hash = hash_of(&r);
        conn.execute(
            "UPDATE log SET prev = ?1, hash = ?2 WHERE seq = ?3",
            params![r.prev, hash.to_hex(), seq],
        )
        .unwrap();
        prev = hash;
    }
    drop(conn);
    let (ok, text) = verify(&copy, &[]);
    assert!(
        ok,
        "a fully recomputed chain is consistent on its own: {text}"
    );
    let (ok, text) = verify(&copy, &["--expect", &expect]);
    assert!(!ok);
    assert!(
        text.contains(&format!("BROKEN at entry {seq}:")) && text.contains("rewritten"),
        "{text}"
    );

    // Cut off: the last entries deleted.
    let (copy, conn) = tampered_copy(&db, "truncated");
    conn.execute(
        "DELETE FROM log WHERE seq > ?1",
        [seq.parse::<i64>().unwrap() - 5],
    )
    .unwrap();
    drop(conn);
    let (ok, text) = verify(&copy, &["--expect", &expect]);
    assert!(!ok);
    assert!(text.contains("removed from the end"), "{text}");
}

#[test]
fn rebuild_reports_and_repairs_projections_changed_behind_the_log() {
    let (_dir, db) = demo_db();
    let conn = Connection::open(&db).unwrap();
    let no: i64 = conn
        .query_row(
            "SELECT no FROM tickets WHERE status = 'in_progress' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE tickets SET status = 'closed', state = json_set(state, '$.urge_count', 9) WHERE no = ?1",
        [no],
    )
    .unwrap();
    drop(conn);
    let out = run(&["rebuild", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let number = domain::ids::TicketNo::from_storage(no).unwrap().to_string();
    let text = stdout(&out);
    assert!(text.contains("The log verifies"), "{text}");
    assert!(
        text.contains("1 tickets' projections differed from the log")
            // The unit links' copy of the status no longer agrees with the edited row either.
            && text.contains(&format!("{number}: status, units, state.urge_count")),
        "{text}"
    );
    let again = run(&["rebuild", "--db", db.to_str().unwrap()]);
    assert!(again.status.success());
    let conn = Connection::open(&db).unwrap();
    let status: String = conn
        .query_row("SELECT status FROM tickets WHERE no = ?1", [no], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "in_progress");
}

#[test]
fn rebuild_refuses_a_log_that_fails_verification_with_its_own_exit_code() {
    let (_dir, db) = demo_db();
    // An insider rewords a reply in the log and, to match, closes the ticket's projection.
    let (copy, conn) = tampered_copy(&db, "forged");
    let target = middle_ticket_entry(&conn);
    conn.execute(
        "UPDATE log SET body = replace(body, '\"claim\":\"', '\"claim\":\"x') WHERE seq = ?1",
        [target],
    )
    .unwrap();
    let no: i64 = conn
        .query_row("SELECT ticket FROM log WHERE seq = ?1", [target], |r| {
            r.get(0)
        })
        .unwrap();
    conn.execute("UPDATE tickets SET status = 'merged' WHERE no = ?1", [no])
        .unwrap();
    drop(conn);

    let out = run(&["rebuild", "--db", copy.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains(&format!(
            "The log itself fails verification at entry {target}"
        )),
        "{text}"
    );
    assert!(text.contains("Nothing was rebuilt"), "{text}");
    // The projection is left as found, for the investigation.
    let conn = Connection::open(&copy).unwrap();
    let status: String = conn
        .query_row("SELECT status FROM tickets WHERE no = ?1", [no], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "merged");
}
