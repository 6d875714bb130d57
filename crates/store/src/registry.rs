//! The organisation and rules in memory: a fold of the log's admin events. Every backend rebuilds
//! it at start-up from the log; the writer keeps a working copy and publishes a snapshot after
//! each commit.

use std::collections::BTreeMap;

use domain::DomainError;
use domain::admin::{AdminDirectory, AdminEvent};
use domain::calendar::CalendarDay;
use domain::category::Category;
use domain::ids::{CategoryCode, DivisionCode, UnitId, UserId};
use domain::org::{Unit, User};
use domain::policy::{Policy, Rules};
use domain::ticket::Directory;
use jiff::tz::TimeZone;

#[derive(Clone, Debug)]
pub struct Registry {
    pub units: BTreeMap<UnitId, Unit>,
    pub users: BTreeMap<UserId, User>,
    /// The categories of the taxonomy in force.
    pub categories: BTreeMap<CategoryCode, Category>,
    /// Categories of earlier taxonomies that old tickets may still carry.
    pub retired_categories: BTreeMap<CategoryCode, Category>,
    pub taxonomy_source: String,
    pub divisions: BTreeMap<DivisionCode, String>,
    pub calendar_days: Vec<CalendarDay>,
    pub calendar_source: String,
    pub rules: Rules,
    /// Roles that see tickets an administrator asked for, waiting for a supervisor.
    pub awaiting_approval: BTreeMap<UserId, Vec<domain::org::Role>>,
}

/// The admin event kinds the registry folds (others, such as token events, do not concern it).
pub const REGISTRY_KINDS: [&str; 9] = [
    "unit.created",
    "unit.updated",
    "user.created",
    "user.updated",
    "user.roles_decided",
    "taxonomy.imported",
    "calendar.imported",
    "policy.set",
    "divisions.registered",
];

impl Registry {
    pub fn new() -> Result<Self, DomainError> {
        let policy = Policy::default();
        let zone = zone(&policy.time_zone)?;
        Ok(Self {
            units: BTreeMap::new(),
            users: BTreeMap::new(),
            categories: BTreeMap::new(),
            retired_categories: BTreeMap::new(),
            taxonomy_source: String::new(),
            divisions: BTreeMap::new(),
            calendar_days: Vec::new(),
            calendar_source: String::new(),
            rules: Rules::new(policy, zone, &[])?,
            awaiting_approval: BTreeMap::new(),
        })
    }

    /// Folds one stored log entry (`seq`, `kind`, `body` as read from the log) if it is an admin
    /// event; other entries are skipped. An entry that does not decode or fold is corruption.
    pub(crate) fn apply_stored(
        &mut self,
        seq: u64,
        kind: &str,
        body: &str,
    ) -> crate::StoreResult<()> {
        let corrupt = |e: String| crate::StoreError::Corrupt(format!("log entry {seq}: {e}"));
        if let domain::audit::LogEvent::Admin(event) =
            domain::audit::LogEvent::from_body(kind, body.as_bytes())
                .map_err(|e| corrupt(e.to_string()))?
        {
            self.apply(&event).map_err(|e| corrupt(e.to_string()))?;
        }
        Ok(())
    }

