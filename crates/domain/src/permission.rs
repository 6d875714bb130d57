//! Who may do what: role × action × the actor's relation to the ticket. One table, used by the
//! API, the web pages, the CLI and background jobs alike.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::org::{Actor, Affiliation, Role};
use crate::ticket::Ticket;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Receive,
    AnswerOnCall,
    Dispatch,
    Sign,
    RequestReturn,
    DecideReturn,
    RequestExtension,
    DecideExtension,
    Urge,
    Supervise,
    Reply,
    RecordFollowUp,
    Merge,
    HandOff,
    AddNote,
    RevealContact,
    ViewTicket,
    /// Listing a caller's earlier tickets by phone number: only while taking a call.
    SearchCallerHistory,
    ViewKpi,
    ViewAudit,
    /// Reading the access trail: who looked at what (the privacy page).
    ViewAccessTrail,
    /// Approving roles that see tickets, which an administrator asked for (审批授权).
    ApproveRoles,
    Export,
    ManageOrganisation,
    ManageUsers,
    ManageRules,
    /// Reporting call events from the ACD/CTI.
    RecordCalls,
    /// Reading the call measures and calls (GB/T 33358).
    ViewCalls,
}

crate::names::names!(Action, "action" {
    Receive => "receive",
    AnswerOnCall => "answer_on_call",
    Dispatch => "dispatch",
    Sign => "sign",
    RequestReturn => "request_return",
    DecideReturn => "decide_return",
    RequestExtension => "request_extension",
    DecideExtension => "decide_extension",
    Urge => "urge",
    Supervise => "supervise",
    Reply => "reply",
    RecordFollowUp => "record_follow_up",
    Merge => "merge",
    HandOff => "hand_off",
    AddNote => "add_note",
    RevealContact => "reveal_contact",
    ViewTicket => "view_ticket",
    SearchCallerHistory => "search_caller_history",
    ViewKpi => "view_kpi",
    ViewAudit => "view_audit",
    ViewAccessTrail => "view_access_trail",
    ApproveRoles => "approve_roles",
    Export => "export",
    ManageOrganisation => "manage_organisation",
    ManageUsers => "manage_users",
    ManageRules => "manage_rules",
    RecordCalls => "record_calls",
    ViewCalls => "view_calls",
});

