//! `minsheng bench`: throughput and latency of the real server and use cases against a fresh
//! database in a temporary directory, with durable (`synchronous=FULL`) commits. These are
//! measurements, never assertions: the figures depend on the machine.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, bail};
use app::App;
use app::clock::SystemClock;
use app::vault::Vault;
use domain::org::Actor;
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
    /// Report call events over HTTP (POST /api/v1/calls/events) from concurrent ACD clients;
    /// prints events/s and latency per report, then times the period's call report by day from
    /// the rollups (and checks it against a recount from the log, up to 500,000 calls).
    Calls {
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Calls to report (about five events each).
        #[arg(long, default_value_t = 100_000)]
        calls: usize,
        /// Events per report.
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        /// Days the calls' times spread over, ending now.
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[command(flatten)]
        target: Target,
    },
    /// Serve the workstation's main pages on a demo city and time them, each role signed in;
    /// prints latency percentiles per page.
    Pages {
        /// Days of demo traffic to build first.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Measure this existing demo installation (a SQLite path or PostgreSQL URL, e.g. one
        /// `minsheng demo --scale beijing` built) instead of building a fresh demo city.
        #[arg(long, value_name = "DB")]
        db: Option<String>,
        /// The key file of `--db` [default: <db>.keys beside a SQLite file].
        #[arg(long, requires = "db")]
        key_file: Option<std::path::PathBuf>,
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
    Calls(super::bench_calls::Calls),
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
        Command::Calls {
            clients,
            calls,
            batch,
            days,
            target,
        } => (
            target,
            Work::Calls(super::bench_calls::Calls {
                clients,
                calls,
                batch: batch.clamp(1, 5_000),
                days: days.max(1),
            }),
        ),
        Command::Pages {
            days,
            db,
            key_file,
            samples,
            target,
        } => {
            let existing = db.map(|db| crate::DbArgs {
                db,
                key_file,
                wal_limit: target.wal_limit,
            });
            super::bench_pages::run(days, existing, samples, target).await?;
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
        } => super::bench_lifecycle::run(&app, &server, clients, tickets, http).await?,
        Work::Calls(calls) => super::bench_calls::run(&app, &server, calls).await?,
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
