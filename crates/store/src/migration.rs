//! What both backends' migrations share: the kinds of step, and a checksum of each released step,
//! recorded when it is applied and compared at every start, so a released migration that was
//! edited afterwards is refused instead of silently leaving installations on different schemas.

use sha2::{Digest, Sha256};

use crate::{StoreError, StoreResult};

/// One step of the schema's history.
pub(crate) enum Step {
    Sql(&'static str),
    /// Ticket projections written before times were kept at the log's resolution held the
    /// clock's nanoseconds; they are rewritten from the log once (see `domain::time`).
    ProjectionsAtLogResolution,
}

impl Step {
    /// SHA-256 of the step's SQL (or of a name for a step in code), in hex.
    pub(crate) fn checksum(&self) -> String {
        let text = match self {
            Step::Sql(sql) => sql,
            Step::ProjectionsAtLogResolution => "code: projections at the log's resolution, v1",
        };
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Compares the checksum recorded when `version` was applied with this binary's step. `None`:
/// applied before checksums were kept; the caller records the current one.
pub(crate) fn check(version: i64, recorded: Option<&str>, step: &Step) -> StoreResult<()> {
    match recorded {
        Some(recorded) if recorded != step.checksum() => Err(StoreError::Database(format!(
            "migration {version} differs from the one this database applied (checksum {recorded}, \
             this minsheng has {}): a released migration was edited. Use a minsheng built from the \
             released migration files; a schema change is always a new migration",
            step.checksum()
        ))),
        _ => Ok(()),
    }
}

/// Test support: fails unless `steps` have exactly the `released` checksums (their first 16 hex
/// digits). A failure means a released migration was edited: undo the edit and add a new one.
#[cfg(test)]
pub(crate) fn assert_released(steps: &[(i64, Step)], released: &[(i64, &str)]) {
    let checksums: Vec<(i64, String)> = steps
        .iter()
        .map(|(v, step)| (*v, step.checksum()[..16].to_owned()))
        .collect();
    let released: Vec<(i64, String)> = released
        .iter()
        .map(|(v, c)| (*v, (*c).to_owned()))
        .collect();
    assert_eq!(checksums, released);
}
