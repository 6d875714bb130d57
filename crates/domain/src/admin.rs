//! Changes to the organisation and the rules: units, users, tokens, taxonomy, calendar, policy.
//! They are audited in the same log as tickets.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::CalendarDay;
use crate::category::Taxonomy;
use crate::division::Division;
use crate::error::DomainError;
use crate::ids::UserId;
use crate::org::{Actor, Affiliation, Unit, User};
use crate::permission::{Action, require};
use crate::policy::{Policy, Rules};
use crate::ticket::Directory;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum AdminEvent {
    #[serde(rename = "unit.created")]
    UnitCreated { unit: Unit },
    #[serde(rename = "unit.updated")]
    UnitUpdated { unit: Unit },
    #[serde(rename = "user.created")]
    UserCreated { user: User },
    #[serde(rename = "user.updated")]
    UserUpdated { user: User },
    /// The hash itself stays out of the log.
    #[serde(rename = "user.password_set")]
    PasswordSet { user: UserId },
    #[serde(rename = "token.issued")]
    TokenIssued {
        token_id: String,
        user: UserId,
        label: String,
        expires_at: Option<Timestamp>,
    },
    #[serde(rename = "token.revoked")]
    TokenRevoked { token_id: String, user: UserId },
    #[serde(rename = "taxonomy.imported")]
    TaxonomyImported { taxonomy: Taxonomy },
    #[serde(rename = "calendar.imported")]
    CalendarImported {
        source: String,
        days: Vec<CalendarDay>,
    },
    #[serde(rename = "policy.set")]
    PolicySet { policy: Policy },
    #[serde(rename = "divisions.registered")]
    DivisionsRegistered {
        source: String,
        divisions: Vec<Division>,
    },
    /// Someone took data out of the system.
    #[serde(rename = "data.exported")]
    DataExported {
        what: String,
        filter: String,
        rows: u64,
        with_contacts: bool,
        reason: String,
    },
}

impl AdminEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnitCreated { .. } => "unit.created",
            Self::UnitUpdated { .. } => "unit.updated",
            Self::UserCreated { .. } => "user.created",
            Self::UserUpdated { .. } => "user.updated",
            Self::PasswordSet { .. } => "user.password_set",
            Self::TokenIssued { .. } => "token.issued",
            Self::TokenRevoked { .. } => "token.revoked",
            Self::TaxonomyImported { .. } => "taxonomy.imported",
            Self::CalendarImported { .. } => "calendar.imported",
            Self::PolicySet { .. } => "policy.set",
            Self::DivisionsRegistered { .. } => "divisions.registered",
            Self::DataExported { .. } => "data.exported",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum AdminCommand {
    CreateUnit(Unit),
    UpdateUnit(Unit),
    CreateUser(User),
    UpdateUser(User),
    SetPassword {
        user: UserId,
    },
    IssueToken {
        token_id: String,
        user: UserId,
        label: String,
        expires_at: Option<Timestamp>,
    },
    RevokeToken {
        token_id: String,
        user: UserId,
    },
    ImportTaxonomy(Taxonomy),
    ImportCalendar {
        source: String,
        days: Vec<CalendarDay>,
    },
    SetPolicy(Policy),
    RegisterDivisions {
        source: String,
        divisions: Vec<Division>,
    },
    RecordExport {
        what: String,
        filter: String,
        rows: u64,
        with_contacts: bool,
        reason: String,
    },
}

/// Lookups admin decisions need besides the ticket directory.
pub trait AdminDirectory: Directory {
    fn user(&self, id: &UserId) -> Option<&User>;
}

