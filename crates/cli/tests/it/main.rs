//! Integration tests against the real server on port 0 and the real `minsheng` binary, each over
//! a fresh database. One test binary, to keep link time down.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly; that is their job.

mod api_access;
mod api_calls;
mod api_errors;
mod api_lifecycle;
mod api_privacy;
mod api_queries;
mod browser;
mod citizen;
mod cli;
mod fuzz_http;
mod leaks;
mod logins;
mod matrix;
mod notify;
mod numbers_in_text;
mod open311;
mod operations;
mod postgres;
mod rebuild;
mod sessions;
mod tamper;
mod ui;
