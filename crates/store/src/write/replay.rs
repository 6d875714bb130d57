//! Rebuilding, the part every backend shares: folding the log's ticket entries into tickets, and
//! comparing each rebuilt ticket's projection with the stored one, column by column.
//!
//! A backend streams the entries ticket by ticket in index order (`ORDER BY ticket, seq`), so
//! only one ticket is held at a time, and stores what [`compare`] says differs.

use domain::audit::LogEvent;
use domain::ids::TicketNo;
use domain::ticket::Ticket;
use domain::time::LogTime;

use super::TicketRow;
use crate::{Difference, StoreError, StoreResult};

/// A ticket's log entry as a backend reads it.
pub(crate) struct LogRow {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub ticket: i64,
    pub kind: String,
    pub body: String,
}

/// The fold of a stream of ticket entries, one ticket at a time.
#[derive(Default)]
pub(crate) struct Replay {
    current: Option<Ticket>,
}

impl Replay {
    /// Folds one entry. Returns the previous ticket, complete, when this entry starts another.
    pub(crate) fn push(&mut self, row: LogRow) -> StoreResult<Option<Ticket>> {
        let seq = row.seq;
        let corrupt = |what: String| StoreError::Corrupt(format!("log entry {seq}: {what}"));
        let no = TicketNo::from_storage(row.ticket).map_err(|e| corrupt(e.to_string()))?;
        let at = LogTime::from_millisecond(row.at_ms).map_err(|e| corrupt(e.to_string()))?;
        let LogEvent::Ticket(event) = LogEvent::from_body(&row.kind, row.body.as_bytes())
            .map_err(|e| corrupt(e.to_string()))?
        else {
            return Err(corrupt(format!("{} is not a ticket event", row.kind)));
        };
        if let Some(ticket) = self.current.as_mut().filter(|t| t.no == no) {
            ticket
                .apply(at, &event)
                .map_err(|e| corrupt(e.to_string()))?;
            return Ok(None);
        }
        let started =
            Ticket::start(no, at, &row.actor, &event).map_err(|e| corrupt(e.to_string()))?;
        Ok(self.current.replace(started))
    }

    /// The last ticket, once the stream has ended.
    pub(crate) fn finish(self) -> Option<Ticket> {
        self.current
    }
}

/// What a rebuild rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rewrite {
    /// Every projection that differs from the log: the supervisor's `rebuild`.
    Everything,
    /// Only projections that differ from the log in nothing but finer times: those written
    /// before times were kept at the log's resolution (a step of the upgrade past it). Anything
    /// else is left as found, for `rebuild` to report.
    FinerTimesOnly,
}

impl Rewrite {
    /// Whether the unit links are compared and written with their copies of the ticket's status
    /// and deadline. The upgrade step runs at schema version 5, before links carried them
    /// (version 9), and never changes links: it rewrites times only.
    pub(crate) fn links_with_copies(self) -> bool {
        self == Self::Everything
    }

    /// Whether a projection that differs from its rebuild is rewritten.
    pub(crate) fn covers(self, stored: Option<&TicketRow>, rebuilt: &TicketRow) -> bool {
        match self {
            Self::Everything => true,
            Self::FinerTimesOnly => stored.is_some_and(|s| differs_only_in_finer_times(s, rebuilt)),
        }
    }
}

/// Whether `stored` is `rebuilt` but for times kept at a finer resolution than the log's. The
/// integer columns always held milliseconds; only the folded state kept nanoseconds.
fn differs_only_in_finer_times(stored: &TicketRow, rebuilt: &TicketRow) -> bool {
    let columns_equal = TicketRow {
        state: String::new(),
        ..stored.clone()
    } == TicketRow {
        state: String::new(),
        ..rebuilt.clone()
    };
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    match (columns_equal, parse(&stored.state), parse(&rebuilt.state)) {
        (true, Some(mut old), Some(new)) => {
            at_log_resolution(&mut old);
            old == new
        }
        _ => false,
    }
}

/// Every instant in a JSON value, cut to the log's resolution.
fn at_log_resolution(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            if let Ok(at) = text.parse::<jiff::Timestamp>() {
                *text = LogTime::of(at).to_string();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(at_log_resolution),
        Value::Object(fields) => fields.values_mut().for_each(at_log_resolution),
        _ => {}
    }
}

/// Tells the operator what the upgrade step that rewrites finer times did.
pub(crate) fn report_upgrade(report: &crate::RebuildReport) {
    if report.tickets == 0 {
        return; // A new database: nothing was written before.
    }
    tracing::info!(
        rewritten = report.differing.len(),
        tickets = report.tickets,
        "upgrade: rewrote {} of {} ticket projections from the log, which had kept times finer \
         than the log's milliseconds (written before this version); this is not tampering",
        report.differing.len(),
        report.tickets
    );
    if !report.left_as_found.is_empty() {
        tracing::warn!(
            differing = report.left_as_found.len(),
            "upgrade: {} ticket projections differ from the log in more than their times and \
             were left as found: run `minsheng rebuild` to see what differs and repair them",
            report.left_as_found.len()
        );
    }
}

