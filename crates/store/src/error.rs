use domain::DomainError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The command was refused by a domain rule; nothing was written.
    #[error(transparent)]
    Refused(#[from] DomainError),

    /// The command clashes with what is stored; the message is ours, for a person.
    #[error("{0}")]
    Conflict(String),

    /// The database refused a write (a uniqueness or integrity constraint); the driver's text is
    /// for the log, never for a client.
    #[error("the database refused a write that clashes with a stored row: {0}")]
    Constraint(String),

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

/// What a caller hears when the database's disk is full: nothing was written, and writing
/// resumes by itself once there is room.
pub(crate) const DISK_FULL: &str = "the database's disk is full: nothing was saved; writes resume by themselves once space is freed";

impl StoreError {
    /// Whether this is the disk being full (refused now, fine once space returns).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::Unavailable(m) if m == DISK_FULL)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, message) = &e {
            match (f.code, message) {
                (rusqlite::ErrorCode::ConstraintViolation, Some(message)) => {
                    return Self::Constraint(message.clone());
                }
                (rusqlite::ErrorCode::DiskFull, _) => return Self::Unavailable(DISK_FULL.into()),
                _ => {}
            }
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
            return Self::Constraint(db.message().to_owned());
        }
        // Insufficient resources (class 53): 53100 is the server's disk being full.
        if let sqlx::Error::Database(db) = &e
            && db.code().is_some_and(|c| c == "53100")
        {
            return Self::Unavailable(DISK_FULL.into());
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
            tracing::warn!(error = %e, "cannot reach the database");
            return Self::Unavailable("cannot reach the database".into());
        }
        Self::Database(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_database_is_unavailable_for_now_not_an_internal_error() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        // A database that may not grow past a few pages fails the way a full disk does.
        conn.execute_batch("CREATE TABLE t (x BLOB); PRAGMA max_page_count = 3;")
            .unwrap();
        let error = (0..100)
            .find_map(|_| {
                conn.execute("INSERT INTO t VALUES (zeroblob(2000))", [])
                    .err()
            })
            .expect("the database fills up");
        let error = StoreError::from(error);
        assert!(error.is_disk_full(), "{error:?}");
        assert!(error.to_string().contains("resume by themselves"));
    }

    #[test]
    fn an_unreachable_server_is_unavailable_without_the_drivers_words() {
        let error = StoreError::from(sqlx::Error::PoolTimedOut);
        assert!(matches!(&error, StoreError::Unavailable(m) if m == "cannot reach the database"));
    }
}
