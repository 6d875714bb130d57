//! Requests per minute per API key, counted on this node in one-minute windows. A key over its
//! limit is answered 429 until the window ends; nothing is recorded for it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// What one key may send in a minute unless configured otherwise.
pub const DEFAULT_PER_MINUTE: u32 = 60;
const WINDOW: Duration = Duration::from_secs(60);
/// Windows of this many keys are forgotten at once when the table grows past it.
const KEYS_LIMIT: usize = 100_000;

pub struct RateLimit {
    per_minute: u32,
    windows: Mutex<HashMap<[u8; 32], (Instant, u32)>>,
}

impl RateLimit {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self) -> u32 {
        self.per_minute
    }

    /// Counts one request of `key` at `now`; false when it is over the limit.
    pub fn allow(&self, key: &str, now: Instant) -> bool {
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        if windows.len() >= KEYS_LIMIT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let window = windows.entry(hash).or_insert((now, 0));
        if now.duration_since(window.0) >= WINDOW {
            *window = (now, 0);
        }
        window.1 += 1;
        window.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_its_limit_waits_for_the_next_minute_and_others_are_unaffected() {
        let limit = RateLimit::new(3);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limit.allow("k1", t0)));
        assert!(!limit.allow("k1", t0 + Duration::from_secs(10)));
        assert!(limit.allow("k2", t0 + Duration::from_secs(10)));
        assert!(limit.allow("k1", t0 + Duration::from_secs(61)));
    }
}
