//! Submitting with an API key (in the body or the query string), sealed like any other request;
//! every error in the spec's shape; the rate limit.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::TestApp;

use super::{PostCase, channel_key, get, get_json, post};

testkit::on_both_backends!(
    a_channel_submits_with_its_key_and_the_request_is_sealed_like_any_other,
    every_error_has_the_spec_shape,
    a_key_over_its_rate_is_refused_until_the_next_minute,
);

async fn a_channel_submits_with_its_key_and_the_request_is_sealed_like_any_other(t: TestApp) {
    let key = channel_key(&t).await;
    let (status, body) = post(
        &t,
        "requests.json",
        &[
            ("api_key", &key),
            ("service_code", "040201"),
            ("lat", "30.5"),
            ("long", "114.3"),
            ("address_string", "东湖区湖滨街道幸福路12号"),
            ("attribute[noise_periods][]", "evening"),
            ("attribute[noise_periods][]", "night"),
            ("attribute[nights_per_week]", "5"),
            ("attribute[landmark]", ""),
            ("first_name", "小明"),
            ("last_name", "王"),
            ("phone", "13912340000"),
            ("email", "wang@example.com"),
            ("device_id", ""),
            ("description", "楼下酒吧每晚噪声扰民到凌晨"),
            ("media_url", "https://example.com/photo.jpg"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created[0]["token"], id.as_str());
    assert!(
        created[0]["service_notice"]
            .as_str()
            .unwrap()
            .contains("已受理")
    );

    let dispatcher = t.login("dispatcher").await;
    let (_, ticket) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(ticket["channel"], "open311");
    assert_eq!(
        ticket["received_by"], "app-minsheng",
        "the key's owner is recorded"
    );
    assert_eq!(
        ticket["attributes"]["noise_periods"], "evening,night",
        "staff see the answers"
    );
    assert_eq!(ticket["media_url"], "https://example.com/photo.jpg");
    assert_eq!(
        ticket["contact"]["name"], "王**",
        "family name first: 王小明"
    );
    assert_eq!(ticket["contact"]["phone"], "139****0000");
    assert_eq!(ticket["contact"]["email"], "w***@example.com");
    let stored = t
        .store
        .ticket(domain::ids::TicketNo::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.request.attributes["noise_periods"], "evening,night");
    assert!(
        !stored.request.attributes.contains_key("landmark"),
        "empty answers are absent"
    );
    let (status, revealed) = t
        .post(
            Some(&dispatcher),
            &format!("/api/v1/tickets/{id}/reveal_contact"),
            json!({"purpose": "clarify_request", "reason": "核实市民身份后回电"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    assert_eq!(revealed["phone"], "13912340000");
    assert_eq!(revealed["email"], "wang@example.com");

    // The key in the query string, XML out, optional parameters empty.
    let (status, xml) = post(
        &t,
        &format!("requests.xml?api_key={key}"),
        &[
            ("service_code", "030503"),
            ("address_id", "990101001"),
            ("attribute[hazard]", "yes"),
            ("email", ""),
            ("lat", ""),
            ("long", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{xml}");
    assert!(
        xml.contains("<service_requests><request><service_request_id>"),
        "{xml}"
    );

    // The channel's key records requests and reads nothing of the workstation or the API.
    let (status, _) = t.get(Some(&key), "/api/v1/tickets").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn every_error_has_the_spec_shape(t: TestApp) {
    let key = channel_key(&t).await;
    let cases: Vec<PostCase> = vec![
        (
            "requests.json",
            vec![("service_code", "040201")],
            StatusCode::FORBIDDEN,
            "api_key is required",
        ),
        (
            "requests.json",
            vec![("api_key", "ms_nothing"), ("service_code", "040201")],
            StatusCode::FORBIDDEN,
            "not valid",
        ),
        (
            "requests.json",
            vec![("api_key", &key), ("lat", "1"), ("long", "2")],
            StatusCode::BAD_REQUEST,
            "service_code is required",
        ),
        (
            "requests.json",
            vec![
                ("api_key", &key),
                ("service_code", "999999"),
                ("lat", "1"),
                ("long", "2"),
            ],
            StatusCode::NOT_FOUND,
            "not a service",
        ),
        (
            "requests.json",
            vec![
                ("api_key", &key),
                ("service_code", "030503"),
                ("attribute[hazard]", "no"),
            ],
            StatusCode::BAD_REQUEST,
            "lat and long",
        ),
        (
            "requests.json",
            vec![
                ("api_key", &key),
                ("service_code", "030503"),
                ("lat", "1"),
                ("long", "2"),
            ],
            StatusCode::BAD_REQUEST,
            "hazard] is required",
        ),
        (
            "requests.json",
            vec![
                ("api_key", &key),
                ("service_code", "030503"),
                ("lat", "north"),
                ("long", "2"),
            ],
            StatusCode::BAD_REQUEST,
            "lat must be a number",
        ),
        (
            "requests.json",
            vec![
                ("api_key", &key),
                ("service_code", "030503"),
                ("lat", "1"),
                ("long", "2"),
                ("attribute[hazard]", "maybe"),
            ],
            StatusCode::BAD_REQUEST,
            "must be one of",
        ),
        (
            "requests.json",
            vec![
                ("api_key", &key),
                ("service_code", "030503"),
                ("lat", "1"),
                ("long", "2"),
                ("attribute[hazard]", "no"),
                ("jurisdiction_id", "elsewhere"),
            ],
            StatusCode::NOT_FOUND,
            "not served here",
        ),
        (
            "services.json",
            vec![],
            StatusCode::NOT_FOUND,
            "only requests",
        ),
    ];
    for (path, form, status, words) in cases {
        let (got, body) = post(&t, path, &form).await;
        assert_eq!(got, status, "{form:?}: {body}");
        let errors: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(errors[0]["code"], status.as_u16(), "{body}");
        assert!(
            errors[0]["description"].as_str().unwrap().contains(words),
            "{form:?}: {body}"
        );
    }
    for (path, status) in [
        ("services/040298.json", StatusCode::NOT_FOUND),
        ("services/0402.json", StatusCode::NOT_FOUND),
        ("requests/26112699999.json", StatusCode::NOT_FOUND),
        ("requests/nonsense.json", StatusCode::NOT_FOUND),
        ("tokens/abc.json", StatusCode::NOT_FOUND),
        ("requests.json?status=pending", StatusCode::BAD_REQUEST),
        ("requests.json?page=4294967295", StatusCode::BAD_REQUEST),
        (
            "requests.json?start_date=yesterday",
            StatusCode::BAD_REQUEST,
        ),
        (
            "requests.json?service_request_id=x1",
            StatusCode::BAD_REQUEST,
        ),
        (
            "requests.json?jurisdiction_id=elsewhere",
            StatusCode::NOT_FOUND,
        ),
        ("nothing.json", StatusCode::NOT_FOUND),
    ] {
        let (got, errors) = get_json(&t, path).await;
        assert_eq!(got, status, "{path}: {errors}");
        assert_eq!(errors[0]["code"], status.as_u16(), "{path}");
    }
    let (status, kind, xml) = get(&t, "requests.xml?status=pending").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(kind.starts_with("text/xml"));
    assert!(
        xml.contains("<errors><error><code>400</code><description>status is open or closed"),
        "{xml}"
    );
    let (status, _, _) = get(&t, "requests").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a resource without its format"
    );
}

async fn a_key_over_its_rate_is_refused_until_the_next_minute(t: TestApp) {
    let key = channel_key(&t).await;
    let form = [
        ("api_key", key.as_str()),
        ("service_code", "090101"),
        ("address_string", "幸福路"),
    ];
    for i in 0..60 {
        let (status, body) = post(&t, "requests.json", &form).await;
        assert_eq!(status, StatusCode::CREATED, "request {i}: {body}");
    }
    let (status, body) = post(&t, "requests.json", &form).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("more than 60 requests in a minute"));
    let dispatcher = t.login("dispatcher").await;
    let (_, counts) = t
        .get(
            Some(&dispatcher),
            "/api/v1/tickets?status=pending_dispatch&limit=500",
        )
        .await;
    assert_eq!(
        counts["tickets"].as_array().unwrap().len(),
        60,
        "the refused one recorded nothing"
    );
}
