//! Counters of a store's writer, for benchmarks and monitoring.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What the writer has done, for benchmarks and monitoring.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub commands: AtomicU64,
    /// Time spent deciding and writing, in microseconds.
    pub work_us: AtomicU64,
    /// Time spent in COMMIT (writing the WAL), in microseconds.
    pub commit_us: AtomicU64,
    /// fsyncs of the WAL by the fsync thread, each covering every batch committed before it.
    pub fsyncs: AtomicU64,
    pub fsync_us: AtomicU64,
}

impl WriterStats {
    /// One committed batch of `commands`, `work` spent deciding and writing, `commit` in COMMIT.
    pub(crate) fn record_batch(&self, commands: usize, work: Duration, commit: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.commands.fetch_add(commands as u64, Ordering::Relaxed);
        self.work_us
            .fetch_add(work.as_micros() as u64, Ordering::Relaxed);
        self.commit_us
            .fetch_add(commit.as_micros() as u64, Ordering::Relaxed);
    }
}
