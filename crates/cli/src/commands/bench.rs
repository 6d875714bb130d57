//! `minsheng bench`: throughput and latency of the real server and use cases against a fresh
//! database in a temporary directory, with durable (`synchronous=FULL`) commits. These are
//! measurements, never assertions: the figures depend on the machine.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use app::App;
use app::clock::SystemClock;
use app::tickets::NewTicketInput;
use app::vault::Vault;
use domain::ids::{CategoryCode, DivisionCode, TicketNo, UnitId};
use domain::org::Actor;
use domain::privacy::Contact;
use domain::ticket::{
    Channel, FollowUpOutcome, ReplyClaim, RequestKind, Satisfaction, TicketAction,
};
use jiff::SignedDuration;
use serde_json::json;
use store::Store;
use store::sqlite::{SqliteOptions, SqliteStore};
use tokio::sync::oneshot;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create tickets over HTTP (POST /api/v1/tickets) from concurrent clients; prints tickets/s
    /// and latency percentiles.
    Intake {
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Tickets to create (after 500 unmeasured warm-up requests).
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
    },
    /// Run whole lifecycles (receive, dispatch, sign, contact note, reply, follow-up and close)
    /// from concurrent clients; prints audit-log events/s.
    Lifecycle {
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Lifecycles to run.
        #[arg(long, default_value_t = 5_000)]
        tickets: usize,
        /// Go through the HTTP API instead of calling the use cases in process.
        #[arg(long)]
        http: bool,
    },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(
        dir.path().join("bench.db"),
        SqliteOptions::default(),
    )?);
    let app = Arc::new(App::new(
        store.clone(),
        Arc::new(Vault::generate()?),
        Arc::new(SystemClock),
    ));
    sim::build_city(&app, app.now() - SignedDuration::from_hours(1)).await?;
    let server = Server::start(app.clone()).await?;
    println!(
        "Fresh SQLite database in {} (WAL, synchronous=FULL: every acknowledged write is on disk).",
        dir.path().display()
    );
    match command {
        Command::Intake { clients, requests } => intake(&app, &server, clients, requests).await?,
        Command::Lifecycle {
            clients,
            tickets,
            http,
        } => lifecycle(&app, &server, clients, tickets, http).await?,
    }
    server.stop().await;
    match store.verify_log(None).await? {
        Ok(head) => println!(
            "Audit log verified afterwards: {} entries, head {}.",
            head.seq, head.hash
        ),
        Err(broken) => bail!("the audit log does not verify after the benchmark: {broken}"),
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

struct Server {
    base: String,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(app: Arc<App>) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(web::serve(app, listener, async move {
            let _ = signal.await;
        }));
        Ok(Server {
            base,
            shutdown,
            task,
        })
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

async fn token(app: &App, user: &str) -> anyhow::Result<String> {
    let id = domain::ids::UserId::parse(user)?;
    Ok(app
        .issue_token(
            &Actor::system("bench"),
            app.now(),
            &id,
            "bench",
            Some(SignedDuration::from_hours(2)),
        )
        .await?
        .token)
}

fn client(clients: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()?)
}

fn ticket_body(i: usize) -> serde_json::Value {
    let categories = ["030501", "030503", "030703", "040201", "090403", "051111"];
    json!({
        "kind": "complaint",
        "category": categories[i % categories.len()],
        "description": format!("压测工单 {i}：幸福路{}号附近路灯连续三晚不亮，晚上行人看不清路。", i % 300),
        "address": format!("湖滨街道幸福路{}号", i % 300),
        "division": "990101001",
        "contact": {"name": "测试市民", "phone": format!("139{:08}", i % 100_000_000), "address": "湖滨街道阳光花园3栋402"},
    })
}

async fn intake(app: &App, server: &Server, clients: usize, requests: usize) -> anyhow::Result<()> {
    let token = token(app, "operator").await?;
    let client = client(clients)?;
    let url = format!("{}/api/v1/tickets", server.base);
    let post = |i: usize| {
        client
            .post(&url)
            .bearer_auth(&token)
            .json(&ticket_body(i))
            .send()
    };
    for i in 0..500 {
        post(i).await?.error_for_status()?;
    }
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let workers = (0..clients).map(|_| async {
        let mut latencies = Vec::new();
        let mut failures = 0usize;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= requests {
                break;
            }
            let sent = Instant::now();
            match post(500 + i).await {
                Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                    latencies.push(sent.elapsed())
                }
                _ => failures += 1,
            }
        }
        (latencies, failures)
    });
    let results = futures::future::join_all(workers).await;
    let elapsed = started.elapsed();
    let failures: usize = results.iter().map(|r| r.1).sum();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|r| r.0).collect();
    latencies.sort();
    println!();
    println!(
        "bench intake: {clients} clients, {requests} tickets over HTTP (each with a sealed contact and a phone index)"
    );
    println!(
        "  {:.0} tickets/s  ({} in {:.2} s, {failures} failed)",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        latencies.len(),
        elapsed.as_secs_f64()
    );
    print_latencies(&latencies);
    Ok(())
}

