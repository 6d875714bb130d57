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
    a_backlog_drains_without_waiting_between_full_batches,
);

/// Records when each message was sent.
#[derive(Default)]
struct Timed(Mutex<Vec<std::time::Instant>>);

#[async_trait::async_trait]
impl Transport for Timed {
    async fn send(&self, _m: &Outgoing, _now: jiff::Timestamp) -> Result<(), String> {
        self.0.lock().unwrap().push(std::time::Instant::now());
        Ok(())
    }
}

async fn a_backlog_drains_without_waiting_between_full_batches(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    for i in 0..250 {
        let no = t
            .create_ticket(&operator, street_light(&format!("139{:08}", 20_000 + i)))
            .await;
        t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
            .await;
    }
    let timed = Arc::new(Timed::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(app::notify::run(t.app.clone(), timed.clone(), async {
        let _ = stopped.await;
    }));
    for _ in 0..300 {
        if timed.0.lock().unwrap().len() >= 250 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    let _ = worker.await;
    let sent = timed.0.lock().unwrap().clone();
    assert!(sent.len() >= 250, "{} of 250 sent", sent.len());
    // Batches of 100: after a full one the next starts at once, not a poll interval later.
    let longest = sent.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        longest < app::notify::POLL / 2,
        "a gap of {longest:?} between two sends of the backlog"
    );
}

/// A gateway over HTTPS, its certificate from a CA made for the test; answers 200 to every
/// signed request and records it. Returns its URL and the CA's PEM file.
async fn https_gateway(
    dir: &std::path::Path,
) -> (String, std::path::PathBuf, Arc<Mutex<Vec<Value>>>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let ca_file = dir.join("gateway-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der())
                .unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}/sms",
        listener.local_addr().unwrap().port()
    );
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let kept = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, kept) = (acceptor.clone(), kept.clone());
            tokio::spawn(async move {
                // A handshake the client aborts (it did not trust us) ends here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let n = tls.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if request.len() < end + 4 + length {
                        continue;
                    }
                    let mut headers = HeaderMap::new();
                    for line in text[..end].lines().skip(1) {
                        if let Some((k, v)) = line.split_once(':') {
                            headers.insert(
                                axum::http::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                                v.trim().parse().unwrap(),
                            );
                        }
                    }
                    let body = &request[end + 4..end + 4 + length];
                    let status = if signed_by_us(&headers, body) {
                        kept.lock()
                            .unwrap()
                            .push(serde_json::from_slice(body).unwrap());
                        "200 OK"
                    } else {
                        "401 Unauthorized"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                    return;
                }
            });
        }
    });
    (url, ca_file, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_speaks_https_trusts_only_its_ca_and_follows_no_redirect() {
    let dir = tempfile::tempdir().unwrap();
    let (url, ca, seen) = https_gateway(dir.path()).await;
    let message = Outgoing {
        id: "minsheng-42".into(),
        to: "13700001111".into(),
        text: "【12345】您反映的诉求已交办。".into(),
        ticket: "26112700042".into(),
        notice: "dispatched",
    };
    let now = jiff::Timestamp::from_second(1_795_658_400).unwrap();
    let trusted = web::webhook::WebhookTransport::new(&url, SECRET, Some(&ca)).unwrap();
    trusted.send(&message, now).await.unwrap();
    assert_eq!(
        seen.lock().unwrap()[0]["to"],
        "13700001111",
        "delivered, signed, over TLS"
    );

    // The system's roots do not know the test CA: the certificate is refused, nothing is sent.
    let untrusting = web::webhook::WebhookTransport::new(&url, SECRET, None).unwrap();
    let refused = untrusting.send(&message, now).await.unwrap_err();
    assert!(refused.contains("certificate"), "{refused}");
    assert_eq!(seen.lock().unwrap().len(), 1);

    // A gateway answering with a redirect is not followed: the message stays due.
    let elsewhere = Arc::new(Mutex::new(0));
    let hits = elsewhere.clone();
    let trap = axum::Router::new().route(
        "/sms",
        axum::routing::post(move || {
            let hits = hits.clone();
            async move {
                *hits.lock().unwrap() += 1;
                StatusCode::OK
            }
        }),
    );
    let trap_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_url = format!("http://{}/sms", trap_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(trap_listener, trap).await.unwrap() });
    let redirecting = axum::Router::new().route(
        "/sms",
        axum::routing::post(move || {
            let to = trap_url.clone();
            async move { axum::response::Redirect::temporary(&to) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect_url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, redirecting).await.unwrap() });
    let webhook = web::webhook::WebhookTransport::new(&redirect_url, SECRET, None).unwrap();
    let answer = webhook.send(&message, now).await.unwrap_err();
    assert!(answer.contains("307"), "{answer}");
    assert_eq!(
        *elsewhere.lock().unwrap(),
        0,
        "the redirect was not followed"
    );
}

/// Keeps what it is given.
#[derive(Default)]
struct Recorder(Mutex<Vec<Outgoing>>);

#[async_trait::async_trait]
impl Transport for Recorder {
    async fn send(&self, m: &Outgoing, _now: jiff::Timestamp) -> Result<(), String> {
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
    t.act(&agent, no, "record_follow_up", outcome).await;
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

const SECRET: &str = "shared-with-the-gateway-2026";

/// What a gateway does with a signature: recompute it over the time and the body it got.
fn signed_by_us(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(header) = headers
        .get(web::webhook::SIGNATURE_HEADER)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let Some(seconds) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .and_then(|t| t.parse::<i64>().ok())
    else {
        return false;
    };
    web::webhook::sign(SECRET.as_bytes(), body, seconds) == header
}

/// A gateway that refuses its first request (when `refuse_first`) and takes the rest, checking
/// every request's signature.
async fn gateway(refuse_first: bool) -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let kept = seen.clone();
    let router = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                if !signed_by_us(&headers, &body) {
                    return StatusCode::UNAUTHORIZED;
                }
                let key = headers["idempotency-key"].to_str().unwrap().to_owned();
                let mut seen = kept.lock().unwrap();
                seen.push((key, serde_json::from_slice(&body).unwrap()));
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
    let webhook = web::webhook::WebhookTransport::new(&url, SECRET, None).unwrap();
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
    // Signed with another secret, the gateway refuses: the message stays due.
    let forged = web::webhook::WebhookTransport::new(&url, "not-the-shared-secret!", None).unwrap();
    let outgoing = Outgoing {
        id: "minsheng-0".into(),
        to: "13700001111".into(),
        text: "x".into(),
        ticket: no.clone(),
        notice: "dispatched",
    };
    let refused = forged.send(&outgoing, now).await.unwrap_err();
    assert!(refused.contains("401"), "{refused}");
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
    let (mut child, base) = tokio::task::spawn_blocking(move || {
        crate::cli::serve(
            &db,
            &["--notify-webhook", &url, "--notify-webhook-secret", SECRET],
        )
    })
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
