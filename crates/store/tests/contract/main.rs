//! The storage contract: every backend must pass `suite`. `sqlite` runs it on the embedded store
//! and adds what only a file database can show (reopening, raw tampering).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly; that is their job.

mod fixture;
mod sqlite;
mod suite;