impl Action {
    /// The lifecycle actions taken on an existing ticket (the rest concern none, or create one).
    pub const ON_A_TICKET: [Action; 15] = [
        Self::AnswerOnCall,
        Self::Dispatch,
        Self::Sign,
        Self::RequestReturn,
        Self::DecideReturn,
        Self::RequestExtension,
        Self::DecideExtension,
        Self::Urge,
        Self::Supervise,
        Self::Reply,
        Self::RecordFollowUp,
        Self::Merge,
        Self::HandOff,
        Self::AddNote,
        Self::RevealContact,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Self::Receive => "record a new ticket (受理)",
            Self::AnswerOnCall => "answer on the call (直办)",
            Self::Dispatch => "dispatch (派单)",
            Self::Sign => "sign for the ticket (签收)",
            Self::RequestReturn => "request a return (退单)",
            Self::DecideReturn => "decide a return request",
            Self::RequestExtension => "request an extension (延期)",
            Self::DecideExtension => "decide an extension request",
            Self::Urge => "urge the unit (催办)",
            Self::Supervise => "put the ticket under supervision (督办)",
            Self::Reply => "reply (答复)",
            Self::RecordFollowUp => "record a follow-up call (回访)",
            Self::Merge => "merge tickets (并单)",
            Self::HandOff => "hand off to an emergency service",
            Self::AddNote => "add a note",
            Self::RevealContact => "reveal the citizen's contact",
            Self::ViewTicket => "view the ticket",
            Self::SearchCallerHistory => "look up a caller's earlier tickets",
            Self::ViewKpi => "view KPIs and rankings",
            Self::ViewAudit => "read the audit record",
            Self::ViewAccessTrail => "see who looked at citizens' data (the privacy page)",
            Self::ApproveRoles => "approve roles that see tickets",
            Self::Export => "export data",
            Self::ManageOrganisation => "manage units, categories and the calendar",
            Self::ManageUsers => "manage users and tokens",
            Self::ManageRules => "change deadlines and KPI weights",
            Self::RecordCalls => "report call events (the ACD/CTI)",
            Self::ViewCalls => "see the call measures and calls",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// How the actor stands to a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// Staff of the hotline centre or its contractor: the whole queue is theirs to see.
    Centre,
    /// Staff of the lead unit (主办) of the current assignment.
    LeadUnit,
    /// Staff of a co-unit (协办) of the current assignment.
    CoUnit,
    /// Staff of a unit the ticket is not with.
    OtherUnit,
    /// The action concerns no ticket.
    NoTicket,
}

pub fn relation(actor: &Actor, ticket: Option<&Ticket>) -> Relation {
    let Some(ticket) = ticket else {
        return Relation::NoTicket;
    };
    match &actor.affiliation {
        Affiliation::Centre | Affiliation::Contractor => Relation::Centre,
        // An outside channel submits requests; it is never a party to the handling.
        Affiliation::Channel => Relation::OtherUnit,
        Affiliation::Unit(unit) => match ticket.current() {
            Some(a) if &a.unit == unit => Relation::LeadUnit,
            Some(a) if a.co_units.contains(unit) => Relation::CoUnit,
            _ => Relation::OtherUnit,
        },
    }
}

/// The table. Actions on tickets need the right relation; the others do not look at it.
fn allows(role: Role, action: Action, relation: Relation) -> bool {
    use Action::*;
    use Relation::{CoUnit, LeadUnit};
    use Role::*;
    let centre = relation == Relation::Centre;
    match role {
        Operator => match action {
            Receive | AnswerOnCall | SearchCallerHistory => true,
            HandOff | ViewTicket | AddNote | RevealContact => centre,
            _ => false,
        },
        Dispatcher => match action {
            ViewKpi => true,
            Dispatch | DecideReturn | DecideExtension | Merge | HandOff | Urge | ViewTicket
            | AddNote | RevealContact => centre,
            _ => false,
        },
        UnitHandler | UnitManager => match action {
            Sign | RequestReturn | RequestExtension | Reply | RevealContact => relation == LeadUnit,
            ViewTicket | AddNote => matches!(relation, LeadUnit | CoUnit),
            ViewKpi => role == UnitManager,
            _ => false,
        },
        FollowUpAgent => match action {
            RecordFollowUp | ViewTicket | AddNote | RevealContact => centre,
            _ => false,
        },
        QualityInspector => match action {
            ViewKpi | ViewCalls => true,
            ViewTicket | AddNote => centre,
            _ => false,
        },
        Supervisor => match action {
            ViewKpi | ViewCalls | ViewAudit | ViewAccessTrail | ApproveRoles | Export => true,
            Urge | Supervise | ViewTicket | AddNote | RevealContact => centre,
            _ => false,
        },
        Admin => matches!(
            action,
            ManageOrganisation | ManageUsers | ManageRules | ViewAudit
        ),
        ChannelClient => action == Receive,
        CallSystem => action == RecordCalls,
    }
}

/// Whether the role sees tickets at all (and so sees what citizens asked).
pub fn sees_tickets(role: Role) -> bool {
    [Relation::Centre, Relation::LeadUnit, Relation::CoUnit]
        .into_iter()
        .any(|r| allows(role, Action::ViewTicket, r))
}

/// Whether any of the actor's roles allows `action` on some ticket: for deciding which screens
/// and queues to show. Each ticket is still checked with [`require`].
pub fn may_ever(actor: &Actor, action: Action) -> bool {
    actor.roles.iter().any(|&role| {
        [
            Relation::Centre,
            Relation::LeadUnit,
            Relation::CoUnit,
            Relation::NoTicket,
        ]
        .into_iter()
        .any(|r| allows(role, action, r))
    })
}

/// Refuses unless one of the actor's roles allows `action` on `ticket`. The error names the actor,
/// the action and what would have allowed it.
pub fn require(actor: &Actor, action: Action, ticket: Option<&Ticket>) -> Result<(), DomainError> {
    let relation = relation(actor, ticket);
    if actor
        .roles
        .iter()
        .any(|&role| allows(role, action, relation))
    {
        if action == Action::RevealContact
            && let Some(ticket) = ticket
            && ticket.request.confidential
            && actor.affiliation.unit().is_some()
        {
            return Err(DomainError::not_permitted(
                actor,
                action,
                format!(
                    "ticket {} is confidential (保密): its citizen is never shown to a handling unit",
                    ticket.no
                ),
            ));
        }
        return Ok(());
    }
    let could_with_relation = actor.roles.iter().any(|&role| {
        [Relation::Centre, Relation::LeadUnit, Relation::CoUnit]
            .into_iter()
            .any(|r| allows(role, action, r))
    });
    let why = match (could_with_relation, ticket) {
        // Which unit has it is not said: that too is for the centre and the units involved.
        (true, Some(ticket)) => format!("ticket {} is not with your unit", ticket.no),
        _ => {
            let roles: Vec<_> = Role::ALL
                .into_iter()
                .filter(|&role| {
                    [Relation::Centre, Relation::LeadUnit, Relation::NoTicket]
                        .into_iter()
                        .any(|r| allows(role, action, r))
                })
                .map(|r| r.as_str())
                .collect();
            format!("it needs the role {}", roles.join(" or "))
        }
    };
    Err(DomainError::not_permitted(actor, action, why))
}

/// Why a contact is revealed (查看事由): one of a short list, with free text besides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RevealPurpose {
    /// 联系市民核实情况: to call the citizen about the problem.
    ContactCitizen,
    /// 回访: the follow-up call.
    FollowUpCall,
    /// 补充诉求信息: details of the request the citizen must add.
    ClarifyRequest,
    /// 督办核查: a supervisor checks how the ticket was handled.
    SupervisionCheck,
    /// 其他: the free text says what.
    Other,
}

