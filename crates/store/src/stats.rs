//! Counters of a store's writer, for benchmarks and monitoring.

use std::sync::atomic::AtomicU64;

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
