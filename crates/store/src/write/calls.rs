//! Call events on the write path, once for both backends. A report of call events becomes one
//! log entry (`call.events_recorded`) holding the events not recorded before; the calls they
//! belong to are folded again from all their events and written, and the difference the report
//! makes to each call's marks ([`CallMarks`]) is added to the per-interval rollups — all in the
//! transaction that appends the entry.
//!
//! Repeats are found by `(source, event id)` in `call_events`, and in what earlier commands of
//! the same batch recorded ([`CallBatch`]): PostgreSQL gathers writes until the commit, so a
//! read inside the batch cannot be relied on to see them.

use std::collections::{BTreeMap, BTreeSet};

use domain::audit::{LogEvent, Recorded};
use domain::calls::{Call, CallCounts, CallEvent, CallLogEvent, CallMarks};
use domain::ids::{CallEventId, CallId, CallSource};
use domain::org::Actor;
use domain::time::LogTime;

use super::WriteTx;
use super::rollup::Syntax;
use crate::registry::Registry;
use crate::{SealedContact, StoreError, StoreResult};

/// A call's projection row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallRow {
    pub source: String,
    pub call: String,
    pub status: &'static str,
    pub started_at: i64,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub caller: Option<i64>,
    pub state: String,
}

impl CallRow {
    pub fn of(call: &Call) -> StoreResult<Self> {
        let summary = call.summary();
        let started = summary.queued_at.or(summary.first_at).ok_or_else(|| {
            StoreError::Corrupt(format!("call {} {} has no events", call.source, call.id))
        })?;
        let state = serde_json::to_string(call)
            .map_err(|e| StoreError::Corrupt(format!("call {}: {e}", call.id)))?;
        Ok(Self {
            source: call.source.to_string(),
            call: call.id.to_string(),
            status: summary.status().as_str(),
            started_at: started.as_millisecond(),
            queue: summary.queue.as_ref().map(ToString::to_string),
            agent: summary.legs.last().map(|l| l.agent.to_string()),
            caller: summary.caller.map(|c| c.0 as i64),
            state,
        })
    }
}

/// Reads a stored call.
pub(crate) fn decode_call(state: &str) -> StoreResult<Call> {
    serde_json::from_str(state).map_err(|e| StoreError::Corrupt(format!("stored call: {e}")))
}

/// What the commands of one batch recorded so far, and the difference to the rollups.
#[derive(Default)]
pub(crate) struct CallBatch {
    calls: BTreeMap<(CallSource, CallId), Call>,
    events: BTreeSet<(CallSource, CallEventId)>,
    pub counts: CallCounts,
}

/// A decided report of call events.
pub(crate) struct CallPlan<'a> {
    pub at: LogTime,
    pub actor: &'a Actor,
    pub source: CallSource,
    /// The log entry, when any event is new.
    pub recorded: Option<Recorded>,
    pub new: Vec<CallEventId>,
    pub repeated: Vec<CallEventId>,
    /// The calls the new events changed, after them.
    pub calls: Vec<Call>,
    pub callers: Vec<&'a SealedContact>,
    pub counts: CallCounts,
}

/// The most events one report may carry.
pub const MAX_EVENTS_PER_REPORT: usize = 5_000;

