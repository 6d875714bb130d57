//! Calls from the ACD/CTI through the event API: out of order, repeated, refused when malformed,
//! counted by GB/T 33358's measures from the rollups and again from the log alone, and the
//! caller's number nowhere in clear.

use serde_json::{Value, json};
use testkit::{Backend, TestApp};

testkit::on_both_backends!(
    call_events_arrive_in_any_order_once_and_add_up_to_the_measures,
    a_malformed_report_records_nothing_and_names_the_event,
    rebuild_restores_calls_edited_behind_the_logs_back
);

const CALLER: &str = "13999887766";

fn event(id: &str, call: &str, kind: &str, at: &str, extra: Value) -> Value {
    let mut e =
        json!({"id": id, "call": call, "kind": kind, "at": format!("2026-11-26T{at}+08:00")});
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

/// Four calls on the morning of 26 November: one answered in 9 s with a hold and after-call
/// work, one abandoned after 40 s, one short abandon (2 s), one answered late (30 s).
fn morning() -> Vec<Value> {
    let q = || json!({"queue": "12345"});
    vec![
        event("1", "c1", "arrived", "09:00:00", json!({"caller": CALLER})),
        event("2", "c1", "queued", "09:00:05", q()),
        event(
            "3",
            "c1",
            "offered",
            "09:00:10",
            json!({"agent": "operator"}),
        ),
        event(
            "4",
            "c1",
            "answered",
            "09:00:14",
            json!({"agent": "operator"}),
        ),
        event("5", "c1", "held", "09:01:00", json!({})),
        event("6", "c1", "resumed", "09:01:30", json!({})),
        event("7", "c1", "ended", "09:05:00", json!({})),
        event(
            "8",
            "c1",
            "wrap_up_ended",
            "09:05:40",
            json!({"agent": "operator"}),
        ),
        event(
            "9",
            "c1",
            "recorded",
            "09:05:00",
            json!({"reference": "rec/c1.wav"}),
        ),
        event("10", "c2", "queued", "09:02:00", q()),
        event("11", "c2", "abandoned", "09:02:40", json!({})),
        event("12", "c3", "queued", "09:03:00", q()),
        event("13", "c3", "ended", "09:03:02", json!({})),
        event("14", "c4", "queued", "09:20:00", q()),
        event(
            "15",
            "c4",
            "answered",
            "09:20:30",
            json!({"agent": "operator2"}),
        ),
        event("16", "c4", "ended", "09:22:00", json!({})),
    ]
}

async fn report(t: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = t
        .get(Some(token), &format!("/api/v1/calls/report?{query}"))
        .await;
    assert!(status.is_success(), "{query}: {status} {body}");
    body
}

async fn call_events_arrive_in_any_order_once_and_add_up_to_the_measures(t: TestApp) {
    let acd = t.login("acd").await;
    let supervisor = t.login("supervisor").await;
    let mut events = morning();
    events.reverse();
    // The second half first, then the first half with three of the second repeated.
    let (early, late) = events.split_at(8);
    let (status, first) = t
        .post(
            Some(&acd),
            "/api/v1/calls/events",
            json!({"source": "pbx", "events": late}),
        )
        .await;
    assert!(status.is_success(), "{status} {first}");
    assert_eq!(first["recorded"], 8);
    let mut again: Vec<Value> = early.to_vec();
    again.extend(late[..3].iter().cloned());
    let (_, second) = t
        .post(
            Some(&acd),
            "/api/v1/calls/events",
            json!({"source": "pbx", "events": again}),
        )
        .await;
    assert_eq!(second["recorded"], 8, "{second}");
    assert_eq!(second["repeated"].as_array().unwrap().len(), 3, "{second}");
    // The whole morning again: nothing new, no log entry.
    let (_, third) = t
        .post(
            Some(&acd),
            "/api/v1/calls/events",
            json!({"source": "pbx", "events": morning()}),
        )
        .await;
    assert_eq!(third["recorded"], 0, "{third}");
    assert_eq!(third["entry"], Value::Null);
    // Another source may reuse the ids: they are its own.
    let (_, other) = t
        .post(
            Some(&acd),
            "/api/v1/calls/events",
            json!({"source": "pbx-2", "events": [event("1", "x1", "queued", "09:30:00", json!({"queue": "12345"}))]}),
        )
        .await;
    assert_eq!(other["recorded"], 1, "{other}");

    // The call as its events add up, whatever order they came in.
    let (status, call) = t.get(Some(&supervisor), "/api/v1/calls/pbx/c1").await;
    assert!(status.is_success(), "{status} {call}");
    assert_eq!(call["status"], "over");
    assert_eq!(call["wait_seconds"], 9.0);
    assert_eq!(call["legs"][0]["agent"], "operator");
    assert_eq!(call["legs"][0]["hold_seconds"], 30.0);
    assert_eq!(call["legs"][0]["talk_seconds"], 256.0);
    assert_eq!(call["legs"][0]["wrap_up_seconds"], 40.0);
    assert_eq!(call["recording"], "rec/c1.wav");
    let kinds: Vec<&str> = call["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"arrived"));
    assert_eq!(kinds.last(), Some(&"wrap_up_ended"));
    assert!(!call.to_string().contains(CALLER), "{call}");
    assert!(!call.to_string().contains("caller"), "{call}");

    // The day's measures: 3 requests (the 2-second abandon left out), 2 answered, 1 in 15 s.
    let day = report(&t, &supervisor, "day=2026-11-26").await;
    let total = &day["total"];
    assert_eq!(total["requested"], 4, "{total}"); // pbx-2's waiting call counts as a request
    assert_eq!(total["answered"], 2);
    assert_eq!(total["abandoned"], 1);
    assert_eq!(total["short_abandoned"], 1);
    assert_eq!(total["average_speed_of_answer_seconds"], 19.5);
    let pbx_only = report(
        &t,
        &supervisor,
        "from=2026-11-26T09:00:00%2B08:00&to=2026-11-26T09:30:00%2B08:00&bucket=15m",
    )
    .await;
    let rows = pbx_only["queues"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "two quarter hours: {rows:?}");
    assert_eq!(rows[0]["start"], "2026-11-26T01:00:00Z");
    assert_eq!(rows[0]["measures"]["requested"], 2);
    assert_eq!(rows[0]["measures"]["service_level"], 0.5);
    assert_eq!(rows[1]["measures"]["service_level"], 0.0);
    assert_eq!(pbx_only["total"]["connection_rate"], 2.0 / 3.0);
    let agents = pbx_only["agents"].as_array().unwrap();
    let operator = agents.iter().find(|a| a["agent"] == "operator").unwrap();
    assert_eq!(operator["measures"]["average_handling_seconds"], 326.0);

    // Recounted from the log alone, the same figures.
    for query in [
        "day=2026-11-26&bucket=15m",
        "month=2026-11&bucket=day",
        "month=2026-11",
    ] {
        let mut rollups = report(&t, &supervisor, query).await;
        let mut log = report(&t, &supervisor, &format!("{query}&source=log")).await;
        assert_eq!(log["source"], "log");
        rollups["source"] = Value::Null;
        log["source"] = Value::Null;
        assert_eq!(rollups, log, "{query}");
    }

    // Only the centre's supervisors and inspectors read calls; only the ACD reports them.
    let operator = t.login("operator").await;
    let (status, _) = t
        .get(Some(&operator), "/api/v1/calls/report?day=2026-11-26")
        .await;
    assert_eq!(status, 403);
    let (status, _) = t
        .post(
            Some(&supervisor),
            "/api/v1/calls/events",
            json!({"source": "pbx", "events": morning()}),
        )
        .await;
    assert_eq!(status, 403);

    assert_no_number_in_clear(t).await;
}

/// Nothing the server stored holds the caller's number in clear: on SQLite every byte of the
/// database and its WAL; on PostgreSQL the log and the calls.
async fn assert_no_number_in_clear(t: TestApp) {
    match t.backend {
        Backend::Sqlite => {
            let dir = t.stop().await;
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                let found = bytes.windows(CALLER.len()).any(|w| w == CALLER.as_bytes());
                assert!(
                    !found,
                    "{} holds the caller's number in clear",
                    path.display()
                );
            }
        }
        Backend::Postgres => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&t.db_location())
                .await
                .unwrap();
            let rows: Vec<(String,)> =
                sqlx::query_as("SELECT body FROM log UNION ALL SELECT state FROM calls")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            assert!(rows.len() > 3);
            for (text,) in rows {
                assert!(!text.contains(CALLER), "{text}");
            }
        }
    }
}

