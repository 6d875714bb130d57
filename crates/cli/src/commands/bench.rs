//! `minsheng bench`: throughput and latency of the real server and use cases against a fresh
//! database in a temporary directory, with durable (`synchronous=FULL`) commits. These are
//! measurements, never assertions: the figures depend on the machine.

use std::future::Future;
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
    /// and latency percentiles overall and per window of tickets, with the SQLite files' largest
    /// sizes and the WAL bytes written per ticket.
    Intake {
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Tickets to create (after 500 unmeasured warm-up requests).
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Run for this many seconds instead, however many tickets that makes.
        #[arg(long, value_name = "SECONDS")]
        duration: Option<u64>,
        /// Report throughput, p99 and sizes per this many tickets [default: 100,000, or a tenth
        /// of the run if that is smaller].
        #[arg(long, value_name = "TICKETS")]
        window: Option<usize>,
        #[command(flatten)]
        target: Target,
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
        #[command(flatten)]
        target: Target,
    },
    /// Serve the workstation's main pages on a demo city and time them, each role signed in;
    /// prints latency percentiles per page.
    Pages {
        /// Days of demo traffic to build first.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Timed requests per page (after 3 unmeasured ones).
        #[arg(long, default_value_t = 30)]
        samples: usize,
        #[command(flatten)]
        target: Target,
    },
    /// Precision and recall of finding phone and ID numbers typed into free text, on real
    /// citizens' messages and replies (the labelled TipDM 2020 board data).
    Numbers {
        /// The folder holding the board's CSV files.
        #[arg(long, default_value = "../shared/data/requests-zh")]
        data: std::path::PathBuf,
        /// Also list every miss and false alarm with its context.
        #[arg(long)]
        show: bool,
    },
}

/// Where the benchmark's fresh database lives.
#[derive(clap::Args, Clone)]
pub struct Target {
    /// Run on a throwaway schema of this PostgreSQL database instead of a SQLite file in a
    /// temporary directory (the schema is dropped afterwards).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// SQLite: the WAL's bound in MiB (as `serve --wal-limit`).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    wal_limit: u64,
}

/// The fresh database: the store, what keeps it alive, and how to describe it.
pub(super) struct Fresh {
    pub(super) store: Arc<dyn Store>,
    stats: Arc<dyn Fn() -> String + Send + Sync>,
    /// The SQLite files' sizes and the WAL bytes written so far (none on PostgreSQL).
    pub(super) probe: Option<Arc<dyn Fn() -> Probe + Send + Sync>>,
    _dir: tempfile::TempDir,
    _scratch: Option<store::postgres::Scratch>,
}

pub(super) async fn fresh(target: &Target) -> anyhow::Result<Fresh> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    match &target.postgres {
        None => {
            let sqlite = Arc::new(SqliteStore::open(
                dir.path().join("bench.db"),
                SqliteOptions {
                    wal_limit: target.wal_limit << 20,
                    ..SqliteOptions::default()
                },
            )?);
            println!(
                "Fresh SQLite database in {} (WAL; every acknowledged write was fsynced first).",
                dir.path().display()
            );
            let stats_of = sqlite.clone();
            let probed = sqlite.clone();
            let db_file = dir.path().join("bench.db");
            let wal_file = dir.path().join("bench.db-wal");
            let size =
                |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            Ok(Fresh {
                store: sqlite,
                stats: Arc::new(move || writer_stats(stats_of.stats())),
                probe: Some(Arc::new(move || Probe {
                    db_file: size(&db_file),
                    wal_file: size(&wal_file),
                    wal_written: probed.stats().wal_bytes_written.load(Ordering::Relaxed),
                })),
                _dir: dir,
                _scratch: None,
            })
        }
        Some(url) => {
            let scratch = store::postgres::Scratch::create(url).await?;
            let pg = Arc::new(
                store::postgres::PgStore::open(
                    &scratch.url(),
                    store::postgres::PgOptions::default(),
                )
                .await?,
            );
            let (setting,): (String,) = sqlx_setting(&pg).await?;
            println!("Fresh schema in PostgreSQL (synchronous_commit = {setting}).");
            let stats_of = pg.clone();
            Ok(Fresh {
                store: pg,
                stats: Arc::new(move || writer_stats(stats_of.stats())),
                probe: None,
                _dir: dir,
                _scratch: Some(scratch),
            })
        }
    }
}

async fn sqlx_setting(pg: &store::postgres::PgStore) -> anyhow::Result<(String,)> {
    Ok(sqlx::query_as("SHOW synchronous_commit")
        .fetch_one(pg.pool())
        .await?)
}