#[allow(clippy::too_many_arguments)]
pub(crate) async fn prepare<'a, T: WriteTx>(
    tx: &mut T,
    batch: &CallBatch,
    registry: &Registry,
    actor: &'a Actor,
    at: LogTime,
    source: &CallSource,
    events: &[CallEvent],
    callers: &'a [SealedContact],
) -> StoreResult<CallPlan<'a>> {
    domain::calls::decide_record(actor, at, events, MAX_EVENTS_PER_REPORT)?;
    let ids: Vec<CallEventId> = events.iter().map(|e| e.id.clone()).collect();
    let known = tx.known_call_events(source, &ids).await?;
    let mut seen = BTreeSet::new();
    let (mut new, mut repeated) = (Vec::new(), Vec::new());
    for event in events {
        let before = known.contains(&event.id)
            || batch.events.contains(&(source.clone(), event.id.clone()))
            || !seen.insert(event.id.clone());
        if before {
            repeated.push(event.id.clone());
        } else {
            new.push(event.clone());
        }
    }
    if new.is_empty() {
        return Ok(CallPlan {
            at,
            actor,
            source: source.clone(),
            recorded: None,
            new: Vec::new(),
            repeated,
            calls: Vec::new(),
            callers: Vec::new(),
            counts: CallCounts::default(),
        });
    }
    let logged = LogEvent::Call(CallLogEvent::EventsRecorded {
        source: source.clone(),
        events: new,
    });
    let recorded = logged
        .recorded()
        .map_err(|e| StoreError::Corrupt(format!("call events do not read back: {e}")))?;
    // The calls fold what the log will hold, as a rebuild from it does.
    let LogEvent::Call(CallLogEvent::EventsRecorded { events: new, .. }) = &recorded.event else {
        return Err(StoreError::Corrupt(
            "call events read back as another kind of event".into(),
        ));
    };

    let touched: BTreeSet<CallId> = new.iter().map(|e| e.call.clone()).collect();
    let mut calls: BTreeMap<CallId, Call> = BTreeMap::new();
    let mut missing = Vec::new();
    for id in &touched {
        match batch.calls.get(&(source.clone(), id.clone())) {
            Some(call) => {
                calls.insert(id.clone(), call.clone());
            }
            None => missing.push(id.clone()),
        }
    }
    for call in tx.load_calls(source, &missing).await? {
        calls.insert(call.id.clone(), call);
    }
    let policy = &registry.rules.policy.calls;
    let mut counts = CallCounts::default();
    for id in &touched {
        let call = calls
            .entry(id.clone())
            .or_insert_with(|| Call::new(source.clone(), id.clone()));
        counts.add(&CallMarks::of(&call.summary(), policy), -1);
    }
    for event in new {
        if let Some(call) = calls.get_mut(&event.call) {
            call.add(event.clone());
        }
    }
    for call in calls.values() {
        counts.add(&CallMarks::of(&call.summary(), policy), 1);
    }
    let named: BTreeSet<u64> = new
        .iter()
        .filter_map(|e| match &e.step {
            domain::calls::CallStep::Arrived { caller: Some(c) } => Some(c.0),
            _ => None,
        })
        .collect();
    Ok(CallPlan {
        at,
        actor,
        source: source.clone(),
        new: new.iter().map(|e| e.id.clone()).collect(),
        recorded: Some(recorded),
        repeated,
        calls: calls.into_values().collect(),
        callers: callers.iter().filter(|c| named.contains(&c.id.0)).collect(),
        counts,
    })
}

/// Writes a decided report; returns the log entry's sequence number, if one was written.
pub(crate) async fn record<T: WriteTx>(
    tx: &mut T,
    chain: &mut super::Chain,
    batch: &mut CallBatch,
    plan: CallPlan<'_>,
) -> StoreResult<Option<u64>> {
    let Some(recorded) = &plan.recorded else {
        return Ok(None);
    };
    let entry = chain.next(plan.at, plan.actor, None, recorded)?;
    tx.insert_entry(&entry).await?;
    tx.record_call_events(&plan.source, &plan.new, entry.seq)
        .await?;
    for caller in &plan.callers {
        tx.insert_contact(caller).await?;
    }
    for call in plan.calls {
        tx.write_call(&CallRow::of(&call)?).await?;
        batch
            .calls
            .insert((plan.source.clone(), call.id.clone()), call);
    }
    batch
        .events
        .extend(plan.new.into_iter().map(|id| (plan.source.clone(), id)));
    batch.counts.merge(plan.counts);
    Ok(Some(entry.seq as u64))
}

/// Statements both backends run on the call rollups, written once; they differ only in how
/// parameters are written and rows sent ([`Syntax`]).
pub(crate) struct CallSql {
    pub upsert_queue: String,
    pub upsert_agent: String,
    /// Sums per queue and bucket: `?1` the period's start, `?2` its end, `?3` the bucket's
    /// length in ms.
    pub queue_sums: String,
    pub agent_sums: String,
}

const QUEUE_TABLE: &str = "call_queue_intervals";
const AGENT_TABLE: &str = "call_agent_intervals";

impl CallSql {
    pub fn sqlite() -> Self {
        Self::new(Syntax::SQLITE)
    }

    pub fn postgres() -> Self {
        Self::new(Syntax::POSTGRES)
    }

