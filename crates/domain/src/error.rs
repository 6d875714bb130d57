//! What rule was broken. Every message names what was tried and what would make it work.

use crate::ids::TicketNo;
use crate::org::Actor;
use crate::permission::Action;
use crate::ticket::Status;

/// A value from outside that does not have the required form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: {rule}")]
pub struct ParseError {
    pub what: &'static str,
    pub input: String,
    pub rule: String,
}

impl ParseError {
    pub fn new(what: &'static str, input: impl Into<String>, rule: impl Into<String>) -> Self {
        let mut input = input.into();
        if input.chars().count() > 60 {
            input = input.chars().take(60).collect::<String>() + "…";
        }
        Self {
            what,
            input,
            rule: rule.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Parse(#[from] ParseError),

    /// Input that parses but breaks a rule (empty reason, unknown unit…).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },

    /// The actor may not do this.
    #[error("{actor} may not {action}: {why}")]
    NotPermitted {
        actor: String,
        action: Action,
        why: String,
    },

    /// The ticket's status does not allow this action now.
    #[error("cannot {action} ticket {no}: it is {status}; {needs}")]
    WrongState {
        no: TicketNo,
        action: Action,
        status: Status,
        needs: String,
    },

    #[error("ticket {0} does not exist")]
    UnknownTicket(TicketNo),

    /// The thing exists already (a user name, a unit code).
    #[error("{0}")]
    Conflict(String),
}

impl DomainError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn not_permitted(actor: &Actor, action: Action, why: impl Into<String>) -> Self {
        Self::NotPermitted {
            actor: actor.describe(),
            action,
            why: why.into(),
        }
    }

    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Parse(_) | Self::Invalid { .. } => "invalid_input",
            Self::NotPermitted { .. } => "not_permitted",
            Self::WrongState { .. } => "wrong_state",
            Self::UnknownTicket(_) => "ticket_not_found",
            Self::Conflict(_) => "conflict",
        }
    }
}
