//! Changes to the organisation and the rules: units, users, tokens, taxonomy, calendar, policy.
//! They are audited in the same log as tickets.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::CalendarDay;
use crate::category::Taxonomy;
use crate::division::Division;
use crate::error::DomainError;
use crate::ids::UserId;
use crate::org::{Actor, Affiliation, Role, Unit, User};
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
    /// An account made (its `roles` are in force), and the roles that see tickets an
    /// administrator asked for, which wait for a supervisor's approval.
    #[serde(rename = "user.created")]
    UserCreated {
        user: User,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        awaiting_approval: Vec<Role>,
    },
    #[serde(rename = "user.updated")]
    UserUpdated {
        user: User,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        awaiting_approval: Vec<Role>,
    },
    /// A supervisor approved (or refused) the roles awaiting approval.
    #[serde(rename = "user.roles_decided")]
    RolesDecided {
        user: UserId,
        roles: Vec<Role>,
        approved: bool,
    },
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
            Self::RolesDecided { .. } => "user.roles_decided",
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
    /// A supervisor decides the roles that wait for approval (审批).
    DecideRoles {
        user: UserId,
        approve: bool,
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
    /// Roles an administrator asked for that wait for a supervisor.
    fn awaiting_approval(&self, id: &UserId) -> &[Role];
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
            let mut user = user.clone();
            let awaiting_approval = hold_back_ticket_roles(actor, directory, &mut user);
            Ok(if creating {
                AdminEvent::UserCreated {
                    user,
                    awaiting_approval,
                }
            } else {
                AdminEvent::UserUpdated {
                    user,
                    awaiting_approval,
                }
            })
        }
        AdminCommand::DecideRoles { user, approve } => {
            require(actor, Action::ApproveRoles, None)?;
            if actor.user_id() == Some(user) {
                return Err(DomainError::not_permitted(
                    actor,
                    Action::ApproveRoles,
                    "no one approves roles for their own account",
                ));
            }
            known_user(directory, user)?;
            let roles = directory.awaiting_approval(user).to_vec();
            if roles.is_empty() {
                return Err(DomainError::invalid(
                    "user",
                    format!("user {user} has no roles waiting for approval"),
                ));
            }
            Ok(AdminEvent::RolesDecided {
                user: user.clone(),
                roles,
                approved: *approve,
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

/// No self-granted access (不得自行授权): a person administering accounts may give any account
/// — their own, or one they create — a role that sees tickets only with a supervisor's approval.
/// Such roles are taken out of `user` and returned, to wait. Roles the account already had, and
/// roles that see no tickets, take effect at once. The server's console (a system actor, run by
/// whoever holds the installation) grants directly; every grant is in the log either way.
fn hold_back_ticket_roles(
    actor: &Actor,
    directory: &dyn AdminDirectory,
    user: &mut User,
) -> Vec<Role> {
    if actor.user_id().is_none() {
        return Vec::new();
    }
    let before = directory
        .user(&user.id)
        .map(|u| u.roles.clone())
        .unwrap_or_default();
    let held: Vec<Role> = user
        .roles
        .iter()
        .copied()
        .filter(|role| crate::permission::sees_tickets(*role) && !before.contains(role))
        .collect();
    user.roles.retain(|role| !held.contains(role));
    held
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::category::Category;
    use crate::ids::{CategoryCode, DivisionCode, UnitId};
    use crate::ticket::tests::fixture::{actor, supervisor};

    #[derive(Default)]
    struct People {
        users: BTreeMap<UserId, User>,
        awaiting: BTreeMap<UserId, Vec<Role>>,
    }

    impl Directory for People {
        fn unit(&self, _: &UnitId) -> Option<&Unit> {
            None
        }
        fn category(&self, _: &CategoryCode) -> Option<&Category> {
            None
        }
        fn knows_division(&self, _: &DivisionCode) -> bool {
            false
        }
    }

    impl AdminDirectory for People {
        fn user(&self, id: &UserId) -> Option<&User> {
            self.users.get(id)
        }
        fn awaiting_approval(&self, id: &UserId) -> &[Role] {
            self.awaiting.get(id).map_or(&[], Vec::as_slice)
        }
    }

    impl People {
        /// Folds an event the way the registry does.
        fn fold(&mut self, event: AdminEvent) {
            match event {
                AdminEvent::UserCreated {
                    user,
                    awaiting_approval,
                }
                | AdminEvent::UserUpdated {
                    user,
                    awaiting_approval,
                } => {
                    self.awaiting.insert(user.id.clone(), awaiting_approval);
                    self.users.insert(user.id.clone(), user);
                }
                AdminEvent::RolesDecided {
                    user,
                    roles,
                    approved,
                } => {
                    self.awaiting.remove(&user);
                    if approved && let Some(u) = self.users.get_mut(&user) {
                        u.roles.extend(roles);
                    }
                }
                _ => {}
            }
        }
    }

    fn account(id: &str, roles: &[Role]) -> User {
        User {
            id: UserId::parse(id).unwrap(),
            display_name: id.to_owned(),
            affiliation: Affiliation::Centre,
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            active: true,
        }
    }

    #[test]
    fn no_one_grants_ticket_roles_without_a_supervisor_and_not_to_themselves() {
        let rules = Rules::new(Policy::default(), jiff::tz::TimeZone::UTC, &[]).unwrap();
        let mut people = People::default();
        let admin = actor("admin", Role::Admin, Affiliation::Centre);
        let run = |people: &People, who: &Actor, command: AdminCommand| {
            decide_admin(who, &rules, people, &command)
        };
        people.fold(AdminEvent::UserCreated {
            user: account("admin", &[Role::Admin]),
            awaiting_approval: vec![],
        });

        // A new operator: the account exists, the ticket-seeing role waits.
        let created = run(
            &people,
            &admin,
            AdminCommand::CreateUser(account("li.na", &[Role::Operator])),
        )
        .unwrap();
        let AdminEvent::UserCreated {
            user,
            awaiting_approval,
        } = &created
        else {
            panic!("{created:?}")
        };
        assert!(user.roles.is_empty());
        assert_eq!(awaiting_approval, &[Role::Operator]);
        people.fold(created);

        // Making oneself a supervisor waits too; a role that sees no tickets does not.
        let raised = run(
            &people,
            &admin,
            AdminCommand::UpdateUser(account("admin", &[Role::Admin, Role::Supervisor])),
        )
        .unwrap();
        assert!(
            matches!(&raised, AdminEvent::UserUpdated { user, awaiting_approval }
            if user.roles == BTreeSet::from([Role::Admin]) && awaiting_approval == &[Role::Supervisor])
        );
        people.fold(raised);

        // Only a supervisor decides, never on their own account.
        assert!(
            run(
                &people,
                &admin,
                AdminCommand::DecideRoles {
                    user: UserId::parse("li.na").unwrap(),
                    approve: true
                }
            )
            .is_err()
        );
        let boss = supervisor();
        let own = run(
            &people,
            &boss,
            AdminCommand::DecideRoles {
                user: UserId::parse("sup").unwrap(),
                approve: true,
            },
        );
        assert!(own.unwrap_err().to_string().contains("their own account"));
        let approved = run(
            &people,
            &boss,
            AdminCommand::DecideRoles {
                user: UserId::parse("li.na").unwrap(),
                approve: true,
            },
        )
        .unwrap();
        people.fold(approved);
        assert!(
            people.users[&UserId::parse("li.na").unwrap()]
                .roles
                .contains(&Role::Operator)
        );
        // Approved roles are the account's own now: saving them again needs no approval.
        let saved = run(
            &people,
            &admin,
            AdminCommand::UpdateUser(account("li.na", &[Role::Operator])),
        )
        .unwrap();
        assert!(
            matches!(saved, AdminEvent::UserUpdated { awaiting_approval, .. } if awaiting_approval.is_empty())
        );

        // The server's console grants directly (it is the installation itself).
        let console = Actor::system("cli");
        let direct = run(
            &people,
            &console,
            AdminCommand::CreateUser(account("wang.wu", &[Role::Dispatcher])),
        )
        .unwrap();
        assert!(
            matches!(direct, AdminEvent::UserCreated { user, awaiting_approval }
            if user.roles.contains(&Role::Dispatcher) && awaiting_approval.is_empty())
        );
    }
}
