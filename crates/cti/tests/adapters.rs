//! The adapters against fixture servers on 127.0.0.1 that replay protocol text — FreeSWITCH's
//! Event Socket with mod_callcenter's events (`fixtures/freeswitch-callcenter.esl`) and
//! Asterisk's manager interface with app_queue's (`fixtures/asterisk-ami.txt`), each two calls,
//! one answered, one abandoned, in the framing and with the headers the two systems' sources
//! send — in pieces of a few bytes, drop the connection in the middle of an event, and on the
//! reconnection replay everything again. The real server records what the adapter heard; the
//! measures and the call records must come out exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use testkit::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

testkit::on_both_backends!(
    a_switch_that_drops_and_replays_is_recorded_once,
    an_asterisk_that_drops_and_replays_is_recorded_once
);

const STREAM: &[u8] = include_bytes!("fixtures/freeswitch-callcenter.esl");
const AMI: &[u8] = include_bytes!("fixtures/asterisk-ami.txt");

/// Reads until the client has sent a command (ending in a blank line).
async fn read_command(socket: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\n\n") {
        if socket.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        got.push(byte[0]);
    }
    String::from_utf8(got).unwrap()
}

/// Writes `bytes` in pieces of 1 to 37 bytes, so every header and length is split somewhere.
async fn dribble(socket: &mut TcpStream, bytes: &[u8]) {
    let mut at = 0;
    let mut size = 1;
    while at < bytes.len() {
        let end = (at + size).min(bytes.len());
        socket.write_all(&bytes[at..end]).await.unwrap();
        socket.flush().await.unwrap();
        at = end;
        size = size % 37 + 5;
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

/// The fixture switch: greets, checks the password, accepts the subscription, then replays.
/// The first connection stops in the middle of the last event; later ones replay the first six
/// and the last, and stay open.
async fn fixture_switch(listener: TcpListener, connections: Arc<AtomicUsize>) {
    loop {
        let (mut socket, _) = listener.accept().await.unwrap();
        let n = connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            socket
                .write_all(b"Content-Type: auth/request\n\n")
                .await
                .unwrap();
            let auth = read_command(&mut socket).await;
            if auth != "auth s3cret\n\n" {
                socket
                    .write_all(b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n")
                    .await
                    .unwrap();
                return;
            }
            socket
                .write_all(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
                .await
                .unwrap();
            let subscribe = read_command(&mut socket).await;
            assert_eq!(subscribe, "event plain CUSTOM callcenter::info\n\n");
            socket
                .write_all(
                    b"Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n",
                )
                .await
                .unwrap();
            if n == 0 {
                // Everything up to the middle of the last event (the agent ready again).
                let cut = nth_event_start(8) + 40;
                dribble(&mut socket, &STREAM[..cut]).await;
                return; // dropped mid-event
            }
            // The first six events again (heard twice), then the last: the end of the answered
            // call's bridge came only on the first connection, so its after-call work ends
            // only if the adapter remembered it across the reconnection.
            dribble(&mut socket, &STREAM[..nth_event_start(6)]).await;
            dribble(&mut socket, &STREAM[nth_event_start(8)..]).await;
            // Stay connected, as a switch does.
            let mut rest = Vec::new();
            let _ = socket.read_to_end(&mut rest).await;
        });
    }
}

/// Where the n-th (0-based) framed event starts in the stream.
fn nth_event_start(n: usize) -> usize {
    let text = std::str::from_utf8(STREAM).unwrap();
    text.match_indices("Content-Length:")
        .nth(n)
        .map(|(i, _)| i)
        .unwrap()
}

async fn a_switch_that_drops_and_replays_is_recorded_once(t: TestApp) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(fixture_switch(listener, connections.clone()));

    let (day, supervisor, adapter) = follow_until(
        &t,
        format!("freeswitch://:s3cret@{address}/fs1"),
        &connections,
        |day| day["agents"][0]["measures"]["average_wrap_up_seconds"] == 30.0,
    )
    .await;
    let total = &day["total"];
    assert_eq!(total["requested"], 2, "{day}");
    assert_eq!(total["answered"], 1);
    assert_eq!(total["abandoned"], 1);
    assert_eq!(total["service_level"], 0.5);
    assert_eq!(total["average_speed_of_answer_seconds"], 6.0);
    let agent = &day["agents"][0];
    assert_eq!(agent["agent"], "1001@default");
    assert_eq!(agent["measures"]["handled"], 1);
    assert_eq!(agent["measures"]["average_talk_seconds"], 94.0);
    assert_eq!(agent["measures"]["average_wrap_up_seconds"], 30.0);

    let (_, answered) = t
        .get(Some(&supervisor), "/api/v1/calls/fs1/3f6c2a10-0001")
        .await;
    assert_eq!(answered["status"], "over");
    // Each event once, though the first ones were heard twice.
    assert_eq!(
        kinds(&answered),
        [
            "arrived",
            "queued",
            "offered",
            "answered",
            "ended",
            "ended",
            "wrap_up_ended"
        ],
        "{answered}"
    );
    let (_, abandoned) = t
        .get(Some(&supervisor), "/api/v1/calls/fs1/3f6c2a10-0002")
        .await;
    assert_eq!(abandoned["wait_seconds"], 40.0, "{abandoned}");
    assert!(!answered.to_string().contains("13800138000"));

    adapter.stop().await;
}

/// Reads until the client has sent an AMI action (ending in a blank CRLF line).
async fn read_action(socket: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        got.push(byte[0]);
    }
    String::from_utf8(got).unwrap()
}

