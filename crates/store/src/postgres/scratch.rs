//! A throwaway schema in an existing database: benchmarks and tests get a fresh, empty store on a
//! shared server without needing the right to create databases. Dropped with everything in it.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::StoreResult;

pub struct Scratch {
    base: String,
    name: String,
}

impl Scratch {
    /// Creates `scratch_<pid>_<n>` in the database at `base`.
    pub async fn create(base: &str) -> StoreResult<Scratch> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "scratch_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect(base).await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        )))
        .execute(&mut conn)
        .await?;
        let _ = conn.close().await;
        Ok(Scratch {
            base: base.to_owned(),
            name,
        })
    }

    /// The database's URL with this schema first on the search path.
    pub fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{separator}options[search_path]={}", self.base, self.name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Drop may run inside or outside a runtime; clean up on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&base).await {
                    let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {name} CASCADE"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}
