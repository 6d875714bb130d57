//! What a city's IT staff watch: liveness, readiness and Prometheus metrics.

use testkit::{TestApp, street_light};

testkit::on_both_backends!(the_server_reports_its_health_readiness_and_metrics);

async fn the_server_reports_its_health_readiness_and_metrics(t: TestApp) {
    let text = |path: &'static str| {
        let (client, base) = (t.client.clone(), t.base.clone());
        async move {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(text("/healthz").await, (200, "ok".to_owned()));
    assert_eq!(text("/readyz").await, (200, "ready".to_owned()));

    let operator = t.login("operator").await;
    let no = t
        .create_ticket(&operator, street_light("13912345678"))
        .await;
    let (status, _) = t
        .get(Some(&operator), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(status, 200);

    let (status, metrics) = text("/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    for line in [
        r#"minsheng_http_requests_total{method="POST",route="/api/v1/tickets",status="201"} 1"#,
        r#"minsheng_http_requests_total{method="GET",route="/api/v1/tickets/:id",status="200"} 1"#,
        r#"minsheng_tickets{status="pending_dispatch"} 1"#,
        "# TYPE minsheng_http_request_duration_seconds histogram",
        "# TYPE minsheng_writer_commands counter",
        "# TYPE minsheng_writer_queue gauge",
        r#"minsheng_outbox_messages{state="pending"}"#,
    ] {
        assert!(metrics.contains(line), "missing {line:?} in\n{metrics}");
    }
    let commands = metrics
        .lines()
        .find_map(|l| l.strip_prefix("minsheng_writer_commands_total "))
        .and_then(|v| v.parse::<f64>().ok())
        .expect("a count of committed commands");
    assert!(
        commands >= 2.0,
        "the ticket and the login were committed: {commands}"
    );
    // Counts only: nothing of a ticket or a citizen.
    for secret in ["13912345678", "5678", &no] {
        assert!(!metrics.contains(secret), "{secret} in the metrics");
    }

    // A stopped writer is not ready; the process still lives.
    t.app.store().close().await;
    let (status, body) = text("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("writer has stopped"), "{body}");
    assert_eq!(text("/healthz").await.0, 200);
}
