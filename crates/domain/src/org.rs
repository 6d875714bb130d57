//! The organisation: handling units in a tree, and the people who act.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{CategoryCode, DivisionCode, UnitId, UserId};

/// Handling unit (承办单位): a government body that receives dispatched tickets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unit {
    pub id: UnitId,
    pub name: String,
    pub kind: UnitKind,
    pub parent: Option<UnitId>,
    /// Jurisdiction (管辖范围): the divisions this unit is responsible for.
    pub jurisdiction: Vec<DivisionCode>,
    /// The categories this unit handles: its entries in the dispatch catalogue (派单目录).
    pub categories: Vec<CategoryCode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 市 — the city government itself.
    City,
    /// 区/县.
    District,
    /// 街道/乡镇.
    Street,
    /// 社区/村.
    Community,
    /// 职能部门: a functional department (city or district level).
    Department,
    /// 公共服务企业: water, power, gas, heating, telecoms, transport.
    Utility,
}

crate::names::names!(UnitKind, "unit kind" {
    City => "city",
    District => "district",
    Street => "street",
    Community => "community",
    Department => "department",
    Utility => "utility",
});

impl UnitKind {
    pub fn zh(self) -> &'static str {
        match self {
            Self::City => "市",
            Self::District => "区县",
            Self::Street => "街道乡镇",
            Self::Community => "社区村",
            Self::Department => "职能部门",
            Self::Utility => "公共服务企业",
        }
    }

    /// The kinds a unit of this kind may sit under.
    fn allowed_parents(self) -> &'static [UnitKind] {
        match self {
            Self::City => &[],
            Self::District => &[Self::City],
            Self::Street => &[Self::District],
            Self::Community => &[Self::Street],
            Self::Department | Self::Utility => &[Self::City, Self::District],
        }
    }
}

impl Unit {
    /// Checks the unit's own shape and its place under `parent`.
    pub fn check(&self, parent: Option<&Unit>) -> Result<(), DomainError> {
        if self.name.trim().is_empty() {
            return Err(DomainError::invalid("name", "a unit needs a name"));
        }
        let allowed = self.kind.allowed_parents();
        match (parent, allowed.is_empty()) {
            (None, true) => Ok(()),
            (Some(p), false) if allowed.contains(&p.kind) => Ok(()),
            (None, false) => Err(DomainError::invalid(
                "parent",
                format!("a {:?} unit must sit under one of {allowed:?}", self.kind),
            )),
            (Some(p), _) => Err(DomainError::invalid(
                "parent",
                format!(
                    "a {:?} unit cannot sit under {} ({:?})",
                    self.kind, p.id, p.kind
                ),
            )),
        }
    }

    pub fn handles(&self, category: &CategoryCode) -> bool {
        self.categories
            .iter()
            .any(|c| category.as_str().starts_with(c.as_str()))
    }

    pub fn covers(&self, division: &DivisionCode) -> bool {
        self.jurisdiction.iter().any(|d| division.is_within(d))
    }
}

/// Where a person works: the government hotline centre (12345 中心), the outsourced call-centre
/// contractor (话务外包服务商), or a handling unit; or, for a system rather than a person, an
/// outside channel (渠道接入方) that submits citizens' requests through Open311.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "unit", rename_all = "snake_case")]
pub enum Affiliation {
    Centre,
    Contractor,
    Unit(UnitId),
    /// An app, mini-program or partner system holding an Open311 API key.
    Channel,
}

