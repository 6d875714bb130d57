//! The storage contract: every backend must pass `suite`. `sqlite` runs it on the embedded store,
//! `postgres` on a fresh schema of the database in `MINSHENG_TEST_POSTGRES_URL` (skipped when it
//! is not set); each adds what only it can show.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly; that is their job.

mod fixture;
mod outbox;
mod postgres;
mod queries;
mod sqlite;
mod suite;
