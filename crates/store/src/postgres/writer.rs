//! The writer of one application node. It runs on its own thread with its own single-threaded
//! runtime and its own connection, takes commands from a channel and commits them in groups, like
//! the SQLite writer. Several nodes may write to one database: each batch locks the chain's head
//! row first, so appends from all nodes are serialised and the chain neither forks nor skips; a
//! node that finds the head moved catches up with what the others appended before deciding.
//! PostgreSQL's own commit is durable (`synchronous_commit = on`), so callers are answered right
//! after it.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::tx::PgTx;
use crate::WriterStats;
use crate::registry::Registry;
use crate::write::{
    Attempt, Chain, Failure, Next, Pending, Queue, Then, TicketCache, catch_up, commit_batch,
    write_batch,
};
use crate::{Committed, StoreError, StoreResult, Submission};

pub(crate) struct Writer {
    pub conn: PgConnection,
    /// The connection failed and has not been replaced yet.
    pub broken: bool,
    pub options: PgConnectOptions,
    pub chain: Chain,
    pub registry: Arc<Registry>,
    pub cache: TicketCache,
    pub published: Arc<RwLock<Arc<Registry>>>,
    pub stats: Arc<WriterStats>,
    pub max_batch: usize,
}

impl Writer {
    pub(crate) async fn run(mut self, queue: Queue) {
        loop {
            // Blocking here is fine: this thread's runtime has nothing else to do.
            match queue.next(self.max_batch) {
                Next::Idle => self.follow_other_writers().await,
                Next::Closed => break,
                Next::Work { batch, then } => {
                    self.commit(batch).await;
                    match then {
                        Then::Continue => {}
                        Then::Rebuild(reply) => {
                            self.cache.clear();
                            let _ = reply.send(
                                super::rebuild::rebuild(
                                    &mut self.conn,
                                    &self.options,
                                    crate::write::Rewrite::Everything,
                                    Some(&self.registry),
                                )
                                .await,
                            );
                        }
                        Then::Shutdown => break,
                    }
                }
            }
        }
        let _ = self.conn.close().await;
        tracing::info!("store writer stopped");
    }

    async fn commit(&mut self, batch: Vec<Pending>) {
        if batch.is_empty() {
            return;
        }
        let submissions: Vec<&Submission> = batch.iter().map(|(s, _)| s.as_ref()).collect();
        // PostgreSQL's commit is durable: answer at once.
        let results = commit_batch(self, &submissions).await;
        for ((_, reply), result) in batch.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }

    /// Replaces a failed connection. A database restart or a failover costs the commands that
    /// were in flight, not the node: the next batch reconnects and catches up.
    async fn reconnect(&mut self) -> StoreResult<()> {
        let conn = PgConnection::connect_with(&self.options)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "the writer cannot reach the database");
                StoreError::Unavailable("cannot reach the database".into())
            })?;
        let old = std::mem::replace(&mut self.conn, conn);
        drop(old);
        self.broken = false;
        self.cache.clear();
        tracing::info!("the writer reconnected to the database");
        Ok(())
    }

    /// After a failure: is the connection still usable?
    async fn check_connection(&mut self) {
        if !self.broken && self.conn.ping().await.is_err() {
            tracing::warn!(
                "the writer's database connection is gone; reconnecting before the next batch"
            );
            self.broken = true;
        }
    }

    async fn try_commit_once(
        &mut self,
        batch: &[&Submission],
    ) -> Result<Vec<StoreResult<Committed>>, Failure> {
        if self.broken {
            self.reconnect().await.map_err(Failure::BeforeCommit)?;
        }
        let (chain_before, registry_before) = (self.chain, self.registry.clone());
        let started = Instant::now();
        let mut sent_commit = false;
        let outcome = async {
            let mut tx = self.conn.begin().await?;
            let mut write = PgTx::new(&mut tx);
            let results = write_batch(
                &mut write,
                &mut self.cache,
                &mut self.chain,
                &mut self.registry,
                batch,
            )
            .await?;
            let committing = Instant::now();
            sent_commit = true;
            tx.commit().await?;
            Ok::<_, StoreError>((results, committing))
        }
        .await;
        match outcome {
            Ok((results, committing)) => {
                self.stats
                    .record_batch(batch.len(), committing - started, committing.elapsed());
                if !Arc::ptr_eq(&self.registry, &registry_before) {
                    self.publish();
                }
                Ok(results)
            }
            Err(error) => {
                // Whatever did commit, the next batch's catch-up reads back from the log.
                self.cache.clear();
                self.chain = chain_before;
                self.registry = registry_before;
                self.check_connection().await;
                Err(if sent_commit {
                    Failure::AtCommit(error)
                } else {
                    Failure::BeforeCommit(error)
                })
            }
        }
    }

    fn publish(&self) {
        if let Ok(mut published) = self.published.write() {
            *published = self.registry.clone();
        }
    }

    /// When idle, catches up with what other nodes appended, so this node's registry (a new user,
    /// a deactivated one) is current within a second.
    async fn follow_other_writers(&mut self) {
        if self.broken && self.reconnect().await.is_err() {
            return;
        }
        let moved: Result<bool, StoreError> = async {
            let (seq, hash): (i64, String) =
                sqlx::query_as("SELECT seq, hash FROM chain_head WHERE id = 1")
                    .fetch_one(&mut self.conn)
                    .await?;
            if seq as u64 == self.chain.head.seq && hash == self.chain.head.hash.to_hex() {
                return Ok(false);
            }
            let mut tx = self.conn.begin().await?;
            let mut read = PgTx::new(&mut tx);
            let moved = catch_up(
                &mut read,
                &mut self.chain,
                &mut self.registry,
                &mut self.cache,
            )
            .await?;
            tx.rollback().await?;
            Ok(moved)
        }
        .await;
        match moved {
            Ok(true) => self.publish(),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot follow what other nodes appended");
                self.check_connection().await;
            }
        }
    }
}

impl Attempt for Writer {
    async fn try_commit(
        &mut self,
        batch: &[&Submission],
    ) -> Result<Vec<StoreResult<Committed>>, Failure> {
        let outcome = self.try_commit_once(batch).await;
        if self.broken && matches!(outcome, Err(Failure::BeforeCommit(_))) {
            // The connection died before anything was sent for this batch (the database
            // restarted, a failover, an idle timeout): reconnect and try once more.
            return self.try_commit_once(batch).await;
        }
        outcome
    }
}
