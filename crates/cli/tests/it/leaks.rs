//! The leak scanner: confidential tickets whose citizen has a known name, phone, home address and
//! photo — and who typed their phone and ID number into the description, and whose unit noted a
//! second number — go through their whole lifecycle; then everything a handling unit's staff can reach —
//! API answers, workstation pages, the photo, Open311, timelines, caller history and error
//! bodies, and the messages the outbox sends — is searched for any trace of that citizen.

use std::sync::Mutex;

use app::notify::{Outgoing, Transport};
use reqwest::Method;
use serde_json::json;
use testkit::TestApp;

use crate::citizen::{Visitor, hidden_no, png};

testkit::on_both_backends!(nothing_a_unit_can_reach_shows_a_confidential_citizen);

/// What identifies the citizen, in every form it could leak in.
const NEEDLES: [&str; 11] = [
    "欧阳秘密",
    "欧阳**",
    "13999887766",
    "139****7766",
    "139 9988 7766",
    "幸福小区5栋301",
    "minsheng-photo-plaintext-marker",
    "11010519491231002X",
    "110***********002X",
    "0571-88776655",
    "0571****6655",
];

#[derive(Default)]
struct Recorder(Mutex<Vec<Outgoing>>);

#[async_trait::async_trait]
impl Transport for Recorder {
    async fn send(&self, m: &Outgoing, _now: jiff::Timestamp) -> Result<(), String> {
        self.0.lock().unwrap().push(m.clone());
        Ok(())
    }
}

fn assert_clean(what: &str, body: &str) {
    for needle in NEEDLES {
        assert!(
            !body.contains(needle),
            "{needle} leaked to a unit through {what}: {body}"
        );
    }
}

