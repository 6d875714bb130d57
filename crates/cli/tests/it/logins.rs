//! Logins against someone who is guessing: back-off per account and address, every failure
//! recorded and shown to administrators, password checks that cannot exhaust memory, sessions
//! that end when idle or when the password changes.

use std::net::IpAddr;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{DEMO_PASSWORD, TestApp};

testkit::on_both_backends!(
    a_login_flood_is_slowed_recorded_and_the_real_user_still_gets_in,
    a_session_ends_when_idle_and_every_token_ends_with_a_new_password,
);

/// A client whose connections come from `address` (any of 127.0.0.0/8 works on loopback).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login(
    client: &reqwest::Client,
    t: &TestApp,
    user: &str,
    password: &str,
) -> (StatusCode, Value) {
    let response = client
        .post(format!("{}/api/v1/auth/token", t.base))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The peak resident memory of this test's process (nextest runs each test in its own).
fn peak_memory_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

async fn a_login_flood_is_slowed_recorded_and_the_real_user_still_gets_in(t: TestApp) {
    let attacker = client_from("127.0.0.66");
    let mut statuses = Vec::new();
    for i in 0..300 {
        let (status, _) = login(&attacker, &t, "supervisor", &format!("guess-{i:04}")).await;
        statuses.push(status.as_u16());
    }
    let unauthorized = statuses.iter().take_while(|s| **s == 401).count();
    assert_eq!(
        unauthorized, 5,
        "five free tries, then the back-off: {statuses:?}"
    );
    assert!(
        statuses[5..].iter().all(|s| *s == 429),
        "every further guess waits: {statuses:?}"
    );
    // Even the right password waits at that address while the back-off runs.
    let (status, body) = login(&attacker, &t, "supervisor", DEMO_PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("try again in")
    );

    // The real supervisor, at their own desk, logs in at once.
    let desk = client_from("127.0.0.7");
    let (status, body) = login(&desk, &t, "supervisor", DEMO_PASSWORD).await;
    assert_eq!(status, 201, "{body}");

    // Every checked failure is on the administrators' page, with the name and the address…
    let mut admin = crate::browser::Browser::new(&t);
    admin.login("admin", "").await;
    let (status, page, _) = admin.get("/admin").await;
    assert_eq!(status, 200);
    assert_eq!(
        page.matches("supervisor from 127.0.0.66").count(),
        5,
        "the failed logins are listed"
    );
    // …and in the tamper-evident log.
    let trail = t
        .store
        .access_trail(
            t.app.now() - jiff::SignedDuration::from_hours(1),
            t.app.now() + jiff::SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    let failures: Vec<String> = trail
        .iter()
        .filter(|e| e.event.kind() == "access.login_failed")
        .map(|e| format!("{:?}", e.event))
        .collect();
    assert_eq!(failures.len(), 5, "only the checked tries: {failures:?}");
    assert!(
        failures
            .iter()
            .all(|f| f.contains("supervisor") && f.contains("127.0.0.66")),
        "{failures:?}"
    );

    // A flood of concurrent password checks waits its turn on four threads instead of taking
    // memory: what the checks use is a constant of the allocator (on this machine about 300 MiB
    // once warm), not of the flood — 256 more at once add almost nothing.
    let t = &t;
    let flood = |count: usize, subnet: usize| async move {
        let clients: Vec<reqwest::Client> = (0..count)
            .map(|i| client_from(&format!("127.{subnet}.{}.{}", i / 250, i % 250 + 1)))
            .collect();
        let statuses: Vec<u16> = futures::stream::iter(clients.iter().enumerate())
            .map(|(i, client)| async move {
                login(client, t, &format!("nobody{i}"), "wrong-password")
                    .await
                    .0
                    .as_u16()
            })
            .buffer_unordered(count)
            .collect()
            .await;
        assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    };
    flood(64, 1).await;
    let warm = peak_memory_kib();
    flood(256, 2).await;
    let grown_mib = (peak_memory_kib() - warm) / 1024;
    assert!(
        grown_mib < 50,
        "256 more password checks took {grown_mib} MiB more"
    );
}

async fn a_session_ends_when_idle_and_every_token_ends_with_a_new_password(t: TestApp) {
    let session = t.login_over_http("dispatcher").await;
    let me = |token: String| {
        let t = &t;
        async move { t.get(Some(&token), "/api/v1/me").await }
    };
    assert_eq!(me(session.clone()).await.0, 200);
    t.clock.advance(jiff::SignedDuration::from_mins(20));
    assert_eq!(me(session.clone()).await.0, 200, "20 minutes is not idle");
    t.clock.advance(jiff::SignedDuration::from_mins(31));
    let (status, body) = me(session.clone()).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("idle"),
        "{body}"
    );
    // The token is revoked, not just refused here: going back finds it revoked.
    let (status, body) = me(session).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );

    // An API token (not a session) does not idle out, but a new password ends it too.
    let api = t.login("dispatcher").await;
    let fresh = t.login_over_http("dispatcher").await;
    t.clock.advance(jiff::SignedDuration::from_hours(2));
    assert_eq!(me(api.clone()).await.0, 200);
    let id = domain::ids::UserId::parse("dispatcher").unwrap();
    t.app
        .set_password(
            &domain::org::Actor::system("cli"),
            t.app.now(),
            &id,
            "a-new-password-1",
        )
        .await
        .unwrap();
    for token in [api, fresh] {
        let (status, body) = me(token).await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, _) = login(&t.client, &t, "dispatcher", "a-new-password-1").await;
    assert_eq!(status, 201);
    t.stop().await;
}
