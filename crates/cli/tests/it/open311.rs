//! Open311 GeoReport v2 against the real server, in both formats: discovery, services and their
//! questions, submitting with an API key (in the body or the query string), the public reads
//! with every filter, tokens, the rate limit, and every error in the spec's shape.

use domain::org::{Actor, Affiliation, Role, User};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{TestApp, street_light};

testkit::on_both_backends!(
    discovery_and_services_in_both_formats,
    a_channel_submits_with_its_key_and_the_request_is_sealed_like_any_other,
    public_reads_filter_and_never_show_the_reporter,
    every_error_has_the_spec_shape,
    a_key_over_its_rate_is_refused_until_the_next_minute,
    updates_show_each_public_step_and_nothing_internal,
);

const BASE: &str = "/open311/v2";

/// A POST: path, form, the status expected, and words the error's description must contain.
type PostCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, StatusCode, &'a str);

/// An outside channel's account and its API key.
async fn channel_key(t: &TestApp) -> String {
    let admin = Actor::system("test");
    let user = User {
        id: domain::ids::UserId::parse("app-minsheng").unwrap(),
        display_name: "民声市民通 App".into(),
        affiliation: Affiliation::Channel,
        roles: [Role::ChannelClient].into_iter().collect(),
        active: true,
    };
    t.app
        .create_user(&admin, t.app.now(), user, None)
        .await
        .unwrap();
    t.login("app-minsheng").await
}

async fn get(t: &TestApp, path: &str) -> (StatusCode, String, String) {
    let response = t
        .client
        .get(format!("{}{BASE}/{path}", t.base))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, kind, response.text().await.unwrap())
}

async fn get_json(t: &TestApp, path: &str) -> (StatusCode, Value) {
    let (status, kind, body) = get(t, path).await;
    assert!(kind.starts_with("application/json"), "{path}: {kind}");
    (status, serde_json::from_str(&body).unwrap())
}

