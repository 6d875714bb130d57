//! The access trail (查阅留痕): every look at what identifies a citizen leaves an entry in the same
//! hash-chained log as every change — a ticket's detail, timeline or photo, a page of tickets
//! with their descriptions, a caller's history, an export, a refused reveal or lookup — with who
//! looked, in which roles and for which organisation, and in what context. Reveals themselves are
//! ticket events (`ticket.contact_revealed`). The trail is what the supervisor's privacy page
//! reads, and what makes "who looked at this ticket?" answerable.

mod report;

use serde::{Deserialize, Serialize};

use crate::ids::TicketNo;
use crate::org::{Actor, Affiliation, Role};
use crate::ticket::{Status, Ticket};

pub use report::{Flag, PersonDay, PrivacyReport, privacy_report};

/// One look, as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum AccessEvent {
    /// A ticket's detail, timeline or photo was read.
    #[serde(rename = "access.ticket_read")]
    TicketRead {
        ticket: TicketNo,
        part: ReadPart,
        seat: Seat,
        /// Whether the ticket was in the reader's own work when read (see [`in_queue`]).
        in_queue: bool,
    },
    /// A page of tickets carrying their descriptions was read (a queue, a list, an API page).
    #[serde(rename = "access.tickets_listed")]
    TicketsListed {
        tickets: Vec<TicketNo>,
        /// Which list, and its filter, as the reader asked for it.
        listing: String,
        seat: Seat,
    },
    /// A caller's earlier tickets were looked up by their number.
    #[serde(rename = "access.caller_looked_up")]
    CallerLookedUp {
        /// The keyed index of the number (hex), never the number.
        phone_index: String,
        context: LookupContext,
        /// The tickets shown (confidential ones the reader may not reveal only counted).
        tickets: Vec<TicketNo>,
        seat: Seat,
    },
    /// A lookup was refused: the reader's budget was spent, or the context did not allow it.
    #[serde(rename = "access.lookup_refused")]
    LookupRefused {
        phone_index: String,
        context: LookupContext,
        refusal: LookupRefusal,
        seat: Seat,
    },
    /// A reveal of a ticket's contact was asked for and refused.
    #[serde(rename = "access.reveal_refused")]
    RevealRefused {
        ticket: TicketNo,
        reason: String,
        why: String,
        seat: Seat,
    },
    /// A login failed: the name as typed and the address it came from (logged by the server,
    /// `system:login`; shown to administrators).
    #[serde(rename = "access.login_failed")]
    LoginFailed { username: String, address: String },
}

impl AccessEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TicketRead { .. } => "access.ticket_read",
            Self::TicketsListed { .. } => "access.tickets_listed",
            Self::CallerLookedUp { .. } => "access.caller_looked_up",
            Self::LookupRefused { .. } => "access.lookup_refused",
            Self::RevealRefused { .. } => "access.reveal_refused",
            Self::LoginFailed { .. } => "access.login_failed",
        }
    }

    /// The tickets this look showed, for the index by ticket.
    pub fn tickets(&self) -> Vec<TicketNo> {
        match self {
            Self::TicketRead { ticket, .. } => vec![*ticket],
            Self::TicketsListed { tickets, .. } | Self::CallerLookedUp { tickets, .. } => {
                tickets.clone()
            }
            Self::RevealRefused { ticket, .. } => vec![*ticket],
            Self::LookupRefused { .. } | Self::LoginFailed { .. } => Vec::new(),
        }
    }

    /// The roles and organisation of the person who looked (none for a failed login).
    pub fn seat(&self) -> Option<&Seat> {
        match self {
            Self::TicketRead { seat, .. }
            | Self::TicketsListed { seat, .. }
            | Self::CallerLookedUp { seat, .. }
            | Self::LookupRefused { seat, .. }
            | Self::RevealRefused { seat, .. } => Some(seat),
            Self::LoginFailed { .. } => None,
        }
    }
}

/// The kinds of [`AccessEvent`], for queries that select them.
pub const ACCESS_KINDS: [&str; 6] = [
    "access.ticket_read",
    "access.tickets_listed",
    "access.caller_looked_up",
    "access.lookup_refused",
    "access.reveal_refused",
    "access.login_failed",
];

/// Why a caller lookup was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupRefusal {
    /// The reader's lookups of the last hour reached the budget.
    BudgetSpent { per_hour: u32 },
    /// The intake already looked up another number.
    AnotherNumberInIntake,
}

impl std::fmt::Display for LookupRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BudgetSpent { per_hour } => write!(
                f,
                "the budget of {per_hour} caller lookups an hour is spent; the refusal is recorded and shown to the supervisor"
            ),
            Self::AnotherNumberInIntake => f.write_str(
                "this intake already looked up another number: an intake is one caller, start a new intake for the next call",
            ),
        }
    }
}

/// Which part of a ticket was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadPart {
    Detail,
    Timeline,
    Photo,
}

/// The roles and organisation a reader acted in when they looked: kept with the look, since both
/// can change later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub roles: Vec<Role>,
    pub affiliation: Affiliation,
}

impl Seat {
    pub fn of(actor: &Actor) -> Self {
        Self {
            roles: actor.roles.iter().copied().collect(),
            affiliation: actor.affiliation.clone(),
        }
    }
}

/// Why a caller's history was looked up: the intake being handled (受理) that the number was
/// typed into.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LookupContext {
    Intake { intake: String },
}

