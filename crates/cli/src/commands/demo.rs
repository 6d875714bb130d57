//! `minsheng demo`: a demo city with simulated traffic.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use app::App;
use sim::{DEMO_PASSWORD, DemoOptions};

use crate::DbArgs;
use crate::context::Installation;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArgs,
    /// How big a city: `city` (30 days, 400 requests a weekday) or `beijing` (a year of Beijing's
    /// hotline: 365 days, 32,000 requests a weekday, about 11 million requests).
    #[arg(long, value_enum, default_value_t = Scale::City)]
    pub scale: Scale,
    /// Days of traffic, ending now (default: the scale's).
    #[arg(long)]
    pub days: Option<u32>,
    /// Requests on an average weekday (default: the scale's).
    #[arg(long)]
    pub per_day: Option<u32>,
    /// Seed of the simulation (the same seed gives the same city and traffic shape).
    #[arg(long, default_value_t = 12345)]
    pub seed: u64,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Scale {
    City,
    Beijing,
}

impl Scale {
    /// (days, requests on an average weekday)
    fn shape(self) -> (u32, u32) {
        match self {
            Scale::City => (30, 400),
            // Beijing's hotline took 11 M requests in 2020: with the demo's weekday, weekend and
            // holiday factors (about 0.94 of a weekday on average) that is 32,000 a weekday.
            Scale::Beijing => (365, 32_000),
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let installation = Installation::open_uninitialised(&args.db).await?;
    if installation.store.audit_head().await?.seq > 0 {
        bail!(
            "{} is not a new database; the demo city needs a new --db path",
            args.db.location()
        );
    }
    build_and_report(
        &installation.app,
        &DemoOptions {
            days: args.days.unwrap_or(args.scale.shape().0),
            per_day: args.per_day.unwrap_or(args.scale.shape().1),
            seed: args.seed,
        },
    )
    .await?;
    print_footprint(&installation).await;
    println!("Start it with: minsheng serve --db <the same --db>");
    installation.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn build_and_report(app: &App, options: &DemoOptions) -> anyhow::Result<()> {
    println!(
        "Building the demo city 民声市 with {} days of traffic (about {} requests a day)…",
        options.days, options.per_day
    );
    let started = Instant::now();
    let summary = sim::build(app, app.now(), options).await?;
    let t = &summary.traffic;
    println!(
        "Built in {:.1} s: {} units, {} people, {} tickets from {} commands ({} still open).",
        started.elapsed().as_secs_f64(),
        summary.units,
        summary.users,
        t.tickets,
        t.commands,
        t.still_open
    );
    if t.refused > 0 {
        println!(
            "Note: {} simulated steps were refused by the rules (see the log).",
            t.refused
        );
    }
    Ok(())
}

/// What the build took: the database's size on disk and this process's peak memory.
async fn print_footprint(installation: &Installation) {
    match installation.store.database_bytes().await {
        Ok(bytes) => println!("Database: {:.1} MiB.", bytes as f64 / 1048576.0),
        Err(error) => println!("Database size unknown: {error}"),
    }
    if let Some(kib) = peak_rss_kib() {
        println!("Peak memory (RSS): {:.1} MiB.", kib as f64 / 1024.0);
    }
}

/// `VmHWM` of /proc/self/status (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn print_logins(address: SocketAddr) {
    println!();
    println!("Demo logins (password for all: {DEMO_PASSWORD}):");
    for (user, role) in [
        ("operator", "话务员 operator (call-centre contractor)"),
        ("dispatcher", "派单员 dispatcher (hotline centre)"),
        ("h-cgj", "承办人 handler, 市城市管理和综合执法局 (unit cgj)"),
        ("m-d1-s1", "单位负责人 manager, 东湖区湖滨街道 (unit d1-s1)"),
        ("followup", "回访员 follow-up agent"),
        ("inspector", "质检员 quality inspector"),
        ("supervisor", "督办 supervisor (hotline office)"),
        ("admin", "系统管理员 administrator"),
    ] {
        println!("  {user:<12} {role}");
    }
    println!(
        "Every unit has a handler h-<unit> and a manager m-<unit> (units: GET /api/v1/units)."
    );
    println!();
    println!("Try it:");
    println!(
        "  TOKEN=$(curl -s -X POST http://{address}/api/v1/auth/token -H 'content-type: application/json' \\\n    -d '{{\"username\":\"dispatcher\",\"password\":\"{DEMO_PASSWORD}\"}}' | sed 's/.*\"token\":\"\\([^\"]*\\)\".*/\\1/')"
    );
    println!(
        "  curl -s -H \"Authorization: Bearer $TOKEN\" 'http://{address}/api/v1/tickets?status=pending_dispatch&limit=5'"
    );
}
