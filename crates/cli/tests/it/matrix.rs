//! The authorization matrix: every role × every API endpoint × the role's relation to the ticket
//! (not yet dispatched, its own unit leading, a co-unit, another unit, a confidential ticket of its
//! own unit). What each combination should get is computed from the permission table itself
//! (`domain::permission`); the server must agree: permitted means anything but 401/403,
//! refused means 403. Every endpoint in the OpenAPI document needs a row here, so a new endpoint
//! without one fails this test. The workstation's pages are checked the same way.

use std::collections::BTreeSet;

use domain::ids::{TicketNo, UserId};
use domain::org::Actor;
use domain::permission::{Action, may_ever, may_reveal, require};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::{TestApp, street_light};

testkit::on_both_backends!(every_role_gets_exactly_what_the_permission_table_allows);

/// What an endpoint needs.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Anyone, logged in or not (getting a token).
    Open,
    /// Any logged-in user.
    AnyUser,
    /// An action that concerns no ticket.
    Needs(Action),
    /// An action on the ticket in the path, decided by role and relation.
    OnTicket(Action),
}

/// The body each endpoint is sent (for a GET, `{"query": …}` its query string): well-formed, so a
/// refusal is about permission, not input.
fn row(method: &Method, path: &str) -> Option<(Rule, Value)> {
    use Action::*;
    use Rule::*;
    let ticket = |action| Some((OnTicket(action), json!({})));
    Some(match (method.as_str(), path) {
        ("POST", "/auth/token") => (Open, json!({"username": "nobody", "password": "x"})),
        ("DELETE", "/auth/tokens/{id}") => (AnyUser, json!({})),
        ("GET", "/me" | "/units" | "/categories" | "/urgency-tiers") => (AnyUser, json!({})),
        ("GET", "/audit/head") => (Needs(ViewAudit), json!({})),
        ("GET", "/kpi") => (Needs(ViewKpi), json!({"query": "month=2026-11"})),
        ("POST", "/exports/tickets") => (Needs(Export), json!({"reason": "月度统计报送"})),
        ("POST", "/caller-history") => (
            Needs(SearchCallerHistory),
            json!({"phone": "13812341234", "intake": "0".repeat(40)}),
        ),
        ("POST", "/intakes") => (Needs(SearchCallerHistory), json!({})),
        ("GET", "/privacy" | "/privacy/people/{user}") => (Needs(ViewAccessTrail), json!({})),
        ("GET", "/role-approvals") => (Needs(ApproveRoles), json!({})),
        ("POST", "/role-approvals/{user}") => (Needs(ApproveRoles), json!({"approve": true})),
        ("GET", "/tickets" | "/ticket-counts") => (Needs(ViewTicket), json!({})),
        ("POST", "/tickets") => (
            Needs(Receive),
            json!({"kind": "help", "category": "030501", "description": "路灯不亮"}),
        ),
        ("GET", "/tickets/{no}" | "/tickets/{no}/events") => return ticket(ViewTicket),
        ("GET", "/tickets/{no}/access") => (Needs(ViewAccessTrail), json!({})),
        ("POST", "/tickets/{no}/answer-on-call") => {
            (OnTicket(AnswerOnCall), json!({"answer": "已告知办理渠道"}))
        }
        ("POST", "/tickets/{no}/dispatch") => (OnTicket(Dispatch), json!({"lead": "jtj"})),
        ("POST", "/tickets/{no}/sign") => return ticket(Sign),
        ("POST", "/tickets/{no}/return-request") => (
            OnTicket(RequestReturn),
            json!({"reason": "不属本单位职责", "rule": "派单目录第1项"}),
        ),
        ("POST", "/tickets/{no}/return-decision") => (
            OnTicket(DecideReturn),
            json!({"approve": false, "note": "先核实"}),
        ),
        ("POST", "/tickets/{no}/extension-request") => (
            OnTicket(RequestExtension),
            json!({"working_days": 2, "reason": "需协调施工"}),
        ),
        ("POST", "/tickets/{no}/extension-decision") => (
            OnTicket(DecideExtension),
            json!({"approve": false, "note": "不符合"}),
        ),
        ("POST", "/tickets/{no}/urge") => (OnTicket(Urge), json!({"note": "请加快"})),
        ("POST", "/tickets/{no}/supervise") => (OnTicket(Supervise), json!({"note": "督办"})),
        ("POST", "/tickets/{no}/reply") => (
            OnTicket(Reply),
            json!({"result": "已处理", "claim": "solved"}),
        ),
        ("POST", "/tickets/{no}/follow-up") => (
            OnTicket(RecordFollowUp),
            json!({"reached": false, "comment": "无人接听"}),
        ),
        ("POST", "/tickets/{no}/merge") => (OnTicket(Merge), json!({"into": "26112600001"})),
        ("POST", "/tickets/{no}/hand-off") => {
            (OnTicket(HandOff), json!({"to": "119", "note": "转119"}))
        }
        ("POST", "/tickets/{no}/notes") => (
            OnTicket(AddNote),
            json!({"text": "已联系", "contacted_citizen": false}),
        ),
        ("POST", "/tickets/{no}/reveal-contact") => (
            OnTicket(RevealContact),
            json!({"purpose": "contact_citizen", "reason": "需联系市民核实"}),
        ),
        _ => return None,
    })
}

