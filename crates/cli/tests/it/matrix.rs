//! The authorization matrix: every role × every API endpoint × the role's relation to the ticket
//! (not yet dispatched, its own unit leading, a co-unit, another unit, a confidential ticket of its
//! own unit). What each combination should get is computed from the permission table itself
//! (`domain::permission`); the server must agree: permitted means anything but 401/403,
//! refused means 403. Every endpoint in the OpenAPI document needs a row here, so a new endpoint
//! without one fails this test. The workstation's routes are checked the same way — every page
//! and form post, read from the router's own source, so a new route without a row fails too.

use std::collections::BTreeSet;

use domain::ids::{TicketNo, UserId};
use domain::org::Actor;
use domain::permission::{
    Action, ContactVisibility, contact_visibility, may_ever, may_reveal, require,
};
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
    /// A ticket's photo: whoever may view the ticket, unless its citizen is hidden from them
    /// (a confidential ticket's unit).
    PhotoOf,
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
        ("POST", "/tickets/{no}/answer_on_call") => {
            (OnTicket(AnswerOnCall), json!({"answer": "已告知办理渠道"}))
        }
        ("POST", "/tickets/{no}/dispatch") => (OnTicket(Dispatch), json!({"lead": "jtj"})),
        ("POST", "/tickets/{no}/sign") => return ticket(Sign),
        ("POST", "/tickets/{no}/request_return") => (
            OnTicket(RequestReturn),
            json!({"reason": "不属本单位职责", "rule": "派单目录第1项"}),
        ),
        ("POST", "/tickets/{no}/decide_return") => (
            OnTicket(DecideReturn),
            json!({"approve": false, "note": "先核实"}),
        ),
        ("POST", "/tickets/{no}/request_extension") => (
            OnTicket(RequestExtension),
            json!({"working_days": 2, "reason": "需协调施工"}),
        ),
        ("POST", "/tickets/{no}/decide_extension") => (
            OnTicket(DecideExtension),
            json!({"approve": false, "note": "不符合"}),
        ),
        ("POST", "/tickets/{no}/urge") => (OnTicket(Urge), json!({"note": "请加快"})),
        ("POST", "/tickets/{no}/supervise") => (OnTicket(Supervise), json!({"note": "督办"})),
        ("POST", "/tickets/{no}/reply") => (
            OnTicket(Reply),
            json!({"result": "已处理", "claim": "solved"}),
        ),
        ("POST", "/tickets/{no}/record_follow_up") => (
            OnTicket(RecordFollowUp),
            json!({"reached": false, "comment": "无人接听"}),
        ),
        ("POST", "/tickets/{no}/merge") => (OnTicket(Merge), json!({"into": "26112600001"})),
        ("POST", "/tickets/{no}/hand_off") => {
            (OnTicket(HandOff), json!({"to": "119", "note": "转119"}))
        }
        ("POST", "/tickets/{no}/add_note") => (
            OnTicket(AddNote),
            json!({"text": "已联系", "contacted_citizen": false}),
        ),
        ("POST", "/tickets/{no}/reveal_contact") => (
            OnTicket(RevealContact),
            json!({"purpose": "contact_citizen", "reason": "需联系市民核实"}),
        ),
        ("POST", "/calls/events") => (
            Needs(RecordCalls),
            json!({"source": "pbx", "events": [
                {"id": "m1", "call": "c1", "kind": "arrived", "at": "2026-01-01T00:00:00Z", "caller": "13800000009"}
            ]}),
        ),
        ("GET", "/calls/report") => (Needs(ViewCalls), json!({"query": "month=2026-11"})),
        ("GET", "/calls/{source}/{call}") => (Needs(ViewCalls), json!({})),
        _ => return None,
    })
}

