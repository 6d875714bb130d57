use domain::DomainError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The command was refused by a domain rule; nothing was written.
    #[error(transparent)]
    Refused(#[from] DomainError),

    /// The database said no: a uniqueness or integrity constraint.
    #[error("{0}")]
    Conflict(String),

    /// The stored data contradicts itself (a projection that does not fold, an undecodable entry).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),

    /// The store cannot serve now: the writer has stopped, the database is read-only, or the
    /// database server cannot be reached. Trying again later may work.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),

    /// The writer's queue is full (this many commands are waiting): the command was not queued.
    /// Trying again in a moment works.
    #[error("the store is saturated: {0} commands are already waiting to be written")]
    Saturated(usize),

    #[error("database error: {0}")]
    Database(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, Some(message)) = &e
            && f.code == rusqlite::ErrorCode::ConstraintViolation
        {
            return Self::Conflict(message.clone());
        }
        Self::Database(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && (db.is_unique_violation()
                || db.is_foreign_key_violation()
                || db.is_check_violation())
        {
            return Self::Conflict(db.message().to_owned());
        }
        // Connection exceptions (class 08) and a server shutting down or restarting (class 57).
        let server_going = matches!(&e, sqlx::Error::Database(db)
            if db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57")));
        if server_going
            || matches!(
                e,
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
            )
        {
            return Self::Unavailable(format!("cannot reach the database ({e})"));
        }
        Self::Database(e.to_string())
    }
}