/// The people who try, one of each kind, and a unit's staff in each relation to the tickets.
const PEOPLE: [&str; 10] = [
    "operator",
    "dispatcher",
    "followup",
    "inspector",
    "supervisor",
    "admin",
    "h-cgj",
    "m-cgj",
    "h-d1-s1",
    "h-jtj",
];

/// Tickets in each relation: received only; led by cgj with d1-s1 helping; confidential, led by
/// cgj.
struct Tickets {
    pending: String,
    led: String,
    confidential: String,
}

async fn tickets(t: &TestApp) -> Tickets {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let pending = t
        .create_ticket(&operator, street_light("13800000001"))
        .await;
    let led = t
        .create_ticket(&operator, street_light("13800000002"))
        .await;
    t.act(
        &dispatcher,
        &led,
        "dispatch",
        json!({"lead": "cgj", "co_units": ["d1-s1"]}),
    )
    .await;
    let mut secret = street_light("13800000003");
    secret["confidential"] = json!(true);
    let confidential = t.create_ticket(&operator, secret).await;
    t.act(
        &dispatcher,
        &confidential,
        "dispatch",
        json!({"lead": "cgj"}),
    )
    .await;
    Tickets {
        pending,
        led,
        confidential,
    }
}

fn actor(t: &TestApp, name: &str) -> Actor {
    t.app.registry().users[&UserId::parse(name).unwrap()].actor()
}

/// What the permission table says, for this person and (when the rule is about one) ticket.
async fn permitted(t: &TestApp, rule: Rule, who: &Actor, no: Option<&str>) -> bool {
    match rule {
        Rule::Open | Rule::AnyUser => true,
        Rule::Needs(action) => may_ever(who, action) || require(who, action, None).is_ok(),
        Rule::OnTicket(action) => {
            let no = TicketNo::parse(no.unwrap_or_default()).unwrap();
            let ticket = t.store.ticket(no).await.unwrap().unwrap();
            match action {
                Action::RevealContact => may_reveal(
                    who,
                    &ticket,
                    t.app.now(),
                    &t.app.registry().rules.policy.privacy,
                )
                .is_ok(),
                other => require(who, other, Some(&ticket)).is_ok(),
            }
        }
    }
}

