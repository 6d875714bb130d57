//! Lists, filters, paging, caller history, KPIs, exports, the audit head.

use serde_json::json;
use testkit::{TestApp, street_light};

testkit::on_both_backends!(
    lists_filter_by_status_unit_category_overdue_and_date_with_paging,
    an_operator_sees_the_callers_earlier_tickets_by_phone,
    supervisors_read_kpis_the_audit_head_and_export_with_a_record
);

async fn lists_filter_by_status_unit_category_overdue_and_date_with_paging(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let mut numbers = Vec::new();
    for i in 0..7 {
        let no = t
            .create_ticket(&operator, street_light(&format!("1380000000{i}")))
            .await;
        if i < 4 {
            t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
                .await;
        }
        numbers.push(no);
    }
    let get = |q: &'static str| {
        let dispatcher = dispatcher.clone();
        let t = &t;
        async move {
            let (status, page) = t
                .get(Some(&dispatcher), &format!("/api/v1/tickets?{q}"))
                .await;
            assert_eq!(status, 200, "{q}: {page}");
            page
        }
    };
    let nos = |page: &serde_json::Value| {
        page["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["no"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(nos(&get("status=pending_dispatch").await).len(), 3);
    assert_eq!(
        nos(&get("status=dispatched,pending_dispatch").await).len(),
        7
    );
    assert_eq!(nos(&get("unit=cgj").await).len(), 4);
    assert_eq!(nos(&get("category=03").await).len(), 7);
    assert_eq!(nos(&get("category=08").await).len(), 0);
    assert_eq!(nos(&get("overdue=true").await).len(), 0);
    assert_eq!(nos(&get("from=2026-11-26&to=2026-11-27").await).len(), 7);
    assert_eq!(nos(&get("from=2026-11-27").await).len(), 0);

    t.advance(3);
    let (_, counts) = t.get(Some(&dispatcher), "/api/v1/ticket-counts").await;
    let count_of = |status: &str| {
        counts
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == status)
            .map(|c| (c["count"].as_u64().unwrap(), c["overdue"].as_u64().unwrap()))
    };
    assert_eq!(count_of("dispatched"), Some((4, 4)));
    assert_eq!(count_of("pending_dispatch"), Some((3, 0)));
    let handler = t.login("h-cgj").await;
    let (_, own) = t.get(Some(&handler), "/api/v1/ticket-counts").await;
    assert_eq!(
        own.as_array().unwrap().len(),
        1,
        "a unit counts its own tickets only: {own}"
    );
    let overdue = get("overdue=true").await;
    assert_eq!(
        nos(&overdue).len(),
        4,
        "signing was due two working hours after dispatch"
    );
    assert_eq!(overdue["tickets"][0]["overdue"], true);

    let first = get("limit=3").await;
    let next = first["next_before"].as_str().unwrap().to_owned();
    let (_, second) = t
        .get(
            Some(&dispatcher),
            &format!("/api/v1/tickets?limit=3&before={next}"),
        )
        .await;
    let (_, third) = t
        .get(
            Some(&dispatcher),
            &format!(
                "/api/v1/tickets?limit=3&before={}",
                second["next_before"].as_str().unwrap()
            ),
        )
        .await;
    let mut all = nos(&first);
    all.extend(nos(&second));
    all.extend(nos(&third));
    numbers.reverse();
    assert_eq!(all, numbers);
    assert!(third["next_before"].is_null());
    t.stop().await;
}

