//! What a writer does with a batch, written once for both backends: commit it as one
//! transaction; if that fails before the commit, try each command alone so one bad command
//! cannot sink the others; refuse everything at once when the disk is full; and when the
//! connection failed during the commit itself, say the outcome is unknown instead of guessing.
//! A backend supplies the one attempt ([`Attempt::try_commit`]) and delivers the answers (SQLite
//! after its fsync, PostgreSQL at once).

use crate::{Committed, StoreError, StoreResult, Submission};

/// Why a batch did not commit. Before the commit was sent, nothing was written and the batch may
/// be retried; once it was sent and the answer lost, it may or may not have committed, and
/// retrying could record it twice.
pub(crate) enum Failure {
    BeforeCommit(StoreError),
    AtCommit(StoreError),
}

/// One writer's single attempt at a batch.
#[allow(async_fn_in_trait)]
pub(crate) trait Attempt {
    /// One transaction for the whole batch. On error nothing of it is left in the writer's view
    /// of the log (chain, registry, cache).
    async fn try_commit(
        &mut self,
        batch: &[&Submission],
    ) -> Result<Vec<StoreResult<Committed>>, Failure>;
}

const OUTCOME_UNKNOWN: &str = "the connection to the database failed while saving, so whether \
                               this was saved is unknown; look it up before trying again";

fn outcome_unknown() -> StoreError {
    StoreError::Unavailable(OUTCOME_UNKNOWN.into())
}

/// Each command's answer, in the batch's order.
pub(crate) async fn commit_batch(
    writer: &mut impl Attempt,
    batch: &[&Submission],
) -> Vec<StoreResult<Committed>> {
    let size = batch.len();
    match writer.try_commit(batch).await {
        Ok(results) => results,
        Err(Failure::AtCommit(error)) => {
            tracing::error!(%error, size, "the connection failed while committing a batch; its outcome is unknown");
            batch.iter().map(|_| Err(outcome_unknown())).collect()
        }
        Err(Failure::BeforeCommit(error)) if error.is_disk_full() => {
            tracing::error!(
                size,
                "the disk is full: {size} commands refused with 503, nothing written; writes resume by themselves once space is freed"
            );
            batch.iter().map(|_| Err(error.clone())).collect()
        }
        Err(Failure::BeforeCommit(error)) if size > 1 => {
            tracing::warn!(%error, size, "a batch failed; committing its commands one by one");
            let mut results = Vec::with_capacity(size);
            for submission in batch {
                results.push(match writer.try_commit(&[*submission]).await {
                    Ok(mut one) => one
                        .pop()
                        .unwrap_or_else(|| Err(StoreError::Database("no result".into()))),
                    Err(Failure::BeforeCommit(error)) => Err(error),
                    Err(Failure::AtCommit(error)) => {
                        tracing::error!(%error, "the connection failed during COMMIT");
                        Err(outcome_unknown())
                    }
                });
            }
            results
        }
        Err(Failure::BeforeCommit(error)) => {
            tracing::error!(%error, "a command failed to commit");
            vec![Err(error)]
        }
    }
}
