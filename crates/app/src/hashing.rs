//! Password checks on a few threads of their own. Argon2 takes about 19 MiB per check, and the
//! allocator keeps what a thread used; so checks run on a fixed set of threads, and a login waits
//! for one (a semaphore, with a time limit) instead of a flood starting hundreds at once.

use crossbeam_channel::Sender;
use tokio::sync::{Semaphore, oneshot};

use crate::auth::verify_password;
use crate::error::{AppError, AppResult};

/// How long a login waits for a free check before the server says it is busy.
const QUEUE: std::time::Duration = std::time::Duration::from_secs(10);

type Job = (String, String, oneshot::Sender<bool>);

pub(crate) struct PasswordChecks {
    jobs: Sender<Job>,
    free: Semaphore,
}

impl PasswordChecks {
    pub(crate) fn start(threads: usize) -> Self {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for i in 0..threads {
            let queue = queue.clone();
            // Ends when the last sender (this struct) is dropped.
            let spawned = std::thread::Builder::new()
                .name(format!("minsheng-password-{i}"))
                .spawn(move || {
                    for (password, hash, reply) in queue {
                        let _ = reply.send(verify_password(&password, &hash));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-check thread");
            }
        }
        Self {
            jobs,
            free: Semaphore::new(threads),
        }
    }

    /// Whether `password` matches `hash`, checked on one of the threads once one is free.
    pub(crate) async fn verify(&self, password: String, hash: String) -> AppResult<bool> {
        let _permit = tokio::time::timeout(QUEUE, self.free.acquire())
            .await
            .map_err(|_| AppError::Unavailable("the server is busy checking passwords".into()))?
            .map_err(|_| AppError::Unavailable("the server is stopping".into()))?;
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((password, hash, reply))
            .map_err(|_| AppError::Unavailable("the password checks have stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("a password check thread stopped".into()))
    }
}
