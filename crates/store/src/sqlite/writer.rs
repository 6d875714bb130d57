//! The single writer: one thread owns the write connection, takes commands from a channel and
//! commits them in groups. Under load a batch grows by itself (everything queued while the last
//! one committed); when idle a command commits alone. One fsync per batch, not per command, with
//! `synchronous=FULL` durability: a caller hears back only after its batch committed.

use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};

use super::chain::{load_chain, load_head, load_registry};
use super::checkpoint::{Mode, WalGate, checkpoint};
use super::sync::{Answer, Syncer};
use super::tx::SqliteTx;
use crate::registry::Registry;
use crate::write::{
    Attempt, Chain, Failure, Next, Pending, Queue, Then, TicketCache, commit_batch, write_batch,
};
use crate::{Committed, RebuildReport, StoreError, StoreResult, Submission, WriterStats};
use futures::executor::block_on;

/// How long a restart of the WAL waits for readers of an older snapshot.
const WAIT_ASKED: std::time::Duration = std::time::Duration::from_millis(5);
const WAIT_AT_BOUND: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) struct Writer {
    pub stats: Arc<WriterStats>,
    /// Answers callers once their batch is on disk.
    pub syncer: Syncer,
    pub conn: Connection,
    pub cache: TicketCache,
    pub chain: Chain,
    /// Copy-on-write: an admin event replaces the whole `Arc`, so keeping the old one to restore
    /// or comparing to see whether to publish costs nothing.
    pub registry: Arc<Registry>,
    pub published: Arc<RwLock<Arc<Registry>>>,
    pub max_batch: usize,
    /// Set by the checkpoint thread: the WAL is long and nearly all copied; start it over.
    pub wal_gate: Arc<WalGate>,
    /// WAL bytes in use at which the writer restarts the WAL unasked, waiting for readers.
    pub wal_force_at: u64,
}

impl Writer {
    pub fn run(mut self, queue: Queue) {
        loop {
            match queue.next(self.max_batch) {
                Next::Idle => self.follow_other_writers(),
                Next::Closed => break,
                Next::Work { batch, then } => {
                    self.commit(batch);
                    self.bound_wal();
                    match then {
                        Then::Continue => {}
                        Then::Rebuild(reply) => {
                            let _ = reply.send(self.rebuild());
                        }
                        Then::Shutdown => break,
                    }
                }
            }
        }
        self.syncer.finish();
        tracing::info!("store writer stopped");
    }

    /// Commits a batch (`write::commit_batch`: one transaction, else each command alone) and
    /// hands the answers to the fsync thread, which gives them once the WAL is on disk.
    fn commit(&mut self, batch: Vec<Pending>) {
        if batch.is_empty() {
            return;
        }
        if self.syncer.failed.load(Ordering::SeqCst) {
            for (_, reply) in batch {
                let refused = StoreError::Unavailable(
                    "an fsync failed earlier; the disk needs attention before writes resume".into(),
                );
                let _ = reply.send(Err(refused));
            }
            return;
        }
        let submissions: Vec<&Submission> = batch.iter().map(|(s, _)| s.as_ref()).collect();
        let results = block_on(commit_batch(self, &submissions));
        let answers: Vec<Answer> = batch
            .into_iter()
            .map(|(_, reply)| reply)
            .zip(results)
            .collect();
        self.syncer.answer_when_durable(answers);
    }

