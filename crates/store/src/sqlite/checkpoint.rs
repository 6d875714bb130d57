//! WAL checkpoints off the writer's thread, and the WAL's bound.
//!
//! The writer turns automatic checkpoints off, so a commit never stops to copy the log into the
//! database file; this thread does it four times a second (PASSIVE: it never blocks the writer or
//! readers) and truncates the WAL on close.
//!
//! Passive checkpoints alone let the WAL grow without end under sustained writes: SQLite starts
//! the WAL over from its beginning only when a write begins after a checkpoint has copied *every*
//! frame, and while the writer keeps appending, a passive checkpoint never catches up (a
//! 100,000-ticket benchmark left 2.8 GB of WAL). So once the WAL holds half its bound,
//! this thread catches up with passive checkpoints until only the last few commits are left and
//! then asks the writer to restart the WAL between two batches (`Writer::bound_wal`): the writer
//! copies those few frames itself and the next commit writes from the WAL's start. A RESTART
//! checkpoint from this thread would do the same but fight the writer for its lock, and SQLite's
//! busy handler sleeps in steps of milliseconds: each restart cost the writer 5 to 15 ms. The
//! writer also restarts the WAL unasked, waiting for readers as long as it must, if the WAL ever
//! reaches seven eighths of the bound.
//!
//! Restarts are kept rare (half the bound, not less) because each one also empties the writer's
//! page cache (SQLite resets a connection's cache when the WAL's header changes), and refilling
//! it is most of what a restart costs: 20 to 100 ms on a database of a million tickets, once per
//! 100 MB of WAL.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rusqlite::Connection;

use crate::{StoreError, StoreResult};

const EVERY: Duration = Duration::from_millis(250);
/// Passive rounds to catch up before asking for a restart, and how many frames may be left for
/// the writer to copy.
const CATCH_UP_ROUNDS: usize = 16;
const RESTART_BEHIND: i64 = 64;

/// What the checkpoint thread and the writer share: the request to restart the WAL, and a lock
/// held while either checkpoints, so the writer never waits (in SQLite's busy handler, which
/// sleeps in steps of milliseconds) for a passive checkpoint to finish: it tries again after its
/// next batch.
#[derive(Debug, Default)]
pub(crate) struct WalGate {
    pub(crate) wanted: AtomicBool,
    pub(crate) checkpointing: Mutex<()>,
}

pub(crate) struct Checkpointer {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the thread; once the WAL holds `restart_at` bytes of frames it asks the writer
    /// to restart it (through `gate`).
    pub(crate) fn start(path: &Path, restart_at: u64, gate: Arc<WalGate>) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        // A frame is a page and its 24-byte header.
        let restart_at_frames = (restart_at / (page as u64 + 24)) as i64;
        let (stop, stopped) = crossbeam_channel::bounded(1);
        let thread = std::thread::Builder::new()
            .name("minsheng-checkpoint".into())
            .spawn(move || run(&conn, restart_at_frames, &gate, &stopped))
            .map_err(|e| {
                StoreError::Database(format!("cannot start the checkpoint thread: {e}"))
            })?;
        Ok(Self { stop, thread })
    }

    /// Truncates the WAL and stops. Call after the writer has stopped.
    pub(crate) fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

fn run(conn: &Connection, restart_at_frames: i64, gate: &WalGate, stopped: &Receiver<()>) {
    let passive = || {
        let _checkpointing = gate.checkpointing.lock();
        checkpoint(conn, Mode::Passive)
    };
    loop {
        match stopped.recv_timeout(EVERY) {
            Err(RecvTimeoutError::Timeout) => {
                let outcome = passive();
                let mut behind = outcome.behind();
                if outcome.frames >= restart_at_frames {
                    // Catch up without blocking anyone, so the writer has only the last few
                    // commits to copy when it restarts the WAL.
                    for _ in 0..CATCH_UP_ROUNDS {
                        if behind <= RESTART_BEHIND {
                            break;
                        }
                        behind = passive().behind();
                    }
                    gate.wanted.store(true, Ordering::Relaxed);
                }
            }
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                let _checkpointing = gate.checkpointing.lock();
                checkpoint(conn, Mode::Truncate);
                return;
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode {
    /// Copy what can be copied without waiting for anyone.
    Passive,
    /// Copy everything, waiting for the writer and for readers of older snapshots, so that the
    /// next commit starts the WAL over.
    Restart,
    /// As `Restart`, and truncate the WAL file to nothing.
    Truncate,
}

impl Mode {
    fn sql(self) -> &'static str {
        match self {
            Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
            Mode::Restart => "PRAGMA wal_checkpoint(RESTART)",
            Mode::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
        }
    }
}

/// What a checkpoint did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outcome {
    /// It could not finish: the writer or a reader of an older snapshot was in the way.
    pub(crate) busy: bool,
    /// Frames in the WAL and frames copied into the database.
    pub(crate) frames: i64,
    pub(crate) copied: i64,
}

impl Outcome {
    /// Frames in the WAL not yet copied into the database.
    pub(crate) fn behind(self) -> i64 {
        (self.frames - self.copied).max(0)
    }

    pub(crate) fn finished(self) -> bool {
        !self.busy
    }
}

/// Runs a checkpoint. A busy RESTART copied what it could.
pub(crate) fn checkpoint(conn: &Connection, mode: Mode) -> Outcome {
    let result = conn.query_row(mode.sql(), [], |r| {
        Ok(Outcome {
            busy: r.get::<_, i64>(0)? != 0,
            frames: r.get(1)?,
            copied: r.get(2)?,
        })
    });
    result.unwrap_or_else(|error| {
        tracing::warn!(%error, ?mode, "WAL checkpoint failed; it will be retried");
        Outcome {
            busy: true,
            frames: 0,
            copied: 0,
        }
    })
}