impl RevealPurpose {
    pub const ALL: [RevealPurpose; 5] = [
        Self::ContactCitizen,
        Self::FollowUpCall,
        Self::ClarifyRequest,
        Self::SupervisionCheck,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContactCitizen => "contact_citizen",
            Self::FollowUpCall => "follow_up_call",
            Self::ClarifyRequest => "clarify_request",
            Self::SupervisionCheck => "supervision_check",
            Self::Other => "other",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::ContactCitizen => "联系市民核实情况",
            Self::FollowUpCall => "回访",
            Self::ClarifyRequest => "补充诉求信息",
            Self::SupervisionCheck => "督办核查",
            Self::Other => "其他",
        }
    }
}

impl std::str::FromStr for RevealPurpose {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == text.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|p| p.as_str()).collect();
                DomainError::invalid(
                    "purpose",
                    format!("say why from the list: {}", names.join(", ")),
                )
            })
    }
}

/// Reveal with need (按需查看): beyond the role and relation [`require`] checks, a contact is
/// revealed only where the role's work needs it now — a supervisor at any time, a dispatcher
/// while routing (待派单, 退单审核中), the operator who took the call within
/// `operator_reveal_hours` of it, a follow-up agent while the follow-up is due (待回访), the lead
/// unit while handling (待签收, 办理中, 退单审核中) and never on a confidential ticket.
pub fn may_reveal(
    actor: &Actor,
    ticket: &Ticket,
    now: jiff::Timestamp,
    privacy: &crate::policy::PrivacyPolicy,
) -> Result<(), DomainError> {
    require(actor, Action::RevealContact, Some(ticket))?;
    let relation = relation(actor, Some(ticket));
    let needed = |role: Role| -> bool {
        use crate::ticket::Status::*;
        allows(role, Action::RevealContact, relation)
            && match role {
                Role::Supervisor => true,
                Role::Dispatcher => matches!(ticket.status, PendingDispatch | ReturnRequested),
                Role::Operator => {
                    let window =
                        jiff::SignedDuration::from_hours(i64::from(privacy.operator_reveal_hours));
                    ticket.received_by == actor.id.to_string()
                        && now.duration_since(ticket.received_at) <= window
                }
                Role::FollowUpAgent => ticket.status == Replied,
                Role::UnitHandler | Role::UnitManager => {
                    matches!(ticket.status, Dispatched | InProgress | ReturnRequested)
                }
                _ => false,
            }
    };
    if actor.roles.iter().any(|&role| needed(role)) {
        return Ok(());
    }
    let why: Vec<String> = actor
        .roles
        .iter()
        .filter_map(|role| match role {
            Role::Dispatcher => {
                Some("a dispatcher reveals only while routing (待派单, 退单审核中)".to_owned())
            }
            Role::Operator => Some(format!(
                "an operator reveals only tickets they took, within {} hours",
                privacy.operator_reveal_hours
            )),
            Role::FollowUpAgent => Some(
                "a follow-up agent reveals only while the follow-up call is due (待回访)"
                    .to_owned(),
            ),
            Role::UnitHandler | Role::UnitManager => {
                Some("a unit reveals only while handling the ticket (待签收, 办理中)".to_owned())
            }
            _ => None,
        })
        .collect();
    Err(DomainError::not_permitted(
        actor,
        Action::RevealContact,
        format!(
            "ticket {} is {}, and {}",
            ticket.no,
            ticket.status.zh(),
            if why.is_empty() {
                "no role of yours needs its contact".to_owned()
            } else {
                why.join("; ")
            }
        ),
    ))
}

