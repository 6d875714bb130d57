//! `minsheng migrate-store`: move an installation from SQLite to PostgreSQL.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;

use crate::location::Location;

#[derive(clap::Args)]
pub struct Args {
    /// The SQLite database to copy: `sqlite:PATH` or a path.
    #[arg(long)]
    pub from: String,
    /// The empty PostgreSQL database to copy into: `postgres://user:password@host:port/database`.
    #[arg(long)]
    pub to: String,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (Location::Sqlite(from), Location::Postgres(to)) =
        (Location::parse(&args.from), Location::parse(&args.to))
    else {
        bail!(
            "copy from a SQLite file (--from sqlite:PATH) to a PostgreSQL URL (--to postgres://…)"
        );
    };
    let started = Instant::now();
    let report = store::copy::sqlite_to_postgres(&from, &to).await?;
    println!(
        "Copied {} log entries, {} tickets and {} sealed contacts in {:.1} s.",
        report.log_entries,
        report.tickets,
        report.contacts,
        started.elapsed().as_secs_f64()
    );
    println!(
        "The target's log verifies and ends at the source's head: {} {}",
        report.head.seq, report.head.hash
    );
    println!(
        "Serve it with the same key file: minsheng serve --db <the --to URL> --key-file {}",
        Location::Sqlite(from).default_key_file().display()
    );
    Ok(ExitCode::SUCCESS)
}