    /// One transaction for the whole batch. The outer error means nothing was committed (a
    /// failed SQLite COMMIT rolls back) and the writer's view of the log is back where it was.
    async fn try_commit_now(
        &mut self,
        batch: &[&Submission],
    ) -> Result<Vec<StoreResult<Committed>>, StoreError> {
        let (chain_before, registry_before) = (self.chain, self.registry.clone());
        let outcome = async {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // The immediate transaction holds the write lock, so nobody appends between catching
            // up with other writers (a console command while the server runs) and the commit.
            let mut write = SqliteTx(&tx);
            let started = Instant::now();
            // Runs to completion without waiting: SQLite's calls inside are synchronous.
            let results = write_batch(
                &mut write,
                &mut self.cache,
                &mut self.chain,
                &mut self.registry,
                batch,
            )
            .await?;
            let committing = Instant::now();
            tx.commit()?;
            self.stats
                .record_batch(batch.len(), committing - started, committing.elapsed());
            Ok::<_, StoreError>(results)
        }
        .await;
        match outcome {
            Ok(results) => {
                if !Arc::ptr_eq(&self.registry, &registry_before) {
                    self.publish();
                }
                Ok(results)
            }
            Err(error) => {
                // The cache may hold state from the abandoned transaction.
                self.cache.clear();
                self.chain = chain_before;
                self.registry = registry_before;
                Err(error)
            }
        }
    }

    /// Starts the WAL over between two batches when the checkpoint thread asks (it has copied
    /// nearly everything, so this copies the last few commits and syncs the database file; the
    /// cost is mostly SQLite emptying this connection's page cache: 60 ms on average on a
    /// million-ticket database, see docs/performance.md), or unasked when the WAL nears its
    /// bound. Readers of an older snapshot are waited for briefly when asked (the next batch
    /// tries again) and as long as it takes at the bound.
    fn bound_wal(&mut self) {
        let in_use = self.stats.wal_bytes.load(Ordering::Relaxed);
        let forced = in_use >= self.wal_force_at;
        if !forced && !self.wal_gate.wanted.load(Ordering::Relaxed) {
            return;
        }
        let gate = self.wal_gate.clone();
        let _checkpointing = if forced {
            self.stats
                .wal_forced_restarts
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                wal_bytes = in_use,
                "the WAL neared its bound; the writer restarts it, waiting for readers"
            );
            gate.checkpointing.lock().ok()
        } else {
            match gate.checkpointing.try_lock() {
                Ok(guard) => Some(guard),
                // The checkpoint thread is copying; after the next batch, then.
                Err(_) => return,
            }
        };
        let wait = if forced { WAIT_AT_BOUND } else { WAIT_ASKED };
        let _ = self.conn.busy_timeout(wait);
        let started = Instant::now();
        let outcome = checkpoint(&self.conn, Mode::Restart);
        self.stats.record_wal_restart(started.elapsed());
        let _ = self.conn.busy_timeout(WAIT_AT_BOUND);
        if outcome.finished() {
            self.wal_gate.wanted.store(false, Ordering::Relaxed);
        } else if forced {
            tracing::warn!("the WAL could not be restarted: a read holds an old snapshot");
        }
    }

    fn publish(&self) {
        if let Ok(mut published) = self.published.write() {
            *published = self.registry.clone();
        }
    }

    /// When idle, notices entries another process appended (a console command while the server
    /// runs), so a deactivated user or a new unit takes effect within a second.
    fn follow_other_writers(&mut self) {
        let Ok(stored) = load_head(&self.conn) else {
            return;
        };
        if stored == self.chain.head {
            return;
        }
        match (load_chain(&self.conn), load_registry(&self.conn)) {
            (Ok(chain), Ok(registry)) => {
                self.cache.clear();
                self.chain = chain;
                self.registry = Arc::new(registry);
                self.publish();
            }
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "cannot follow entries another process appended")
            }
        }
    }

    fn rebuild(&mut self) -> StoreResult<RebuildReport> {
        self.cache.clear();
        // The registry is a fold of the log alone; the rollups are counted in its calendar.
        let registry = load_registry(&self.conn)?;
        let report = super::rebuild::rebuild(
            &mut self.conn,
            crate::write::Rewrite::Everything,
            Some(&registry),
        )?;
        // Rebuilt projections are written without fsync like every commit; make them durable.
        self.conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE);")?;
        self.registry = Arc::new(registry);
        self.publish();
        Ok(report)
    }
}

impl Attempt for Writer {
    async fn try_commit(
        &mut self,
        batch: &[&Submission],
    ) -> Result<Vec<StoreResult<Committed>>, Failure> {
        self.try_commit_now(batch)
            .await
            .map_err(Failure::BeforeCommit)
    }
}