async fn a_malformed_report_records_nothing_and_names_the_event(t: TestApp) {
    let acd = t.login("acd").await;
    let supervisor = t.login("supervisor").await;
    let bad = json!({"source": "pbx", "events": [
        event("b1", "c9", "queued", "09:00:00", json!({"queue": "12345"})),
        event("b2", "c9", "answered", "09:00:05", json!({})),
    ]});
    let (status, body) = t.post(Some(&acd), "/api/v1/calls/events", bad).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("event 2") && message.contains("b2"),
        "{message}"
    );
    let (status, _) = t.get(Some(&supervisor), "/api/v1/calls/pbx/c9").await;
    assert_eq!(
        status, 404,
        "the good event of a refused report is not recorded either"
    );

    for (what, events) in [
        (
            "an unknown kind",
            json!([event("k", "c9", "hung_up", "09:00:00", json!({}))]),
        ),
        (
            "a stray field",
            json!([event("k", "c9", "ended", "09:00:00", json!({"queue": "q"}))]),
        ),
        (
            "a number that is no number",
            json!([event(
                "k",
                "c9",
                "arrived",
                "09:00:00",
                json!({"caller": "12"})
            )]),
        ),
        ("no events", json!([])),
        (
            "a misspelt field",
            json!([event(
                "k",
                "c9",
                "arrived",
                "09:00:00",
                json!({"calller": "13800138000"})
            )]),
        ),
    ] {
        let (status, body) = t
            .post(
                Some(&acd),
                "/api/v1/calls/events",
                json!({"source": "pbx", "events": events}),
            )
            .await;
        assert_eq!(status, 400, "{what}: {body}");
    }
    // An ACD whose clock runs an hour fast is told so.
    let ahead = json!({"source": "pbx", "events": [
        {"id": "f", "call": "c9", "kind": "queued", "at": "2026-11-26T11:00:00+08:00", "queue": "12345"}
    ]});
    let (status, body) = t.post(Some(&acd), "/api/v1/calls/events", ahead).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("clock"), "{body}");
    // A withheld number is no number, and no error.
    let (status, body) = t
        .post(
            Some(&acd),
            "/api/v1/calls/events",
            json!({"source": "pbx", "events": [event("w", "c8", "arrived", "09:00:00", json!({"caller": "anonymous"}))]}),
        )
        .await;
    assert!(status.is_success(), "{body}");
}

