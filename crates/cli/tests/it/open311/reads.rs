//! Discovery, services and their questions, the public reads with every filter, tokens, and
//! the updates extension: never the reporter, never a confidential request.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{TestApp, street_light};

use super::{channel_key, get, get_json, post};

testkit::on_both_backends!(
    discovery_and_services_in_both_formats,
    public_reads_filter_and_never_show_the_reporter,
    updates_show_each_public_step_and_nothing_internal,
    one_address_cannot_read_a_city,
);

async fn one_address_cannot_read_a_city(t: TestApp) {
    // A page and a window are bounded, whatever is asked.
    let (status, body) = get_json(&t, "requests.json?page_size=100000").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get_json(&t, "requests.json?page=50&page_size=200").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = get_json(
        &t,
        "requests.json?start_date=2025-01-01T00:00:00%2B08:00&end_date=2026-11-26T00:00:00%2B08:00",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("90 days"), "{body}");
    // The singular path some clients use for a service's definition.
    let (status, _, plural) = get(&t, "services/030503.json").await;
    let (singular_status, _, singular) = get(&t, "service/030503.json").await;
    assert_eq!((status, singular_status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(plural, singular);

    // One address may ask 120 times a minute; the 121st waits, in the spec's error shape.
    let mut refused = None;
    for i in 0..130 {
        let (status, _, body) = get(&t, "services.json").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((i, body));
            break;
        }
    }
    let (at, body) = refused.expect("the address is limited");
    assert_eq!(at, 115, "five asked above, then 115 more make 120");
    assert!(body.contains("wait a minute"), "{body}");
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
            ("public", "true"),
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
        "the citizen agreed to publish it"
    );
    assert_eq!(
        by_id(&phoned)["description"],
        Value::Null,
        "a phone call's words are not published"
    );
    // Nothing that points at a household: the street, not the house number or coordinates.
    assert_eq!(by_id(&phoned)["address"], "湖滨街道");
    assert_eq!(by_id(&phoned)["lat"], Value::Null);
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
        "幸福路12号",
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
        "add_note",
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