async fn every_role_gets_exactly_what_the_permission_table_allows(app: TestApp) {
    let t = &app;
    // Every endpoint the server documents has a row.
    let (_, openapi) = t.get(None, "/api/openapi.json").await;
    let mut endpoints = Vec::new();
    for (path, operations) in openapi["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let Some((rule, body)) = row(&method, path) else {
                panic!("{method} {path} has no row in the authorization matrix: add one");
            };
            endpoints.push((method, path.clone(), rule, body));
        }
    }
    assert!(endpoints.len() >= 36, "{} endpoints", endpoints.len());

    let tokens: Vec<(String, String)> = futures::future::join_all(
        PEOPLE
            .iter()
            .map(|who| async move { (who.to_string(), t.login(who).await) }),
    )
    .await;
    let mut fixture = tickets(t).await;
    let mut checked = BTreeSet::new();
    for (method, path, rule, body) in &endpoints {
        let relations: Vec<Option<String>> = if path.contains("{no}") {
            vec![
                Some(fixture.pending.clone()),
                Some(fixture.led.clone()),
                Some(fixture.confidential.clone()),
            ]
        } else {
            vec![None]
        };
        for relation in 0..relations.len() {
            for (who, token) in &tokens {
                let no = match relation {
                    0 if path.contains("{no}") => Some(fixture.pending.clone()),
                    1 => Some(fixture.led.clone()),
                    2 => Some(fixture.confidential.clone()),
                    _ => None,
                };
                let actor = actor(t, who);
                let expected = permitted(t, *rule, &actor, no.as_deref()).await;
                let mut url = path
                    .replace("{no}", no.as_deref().unwrap_or_default())
                    .replace("{user}", "operator")
                    .replace("{id}", "000000000000");
                if let Some(query) = body["query"].as_str() {
                    url = format!("{url}?{query}");
                }
                let request = t
                    .client
                    .request(method.clone(), format!("{}/api/v1{url}", t.base))
                    .bearer_auth(token);
                let request = if *method == Method::GET || *method == Method::DELETE {
                    request
                } else {
                    request.json(body)
                };
                let response = request.send().await.unwrap();
                let status = response.status();
                let answer = response.text().await.unwrap_or_default();
                let refused = status == StatusCode::FORBIDDEN;
                assert!(
                    status != StatusCode::UNAUTHORIZED || matches!(rule, Rule::Open),
                    "{who} {method} {url}: a valid token was refused: {answer}"
                );
                assert_eq!(
                    !refused,
                    expected,
                    "{who} {method} {url} (relation {relation}): the permission table says {}, the server answered {status}: {answer}",
                    if expected { "allowed" } else { "refused" }
                );
                checked.insert((method.to_string(), path.clone(), who.clone(), relation));
                // An action that went through changed its ticket: start the next check afresh.
                if status.is_success() && *method == Method::POST && path.contains("{no}") {
                    fixture = tickets(t).await;
                }
            }
        }
    }
    assert!(
        checked.len() > 300,
        "{} combinations checked",
        checked.len()
    );

    // The workstation's pages: each role's home opens for that role and is refused to others.
    let pages = [
        ("/intake", Action::Receive),
        ("/dispatch", Action::Dispatch),
        ("/unit", Action::Sign),
        ("/followup", Action::RecordFollowUp),
        ("/dashboard", Action::ViewKpi),
        ("/admin", Action::ManageUsers),
        ("/privacy", Action::ViewAccessTrail),
    ];
    for who in PEOPLE {
        let mut browser = crate::ui::Browser::new(t);
        browser.login(who, "").await;
        let actor = actor(t, who);
        for (page, action) in pages {
            let (status, _, _) = browser.get(page).await;
            let expected = may_ever(&actor, action);
            assert_eq!(
                status == StatusCode::OK,
                expected,
                "{who} {page}: the permission table says {}, the page answered {status}",
                if expected { "allowed" } else { "refused" }
            );
        }
        // A ticket's page follows the same rule as the API.
        let (status, _, _) = browser.get(&format!("/tickets/{}", fixture.led)).await;
        let ticket = t
            .store
            .ticket(TicketNo::parse(&fixture.led).unwrap())
            .await
            .unwrap()
            .unwrap();
        let expected = require(&actor, Action::ViewTicket, Some(&ticket)).is_ok();
        assert_eq!(
            status == StatusCode::OK,
            expected,
            "{who} /tickets/{{no}}: {status}"
        );
    }
    app.stop().await;
}
