//! Every look at personal data leaves a trace, and a number cannot be found by trying them all:
//! the access trail and the caller-lookup budget, through the API, as an insider would try it.

use futures::StreamExt;
use serde_json::{Value, json};
use testkit::{TestApp, street_light};

testkit::on_both_backends!(
    every_look_at_a_ticket_is_in_the_trail_with_who_when_and_in_which_role,
    trying_every_number_is_cut_off_at_the_budget_recorded_and_flagged,
    an_intake_looks_up_one_caller,
    a_reveal_without_a_need_is_refused_and_recorded
);

async fn every_look_at_a_ticket_is_in_the_trail_with_who_when_and_in_which_role(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let handler = t.login("h-cgj").await;
    let supervisor = t.login("supervisor").await;
    let no = t
        .create_ticket(&operator, street_light("13812341234"))
        .await;

    let before = audit_head(&t, &supervisor).await;
    let (status, _) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(status, 200);
    assert!(
        audit_head(&t, &supervisor).await > before,
        "a read moves the audit head"
    );
    t.get(Some(&dispatcher), &format!("/api/v1/tickets/{no}/events"))
        .await;
    let (_, page) = t
        .get(Some(&dispatcher), "/api/v1/tickets?status=pending_dispatch")
        .await;
    assert!(!page["tickets"].as_array().unwrap().is_empty());
    // Rereading the queue is another look in the log, but the ticket's trail keeps each
    // person's first look in a list per day.
    t.get(Some(&dispatcher), "/api/v1/tickets?status=pending_dispatch")
        .await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    t.get(Some(&handler), &format!("/api/v1/tickets/{no}"))
        .await;
    t.post(
        Some(&handler),
        &format!("/api/v1/tickets/{no}/reveal_contact"),
        json!({"purpose": "contact_citizen", "reason": "需电话联系市民确认位置"}),
    )
    .await;

    let (status, trail) = t
        .get(Some(&supervisor), &format!("/api/v1/tickets/{no}/access"))
        .await;
    assert_eq!(status, 200, "{trail}");
    let lines: Vec<(String, String, String)> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["user"].as_str().unwrap().to_owned(),
                l["kind"].as_str().unwrap().to_owned(),
                l["affiliation"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("dispatcher", "access.ticket_read", "centre"),
        ("dispatcher", "access.ticket_read", "centre"),
        ("dispatcher", "access.tickets_listed", "centre"),
        ("h-cgj", "access.ticket_read", "unit:cgj"),
        ("h-cgj", "ticket.contact_revealed", "unit:cgj"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
        .collect();
    assert_eq!(lines, expected, "{trail:#}");
    assert_eq!(trail[0]["roles"], json!(["dispatcher"]));
    assert_eq!(trail[1]["detail"], "timeline");
    let listed = trail[2]["detail"].as_str().unwrap();
    assert!(
        listed.contains("status=pending_dispatch") && listed.contains("first in a list that day"),
        "a listing keeps its filter: {listed}"
    );

    // Only the supervisor reads the trail.
    for who in [&dispatcher, &handler, &operator] {
        let (status, _) = t
            .get(Some(who), &format!("/api/v1/tickets/{no}/access"))
            .await;
        assert_eq!(status, 403);
        assert_eq!(t.get(Some(who), "/api/v1/privacy").await.0, 403);
    }
    let (_, report) = t.get(Some(&supervisor), "/api/v1/privacy").await;
    let people = report["people"].as_array().unwrap();
    let dispatcher_day = people.iter().find(|p| p["user"] == "dispatcher").unwrap();
    assert_eq!(dispatcher_day["reads"], 4, "{report:#}");
    let handler_day = people.iter().find(|p| p["user"] == "h-cgj").unwrap();
    assert_eq!(handler_day["reveals"], 1);
    t.stop().await;
}

async fn trying_every_number_is_cut_off_at_the_budget_recorded_and_flagged(t: TestApp) {
    let operator = t.login("operator").await;
    let supervisor = t.login("supervisor").await;
    // The complaint whose masked number `186****1868` an insider wants to unmask.
    let secret = t
        .create_ticket(&operator, street_light("18655551868"))
        .await;
    let tries = 10_000u32;
    let t = &t;
    let outcomes: Vec<(u16, Value)> = futures::stream::iter(0..tries)
        .map(|middle| {
            let operator = operator.clone();
            async move {
                let (_, intake) = t.post(Some(&operator), "/api/v1/intakes", json!({})).await;
                let phone = format!("186{middle:04}1868");
                let body = json!({"phone": phone, "intake": intake["intake"]});
                let (status, answer) = t
                    .post(Some(&operator), "/api/v1/caller-history", body)
                    .await;
                (status.as_u16(), answer)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let answered = outcomes.iter().filter(|(s, _)| *s == 200).count();
    let refused = outcomes.iter().filter(|(s, _)| *s == 429).count();
    assert_eq!((answered, refused), (60, tries as usize - 60));
    assert!(
        outcomes
            .iter()
            .filter(|(s, _)| *s == 429)
            .all(|(_, body)| body["error"]["code"] == "too_many_requests"),
    );
    let found_secret = outcomes.iter().any(|(_, answer)| {
        answer["tickets"]
            .as_array()
            .is_some_and(|found| found.iter().any(|x| x["no"] == secret.as_str()))
    });
    // 60 tries of 10,000 find it only by luck of the draw order; the middle digits 5555 are far
    // beyond the first 60 numbers tried.
    assert!(!found_secret, "the number was not unmasked");

    let (_, report) = t.get(Some(&supervisor), "/api/v1/privacy").await;
    let person = report["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user"] == "operator")
        .unwrap()
        .clone();
    assert_eq!(person["lookups"], 60, "{person}");
    assert_eq!(
        person["refused_lookups"],
        tries - 60,
        "every refusal is recorded"
    );
    let flags: Vec<&Value> = report["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["user"] == "operator")
        .collect();
    assert!(
        flags
            .iter()
            .any(|f| f["flag"] == "lookups_refused" && f["refused"] == tries - 60),
        "{flags:?}"
    );
    let (_, mine) = t
        .get(Some(&supervisor), "/api/v1/privacy/people/operator")
        .await;
    let lookups = mine
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"].as_str().unwrap().contains("look"))
        .count();
    assert_eq!(
        lookups, tries as usize,
        "every lookup and refusal is in the trail"
    );
    assert!(
        !mine.to_string().contains("1868\""),
        "the trail keeps no number, only its keyed index"
    );
}

async fn an_intake_looks_up_one_caller(t: TestApp) {
    let operator = t.login("operator").await;
    let (_, intake) = t.post(Some(&operator), "/api/v1/intakes", json!({})).await;
    let lookup = |phone: &'static str, intake: Value| {
        let operator = operator.clone();
        let t = &t;
        async move {
            t.post(
                Some(&operator),
                "/api/v1/caller-history",
                json!({"phone": phone, "intake": intake}),
            )
            .await
        }
    };
    assert_eq!(lookup("13812341234", intake["intake"].clone()).await.0, 200);
    // Retyping the same number is fine; another number needs another intake.
    assert_eq!(
        lookup("138 1234 1234", intake["intake"].clone()).await.0,
        200
    );
    let (status, refused) = lookup("13900000000", intake["intake"].clone()).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("new intake"),
        "{refused}"
    );
    let (status, _) = lookup("13900000000", json!("made-up")).await;
    assert_eq!(status, 400, "an intake id comes from the server");
    let (status, _) = lookup("13900000000", json!(null)).await;
    assert_eq!(status, 400, "no lookup without an intake");
    t.stop().await;
}

async fn audit_head(t: &TestApp, supervisor: &str) -> u64 {
    t.get(Some(supervisor), "/api/v1/audit/head").await.1["seq"]
        .as_u64()
        .unwrap()
}

async fn a_reveal_without_a_need_is_refused_and_recorded(t: TestApp) {
    let operator = t.login("operator").await;
    let followup = t.login("followup").await;
    let supervisor = t.login("supervisor").await;
    let no = t
        .create_ticket(&operator, street_light("13812341234"))
        .await;
    let reveal = |who: String, purpose: &'static str| {
        let t = &t;
        let no = no.clone();
        async move {
            t.post(
                Some(&who),
                &format!("/api/v1/tickets/{no}/reveal_contact"),
                json!({"purpose": purpose, "reason": "想看看是谁打的电话"}),
            )
            .await
        }
    };
    // Nothing is due for follow-up yet.
    let (status, refused) = reveal(followup.clone(), "follow_up_call").await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("follow-up call is due"),
        "{refused}"
    );
    let (status, _) = reveal(operator.clone(), "other").await;
    assert_eq!(status, 200, "the operator who took the call, just now");
    let (status, refused) = reveal(followup.clone(), "nonsense").await;
    assert_eq!(status, 400, "a purpose from the list: {refused}");

    let (_, trail) = t
        .get(Some(&supervisor), &format!("/api/v1/tickets/{no}/access"))
        .await;
    let refusal = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "access.reveal_refused")
        .unwrap_or_else(|| panic!("the refusal is in the trail: {trail:#}"));
    assert_eq!(refusal["user"], "followup");
    assert!(
        refusal["detail"]
            .as_str()
            .unwrap()
            .contains("想看看是谁打的电话")
    );
    let (_, report) = t.get(Some(&supervisor), "/api/v1/privacy").await;
    assert!(
        report["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["flag"] == "reveals_refused" && f["user"] == "followup"),
        "{report:#}"
    );
    t.stop().await;
}
