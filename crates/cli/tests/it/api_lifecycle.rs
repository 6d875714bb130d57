//! The whole lifecycle through the HTTP API, as the people who do it.

use serde_json::json;
use testkit::{TestApp, street_light};

testkit::on_both_backends!(
    a_ticket_goes_round_the_whole_loop_and_back_when_not_solved,
    returns_extensions_urging_merging_and_hand_offs_work_over_http
);

async fn a_ticket_goes_round_the_whole_loop_and_back_when_not_solved(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let handler = t.login("h-cgj").await;
    let followup = t.login("followup").await;

    let no = t
        .create_ticket(&operator, street_light("13812341234"))
        .await;
    let (_, ticket) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(ticket["status"], "pending_dispatch");
    assert_eq!(
        ticket["category_path"],
        "城乡建设 / 城市设施管理 / 公共设施"
    );
    assert_eq!(ticket["location"]["division_name"], "湖滨街道");

    let dispatched = t
        .act(
            &dispatcher,
            &no,
            "dispatch",
            json!({"lead": "cgj", "co_units": ["d1-s1"]}),
        )
        .await;
    assert_eq!(dispatched["status"], "dispatched");
    assert_eq!(dispatched["lead_unit"]["name"], "市城市管理和综合执法局");
    assert_eq!(dispatched["co_units"][0]["id"], "d1-s1");
    // Thursday 10:00 + 2 working hours to sign; 7 working days to reply.
    assert_eq!(dispatched["sign_by"], "2026-11-26T04:00:00Z");
    assert_eq!(dispatched["reply_by"], "2026-12-07T16:00:00Z");

    t.advance(1);
    t.act(&handler, &no, "sign", json!({})).await;
    t.act(
        &handler,
        &no,
        "add_note",
        json!({"text": "已电话联系市民", "contacted_citizen": true}),
    )
    .await;
    t.advance(20);
    let replied = t
        .act(
            &handler,
            &no,
            "reply",
            json!({"result": "已更换灯具", "claim": "solved"}),
        )
        .await;
    assert_eq!(replied["status"], "replied");

    // The citizen says it is not solved: back to the unit (重办) with new deadlines.
    t.advance(24);
    let reopened = t
        .act(&followup, &no, "record_follow_up", json!({"reached": true, "unit_contacted": true, "solved": false, "satisfaction": "dissatisfied", "comment": "灯还是不亮"}))
        .await;
    assert_eq!(reopened["status"], "dispatched");
    assert_eq!(reopened["reopen_count"], 1);
    assert_eq!(reopened["lead_unit"]["id"], "cgj");

    t.act(&handler, &no, "sign", json!({})).await;
    t.act(
        &handler,
        &no,
        "reply",
        json!({"result": "更换了整段线路", "claim": "solved"}),
    )
    .await;
    t.advance(24);
    let closed = t
        .act(&followup, &no, "record_follow_up", json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}))
        .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closure"]["outcome"], "solved");

    let (status, events) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}/events"))
        .await;
    assert_eq!(status, 200);
    let kinds: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "ticket.received",
            "ticket.dispatched",
            "ticket.signed",
            "ticket.note_added",
            "ticket.replied",
            "ticket.follow_up_recorded",
            "ticket.reopened",
            "ticket.signed",
            "ticket.replied",
            "ticket.follow_up_recorded",
            "ticket.closed"
        ]
    );
    assert_eq!(events[2]["actor"], "h-cgj");
    assert!(
        events[0]["details"].get("contact").is_none(),
        "the timeline never carries the contact"
    );
    t.stop().await;
}

async fn returns_extensions_urging_merging_and_hand_offs_work_over_http(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let supervisor = t.login("supervisor").await;
    let roads = t.login("h-jtj").await;
    let lights = t.login("h-cgj").await;

    let no = t
        .create_ticket(&operator, street_light("13812341234"))
        .await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "jtj"}))
        .await;
    let returned = t
        .act(
            &roads,
            &no,
            "request_return",
            json!({"reason": "路灯属城管局职责", "rule": "《派单目录》城市照明类第2项"}),
        )
        .await;
    assert_eq!(returned["status"], "return_requested");
    assert_eq!(
        returned["pending_return"]["rule"],
        "《派单目录》城市照明类第2项"
    );
    let back = t
        .act(&dispatcher, &no, "decide_return", json!({"approve": true}))
        .await;
    assert_eq!(back["status"], "pending_dispatch");
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    t.act(&lights, &no, "sign", json!({})).await;

    let asked = t
        .act(
            &lights,
            &no,
            "request_extension",
            json!({"working_days": 3, "reason": "需更换电缆"}),
        )
        .await;
    assert_eq!(asked["pending_extension"]["working_days"], 3);
    let extended = t
        .act(
            &dispatcher,
            &no,
            "decide_extension",
            json!({"approve": true}),
        )
        .await;
    assert_eq!(extended["reply_by"], "2026-12-10T16:00:00Z");

    t.act(&dispatcher, &no, "urge", json!({"note": "请加快"}))
        .await;
    let supervised = t
        .act(&supervisor, &no, "supervise", json!({"note": "列入督办"}))
        .await;
    assert_eq!(
        (
            supervised["urge_count"].as_u64(),
            supervised["supervised"].as_bool()
        ),
        (Some(1), Some(true))
    );

    let duplicate = t
        .create_ticket(&operator, street_light("13900001111"))
        .await;
    let merged = t
        .act(&dispatcher, &duplicate, "merge", json!({"into": no}))
        .await;
    assert_eq!(merged["status"], "merged");
    let (_, target) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(target["absorbed"][0], duplicate.as_str());

    let fire = t.create_ticket(&operator, json!({"kind": "help", "category": "070403", "urgency": "emergency", "description": "楼道着火冒烟"})).await;
    let handed = t
        .act(
            &operator,
            &fire,
            "hand_off",
            json!({"to": "119", "note": "已转119"}),
        )
        .await;
    assert_eq!(handed["status"], "handed_off");
    assert_eq!(handed["handed_off_to"], "119");

    let answered = t
        .post(Some(&operator), "/api/v1/tickets", json!({"kind": "consultation", "category": "080106", "description": "社保卡怎么补办", "answer_on_call": "可到社保网点或线上补办"}))
        .await;
    assert_eq!(answered.0, 201);
    assert_eq!(answered.1["status"], "closed");
    assert_eq!(answered.1["closure"]["outcome"], "answered_on_call");
    t.stop().await;
}