fn print_latencies(latencies: &[Duration]) {
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(at(0.999)),
        ms(latencies.last().copied().unwrap_or_default())
    );
}

async fn lifecycle(
    app: &Arc<App>,
    server: &Server,
    clients: usize,
    tickets: usize,
    http: bool,
) -> anyhow::Result<()> {
    let before = app.store().audit_head().await?.seq;
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let units = ["cgj", "jtj", "sthj", "scjg", "d1-s1", "d2-s3"];
    let failures = if http {
        let mut handlers = Vec::new();
        for unit in units {
            handlers.push(token(app, &format!("h-{unit}")).await?);
        }
        let tokens = HttpTokens {
            operator: token(app, "operator").await?,
            dispatcher: token(app, "dispatcher").await?,
            followup: token(app, "followup").await?,
            handlers,
        };
        let client = client(clients)?;
        let workers = (0..clients).map(|_| async {
            let mut failed = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= tickets {
                    break;
                }
                if http_lifecycle(
                    &client,
                    &server.base,
                    &tokens,
                    units[i % units.len()],
                    i,
                    i % units.len(),
                )
                .await
                .is_err()
                {
                    failed += 1;
                }
            }
            failed
        });
        futures::future::join_all(workers)
            .await
            .into_iter()
            .sum::<usize>()
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
        let operator = actor("operator");
        let dispatcher = actor("dispatcher");
        let followup = actor("followup");
        let handlers: Vec<Actor> = units.iter().map(|u| actor(&format!("h-{u}"))).collect();
        let workers = (0..clients).map(|_| async {
            let mut failed = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= tickets {
                    break;
                }
                let u = i % units.len();
                let run = app_lifecycle(
                    app,
                    &operator,
                    &dispatcher,
                    &handlers[u],
                    &followup,
                    units[u],
                    i,
                );
                if run.await.is_err() {
                    failed += 1;
                }
            }
            failed
        });
        futures::future::join_all(workers)
            .await
            .into_iter()
            .sum::<usize>()
    };
    let elapsed = started.elapsed();
    let events = app.store().audit_head().await?.seq - before;
    println!();
    println!(
        "bench lifecycle: {clients} clients, {tickets} lifecycles {}",
        if http {
            "over HTTP"
        } else {
            "through the use cases in process (permission, decision, audit, projections; no HTTP)"
        }
    );
    println!(
        "  {:.0} events/s  ({events} audit-log events in {:.2} s; {:.0} lifecycles/s; {failures} failed)",
        events as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        (tickets - failures) as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn app_lifecycle(
    app: &App,
    operator: &Actor,
    dispatcher: &Actor,
    handler: &Actor,
    followup: &Actor,
    unit: &str,
    i: usize,
) -> app::AppResult<()> {
    let now = app.now();
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
    };
    let view = app.receive(operator, now, input).await?;
    let no = TicketNo::parse(&view.no)?;
    let steps = [
        (
            dispatcher,
            TicketAction::Dispatch {
                lead: UnitId::parse(unit)?,
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
            followup,
            TicketAction::RecordFollowUp {
                outcome: FollowUpOutcome::Reached {
                    unit_contacted: true,
                    solved: true,
                    satisfaction: Satisfaction::Satisfied,
                },
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
    unit: &str,
    i: usize,
    u: usize,
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
    let handler = &tokens.handlers[u];
    let steps = [
        (&tokens.dispatcher, "dispatch", json!({"lead": unit})),
        (handler, "sign", json!({})),
        (
            handler,
            "notes",
            json!({"text": "已联系市民", "contacted_citizen": true}),
        ),
        (
            handler,
            "reply",
            json!({"result": "已修复", "claim": "solved"}),
        ),
        (
            &tokens.followup,
            "follow-up",
            json!({"reached": true, "unit_contacted": true, "solved": true, "satisfaction": "satisfied"}),
        ),
    ];
    for (token, action, body) in steps {
        client
            .post(format!("{base}/api/v1/tickets/{no}/{action}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(())
}
