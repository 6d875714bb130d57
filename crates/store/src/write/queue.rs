//! The queue between a store's callers and its writer thread, the same for every backend:
//! callers send jobs and await the answer; the writer takes everything queued as one batch.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use tokio::sync::oneshot;

use crate::{Committed, RebuildReport, StoreError, StoreResult, Submission};

/// How long an idle writer waits before looking for what other writers appended.
const IDLE_CHECK: Duration = Duration::from_secs(1);

enum Job {
    Submit(Box<Submission>, oneshot::Sender<StoreResult<Committed>>),
    Rebuild(oneshot::Sender<StoreResult<RebuildReport>>),
    /// Commit what is queued before it, then stop.
    Shutdown,
}

/// A command waiting in a batch, with where its answer goes.
pub(crate) type Pending = (Box<Submission>, oneshot::Sender<StoreResult<Committed>>);

/// The most commands waiting for a writer by default: at 8,000 commits a second, about a second's
/// worth. Past it a caller is refused at once (503) rather than queued without bound.
pub const QUEUE_CAPACITY: usize = 8192;

/// The callers' end.
pub(crate) struct Jobs(Sender<Job>);

/// The writer's end.
pub(crate) struct Queue(Receiver<Job>);

/// A queue holding at most `capacity` jobs.
pub(crate) fn queue(capacity: usize) -> (Jobs, Queue) {
    let (sender, receiver) = crossbeam_channel::bounded(capacity.max(1));
    (Jobs(sender), Queue(receiver))
}

impl Jobs {
    /// Queues a command and waits for the writer's answer; refuses it at once if the queue is
    /// full (backpressure: memory stays bounded and the caller can try again).
    pub(crate) async fn submit(&self, submission: Submission) -> StoreResult<Committed> {
        let (reply, answer) = oneshot::channel();
        match self.0.try_send(Job::Submit(Box::new(submission), reply)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(StoreError::Saturated(self.0.capacity().unwrap_or(0)));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(StoreError::Unavailable("the writer has stopped".into()));
            }
        }
        answer.await.map_err(|_| stopped_before_answering())?
    }

    /// Commands waiting for the writer.
    pub(crate) fn queued(&self) -> usize {
        self.0.len()
    }

    /// Asks the writer to rebuild the projections, after what is queued before.
    pub(crate) async fn rebuild(&self) -> StoreResult<RebuildReport> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Rebuild(reply))?;
        answer.await.map_err(|_| stopped_before_answering())?
    }

    /// Asks the writer to commit what is queued and stop.
    pub(crate) fn shutdown(&self) {
        let _ = self.0.send(Job::Shutdown);
    }

    fn send(&self, job: Job) -> StoreResult<()> {
        self.0
            .send(job)
            .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))
    }
}

fn stopped_before_answering() -> StoreError {
    StoreError::Unavailable("the writer stopped before answering".into())
}

/// What the writer does next.
pub(crate) enum Next {
    /// Nothing arrived for a while: a moment to follow other writers.
    Idle,
    /// Every caller's end is gone.
    Closed,
    /// Commit `batch`, then do `then`.
    Work { batch: Vec<Pending>, then: Then },
}

pub(crate) enum Then {
    Continue,
    Rebuild(oneshot::Sender<StoreResult<RebuildReport>>),
    Shutdown,
}

impl Queue {
    /// Waits for work and takes everything queued behind it, up to `max_batch` commands; a
    /// rebuild or a shutdown ends the batch, so it runs after what was queued before it.
    pub(crate) fn next(&self, max_batch: usize) -> Next {
        let mut job = match self.0.recv_timeout(IDLE_CHECK) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => return Next::Idle,
            Err(RecvTimeoutError::Disconnected) => return Next::Closed,
        };
        let mut batch = Vec::new();
        loop {
            let then = match job {
                Job::Submit(submission, reply) => {
                    batch.push((submission, reply));
                    None
                }
                Job::Rebuild(reply) => Some(Then::Rebuild(reply)),
                Job::Shutdown => Some(Then::Shutdown),
            };
            if let Some(then) = then {
                return Next::Work { batch, then };
            }
            let queued = if batch.len() < max_batch {
                self.0.try_recv().ok()
            } else {
                None
            };
            match queued {
                Some(queued) => job = queued,
                None => {
                    return Next::Work {
                        batch,
                        then: Then::Continue,
                    };
                }
            }
        }
    }
}
