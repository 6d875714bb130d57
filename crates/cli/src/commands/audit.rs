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

pub(super) fn parse_head(text: &str) -> anyhow::Result<(u64, Hash)> {
    let bad = || {
        anyhow!("--expect takes SEQ:HASH as printed by `minsheng audit head`, e.g. 1042:9f86d0…")
    };
    let (seq, hash) = text.trim().split_once([':', ' ']).ok_or_else(bad)?;
    Ok((
        seq.parse().map_err(|_| bad())?,
        Hash::parse(hash).ok_or_else(bad)?,
    ))
}

/// Exit codes of `rebuild`, so a script can tell a damaged log from differing projections.
const PROJECTIONS_DIFFERED: u8 = 2;
const LOG_BROKEN: u8 = 3;

pub async fn rebuild(db: DbArgs) -> anyhow::Result<ExitCode> {
    // The log first: rebuilding from a log that fails verification would copy its damage into
    // the projections and blur two different alarms into one.
    match db.location().verify(None).await? {
        Ok(head) => println!(
            "The log verifies: {} entries, head {} {}.",
            head.seq, head.seq, head.hash
        ),
        Err(broken) => {
            println!(
                "The log itself fails verification at entry {}: {broken}",
                broken.first_bad_entry()
            );
            println!(
                "Nothing was rebuilt. The record of truth is damaged: keep this database as it is for \
                 investigation, compare it with a backup and with the heads the supervisors wrote down \
                 (`minsheng audit verify --expect SEQ:HASH`)."
            );
            return Ok(ExitCode::from(LOG_BROKEN));
        }
    }
    let installation = Installation::open_existing(&db).await?;
    let report = installation
        .store
        .rebuild()
        .await
        .context("rebuilding the projections")?;
    installation.close().await;
    println!(
        "Rebuilt {} tickets and {} calls from {} log entries.",
        report.tickets, report.calls, report.entries
    );
    if report.differing.is_empty()
        && report.orphans.is_empty()
        && report.rollup_days.is_empty()
        && report.calls_differing.is_empty()
        && !report.call_rollups_differed
    {
        println!("The projections and rollups matched the log exactly.");
        return Ok(ExitCode::SUCCESS);
    }
    if !report.differing.is_empty() {
        println!(
            "{} tickets' projections differed from the log and were rewritten from it (ticket: what differed):",
            report.differing.len()
        );
        for difference in report.differing.iter().take(50) {
            println!("  {}: {}", difference.no, difference.fields.join(", "));
        }
        if report.differing.len() > 50 {
            println!("  … and {} more", report.differing.len() - 50);
        }
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
    if !report.rollup_days.is_empty() {
        let days: Vec<String> = report.rollup_days.iter().map(|d| d.to_string()).collect();
        println!(
            "The KPI rollups of {} days differed from the log's counts and were recounted: {}",
            days.len(),
            days.join(", ")
        );
    }
    if !report.calls_differing.is_empty() {
        println!(
            "{} calls' rows or recorded event ids differed from the log and were rewritten from it:",
            report.calls_differing.len()
        );
        for call in report.calls_differing.iter().take(50) {
            println!("  {call}");
        }
        if report.calls_differing.len() > 50 {
            println!("  … and {} more", report.calls_differing.len() - 50);
        }
    }
    if report.call_rollups_differed {
        println!("The call measures' rollups differed from the log's counts and were recounted.");
    }
    println!(
        "The log is intact, so nothing recorded was lost; but something changed the projections \
         without going through the log (an edit of the database, tables restored from another \
         backup, or a defect in minsheng). The fields above say what: keep this output with the \
         audit report."
    );
    Ok(ExitCode::from(PROJECTIONS_DIFFERED))
}