async fn post(t: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = t
        .client
        .post(format!("{}{BASE}/{path}", t.base))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn discovery_and_services_in_both_formats(t: TestApp) {
    let (status, discovery) = get_json(&t, "discovery.json").await;
    assert_eq!(status, StatusCode::OK);
    let endpoint = &discovery["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert!(endpoint["url"].as_str().unwrap().ends_with("/open311/v2"));
    assert_eq!(endpoint["formats"], json!(["text/xml", "application/json"]));
    let (_, kind, xml) = get(&t, "discovery.xml").await;
    assert!(kind.starts_with("text/xml"));
    assert!(
        xml.contains(
            "<formats><format>text/xml</format><format>application/json</format></formats>"
        ),
        "{xml}"
    );

    let (_, services) = get_json(&t, "services.json").await;
    let services = services.as_array().unwrap();
    let leaves = t
        .app
        .registry()
        .categories
        .values()
        .filter(|c| c.level() == 3)
        .count();
    assert_eq!(services.len(), leaves, "every leaf category is a service");
    let noise = services
        .iter()
        .find(|s| s["service_code"] == "040201")
        .unwrap();
    assert_eq!(noise["service_name"], "噪声污染");
    assert_eq!(noise["metadata"], true);
    assert_eq!(noise["type"], "realtime");
    assert_eq!(noise["group"], "自然资源与环境保护");
    assert!(noise["keywords"].as_str().unwrap().contains("污染防治"));
    let (_, _, xml) = get(&t, "services.xml").await;
    assert!(xml.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><service_code>"
    ));
    assert_eq!(xml.matches("<service>").count(), leaves);

    let (status, definition) = get_json(&t, "services/040201.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(definition["service_code"], "040201");
    let attributes = definition["attributes"].as_array().unwrap();
    let periods = attributes
        .iter()
        .find(|a| a["code"] == "noise_periods")
        .unwrap();
    assert_eq!(periods["datatype"], "multivaluelist");
    assert_eq!(periods["required"], true);
    assert_eq!(periods["variable"], true);
    assert_eq!(
        periods["values"][3],
        json!({"key": "night", "name": "夜间 22–6 点"})
    );
    let (_, _, xml) = get(&t, "services/040201.xml").await;
    assert!(xml.contains("<service_definition><service_code>040201</service_code><attributes><attribute><variable>true</variable>"), "{xml}");
    // The jurisdiction may be named (it is the city), or left empty.
    let (status, _) = get_json(&t, "services.json?jurisdiction_id=city").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get_json(&t, "services.json?jurisdiction_id=").await;
    assert_eq!(status, StatusCode::OK);
}

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
            &format!("/api/v1/tickets/{id}/reveal-contact"),
            json!({"reason": "核实市民身份后回电"}),
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

async fn public_reads_filter_and_never_show_the_reporter(t: TestApp) {
    let key = channel_key(&t).await;
    let (_, body) = post(
        &t,
        "requests.json",
        &[
            ("api_key", &key),
            ("service_code", "030503"),
            ("address_string", "幸福路"),
            ("attribute[hazard]", "no"),
            ("phone", "13700007777"),
            ("first_name", "丽"),
            ("last_name", "李"),
            ("description", "井盖松动"),
        ],
    )
    .await;
    let online: Value = serde_json::from_str(&body).unwrap();
    let online = online[0]["service_request_id"].as_str().unwrap().to_owned();
    let operator = t.login("operator").await;
    let phoned = t
        .create_ticket(&operator, street_light("13800001111"))
        .await;
    let mut secret = street_light("13800002222");
    secret["confidential"] = json!(true);
    let confidential = t.create_ticket(&operator, secret).await;

    let (status, found) = get_json(
        &t,
        &format!("requests.json?service_request_id={online},{phoned},{confidential}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let found = found.as_array().unwrap();
    assert_eq!(
        found.len(),
        2,
        "the confidential request does not exist for the public"
    );
    let by_id = |id: &str| {
        found
            .iter()
            .find(|r| r["service_request_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_id(&online)["description"],
        "井盖松动",
        "an online request is public"
    );
    assert_eq!(
        by_id(&phoned)["description"],
        Value::Null,
        "a phone call's words are not published"
    );
    assert_eq!(by_id(&online)["status"], "open");
    assert_eq!(by_id(&online)["address"], "幸福路");
    assert!(
        by_id(&online)["requested_datetime"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    let everything = serde_json::to_string(found).unwrap();
    for personal in [
        "13700007777",
        "7777",
        "李丽",
        "李*",
        "13800001111",
        "王小明",
    ] {
        assert!(
            !everything.contains(personal),
            "{personal} leaked: {everything}"
        );
    }

    let (_, all) = get_json(&t, "requests.json").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        2,
        "the last 90 days, newest first, no confidential"
    );
    assert_eq!(all[0]["service_request_id"], phoned.as_str());
    let (_, by_service) = get_json(&t, "requests.json?service_code=030503").await;
    assert_eq!(by_service.as_array().unwrap().len(), 1);
    let (_, closed) = get_json(&t, "requests.json?status=closed").await;
    assert_eq!(closed, json!([]));
    let (_, open) = get_json(&t, "requests.json?status=open,closed&service_code=").await;
    assert_eq!(open.as_array().unwrap().len(), 2);
    let (_, later) = get_json(
        &t,
        "requests.json?start_date=2030-01-01T00:00:00%2B08:00&end_date=2030-02-01T00:00:00Z",
    )
    .await;
    assert_eq!(later, json!([]));
    let (_, paged) = get_json(&t, "requests.json?page=2&page_size=1").await;
    assert_eq!(paged[0]["service_request_id"], online.as_str());

    let (status, one) = get_json(&t, &format!("requests/{online}.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        one.as_array().unwrap().len(),
        1,
        "a single request is a one-element list"
    );
    let (_, _, xml) = get(&t, &format!("requests/{online}.xml")).await;
    assert!(
        xml.contains("<service_requests><request><service_request_id>"),
        "{xml}"
    );
    assert!(xml.contains("<zipcode/>"));
    let (status, _) = get_json(&t, &format!("requests/{confidential}.json")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, token) = get_json(&t, &format!("tokens/{online}.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        token[0],
        json!({"service_request_id": online, "token": online})
    );
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

async fn updates_show_each_public_step_and_nothing_internal(t: TestApp) {
    let key = channel_key(&t).await;
    let (_, body) = post(
        &t,
        "requests.json",
        &[
            ("api_key", &key),
            ("service_code", "090101"),
            ("address_string", "幸福路"),
            ("description", "社区养老服务咨询"),
        ],
    )
    .await;
    let created: Value = serde_json::from_str(&body).unwrap();
    let online = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let handler = t.login("h-mzj").await;
    let mut secret = street_light("13800003333");
    secret["confidential"] = json!(true);
    let confidential = t.create_ticket(&operator, secret).await;
    for no in [&online, &confidential] {
        let lead = if no == &online { "mzj" } else { "cgj" };
        t.act(&dispatcher, no, "dispatch", json!({"lead": lead}))
            .await;
    }
    t.act(&handler, &online, "sign", json!({})).await;
    t.act(
        &handler,
        &online,
        "notes",
        json!({"text": "已电话联系市民", "contacted_citizen": true}),
    )
    .await;
    t.act(
        &handler,
        &online,
        "reply",
        json!({"result": "已告知社区养老驿站地址和开放时间", "claim": "explained"}),
    )
    .await;

    let (status, updates) = get_json(
        &t,
        &format!("servicerequestupdates.json?service_request_id={online}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updates}");
    let steps: Vec<&str> = updates
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "已受理",
            "已派至承办单位",
            "承办单位已签收，正在办理",
            "承办单位已答复：已告知社区养老驿站地址和开放时间"
        ],
        "the note is internal and not shown"
    );
    assert!(
        updates
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["status"] == "open")
    );

    let (_, window) = get_json(&t, "servicerequestupdates.json").await;
    let ids: Vec<&str> = window
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["service_request_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&online.as_str()));
    assert!(
        !ids.contains(&confidential.as_str()),
        "a confidential request has no public updates"
    );
    let (status, _) = get_json(
        &t,
        &format!("servicerequestupdates.json?service_request_id={confidential}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, xml) = get(
        &t,
        &format!("servicerequestupdates.xml?service_request_id={online}"),
    )
    .await;
    assert!(
        xml.contains("<service_request_updates><request_update><update_id>"),
        "{xml}"
    );
}
