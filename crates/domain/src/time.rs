//! Time as the log records it.
//!
//! The log stores an entry's time in whole milliseconds (`at_ms` in the canonical encoding), and
//! a ticket's projection is folded from the log. If a writer folded the clock's own reading (which
//! has nanoseconds) while the log kept only its milliseconds, the live projection and one rebuilt
//! from the log would differ in every ticket a running server touched. So the resolution is
//! decided once, here, and the fold (`Ticket::start`, `Ticket::apply`) takes only a [`LogTime`]:
//! a time of any other resolution cannot reach a projection.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant at the log's resolution (日志时间): whole milliseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogTime(Timestamp);

impl LogTime {
    /// The instant `at` falls in, at the log's resolution: its sub-millisecond part is dropped.
    pub fn of(at: Timestamp) -> Self {
        // Truncating towards zero cannot leave jiff's range, whose ends are whole seconds, so the
        // fallback never runs.
        Self::from_millisecond(at.as_millisecond()).unwrap_or(Self(at))
    }

    /// An instant stored as milliseconds since the Unix epoch, as the log stores it.
    pub fn from_millisecond(ms: i64) -> Result<Self, jiff::Error> {
        Timestamp::from_millisecond(ms).map(Self)
    }

    pub fn as_millisecond(self) -> i64 {
        self.0.as_millisecond()
    }

    pub fn timestamp(self) -> Timestamp {
        self.0
    }
}

impl From<LogTime> for Timestamp {
    fn from(at: LogTime) -> Self {
        at.0
    }
}

impl fmt::Debug for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogTime({})", self.0)
    }
}

impl fmt::Display for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for LogTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Reads any RFC 3339 instant and keeps its milliseconds, so even a value written at a finer
/// resolution becomes a log time.
impl<'de> Deserialize<'de> for LogTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Timestamp::deserialize(deserializer).map(Self::of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_reading_loses_only_its_sub_millisecond_part() {
        let reading: Timestamp = "2026-12-01T10:21:13.190780306Z".parse().unwrap();
        let at = LogTime::of(reading);
        assert_eq!(at.to_string(), "2026-12-01T10:21:13.19Z");
        assert_eq!(at.as_millisecond(), reading.as_millisecond());
        assert_eq!(LogTime::from_millisecond(at.as_millisecond()).unwrap(), at);
        // Already whole milliseconds: unchanged.
        assert_eq!(LogTime::of(at.timestamp()), at);
    }

    #[test]
    fn before_the_epoch_it_still_lands_on_a_whole_millisecond() {
        let reading: Timestamp = "1969-12-31T23:59:59.999999Z".parse().unwrap();
        let at = LogTime::of(reading);
        assert_eq!(at.timestamp().subsec_nanosecond() % 1_000_000, 0);
        assert_eq!(LogTime::from_millisecond(at.as_millisecond()).unwrap(), at);
    }

    #[test]
    fn reading_a_finer_stored_value_keeps_the_log_resolution() {
        let at: LogTime = serde_json::from_str("\"2026-12-01T10:21:13.190780306Z\"").unwrap();
        assert_eq!(
            serde_json::to_string(&at).unwrap(),
            "\"2026-12-01T10:21:13.19Z\""
        );
    }
}