/// The workstation's routes as the router declares them (`crates/web/src/ui/mod.rs`):
/// `(method, path)`.
fn ui_routes() -> Vec<(Method, String)> {
    let source = include_str!("../../../web/src/ui/mod.rs");
    let mut routes = Vec::new();
    for chunk in source.split(".route(").skip(1) {
        let call = chunk.split("\n        .").next().unwrap();
        let path = call.split('"').nth(1).unwrap().to_owned();
        if call.contains("get(") {
            routes.push((Method::GET, path.clone()));
        }
        if call.contains("post(") {
            routes.push((Method::POST, path));
        }
    }
    routes
}

/// A route's rule and the form fields it is sent.
type UiRow = (Rule, Vec<(String, String)>);

/// What a workstation route needs and the form (or, for a GET, the query) it is sent; `None`
/// for the public ones, which no role decides: the login form and the citizen's pages (their
/// forms carry the visitor's own token, tested in `citizen` and `logins`).
fn ui_row(t: &TestApp, method: &Method, path: &str) -> Option<Option<UiRow>> {
    use Action::*;
    use Rule::*;
    let form = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let none = Vec::new;
    Some(Some(match (method.as_str(), path) {
        (_, "/" | "/login" | "/lang" | "/static/app.css" | "/static/app.js") => return Some(None),
        (_, p) if p.starts_with("/citizen") => return Some(None),
        ("POST", "/logout") | ("GET", "/tickets" | "/intake/categories") => (AnyUser, none()),
        ("GET", "/intake") => (Needs(Receive), none()),
        ("POST", "/intake") => (
            Needs(Receive),
            form(&[
                ("kind", "help"),
                ("category", "030501"),
                ("description", "路灯不亮"),
                ("ending", "dispatch"),
            ]),
        ),
        ("POST", "/intake/history") => (
            Needs(SearchCallerHistory),
            form(&[("phone", "13812341234"), ("intake", &"0".repeat(40))]),
        ),
        ("GET", "/dispatch") => (Needs(Dispatch), none()),
        ("GET", "/dispatch/{no}") => (OnTicket(Dispatch), none()),
        ("GET", "/unit") => (Needs(Sign), none()),
        ("GET", "/followup") => (Needs(RecordFollowUp), none()),
        ("GET", "/dashboard" | "/dashboard/{table}") => (Needs(ViewKpi), none()),
        ("GET", "/tickets/{no}") => (OnTicket(ViewTicket), none()),
        ("GET", "/tickets/{no}/photo") => (PhotoOf, none()),
        ("POST", "/tickets/{no}/reveal_contact") => (
            OnTicket(RevealContact),
            form(&[("purpose", "contact_citizen"), ("reason", "需联系市民核实")]),
        ),
        // Checked once per action name: see `act_forms`.
        ("POST", "/tickets/{no}/act/{action}") => (OnTicket(AddNote), none()),
        ("GET", "/privacy") => (Needs(ViewAccessTrail), none()),
        ("POST", "/privacy/roles/{user}") => (Needs(ApproveRoles), form(&[("approve", "1")])),
        ("GET", "/admin") => (Needs(ManageUsers), none()),
        ("POST", "/admin/users") => (
            Needs(ManageUsers),
            form(&[
                ("id", "newcomer"),
                ("name", "新同事"),
                ("affiliation", "centre"),
                ("roles", "quality_inspector"),
            ]),
        ),
        ("POST", "/admin/users/{id}") => (
            Needs(ManageUsers),
            form(&[("roles", "quality_inspector"), ("active", "1")]),
        ),
        ("POST", "/admin/units") => (
            Needs(ManageOrganisation),
            form(&[
                ("id", "matrix-unit"),
                ("name", "测试单位"),
                ("kind", "department"),
                ("parent", ""),
                ("jurisdiction", ""),
                ("catalogue", ""),
            ]),
        ),
        ("POST", "/admin/tiers") => (Needs(ManageRules), tier_form(t)),
        ("POST", "/admin/taxonomy") => (
            Needs(ManageOrganisation),
            form(&[
                ("source", "DB44/T 2479—2024"),
                (
                    "csv",
                    include_str!("../../../../data/taxonomy/db44t2479-2024_appendix_a.csv"),
                ),
            ]),
        ),
        _ => return None,
    }))
}

