//! The embedded backend: one SQLite file in WAL mode, durable commits (fsynced before anyone is
//! answered, see `sync.rs`), one writer thread
//! committing in groups, and a pool of read-only connections.

pub mod backup;
mod calls;
mod chain;
mod checkpoint;
mod read;
mod rebuild;
mod rollups;
mod rows;
mod schema;
mod sync;
mod tx;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use async_trait::async_trait;
use domain::audit::{ChainBreak, ChainHead, Hash, LogEntry};
use domain::calls::{Call, CallCounts};
use domain::ids::{CallId, CallSource, ContactId, TicketNo, UnitId, UserId};
use domain::kpi::{KpiCounts, Period};
use domain::ticket::Ticket;
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::write::{Jobs, queue};
use crate::{
    Committed, RebuildReport, Registry, SealedContact, StatusCount, Store, StoreError, StoreResult,
    Submission, TicketQuery, TokenRecord, WriterStats,
};

/// The head of the log in an open SQLite connection.
pub(crate) fn head_of(conn: &Connection) -> StoreResult<ChainHead> {
    chain::load_head(conn)
}
use writer::Writer;

#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Read-only connections in the pool.
    pub readers: usize,
    /// The most commands committed in one transaction.
    pub max_batch: usize,
    /// The most commands waiting for the writer; past it a command is refused at once.
    pub queue_capacity: usize,
    /// The WAL's bound in bytes: checkpoints start it over once it holds half of this, and the
    /// writer forces that at seven eighths, so the file stays below it.
    pub wal_limit: u64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            readers: 4,
            max_batch: 1024,
            queue_capacity: crate::QUEUE_CAPACITY,
            wal_limit: 256 << 20,
        }
    }
}

