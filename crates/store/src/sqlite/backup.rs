//! Online backups of a SQLite installation and their restore.
//!
//! `backup` copies the database as of one moment while the server keeps writing: `VACUUM INTO`
//! runs inside one read transaction, so the copy is a consistent snapshot (readers never block
//! the writer in WAL mode). The copy is written beside its destination, its log verified, then
//! renamed into place, so a failed backup leaves no file that looks like one. `restore` refuses a
//! copy whose log does not verify (or does not end at the head the caller wrote down), and never
//! overwrites a database.

use std::fs::File;
use std::path::{Path, PathBuf};

use domain::audit::{ChainHead, Hash};

use super::{create_private, open_existing_reader, read};
use crate::{StoreError, StoreResult};

/// Copies the database at `from` to `to` (which must not exist) as of one moment, while writes
/// continue; returns the copy's head after verifying its whole log.
pub fn backup(from: &Path, to: &Path) -> StoreResult<ChainHead> {
    refuse_existing(to)?;
    put_in_place(to, None, |partial| {
        let conn = open_existing_reader(from)?;
        conn.execute("VACUUM INTO ?1", [path_text(partial)?])?;
        Ok(())
    })
}

/// Restores the copy at `from` as the database `to` (which must not exist), after verifying its
/// log, and that it ends at `expected` when given. Returns the restored head.
pub fn restore(from: &Path, to: &Path, expected: Option<(u64, Hash)>) -> StoreResult<ChainHead> {
    refuse_existing(to)?;
    verified(from, expected)?;
    // Checked again as written: the bytes that will be served are the ones that verified.
    put_in_place(to, expected, |partial| {
        std::fs::copy(from, partial).map_err(|e| io("cannot copy the backup", from, e))?;
        Ok(())
    })
}

/// Has `write` fill an empty private file beside `to` (`VACUUM INTO` takes an empty file it
/// finds; creating it first keeps it 0600), verifies its log, flushes it and renames it into
/// place; on any failure removes it, so nothing that looks like a database is left behind.
fn put_in_place(
    to: &Path,
    expected: Option<(u64, Hash)>,
    write: impl FnOnce(&Path) -> StoreResult<()>,
) -> StoreResult<ChainHead> {
    let partial = partial_path(to);
    let _ = std::fs::remove_file(&partial);
    create_private(&partial)?;
    let result = write(&partial)
        .and_then(|()| verified(&partial, expected))
        .and_then(|head| {
            sync_file(&partial)?;
            std::fs::rename(&partial, to)
                .map_err(|e| io("cannot move the copy into place", to, e))?;
            sync_dir(to)?;
            Ok(head)
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn verified(path: &Path, expected: Option<(u64, Hash)>) -> StoreResult<ChainHead> {
    let conn = open_existing_reader(path)?;
    match read::verify(&conn, expected)? {
        Ok(head) => Ok(head),
        Err(broken) => Err(StoreError::Corrupt(format!(
            "the copy {} fails verification at entry {}: {broken}; it is not a faithful copy of the log",
            path.display(),
            broken.first_bad_entry()
        ))),
    }
}

fn refuse_existing(to: &Path) -> StoreResult<()> {
    let wal = super::sync::wal_path(to);
    if to.exists() || wal.exists() {
        return Err(StoreError::Conflict(format!(
            "{} already exists; choose a new file (nothing is ever overwritten)",
            to.display()
        )));
    }
    Ok(())
}

fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.as_os_str().to_os_string();
    name.push(".partial");
    name.into()
}

fn path_text(path: &Path) -> StoreResult<&str> {
    path.to_str().ok_or_else(|| {
        StoreError::Database(format!("the path {} is not valid UTF-8", path.display()))
    })
}

fn sync_file(path: &Path) -> StoreResult<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("cannot flush", path, e))
}

fn sync_dir(path: &Path) -> StoreResult<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    File::open(dir.unwrap_or(Path::new(".")))
        .and_then(|d| d.sync_all())
        .map_err(|e| io("cannot flush the directory of", path, e))
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Database(format!("{what} {}: {e}", path.display()))
}