/// Decides a caller lookup against the same person's lookups of the last hour (`recent`, oldest
/// first): within the budget and true to its intake it stands; otherwise it becomes the recorded
/// refusal. An intake is one caller: a second number typed into the same intake is refused, so
/// trying numbers one after another needs a new intake each time, and each counts.
pub fn decide_lookup(event: AccessEvent, recent: &[AccessEvent], per_hour: u32) -> AccessEvent {
    let AccessEvent::CallerLookedUp {
        phone_index,
        context,
        seat,
        ..
    } = &event
    else {
        return event;
    };
    let refuse = |refusal| AccessEvent::LookupRefused {
        phone_index: phone_index.clone(),
        context: context.clone(),
        refusal,
        seat: seat.clone(),
    };
    let done: Vec<(&LookupContext, &String)> = recent
        .iter()
        .filter_map(|e| match e {
            AccessEvent::CallerLookedUp {
                context,
                phone_index,
                ..
            } => Some((context, phone_index)),
            _ => None,
        })
        .collect();
    if done.len() >= per_hour as usize {
        return refuse(LookupRefusal::BudgetSpent { per_hour });
    }
    if done
        .iter()
        .any(|(c, index)| *c == context && *index != phone_index)
    {
        return refuse(LookupRefusal::AnotherNumberInIntake);
    }
    event
}

/// Whether a ticket is in the reader's own work: what each role reads in the ordinary course.
/// A read outside it is allowed (the permission table decides that) but flagged for the
/// supervisor.
pub fn in_queue(actor: &Actor, ticket: &Ticket) -> bool {
    actor.roles.iter().any(|role| match role {
        Role::Operator => actor.id.to_string() == ticket.received_by,
        Role::Dispatcher => !ticket.status.is_terminal(),
        Role::UnitHandler | Role::UnitManager => actor
            .affiliation
            .unit()
            .is_some_and(|unit| ticket.involves_unit(unit)),
        Role::FollowUpAgent => ticket.status == Status::Replied,
        Role::QualityInspector | Role::Supervisor => true,
        Role::Admin | Role::ChannelClient | Role::CallSystem => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::tests::fixture::*;

    #[test]
    fn a_look_names_its_tickets_and_reads_back_from_its_kind() {
        let seat = Seat::of(&operator());
        let event = AccessEvent::CallerLookedUp {
            phone_index: "ab".repeat(32),
            context: LookupContext::Intake {
                intake: "i-1".into(),
            },
            tickets: vec![TicketNo::parse("26112600001").unwrap()],
            seat,
        };
        let body = serde_json::to_string(&event).unwrap();
        assert!(
            body.starts_with("{\"kind\":\"access.caller_looked_up\""),
            "{body}"
        );
        assert!(ACCESS_KINDS.contains(&event.kind()));
        assert_eq!(serde_json::from_str::<AccessEvent>(&body).unwrap(), event);
        assert_eq!(event.tickets().len(), 1);
    }

    fn lookup(intake: &str, number: char) -> AccessEvent {
        AccessEvent::CallerLookedUp {
            phone_index: number.to_string().repeat(64),
            context: LookupContext::Intake {
                intake: intake.into(),
            },
            tickets: vec![],
            seat: Seat::of(&operator()),
        }
    }

    #[test]
    fn lookups_past_the_budget_or_across_numbers_of_one_intake_are_refused() {
        let first = lookup("i-1", 'a');
        assert_eq!(decide_lookup(first.clone(), &[], 3), first);
        // The same number again in the same intake (the operator retyped it) is fine.
        assert_eq!(
            decide_lookup(first.clone(), std::slice::from_ref(&first), 3),
            first
        );
        let other_number = lookup("i-1", 'b');
        let AccessEvent::LookupRefused { refusal, .. } =
            decide_lookup(other_number, std::slice::from_ref(&first), 3)
        else {
            panic!("a second number in one intake must be refused")
        };
        assert_eq!(refusal, LookupRefusal::AnotherNumberInIntake);
        let spent = [lookup("i-1", 'a'), lookup("i-2", 'b'), lookup("i-3", 'c')];
        let AccessEvent::LookupRefused { refusal, .. } =
            decide_lookup(lookup("i-4", 'd'), &spent, 3)
        else {
            panic!("past the budget a lookup must be refused")
        };
        assert_eq!(refusal, LookupRefusal::BudgetSpent { per_hour: 3 });
        assert!(refusal.to_string().contains("budget of 3"));
        // Refusals do not use up the budget.
        let refused = decide_lookup(lookup("i-5", 'e'), &spent, 3);
        assert_eq!(
            decide_lookup(lookup("i-6", 'f'), &[refused], 3),
            lookup("i-6", 'f')
        );
    }

    #[test]
    fn each_role_has_its_own_queue() {
        let mut w = World::new();
        let no = w.receive();
        assert!(
            in_queue(&operator(), w.ticket(no)),
            "the operator who took it"
        );
        let other_operator = actor("op2", Role::Operator, Affiliation::Contractor);
        assert!(!in_queue(&other_operator, w.ticket(no)));
        assert!(in_queue(&dispatcher(), w.ticket(no)));
        assert!(!in_queue(&follow_up_agent(), w.ticket(no)));
        let no = w.replied();
        assert!(in_queue(&follow_up_agent(), w.ticket(no)));
        assert!(in_queue(&handler("roads"), w.ticket(no)));
        assert!(!in_queue(&handler("water"), w.ticket(no)));
    }
}
