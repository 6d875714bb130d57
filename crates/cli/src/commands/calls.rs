//! `minsheng calls`: importing Asterisk's `queue_log`, and the call measures of a period.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use app::calls::{CallCountSource, CallReport};
use domain::calls::{CallBucket, ReportedCallEvent};
use domain::org::{Actor, ActorId, Affiliation, Role};

use crate::DbArgs;
use crate::context::Installation;
use crate::location::Location;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Record the calls in an Asterisk `queue_log` file (ts|callid|queue|agent|event|data…).
    /// Importing the same lines again records nothing twice; a malformed line stops the import
    /// with its number, and everything before it stays recorded.
    ImportQueueLog(ImportArgs),
    /// The call measures (GB/T 33358) of a month or a day, per queue and per agent.
    Report(ReportArgs),
}

#[derive(clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The name the calls are recorded under (the Asterisk server), e.g. `ast1`.
    #[arg(long)]
    pub source: String,
    /// The `queue_log` file.
    pub file: PathBuf,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// A SQLite file path or a PostgreSQL URL (a read replica will do).
    #[arg(long, env = "MINSHENG_DB", default_value = "minsheng.db")]
    pub db: String,
    /// `YYYY-MM`.
    #[arg(long, conflicts_with = "day", required_unless_present = "day")]
    pub month: Option<String>,
    /// `YYYY-MM-DD`.
    #[arg(long)]
    pub day: Option<String>,
    /// `15m`, `30m`, `1h`, `day` or `period`.
    #[arg(long, default_value = "period")]
    pub bucket: CallBucket,
    /// `rollups` (the per-interval counts) or `log` (every call recounted from the audit log).
    #[arg(long, default_value = "rollups")]
    pub source: CallCountSource,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::ImportQueueLog(args) => import(args).await,
        Command::Report(args) => report(args).await,
    }
}

/// Events recorded per report: well under the API's 5,000.
const BATCH: usize = 2_000;

async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let installation = Installation::open_existing(&args.db).await?;
    let app = installation.app.clone();
    let actor = cti::actor();
    let (mut recorded, mut repeated, mut lines) = (0usize, 0usize, 0usize);
    let mut batch: Vec<ReportedCallEvent> = Vec::new();
    let mut flush = async |batch: &mut Vec<ReportedCallEvent>| -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let done = app
            .record_calls(&actor, app.now(), &args.source, batch)
            .await?;
        recorded += done.recorded;
        repeated += done.repeated.len();
        batch.clear();
        Ok(())
    };
    let mut failure = None;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        lines += 1;
        match cti::asterisk::from_queue_log(&line) {
            Ok(events) => batch.extend(events),
            Err(bad) => {
                failure = Some(format!("line {}: {}", i + 1, bad.0));
                break;
            }
        }
        if batch.len() >= BATCH {
            flush(&mut batch).await?;
        }
    }
    let flushed = flush(&mut batch).await;
    installation.close().await;
    flushed?;
    println!("Read {lines} lines: {recorded} call events recorded, {repeated} recorded before.");
    match failure {
        Some(why) => {
            eprintln!(
                "error: the import stopped at {why}; the lines before it are recorded, so fix the line and import the file again"
            );
            Ok(ExitCode::FAILURE)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

async fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let installation = Installation::open_for_reports(&Location::parse(&args.db)).await?;
    // The console reads reports as the hotline office does.
    let console = Actor {
        id: ActorId::System("cli"),
        affiliation: Affiliation::Centre,
        roles: [Role::Supervisor].into(),
    };
    let app = &installation.app;
    let (from, to) = app.call_period(args.month.as_deref(), args.day.as_deref(), None, None)?;
    let report = app
        .call_report(&console, from, to, args.bucket, args.source)
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    installation.close().await;
    Ok(ExitCode::SUCCESS)
}

fn percent(share: Option<f64>) -> String {
    share.map_or("-".into(), |s| format!("{:.1}%", s * 100.0))
}

fn seconds(value: Option<f64>) -> String {
    value.map_or("-".into(), |s| format!("{s:.1}"))
}

fn print_table(report: &CallReport) {
    let t = &report.total;
    println!(
        "Calls {} – {} (answered within {} s counts as on time; abandons under {} s left out):",
        report.from,
        report.to,
        report.policy.answer_within_seconds,
        report.policy.short_abandon_seconds
    );
    println!(
        "  requested {}, answered {}, abandoned {} (+{} short); 15-second rate {}, connection rate {}, abandonment {}, ASA {} s",
        t.requested,
        t.answered,
        t.abandoned,
        t.short_abandoned,
        percent(t.service_level),
        percent(t.connection_rate),
        percent(t.abandonment_rate),
        seconds(t.average_speed_of_answer_seconds)
    );
    println!();
    println!(
        "{:<22} {:<16} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7}",
        "from", "queue", "requested", "answered", "abandoned", "in 15 s", "connect", "ASA s"
    );
    for row in &report.queues {
        let m = &row.measures;
        println!(
            "{:<22} {:<16} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7}",
            row.start.to_string(),
            row.queue.as_deref().unwrap_or("(no queue)"),
            m.requested,
            m.answered,
            m.abandoned,
            percent(m.service_level),
            percent(m.connection_rate),
            seconds(m.average_speed_of_answer_seconds)
        );
    }
    println!();
    println!(
        "{:<22} {:<16} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}",
        "from", "agent", "answered", "missed", "talk s", "hold s", "wrap s", "AHT s"
    );
    for row in &report.agents {
        let m = &row.measures;
        println!(
            "{:<22} {:<16} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}",
            row.start.to_string(),
            row.agent,
            m.answered,
            m.missed,
            seconds(m.average_talk_seconds),
            seconds(m.average_hold_seconds),
            seconds(m.average_wrap_up_seconds),
            seconds(m.average_handling_seconds)
        );
    }
}
