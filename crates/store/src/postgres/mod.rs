//! The PostgreSQL backend, for a province, or a city that wants replicas, DBA-run backups and
//! several application nodes. The same write path as SQLite (`crate::write`), a writer per node
//! serialised with the other nodes on the chain's head row, reads on a connection pool.

mod calls;
mod read;
mod rebuild;
mod rollups;
mod schema;
mod scratch;
mod tx;
mod writer;

use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use async_trait::async_trait;
use domain::audit::{ChainBreak, ChainHead, Hash, LogEntry};
use domain::calls::{Call, CallCounts};
use domain::ids::{CallId, CallSource, ContactId, TicketNo, UnitId, UserId};
use domain::kpi::{KpiCounts, Period};
use domain::ticket::Ticket;
use jiff::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::WriterStats;
use crate::registry::{REGISTRY_KINDS, Registry};
use crate::write::{Chain, Jobs, TicketCache, queue};
use crate::{
    Committed, RebuildReport, SealedContact, StatusCount, Store, StoreError, StoreResult,
    Submission, TicketQuery, TokenRecord,
};
use writer::Writer;

pub(crate) use schema::migrate;
pub use scratch::Scratch;

/// Verifies the log over an open connection.
pub(crate) async fn verify_connection(
    conn: &mut PgConnection,
    expected: Option<(u64, Hash)>,
) -> StoreResult<Result<ChainHead, ChainBreak>> {
    read::verify(conn, expected).await
}

/// A `tickets` row as stored: `no, status, category, lead_unit, received_at, due_at, updated_at,
/// contact_id, version, state`.
pub(crate) type TicketColumns = (
    i64,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    i64,
    Option<i64>,
    i64,
    String,
);

/// A `contacts` row as stored: `id, key_id, nonce, ciphertext, phone_index`.
pub(crate) type ContactColumns = (i64, i64, Vec<u8>, Vec<u8>, Option<Vec<u8>>);

#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Connections in the read pool.
    pub readers: u32,
    /// The most commands committed in one transaction.
    pub max_batch: usize,
    /// The most commands waiting for the writer; past it a command is refused at once.
    pub queue_capacity: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            readers: 8,
            max_batch: 1024,
            queue_capacity: crate::QUEUE_CAPACITY,
        }
    }
}

pub struct PgStore {
    jobs: Jobs,
    writer: Mutex<Option<JoinHandle<()>>>,
    pool: PgPool,
    registry: Arc<RwLock<Arc<Registry>>>,
    stats: Arc<WriterStats>,
    /// A standby replica (or a read-only role): no writer, no migrations, writes refused.
    read_only: bool,
}

const READ_ONLY: &str = "this PostgreSQL database is read-only (a standby replica?): \
                         send writes to the primary";

/// Whether `text` names a PostgreSQL database (`postgres://…` or `postgresql://…`).
pub fn is_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

fn options(url: &str) -> StoreResult<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|e| {
        StoreError::Database(format!(
            "not a PostgreSQL URL ({e}); write postgres://user:password@host:port/database"
        ))
    })
}

