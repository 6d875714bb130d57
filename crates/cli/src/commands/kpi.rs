//! `minsheng kpi`: the month's unit ranking.

use std::process::ExitCode;

use app::kpi::{KpiReport, KpiSource};
use domain::org::{Actor, ActorId, Affiliation, Role};

use crate::context::Installation;
use crate::location::Location;

#[derive(clap::Args)]
pub struct Args {
    /// A SQLite file path or a PostgreSQL URL (a read replica will do). No key file is needed:
    /// reports never unseal a citizen's contact.
    #[arg(long, env = "MINSHENG_DB", default_value = "minsheng.db")]
    pub db: String,
    /// The month, `YYYY-MM`.
    #[arg(long)]
    pub month: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Count from the per unit × day rollups (fast), a scan of the ticket projections, or
    /// straight from the audit log (what anyone holding the log can recompute).
    #[arg(long, value_enum, default_value_t = Source::Rollups)]
    pub source: Source,
}

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum Source {
    Rollups,
    Projections,
    Log,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let installation = Installation::open_for_reports(&Location::parse(&args.db)).await?;
    // The console reads reports as the hotline office does.
    let console = Actor {
        id: ActorId::System("cli"),
        affiliation: Affiliation::Centre,
        roles: [Role::Supervisor].into(),
    };
    let source = match args.source {
        Source::Rollups => KpiSource::Rollups,
        Source::Projections => KpiSource::Projections,
        Source::Log => KpiSource::Log,
    };
    let report = installation
        .app
        .kpi_month(&console, &args.month, source)
        .await?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv => print!("{}", csv(&report)),
        Format::Table => print!("{}", table(&report)),
    }
    installation.close().await;
    Ok(ExitCode::SUCCESS)
}

fn rate(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:.1}"))
        .unwrap_or_else(|| "-".into())
}

pub fn csv(report: &KpiReport) -> String {
    let mut out = String::from(
        "rank,unit,name,composite,response_rate,resolution_rate,satisfaction_rate,claimed_solved_rate,closed_vs_solved_gap,on_time_sign_rate,on_time_reply_rate,return_rate,reopen_rate,extension_rate,dispatched,follow_ups_reached\n",
    );
    for u in &report.units {
        let r = &u.rates;
        let name = app::export::spreadsheet_cell(&u.name).replace('"', "\"\"");
        out += &format!(
            "{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            u.rank.map(|r| r.to_string()).unwrap_or_default(),
            u.unit,
            name,
            rate(u.composite),
            rate(r.response),
            rate(r.resolution),
            rate(r.satisfaction),
            rate(r.claimed_solved),
            rate(r.closed_vs_solved_gap),
            rate(r.on_time_sign),
            rate(r.on_time_reply),
            rate(r.return_rate),
            rate(r.reopen_rate),
            rate(r.extension_rate),
            u.counts.dispatched,
            u.counts.follow_ups_reached,
        );
    }
    out
}

pub fn table(report: &KpiReport) -> String {
    let w = report.weights;
    let mut out = format!(
        "KPI {} ({}), composite = {}% response + {}% resolution + {}% satisfaction; rates in %\n\n",
        report.month,
        match report.source {
            KpiSource::Rollups => "from the rollups",
            KpiSource::Projections => "from the ticket projections",
            KpiSource::Log => "recomputed from the audit log",
        },
        w.response,
        w.resolution,
        w.satisfaction
    );
    out += &format!(
        "{:>4}  {:<10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6} {:>6}  {}\n",
        "rank",
        "unit",
        "composite",
        "response",
        "resolved",
        "satisfd",
        "claimed",
        "gap",
        "ontime",
        "return",
        "disp",
        "calls",
        "name"
    );
    for u in &report.units {
        let r = &u.rates;
        out += &format!(
            "{:>4}  {:<10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6} {:>6}  {}\n",
            u.rank.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
            u.unit.as_str(),
            rate(u.composite),
            rate(r.response),
            rate(r.resolution),
            rate(r.satisfaction),
            rate(r.claimed_solved),
            rate(r.closed_vs_solved_gap),
            rate(r.on_time_reply),
            rate(r.return_rate),
            u.counts.dispatched,
            u.counts.follow_ups_reached,
            u.name
        );
    }
    let h = &report.hotline;
    out += &format!(
        "\nHotline: {} requests received, {} answered on the call ({}%).\nBy channel:",
        h.received,
        h.answered_on_call,
        rate(h.answered_on_call_share)
    );
    for c in &h.by_channel {
        out += &format!(" {} {}", c.name_zh, c.count);
    }
    out += "\n";
    out
}
