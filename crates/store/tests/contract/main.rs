//! The storage contract: every backend must pass `suite`. `sqlite` runs it on the embedded store
//! and adds what only a file database can show (reopening, raw tampering).

mod fixture;
mod sqlite;
mod suite;
