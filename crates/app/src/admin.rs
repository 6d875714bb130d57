//! Administration use cases: the organisation, users, the taxonomy, the calendar and the rules.

use domain::admin::AdminCommand;
use domain::calendar::parse_holiday_csv;
use domain::category::{ImportNote, Taxonomy};
use domain::division::Division;
use domain::ids::UserId;
use domain::org::{Actor, Unit, User};
use domain::policy::Policy;
use jiff::Timestamp;
use store::{Command, Secret};

use crate::App;
use crate::auth::hash_password;
use crate::error::AppResult;

impl App {
    pub async fn create_unit(&self, actor: &Actor, now: Timestamp, unit: Unit) -> AppResult<()> {
        self.admin(actor, now, AdminCommand::CreateUnit(unit), None)
            .await
    }

    pub async fn update_unit(&self, actor: &Actor, now: Timestamp, unit: Unit) -> AppResult<()> {
        self.admin(actor, now, AdminCommand::UpdateUnit(unit), None)
            .await
    }

    /// Creates a user, with a password if one is given (without, the user can only use tokens).
    pub async fn create_user(
        &self,
        actor: &Actor,
        now: Timestamp,
        user: User,
        password: Option<&str>,
    ) -> AppResult<()> {
        let secret = match password {
            Some(p) => Some(Secret::PasswordHash(hash_in_background(p).await?)),
            None => None,
        };
        self.admin(actor, now, AdminCommand::CreateUser(user), secret)
            .await
    }

    /// Creates a user with an already computed password hash (bulk imports, the demo city).
    pub async fn create_user_with_hash(
        &self,
        actor: &Actor,
        now: Timestamp,
        user: User,
        hash: String,
    ) -> AppResult<()> {
        self.admin(
            actor,
            now,
            AdminCommand::CreateUser(user),
            Some(Secret::PasswordHash(hash)),
        )
        .await
    }

    pub async fn update_user(&self, actor: &Actor, now: Timestamp, user: User) -> AppResult<()> {
        self.admin(actor, now, AdminCommand::UpdateUser(user), None)
            .await
    }

    pub async fn set_password(
        &self,
        actor: &Actor,
        now: Timestamp,
        user: &UserId,
        password: &str,
    ) -> AppResult<()> {
        let secret = Secret::PasswordHash(hash_in_background(password).await?);
        self.admin(
            actor,
            now,
            AdminCommand::SetPassword { user: user.clone() },
            Some(secret),
        )
        .await?;
        // The store revoked the user's tokens with the new password; forget any resolved here.
        self.tokens.clear();
        Ok(())
    }

    /// A supervisor approves or refuses the roles an administrator asked for on `user`.
    pub async fn decide_roles(
        &self,
        actor: &Actor,
        now: Timestamp,
        user: &UserId,
        approve: bool,
    ) -> AppResult<()> {
        self.admin(
            actor,
            now,
            AdminCommand::DecideRoles {
                user: user.clone(),
                approve,
            },
            None,
        )
        .await
    }

    /// Accounts with roles waiting for a supervisor's approval, and those roles.
    pub fn roles_awaiting_approval(
        &self,
        actor: &Actor,
    ) -> AppResult<Vec<(domain::org::User, Vec<domain::org::Role>)>> {
        domain::permission::require(actor, domain::permission::Action::ApproveRoles, None)?;
        let registry = self.registry();
        Ok(registry
            .awaiting_approval
            .iter()
            .filter_map(|(id, roles)| Some((registry.users.get(id)?.clone(), roles.clone())))
            .collect())
    }

    /// Replaces the taxonomy with a city's own, in the DB44/T 2479 column layout.
    pub async fn import_taxonomy(
        &self,
        actor: &Actor,
        now: Timestamp,
        source: &str,
        csv: &str,
    ) -> AppResult<Vec<ImportNote>> {
        let (taxonomy, notes) = Taxonomy::parse_csv(source, csv)?;
        self.admin(actor, now, AdminCommand::ImportTaxonomy(taxonomy), None)
            .await?;
        Ok(notes)
    }

    /// Adds (or corrects) official calendar days, e.g. next year's holidays.
    pub async fn import_calendar(
        &self,
        actor: &Actor,
        now: Timestamp,
        source: &str,
        csv: &str,
    ) -> AppResult<usize> {
        let days = parse_holiday_csv(csv)?;
        let count = days.len();
        self.admin(
            actor,
            now,
            AdminCommand::ImportCalendar {
                source: source.to_owned(),
                days,
            },
            None,
        )
        .await?;
        Ok(count)
    }

    pub async fn set_policy(&self, actor: &Actor, now: Timestamp, policy: Policy) -> AppResult<()> {
        self.admin(actor, now, AdminCommand::SetPolicy(policy), None)
            .await
    }

    pub async fn register_divisions(
        &self,
        actor: &Actor,
        now: Timestamp,
        source: &str,
        divisions: Vec<Division>,
    ) -> AppResult<()> {
        self.admin(
            actor,
            now,
            AdminCommand::RegisterDivisions {
                source: source.to_owned(),
                divisions,
            },
            None,
        )
        .await
    }

    async fn admin(
        &self,
        actor: &Actor,
        now: Timestamp,
        command: AdminCommand,
        secret: Option<Secret>,
    ) -> AppResult<()> {
        self.submit(actor, now, Command::Admin { command, secret })
            .await
            .map(|_| ())
    }
}

async fn hash_in_background(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| crate::error::AppError::Internal(e.to_string()))?
}