    fn new(Syntax { placeholder, rows }: Syntax) -> Self {
        let upsert = |table: &str, key: &str, fields: &[&str]| {
            let mut types = vec!["bigint", "text"];
            types.extend(std::iter::repeat_n("bigint", fields.len()));
            let added: Vec<String> = fields
                .iter()
                .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
                .collect();
            format!(
                "INSERT INTO {table} (interval_start, {key}, {}) {} \
                 ON CONFLICT (interval_start, {key}) DO UPDATE SET {}",
                fields.join(", "),
                rows(&types),
                added.join(", ")
            )
        };
        let (p1, p2, p3) = (placeholder(1), placeholder(2), placeholder(3));
        // SUM of a BIGINT is NUMERIC on PostgreSQL; the cast keeps both backends at integers.
        let sums = |table: &str, key: &str, fields: &[&str]| {
            let summed: Vec<String> = fields
                .iter()
                .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
                .collect();
            format!(
                "SELECT CAST((interval_start - {p1}) / {p3} AS BIGINT) AS bucket, {key}, {} \
                 FROM {table} WHERE interval_start >= {p1} AND interval_start < {p2} \
                 GROUP BY bucket, {key} ORDER BY bucket, {key}",
                summed.join(", ")
            )
        };
        let queue = domain::calls::QueueCounts::FIELDS;
        let agent = domain::calls::AgentCounts::FIELDS;
        Self {
            upsert_queue: upsert(QUEUE_TABLE, "queue", queue),
            upsert_agent: upsert(AGENT_TABLE, "agent", agent),
            queue_sums: sums(QUEUE_TABLE, "queue", queue),
            agent_sums: sums(AGENT_TABLE, "agent", agent),
        }
    }
}

/// Which of the two call rollups a statement or a row is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rollup {
    Queue,
    Agent,
}

impl Rollup {
    pub const BOTH: [Rollup; 2] = [Rollup::Queue, Rollup::Agent];

    /// How many counts a row holds.
    pub fn width(self) -> usize {
        match self {
            Self::Queue => domain::calls::QueueCounts::FIELDS.len(),
            Self::Agent => domain::calls::AgentCounts::FIELDS.len(),
        }
    }
}

impl CallSql {
    /// The summing statement of a rollup.
    pub fn sums(&self, rollup: Rollup) -> &str {
        match rollup {
            Rollup::Queue => &self.queue_sums,
            Rollup::Agent => &self.agent_sums,
        }
    }
}

/// Adds a summed row, as a backend read it (its key column's text and its counts), to `counts`.
pub(crate) fn add_summed(
    counts: &mut CallCounts,
    rollup: Rollup,
    interval: i64,
    key: &str,
    values: &[i64],
) -> StoreResult<()> {
    match rollup {
        Rollup::Queue => {
            let queue = parse_queue_column(key)?;
            let row = domain::calls::QueueCounts::from_values(values);
            counts
                .queues
                .insert(domain::calls::QueueKey { interval, queue }, row);
        }
        Rollup::Agent => {
            let agent = parse_agent_column(key)?;
            let row = domain::calls::AgentCounts::from_values(values);
            counts
                .agents
                .insert(domain::calls::AgentKey { interval, agent }, row);
        }
    }
    Ok(())
}

/// The stored form of a queue key: `''` for calls that never asked for a person.
pub(crate) fn queue_column(queue: &Option<domain::ids::QueueName>) -> String {
    queue.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn parse_queue_column(text: &str) -> StoreResult<Option<domain::ids::QueueName>> {
    if text.is_empty() {
        return Ok(None);
    }
    domain::ids::QueueName::parse(text)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("call rollup queue {text:?}: {e}")))
}

fn parse_agent_column(text: &str) -> StoreResult<domain::ids::AgentId> {
    domain::ids::AgentId::parse(text)
        .map_err(|e| StoreError::Corrupt(format!("call rollup agent {text:?}: {e}")))
}

/// Counting the call measures again from the log's call entries alone, as anyone holding the log
/// can: every call folded from all its events, then marked. `rebuild` uses the same fold.
/// Every call is held in memory (about a kilobyte each).
#[derive(Default)]
pub(crate) struct Recount {
    calls: std::collections::HashMap<(CallSource, CallId), Call>,
    /// `(source, event id)` → the entry that recorded it.
    events: BTreeMap<(String, String), i64>,
}

