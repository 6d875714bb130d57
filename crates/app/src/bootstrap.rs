//! A new installation starts with the default rules, the official calendar and the standard
//! taxonomy, each recorded in the log like any later change.

use domain::admin::AdminCommand;
use domain::org::Actor;
use domain::policy::Policy;
use jiff::Timestamp;
use store::Command;

use crate::App;
use crate::error::AppResult;
use crate::shipped;

impl App {
    /// Loads what a fresh store lacks; does nothing to an initialised one. Returns whether it
    /// did anything.
    pub async fn initialise(&self, now: Timestamp) -> AppResult<bool> {
        let registry = self.registry();
        if !registry.categories.is_empty() {
            return Ok(false);
        }
        let actor = Actor::system("init");
        let commands = [
            AdminCommand::SetPolicy(Policy::default()),
            AdminCommand::ImportCalendar {
                source: shipped::CALENDAR_SOURCE.into(),
                days: shipped::holidays()?,
            },
            AdminCommand::ImportTaxonomy(shipped::taxonomy()?.0),
        ];
        for command in commands {
            self.submit(
                &actor,
                now,
                Command::Admin {
                    command,
                    secret: None,
                },
            )
            .await?;
        }
        tracing::info!(
            "initialised a new installation with the default rules, calendar and taxonomy"
        );
        Ok(true)
    }
}