pub fn decide_admin(
    actor: &Actor,
    rules: &Rules,
    directory: &dyn AdminDirectory,
    command: &AdminCommand,
) -> Result<AdminEvent, DomainError> {
    match command {
        AdminCommand::CreateUnit(unit) | AdminCommand::UpdateUnit(unit) => {
            require(actor, Action::ManageOrganisation, None)?;
            let creating = matches!(command, AdminCommand::CreateUnit(_));
            match (creating, directory.unit(&unit.id).is_some()) {
                (true, true) => {
                    return Err(DomainError::Conflict(format!(
                        "unit {} exists already",
                        unit.id
                    )));
                }
                (false, false) => {
                    return Err(DomainError::invalid(
                        "unit",
                        format!("unit {} does not exist", unit.id),
                    ));
                }
                _ => {}
            }
            if let Some(old) = directory.unit(&unit.id).filter(|old| old.kind != unit.kind) {
                return Err(DomainError::invalid(
                    "kind",
                    format!(
                        "unit {} is a {:?}; its kind cannot change",
                        unit.id, old.kind
                    ),
                ));
            }
            check_unit(directory, unit)?;
            let unit = unit.clone();
            Ok(if creating {
                AdminEvent::UnitCreated { unit }
            } else {
                AdminEvent::UnitUpdated { unit }
            })
        }
        AdminCommand::CreateUser(user) | AdminCommand::UpdateUser(user) => {
            require(actor, Action::ManageUsers, None)?;
            let creating = matches!(command, AdminCommand::CreateUser(_));
            match (creating, directory.user(&user.id).is_some()) {
                (true, true) => {
                    return Err(DomainError::Conflict(format!(
                        "user {} exists already",
                        user.id
                    )));
                }
                (false, false) => {
                    return Err(DomainError::invalid(
                        "user",
                        format!("user {} does not exist", user.id),
                    ));
                }
                _ => {}
            }
            user.check()?;
            if let Affiliation::Unit(unit) = &user.affiliation
                && directory.unit(unit).is_none()
            {
                return Err(DomainError::invalid(
                    "affiliation",
                    format!("unknown unit {unit}"),
                ));
            }
            let user = user.clone();
            Ok(if creating {
                AdminEvent::UserCreated { user }
            } else {
                AdminEvent::UserUpdated { user }
            })
        }
        AdminCommand::SetPassword { user } => {
            require_self_or(actor, user, Action::ManageUsers)?;
            known_user(directory, user)?;
            Ok(AdminEvent::PasswordSet { user: user.clone() })
        }
        AdminCommand::IssueToken {
            token_id,
            user,
            label,
            expires_at,
        } => {
            require_self_or(actor, user, Action::ManageUsers)?;
            if !known_user(directory, user)?.active {
                return Err(DomainError::invalid(
                    "user",
                    format!("user {user} is deactivated"),
                ));
            }
            Ok(AdminEvent::TokenIssued {
                token_id: token_id.clone(),
                user: user.clone(),
                label: label.trim().chars().take(100).collect(),
                expires_at: *expires_at,
            })
        }
        AdminCommand::RevokeToken { token_id, user } => {
            require_self_or(actor, user, Action::ManageUsers)?;
            Ok(AdminEvent::TokenRevoked {
                token_id: token_id.clone(),
                user: user.clone(),
            })
        }
        AdminCommand::ImportTaxonomy(taxonomy) => {
            require(actor, Action::ManageOrganisation, None)?;
            if taxonomy.categories.iter().all(|c| c.level() != 3) {
                return Err(DomainError::invalid(
                    "taxonomy",
                    "it has no level-3 categories to file tickets under",
                ));
            }
            Ok(AdminEvent::TaxonomyImported {
                taxonomy: taxonomy.clone(),
            })
        }
        AdminCommand::ImportCalendar { source, days } => {
            require(actor, Action::ManageOrganisation, None)?;
            if days.is_empty() {
                return Err(DomainError::invalid("calendar", "no days to import"));
            }
            Ok(AdminEvent::CalendarImported {
                source: source.clone(),
                days: days.clone(),
            })
        }
        AdminCommand::SetPolicy(policy) => {
            require(actor, Action::ManageRules, None)?;
            policy.check()?;
            if let Some(missing) = rules
                .policy
                .tiers
                .iter()
                .find(|t| policy.tier(&t.code).is_none())
            {
                return Err(DomainError::invalid(
                    "tiers",
                    format!(
                        "tier {} is missing; tickets may use it, so tiers can be changed but not removed",
                        missing.code
                    ),
                ));
            }
            Ok(AdminEvent::PolicySet {
                policy: policy.clone(),
            })
        }
        AdminCommand::RegisterDivisions { source, divisions } => {
            require(actor, Action::ManageOrganisation, None)?;
            if divisions.is_empty() {
                return Err(DomainError::invalid(
                    "divisions",
                    "no divisions to register",
                ));
            }
            Ok(AdminEvent::DivisionsRegistered {
                source: source.clone(),
                divisions: divisions.clone(),
            })
        }
        AdminCommand::RecordExport {
            what,
            filter,
            rows,
            with_contacts,
            reason,
        } => {
            require(actor, Action::Export, None)?;
            if *with_contacts && reason.trim().chars().count() < 4 {
                return Err(DomainError::invalid(
                    "reason",
                    "an export with contact details needs a reason; it is kept in the audit record",
                ));
            }
            Ok(AdminEvent::DataExported {
                what: what.clone(),
                filter: filter.clone(),
                rows: *rows,
                with_contacts: *with_contacts,
                reason: reason.trim().to_owned(),
            })
        }
    }
}

fn require_self_or(actor: &Actor, user: &UserId, action: Action) -> Result<(), DomainError> {
    if actor.user_id() == Some(user) {
        Ok(())
    } else {
        require(actor, action, None)
    }
}

fn known_user<'a>(
    directory: &'a dyn AdminDirectory,
    user: &UserId,
) -> Result<&'a User, DomainError> {
    directory
        .user(user)
        .ok_or_else(|| DomainError::invalid("user", format!("unknown user {user}")))
}

fn check_unit(directory: &dyn AdminDirectory, unit: &Unit) -> Result<(), DomainError> {
    let parent = match &unit.parent {
        Some(id) if id == &unit.id => {
            return Err(DomainError::invalid(
                "parent",
                "a unit cannot be its own parent",
            ));
        }
        Some(id) => Some(
            directory
                .unit(id)
                .ok_or_else(|| DomainError::invalid("parent", format!("unknown unit {id}")))?,
        ),
        None => None,
    };
    unit.check(parent)?;
    if let Some(d) = unit
        .jurisdiction
        .iter()
        .find(|d| !directory.knows_division(d))
    {
        return Err(DomainError::invalid(
            "jurisdiction",
            format!("division {d} is not registered; register the city's divisions first"),
        ));
    }
    if let Some(c) = unit
        .categories
        .iter()
        .find(|c| directory.category(c).is_none())
    {
        return Err(DomainError::invalid(
            "categories",
            format!("unknown category {c}"),
        ));
    }
    Ok(())
}
