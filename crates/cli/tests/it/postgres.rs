//! PostgreSQL with the real binary: two server processes writing to one database under
//! concurrent load keep one unbroken chain, and a SQLite installation moves over with its head.
//! Skipped unless `MINSHENG_TEST_POSTGRES_URL` is set.

use std::path::Path;

use serde_json::{Value, json};
use store::postgres::Scratch;
use testkit::postgres_scratch;

use crate::cli::{demo_db, run, serve, stderr, stdout, this_month};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A demo city in a fresh schema, its key file `city.keys` in the returned directory; `None`
/// when no test database is configured.
async fn demo_city(days: &str, per_day: &str) -> Option<(Scratch, tempfile::TempDir)> {
    let scratch = postgres_scratch().await?;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("city.keys");
    let built = run(&[
        "demo",
        "--db",
        &scratch.url(),
        "--key-file",
        s(&keys),
        "--days",
        days,
        "--per-day",
        per_day,
    ]);
    assert!(built.status.success(), "{}", stderr(&built));
    Some((scratch, dir))
}

/// The sequence number of the log's last entry, from `audit head`.
fn head_seq(url: &str) -> u64 {
    let head = stdout(&run(&["audit", "head", "--db", url]));
    head.split(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_database_keep_one_chain() {
    let Some((scratch, dir)) = demo_city("1", "20").await else {
        eprintln!("skipped: set MINSHENG_TEST_POSTGRES_URL");
        return;
    };
    let (url, keys) = (scratch.url(), dir.path().join("city.keys"));
    let before: u64 = head_seq(&url);

    let (mut first, a) = serve_blocking(&url, &keys).await;
    let (mut second, b) = serve_blocking(&url, &keys).await;
    let client = reqwest::Client::new();
    let login = |base: String, user: &'static str| {
        let client = client.clone();
        async move { crate::cli::demo_login(&client, &base, user).await }
    };
    let operator = login(a.clone(), "operator").await;
    let dispatcher = login(b.clone(), "dispatcher").await;
    let handler = login(a.clone(), "h-cgj").await;
    let after_logins: u64 = head_seq(&url);

    // Each worker records a ticket on one node, dispatches it on the other, and signs and replies
    // back on the first: both processes append all the time.
    let work = (0..40).map(|i| {
        let (client, a, b) = (client.clone(), a.clone(), b.clone());
        let (operator, dispatcher, handler) = (operator.clone(), dispatcher.clone(), handler.clone());
        let (one, two) = if i % 2 == 0 { (a, b) } else { (b, a) };
        async move {
            let created: Value = client
                .post(format!("{one}/api/v1/tickets"))
                .bearer_auth(&operator)
                .json(&json!({"kind": "complaint", "category": "030501", "description": format!("路灯不亮 {i}"), "contact": {"phone": format!("1380000{i:04}")}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let no = created["no"].as_str().unwrap().to_owned();
            for (base, token, action, body) in [
                (&two, &dispatcher, "dispatch", json!({"lead": "cgj"})),
                (&one, &handler, "sign", json!({})),
                (&two, &handler, "reply", json!({"result": "已修复", "claim": "solved"})),
            ] {
                let response = client.post(format!("{base}/api/v1/tickets/{no}/{action}")).bearer_auth(token).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 200, "{action} on {no}: {}", response.text().await.unwrap());
            }
            no
        }
    });
    let numbers = futures::future::join_all(work).await;
    first.kill().unwrap();
    second.kill().unwrap();
    let _ = (first.wait(), second.wait());

    let distinct: std::collections::BTreeSet<_> = numbers.iter().collect();
    assert_eq!(distinct.len(), 40, "every ticket got its own number");
    let verify = run(&["audit", "verify", "--db", &url]);
    assert!(verify.status.success(), "{}", stdout(&verify));
    let expected = after_logins + 40 * 4;
    assert!(
        stdout(&verify).starts_with(&format!("intact: {expected} entries")),
        "{}\n(before the load: {before})",
        stdout(&verify)
    );
}

/// `serve` on a blocking thread (its output is read synchronously).
async fn serve_blocking(url: &str, keys: &Path) -> (std::process::Child, String) {
    let (url, keys) = (url.to_owned(), keys.to_path_buf());
    tokio::task::spawn_blocking(move || serve(&url, &["--key-file", s(&keys)]))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_installation_moves_to_postgres_with_its_head() {
    let Some(scratch) = postgres_scratch().await else {
        eprintln!("skipped: set MINSHENG_TEST_POSTGRES_URL");
        return;
    };
    let (dir, db) = tokio::task::spawn_blocking(demo_db).await.unwrap();
    let head = stdout(&run(&["audit", "head", "--db", s(&db)]));
    let url = scratch.url();
    let moved = run(&[
        "migrate-store",
        "--from",
        &format!("sqlite:{}", s(&db)),
        "--to",
        &url,
    ]);
    assert!(moved.status.success(), "{}", stderr(&moved));
    assert!(stdout(&moved).contains(head.trim()), "{}", stdout(&moved));
    assert_eq!(stdout(&run(&["audit", "head", "--db", &url])), head);
    let verify = run(&[
        "audit",
        "verify",
        "--db",
        &url,
        "--expect",
        &head.trim().replace(' ', ":"),
    ]);
    assert!(verify.status.success(), "{}", stdout(&verify));
    // The notification outbox moves too (the demo's history is there, given up as not sent).
    let in_sqlite: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    let mut pg = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let (in_postgres,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert!(in_sqlite > 0);
    assert_eq!(in_postgres, in_sqlite);
    // And the numbers callers typed into their descriptions, sealed.
    let sealed_in_sqlite: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM written_numbers", [], |r| r.get(0))
        .unwrap();
    let (sealed_in_postgres,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM written_numbers")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert!(sealed_in_sqlite > 0);
    assert_eq!(sealed_in_postgres, sealed_in_sqlite);

    // The same key file opens the moved contacts; the projections match the log.
    let keys = dir.path().join("city.db.keys");
    let rebuilt = run(&["rebuild", "--db", &url, "--key-file", s(&keys)]);
    assert!(
        rebuilt.status.success(),
        "{}{}",
        stdout(&rebuilt),
        stderr(&rebuilt)
    );
    let (mut server, base) = serve_blocking(&url, &keys).await;
    let client = reqwest::Client::new();
    let token = crate::cli::demo_login(&client, &base, "supervisor").await;
    let token = token.as_str();
    let list: Value = client
        .get(format!("{base}/api/v1/tickets?limit=20"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut with_contact = None;
    for no in list["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["no"].as_str().unwrap().to_owned())
    {
        let detail: Value = client
            .get(format!("{base}/api/v1/tickets/{no}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if detail["contact"]["phone"].is_string() {
            with_contact = Some(no);
            break;
        }
    }
    let no = with_contact.expect("a moved ticket with a contact");
    let revealed: Value = client
        .post(format!("{base}/api/v1/tickets/{no}/reveal_contact"))
        .bearer_auth(token)
        .json(&json!({"purpose": "supervision_check", "reason": "迁移后核对联系方式"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        revealed["phone"].as_str().map(str::len),
        Some(11),
        "the moved contact opens with the same key: {revealed}"
    );
    server.kill().unwrap();
    let _ = server.wait();
    // Copying again into a database that is no longer empty is refused.
    let again = run(&[
        "migrate-store",
        "--from",
        &format!("sqlite:{}", s(&db)),
        "--to",
        &url,
    ]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("empty database"),
        "{}",
        stderr(&again)
    );
}

/// A connection that only reads — what a streaming replica gives — answers reports and audits
/// without the key file, and refuses anything that would write, with a message that says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_replica_answers_reports_and_refuses_writes() {
    let Some((scratch, dir)) = demo_city("2", "30").await else {
        eprintln!("skipped: set MINSHENG_TEST_POSTGRES_URL");
        return;
    };
    let (url, keys) = (scratch.url(), dir.path().join("city.keys"));
    let replica = format!("{url}&options[default_transaction_read_only]=on");
    let head = stdout(&run(&["audit", "head", "--db", &url]));

    let month = this_month();
    let on_primary = run(&["kpi", "--db", &url, "--month", &month, "--format", "csv"]);
    let on_replica = run(&[
        "kpi", "--db", &replica, "--month", &month, "--format", "csv",
    ]);
    assert!(on_replica.status.success(), "{}", stderr(&on_replica));
    assert!(
        stdout(&on_replica).lines().count() > 5,
        "{}",
        stdout(&on_replica)
    );
    assert_eq!(stdout(&on_replica), stdout(&on_primary));
    let verify = run(&["audit", "verify", "--db", &replica]);
    assert!(verify.status.success(), "{}", stdout(&verify));

    let served = run(&[
        "serve",
        "--db",
        &replica,
        "--key-file",
        s(&keys),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!served.status.success());
    assert!(stderr(&served).contains("read-only"), "{}", stderr(&served));
    let added = run(&[
        "user",
        "add",
        "--db",
        &replica,
        "--key-file",
        s(&keys),
        "--name",
        "li.na",
        "--display-name",
        "李娜",
        "--role",
        "operator",
        "--org",
        "contractor",
    ]);
    assert!(!added.status.success());
    assert!(
        stderr(&added).contains("send writes to the primary"),
        "{}",
        stderr(&added)
    );
    assert_eq!(
        stdout(&run(&["audit", "head", "--db", &url])),
        head,
        "nothing was written"
    );
}

/// Two fresh databases on the test server (the backup drill needs whole databases, which
/// `pg_dump` and `pg_restore` work on); dropped when the returned guard goes.
struct Databases {
    admin: String,
    names: Vec<String>,
}

impl Databases {
    async fn create(count: usize) -> Option<(Databases, Vec<String>)> {
        let base = std::env::var(testkit::POSTGRES_URL)
            .ok()
            .filter(|u| !u.is_empty());
        if base.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "{} is not set: CI must test PostgreSQL",
                testkit::POSTGRES_URL
            );
        }
        let base = base?;
        let (prefix, _) = base.rsplit_once('/').unwrap();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
            .await
            .unwrap();
        let mut names = Vec::new();
        for i in 0..count {
            let name = format!("minsheng_drill_{}_{i}", std::process::id());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            names.push(name);
        }
        let urls = names.iter().map(|n| format!("{prefix}/{n}")).collect();
        Some((Databases { admin: base, names }, urls))
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        let (admin, names) = (self.admin.clone(), self.names.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(mut conn) =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                {
                    for name in names {
                        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                            .execute(&mut conn)
                            .await;
                    }
                }
            });
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_backup_drill_restores_to_the_head_written_down() {
    let Some((_databases, urls)) = Databases::create(2).await else {
        return;
    };
    let (source, target) = (&urls[0], &urls[1]);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("city.keys");
    let built = run(&[
        "demo",
        "--db",
        source,
        "--key-file",
        s(&keys),
        "--days",
        "2",
        "--per-day",
        "40",
    ]);
    assert!(built.status.success(), "{}", stderr(&built));
    let drill = |args: &[&str]| {
        std::process::Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/pg-backup"
        ))
        .args(args)
        .env("MINSHENG", env!("CARGO_BIN_EXE_minsheng"))
        .env("MINSHENG_KEY_FILE", &keys)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
    };
    let file = dir.path().join("city.dump");
    let backup = drill(&["backup", source, s(&file)]);
    assert!(
        backup.status.success(),
        "{}{}",
        stdout(&backup),
        stderr(&backup)
    );
    let written_down = std::fs::read_to_string(dir.path().join("city.dump.head")).unwrap();
    let restore = drill(&["restore", s(&file), target]);
    assert!(
        restore.status.success(),
        "{}{}",
        stdout(&restore),
        stderr(&restore)
    );
    assert!(
        stdout(&restore).contains("The log verifies"),
        "{}",
        stdout(&restore)
    );
    let restored = stdout(&run(&["audit", "head", "--db", target]));
    assert_eq!(
        restored, written_down,
        "the restored log ends at the head written down"
    );
}
