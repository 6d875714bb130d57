//! `rebuild` after ordinary use: a server on the real system clock (whose readings have
//! nanoseconds), every action over HTTP, then the projections must equal a rebuild from the log
//! exactly, and the API must answer the same before and after.

use domain::ids::TicketNo;
use serde_json::{Value, json};
use testkit::{Backend, TestApp, TestClock, street_light};

use crate::cli::{run, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_every_action_on_the_system_clock_a_rebuild_matches_exactly_on_sqlite() {
    every_action_then_rebuild(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_every_action_on_the_system_clock_a_rebuild_matches_exactly_on_postgres() {
    every_action_then_rebuild(Backend::Postgres).await;
}

async fn every_action_then_rebuild(backend: Backend) {
    let Some(t) = TestApp::spawn_with(backend, TestClock::System).await else {
        eprintln!(
            "skipped: set {} to run this on PostgreSQL",
            testkit::POSTGRES_URL
        );
        return;
    };
    let numbers = take_tickets_through_every_action(&t).await;
    let dispatcher = t.login("dispatcher").await;
    let mut before = Vec::new();
    for no in &numbers {
        let (status, ticket) = t
            .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
            .await;
        assert_eq!(status, 200, "{ticket}");
        before.push(ticket);
    }
    // A clock reading with nanoseconds reaches the API only at the log's resolution.
    let received_at = before[0]["received_at"].as_str().unwrap();
    let fraction = received_at
        .trim_end_matches('Z')
        .split_once('.')
        .map_or("", |(_, f)| f);
    assert!(fraction.len() <= 3, "{received_at}");

    // The real binary, as a supervisor runs it, beside the running server.
    let key_file = t.key_file();
    let out = run(&[
        "rebuild",
        "--db",
        &t.db_location(),
        "--key-file",
        key_file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("The projections and rollups matched the log exactly."),
        "{}",
        stdout(&out)
    );

    for (no, earlier) in numbers.iter().zip(&before) {
        let (_, now) = t
            .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
            .await;
        assert_eq!(
            &now, earlier,
            "ticket {no} reads differently after a rebuild"
        );
    }
    t.stop().await;
}

/// Every lifecycle action the API offers, on a few tickets; returns their numbers.
async fn take_tickets_through_every_action(t: &TestApp) -> Vec<String> {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let supervisor = t.login("supervisor").await;
    let followup = t.login("followup").await;
    let roads = t.login("h-jtj").await;
    let lights = t.login("h-cgj").await;

    // Coordinates whose decimal form does not survive a careless parse.
    let mut request = street_light("13812341234");
    request["lat"] = json!(29.608410659692538);
    request["lon"] = json!(106.5508812345678);
    let no = t.create_ticket(&operator, request).await;
    t.act(
        &dispatcher,
        &no,
        "dispatch",
        json!({"lead": "jtj", "co_units": ["d1-s1"]}),
    )
    .await;
    t.act(
        &roads,
        &no,
        "request_return",
        json!({"reason": "路灯属城管局职责", "rule": "《派单目录》城市照明类第2项"}),
    )
    .await;
    t.act(
        &dispatcher,
        &no,
        "decide_return",
        json!({"approve": false, "note": "先核实现场"}),
    )
    .await;
    t.act(
        &roads,
        &no,
        "request_return",
        json!({"reason": "现场核实属城市照明", "rule": "《派单目录》城市照明类第2项"}),
    )
    .await;
    t.act(&dispatcher, &no, "decide_return", json!({"approve": true}))
        .await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    t.act(&lights, &no, "sign", json!({})).await;
    t.act(
        &lights,
        &no,
        "add_note",
        json!({"text": "已电话联系市民，另留号码13987654321", "contacted_citizen": true}),
    )
    .await;
    t.act(
        &lights,
        &no,
        "request_extension",
        json!({"working_days": 3, "reason": "需更换电缆"}),
    )
    .await;
    t.act(
        &dispatcher,
        &no,
        "decide_extension",
        json!({"approve": false, "note": "不符合延期条件"}),
    )
    .await;
    t.act(
        &lights,
        &no,
        "request_extension",
        json!({"working_days": 2, "reason": "电缆到货需两天"}),
    )
    .await;
    t.act(
        &dispatcher,
        &no,
        "decide_extension",
        json!({"approve": true}),
    )
    .await;
    t.act(&dispatcher, &no, "urge", json!({"note": "请加快"}))
        .await;
    t.act(&supervisor, &no, "supervise", json!({"note": "列入督办"}))
        .await;
    t.act(
        &lights,
        &no,
        "reply",
        json!({"result": "已更换灯具", "claim": "solved"}),
    )
    .await;
    let (status, revealed) = t
        .post(
            Some(&followup),
            &format!("/api/v1/tickets/{no}/reveal_contact"),
            json!({"purpose": "follow_up_call", "reason": "回访核实"}),
        )
        .await;
    assert!(status.is_success(), "{revealed}");
    let reopened = t
        .act(&followup, &no, "record_follow_up", json!({"reached": true, "unit_contacted": true, "solved": false, "satisfaction": "dissatisfied", "comment": "灯还是不亮"}))
        .await;
    assert_eq!(reopened["status"], "dispatched");
    t.act(&lights, &no, "sign", json!({})).await;
    t.act(
        &lights,
        &no,
        "reply",
        json!({"result": "更换了整段线路", "claim": "solved"}),
    )
    .await;
    let closed = t
        .act(&followup, &no, "record_follow_up", json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}))
        .await;
    assert_eq!(closed["status"], "closed");

    let duplicate = t
        .create_ticket(&operator, street_light("13900001111"))
        .await;
    let open = t
        .create_ticket(&operator, street_light("13900002222"))
        .await;
    t.act(&dispatcher, &duplicate, "merge", json!({"into": open}))
        .await;
    let unreached = t
        .create_ticket(&operator, street_light("13900003333"))
        .await;
    t.act(&dispatcher, &unreached, "dispatch", json!({"lead": "cgj"}))
        .await;
    t.act(&lights, &unreached, "sign", json!({})).await;
    t.act(
        &lights,
        &unreached,
        "reply",
        json!({"result": "已解释政策", "claim": "explained"}),
    )
    .await;
    t.act(
        &followup,
        &unreached,
        "record_follow_up",
        json!({"reached": false, "comment": "无人接听"}),
    )
    .await;

    let fire = t.create_ticket(&operator, json!({"kind": "help", "category": "070403", "urgency": "emergency", "description": "楼道着火冒烟"})).await;
    t.act(
        &operator,
        &fire,
        "hand_off",
        json!({"to": "119", "note": "已转119"}),
    )
    .await;
    let (status, answered): (_, Value) = t
        .post(Some(&operator), "/api/v1/tickets", json!({"kind": "consultation", "category": "080106", "description": "社保卡怎么补办", "answer_on_call": "可到社保网点或线上补办"}))
        .await;
    assert_eq!(status, 201, "{answered}");
    let on_call = answered["no"].as_str().unwrap().to_owned();
    let later = t
        .create_ticket(&operator, street_light("13900004444"))
        .await;
    t.act(
        &operator,
        &later,
        "answer_on_call",
        json!({"answer": "已告知报修渠道"}),
    )
    .await;

    vec![no, duplicate, open, unreached, fire, on_call, later]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_rewrites_projections_written_with_finer_times_once_on_sqlite() {
    an_upgrade_rewrites_finer_times_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_rewrites_projections_written_with_finer_times_once_on_postgres() {
    an_upgrade_rewrites_finer_times_once(Backend::Postgres).await;
}

/// A database as the version before the fix left it: every time in a ticket's folded state has
/// the clock's nanoseconds, while the log has its milliseconds. One projection was also edited
/// behind the log's back, which the upgrade must not hide.
async fn an_upgrade_rewrites_finer_times_once(backend: Backend) {
    let Some(t) = TestApp::spawn_with(backend, TestClock::System).await else {
        eprintln!(
            "skipped: set {} to run this on PostgreSQL",
            testkit::POSTGRES_URL
        );
        return;
    };
    let numbers = take_tickets_through_every_action(&t).await;
    let tampered = TicketNo::parse(&numbers[3]).unwrap().to_storage();
    let rows = read_states(&t).await;
    assert_eq!(rows.len(), numbers.len());
    let mut old = Vec::new();
    for (no, state) in rows {
        let mut state: Value = serde_json::from_str(&state).unwrap();
        with_finer_times(&mut state);
        let status = if no == tampered { Some("closed") } else { None };
        old.push((no, state.to_string(), status));
    }
    write_as_before_the_upgrade(&t, &old).await;

    let key_file = t.key_file();
    let db = t.db_location();
    let args = [
        "rebuild",
        "--db",
        &db,
        "--key-file",
        key_file.to_str().unwrap(),
    ];
    let out = crate::cli::minsheng()
        .env("RUST_LOG", "info")
        .args(args)
        .output()
        .unwrap();
    let (text, log) = (stdout(&out), stderr(&out));
    assert!(
        log.contains(&format!(
            "upgrade: rewrote {} of {} ticket projections",
            numbers.len() - 1,
            numbers.len()
        )),
        "{log}"
    );
    assert!(
        log.contains("1 ticket projections differ from the log in more than their times"),
        "{log}"
    );
    // What the upgrade did not explain is still an alarm, and only that.
    assert_eq!(out.status.code(), Some(2), "{text}");
    let number = TicketNo::from_storage(tampered).unwrap();
    assert!(
        text.contains("1 tickets' projections differed")
            && text.contains(&format!(
                "{number}: status, state (times finer than the log's)\n"
            )),
        "{text}"
    );

    let again = crate::cli::minsheng()
        .env("RUST_LOG", "info")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert!(
        !stderr(&again).contains("upgrade:"),
        "the upgrade runs once: {}",
        stderr(&again)
    );
    t.stop().await;
}

/// Moves every instant in a folded state on by 780,306 ns, as a clock reading with nanoseconds
/// would have left it.
fn with_finer_times(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Ok(at) = text.parse::<jiff::Timestamp>() {
                *text = (at + jiff::SignedDuration::from_nanos(780_306)).to_string();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(with_finer_times),
        Value::Object(fields) => fields.values_mut().for_each(with_finer_times),
        _ => {}
    }
}

async fn read_states(t: &TestApp) -> Vec<(i64, String)> {
    let sql = "SELECT no, state FROM tickets ORDER BY no";
    match t.backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(t.db_path()).unwrap();
            let mut stmt = conn.prepare(sql).unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
        Backend::Postgres => {
            let mut pg = postgres(t).await;
            sqlx::query_as(sql).fetch_all(&mut pg).await.unwrap()
        }
    }
}

/// The schema as the version before the fix left it (steps 5 and later undone).
const BACK_TO_VERSION_4: &str = "DELETE FROM schema_migrations WHERE version >= 5;
     DROP TABLE access_index;
     DROP TABLE list_sightings;
     DROP INDEX log_unticketed_by_time;
     DROP INDEX log_unticketed_by_actor;
     DROP TABLE written_numbers;
     DROP TABLE kpi_unit_day;
     DROP TABLE kpi_hotline_day;
     DROP INDEX ticket_units_by_status;
     ALTER TABLE ticket_units DROP COLUMN status;
     ALTER TABLE ticket_units DROP COLUMN due_at;
     DROP TABLE call_events;
     DROP TABLE calls;
     DROP TABLE call_queue_intervals;
     DROP TABLE call_agent_intervals;";

/// Writes the states back and forgets that the upgrade step ran.
async fn write_as_before_the_upgrade(t: &TestApp, rows: &[(i64, String, Option<&str>)]) {
    match t.backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(t.db_path()).unwrap();
            for (no, state, status) in rows {
                conn.execute(
                    "UPDATE tickets SET state = ?2, status = COALESCE(?3, status) WHERE no = ?1",
                    rusqlite::params![no, state, status],
                )
                .unwrap();
            }
            conn.execute_batch(BACK_TO_VERSION_4).unwrap();
        }
        Backend::Postgres => {
            let mut pg = postgres(t).await;
            for (no, state, status) in rows {
                sqlx::query(
                    "UPDATE tickets SET state = $2, status = COALESCE($3, status) WHERE no = $1",
                )
                .bind(no)
                .bind(state)
                .bind(status)
                .execute(&mut pg)
                .await
                .unwrap();
            }
            sqlx::raw_sql(BACK_TO_VERSION_4)
                .execute(&mut pg)
                .await
                .unwrap();
        }
    }
}

async fn postgres(t: &TestApp) -> sqlx::PgConnection {
    <sqlx::PgConnection as sqlx::Connection>::connect(&t.db_location())
        .await
        .unwrap()
}