/// How much of a ticket's citizen contact the actor sees before any reveal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactVisibility {
    /// Nothing at all, not even that there is a contact (confidential tickets, unit staff).
    Hidden,
    /// `138****1234`, surname only.
    Masked,
}

pub fn contact_visibility(actor: &Actor, ticket: &Ticket) -> ContactVisibility {
    if ticket.request.confidential && actor.affiliation.unit().is_some() {
        ContactVisibility::Hidden
    } else {
        ContactVisibility::Masked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_allowed_to_someone() {
        let others = [
            Action::Receive,
            Action::ViewTicket,
            Action::SearchCallerHistory,
            Action::ViewKpi,
            Action::ViewAudit,
            Action::ViewAccessTrail,
            Action::ApproveRoles,
            Action::Export,
            Action::ManageOrganisation,
            Action::ManageUsers,
            Action::ManageRules,
        ];
        let actions: Vec<Action> = Action::ON_A_TICKET.into_iter().chain(others).collect();
        for action in actions {
            let anyone = Role::ALL.into_iter().any(|role| {
                [Relation::Centre, Relation::LeadUnit, Relation::NoTicket]
                    .into_iter()
                    .any(|r| allows(role, action, r))
            });
            assert!(anyone, "{action:?} is allowed to nobody");
        }
    }

    #[test]
    fn units_act_only_on_their_own_tickets_and_admins_touch_no_tickets() {
        assert!(allows(Role::UnitHandler, Action::Reply, Relation::LeadUnit));
        assert!(!allows(Role::UnitHandler, Action::Reply, Relation::CoUnit));
        assert!(allows(
            Role::UnitHandler,
            Action::ViewTicket,
            Relation::CoUnit
        ));
        assert!(!allows(
            Role::UnitHandler,
            Action::ViewTicket,
            Relation::OtherUnit
        ));
        assert!(!allows(Role::Admin, Action::ViewTicket, Relation::Centre));
        assert!(!allows(Role::Operator, Action::Dispatch, Relation::Centre));
    }

    #[test]
    fn an_outside_channel_submits_requests_and_sees_nothing() {
        let channel = Actor {
            id: crate::org::ActorId::System("open311-client"),
            affiliation: Affiliation::Channel,
            roles: [Role::ChannelClient].into_iter().collect(),
        };
        assert!(require(&channel, Action::Receive, None).is_ok());
        assert!(!may_ever(&channel, Action::ViewTicket));
        assert_eq!(relation(&channel, None), Relation::NoTicket);
        for action in Action::ON_A_TICKET {
            assert!(!may_ever(&channel, action), "{action:?}");
        }
    }
}
