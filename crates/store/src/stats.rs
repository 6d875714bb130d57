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
    /// Bytes appended to SQLite's WAL by commits since the store opened (frames of a page and
    /// its 24-byte header); with `commands`, the write amplification.
    pub wal_bytes_written: AtomicU64,
    /// Bytes of the WAL in use after the last commit (the file may be longer: it is reused).
    pub wal_bytes: AtomicU64,
    /// Times the writer started the WAL over, the time it spent doing so (microseconds), the
    /// longest, and how many of them were forced because the WAL neared its bound.
    pub wal_restarts: AtomicU64,
    pub wal_restart_us: AtomicU64,
    pub wal_restart_max_us: AtomicU64,
    pub wal_forced_restarts: AtomicU64,
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

    /// One restart of the WAL that held the writer for `took`.
    pub(crate) fn record_wal_restart(&self, took: Duration) {
        let us = took.as_micros() as u64;
        self.wal_restarts.fetch_add(1, Ordering::Relaxed);
        self.wal_restart_us.fetch_add(us, Ordering::Relaxed);
        self.wal_restart_max_us.fetch_max(us, Ordering::Relaxed);
    }
}
