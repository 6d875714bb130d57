//! Migrations for the PostgreSQL backend. Released migrations are never edited: a change is a new
//! one. Nodes starting together take an advisory lock, so exactly one of them migrates.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::migration::{Step, check};
use crate::write::Rewrite;
use crate::{StoreError, StoreResult};

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
        sqlx::query("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT")
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
            let (recorded,): (Option<String>,) =
                sqlx::query_as("SELECT checksum FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?
                    .unwrap_or((None,));
            check(*version, recorded.as_deref(), step)?;
            if recorded.is_none() {
                // Applied before checksums were kept.
                sqlx::query("UPDATE schema_migrations SET checksum = $2 WHERE version = $1")
                    .bind(version)
                    .bind(step.checksum())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            continue;
        }
        match step {
            Step::Sql(sql) => {
                sqlx::raw_sql(*sql).execute(&mut *tx).await?;
            }
            Step::ProjectionsAtLogResolution => {
                let report =
                    super::rebuild::rebuild(&mut tx, options, Rewrite::FinerTimesOnly, None)
                        .await?;
                crate::write::report_upgrade(&report);
            }
        }
        sqlx::query("INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)")
            .bind(version)
            .bind(step.checksum())
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

#[cfg(test)]
mod tests {
    const RELEASED: &[(i64, &str)] = &[
        (1, "cb7f82b28e73d04f"),
        (2, "8e8427184882ffad"),
        (3, "c55fca13000e4922"),
        (4, "6e30410e1d89f918"),
        (5, "a7cf4f73613441d6"),
        (6, "6d41fa3eaa1a65c6"),
        (7, "df78113a135490ec"),
        (8, "47539240d6b6ba1b"),
        (9, "d5702ea90b1b46d8"),
        (10, "abd2f9777d87f651"),
    ];

    /// The checksums of the released migrations. A failure here means a released migration was
    /// edited: undo the edit and add a new migration instead.
    #[test]
    fn released_migrations_are_never_edited() {
        crate::migration::assert_released(super::MIGRATIONS, RELEASED);
    }
}