    /// Folds one admin event. Fails only when the event cannot take effect (a policy naming an
    /// unknown time zone), in which case the registry is unchanged.
    pub fn apply(&mut self, event: &AdminEvent) -> Result<(), DomainError> {
        match event {
            AdminEvent::UnitCreated { unit } | AdminEvent::UnitUpdated { unit } => {
                self.units.insert(unit.id.clone(), unit.clone());
            }
            AdminEvent::UserCreated {
                user,
                awaiting_approval,
            }
            | AdminEvent::UserUpdated {
                user,
                awaiting_approval,
            } => {
                self.users.insert(user.id.clone(), user.clone());
                if awaiting_approval.is_empty() {
                    self.awaiting_approval.remove(&user.id);
                } else {
                    self.awaiting_approval
                        .insert(user.id.clone(), awaiting_approval.clone());
                }
            }
            AdminEvent::RolesDecided {
                user,
                roles,
                approved,
            } => {
                self.awaiting_approval.remove(user);
                if *approved && let Some(account) = self.users.get_mut(user) {
                    account.roles.extend(roles.iter().copied());
                }
            }
            AdminEvent::TaxonomyImported { taxonomy } => {
                let new: BTreeMap<_, _> = taxonomy
                    .categories
                    .iter()
                    .map(|c| (c.code.clone(), c.clone()))
                    .collect();
                let old = std::mem::replace(&mut self.categories, new);
                for (code, category) in old {
                    if !self.categories.contains_key(&code) {
                        self.retired_categories.insert(code, category);
                    }
                }
                for code in self.categories.keys() {
                    self.retired_categories.remove(code);
                }
                self.taxonomy_source = taxonomy.source.clone();
            }
            AdminEvent::CalendarImported { source, days } => {
                let mut merged: BTreeMap<_, _> = self
                    .calendar_days
                    .iter()
                    .map(|d| (d.date, d.clone()))
                    .collect();
                merged.extend(days.iter().map(|d| (d.date, d.clone())));
                let days: Vec<_> = merged.into_values().collect();
                self.rules = Rules::new(
                    self.rules.policy.clone(),
                    self.rules.calendar.zone().clone(),
                    &days,
                )?;
                self.calendar_days = days;
                self.calendar_source = source.clone();
            }
            AdminEvent::PolicySet { policy } => {
                self.rules = Rules::new(
                    policy.clone(),
                    zone(&policy.time_zone)?,
                    &self.calendar_days,
                )?;
            }
            AdminEvent::DivisionsRegistered { divisions, .. } => {
                self.divisions
                    .extend(divisions.iter().map(|d| (d.code.clone(), d.name.clone())));
            }
            AdminEvent::PasswordSet { .. }
            | AdminEvent::TokenIssued { .. }
            | AdminEvent::TokenRevoked { .. }
            | AdminEvent::DataExported { .. } => {}
        }
        Ok(())
    }

    /// A category's name, whether in force or retired.
    pub fn category_name(&self, code: &CategoryCode) -> Option<&str> {
        self.categories
            .get(code)
            .or_else(|| self.retired_categories.get(code))
            .map(|c| c.name.as_str())
    }

    /// `城乡建设 / 市政设施 / 道路维护`.
    pub fn category_path(&self, code: &CategoryCode) -> String {
        let mut parts = Vec::new();
        let mut cursor = Some(code.clone());
        while let Some(c) = cursor {
            if let Some(name) = self.category_name(&c) {
                parts.push(name.to_owned());
            }
            cursor = c.parent();
        }
        parts.reverse();
        parts.join(" / ")
    }

    pub fn division_name(&self, code: &DivisionCode) -> Option<&str> {
        self.divisions.get(code).map(String::as_str)
    }

    pub fn unit_name(&self, id: &UnitId) -> Option<&str> {
        self.units.get(id).map(|u| u.name.as_str())
    }
}

fn zone(name: &str) -> Result<TimeZone, DomainError> {
    TimeZone::get(name)
        .map_err(|e| DomainError::invalid("time_zone", format!("unknown time zone {name:?}: {e}")))
}

impl Directory for Registry {
    fn unit(&self, id: &UnitId) -> Option<&Unit> {
        self.units.get(id)
    }

    fn category(&self, code: &CategoryCode) -> Option<&Category> {
        self.categories.get(code)
    }

    fn knows_division(&self, code: &DivisionCode) -> bool {
        self.divisions.contains_key(code)
    }
}

impl AdminDirectory for Registry {
    fn user(&self, id: &UserId) -> Option<&User> {
        self.users.get(id)
    }

    fn awaiting_approval(&self, id: &UserId) -> &[domain::org::Role] {
        self.awaiting_approval.get(id).map_or(&[], Vec::as_slice)
    }
}
