//! Administration from the server's console: users, tokens, units, divisions, taxonomy,
//! calendar, policy. The console acts as `system:cli`; every change is in the audit log.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use domain::division::parse_divisions_csv;
use domain::ids::{CategoryCode, DivisionCode, UnitId, UserId};
use domain::org::{Actor, Affiliation, Role, Unit, UnitKind, User};
use domain::policy::Policy;
use jiff::SignedDuration;

use crate::DbArgs;
use crate::context::Installation;

fn console() -> Actor {
    Actor::system("cli")
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Add a user. Without --password-stdin a random password is generated and printed once.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// Login name: lowercase letters, digits, '-', '_', '.'.
        #[arg(long)]
        name: String,
        #[arg(long)]
        display_name: String,
        /// Roles, comma-separated: operator, dispatcher, unit_handler, unit_manager,
        /// follow_up_agent, quality_inspector, supervisor, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        role: Vec<String>,
        /// Where the user works: `centre`, `contractor`, `unit:<unit code>`, or `channel` for an
        /// outside system holding an Open311 key.
        #[arg(long)]
        org: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a user's password (read from standard input).
    Passwd {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        name: String,
    },
    /// Deactivate (or with --activate, reactivate) a user; their tokens stop working at once.
    Deactivate {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        name: String,
        #[arg(long)]
        activate: bool,
    },
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Issue an API token for a user; it is printed once.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        label: String,
        /// Days until it expires; 0 for never.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
    /// Revoke a token by its id.
    Revoke {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        user: String,
        #[arg(long)]
        id: String,
    },
}

#[derive(clap::Subcommand)]
pub enum UnitCommand {
    /// Add a handling unit.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// Unit code: lowercase letters, digits, '-', '_', '.'.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// city, district, street, community, department or utility.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        parent: Option<String>,
        /// Division codes of its jurisdiction, comma-separated.
        #[arg(long, value_delimiter = ',')]
        divisions: Vec<String>,
        /// Category codes it handles (its dispatch catalogue entries), comma-separated.
        #[arg(long, value_delimiter = ',')]
        categories: Vec<String>,
    },
    /// List units.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(clap::Subcommand)]
pub enum DivisionsCommand {
    /// Register divisions: every shipped division under `--prefix` (a city: 4401), or the rows of
    /// a `code,name` CSV file.
    Import {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, conflicts_with = "file")]
        prefix: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

#[derive(clap::Subcommand)]
pub enum TaxonomyCommand {
    /// Replace the taxonomy with a CSV in the DB44/T 2479—2024 appendix A column layout.
    Import {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        file: PathBuf,
        /// Where the taxonomy comes from, for the record.
        #[arg(long)]
        source: String,
    },
}

#[derive(clap::Subcommand)]
pub enum CalendarCommand {
    /// Add days from a CSV `date,holiday_name,kind` (kind: off or adjusted_workday).
    Import {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        source: String,
    },
}

#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Print the policy in force as JSON.
    Show {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Replace the policy with a JSON file (start from `policy show`).
    Set {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        file: PathBuf,
    },
}

