//! `minsheng backup` and `minsheng restore`: an online copy of a SQLite installation and its
//! verified restore. PostgreSQL is backed up with its own tools (`scripts/pg-backup`,
//! `docs/deploy.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use crate::location::Location;

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The SQLite database to copy (it may be serving: writes continue during the copy).
    #[arg(long, env = "MINSHENG_DB", default_value = "minsheng.db")]
    db: String,
    /// Where the copy goes; must not exist.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// A copy made by `minsheng backup`.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// The database to create from it; must not exist.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// The head written down when the backup was made (`SEQ:HASH`): the copy must end there.
    #[arg(long)]
    expect: Option<String>,
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let Location::Sqlite(db) = Location::parse(&args.db) else {
        bail!(
            "backup copies a SQLite database; back PostgreSQL up with its own tools (scripts/pg-backup, docs/deploy.md)"
        );
    };
    if !db.exists() {
        bail!("there is no database at {}; check --db", db.display());
    }
    let to = args.to.clone();
    let head = tokio::task::spawn_blocking(move || store::sqlite::backup::backup(&db, &to))
        .await?
        .with_context(|| format!("backing up to {}", args.to.display()))?;
    println!(
        "Backed up to {}: the log verifies, {} entries, head {} {}",
        args.to.display(),
        head.seq,
        head.seq,
        head.hash
    );
    println!(
        "Write the head down with the backup. The key file is not in the copy: back it up apart."
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let expected = args
        .expect
        .as_deref()
        .map(super::audit::parse_head)
        .transpose()?;
    let (from, to) = (args.from.clone(), args.to.clone());
    let head =
        tokio::task::spawn_blocking(move || store::sqlite::backup::restore(&from, &to, expected))
            .await?
            .with_context(|| format!("restoring {}", args.from.display()))?;
    println!(
        "Restored {} as {}: the log verifies, {} entries, head {} {}",
        args.from.display(),
        args.to.display(),
        head.seq,
        head.seq,
        head.hash
    );
    Ok(ExitCode::SUCCESS)
}