/// The fixture Asterisk: its banner, a login checked, then the events; the first connection
/// drops in the middle of the fifth event.
async fn fixture_asterisk(listener: TcpListener, connections: Arc<AtomicUsize>) {
    loop {
        let (mut socket, _) = listener.accept().await.unwrap();
        let n = connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            socket
                .write_all(b"Asterisk Call Manager/9.0.0\r\n")
                .await
                .unwrap();
            let login = read_action(&mut socket).await;
            let ok = login.contains("Action: Login\r\n")
                && login.contains("Username: minsheng\r\n")
                && login.contains("Secret: s3cret\r\n");
            if !ok {
                socket
                    .write_all(b"Response: Error\r\nMessage: Authentication failed\r\n\r\n")
                    .await
                    .unwrap();
                return;
            }
            socket
                .write_all(b"Response: Success\r\nActionID: minsheng-login\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
                .await
                .unwrap();
            if n == 0 {
                let text = std::str::from_utf8(AMI).unwrap();
                let cut = text.match_indices("Event:").nth(4).unwrap().0 + 30;
                dribble(&mut socket, &AMI[..cut]).await;
                return;
            }
            dribble(&mut socket, AMI).await;
            let mut rest = Vec::new();
            let _ = socket.read_to_end(&mut rest).await;
        });
    }
}

async fn an_asterisk_that_drops_and_replays_is_recorded_once(t: TestApp) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(fixture_asterisk(listener, connections.clone()));

    let (day, supervisor, adapter) = follow_until(
        &t,
        format!("ami://minsheng:s3cret@{address}/ast1"),
        &connections,
        |day| day["agents"][0]["measures"]["handled"] == 1,
    )
    .await;
    let total = &day["total"];
    assert_eq!(total["requested"], 2, "{day}");
    assert_eq!(total["answered"], 1);
    assert_eq!(total["abandoned"], 1);
    assert_eq!(total["average_speed_of_answer_seconds"], 6.0);
    assert_eq!(total["average_abandon_wait_seconds"], 40.0);
    let agent = &day["agents"][0];
    assert_eq!(agent["agent"], "operator");
    assert_eq!(agent["measures"]["average_talk_seconds"], 94.0);

    let (_, call) = t
        .get(Some(&supervisor), "/api/v1/calls/ast1/1795654800.101")
        .await;
    assert_eq!(
        kinds(&call),
        ["arrived", "queued", "offered", "answered", "ended"],
        "{call}"
    );

    adapter.stop().await;
}

/// Runs an adapter for `url` against a fixture server until the day's report satisfies `done`
/// and the adapter has reconnected; returns that report, the supervisor's token, and the stop
/// switch with the adapter's task.
async fn follow_until(
    t: &TestApp,
    url: String,
    connections: &AtomicUsize,
    done: impl Fn(&Value) -> bool,
) -> (Value, String, Adapter) {
    let target: cti::Target = url.parse().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(cti::run(t.app.clone(), target, stopped));
    let supervisor = t.login("supervisor").await;
    let mut day = Value::Null;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        day = t
            .get(Some(&supervisor), "/api/v1/calls/report?day=2026-11-26")
            .await
            .1;
        if done(&day) && connections.load(Ordering::SeqCst) >= 2 {
            break;
        }
    }
    assert!(
        connections.load(Ordering::SeqCst) >= 2,
        "the adapter reconnected"
    );
    (day, supervisor, Adapter { stop, task })
}

struct Adapter {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Adapter {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the adapter stops when told")
            .unwrap();
    }
}

/// The kinds of a call's events, in order.
fn kinds(call: &Value) -> Vec<&str> {
    call["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}
