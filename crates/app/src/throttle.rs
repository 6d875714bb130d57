//! Slowing down password guessing. Failed logins are counted per account at an address and per
//! address; past a few, each further try must wait a back-off that doubles with every failure
//! (up to a cap). A refused try does not even run the password hash. The real user, coming from
//! another address, is not held up by an attacker's failures at theirs.
//!
//! The counts live in this node's memory (bounded; a restart forgets them), which is enough to
//! make guessing slow: at the cap one account at one address gets a few tries an hour.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// Failures of one account at one address before the back-off starts.
const ACCOUNT_FREE_TRIES: u32 = 5;
/// Failures at one address, whatever the accounts, before the back-off starts.
const ADDRESS_FREE_TRIES: u32 = 20;
/// The longest wait; failures older than this are forgotten.
const LONGEST_WAIT: SignedDuration = SignedDuration::from_mins(15);
/// Entries kept at most; past this the oldest half is dropped.
const MOST_ENTRIES: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Account(String, IpAddr),
    Address(IpAddr),
}

#[derive(Default)]
pub(crate) struct LoginThrottle(Mutex<HashMap<Key, Failures>>);

impl LoginThrottle {
    /// How long `account` at `address` must still wait, if at all.
    pub(crate) fn wait(
        &self,
        account: &str,
        address: IpAddr,
        now: Timestamp,
    ) -> Option<SignedDuration> {
        let map = self.0.lock().ok()?;
        let waits = [
            (
                Key::Account(account.to_owned(), address),
                ACCOUNT_FREE_TRIES,
            ),
            (Key::Address(address), ADDRESS_FREE_TRIES),
        ];
        waits
            .into_iter()
            .filter_map(|(key, free)| {
                let f = map.get(&key)?;
                let until = f.last + back_off(f.count, free)?;
                (until > now).then(|| until.duration_since(now))
            })
            .max()
    }

    pub(crate) fn failed(&self, account: &str, address: IpAddr, now: Timestamp) {
        let Ok(mut map) = self.0.lock() else {
            return;
        };
        if map.len() >= MOST_ENTRIES {
            forget_oldest_half(&mut map);
        }
        for key in [
            Key::Account(account.to_owned(), address),
            Key::Address(address),
        ] {
            let entry = map.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            // A failure long after the last one starts the count again.
            if now.duration_since(entry.last) > LONGEST_WAIT {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
        }
    }

    /// A correct password clears that account's failures at that address.
    pub(crate) fn succeeded(&self, account: &str, address: IpAddr) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&Key::Account(account.to_owned(), address));
        }
    }
}

/// The wait after `count` failures when `free` go unpunished: 1 s, 2 s, 4 s, … up to the cap.
fn back_off(count: u32, free: u32) -> Option<SignedDuration> {
    let over = count.checked_sub(free)?;
    let seconds = 1i64.checked_shl(over).unwrap_or(i64::MAX);
    Some(SignedDuration::from_secs(seconds).min(LONGEST_WAIT))
}

fn forget_oldest_half(map: &mut HashMap<Key, Failures>) {
    let mut times: Vec<Timestamp> = map.values().map(|f| f.last).collect();
    times.sort_unstable();
    let cut = times[times.len() / 2];
    map.retain(|_, f| f.last > cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_795_658_400 + seconds).unwrap()
    }

    #[test]
    fn guessing_slows_down_for_that_account_and_address_only() {
        let throttle = LoginThrottle::default();
        let attacker: IpAddr = "10.0.0.66".parse().unwrap();
        let user: IpAddr = "10.0.0.7".parse().unwrap();
        for i in 0..ACCOUNT_FREE_TRIES {
            assert_eq!(throttle.wait("supervisor", attacker, at(i.into())), None);
            throttle.failed("supervisor", attacker, at(i.into()));
        }
        // Right after the fifth failure the next try waits a second, and not after it.
        let first = throttle.wait("supervisor", attacker, at(4)).unwrap();
        assert_eq!(first, SignedDuration::from_secs(1));
        assert_eq!(throttle.wait("supervisor", attacker, at(5)), None);
        for i in 0..6 {
            throttle.failed("supervisor", attacker, at(10 + i));
        }
        let later = throttle.wait("supervisor", attacker, at(16)).unwrap();
        assert!(later >= SignedDuration::from_secs(60), "{later:?}");
        // The real user at their own desk is not held up.
        assert_eq!(throttle.wait("supervisor", user, at(16)), None);
        // Past the cap the wait stops growing, and a quiet spell forgets the failures.
        for i in 0..40 {
            throttle.failed("supervisor", attacker, at(20 + i));
        }
        assert_eq!(
            throttle.wait("supervisor", attacker, at(59)),
            Some(LONGEST_WAIT)
        );
        assert_eq!(
            throttle.wait("supervisor", attacker, at(60 + 16 * 60)),
            None
        );
    }

    #[test]
    fn one_address_trying_many_accounts_is_slowed_too() {
        let throttle = LoginThrottle::default();
        let sprayer: IpAddr = "10.0.0.66".parse().unwrap();
        for i in 0..ADDRESS_FREE_TRIES {
            throttle.failed(&format!("user{i}"), sprayer, at(i.into()));
        }
        assert!(throttle.wait("someone-else", sprayer, at(19)).is_some());
        throttle.succeeded("user1", sprayer);
        assert!(
            throttle.wait("someone-else", sprayer, at(19)).is_some(),
            "a success elsewhere does not clear the address"
        );
    }
}
