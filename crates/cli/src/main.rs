//! `minsheng`: run the 12345 hotline platform, build a demo city, check the audit record, report
//! KPIs, administer users and units, and measure performance.

mod commands;
mod context;
mod location;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::{admin, audit, backup, bench, calls, demo, kpi, migrate, serve};

#[derive(Parser)]
#[command(name = "minsheng", version, about = "民声 minsheng — the 12345 citizen service hotline platform", long_about = None)]
struct Cli {
    /// How log lines are written to standard error: `text` (colours only on a terminal) or `json`
    /// (one object per line, for a log collector).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "MINSHENG_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

impl Command {
    /// Commands that run for a while and report what they do (the server, a demo build, a
    /// benchmark, a store migration, a rebuild) log at info; one-shot commands (`kpi`, `audit`,
    /// `user`, …) print their answer and only warnings besides. `RUST_LOG` overrides both.
    fn default_log_filter(&self) -> &'static str {
        match self {
            Command::Serve(_)
            | Command::Demo(_)
            | Command::Bench(_)
            | Command::MigrateStore(_)
            | Command::Rebuild(_) => "warn,minsheng=info,web=info,app=info,store=info,cti=info",
            _ => "warn",
        }
    }
}

/// Where the data lives.
#[derive(clap::Args, Clone, Debug)]
pub struct DbArgs {
    /// The database: a SQLite file path (created if missing), or a PostgreSQL URL
    /// `postgres://user:password@host:port/database`.
    #[arg(long, env = "MINSHENG_DB", default_value = "minsheng.db")]
    pub db: String,
    /// The key file that seals citizens' contacts [default: <db>.keys beside a SQLite file,
    /// minsheng.keys for PostgreSQL]. Created for a new database; required for an existing one.
    #[arg(long, env = "MINSHENG_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// SQLite only: the write-ahead log's bound in MiB. Checkpoints start the WAL over once it
    /// holds half of this, and the writer forces that at seven eighths.
    #[arg(long, env = "MINSHENG_WAL_LIMIT_MB", value_name = "MIB", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(4..))]
    pub wal_limit: u64,
}

impl DbArgs {
    pub fn location(&self) -> location::Location {
        location::Location::parse(&self.db)
    }

    /// How a SQLite database is opened.
    pub fn sqlite_options(&self) -> store::sqlite::SqliteOptions {
        store::sqlite::SqliteOptions {
            wal_limit: self.wal_limit << 20,
            ..Default::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the JSON API; `--demo` builds a demo city first if the database is new).
    Serve(serve::Args),
    /// Build a demo city with days of simulated traffic into a new database.
    Demo(demo::Args),
    /// Check or read the tamper-evident audit record.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Verify the log, then rebuild the ticket projections and KPI rollups from it and report any
    /// difference.
    ///
    /// Exit 0: the projections matched the log exactly. Exit 2: the log verifies, but some
    /// projections differed from it (each is listed with the fields that differed, or the days
    /// whose rollups differed) and were rewritten from the log. Exit 3: the log itself fails verification; nothing was rebuilt.
    Rebuild(DbArgs),
    /// The unit ranking and hotline figures for a month.
    Kpi(kpi::Args),
    /// Calls: the call measures of a period, importing Asterisk's queue_log.
    #[command(subcommand)]
    Calls(calls::Command),
    /// Manage users.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Issue or revoke API tokens.
    #[command(subcommand)]
    Token(admin::TokenCommand),
    /// Manage handling units.
    #[command(subcommand)]
    Unit(admin::UnitCommand),
    /// Register administrative divisions.
    #[command(subcommand)]
    Divisions(admin::DivisionsCommand),
    /// Replace the request taxonomy.
    #[command(subcommand)]
    Taxonomy(admin::TaxonomyCommand),
    /// Add official holidays and adjusted working days.
    #[command(subcommand)]
    Calendar(admin::CalendarCommand),
    /// Show or change deadlines, follow-up limits and KPI weights.
    #[command(subcommand)]
    Policy(admin::PolicyCommand),
    /// Copy a whole SQLite installation into an empty PostgreSQL database.
    MigrateStore(migrate::Args),
    /// Copy a SQLite database as of one moment while it serves; the copy's log is verified and
    /// its head printed.
    Backup(backup::BackupArgs),
    /// Create a SQLite database from a backup, refusing a copy whose log does not verify.
    Restore(backup::RestoreArgs),
    /// Measure throughput and latency.
    #[command(subcommand)]
    Bench(bench::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(cli.command.default_log_filter()));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Audit(command) => audit::run(command).await,
            Command::Rebuild(db) => audit::rebuild(db).await,
            Command::Kpi(args) => kpi::run(args).await,
            Command::Calls(command) => calls::run(command).await,
            Command::User(command) => admin::user(command).await,
            Command::Token(command) => admin::token(command).await,
            Command::Unit(command) => admin::unit(command).await,
            Command::Divisions(command) => admin::divisions(command).await,
            Command::Taxonomy(command) => admin::taxonomy(command).await,
            Command::Calendar(command) => admin::calendar(command).await,
            Command::Policy(command) => admin::policy(command).await,
            Command::MigrateStore(args) => migrate::run(args).await,
            Command::Backup(args) => backup::backup(args).await,
            Command::Restore(args) => backup::restore(args).await,
            Command::Bench(command) => bench::run(command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