async fn nothing_a_unit_can_reach_shows_a_confidential_citizen(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let followup = t.login("followup").await;
    let handler = t.login("h-cgj").await;

    // One by phone, with the full contact; one from the citizen page, with a photo.
    let by_phone = t
        .create_ticket(
            &operator,
            json!({
                "kind": "report",
                "category": "030501",
                "description": "小区门口路灯坏了很久。我电话13999887766，身份证11010519491231002X",
                "address": "湖滨街道幸福路8号",
                "division": "990101001",
                "confidential": true,
                "contact": {"name": "欧阳秘密", "phone": "139 9988 7766", "address": "湖滨街道幸福小区5栋301"}
            }),
        )
        .await;
    let mut visitor = Visitor::new(&t);
    let (_, form) = visitor.get("/citizen").await;
    let fields = [
        ("category", "030501"),
        ("address", "幸福路10号"),
        ("description", "路灯不亮"),
        ("name", "欧阳秘密"),
        ("phone", "13999887766"),
        ("confidential", "1"),
    ];
    let (_, receipt) = visitor.submit(&form, &fields, Some(png())).await;
    let online = hidden_no(&receipt);

    // The whole lifecycle for one, with the unit doing its part; the other stays with the unit
    // (a closed ticket is no longer the unit's to open).
    for no in [&by_phone, &online] {
        t.act(&dispatcher, no, "dispatch", json!({"lead": "cgj"}))
            .await;
        t.act(&handler, no, "sign", json!({})).await;
        t.act(
            &handler,
            no,
            "add_note",
            json!({"text": "已到现场查看，市民另留座机0571-88776655", "contacted_citizen": false}),
        )
        .await;
    }
    t.act(
        &handler,
        &by_phone,
        "reply",
        json!({"result": "已更换灯泡", "claim": "solved"}),
    )
    .await;
    t.act(&followup, &by_phone, "record_follow_up", json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}))
        .await;
    let open = t
        .create_ticket(
            &operator,
            json!({
                "kind": "report", "category": "030501", "description": "又坏了",
                "address": "湖滨街道幸福路8号", "confidential": true,
                "contact": {"name": "欧阳秘密", "phone": "13999887766", "address": "幸福小区5栋301"}
            }),
        )
        .await;
    t.act(&dispatcher, &open, "dispatch", json!({"lead": "cgj"}))
        .await;

    // Everything the unit's handler and manager can ask for.
    let month = t
        .app
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .strftime("%Y-%m")
        .to_string();
    let mut scanned = 0;
    for who in ["h-cgj", "m-cgj", "h-jtj"] {
        let token = t.login(who).await;
        let mut api: Vec<(Method, String, serde_json::Value)> = vec![
            (Method::GET, "/me".into(), json!(null)),
            (Method::GET, "/tickets?limit=200".into(), json!(null)),
            (
                Method::GET,
                "/tickets?status=closed&limit=200".into(),
                json!(null),
            ),
            (Method::GET, "/ticket-counts".into(), json!(null)),
            (Method::GET, format!("/kpi?month={month}"), json!(null)),
            (
                Method::POST,
                "/caller-history".into(),
                json!({"phone": "13999887766", "intake": "0".repeat(40)}),
            ),
            (
                Method::POST,
                "/exports/tickets".into(),
                json!({"reason": "想看看有哪些人投诉"}),
            ),
        ];
        for no in [&by_phone, &online, &open] {
            api.push((Method::GET, format!("/tickets/{no}"), json!(null)));
            api.push((Method::GET, format!("/tickets/{no}/events"), json!(null)));
            api.push((Method::GET, format!("/tickets/{no}/access"), json!(null)));
            api.push((
                Method::POST,
                format!("/tickets/{no}/reveal_contact"),
                json!({"purpose": "contact_citizen", "reason": "需要联系举报人"}),
            ));
            api.push((
                Method::POST,
                format!("/tickets/{no}/add_note"),
                json!({"text": "x", "contacted_citizen": true}),
            ));
        }
        for (method, path, body) in api {
            let mut request = t
                .client
                .request(method.clone(), format!("{}/api/v1{path}", t.base))
                .bearer_auth(&token);
            if method == Method::POST {
                request = request.json(&body);
            }
            let answer = request.send().await.unwrap().text().await.unwrap();
            assert_clean(&format!("{who} {method} {path}"), &answer);
            scanned += 1;
        }

        let mut browser = crate::browser::Browser::new(&t);
        browser.login(who, "").await;
        let mut pages = vec![
            "/unit".to_owned(),
            "/dashboard".to_owned(),
            format!("/dashboard/ranking.csv?month={month}"),
            "/intake".to_owned(),
            "/privacy".to_owned(),
        ];
        for no in [&by_phone, &online, &open] {
            pages.push(format!("/tickets/{no}"));
            pages.push(format!("/tickets/{no}/photo"));
        }
        for page in pages {
            let bytes = browser.raw_get(&page).await.bytes().await.unwrap();
            assert_clean(&format!("{who} {page}"), &String::from_utf8_lossy(&bytes));
            scanned += 1;
        }
    }

    // The public interface, as anyone.
    for path in [
        "requests.json".to_owned(),
        "requests.xml".to_owned(),
        format!("requests/{by_phone}.json"),
        format!("requests/{online}.json"),
        "servicerequestupdates.json".to_owned(),
    ] {
        let body = t
            .client
            .get(format!("{}/open311/v2/{path}", t.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_clean(&format!("Open311 {path}"), &body);
        scanned += 1;
    }

    // What monitoring reads.
    for path in ["/metrics", "/readyz", "/healthz"] {
        let response = t
            .client
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        assert_clean(path, &response.text().await.unwrap());
        scanned += 1;
    }

    // The messages sent to the citizen carry the number as their address, and nothing of the
    // citizen in their text (which a gateway's staff read).
    let recorder = Recorder::default();
    t.app.deliver_due(&recorder, t.app.now()).await.unwrap();
    let sent = recorder.0.lock().unwrap().clone();
    assert!(!sent.is_empty(), "the citizen was told of the steps");
    for message in &sent {
        assert_eq!(message.to, "13999887766");
        assert_clean("a message's text", &message.text);
    }
    assert!(scanned > 60, "{scanned} answers scanned");
    t.stop().await;
}
