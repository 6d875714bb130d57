//! Notifications: a citizen with a phone number hears of the dispatch, the reply and the close;
//! a failed delivery is retried after its backoff with the same id, and a message is delivered
//! once; no number, or an answer given on the call, sends nothing. The webhook transport is
//! exercised against a real HTTP server on a loopback port.

use std::sync::{Arc, Mutex};

use app::notify::{Outgoing, Round, Transport};
use axum::http::{HeaderMap, StatusCode};
use jiff::SignedDuration;
use serde_json::{Value, json};
use store::OutboxCounts;
use testkit::{TestApp, street_light};

testkit::on_both_backends!(
    the_citizen_hears_of_dispatch_reply_and_close_once_each,
    the_webhook_is_retried_with_the_same_id_until_the_gateway_takes_it,
    no_number_or_an_answer_on_the_call_sends_nothing,
);

/// Keeps what it is given.
#[derive(Default)]
struct Recorder(Mutex<Vec<Outgoing>>);

#[async_trait::async_trait]
impl Transport for Recorder {
    async fn send(&self, m: &Outgoing) -> Result<(), String> {
        self.0.lock().unwrap().push(m.clone());
        Ok(())
    }
}

async fn lifecycle(t: &TestApp, no: &str, solved: bool) {
    let dispatcher = t.login("dispatcher").await;
    let handler = t.login("h-cgj").await;
    let agent = t.login("followup").await;
    t.act(&dispatcher, no, "dispatch", json!({"lead": "cgj"}))
        .await;
    t.act(&handler, no, "sign", json!({})).await;
    t.act(
        &handler,
        no,
        "reply",
        json!({"result": "已修复", "claim": "solved"}),
    )
    .await;
    let outcome = json!({"reached": true, "unit_contacted": true, "solved": solved, "satisfaction": "satisfied"});
    t.act(&agent, no, "follow-up", outcome).await;
}

async fn the_citizen_hears_of_dispatch_reply_and_close_once_each(t: TestApp) {
    let operator = t.login("operator").await;
    let no = t
        .create_ticket(&operator, street_light("13912345678"))
        .await;
    lifecycle(&t, &no, true).await;
    let recorder = Recorder::default();
    let round = t.app.deliver_due(&recorder, t.app.now()).await.unwrap();
    assert_eq!(
        round,
        Round {
            sent: 3,
            retried: 0,
            given_up: 0
        }
    );
    let sent = recorder.0.lock().unwrap().clone();
    assert_eq!(
        sent.iter().map(|m| m.notice).collect::<Vec<_>>(),
        ["dispatched", "replied", "closed"]
    );
    let grouped = format!("{}-{}", &no[..6], &no[6..]);
    assert!(
        sent.iter()
            .all(|m| m.to == "13912345678" && m.ticket == no && m.text.contains(&grouped))
    );
    assert!(
        sent[0].text.contains("市城市管理和综合执法局"),
        "{}",
        sent[0].text
    );
    assert_eq!(
        t.app.deliver_due(&recorder, t.app.now()).await.unwrap(),
        Round::default()
    );
    assert_eq!(recorder.0.lock().unwrap().len(), 3, "each message once");
    assert_eq!(
        t.store.outbox_counts().await.unwrap(),
        OutboxCounts {
            pending: 0,
            sent: 3,
            failed: 0
        }
    );
}

