//! Errors of the use-case layer: a domain refusal, or a storage failure with context.

use domain::DomainError;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A rule refused the request; the message says which and what would work.
    #[error(transparent)]
    Refused(#[from] DomainError),

    #[error("{0}")]
    NotFound(String),

    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),

    #[error("{0}")]
    Conflict(String),

    /// The caller asked too often: a budget or a rate was spent. The refusal is recorded.
    #[error("{0}")]
    TooMany(String),

    /// The service cannot take the request now (shutting down, overloaded).
    #[error("{0}")]
    Unavailable(String),

    /// Something on our side failed; the message is for the log, not for the user.
    #[error("{0}")]
    Internal(String),
}

impl From<domain::ParseError> for AppError {
    fn from(e: domain::ParseError) -> Self {
        Self::Refused(e.into())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(d) => Self::Refused(d),
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::Constraint(detail) => {
                tracing::warn!(%detail, "the database refused a write");
                Self::Conflict(
                    "this clashes with something already recorded; reload the page and check before trying again"
                        .into(),
                )
            }
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Saturated(waiting) => Self::Unavailable(format!(
                "the server is busy ({waiting} changes are waiting to be saved); nothing was saved, try again in a moment"
            )),
            StoreError::Corrupt(_) | StoreError::Database(_) => Self::Internal(e.to_string()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drivers_words_never_reach_the_message_a_caller_gets() {
        let refused = AppError::from(StoreError::Constraint(
            "UNIQUE constraint failed: contacts.id".into(),
        ));
        let AppError::Conflict(message) = &refused else {
            panic!("{refused:?}");
        };
        assert!(
            !message.contains("UNIQUE") && !message.contains("contacts"),
            "{message}"
        );
    }
}