/// Runs SQL on the test's database directly, behind the server's back.
async fn forge(t: &TestApp, sql: &str) {
    match t.backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(t.db_path()).unwrap();
            conn.execute_batch(sql).unwrap();
        }
        Backend::Postgres => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&t.db_location())
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

async fn rebuild_restores_calls_edited_behind_the_logs_back(t: TestApp) {
    let acd = t.login("acd").await;
    let supervisor = t.login("supervisor").await;
    let (status, body) = t
        .post(
            Some(&acd),
            "/api/v1/calls/events",
            json!({"source": "pbx", "events": morning()}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let honest = report(&t, &supervisor, "day=2026-11-26&bucket=15m").await;
    let clean = t.store.rebuild().await.unwrap();
    assert_eq!(clean.calls, 4);
    assert!(clean.calls_differing.is_empty() && !clean.call_rollups_differed);

    // A contractor polishing its figures: the abandoned call answered at once, a rollup
    // inflated, a call's row deleted and an event's id forgotten (so it could be sent again).
    forge(
        &t,
        "UPDATE calls SET status = 'talking' WHERE call = 'c2';
         UPDATE call_queue_intervals SET answered_within = answered_within + 5;
         DELETE FROM calls WHERE call = 'c3';
         DELETE FROM call_events WHERE event_id = '16';",
    )
    .await;
    assert_ne!(
        report(&t, &supervisor, "day=2026-11-26&bucket=15m").await,
        honest
    );

    let repaired = t.store.rebuild().await.unwrap();
    assert!(repaired.call_rollups_differed);
    assert_eq!(
        repaired.calls_differing,
        ["pbx c2", "pbx c3", "pbx event 16"],
        "{repaired:?}"
    );
    assert_eq!(
        report(&t, &supervisor, "day=2026-11-26&bucket=15m").await,
        honest
    );
    let again = t.store.rebuild().await.unwrap();
    assert!(again.calls_differing.is_empty() && !again.call_rollups_differed);
    // The forgotten id is known again: sending the event once more changes nothing.
    let (_, resent) = t
        .post(
            Some(&acd),
            "/api/v1/calls/events",
            json!({"source": "pbx", "events": morning()}),
        )
        .await;
    assert_eq!(resent["recorded"], 0, "{resent}");
}