async fn an_operator_sees_the_callers_earlier_tickets_by_phone(t: TestApp) {
    let operator = t.login("operator").await;
    let first = t
        .create_ticket(&operator, street_light("13812341234"))
        .await;
    t.create_ticket(&operator, street_light("13900000000"))
        .await;
    let second = t
        .create_ticket(&operator, street_light("138 1234 1234"))
        .await;
    let (status, intake) = t.post(Some(&operator), "/api/v1/intakes", json!({})).await;
    assert_eq!(status, 201, "{intake}");
    let intake = intake["intake"].as_str().unwrap();
    let (status, history) = t
        .post(
            Some(&operator),
            "/api/v1/caller-history",
            json!({"phone": "+86 138-1234-1234", "intake": intake}),
        )
        .await;
    assert_eq!(status, 200, "{history}");
    let found: Vec<_> = history["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["no"].as_str().unwrap())
        .collect();
    assert_eq!(found, [second.as_str(), first.as_str()]);
    assert!(history["tickets"][0].get("contact").is_none());
    for who in ["h-cgj", "dispatcher", "followup"] {
        let token = t.login(who).await;
        let (status, _) = t
            .post(
                Some(&token),
                "/api/v1/caller-history",
                json!({"phone": "13812341234", "intake": intake}),
            )
            .await;
        assert_eq!(status, 403, "{who} takes no calls");
    }
    t.stop().await;
}

async fn supervisors_read_kpis_the_audit_head_and_export_with_a_record(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let handler = t.login("h-cgj").await;
    let followup = t.login("followup").await;
    let supervisor = t.login("supervisor").await;
    for solved in [true, false, true, true] {
        let no = t
            .create_ticket(&operator, street_light("13812341234"))
            .await;
        t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
            .await;
        t.act(&handler, &no, "sign", json!({})).await;
        t.act(
            &handler,
            &no,
            "reply",
            json!({"result": "已修复", "claim": "solved"}),
        )
        .await;
        t.act(&followup, &no, "record_follow_up", json!({"reached": true, "unit_contacted": true, "solved": solved, "satisfaction": if solved {"satisfied"} else {"dissatisfied"}})).await;
    }
    let (status, kpi) = t.get(Some(&supervisor), "/api/v1/kpi?month=2026-11").await;
    assert_eq!(status, 200, "{kpi}");
    let cgj = kpi["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "cgj")
        .unwrap();
    assert_eq!(cgj["rates"]["resolution"], 75.0);
    assert_eq!(cgj["rates"]["claimed_solved"], 100.0);
    assert_eq!(cgj["rates"]["closed_vs_solved_gap"], 25.0);
    assert!(
        cgj["rank"].is_null(),
        "four follow-ups are too few to rank a unit (policy: 10)"
    );
    assert_eq!(cgj["composite"], 77.5, "10% × 100 + 45% × 75 + 45% × 75");
    assert_eq!(kpi["hotline"]["received"], 4);
    let (_, from_log) = t
        .get(Some(&supervisor), "/api/v1/kpi?month=2026-11&source=log")
        .await;
    assert_eq!(from_log["units"], kpi["units"]);
    assert_eq!(
        t.get(Some(&handler), "/api/v1/kpi?month=2026-11").await.0,
        403
    );
    assert_eq!(
        t.get(Some(&supervisor), "/api/v1/kpi?month=2026-13")
            .await
            .0,
        400
    );

    let (status, head) = t.get(Some(&supervisor), "/api/v1/audit/head").await;
    assert_eq!(status, 200);
    assert_eq!(head["hash"].as_str().unwrap().len(), 64);

    let response = t
        .client
        .post(format!("{}/api/v1/exports/tickets", t.base))
        .bearer_auth(&supervisor)
        .json(&json!({"reason": "月度通报材料"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(!csv.contains("1381234"));
    let (_, after) = t.get(Some(&supervisor), "/api/v1/audit/head").await;
    assert_eq!(
        after["seq"].as_u64().unwrap(),
        head["seq"].as_u64().unwrap() + 1,
        "the export is recorded"
    );
    let (status, _) = t
        .post(
            Some(&supervisor),
            "/api/v1/exports/tickets",
            json!({"reason": ""}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        t.post(
            Some(&dispatcher),
            "/api/v1/exports/tickets",
            json!({"reason": "看看数据"})
        )
        .await
        .0,
        403
    );
    t.stop().await;
}
