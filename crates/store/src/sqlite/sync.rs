//! Durability without stalling the writer. The writer commits with `synchronous=NORMAL` (SQLite
//! writes the WAL but does not fsync it) and hands the batch's answers here; this thread fsyncs
//! the WAL and only then answers the callers. Meanwhile the writer is already deciding the next
//! batch, so the disk's flush and the next batch's work overlap.
//!
//! The guarantee is unchanged: nobody hears "done" before the fsync that covers their commit has
//! returned. A crash before that fsync loses only commands nobody was told about; SQLite's WAL
//! checksums make recovery stop at the last complete, synced commit.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use tokio::sync::oneshot;

use crate::WriterStats;
use crate::{Committed, StoreError, StoreResult};

pub(crate) type Answer = (
    oneshot::Sender<StoreResult<Committed>>,
    StoreResult<Committed>,
);

pub(crate) struct Syncer {
    answers: Sender<Vec<Answer>>,
    thread: Option<JoinHandle<()>>,
    /// Set when an fsync failed: the disk can no longer be trusted, so the store stops writing.
    pub(crate) failed: Arc<AtomicBool>,
}

impl Syncer {
    pub(crate) fn start(db: &Path, stats: Arc<WriterStats>) -> StoreResult<Self> {
        let wal = wal_path(db);
        // SQLite creates the WAL on its first write; creating it first (empty) is equivalent. It
        // is not unlinked while this store holds connections open.
        let mut options = File::options();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&wal).map_err(|e| {
            StoreError::Database(format!(
                "cannot open the write-ahead log {}: {e}",
                wal.display()
            ))
        })?;
        let failed = Arc::new(AtomicBool::new(false));
        let (answers, batches) = crossbeam_channel::unbounded();
        let flag = failed.clone();
        let thread = std::thread::Builder::new()
            .name("minsheng-fsync".into())
            .spawn(move || run(&file, &batches, &flag, &stats))
            .map_err(|e| StoreError::Database(format!("cannot start the fsync thread: {e}")))?;
        Ok(Self {
            answers,
            thread: Some(thread),
            failed,
        })
    }

    /// Answers the callers once everything committed so far is on disk.
    pub(crate) fn answer_when_durable(&self, answers: Vec<Answer>) {
        if let Err(unsent) = self.answers.send(answers) {
            for (reply, _) in unsent.0 {
                let _ = reply.send(Err(StoreError::Unavailable(
                    "the fsync thread has stopped".into(),
                )));
            }
        }
    }

    /// Flushes what is pending and stops.
    pub(crate) fn finish(mut self) {
        let (answers, _) = crossbeam_channel::bounded(0);
        drop(std::mem::replace(&mut self.answers, answers));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(wal: &File, batches: &Receiver<Vec<Answer>>, failed: &AtomicBool, stats: &WriterStats) {
    while let Ok(first) = batches.recv() {
        let mut pending = vec![first];
        pending.extend(batches.try_iter());
        let started = std::time::Instant::now();
        let synced = wal.sync_data();
        stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        stats
            .fsync_us
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if let Err(error) = &synced {
            tracing::error!(%error, "fsync of the write-ahead log failed; the store stops accepting writes");
            failed.store(true, Ordering::SeqCst);
        }
        for (reply, result) in pending.into_iter().flatten() {
            let result = match (&synced, result) {
                (Ok(()), result) => result,
                (Err(e), Ok(_)) => Err(StoreError::Database(format!(
                    "the change may not be on disk: {e}"
                ))),
                (Err(_), refused) => refused,
            };
            let _ = reply.send(result);
        }
    }
}

pub(crate) fn wal_path(db: &Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push("-wal");
    name.into()
}