pub struct SqliteStore {
    path: PathBuf,
    jobs: Jobs,
    writer: Mutex<Option<JoinHandle<()>>>,
    checkpointer: Mutex<Option<checkpoint::Checkpointer>>,
    readers: ReadPool,
    registry: Arc<RwLock<Arc<Registry>>>,
    stats: Arc<WriterStats>,
    /// Set when an fsync failed: the writer refuses every write from then on.
    fsync_failed: Arc<std::sync::atomic::AtomicBool>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrates it, rebuilds the registry from
    /// the log and starts the writer.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        create_private(&path)?;
        let mut conn = Connection::open(&path).map_err(|e| {
            StoreError::Database(format!("cannot open the database {}: {e}", path.display()))
        })?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;
             PRAGMA cache_size = -65536;
             PRAGMA wal_autocheckpoint = 0;
             PRAGMA temp_store = MEMORY;",
        )?;
        // The writer uses a few dozen distinct statements; keep them all prepared.
        conn.set_prepared_statement_cache_capacity(128);
        let stats = Arc::new(WriterStats::default());
        watch_wal(&mut conn, stats.clone())?;
        schema::migrate(&mut conn)?;
        let chain = chain::load_chain(&conn)?;
        let registry = Arc::new(chain::load_registry(&conn)?);
        rollups::fill_if_missing(&mut conn, &registry)?;
        let published = Arc::new(RwLock::new(registry.clone()));
        let readers = ReadPool::open(&path, options.readers.max(1))?;
        let (jobs, receiver) = queue(options.queue_capacity);
        let wal_gate = Arc::new(checkpoint::WalGate::default());
        let syncer = sync::Syncer::start(&path, stats.clone())?;
        let fsync_failed = syncer.failed.clone();
        let writer = Writer {
            syncer,
            stats: stats.clone(),
            conn,
            cache: crate::write::TicketCache::default(),
            chain,
            registry,
            published: published.clone(),
            max_batch: options.max_batch.max(1),
            wal_gate: wal_gate.clone(),
            wal_force_at: options.wal_limit / 8 * 7,
        };
        let handle = std::thread::Builder::new()
            .name("minsheng-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| StoreError::Database(format!("cannot start the writer thread: {e}")))?;
        let checkpointer = checkpoint::Checkpointer::start(&path, options.wal_limit / 2, wal_gate)?;
        Ok(Self {
            path,
            jobs,
            writer: Mutex::new(Some(handle)),
            checkpointer: Mutex::new(Some(checkpointer)),
            readers,
            registry: published,
            stats,
            fsync_failed,
        })
    }

    /// Verifies the log of the database file at `path` without starting a writer or trusting
    /// anything else in it: usable on a database too damaged to open normally.
    pub fn verify_file(
        path: &Path,
        expected_head: Option<(u64, Hash)>,
    ) -> StoreResult<Result<ChainHead, ChainBreak>> {
        read::verify(&open_existing_reader(path)?, expected_head)
    }

    /// The head of the log in the database file at `path`, read without opening the store.
    pub fn head_of_file(path: &Path) -> StoreResult<ChainHead> {
        chain::load_head(&open_existing_reader(path)?)
    }

    /// Counters of the writer: batches, commands, time working and committing.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.readers.run(f).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn submit(&self, submission: Submission) -> StoreResult<Committed> {
        self.jobs.submit(submission).await
    }

    fn registry(&self) -> Arc<Registry> {
        match self.registry.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    async fn ticket(&self, no: TicketNo) -> StoreResult<Option<Ticket>> {
        self.read(move |c| read::ticket(c, no)).await
    }

    async fn tickets(&self, query: TicketQuery) -> StoreResult<Vec<Ticket>> {
        self.read(move |c| read::tickets(c, &query)).await
    }

    async fn status_counts(
        &self,
        unit: Option<UnitId>,
        now: Timestamp,
    ) -> StoreResult<Vec<StatusCount>> {
        self.read(move |c| read::status_counts(c, unit.as_ref(), now))
            .await
    }

    async fn overdue_by_lead_unit(
        &self,
        units: Vec<UnitId>,
        statuses: Vec<domain::ticket::Status>,
        now: Timestamp,
    ) -> StoreResult<Vec<(UnitId, u64)>> {
        self.read(move |c| read::overdue_by_lead_unit(c, &units, &statuses, now))
            .await
    }

    async fn ticket_log(&self, no: TicketNo) -> StoreResult<Vec<LogEntry>> {
        self.read(move |c| read::ticket_log(c, no)).await
    }

    async fn ticket_access(&self, no: TicketNo) -> StoreResult<Vec<LogEntry>> {
        self.read(move |c| read::ticket_access(c, no)).await
    }

    async fn access_trail(&self, from: Timestamp, until: Timestamp) -> StoreResult<Vec<LogEntry>> {
        self.read(move |c| read::access_trail(c, from, until)).await
    }

    async fn failed_logins(&self, from: Timestamp, until: Timestamp) -> StoreResult<Vec<LogEntry>> {
        self.read(move |c| read::failed_logins(c, from, until))
            .await
    }

    async fn photo(&self, no: TicketNo) -> StoreResult<Option<crate::SealedPhoto>> {
        self.read(move |c| read::photo(c, no)).await
    }

    async fn written_numbers(&self, no: TicketNo) -> StoreResult<Vec<crate::StoredNumbers>> {
        self.read(move |c| read::written_numbers(c, no)).await
    }

    async fn database_bytes(&self) -> StoreResult<u64> {
        let size = |suffix: &str| {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            std::fs::metadata(path).map_or(0, |m| m.len())
        };
        Ok(size("") + size("-wal"))
    }

    async fn photo_bytes(&self) -> StoreResult<u64> {
        self.read(|c| {
            let bytes: i64 = c.query_row(
                "SELECT COALESCE(SUM(length(ciphertext)), 0) FROM photos",
                [],
                |r| r.get(0),
            )?;
            Ok(bytes as u64)
        })
        .await
    }

    fn available_space(&self) -> Option<u64> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        fs4::available_space(dir).ok()
    }

    async fn outbox_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<crate::OutboxItem>> {
        self.read(move |c| read::outbox_due(c, now, limit)).await
    }

    async fn outbox_counts(&self) -> StoreResult<crate::OutboxCounts> {
        self.read(read::outbox_counts).await
    }

    async fn ticket_events_between(
        &self,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>> {
        self.read(move |c| read::ticket_events_between(c, from, until, limit))
            .await
    }

    async fn caller_history(&self, phone_index: [u8; 32], limit: u32) -> StoreResult<Vec<Ticket>> {
        self.read(move |c| read::caller_history(c, &phone_index, limit))
            .await
    }

    async fn contact(&self, id: ContactId) -> StoreResult<Option<SealedContact>> {
        self.read(move |c| read::contact(c, id)).await
    }

    async fn password_hash(&self, user: &UserId) -> StoreResult<Option<String>> {
        let user = user.clone();
        self.read(move |c| read::password_hash(c, &user)).await
    }

    async fn token(&self, hash: [u8; 32]) -> StoreResult<Option<TokenRecord>> {
        self.read(move |c| read::token(c, &hash)).await
    }

    async fn audit_head(&self) -> StoreResult<ChainHead> {
        self.read(chain::load_head).await
    }

    async fn verify_log(
        &self,
        expected_head: Option<(u64, Hash)>,
    ) -> StoreResult<Result<ChainHead, ChainBreak>> {
        self.read(move |c| read::verify(c, expected_head)).await
    }

    async fn kpi_from_tickets_each(&self, periods: Vec<Period>) -> StoreResult<Vec<KpiCounts>> {
        self.read(move |c| read::kpi_from_tickets(c, &periods))
            .await
    }

    async fn kpi_from_rollups(&self, periods: Vec<Period>) -> StoreResult<Vec<KpiCounts>> {
        let registry = self.registry();
        self.read(move |c| rollups::counts(c, &registry, &periods))
            .await
    }

    async fn kpi_from_log(&self, period: Period) -> StoreResult<KpiCounts> {
        self.read(move |c| read::kpi_from_log(c, period)).await
    }

    async fn call(&self, source: &CallSource, id: &CallId) -> StoreResult<Option<Call>> {
        let (source, id) = (source.clone(), id.clone());
        self.read(move |c| calls::call(c, &source, &id)).await
    }

    async fn call_counts(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        bucket: jiff::SignedDuration,
    ) -> StoreResult<CallCounts> {
        let bucket = crate::write::calls::bucket_ms(bucket)?;
        let (from, to) = (from.as_millisecond(), to.as_millisecond());
        self.read(move |c| calls::sums(c, from, to, bucket)).await
    }

    async fn call_counts_from_log(&self) -> StoreResult<CallCounts> {
        let policy = self.registry().rules.policy.calls;
        self.read(move |c| {
            let mut recount = crate::write::calls::Recount::default();
            calls::call_entries(c, &mut |seq, body| recount.push(seq, body))?;
            Ok(recount.finish(&policy))
        })
        .await
    }

    async fn rebuild(&self) -> StoreResult<RebuildReport> {
        self.jobs.rebuild().await
    }

    fn writable(&self) -> StoreResult<()> {
        if self.fsync_failed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "an fsync of the write-ahead log failed; the disk needs attention before writes resume"
                    .into(),
            ));
        }
        crate::writer_running(&self.writer)
    }

    fn writer_stats(&self) -> &WriterStats {
        &self.stats
    }

    fn queued(&self) -> usize {
        self.jobs.queued()
    }

    async fn close(&self) {
        self.jobs.shutdown();
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        let checkpointer = self.checkpointer.lock().ok().and_then(|mut c| c.take());
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(handle) = handle {
                let _ = handle.join();
            }
            if let Some(checkpointer) = checkpointer {
                checkpointer.finish();
            }
        })
        .await;
    }
}

