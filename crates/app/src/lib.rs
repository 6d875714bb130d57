//! The use cases of minsheng. Each takes the acting user and `now`, checks permission first,
//! and submits one command whose events, projections and audit entry commit together.
//! Web, CLI, Open311 and jobs all come through here.
//!
//! Invariant: no HTTP, no HTML, no SQL here; the store is reached only through its trait.

pub mod access;
pub mod admin;
pub mod auth;
pub mod bootstrap;
pub mod calls;
pub mod citizen;
pub mod clock;
pub mod error;
pub mod export;
mod hashing;
pub mod kpi;
pub mod notify;
pub mod open311;
pub mod photo;
pub mod shipped;
pub mod throttle;
pub mod tickets;
pub mod vault;
pub mod views;
pub mod workstation;
mod written;

use std::sync::Arc;

use jiff::Timestamp;
use store::{Registry, Store};

pub use error::{AppError, AppResult};

use crate::auth::TokenCache;
use crate::clock::Clock;
use crate::vault::Vault;

/// Password checks that may run at once.
const PASSWORD_CHECKS: usize = 4;

pub struct App {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    clock: Arc<dyn Clock>,
    tokens: TokenCache,
    logins: throttle::LoginThrottle,
    passwords: hashing::PasswordChecks,
}

impl App {
    pub fn new(store: Arc<dyn Store>, vault: Arc<Vault>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            vault,
            clock,
            tokens: TokenCache::default(),
            logins: throttle::LoginThrottle::default(),
            passwords: hashing::PasswordChecks::start(PASSWORD_CHECKS),
        }
    }

    /// The current time, for callers at the edge (HTTP handlers, CLI commands).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub fn registry(&self) -> Arc<Registry> {
        self.store.registry()
    }
}
