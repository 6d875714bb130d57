//! minsheng's pure core: the 12345 ticket lifecycle, who may do what, working-time deadlines,
//! KPI formulas and the hash-chained audit record. Invariant: no IO, no clock, no async — time,
//! the actor and every lookup are parameters.

pub mod access;
pub mod admin;
pub mod audit;
pub mod calendar;
pub mod calls;
pub mod category;
pub mod division;
pub mod error;
pub mod ids;
pub mod kpi;
pub mod media;
mod names;
pub mod notify;
pub mod numbers;
pub mod open311;
pub mod org;
pub mod permission;
pub mod phone;
pub mod policy;
pub mod privacy;
pub mod ticket;
pub mod time;

pub use error::{DomainError, ParseError};