impl Recount {
    /// Folds one `call.events_recorded` entry's body.
    pub fn push(&mut self, seq: i64, body: &str) -> StoreResult<()> {
        let event = LogEvent::from_body("call.events_recorded", body.as_bytes())
            .map_err(|e| StoreError::Corrupt(format!("log entry {seq}: {e}")))?;
        let LogEvent::Call(CallLogEvent::EventsRecorded { source, events }) = event else {
            return Err(StoreError::Corrupt(format!(
                "log entry {seq} is not a call entry"
            )));
        };
        for event in events {
            self.events
                .insert((source.to_string(), event.id.to_string()), seq);
            self.calls
                .entry((source.clone(), event.call.clone()))
                .or_insert_with(|| Call::new(source.clone(), event.call.clone()))
                .add(event);
        }
        Ok(())
    }

    /// The counts of every interval.
    pub fn finish(self, policy: &domain::calls::CallPolicy) -> CallCounts {
        CallCounts::of_calls(self.calls.values(), policy).without_zeros()
    }

    /// What the call tables must hold, by the log.
    pub fn tables(self, policy: &domain::calls::CallPolicy) -> StoreResult<CallTables> {
        let counts = CallCounts::of_calls(self.calls.values(), policy).without_zeros();
        let mut rows = BTreeMap::new();
        for call in self.calls.values() {
            let row = CallRow::of(call)?;
            rows.insert((row.source.clone(), row.call.clone()), row);
        }
        Ok(CallTables {
            events: self.events,
            rows,
            counts,
        })
    }
}

/// The call tables' contents: recorded event ids, call rows, rollups (without zero rows).
#[derive(Default)]
pub(crate) struct CallTables {
    pub events: BTreeMap<(String, String), i64>,
    pub rows: BTreeMap<(String, String), CallRow>,
    pub counts: CallCounts,
}

/// What `rebuild` writes to make the stored call tables what the log says.
#[derive(Default)]
pub(crate) struct CallRepair {
    /// Rows to write, and rows with no call in the log.
    pub rows: Vec<CallRow>,
    pub stale_rows: Vec<(String, String)>,
    /// Event ids to write (`source`, `id`, `seq`), and ids no entry recorded.
    pub events: Vec<(String, String, i64)>,
    pub stale_events: Vec<(String, String)>,
    /// The rollups to replace the stored ones with, when they differ.
    pub counts: Option<CallCounts>,
    /// `source call` of each call whose row or event ids differed.
    pub named: BTreeSet<String>,
}

impl CallRepair {
    pub fn between(expected: CallTables, stored: CallTables) -> Self {
        let mut repair = Self::default();
        let name = |key: &(String, String)| format!("{} {}", key.0, key.1);
        for (key, row) in &expected.rows {
            if stored.rows.get(key) != Some(row) {
                repair.named.insert(name(key));
                repair.rows.push(row.clone());
            }
        }
        for key in stored.rows.keys() {
            if !expected.rows.contains_key(key) {
                repair.named.insert(name(key));
                repair.stale_rows.push(key.clone());
            }
        }
        for (key, seq) in &expected.events {
            if stored.events.get(key) != Some(seq) {
                repair.named.insert(format!("{} event {}", key.0, key.1));
                repair.events.push((key.0.clone(), key.1.clone(), *seq));
            }
        }
        for key in stored.events.keys() {
            if !expected.events.contains_key(key) {
                repair.named.insert(format!("{} event {}", key.0, key.1));
                repair.stale_events.push(key.clone());
            }
        }
        if stored.counts != expected.counts {
            repair.counts = Some(expected.counts);
        }
        repair
    }
}

/// A stored row's status back as the `'static` name rows carry.
pub(crate) fn stored_status(text: &str) -> StoreResult<&'static str> {
    text.parse::<domain::calls::CallStatus>()
        .map(|s| s.as_str())
        .map_err(|e| StoreError::Corrupt(format!("stored call status: {e}")))
}

/// A report's bucket in milliseconds: a whole number of 15-minute intervals.
pub(crate) fn bucket_ms(bucket: jiff::SignedDuration) -> StoreResult<i64> {
    let ms = bucket.as_millis() as i64;
    if ms <= 0 || ms % domain::calls::INTERVAL_MS != 0 {
        return Err(domain::DomainError::invalid(
            "bucket",
            format!("a call report's bucket must be a whole number of 15 minutes, not {bucket:?}"),
        )
        .into());
    }
    Ok(ms)
}
