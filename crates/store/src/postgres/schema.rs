//! Migrations for the PostgreSQL backend. Released migrations are never edited: a change is a new
//! one. Nodes starting together take an advisory lock, so exactly one of them migrates.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::write::Rewrite;
use crate::{StoreError, StoreResult};

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

/// Any constant works; it only has to be the same for every node.
const LOCK: i64 = 0x6d69_6e73_6865_6e67; // "minsheng"

/// Applies each pending step in a transaction of its own, under the advisory lock, so a step
/// that rebuilds can read what the steps before it committed. `options` opens the second
/// connection such a step streams the log on.
pub(crate) async fn migrate(
    conn: &mut PgConnection,
    options: &PgConnectOptions,
) -> StoreResult<()> {
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    for (version, step) in MIGRATIONS {
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            .execute(&mut *tx)
            .await?;
        // Read under the lock: another node may have applied it meanwhile.
        let (applied,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&mut *tx)
                .await?;
        if applied > newest {
            return Err(StoreError::Database(format!(
                "the database has schema version {applied}, newer than this minsheng knows ({newest}); upgrade minsheng"
            )));
        }
        if applied >= *version {
            continue;
        }
        match step {
            Step::Sql(sql) => {
                sqlx::raw_sql(*sql).execute(&mut *tx).await?;
            }
            Step::ProjectionsAtLogResolution => {
                let report =
                    super::rebuild::rebuild(&mut tx, options, Rewrite::FinerTimesOnly).await?;
                crate::write::report_upgrade(&report);
            }
        }
        sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

/// On a read-only database (a standby replica), which cannot migrate: the schema must already be
/// the one this minsheng writes on the primary.
pub(crate) async fn check_current(conn: &mut PgConnection) -> StoreResult<()> {
    let applied: Option<(i64,)> =
        sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_optional(&mut *conn)
            .await
            .ok()
            .flatten();
    let applied = applied.map_or(0, |(v,)| v);
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if applied != newest {
        return Err(StoreError::Database(format!(
            "the read-only database has schema version {applied} but this minsheng needs {newest}: \
             start minsheng against the primary first (it migrates), then read from the replica"
        )));
    }
    Ok(())
}