/// The tiers form as the admin page fills it: every tier's current deadlines.
fn tier_form(t: &TestApp) -> Vec<(String, String)> {
    use domain::calendar::Span;
    let mut form = Vec::new();
    for tier in &t.app.registry().rules.policy.tiers {
        for (name, span) in [("sign", tier.sign_within), ("reply", tier.reply_within)] {
            let (n, kind) = match span {
                Span::Minutes(n) => (n, "minutes"),
                Span::Hours(n) => (n, "hours"),
                Span::WorkingHours(n) => (n, "working_hours"),
                Span::WorkingDays(n) => (n, "working_days"),
            };
            form.push((format!("{name}_n_{}", tier.code), n.to_string()));
            form.push((format!("{name}_kind_{}", tier.code), kind.to_owned()));
        }
    }
    form
}

type Field = (&'static str, &'static str);

/// Each action a ticket's page can post, with its form and the action the table decides it by.
/// A form posts to `/tickets/{no}/act/{name}`, the action's one name.
fn act_forms() -> Vec<(Action, Vec<Field>)> {
    use Action::*;
    vec![
        (Dispatch, vec![("lead", "jtj"), ("note", "")]),
        (AnswerOnCall, vec![("answer", "已告知办理渠道")]),
        (Sign, vec![]),
        (
            RequestReturn,
            vec![("reason", "不属本单位职责"), ("rule", "派单目录第1项")],
        ),
        (DecideReturn, vec![("approve", "0"), ("note", "先核实")]),
        (
            RequestExtension,
            vec![("working_days", "2"), ("reason", "需协调施工")],
        ),
        (DecideExtension, vec![("approve", "0"), ("note", "不符合")]),
        (Urge, vec![("note", "请加快")]),
        (Supervise, vec![("note", "督办")]),
        (Reply, vec![("result", "已处理"), ("claim", "solved")]),
        (
            RecordFollowUp,
            vec![("outcome", "not_reached"), ("comment", "无人接听")],
        ),
        (Merge, vec![("into", "26112600001")]),
        (HandOff, vec![("to", "119"), ("note", "转119")]),
        (AddNote, vec![("text", "已联系"), ("contacted_citizen", "")]),
    ]
}