/// How a stored projection differs from the one rebuilt from the log, or `None` when it is
/// exactly the same.
pub(crate) fn compare(
    stored: Option<&TicketRow>,
    rebuilt: &TicketRow,
) -> StoreResult<Option<Difference>> {
    let no = TicketNo::from_storage(rebuilt.no).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let Some(stored) = stored else {
        return Ok(Some(Difference {
            no,
            fields: vec!["(no projection row)".into()],
        }));
    };
    if stored == rebuilt {
        return Ok(None);
    }
    let mut fields = Vec::new();
    let columns: [(&str, bool); 9] = [
        ("status", stored.keys.status != rebuilt.keys.status),
        ("lead_unit", stored.keys.lead_unit != rebuilt.keys.lead_unit),
        ("due_at", stored.keys.due_at != rebuilt.keys.due_at),
        ("units", stored.keys.units != rebuilt.keys.units),
        ("category", stored.category != rebuilt.category),
        ("received_at", stored.received_at != rebuilt.received_at),
        ("updated_at", stored.updated_at != rebuilt.updated_at),
        ("contact_id", stored.contact_id != rebuilt.contact_id),
        ("version", stored.version != rebuilt.version),
    ];
    fields.extend(
        columns
            .iter()
            .filter(|(_, d)| *d)
            .map(|(name, _)| (*name).to_owned()),
    );
    if stored.state != rebuilt.state {
        match serde_json::from_str::<serde_json::Value>(&stored.state) {
            Ok(mut old) => {
                let new: serde_json::Value = serde_json::from_str(&rebuilt.state)?;
                let before = fields.len();
                let finer = old.clone();
                // Times finer than the log's (written before they were kept at its resolution)
                // are named once, apart from differences in what the state says.
                at_log_resolution(&mut old);
                json_differences("state", &old, &new, &mut fields);
                if finer != old {
                    fields.push("state (times finer than the log's)".into());
                } else if fields.len() == before {
                    // Same values, other bytes (key order, spacing): still not what a writer writes.
                    fields.push("state (same values, other encoding)".into());
                }
            }
            Err(_) => fields.push("state (not JSON)".into()),
        }
    }
    Ok(Some(Difference { no, fields }))
}

/// The most paths one ticket reports; a projection replaced wholesale does not need hundreds.
const MOST_PATHS: usize = 12;

/// Appends the paths (`state.assignments[0].signed_at`) where two JSON values differ.
fn json_differences(
    path: &str,
    old: &serde_json::Value,
    new: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if old == new || out.len() >= MOST_PATHS {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let (x, y) = (a.get(key), b.get(key));
                let here = format!("{path}.{key}");
                match (x, y) {
                    (Some(x), Some(y)) => json_differences(&here, x, y, out),
                    _ if out.len() < MOST_PATHS => out.push(here),
                    _ => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_differences(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ => out.push(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::Keys;

    fn row(state: &str, received_at: i64) -> TicketRow {
        TicketRow {
            no: 2_612_010_000_001,
            keys: Keys {
                status: "dispatched",
                lead_unit: Some("roads".into()),
                due_at: Some(5),
                units: vec![("roads".into(), true)],
            },
            category: "070101".into(),
            received_at,
            updated_at: received_at,
            contact_id: None,
            version: 2,
            state: state.into(),
        }
    }

    #[test]
    fn a_difference_names_the_columns_and_the_paths_inside_the_state() {
        let rebuilt = row(
            r#"{"received_at":"2026-12-01T10:21:13.19Z","assignments":[{"signed_at":null}]}"#,
            1,
        );
        assert_eq!(compare(Some(&rebuilt), &rebuilt).unwrap(), None);
        let stored = row(
            r#"{"received_at":"2026-12-01T10:21:13.190780306Z","assignments":[{"signed_at":"x"}]}"#,
            2,
        );
        let difference = compare(Some(&stored), &rebuilt).unwrap().unwrap();
        assert_eq!(
            difference.fields,
            [
                "received_at",
                "updated_at",
                "state.assignments[0].signed_at",
                "state (times finer than the log's)"
            ]
        );
        // An upgrade rewrites only what finer times explain.
        assert!(!Rewrite::FinerTimesOnly.covers(Some(&stored), &rebuilt));
        let finer_only = row(
            r#"{"received_at":"2026-12-01T10:21:13.190780306Z","assignments":[{"signed_at":null}]}"#,
            1,
        );
        assert!(Rewrite::FinerTimesOnly.covers(Some(&finer_only), &rebuilt));
        assert_eq!(
            compare(Some(&finer_only), &rebuilt)
                .unwrap()
                .unwrap()
                .fields,
            ["state (times finer than the log's)"]
        );
        assert!(!Rewrite::FinerTimesOnly.covers(None, &rebuilt));
        assert!(Rewrite::Everything.covers(None, &rebuilt));
        let missing = compare(None, &rebuilt).unwrap().unwrap();
        assert_eq!(missing.fields, ["(no projection row)"]);
        let garbled = compare(Some(&row("{oops", 1)), &rebuilt).unwrap().unwrap();
        assert_eq!(garbled.fields, ["state (not JSON)"]);
    }
}