/// Counts what each commit appends to the WAL (SQLite reports the frames in the WAL after every
/// commit; fewer than before means the WAL started over).
fn watch_wal(conn: &mut Connection, stats: Arc<WriterStats>) -> StoreResult<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let frame = page as u64 + 24;
    let mut before = 0u64;
    conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: i32| {
        let frames = frames.max(0) as u64;
        let appended = if frames >= before {
            frames - before
        } else {
            frames
        };
        before = frames;
        stats.wal_bytes_written.fetch_add(appended * frame, Relaxed);
        stats.wal_bytes.store(frames * frame, Relaxed);
        Ok(())
    }))?;
    Ok(())
}

/// Read-only connections, each used by one blocking task at a time.
struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl ReadPool {
    fn open(path: &Path, size: usize) -> StoreResult<Self> {
        let idle = (0..size)
            .map(|_| open_reader(path))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            path: path.to_path_buf(),
            idle: Mutex::new(idle),
            permits: Semaphore::new(size),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the read pool is closed".into()))?;
        let conn = match self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            Some(conn) => conn,
            // A connection is lost only if a query panicked; replace it.
            None => open_reader(&self.path)?,
        };
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = f(&conn);
            (conn, result)
        })
        .await
        .map_err(|e| StoreError::Database(format!("a read query failed: {e}")))?;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        result
    }
}

/// Creates a new database file readable by its owner only; SQLite gives its WAL and shared-memory
/// files the same permissions. An existing file is left as it is.
fn create_private(path: &Path) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Database(format!(
            "cannot create the database {}: {e}",
            path.display()
        ))),
    }
}

/// Applies this version's migrations to the existing database file at `path`, without opening
/// the store.
pub(crate) fn upgrade_file(path: &Path) -> StoreResult<()> {
    let mut conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.execute_batch("PRAGMA busy_timeout = 10000;")?;
    schema::migrate(&mut conn)
}

fn open_existing_reader(path: &Path) -> StoreResult<Connection> {
    if !path.exists() {
        return Err(StoreError::Database(format!(
            "there is no database at {}",
            path.display()
        )));
    }
    open_reader(path)
}

fn open_reader(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -32768;")?;
    Ok(conn)
}