/// A gateway that refuses its first request (when `refuse_first`) and takes the rest.
async fn gateway(refuse_first: bool) -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let kept = seen.clone();
    let router = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |headers: HeaderMap, body: axum::Json<Value>| {
            let kept = kept.clone();
            async move {
                let key = headers["idempotency-key"].to_str().unwrap().to_owned();
                let mut seen = kept.lock().unwrap();
                seen.push((key, body.0));
                if refuse_first && seen.len() == 1 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

async fn the_webhook_is_retried_with_the_same_id_until_the_gateway_takes_it(t: TestApp) {
    let (url, seen) = gateway(true).await;
    let webhook = web::webhook::WebhookTransport::new(&url).unwrap();
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let no = t
        .create_ticket(&operator, street_light("13700001111"))
        .await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;

    let now = t.app.now();
    let first = t.app.deliver_due(&webhook, now).await.unwrap();
    assert_eq!(
        first,
        Round {
            sent: 0,
            retried: 1,
            given_up: 0
        }
    );
    assert_eq!(
        t.app.deliver_due(&webhook, now).await.unwrap(),
        Round::default(),
        "not before its backoff"
    );
    let later = now + SignedDuration::from_secs(31);
    let second = t.app.deliver_due(&webhook, later).await.unwrap();
    assert_eq!(
        second,
        Round {
            sent: 1,
            retried: 0,
            given_up: 0
        }
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, seen[1].0, "the same idempotency key both times");
    assert_eq!(seen[1].1["id"], seen[1].0.as_str());
    assert_eq!(seen[1].1["to"], "13700001111");
    assert_eq!(seen[1].1["notice"], "dispatched");
    assert_eq!(seen[1].1["ticket"], no.as_str());
    assert!(
        web::webhook::WebhookTransport::new("ftp://gateway").is_err(),
        "only http(s) gateways"
    );
}

async fn no_number_or_an_answer_on_the_call_sends_nothing(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let mut name_only = street_light("13700002222");
    name_only["contact"] = json!({"name": "王小明"});
    let no = t.create_ticket(&operator, name_only).await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    let mut answered = street_light("13700003333");
    answered["answer_on_call"] = json!("已告知办理流程");
    t.create_ticket(&operator, answered).await;

    let recorder = Recorder::default();
    let round = t.app.deliver_due(&recorder, t.app.now()).await.unwrap();
    assert_eq!(
        round,
        Round {
            sent: 0,
            retried: 0,
            given_up: 1
        },
        "no number to send to"
    );
    assert!(recorder.0.lock().unwrap().is_empty());
    assert_eq!(
        t.store.outbox_counts().await.unwrap(),
        OutboxCounts {
            pending: 0,
            sent: 0,
            failed: 1
        },
        "an answer on the call queues nothing"
    );
}

/// The real binary: `serve --notify-webhook` delivers a new ticket's dispatch message by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_notifications_to_the_webhook() {
    let (url, seen) = gateway(false).await;
    let (dir, db) = tokio::task::spawn_blocking(crate::cli::demo_db)
        .await
        .unwrap();
    let (mut child, base) =
        tokio::task::spawn_blocking(move || crate::cli::serve(&db, &["--notify-webhook", &url]))
            .await
            .unwrap();
    let client = reqwest::Client::new();
    let login = |user| crate::cli::demo_login(&client, &base, user);
    let (operator, dispatcher) = (login("operator").await, login("dispatcher").await);
    let created: Value = client
        .post(format!("{base}/api/v1/tickets"))
        .bearer_auth(&operator)
        .json(&street_light("13500001234"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let no = created["no"].as_str().unwrap().to_owned();
    let dispatched = client
        .post(format!("{base}/api/v1/tickets/{no}/dispatch"))
        .bearer_auth(&dispatcher)
        .json(&json!({"lead": "cgj"}))
        .send()
        .await
        .unwrap();
    assert!(dispatched.status().is_success());
    let mut delivered = None;
    for _ in 0..50 {
        delivered = seen
            .lock()
            .unwrap()
            .iter()
            .find(|(_, m)| m["ticket"] == no.as_str())
            .cloned();
        if delivered.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // After another round of the worker, nothing was sent again (the gateway said 200).
    tokio::time::sleep(app::notify::POLL + std::time::Duration::from_millis(500)).await;
    let _ = child.kill();
    let _ = child.wait();
    drop(dir);
    let (_, message) = delivered.expect("the worker delivered the dispatch message within 10 s");
    assert_eq!(message["notice"], "dispatched");
    assert_eq!(message["to"], "13500001234");
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the demo's simulated history was not sent"
    );
}
