//! Migrations for the SQLite backend. Released migrations are never edited: a change is a new one.

use rusqlite::Connection;

use crate::StoreError;
use crate::migration::{Step, check};
use crate::write::Rewrite;

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
    (
        8,
        Step::Sql(include_str!("migrations/0008_kpi_rollups.sql")),
    ),
    (9, Step::Sql(include_str!("migrations/0009_unit_inbox.sql"))),
    (10, Step::Sql(include_str!("migrations/0010_calls.sql"))),
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;",
    )?;
    let has_checksums: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'",
        [],
        |r| r.get(0),
    )?;
    if !has_checksums {
        conn.execute_batch("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT;")?;
    }
    check_applied(conn)?;
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
                record(&tx, *version, step)?;
                tx.commit()?;
            }
            Step::ProjectionsAtLogResolution => {
                // Commits on its own; if the process stops before the version is recorded, the
                // next start repeats it, which rewrites nothing more.
                let report = super::rebuild::rebuild(conn, Rewrite::FinerTimesOnly, None)?;
                crate::write::report_upgrade(&report);
                record(conn, *version, step)?;
            }
        }
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

fn record(conn: &Connection, version: i64, step: &Step) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO schema_migrations (version, applied_at, checksum) VALUES (?1, unixepoch(), ?2)",
        rusqlite::params![version, step.checksum()],
    )?;
    Ok(())
}

/// Refuses a database whose applied migrations differ from this binary's; records the checksums
/// of steps applied before checksums were kept.
fn check_applied(conn: &Connection) -> Result<(), StoreError> {
    let applied: Vec<(i64, Option<String>)> = conn
        .prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (version, recorded) in applied {
        let Some((_, step)) = MIGRATIONS.iter().find(|(v, _)| *v == version) else {
            continue; // newer than this binary: refused below
        };
        check(version, recorded.as_deref(), step)?;
        if recorded.is_none() {
            conn.execute(
                "UPDATE schema_migrations SET checksum = ?2 WHERE version = ?1",
                rusqlite::params![version, step.checksum()],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    const RELEASED: &[(i64, &str)] = &[
        (1, "7c5a4899f2455052"),
        (2, "8e8427184882ffad"),
        (3, "975e5cc5c52ec93a"),
        (4, "ad448451a34f7c06"),
        (5, "a7cf4f73613441d6"),
        (6, "1475a47c5a51019d"),
        (7, "1f25b3ae1f101f80"),
        (8, "d00c1ab85efc116c"),
        (9, "bd39468b69e1e8df"),
        (10, "5c39896234908878"),
    ];

    /// The checksums of the released migrations. A failure here means a released migration was
    /// edited: undo the edit and add a new migration instead.
    #[test]
    fn released_migrations_are_never_edited() {
        crate::migration::assert_released(super::MIGRATIONS, RELEASED);
    }
}