impl Affiliation {
    /// `centre`, `contractor`, `channel` or `unit:<unit id>`, as typed in forms and commands.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        match text.trim() {
            "centre" => Ok(Self::Centre),
            "contractor" => Ok(Self::Contractor),
            "channel" => Ok(Self::Channel),
            other => match other.strip_prefix("unit:") {
                Some(id) => Ok(Self::Unit(UnitId::parse(id.trim())?)),
                None => Err(DomainError::invalid(
                    "affiliation",
                    "write centre, contractor, channel or unit:<unit id>",
                )),
            },
        }
    }

    /// The form [`Affiliation::parse`] reads.
    pub fn code(&self) -> String {
        match self {
            Self::Centre => "centre".into(),
            Self::Contractor => "contractor".into(),
            Self::Channel => "channel".into(),
            Self::Unit(id) => format!("unit:{id}"),
        }
    }

    pub fn unit(&self) -> Option<&UnitId> {
        match self {
            Self::Unit(id) => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for Affiliation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Centre => f.write_str("the hotline centre"),
            Self::Contractor => f.write_str("the call-centre contractor"),
            Self::Unit(id) => write!(f, "unit {id}"),
            Self::Channel => f.write_str("an outside channel"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 话务员/坐席: takes calls and records requests.
    Operator,
    /// 派单员: routes tickets to units and arbitrates returns and extensions.
    Dispatcher,
    /// 承办人: signs, handles and replies for a unit.
    UnitHandler,
    /// 单位负责人: a unit's manager; all a handler can do, over the whole unit's load.
    UnitManager,
    /// 回访员: calls the citizen back.
    FollowUpAgent,
    /// 质检员: samples and scores calls and tickets.
    QualityInspector,
    /// 督办/监管: the government 12345 office.
    Supervisor,
    /// 系统管理员: units, users, categories, rules.
    Admin,
    /// 渠道接入方: an outside system that submits requests (Open311) and nothing else.
    ChannelClient,
    /// 话务系统: the call centre's ACD/CTI, which reports call events and nothing else.
    CallSystem,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::Operator,
        Role::Dispatcher,
        Role::UnitHandler,
        Role::UnitManager,
        Role::FollowUpAgent,
        Role::QualityInspector,
        Role::Supervisor,
        Role::Admin,
        Role::ChannelClient,
        Role::CallSystem,
    ];

    pub fn parse(text: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|r| r.as_str()).collect();
                DomainError::invalid(
                    "role",
                    format!("unknown role {text:?}; roles are {}", names.join(", ")),
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Dispatcher => "dispatcher",
            Self::UnitHandler => "unit_handler",
            Self::UnitManager => "unit_manager",
            Self::FollowUpAgent => "follow_up_agent",
            Self::QualityInspector => "quality_inspector",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::ChannelClient => "channel_client",
            Self::CallSystem => "call_system",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::Operator => "话务员",
            Self::Dispatcher => "派单员",
            Self::UnitHandler => "承办人",
            Self::UnitManager => "单位负责人",
            Self::FollowUpAgent => "回访员",
            Self::QualityInspector => "质检员",
            Self::Supervisor => "督办人员",
            Self::Admin => "系统管理员",
            Self::ChannelClient => "渠道接入方",
            Self::CallSystem => "话务系统",
        }
    }

    /// Which affiliations may hold this role. Handling may not be outsourced (国办函〔2025〕66号):
    /// the contractor's staff take calls, call back and inspect, never dispatch or supervise.
    fn allowed_for(self, affiliation: &Affiliation) -> bool {
        match self {
            Self::Operator | Self::FollowUpAgent | Self::QualityInspector => {
                matches!(affiliation, Affiliation::Centre | Affiliation::Contractor)
            }
            Self::Dispatcher | Self::Supervisor | Self::Admin => {
                matches!(affiliation, Affiliation::Centre)
            }
            Self::UnitHandler | Self::UnitManager => matches!(affiliation, Affiliation::Unit(_)),
            Self::ChannelClient => matches!(affiliation, Affiliation::Channel),
            // The ACD runs at the centre, or at the contractor that operates it.
            Self::CallSystem => {
                matches!(affiliation, Affiliation::Centre | Affiliation::Contractor)
            }
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person with a login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub display_name: String,
    pub affiliation: Affiliation,
    pub roles: BTreeSet<Role>,
    pub active: bool,
}

impl User {
    pub fn check(&self) -> Result<(), DomainError> {
        if self.display_name.trim().is_empty() {
            return Err(DomainError::invalid(
                "display_name",
                "a user needs a display name",
            ));
        }
        if self.roles.is_empty() {
            return Err(DomainError::invalid(
                "roles",
                "a user needs at least one role",
            ));
        }
        if let Some(role) = self
            .roles
            .iter()
            .find(|r| !r.allowed_for(&self.affiliation))
        {
            return Err(DomainError::invalid(
                "roles",
                format!(
                    "the role {role} cannot be held by staff of {}",
                    self.affiliation
                ),
            ));
        }
        Ok(())
    }

    pub fn actor(&self) -> Actor {
        Actor {
            id: ActorId::User(self.id.clone()),
            affiliation: self.affiliation.clone(),
            roles: self.roles.clone(),
        }
    }
}

/// Who is acting: extracted once (from a token, a session or the CLI) and passed to every use
/// case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: ActorId,
    pub affiliation: Affiliation,
    pub roles: BTreeSet<Role>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActorId {
    User(UserId),
    /// A process acting on its own authority: `cli` for an administrator at the server's console,
    /// `demo` for the simulator building a demo city.
    System(&'static str),
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => f.write_str(id.as_str()),
            Self::System(name) => write!(f, "system:{name}"),
        }
    }
}

impl Actor {
    /// The console administrator: may run admin commands, touches no tickets.
    pub fn system(name: &'static str) -> Self {
        Self {
            id: ActorId::System(name),
            affiliation: Affiliation::Centre,
            roles: BTreeSet::from([Role::Admin]),
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn user_id(&self) -> Option<&UserId> {
        match &self.id {
            ActorId::User(id) => Some(id),
            ActorId::System(_) => None,
        }
    }

    pub fn describe(&self) -> String {
        let roles: Vec<_> = self.roles.iter().map(|r| r.as_str()).collect();
        format!("{} ({} at {})", self.id, roles.join("+"), self.affiliation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, kind: UnitKind) -> Unit {
        Unit {
            id: UnitId::parse(id).unwrap(),
            name: id.to_owned(),
            kind,
            parent: None,
            jurisdiction: vec![],
            categories: vec![],
        }
    }

    #[test]
    fn the_unit_tree_has_a_fixed_shape() {
        let city = unit("city", UnitKind::City);
        let district = unit("d1", UnitKind::District);
        let street = unit("s1", UnitKind::Street);
        assert!(city.check(None).is_ok());
        assert!(district.check(Some(&city)).is_ok());
        assert!(street.check(Some(&district)).is_ok());
        assert!(street.check(Some(&city)).is_err());
        assert!(district.check(None).is_err());
        assert!(
            unit("dept", UnitKind::Department)
                .check(Some(&district))
                .is_ok()
        );
        assert!(unit("c1", UnitKind::Community).check(Some(&street)).is_ok());
    }

    #[test]
    fn handling_cannot_be_outsourced() {
        let user = |affiliation, role| User {
            id: UserId::parse("someone").unwrap(),
            display_name: "某人".into(),
            affiliation,
            roles: BTreeSet::from([role]),
            active: true,
        };
        assert!(
            user(Affiliation::Contractor, Role::Operator)
                .check()
                .is_ok()
        );
        assert!(
            user(Affiliation::Contractor, Role::Dispatcher)
                .check()
                .is_err()
        );
        assert!(
            user(Affiliation::Centre, Role::UnitHandler)
                .check()
                .is_err()
        );
        let unit = Affiliation::Unit(UnitId::parse("d1").unwrap());
        assert!(user(unit.clone(), Role::UnitHandler).check().is_ok());
        assert!(user(unit, Role::Operator).check().is_err());
    }

    #[test]
    fn units_handle_subcategories_of_their_catalogue_entries() {
        let mut u = unit("d1", UnitKind::Department);
        u.categories = vec![CategoryCode::parse("0101").unwrap()];
        u.jurisdiction = vec![DivisionCode::parse("990101").unwrap()];
        assert!(u.handles(&CategoryCode::parse("010102").unwrap()));
        assert!(!u.handles(&CategoryCode::parse("010201").unwrap()));
        assert!(u.covers(&DivisionCode::parse("990101003").unwrap()));
        assert!(!u.covers(&DivisionCode::parse("990102").unwrap()));
    }
}
