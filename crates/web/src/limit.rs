//! Requests per window per key (an API key, a client address), counted on this node in fixed
//! windows. A key over its limit is answered 429 until its window ends; nothing is recorded for
//! it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// What one Open311 key may send in a minute unless configured otherwise.
pub const DEFAULT_PER_MINUTE: u32 = 60;
/// What one address may ask of the public Open311 interface in a minute.
pub const OPEN311_PER_ADDRESS: u32 = 120;
/// Requests one address may submit on the citizen page in an hour.
pub const CITIZEN_SUBMISSIONS_PER_HOUR: u32 = 10;
pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(3600);
/// Windows of this many keys are forgotten at once when the table grows past it.
const KEYS_LIMIT: usize = 100_000;

pub struct RateLimit {
    per_window: u32,
    window: Duration,
    windows: Mutex<HashMap<[u8; 32], (Instant, u32)>>,
}

impl RateLimit {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self) -> u32 {
        self.per_window
    }

    /// Counts one request of `key` at `now`; false when it is over the limit.
    pub fn allow(&self, key: &str, now: Instant) -> bool {
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        if windows.len() >= KEYS_LIMIT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let window = windows.entry(hash).or_insert((now, 0));
        if now.duration_since(window.0) >= self.window {
            *window = (now, 0);
        }
        window.1 += 1;
        window.1 <= self.per_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_its_limit_waits_for_the_next_minute_and_others_are_unaffected() {
        let limit = RateLimit::new(3, MINUTE);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limit.allow("k1", t0)));
        assert!(!limit.allow("k1", t0 + Duration::from_secs(10)));
        assert!(limit.allow("k2", t0 + Duration::from_secs(10)));
        assert!(limit.allow("k1", t0 + Duration::from_secs(61)));
    }
}
