//! Privacy: masked by default, hidden from units on confidential tickets, revealed only with a
//! logged reason, and never in plaintext in the database file.

use serde_json::json;
use testkit::{TestApp, street_light};

testkit::on_both_backends!(
    contacts_are_masked_by_default_and_revealed_only_with_a_logged_reason,
    a_confidential_ticket_never_shows_the_citizen_to_a_unit,
    units_see_only_their_own_tickets
);

async fn contacts_are_masked_by_default_and_revealed_only_with_a_logged_reason(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let handler = t.login("h-cgj").await;

    let created = t
        .post(
            Some(&operator),
            "/api/v1/tickets",
            street_light("13812341234"),
        )
        .await
        .1;
    let no = created["no"].as_str().unwrap().to_owned();
    assert_eq!(
        created["contact"],
        json!({"name": "王**", "phone": "138****1234", "address": "湖滨街道****"})
    );

    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    let (_, seen_by_unit) = t
        .get(Some(&handler), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(seen_by_unit["contact"]["phone"], "138****1234");

    let (status, refused) = t
        .post(
            Some(&handler),
            &format!("/api/v1/tickets/{no}/reveal_contact"),
            json!({"purpose": "contact_citizen", "reason": "看"}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    let (status, revealed) = t
        .post(
            Some(&handler),
            &format!("/api/v1/tickets/{no}/reveal_contact"),
            json!({"purpose": "contact_citizen", "reason": "需电话联系市民确认路灯位置"}),
        )
        .await;
    assert_eq!(status, 200, "{revealed}");
    assert_eq!(revealed["phone"], "13812341234");
    assert_eq!(revealed["name"], "王小明");

    let (_, events) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}/events"))
        .await;
    let reveal = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ticket.contact_revealed")
        .expect("the reveal is logged");
    assert_eq!(reveal["actor"], "h-cgj");
    assert_eq!(reveal["details"]["reason"], "需电话联系市民确认路灯位置");
    assert_eq!(reveal["seq"], revealed["audit_seq"]);
    t.stop().await;
}

async fn a_confidential_ticket_never_shows_the_citizen_to_a_unit(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let handler = t.login("h-d1-s1").await;

    let mut body = street_light("13912345678");
    body["category"] = json!("030303");
    body["kind"] = json!("report");
    body["description"] = json!("邻居楼顶违章搭建，我怕被报复，请保密");
    body["confidential"] = json!(true);
    let no = t.create_ticket(&operator, body).await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "d1-s1"}))
        .await;

    let (status, ticket) = t
        .get(Some(&handler), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(ticket["confidential"], true);
    assert!(ticket.get("contact").is_none(), "not even masked: {ticket}");
    let text = ticket.to_string();
    assert!(
        !text.contains("王") && !text.contains("1391") && !text.contains("5678"),
        "{text}"
    );

    let (status, refused) = t
        .post(
            Some(&handler),
            &format!("/api/v1/tickets/{no}/reveal_contact"),
            json!({"purpose": "contact_citizen", "reason": "需要联系举报人核实"}),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("confidential")
    );
    let (_, events) = t
        .get(Some(&handler), &format!("/api/v1/tickets/{no}/events"))
        .await;
    assert!(!events.to_string().contains("1391"));

    // The centre still sees it masked.
    let (_, centre_view) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(centre_view["contact"]["phone"], "139****5678");
    t.stop().await;
}

async fn units_see_only_their_own_tickets(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let lights = t.login("h-cgj").await;
    let water = t.login("h-water").await;

    let no = t
        .create_ticket(&operator, street_light("13812341234"))
        .await;
    let (status, _) = t.get(Some(&lights), &format!("/api/v1/tickets/{no}")).await;
    assert_eq!(status, 403, "nobody's ticket yet");
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;

    let (status, refused) = t.get(Some(&water), &format!("/api/v1/tickets/{no}")).await;
    assert_eq!(status, 403);
    assert_eq!(refused["error"]["code"], "not_permitted");
    assert!(
        !refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cgj"),
        "which unit has it is not said: {refused}"
    );
    let (status, _) = t
        .post(
            Some(&water),
            &format!("/api/v1/tickets/{no}/sign"),
            json!({}),
        )
        .await;
    assert_eq!(status, 403);

    let (_, own) = t.get(Some(&water), "/api/v1/tickets").await;
    assert!(own["tickets"].as_array().unwrap().is_empty());
    let (status, _) = t.get(Some(&water), "/api/v1/tickets?unit=cgj").await;
    assert_eq!(status, 403);
    let (_, theirs) = t.get(Some(&lights), "/api/v1/tickets").await;
    assert_eq!(theirs["tickets"][0]["no"], no.as_str());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_phone_number_or_name_is_stored_in_plaintext() {
    let t = TestApp::spawn().await;
    let operator = t.login("operator").await;
    let phones: Vec<String> = (0..20).map(|i| format!("1375555{i:04}")).collect();
    for phone in &phones {
        let mut body = street_light(phone);
        body["contact"]["name"] = json!("欧阳明月");
        t.create_ticket(&operator, body).await;
    }
    let db = t.db_path();
    let _dir = t.stop().await;
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(content) = std::fs::read(&path) {
            bytes.extend(content);
        }
    }
    assert!(bytes.len() > 100_000, "read the database file");
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for phone in &phones {
        assert!(
            !contains(phone.as_bytes()),
            "phone {phone} is in the database file"
        );
    }
    assert!(
        !contains("欧阳明月".as_bytes()),
        "a citizen's name is in the database file"
    );
    assert!(
        !contains("阳光花园3栋402".as_bytes()),
        "a citizen's home address is in the database file"
    );
    // The ticket itself (where the problem is) is not personal data and is stored as such.
    assert!(contains("幸福路12号".as_bytes()));
}