/// The people who try, one of each kind, and a unit's staff in each relation to the tickets.
const PEOPLE: [&str; 11] = [
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
    "acd",
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
        Rule::PhotoOf => {
            let no = TicketNo::parse(no.unwrap_or_default()).unwrap();
            let ticket = t.store.ticket(no).await.unwrap().unwrap();
            require(who, Action::ViewTicket, Some(&ticket)).is_ok()
                && contact_visibility(who, &ticket) != ContactVisibility::Hidden
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
            // One name per action: its endpoint is `/tickets/{no}/{name}`.
            if let Rule::OnTicket(action) = rule
                && method == Method::POST
            {
                assert_eq!(*path, format!("/tickets/{{no}}/{}", action.as_str()));
            }
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
                    .replace("{id}", "000000000000")
                    .replace("{source}", "pbx")
                    .replace("{call}", "c1");
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

    // The workstation: every route the router declares, for every person and relation.
    let routes = ui_routes();
    assert!(
        routes.len() >= 30,
        "{} routes read from the router",
        routes.len()
    );
    let mut rows = Vec::new();
    for (method, path) in routes {
        let Some(row) = ui_row(t, &method, &path) else {
            panic!(
                "{method} {path} (a workstation route) has no row in the authorization matrix: add one"
            );
        };
        if let Some((rule, form)) = row {
            rows.push((method, path, rule, form));
        }
    }
    // Logging out ends the session the other checks use: last.
    rows.sort_by_key(|(_, path, _, _)| path == "/logout");
    let mut pages_checked = 0;
    // The ACD holds an API token: its login lands on the about page, which has no form to take
    // a CSRF token from; the API rows above check what it may do.
    for who in PEOPLE.into_iter().filter(|who| *who != "acd") {
        let mut browser = crate::browser::Browser::new(t);
        browser.login(who, "").await;
        let csrf = browser.csrf().await;
        let actor = actor(t, who);
        for (method, path, rule, form) in &rows {
            // Each action a ticket page can post is its own row of the table.
            let variants: Vec<(String, UiRow)> = if path.contains("{action}") {
                act_forms()
                    .into_iter()
                    .map(|(action, fields)| {
                        let fields = fields
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect();
                        (
                            path.replace("{action}", action.as_str()),
                            (Rule::OnTicket(action), fields),
                        )
                    })
                    .collect()
            } else {
                vec![(path.clone(), (*rule, form.clone()))]
            };
            for (path, (rule, form)) in variants {
                let relations = if path.contains("{no}") { 3 } else { 1 };
                for relation in 0..relations {
                    let no = match relation {
                        0 if path.contains("{no}") => Some(fixture.pending.clone()),
                        1 => Some(fixture.led.clone()),
                        2 => Some(fixture.confidential.clone()),
                        _ => None,
                    };
                    let expected = permitted(t, rule, &actor, no.as_deref()).await;
                    let url = path
                        .replace("{no}", no.as_deref().unwrap_or_default())
                        .replace("{table}", "ranking.csv")
                        .replace("{user}", "operator")
                        .replace("{id}", "inspector");
                    let (status, answer) = if *method == Method::GET {
                        let (status, body, _) = browser.get(&url).await;
                        (status, body)
                    } else {
                        let mut fields: Vec<(&str, &str)> =
                            form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                        fields.push(("_csrf", &csrf));
                        let (status, body, _) = browser.post(&url, &fields).await;
                        (status, body)
                    };
                    assert_eq!(
                        status != StatusCode::FORBIDDEN,
                        expected,
                        "{who} {method} {url} (relation {relation}): the permission table says {}, the page answered {status}: {}",
                        if expected { "allowed" } else { "refused" },
                        answer
                            .split("<main")
                            .nth(1)
                            .unwrap_or(&answer)
                            .chars()
                            .take(400)
                            .collect::<String>()
                    );
                    pages_checked += 1;
                    if *method == Method::POST && status.is_redirection() && path.contains("{no}") {
                        fixture = tickets(t).await;
                    }
                }
            }
        }
    }
    assert!(pages_checked > 500, "{pages_checked} page checks");

    // The server's own routes (`crates/web/src/lib.rs`): documents and operations, open to
    // anyone (metrics only to this machine, and every test request comes from it). They carry
    // nothing of a ticket: `operations` and the leak scanner look inside.
    let own = server_routes();
    assert!(own.len() >= 5, "{own:?}");
    for path in &own {
        let open = matches!(
            path.as_str(),
            "/api/openapi.json" | "/about" | "/healthz" | "/readyz" | "/metrics"
        );
        assert!(
            open,
            "{path} has no row in the authorization matrix: add one"
        );
        for token in std::iter::once(None).chain(tokens.iter().map(|(_, t)| Some(t))) {
            let mut request = t.client.get(format!("{}{path}", t.base));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let status = request.send().await.unwrap().status();
            assert_eq!(status, StatusCode::OK, "GET {path}");
        }
    }
    app.stop().await;
}

/// The routes `crates/web/src/lib.rs` declares beside the API, the workstation and Open311.
fn server_routes() -> Vec<String> {
    let source = include_str!("../../../web/src/lib.rs");
    source
        .split(".route(")
        .skip(1)
        .map(|call| call.split('"').nth(1).unwrap().to_owned())
        .collect()
}
