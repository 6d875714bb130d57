//! Migrations for the SQLite backend. Released migrations are never edited: a change is a new one.

use rusqlite::Connection;

use crate::StoreError;
use crate::write::Rewrite;

/// One step of the schema's history.
enum Step {
    Sql(&'static str),
    /// Ticket projections written before times were kept at the log's resolution held the
    /// clock's nanoseconds; they are rewritten from the log once (see `domain::time`).
    ProjectionsAtLogResolution,
}

const MIGRATIONS: &[(i64, Step)] = &[
    (1, Step::Sql(include_str!("migrations/0001_initial.sql"))),
    (
        2,
        Step::Sql(include_str!("migrations/0002_log_by_time.sql")),
    ),
    (3, Step::Sql(include_str!("migrations/0003_outbox.sql"))),
    (4, Step::Sql(include_str!("migrations/0004_photos.sql"))),
    (5, Step::ProjectionsAtLogResolution),
    (
        6,
        Step::Sql(include_str!("migrations/0006_access_trail.sql")),
    ),
    (
        7,
        Step::Sql(include_str!("migrations/0007_written_numbers.sql")),
    ),
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;",
    )?;
    let applied: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if applied > newest {
        return Err(StoreError::Database(format!(
            "the database has schema version {applied}, newer than this minsheng knows ({newest}); upgrade minsheng"
        )));
    }
    for (version, step) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        match step {
            Step::Sql(sql) => {
                let tx = conn.transaction()?;
                tx.execute_batch(sql)?;
                record(&tx, *version)?;
                tx.commit()?;
            }
            Step::ProjectionsAtLogResolution => {
                // Commits on its own; if the process stops before the version is recorded, the
                // next start repeats it, which rewrites nothing more.
                let report = super::rebuild::rebuild(conn, Rewrite::FinerTimesOnly)?;
                crate::write::report_upgrade(&report);
                record(conn, *version)?;
            }
        }
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

fn record(conn: &Connection, version: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch())",
        [version],
    )?;
    Ok(())
}
