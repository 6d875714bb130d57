//! The `minsheng` binary as an administrator uses it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

pub fn minsheng() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minsheng"));
    command
        .env("RUST_LOG", "error")
        .env_remove("MINSHENG_DB")
        .env_remove("MINSHENG_KEY_FILE");
    command
}

pub fn run(args: &[&str]) -> Output {
    minsheng()
        .args(args)
        .output()
        .expect("the minsheng binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A small demo city with two days of traffic in a fresh directory.
pub fn demo_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("city.db");
    let out = run(&[
        "demo",
        "--db",
        db.to_str().unwrap(),
        "--days",
        "3",
        "--per-day",
        "60",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("tickets"), "{}", stdout(&out));
    (dir, db)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["audit", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["audit", "head", "--help"],
        vec!["rebuild", "--help"],
        vec!["kpi", "--help"],
        vec!["user", "add", "--help"],
        vec!["token", "create", "--help"],
        vec!["unit", "add", "--help"],
        vec!["divisions", "import", "--help"],
        vec!["taxonomy", "import", "--help"],
        vec!["calendar", "import", "--help"],
        vec!["policy", "show", "--help"],
        vec!["bench", "intake", "--help"],
        vec!["bench", "lifecycle", "--help"],
        vec!["bench", "calls", "--help"],
        vec!["calls", "import-queue-log", "--help"],
        vec!["calls", "report", "--help"],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(stdout(&out).contains("Usage"), "{args:?}: {}", stdout(&out));
    }
    let top = stdout(&run(&["--help"]));
    for command in [
        "serve", "demo", "audit", "rebuild", "kpi", "user", "token", "bench", "calls",
    ] {
        assert!(top.contains(command), "{command} missing from --help");
    }
}

#[test]
fn audit_head_rebuild_and_kpi_on_a_demo_city() {
    let (_dir, db) = demo_db();
    let verify = run(&["audit", "verify", "--db", s(&db)]);
    assert!(verify.status.success(), "{}", stdout(&verify));
    let head = stdout(&run(&["audit", "head", "--db", s(&db)]));
    let (seq, hash) = head.trim().split_once(' ').unwrap();
    assert!(
        stdout(&verify).contains(&format!("intact: {seq} entries, head {seq} {hash}")),
        "{}",
        stdout(&verify)
    );
    assert_eq!(hash.len(), 64);
    let with_expect = run(&[
        "audit",
        "verify",
        "--db",
        s(&db),
        "--expect",
        &format!("{seq}:{hash}"),
    ]);
    assert!(with_expect.status.success());

    let rebuild = run(&["rebuild", "--db", s(&db)]);
    assert!(
        rebuild.status.success(),
        "{}{}",
        stdout(&rebuild),
        stderr(&rebuild)
    );
    assert!(
        stdout(&rebuild).contains("matched the log exactly"),
        "{}",
        stdout(&rebuild)
    );
    assert_eq!(
        stdout(&run(&["audit", "head", "--db", s(&db)])),
        head,
        "a rebuild writes nothing to the log"
    );

    let month = this_month();
    let table = run(&["kpi", "--db", s(&db), "--month", &month]);
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(
        stdout(&table).contains("composite") && stdout(&table).contains("Hotline:"),
        "{}",
        stdout(&table)
    );
    let json_out = run(&["kpi", "--db", s(&db), "--month", &month, "--format", "json"]);
    let report: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert!(!report["units"].as_array().unwrap().is_empty());
    let from_log: Value = serde_json::from_slice(
        &run(&[
            "kpi",
            "--db",
            s(&db),
            "--month",
            &month,
            "--format",
            "json",
            "--source",
            "log",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(
        report["units"], from_log["units"],
        "KPIs from the projections equal KPIs recomputed from the log"
    );
    let csv = stdout(&run(&[
        "kpi",
        "--db",
        s(&db),
        "--month",
        &month,
        "--format",
        "csv",
    ]));
    assert!(
        csv.starts_with("rank,unit,name,composite,response_rate,resolution_rate,satisfaction_rate")
    );
    assert_eq!(
        csv.lines().count(),
        report["units"].as_array().unwrap().len() + 1
    );
    let bad = run(&["kpi", "--db", s(&db), "--month", "November"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("YYYY-MM"), "{}", stderr(&bad));
}

/// The current month in Beijing, where the demo's traffic ends.
#[allow(clippy::disallowed_methods)]
pub fn this_month() -> String {
    jiff::Timestamp::now()
        .in_tz("Asia/Shanghai")
        .unwrap()
        .strftime("%Y-%m")
        .to_string()
}

#[test]
fn an_administrator_adds_a_user_and_a_token_that_the_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    let add_unit = run(&[
        "unit",
        "add",
        "--db",
        s(&db),
        "--id",
        "city",
        "--name",
        "示例市人民政府",
        "--kind",
        "city",
    ]);
    assert!(add_unit.status.success(), "{}", stderr(&add_unit));
    let mut child = minsheng()
        .args([
            "user",
            "add",
            "--db",
            s(&db),
            "--name",
            "li.na",
            "--display-name",
            "李娜",
            "--role",
            "operator",
            "--org",
            "contractor",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-secret\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let refused = run(&[
        "user",
        "add",
        "--db",
        s(&db),
        "--name",
        "x.y",
        "--display-name",
        "某",
        "--role",
        "dispatcher",
        "--org",
        "contractor",
    ]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused)
            .contains("dispatcher cannot be held by staff of the call-centre contractor"),
        "{}",
        stderr(&refused)
    );
    let generated = run(&[
        "user",
        "add",
        "--db",
        s(&db),
        "--name",
        "zhou.min",
        "--display-name",
        "周敏",
        "--role",
        "supervisor",
        "--org",
        "centre",
    ]);
    assert!(stdout(&generated).contains("Password (shown once):"));

    let token = run(&[
        "token",
        "create",
        "--db",
        s(&db),
        "--user",
        "li.na",
        "--days",
        "1",
    ]);
    assert!(token.status.success(), "{}", stderr(&token));
    let token = stdout(&token).trim().to_owned();
    assert!(token.starts_with("ms_"));
    let users = stdout(&run(&["user", "list", "--db", s(&db)]));
    assert!(
        users.contains("li.na") && users.contains("zhou.min"),
        "{users}"
    );

    let (mut server, base) = serve(&db, &[]);
    let client = reqwest::blocking::Client::new();
    let me: Value = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["display_name"], "李娜");
    let login = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": "li.na", "password": "a-long-secret"}))
        .send()
        .unwrap();
    assert_eq!(login.status(), 201);

    // Deactivated from the console while the server runs: the server notices within a second or so.
    assert!(
        run(&["user", "deactivate", "--db", s(&db), "--name", "li.na"])
            .status
            .success()
    );
    let refused = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status()
            == 401
    });
    assert!(refused, "a deactivated user's token kept working");
    server.kill().unwrap();
    let _ = server.wait();
}

/// Starts `minsheng serve` on a free port; returns the process and its base URL.
/// Logs a demo user in to a running `minsheng serve` at `base`; returns the bearer token.
pub async fn demo_login(client: &reqwest::Client, base: &str, user: &str) -> String {
    let body: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": user, "password": testkit::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().unwrap().to_owned()
}

pub fn serve(db: impl AsRef<std::ffi::OsStr>, extra: &[&str]) -> (std::process::Child, String) {
    let mut child = minsheng()
        .arg("serve")
        .arg("--db")
        .arg(db)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("minsheng is serving ") {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

#[test]
fn serve_with_demo_builds_the_city_and_prints_the_logins() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut child = minsheng()
        .args([
            "serve",
            "--db",
            s(&db),
            "--listen",
            "127.0.0.1:0",
            "--demo",
            "--demo-days",
            "1",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut text = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    // A service manager draining the node sends SIGTERM: the server stops cleanly.
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status:?}"
    );
    assert!(rest.iter().any(|l| l == "Stopped."), "{rest:?}");
    assert!(text.contains("Built in"), "{text}");
    assert!(
        text.contains("minsheng is serving http://127.0.0.1:"),
        "{text}"
    );
    for login in [
        "operator",
        "dispatcher",
        "h-cgj",
        "followup",
        "supervisor",
        "admin",
        "minsheng-demo",
    ] {
        assert!(text.contains(login), "{login} is not printed:\n{text}");
    }
    assert!(dir.path().join("demo.db.keys").exists());
}

#[test]
fn a_database_without_its_key_file_is_refused_rather_than_rekeyed() {
    let (dir, db) = demo_db();
    std::fs::rename(
        dir.path().join("city.db.keys"),
        dir.path().join("elsewhere.keys"),
    )
    .unwrap();
    let out = run(&["rebuild", "--db", s(&db)]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("key file") && stderr(&out).contains("missing"),
        "{}",
        stderr(&out)
    );
    assert!(
        !dir.path().join("city.db.keys").exists(),
        "no new key was made"
    );
    let with_key = run(&[
        "rebuild",
        "--db",
        s(&db),
        "--key-file",
        s(&dir.path().join("elsewhere.keys")),
    ]);
    assert!(with_key.status.success(), "{}", stderr(&with_key));
    // Reports never unseal a contact, so they need no key at all.
    let report = run(&["kpi", "--db", s(&db), "--month", "2026-11"]);
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(!dir.path().join("city.db.keys").exists());
    let again = run(&[
        "demo",
        "--db",
        s(&db),
        "--key-file",
        s(&dir.path().join("elsewhere.keys")),
    ]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("new --db"), "{}", stderr(&again));
}

#[test]
fn one_shot_commands_print_no_writer_lines_and_logs_have_no_colours_off_a_terminal() {
    let (_dir, db) = demo_db();
    let month = this_month();
    for args in [
        vec!["kpi", "--db", s(&db), "--month", &month],
        vec!["audit", "verify", "--db", s(&db)],
        vec!["audit", "head", "--db", s(&db)],
    ] {
        let out = minsheng()
            .env_remove("RUST_LOG")
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?} printed log lines");
    }
    // A long-running command logs at info: plain text off a terminal, or JSON by flag.
    let dir = tempfile::tempdir().unwrap();
    let plain = minsheng()
        .env_remove("RUST_LOG")
        .args([
            "demo",
            "--db",
            s(&dir.path().join("a.db")),
            "--days",
            "1",
            "--per-day",
            "10",
        ])
        .output()
        .unwrap();
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert!(stderr(&plain).contains("INFO"), "{}", stderr(&plain));
    assert!(
        !stderr(&plain).contains('\u{1b}'),
        "colour codes: {:?}",
        stderr(&plain)
    );
    let json_logs = minsheng()
        .env_remove("RUST_LOG")
        .args([
            "--log-format",
            "json",
            "demo",
            "--db",
            s(&dir.path().join("b.db")),
        ])
        .args(["--days", "1", "--per-day", "10"])
        .output()
        .unwrap();
    assert!(json_logs.status.success(), "{}", stderr(&json_logs));
    let lines: Vec<String> = stderr(&json_logs).lines().map(str::to_owned).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let parsed: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            parsed["level"].is_string() && parsed["fields"].is_object(),
            "{line}"
        );
    }
}

#[test]
fn a_backup_taken_while_the_server_writes_verifies_and_restores_and_a_bad_copy_is_refused() {
    let (dir, db) = demo_db();
    let (mut server, base) = serve(&db, &[]);
    let client = reqwest::blocking::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": "operator", "password": testkit::DEMO_PASSWORD}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (writing, base, client) = (writing.clone(), base.clone(), client.clone());
        std::thread::spawn(move || {
            let mut created = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                let status = client
                    .post(format!("{base}/api/v1/tickets"))
                    .bearer_auth(&token)
                    .json(&testkit::street_light("13912345678"))
                    .send()
                    .unwrap()
                    .status();
                assert_eq!(status, 201);
                created += 1;
            }
            created
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let copy = dir.path().join("backup.db");
    let out = run(&["backup", "--db", s(&db), "--to", s(&copy)]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let created = writer.join().unwrap();
    server.kill().unwrap();
    let _ = server.wait();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(created > 10, "writes went on during the backup: {created}");
    let said = stdout(&out);
    let head = said
        .split("head ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(":");
    // The copy is a moment of the live log: its head is an entry the live log still has.
    let verify = run(&["audit", "verify", "--db", s(&db), "--expect", &head]);
    assert!(verify.status.success(), "{said}\n{}", stdout(&verify));
    let live = stdout(&run(&["audit", "head", "--db", s(&db)]));
    assert_ne!(
        live.trim().replace(' ', ":"),
        head,
        "the server kept writing after the copy"
    );
    assert!(
        run(&["backup", "--db", s(&db), "--to", s(&copy)])
            .status
            .code()
            != Some(0)
    );

    let restored = dir.path().join("restored.db");
    let out = run(&[
        "restore",
        "--from",
        s(&copy),
        "--to",
        s(&restored),
        "--expect",
        &head,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let restored_head = stdout(&run(&["audit", "head", "--db", s(&restored)]));
    assert_eq!(restored_head.trim().replace(' ', ":"), head);
    let again = run(&["restore", "--from", s(&copy), "--to", s(&restored)]);
    assert!(!again.status.success(), "a restore never overwrites");

    // A copy whose log was edited is refused, and nothing is left behind.
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute_batch(
        "DROP TRIGGER log_is_append_only_update;
         UPDATE log SET body = replace(body, '路灯', '路等') WHERE seq = (SELECT max(seq) FROM log);",
    )
    .unwrap();
    drop(conn);
    let elsewhere = dir.path().join("elsewhere.db");
    let refused = run(&["restore", "--from", s(&copy), "--to", s(&elsewhere)]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("fails verification"),
        "{}",
        stderr(&refused)
    );
    assert!(!elsewhere.exists());
    assert!(!dir.path().join("elsewhere.db.partial").exists());
}

#[test]
fn an_asterisk_queue_log_is_imported_once_and_reported() {
    let (dir, db) = demo_db();
    let queue_log = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cti/tests/fixtures/queue_log");
    let import = |file: &Path| {
        run(&[
            "calls",
            "import-queue-log",
            "--db",
            s(&db),
            "--source",
            "ast1",
            s(file),
        ])
    };
    let first = import(&queue_log);
    assert!(
        first.status.success(),
        "{}{}",
        stdout(&first),
        stderr(&first)
    );
    assert!(
        stdout(&first).contains("Read 7 lines: 10 call events recorded, 0 recorded before."),
        "{}",
        stdout(&first)
    );
    let again = import(&queue_log);
    assert!(
        stdout(&again).contains("0 call events recorded, 10 recorded before."),
        "{}",
        stdout(&again)
    );

    let report = |source: &str| {
        let out = run(&[
            "calls",
            "report",
            "--db",
            s(&db),
            "--day",
            "2026-11-26",
            "--source",
            source,
            "--json",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let mut report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["source"] = serde_json::Value::Null;
        report
    };
    let rollups = report("rollups");
    assert_eq!(rollups["total"]["requested"], 2, "{rollups}");
    assert_eq!(rollups["total"]["answered"], 1);
    assert_eq!(rollups["total"]["abandoned"], 1);
    assert_eq!(rollups["total"]["average_speed_of_answer_seconds"], 10.0);
    assert_eq!(
        rollups["agents"].as_array().unwrap().len(),
        2,
        "operator answered, operator2 missed"
    );
    assert_eq!(rollups, report("log"));
    let table = stdout(&run(&[
        "calls",
        "report",
        "--db",
        s(&db),
        "--day",
        "2026-11-26",
    ]));
    assert!(
        table.contains("hotline") && table.contains("operator2"),
        "{table}"
    );

    // A malformed line stops the import with its number; what came before stays.
    let broken = dir.path().join("broken_queue_log");
    std::fs::write(
        &broken,
        "1795650000|1795650000.9|hotline|NONE|ENTERQUEUE||13500135000|1\nnot a queue_log line\n",
    )
    .unwrap();
    let stopped = import(&broken);
    assert!(!stopped.status.success());
    assert!(stderr(&stopped).contains("line 2"), "{}", stderr(&stopped));
    assert!(
        stdout(&stopped).contains("2 call events recorded"),
        "{}",
        stdout(&stopped)
    );
    let rebuild = run(&["rebuild", "--db", s(&db)]);
    assert!(
        stdout(&rebuild).contains("matched the log exactly"),
        "{}",
        stdout(&rebuild)
    );
}

#[test]
fn bench_calls_reports_a_rate_and_a_report_the_log_agrees_with() {
    let out = run(&[
        "bench",
        "calls",
        "--calls",
        "300",
        "--clients",
        "2",
        "--batch",
        "200",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("events/s"), "{text}");
    assert!(text.contains("recounted from the log alone"), "{text}");
    assert!(text.contains("the same figures"), "{text}");
    assert!(text.contains("Audit log verified afterwards"), "{text}");
}