pub async fn user(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add {
            db,
            name,
            display_name,
            role,
            org,
            password_stdin,
        } => {
            let roles = role
                .iter()
                .map(|r| Role::parse(r))
                .collect::<Result<BTreeSet<_>, _>>()?;
            let affiliation = Affiliation::parse(&org)?;
            let user = User {
                id: UserId::parse(&name)?,
                display_name,
                affiliation,
                roles,
                active: true,
            };
            let (password, generated) = if password_stdin {
                (read_stdin_password()?, false)
            } else {
                (random_password()?, true)
            };
            let installation = Installation::open(&db).await?;
            let app = &installation.app;
            app.create_user(&console(), app.now(), user.clone(), Some(&password))
                .await?;
            println!("Added user {} ({}).", user.id, user.display_name);
            if generated {
                println!("Password (shown once): {password}");
            }
            installation.close().await;
        }
        UserCommand::List { db } => {
            let installation = Installation::open_existing(&db).await?;
            for user in installation.app.registry().users.values() {
                let roles: Vec<_> = user.roles.iter().map(|r| r.as_str()).collect();
                let state = if user.active { "" } else { "  (deactivated)" };
                println!(
                    "{:<24} {:<36} {:<30} {}{state}",
                    user.id,
                    roles.join(","),
                    user.affiliation.to_string(),
                    user.display_name
                );
            }
            installation.close().await;
        }
        UserCommand::Passwd { db, name } => {
            let password = read_stdin_password()?;
            let installation = Installation::open_existing(&db).await?;
            let app = &installation.app;
            app.set_password(&console(), app.now(), &UserId::parse(&name)?, &password)
                .await?;
            println!("Password of {name} changed.");
            installation.close().await;
        }
        UserCommand::Deactivate { db, name, activate } => {
            let installation = Installation::open_existing(&db).await?;
            let app = &installation.app;
            let id = UserId::parse(&name)?;
            let mut user = app
                .registry()
                .users
                .get(&id)
                .cloned()
                .with_context(|| format!("there is no user {name}"))?;
            user.active = activate;
            app.update_user(&console(), app.now(), user).await?;
            println!(
                "{name} is now {}.",
                if activate { "active" } else { "deactivated" }
            );
            installation.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create {
            db,
            user,
            label,
            days,
        } => {
            let installation = Installation::open_existing(&db).await?;
            let app = &installation.app;
            let valid_for = (days > 0).then(|| SignedDuration::from_hours(24 * i64::from(days)));
            let issued = app
                .issue_token(
                    &console(),
                    app.now(),
                    &UserId::parse(&user)?,
                    &label,
                    valid_for,
                )
                .await?;
            println!("{}", issued.token);
            eprintln!(
                "Token {} for {user}{}. It is shown only now: use it as `Authorization: Bearer <token>`.",
                issued.id,
                issued
                    .expires_at
                    .map(|t| format!(", valid until {t}"))
                    .unwrap_or_default()
            );
            installation.close().await;
        }
        TokenCommand::Revoke { db, user, id } => {
            let installation = Installation::open_existing(&db).await?;
            let app = &installation.app;
            app.revoke_token(&console(), app.now(), &UserId::parse(&user)?, &id)
                .await?;
            println!("Token {id} revoked.");
            installation.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn unit(command: UnitCommand) -> anyhow::Result<ExitCode> {
    match command {
        UnitCommand::Add {
            db,
            id,
            name,
            kind,
            parent,
            divisions,
            categories,
        } => {
            let kind = match kind.as_str() {
                "city" => UnitKind::City,
                "district" => UnitKind::District,
                "street" => UnitKind::Street,
                "community" => UnitKind::Community,
                "department" => UnitKind::Department,
                "utility" => UnitKind::Utility,
                other => bail!(
                    "unknown kind {other:?}; use city, district, street, community, department or utility"
                ),
            };
            let unit = Unit {
                id: UnitId::parse(&id)?,
                name,
                kind,
                parent: parent.as_deref().map(UnitId::parse).transpose()?,
                jurisdiction: divisions
                    .iter()
                    .map(|d| DivisionCode::parse(d))
                    .collect::<Result<_, _>>()?,
                categories: categories
                    .iter()
                    .map(|c| CategoryCode::parse(c))
                    .collect::<Result<_, _>>()?,
            };
            let installation = Installation::open(&db).await?;
            let app = &installation.app;
            app.create_unit(&console(), app.now(), unit).await?;
            println!("Added unit {id}.");
            installation.close().await;
        }
        UnitCommand::List { db } => {
            let installation = Installation::open_existing(&db).await?;
            for unit in installation.app.registry().units.values() {
                let parent = unit.parent.as_ref().map(|p| p.as_str()).unwrap_or("-");
                println!(
                    "{:<12} {:<10} {:<10} {}",
                    unit.id,
                    unit.kind.zh(),
                    parent,
                    unit.name
                );
            }
            installation.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn divisions(command: DivisionsCommand) -> anyhow::Result<ExitCode> {
    let DivisionsCommand::Import { db, prefix, file } = command;
    let (source, list) = match (prefix, file) {
        (Some(prefix), None) => (
            app::shipped::DIVISIONS_SOURCE.to_owned(),
            app::shipped::divisions_under(prefix.trim())?,
        ),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            (path.display().to_string(), parse_divisions_csv(&text)?)
        }
        _ => bail!("pass --prefix <code> (from the shipped list) or --file <csv>"),
    };
    if list.is_empty() {
        bail!("no divisions matched");
    }
    let installation = Installation::open(&db).await?;
    let app = &installation.app;
    let count = list.len();
    app.register_divisions(&console(), app.now(), &source, list)
        .await?;
    println!("Registered {count} divisions.");
    installation.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn taxonomy(command: TaxonomyCommand) -> anyhow::Result<ExitCode> {
    let TaxonomyCommand::Import { db, file, source } = command;
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let installation = Installation::open(&db).await?;
    let app = &installation.app;
    let notes = app
        .import_taxonomy(&console(), app.now(), &source, &text)
        .await?;
    println!(
        "Imported the taxonomy; {} categories in force.",
        app.registry().categories.len()
    );
    for note in notes {
        println!("  line {}: {}", note.line, note.note);
    }
    installation.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn calendar(command: CalendarCommand) -> anyhow::Result<ExitCode> {
    let CalendarCommand::Import { db, file, source } = command;
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let installation = Installation::open(&db).await?;
    let app = &installation.app;
    let count = app
        .import_calendar(&console(), app.now(), &source, &text)
        .await?;
    println!("Imported {count} calendar days.");
    installation.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn policy(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Show { db } => {
            let installation = Installation::open(&db).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&installation.app.registry().rules.policy)?
            );
            installation.close().await;
        }
        PolicyCommand::Set { db, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let policy: Policy = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a policy (start from `minsheng policy show`)",
                    file.display()
                )
            })?;
            let installation = Installation::open(&db).await?;
            let app = &installation.app;
            app.set_policy(&console(), app.now(), policy).await?;
            println!("Policy updated.");
            installation.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_stdin_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the password from standard input")?;
    let password = text.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

fn random_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}
