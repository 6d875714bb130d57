//! `minsheng audit verify|head` and `minsheng rebuild`.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use domain::audit::Hash;

use crate::DbArgs;
use crate::context::Installation;
use crate::location::Location;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Recompute every hash of the log. Exit 0 when intact (prints the entry count and head);
    /// exit 1 naming the first entry that was changed, removed, inserted or reordered.
    Verify {
        /// A SQLite file path or a PostgreSQL URL.
        #[arg(long, env = "MINSHENG_DB", default_value = "minsheng.db")]
        db: String,
        /// A head written down earlier, as `SEQ:HASH` (from `audit head`): also checks that the
        /// log still has exactly that entry, which catches a rewrite that recomputed all hashes.
        #[arg(long)]
        expect: Option<String>,
    },
    /// Print the log's last sequence number and hash, for a supervisor to write down.
    Head {
        /// A SQLite file path or a PostgreSQL URL.
        #[arg(long, env = "MINSHENG_DB", default_value = "minsheng.db")]
        db: String,
    },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Verify { db, expect } => {
            let expected = expect.as_deref().map(parse_head).transpose()?;
            let result = Location::parse(&db).verify(expected).await?;
            match result {
                Ok(head) => {
                    println!(
                        "intact: {} entries, head {} {}",
                        head.seq, head.seq, head.hash
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(broken) => {
                    println!("BROKEN at entry {}: {broken}", broken.first_bad_entry());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Head { db } => {
            let head = Location::parse(&db).head().await?;
            println!("{} {}", head.seq, head.hash);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_head(text: &str) -> anyhow::Result<(u64, Hash)> {
    let bad = || {
        anyhow!("--expect takes SEQ:HASH as printed by `minsheng audit head`, e.g. 1042:9f86d0…")
    };
    let (seq, hash) = text.trim().split_once([':', ' ']).ok_or_else(bad)?;
    Ok((
        seq.parse().map_err(|_| bad())?,
        Hash::parse(hash).ok_or_else(bad)?,
    ))
}

pub async fn rebuild(db: DbArgs) -> anyhow::Result<ExitCode> {
    let installation = Installation::open_existing(&db).await?;
    let report = installation
        .store
        .rebuild()
        .await
        .context("rebuilding the projections")?;
    println!(
        "Rebuilt {} tickets from {} log entries.",
        report.tickets, report.entries
    );
    let clean = report.differing.is_empty() && report.orphans.is_empty();
    if clean {
        println!("The projections matched the log exactly.");
    } else {
        println!(
            "{} tickets differed from the log and were corrected:",
            report.differing.len()
        );
        for no in report.differing.iter().take(50) {
            println!("  {no}");
        }
        if !report.orphans.is_empty() {
            println!(
                "{} projection rows had no ticket in the log and were removed:",
                report.orphans.len()
            );
            for no in report.orphans.iter().take(50) {
                println!("  {no}");
            }
        }
        println!(
            "Something changed the projections behind the log's back: run `minsheng audit verify` and look into it."
        );
    }
    installation.close().await;
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