impl PgStore {
    /// Connects, migrates, folds the registry from the log and starts this node's writer. A
    /// read-only database (a standby replica) is opened for reading only: the schema must be
    /// current, the registry is folded once, and writes are refused.
    pub async fn open(url: &str, settings: PgOptions) -> StoreResult<Self> {
        let options = options(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.readers.max(1))
            // While the database is away, a request waits this long, then hears "unavailable".
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::Database(format!("cannot connect to PostgreSQL: {e}")))?;
        let (read_only,): (bool,) =
            sqlx::query_as("SELECT current_setting('transaction_read_only') = 'on'")
                .fetch_one(&pool)
                .await?;
        if read_only {
            return Self::open_read_only(pool).await;
        }
        schema::migrate(&mut *pool.acquire().await?, &options).await?;
        let (ready, started) = std::sync::mpsc::channel::<StoreResult<Arc<Registry>>>();
        let (jobs, receiver) = queue(settings.queue_capacity);
        let stats = Arc::new(WriterStats::default());
        let registry_slot: Arc<RwLock<Arc<Registry>>> =
            Arc::new(RwLock::new(Arc::new(Registry::new()?)));
        let (published, writer_stats) = (registry_slot.clone(), stats.clone());
        // The writer owns a connection made on its own runtime, on its own thread.
        let handle = std::thread::Builder::new()
            .name("minsheng-pg-writer".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready.send(Err(StoreError::Database(format!(
                            "cannot start the writer's runtime: {e}"
                        ))));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let start = async {
                        let mut conn = PgConnection::connect_with(&options).await?;
                        let chain = load_chain(&mut conn).await?;
                        let registry = Arc::new(load_registry(&mut conn).await?);
                        rollups::fill_if_missing(&mut conn, &registry).await?;
                        Ok::<_, StoreError>((conn, chain, registry))
                    };
                    match start.await {
                        Ok((conn, chain, registry)) => {
                            if let Ok(mut slot) = published.write() {
                                *slot = registry.clone();
                            }
                            let _ = ready.send(Ok(registry.clone()));
                            let writer = Writer {
                                conn,
                                broken: false,
                                options,
                                chain,
                                registry,
                                cache: TicketCache::default(),
                                published,
                                stats: writer_stats,
                                max_batch: settings.max_batch.max(1),
                            };
                            writer.run(receiver).await;
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|e| StoreError::Database(format!("cannot start the writer thread: {e}")))?;
        let waited = tokio::task::spawn_blocking(move || started.recv())
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?;
        waited.map_err(|_| {
            StoreError::Database("the writer thread stopped while starting".into())
        })??;
        Ok(Self {
            jobs,
            writer: Mutex::new(Some(handle)),
            pool,
            registry: registry_slot,
            stats,
            read_only: false,
        })
    }

    async fn open_read_only(pool: PgPool) -> StoreResult<Self> {
        let mut conn = pool.acquire().await?;
        schema::check_current(&mut conn).await?;
        let registry = load_registry(&mut conn).await?;
        drop(conn);
        // Nothing listens: a job sent by mistake fails at once.
        let (jobs, _) = queue(1);
        Ok(Self {
            jobs,
            writer: Mutex::new(None),
            pool,
            registry: Arc::new(RwLock::new(Arc::new(registry))),
            stats: Arc::new(WriterStats::default()),
            read_only: true,
        })
    }

    /// Verifies the log of the database at `url` without starting a writer or trusting anything
    /// else in it.
    pub async fn verify_url(
        url: &str,
        expected_head: Option<(u64, Hash)>,
    ) -> StoreResult<Result<ChainHead, ChainBreak>> {
        let mut conn = PgConnection::connect_with(&options(url)?).await?;
        let result = read::verify(&mut conn, expected_head).await;
        let _ = conn.close().await;
        result
    }

    /// The head of the log at `url`, read without opening the store.
    pub async fn head_of_url(url: &str) -> StoreResult<ChainHead> {
        let mut conn = PgConnection::connect_with(&options(url)?).await?;
        let head = read::head(&mut conn).await;
        let _ = conn.close().await;
        head
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

async fn load_chain(conn: &mut PgConnection) -> StoreResult<Chain> {
    let (seq, hash, at): (i64, String, i64) =
        sqlx::query_as("SELECT seq, hash, at FROM chain_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
    Ok(Chain {
        head: ChainHead {
            seq: seq as u64,
            hash: Hash::parse(&hash)
                .ok_or_else(|| StoreError::Corrupt("chain_head has a malformed hash".into()))?,
        },
        last_at: domain::time::LogTime::from_millisecond(at)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

async fn load_registry(conn: &mut PgConnection) -> StoreResult<Registry> {
    let kinds: Vec<String> = REGISTRY_KINDS.iter().map(|k| (*k).to_owned()).collect();
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT seq, kind, body FROM log WHERE ticket IS NULL AND kind = ANY($1) ORDER BY seq",
    )
    .bind(kinds)
    .fetch_all(&mut *conn)
    .await?;
    let mut registry = Registry::new()?;
    for (seq, kind, body) in rows {
        registry.apply_stored(seq as u64, &kind, &body)?;
    }
    Ok(registry)
}

#[async_trait]
impl Store for PgStore {
    async fn submit(&self, submission: Submission) -> StoreResult<Committed> {
        if self.read_only {
            return Err(StoreError::Unavailable(READ_ONLY.into()));
        }
        self.jobs.submit(submission).await
    }

    fn registry(&self) -> Arc<Registry> {
        match self.registry.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    async fn ticket(&self, no: TicketNo) -> StoreResult<Option<Ticket>> {
        read::ticket(&self.pool, no).await
    }

    async fn tickets(&self, query: TicketQuery) -> StoreResult<Vec<Ticket>> {
        read::tickets(&self.pool, &query).await
    }

    async fn status_counts(
        &self,
        unit: Option<UnitId>,
        now: Timestamp,
    ) -> StoreResult<Vec<StatusCount>> {
        read::status_counts(&self.pool, unit.as_ref(), now).await
    }

    async fn overdue_by_lead_unit(
        &self,
        units: Vec<UnitId>,
        statuses: Vec<domain::ticket::Status>,
        now: Timestamp,
    ) -> StoreResult<Vec<(UnitId, u64)>> {
        read::overdue_by_lead_unit(&self.pool, &units, &statuses, now).await
    }

    async fn ticket_log(&self, no: TicketNo) -> StoreResult<Vec<LogEntry>> {
        read::ticket_log(&self.pool, no).await
    }

    async fn ticket_access(&self, no: TicketNo) -> StoreResult<Vec<LogEntry>> {
        read::ticket_access(&self.pool, no).await
    }

    async fn failed_logins(&self, from: Timestamp, until: Timestamp) -> StoreResult<Vec<LogEntry>> {
        read::failed_logins(&self.pool, from, until).await
    }

    async fn access_trail(&self, from: Timestamp, until: Timestamp) -> StoreResult<Vec<LogEntry>> {
        read::access_trail(&self.pool, from, until).await
    }

    async fn photo(&self, no: TicketNo) -> StoreResult<Option<crate::SealedPhoto>> {
        read::photo(&self.pool, no).await
    }

    async fn written_numbers(&self, no: TicketNo) -> StoreResult<Vec<crate::StoredNumbers>> {
        read::written_numbers(&self.pool, no).await
    }

    async fn database_bytes(&self) -> StoreResult<u64> {
        let (bytes,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
            .fetch_one(&self.pool)
            .await?;
        Ok(bytes as u64)
    }

    async fn photo_bytes(&self) -> StoreResult<u64> {
        let (bytes,): (i64,) =
            sqlx::query_as("SELECT COALESCE(SUM(octet_length(ciphertext)), 0)::bigint FROM photos")
                .fetch_one(&self.pool)
                .await?;
        Ok(bytes as u64)
    }

    async fn outbox_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<crate::OutboxItem>> {
        read::outbox_due(&self.pool, now, limit).await
    }

    async fn outbox_counts(&self) -> StoreResult<crate::OutboxCounts> {
        read::outbox_counts(&self.pool).await
    }

    async fn ticket_events_between(
        &self,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>> {
        read::ticket_events_between(&self.pool, from, until, limit).await
    }

    async fn caller_history(&self, phone_index: [u8; 32], limit: u32) -> StoreResult<Vec<Ticket>> {
        read::caller_history(&self.pool, &phone_index, limit).await
    }

    async fn contact(&self, id: ContactId) -> StoreResult<Option<SealedContact>> {
        read::contact(&self.pool, id).await
    }

    async fn password_hash(&self, user: &UserId) -> StoreResult<Option<String>> {
        read::password_hash(&self.pool, user).await
    }

    async fn token(&self, hash: [u8; 32]) -> StoreResult<Option<TokenRecord>> {
        read::token(&self.pool, &hash).await
    }

    async fn audit_head(&self) -> StoreResult<ChainHead> {
        read::head(&self.pool).await
    }

    async fn verify_log(
        &self,
        expected_head: Option<(u64, Hash)>,
    ) -> StoreResult<Result<ChainHead, ChainBreak>> {
        read::verify(&self.pool, expected_head).await
    }

    async fn kpi_from_tickets_each(&self, periods: Vec<Period>) -> StoreResult<Vec<KpiCounts>> {
        read::kpi_from_tickets(&self.pool, &periods).await
    }

    async fn kpi_from_rollups(&self, periods: Vec<Period>) -> StoreResult<Vec<KpiCounts>> {
        rollups::counts(&self.pool, &self.registry(), &periods).await
    }

    async fn kpi_from_log(&self, period: Period) -> StoreResult<KpiCounts> {
        read::kpi_from_log(&self.pool, period).await
    }

    async fn call(&self, source: &CallSource, id: &CallId) -> StoreResult<Option<Call>> {
        Ok(
            calls::load_calls(&self.pool, source, std::slice::from_ref(id))
                .await?
                .pop(),
        )
    }

    async fn call_counts(
        &self,
        from: Timestamp,
        to: Timestamp,
        bucket: jiff::SignedDuration,
    ) -> StoreResult<CallCounts> {
        let bucket = crate::write::calls::bucket_ms(bucket)?;
        calls::sums(
            &self.pool,
            from.as_millisecond(),
            to.as_millisecond(),
            bucket,
        )
        .await
    }

    async fn call_counts_from_log(&self) -> StoreResult<CallCounts> {
        let policy = self.registry().rules.policy.calls;
        calls::recount(&self.pool, &policy).await
    }

    async fn rebuild(&self) -> StoreResult<RebuildReport> {
        if self.read_only {
            return Err(StoreError::Unavailable(READ_ONLY.into()));
        }
        self.jobs.rebuild().await
    }

    async fn close(&self) {
        self.jobs.shutdown();
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        // The read pool stays open until the store is dropped, as the contract says.
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn writable(&self) -> StoreResult<()> {
        if self.read_only {
            return Err(StoreError::Unavailable(READ_ONLY.into()));
        }
        crate::writer_running(&self.writer)
    }

    fn writer_stats(&self) -> &WriterStats {
        &self.stats
    }

    fn queued(&self) -> usize {
        self.jobs.queued()
    }
}