/// A SQLite installation's sizes at one moment, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Probe {
    pub(super) db_file: u64,
    pub(super) wal_file: u64,
    /// WAL bytes appended by commits since the store opened.
    pub(super) wal_written: u64,
}

/// The measured part of a benchmark run on a fresh city with a server.
enum Work {
    Intake(super::bench_intake::Intake),
    Lifecycle {
        clients: usize,
        tickets: usize,
        http: bool,
    },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let (target, work) = match command {
        Command::Intake {
            clients,
            requests,
            duration,
            window,
            target,
        } => {
            let length = match duration {
                Some(seconds) => {
                    super::bench_intake::Length::Duration(Duration::from_secs(seconds))
                }
                None => super::bench_intake::Length::Tickets(requests),
            };
            let window = window.unwrap_or(match length {
                super::bench_intake::Length::Tickets(n) => (n / 10).clamp(1, 100_000),
                super::bench_intake::Length::Duration(_) => 100_000,
            });
            (
                target,
                Work::Intake(super::bench_intake::Intake {
                    clients,
                    length,
                    window: window.max(1),
                }),
            )
        }
        Command::Lifecycle {
            clients,
            tickets,
            http,
            target,
        } => (
            target,
            Work::Lifecycle {
                clients,
                tickets,
                http,
            },
        ),
        Command::Pages {
            days,
            samples,
            target,
        } => {
            super::bench_pages::run(days, samples, target).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Numbers { data, show } => return super::bench_numbers::run(&data, show),
    };
    let fresh = fresh(&target).await?;
    let store = fresh.store.clone();
    let app = Arc::new(App::new(
        store.clone(),
        Arc::new(Vault::generate()?),
        Arc::new(SystemClock),
    ));
    sim::build_city(&app, app.now() - SignedDuration::from_hours(1)).await?;
    let server = Server::start(app.clone()).await?;
    match work {
        Work::Intake(intake) => {
            super::bench_intake::run(&app, &server, fresh.probe.clone(), intake).await?
        }
        Work::Lifecycle {
            clients,
            tickets,
            http,
        } => lifecycle(&app, &server, clients, tickets, http).await?,
    }
    server.stop().await;
    println!("{}", (fresh.stats)());
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

fn writer_stats(stats: &store::WriterStats) -> String {
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let (batches, commands) = (load(&stats.batches).max(1), load(&stats.commands));
    let mut line = format!(
        "  writer: {batches} group commits of {:.1} commands; per commit {:.2} ms deciding and writing, {:.2} ms in COMMIT",
        commands as f64 / batches as f64,
        load(&stats.work_us) as f64 / batches as f64 / 1000.0,
        load(&stats.commit_us) as f64 / batches as f64 / 1000.0,
    );
    let fsyncs = load(&stats.fsyncs);
    if fsyncs > 0 {
        line += &format!(
            "; {fsyncs} WAL fsyncs of {:.2} ms each",
            load(&stats.fsync_us) as f64 / fsyncs as f64 / 1000.0
        );
    }
    let restarts = load(&stats.wal_restarts);
    if restarts > 0 {
        line += &format!(
            "\n  WAL: started over {restarts} times ({} forced at the bound), holding the writer {:.1} ms on average, {:.1} ms at most",
            load(&stats.wal_forced_restarts),
            load(&stats.wal_restart_us) as f64 / restarts as f64 / 1000.0,
            load(&stats.wal_restart_max_us) as f64 / 1000.0,
        );
    }
    line
}

pub(super) struct Server {
    pub(super) base: String,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub(super) async fn start(app: Arc<App>) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let base = format!("http://{address}");
        let (shutdown, signal) = oneshot::channel::<()>();
        let config = web::WebConfig::local(address);
        let task = tokio::spawn(web::serve(app, listener, config, async move {
            let _ = signal.await;
        }));
        Ok(Server {
            base,
            shutdown,
            task,
        })
    }

    pub(super) async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

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

pub(super) async fn token(app: &App, user: &str) -> anyhow::Result<String> {
    let id = domain::ids::UserId::parse(user)?;
    let valid = Some(SignedDuration::from_hours(2));
    Ok(app
        .issue_token(&Actor::system("bench"), app.now(), &id, "bench", valid)
        .await?
        .token)
}

pub(super) fn client(clients: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()?)
}

pub(super) fn ticket_body(i: usize) -> serde_json::Value {
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

pub(super) fn print_latencies(latencies: &[Duration]) {
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).copied().unwrap_or_default()
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

const UNITS: [&str; 6] = ["cgj", "jtj", "sthj", "scjg", "d1-s1", "d2-s3"];

async fn lifecycle(
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
