//! Phone and ID numbers typed into free text — a description, a unit's note, a reply — are
//! masked in everything anyone reads, sealed beside the log, and shown in full only by a logged
//! reveal; on a confidential ticket nothing of them shows.

use serde_json::{Value, json};
use testkit::{Backend, TestApp, street_light};

testkit::on_both_backends!(
    numbers_in_text_are_masked_everywhere_and_revealed_with_a_logged_reason,
    a_ticket_without_a_contact_but_with_a_number_in_its_text_can_be_revealed,
    on_a_confidential_ticket_nothing_of_a_written_number_shows,
);

const OTHER_PHONE: &str = "13987654321";
const ID_NUMBER: &str = "11010519491231002X";
const LANDLINE: &str = "0571-88776655";

fn numbers_in(revealed: &Value) -> Vec<(String, String, String)> {
    revealed["numbers_in_text"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["field"].as_str().unwrap().to_owned(),
                n["masked"].as_str().unwrap().to_owned(),
                n["written"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn numbers_in_text_are_masked_everywhere_and_revealed_with_a_logged_reason(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let handler = t.login("h-cgj").await;
    let followup = t.login("followup").await;

    let mut body = street_light("13812341234");
    body["description"] = json!(format!(
        "路灯坏了。白天打我另一个手机{OTHER_PHONE}，身份证{ID_NUMBER}"
    ));
    let (status, created) = t.post(Some(&operator), "/api/v1/tickets", body).await;
    assert_eq!(status, 201, "{created}");
    let no = created["no"].as_str().unwrap().to_owned();
    assert_eq!(
        created["description"],
        "路灯坏了。白天打我另一个手机139****4321，身份证110***********002X"
    );

    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    t.act(&handler, &no, "sign", json!({})).await;
    t.act(
        &handler,
        &no,
        "add_note",
        json!({"text": format!("市民另留座机{LANDLINE}"), "contacted_citizen": true}),
    )
    .await;
    t.act(
        &handler,
        &no,
        "reply",
        json!({"result": format!("已修复。已电话{OTHER_PHONE}告知市民"), "claim": "solved"}),
    )
    .await;

    // Nobody reads the numbers without a reveal: not the unit, not the centre, not the list,
    // the timeline, the export or the page.
    let needles = [OTHER_PHONE, ID_NUMBER, LANDLINE, "88776655", "19491231"];
    for (who, token) in [("h-cgj", &handler), ("dispatcher", &dispatcher)] {
        for path in [
            format!("/api/v1/tickets/{no}"),
            format!("/api/v1/tickets/{no}/events"),
            "/api/v1/tickets?limit=50".to_owned(),
        ] {
            let (status, answer) = t.get(Some(token), &path).await;
            assert_eq!(status, 200, "{who} {path}: {answer}");
            let text = answer.to_string();
            for needle in needles {
                assert!(
                    !text.contains(needle),
                    "{who} {path} shows {needle}: {text}"
                );
            }
        }
    }
    let (_, ticket) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(
        ticket["reply"]["result"],
        "已修复。已电话139****4321告知市民"
    );
    let (_, events) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}/events"))
        .await;
    let sealed: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ticket.numbers_sealed")
        .collect();
    assert_eq!(sealed.len(), 3, "receive, note and reply each had numbers");
    assert_eq!(sealed[1]["details"]["numbers"][0]["masked"], "0571****6655");
    let mut browser = crate::browser::Browser::new(&t);
    browser.login("h-cgj", "").await;
    let page = browser
        .raw_get(&format!("/tickets/{no}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("139****4321"), "the page shows the mask");
    for needle in needles {
        assert!(!page.contains(needle), "the ticket page shows {needle}");
    }

    // The follow-up agent reveals (the ticket is replied): contact and numbers, one logged look.
    let (status, revealed) = t
        .post(
            Some(&followup),
            &format!("/api/v1/tickets/{no}/reveal_contact"),
            json!({"purpose": "follow_up_call", "reason": "回访需核对市民留的号码"}),
        )
        .await;
    assert_eq!(status, 200, "{revealed}");
    assert_eq!(revealed["phone"], "13812341234");
    assert_eq!(
        numbers_in(&revealed),
        [
            (
                "description".into(),
                "139****4321".into(),
                OTHER_PHONE.into()
            ),
            (
                "description".into(),
                "110***********002X".into(),
                ID_NUMBER.into()
            ),
            ("text".into(), "0571****6655".into(), LANDLINE.into()),
            ("result".into(), "139****4321".into(), OTHER_PHONE.into()),
        ]
    );
    let (_, events) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}/events"))
        .await;
    let events = events.as_array().unwrap();
    let reveal = events
        .iter()
        .find(|e| e["kind"] == "ticket.contact_revealed")
        .expect("the reveal is logged");
    assert_eq!(reveal["actor"], "followup");
    assert_eq!(reveal["seq"], revealed["audit_seq"]);
    // Each number names the entry whose text it was in.
    let note_seq = events
        .iter()
        .find(|e| e["kind"] == "ticket.note_added")
        .unwrap()["seq"]
        .clone();
    assert_eq!(revealed["numbers_in_text"][2]["seq"], note_seq);

    // On the page too: the numbers are shown once, on the reveal's own response.
    let mut browser = crate::browser::Browser::new(&t);
    browser.login("followup", "").await;
    let csrf = browser.csrf().await;
    let (status, html, _) = browser
        .post(
            &format!("/tickets/{no}/reveal_contact"),
            &[
                ("_csrf", csrf.as_str()),
                ("purpose", "follow_up_call"),
                ("reason", "回访前核对号码"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(LANDLINE) && html.contains(ID_NUMBER),
        "{html}"
    );

    if t.backend == Backend::Sqlite {
        let db = t.db_path();
        let _dir = t.stop().await;
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            if let Ok(content) = std::fs::read(format!("{}{suffix}", db.display())) {
                bytes.extend(content);
            }
        }
        for needle in [OTHER_PHONE, ID_NUMBER, "88776655"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} is in the database file"
            );
        }
    } else {
        t.stop().await;
    }
}

async fn a_ticket_without_a_contact_but_with_a_number_in_its_text_can_be_revealed(t: TestApp) {
    let operator = t.login("operator").await;
    let mut body = street_light("13812341234");
    body.as_object_mut().unwrap().remove("contact");
    body["description"] = json!(format!("路灯不亮，联系电话{OTHER_PHONE}"));
    let no = t.create_ticket(&operator, body).await;
    let (_, ticket) = t
        .get(Some(&operator), &format!("/api/v1/tickets/{no}"))
        .await;
    assert!(ticket.get("contact").is_none_or(Value::is_null), "{ticket}");
    assert_eq!(ticket["description"], "路灯不亮，联系电话139****4321");

    let (status, revealed) = t
        .post(
            Some(&operator),
            &format!("/api/v1/tickets/{no}/reveal_contact"),
            json!({"purpose": "clarify_request", "reason": "回拨核实路灯位置"}),
        )
        .await;
    assert_eq!(status, 200, "{revealed}");
    assert!(revealed["phone"].is_null());
    assert_eq!(
        numbers_in(&revealed),
        [(
            "description".into(),
            "139****4321".into(),
            OTHER_PHONE.into()
        )]
    );

    // Without a contact and without numbers there is nothing to reveal.
    let mut bare = street_light("13812341234");
    bare.as_object_mut().unwrap().remove("contact");
    let bare = t.create_ticket(&operator, bare).await;
    let (status, refused) = t
        .post(
            Some(&operator),
            &format!("/api/v1/tickets/{bare}/reveal_contact"),
            json!({"purpose": "clarify_request", "reason": "回拨核实路灯位置"}),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    t.stop().await;
}

async fn on_a_confidential_ticket_nothing_of_a_written_number_shows(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let handler = t.login("h-cgj").await;
    let mut body = street_light("13812341234");
    body["confidential"] = json!(true);
    body["description"] = json!(format!("路灯不亮。我是举报人，电话{OTHER_PHONE}，请保密"));
    let no = t.create_ticket(&operator, body).await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    // A later note on the ticket is masked the same way.
    t.act(
        &handler,
        &no,
        "add_note",
        json!({"text": format!("举报人说可打{LANDLINE}"), "contacted_citizen": false}),
    )
    .await;
    let (_, ticket) = t
        .get(Some(&handler), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(
        ticket["description"],
        "路灯不亮。我是举报人，电话***********，请保密"
    );
    let (_, events) = t
        .get(Some(&handler), &format!("/api/v1/tickets/{no}/events"))
        .await;
    let text = events.to_string();
    for needle in ["1398", "4321", "0571", "6655"] {
        assert!(!text.contains(needle), "a unit sees {needle}: {text}");
    }
    assert!(text.contains("举报人说可打************"), "{text}");

    // The unit may not reveal on a confidential ticket; the centre's supervisor may.
    let (status, _) = t
        .post(
            Some(&handler),
            &format!("/api/v1/tickets/{no}/reveal_contact"),
            json!({"purpose": "contact_citizen", "reason": "需要联系举报人"}),
        )
        .await;
    assert_eq!(status, 403);
    let supervisor = t.login("supervisor").await;
    let (status, revealed) = t
        .post(
            Some(&supervisor),
            &format!("/api/v1/tickets/{no}/reveal_contact"),
            json!({"purpose": "supervision_check", "reason": "核查举报人身份保护"}),
        )
        .await;
    assert_eq!(status, 200, "{revealed}");
    let written: Vec<String> = numbers_in(&revealed).into_iter().map(|n| n.2).collect();
    assert_eq!(written, [OTHER_PHONE, LANDLINE]);
    t.stop().await;
}
