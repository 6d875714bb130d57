//! `minsheng bench lifecycle`: whole ticket lifecycles (receive, dispatch, sign, note, reply,
//! follow-up) from concurrent clients, through the use cases in process or over HTTP; prints
//! audit-log events per second.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use app::App;
use app::tickets::NewTicketInput;
use domain::ids::{CategoryCode, DivisionCode, TicketNo, UnitId};
use domain::org::Actor;
use domain::privacy::Contact;
use domain::ticket::{
    Channel, FollowUpOutcome, ReplyClaim, RequestKind, Satisfaction, TicketAction,
};
use serde_json::json;

use super::bench::{Server, client, ticket_body, token};

/// Runs `total` jobs from `clients` concurrent tasks, each taking the next job number when it
/// finishes one; returns each job's duration (`None` if it failed) and the wall time.
async fn run_clients<F, Fut>(
    clients: usize,
    total: usize,
    job: F,
) -> (Vec<Option<Duration>>, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (job, next) = (job.clone(), next.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return times;
                    }
                    let sent = Instant::now();
                    times.push(job(i).await.ok().map(|_| sent.elapsed()));
                }
            })
        })
        .collect();
    let mut times = Vec::with_capacity(total);
    for task in tasks {
        times.extend(task.await.unwrap_or_default());
    }
    (times, started.elapsed())
}

const UNITS: [&str; 6] = ["cgj", "jtj", "sthj", "scjg", "d1-s1", "d2-s3"];

pub(super) async fn run(
    app: &Arc<App>,
    server: &Server,
    clients: usize,
    tickets: usize,
    http: bool,
) -> anyhow::Result<()> {
    let before = app.store().audit_head().await?.seq;
    let (times, elapsed) = if http {
        let mut handlers = Vec::new();
        for unit in UNITS {
            handlers.push(token(app, &format!("h-{unit}")).await?);
        }
        let tokens = Arc::new(HttpTokens {
            operator: token(app, "operator").await?,
            dispatcher: token(app, "dispatcher").await?,
            followup: token(app, "followup").await?,
            handlers,
        });
        let (client, base) = (client(clients)?, Arc::new(server.base.clone()));
        run_clients(clients, tickets, move |i| {
            let (client, base, tokens) = (client.clone(), base.clone(), tokens.clone());
            async move { http_lifecycle(&client, &base, &tokens, i).await }
        })
        .await
    } else {
        let registry = app.registry();
        let actor = |name: &str| {
            registry
                .users
                .values()
                .find(|u| u.id.as_str() == name)
                .map(|u| u.actor())
                .unwrap_or_else(|| Actor::system("bench"))
        };
        let people = Arc::new(People {
            operator: actor("operator"),
            dispatcher: actor("dispatcher"),
            followup: actor("followup"),
            handlers: UNITS.iter().map(|u| actor(&format!("h-{u}"))).collect(),
        });
        let app = app.clone();
        run_clients(clients, tickets, move |i| {
            let (app, people) = (app.clone(), people.clone());
            async move { Ok(app_lifecycle(&app, &people, i).await?) }
        })
        .await
    };
    let failures = times.iter().filter(|t| t.is_none()).count();
    let events = app.store().audit_head().await?.seq - before;
    let how = if http {
        "over HTTP"
    } else {
        "through the use cases in process (permission, decision, audit, projections; no HTTP)"
    };
    println!();
    println!("bench lifecycle: {clients} clients, {tickets} lifecycles {how}");
    println!(
        "  {:.0} events/s  ({events} audit-log events in {:.2} s; {:.0} lifecycles/s; {failures} failed)",
        events as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        (tickets - failures) as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

struct People {
    operator: Actor,
    dispatcher: Actor,
    followup: Actor,
    handlers: Vec<Actor>,
}

async fn app_lifecycle(app: &App, people: &People, i: usize) -> app::AppResult<()> {
    let u = i % UNITS.len();
    let contact = Contact::new(
        Some("测试市民"),
        Some(&format!("139{:08}", i % 100_000_000)),
        None,
    )?;
    let input = NewTicketInput {
        channel: Channel::Phone,
        kind: RequestKind::Complaint,
        urgency: None,
        category: CategoryCode::parse("030501")?,
        title: None,
        description: format!("压测工单 {i}：路灯不亮"),
        address: "湖滨街道幸福路12号".into(),
        division: Some(DivisionCode::parse("990101001")?),
        coordinates: None,
        confidential: false,
        contact,
        answer_on_call: None,
        attributes: Default::default(),
        media_url: None,
        citizen_code: None,
        public: false,
        photo: None,
    };
    let view = app.receive(&people.operator, app.now(), input).await?;
    let no = TicketNo::parse(&view.no)?;
    let handler = &people.handlers[u];
    let reached = FollowUpOutcome::Reached {
        unit_contacted: true,
        solved: true,
        satisfaction: Satisfaction::Satisfied,
    };
    let steps = [
        (
            &people.dispatcher,
            TicketAction::Dispatch {
                lead: UnitId::parse(UNITS[u])?,
                co_units: vec![],
                note: String::new(),
            },
        ),
        (handler, TicketAction::Sign),
        (
            handler,
            TicketAction::AddNote {
                text: "已联系市民".into(),
                contacted_citizen: true,
            },
        ),
        (
            handler,
            TicketAction::Reply {
                result: "已修复".into(),
                claim: ReplyClaim::Solved,
            },
        ),
        (
            &people.followup,
            TicketAction::RecordFollowUp {
                outcome: reached,
                comment: String::new(),
            },
        ),
    ];
    for (actor, action) in steps {
        app.act(actor, app.now(), no, action).await?;
    }
    Ok(())
}

struct HttpTokens {
    operator: String,
    dispatcher: String,
    followup: String,
    handlers: Vec<String>,
}

async fn http_lifecycle(
    client: &reqwest::Client,
    base: &str,
    tokens: &HttpTokens,
    i: usize,
) -> anyhow::Result<()> {
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/tickets"))
        .bearer_auth(&tokens.operator)
        .json(&ticket_body(i))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let no = created["no"]
        .as_str()
        .context("no ticket number")?
        .to_owned();
    let u = i % UNITS.len();
    let handler = &tokens.handlers[u];
    let steps = [
        (&tokens.dispatcher, "dispatch", json!({"lead": UNITS[u]})),
        (handler, "sign", json!({})),
        (
            handler,
            "add_note",
            json!({"text": "已联系市民", "contacted_citizen": true}),
        ),
        (
            handler,
            "reply",
            json!({"result": "已修复", "claim": "solved"}),
        ),
        (
            &tokens.followup,
            "record_follow_up",
            json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}),
        ),
    ];
    for (token, action, body) in steps {
        let url = format!("{base}/api/v1/tickets/{no}/{action}");
        client
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(())
}
