//! Every error is JSON with a stable code and a message that says what to do.

use serde_json::json;
use testkit::{TestApp, street_light};

testkit::on_both_backends!(
    errors_have_stable_codes_and_helpful_messages,
    the_openapi_document_describes_every_endpoint
);

async fn errors_have_stable_codes_and_helpful_messages(t: TestApp) {
    let operator = t.login_over_http("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let (status, me) = t.get(Some(&operator), "/api/v1/me").await;
    assert_eq!(
        (status.as_u16(), me["roles"][0].as_str()),
        (200, Some("operator"))
    );
    t.advance(13);
    let (status, body) = t.get(Some(&operator), "/api/v1/me").await;
    assert_eq!(status, 401, "a login token lasts one shift: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let operator = t.login("operator").await;

    let (status, body) = t.get(None, "/api/v1/tickets").await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/auth/token")
    );
    assert_eq!(t.get(Some("ms_nope"), "/api/v1/tickets").await.0, 401);
    let (status, body) = t
        .post(
            None,
            "/api/v1/auth/token",
            json!({"username": "operator", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    assert_eq!(
        t.post(
            None,
            "/api/v1/auth/token",
            json!({"username": "nobody", "password": "whatever1"})
        )
        .await
        .0,
        401
    );

    let (status, body) = t
        .post(
            Some(&operator),
            "/api/v1/tickets",
            json!({"kind": "complaint"}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (400, Some("invalid_input"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("category"),
        "{body}"
    );
    let mut unknown_field = street_light("13812341234");
    unknown_field["colour"] = json!("red");
    assert_eq!(
        t.post(Some(&operator), "/api/v1/tickets", unknown_field)
            .await
            .0,
        400
    );
    let mut bad_phone = street_light("12345");
    bad_phone["contact"]["phone"] = json!("not a phone");
    let (status, body) = t.post(Some(&operator), "/api/v1/tickets", bad_phone).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("phone number"),
        "{body}"
    );
    let mut level_two = street_light("13812341234");
    level_two["category"] = json!("0305");
    let (_, body) = t.post(Some(&operator), "/api/v1/tickets", level_two).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("level-3"),
        "{body}"
    );
    let (status, body) = t
        .post(
            Some(&dispatcher),
            "/api/v1/tickets",
            street_light("13812341234"),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (403, Some("not_permitted"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operator"),
        "{body}"
    );

    let no = t
        .create_ticket(&operator, street_light("13812341234"))
        .await;
    let (status, body) = t
        .post(
            Some(&dispatcher),
            &format!("/api/v1/tickets/{no}/sign"),
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let handler = t.login("h-cgj").await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    let (status, body) = t
        .post(
            Some(&handler),
            &format!("/api/v1/tickets/{no}/reply"),
            json!({"result": "x", "claim": "solved"}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (409, Some("wrong_state"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("after signing"),
        "{body}"
    );
    let followup = t.login("followup").await;
    let (status, body) = t
        .post(
            Some(&followup),
            &format!("/api/v1/tickets/{no}/record_follow_up"),
            json!({"reached": true, "solved": true}),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = t
        .get(Some(&dispatcher), "/api/v1/tickets/26010100001")
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = t.get(Some(&dispatcher), "/api/v1/tickets/abc").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ticket number")
    );
    let (status, body) = t
        .get(Some(&dispatcher), "/api/v1/tickets?status=lost")
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pending_dispatch"),
        "{body}"
    );
    let (status, body) = t.get(None, "/api/v1/nowhere").await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );

    // A body over the limit is refused from its declared length, before it is read: announce
    // two megabytes and send none of them.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(t.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {operator}\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = vec![0u8; 64];
    let read = stream.read(&mut response).await.unwrap();
    let status_line = String::from_utf8_lossy(&response[..read]);
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");
    t.stop().await;
}

async fn the_openapi_document_describes_every_endpoint(t: TestApp) {
    let (status, doc) = t.get(None, "/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/tickets",
        "/tickets/{no}",
        "/tickets/{no}/events",
        "/tickets/{no}/dispatch",
        "/tickets/{no}/sign",
        "/tickets/{no}/request_return",
        "/tickets/{no}/decide_return",
        "/tickets/{no}/request_extension",
        "/tickets/{no}/decide_extension",
        "/tickets/{no}/urge",
        "/tickets/{no}/supervise",
        "/tickets/{no}/reply",
        "/tickets/{no}/record_follow_up",
        "/tickets/{no}/merge",
        "/tickets/{no}/hand_off",
        "/tickets/{no}/add_note",
        "/tickets/{no}/answer_on_call",
        "/tickets/{no}/reveal_contact",
        "/caller-history",
        "/ticket-counts",
        "/kpi",
        "/audit/head",
        "/auth/token",
        "/exports/tickets",
        "/units",
        "/categories",
        "/urgency-tiers",
        "/me",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} is missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["TicketView"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let (status, landing) = t.get(None, "/").await;
    assert_eq!(status, 200);
    assert!(landing.as_str().unwrap().contains("12345"));
    t.stop().await;
}
