//! Calls from the call centre's ACD/CTI: recording the events it reports (the caller's number
//! sealed before anything stores it) and the GB/T 33358 call measures.

use domain::calls::{
    AgentMeasures, Call, CallBucket, CallCounts, CallPolicy, QueueCounts, QueueMeasures,
    ReportedCallEvent,
};
use domain::ids::{CallId, CallSource, ContactId};
use domain::org::Actor;
use domain::permission::{Action, require};
use domain::phone::PhoneNumber;
use domain::privacy::Contact;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use crate::App;
use crate::error::{AppError, AppResult};
use crate::vault::Vault;

/// What a report of call events did.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CallsRecorded {
    /// Events recorded now.
    pub recorded: usize,
    /// Ids of events recorded before (by this source): nothing changed for them.
    pub repeated: Vec<String>,
    /// The log entry holding the new events, if any.
    pub entry: Option<u64>,
}

/// Where call measures are counted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallCountSource {
    /// The per-interval rollups kept with the events (what screens read).
    Rollups,
    /// Every call folded again from the log's call entries: what anyone holding the log can
    /// recompute.
    Log,
}

impl std::str::FromStr for CallCountSource {
    type Err = domain::DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "rollups" => Ok(Self::Rollups),
            "log" => Ok(Self::Log),
            other => Err(domain::DomainError::invalid(
                "source",
                format!("source {other:?} must be rollups or log"),
            )),
        }
    }
}

/// The call measures of a period.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CallReport {
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    #[schema(value_type = String)]
    pub bucket: CallBucket,
    pub source: CallCountSource,
    /// The thresholds counted with.
    #[schema(value_type = Object)]
    pub policy: CallPolicy,
    /// Every queue over the whole period.
    pub total: QueueMeasures,
    /// Per bucket and queue, in time order (`queue` absent: calls that never asked for a person).
    pub queues: Vec<QueueRow>,
    /// Per bucket and agent, in time order.
    pub agents: Vec<AgentRow>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct QueueRow {
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    pub queue: Option<String>,
    pub measures: QueueMeasures,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AgentRow {
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    pub agent: String,
    pub measures: AgentMeasures,
}

/// What an ACD sends when the caller's number is withheld or unknown.
fn withheld(number: &str) -> bool {
    let n = number.trim().to_ascii_lowercase();
    n.is_empty()
        || [
            "anonymous",
            "unknown",
            "private",
            "restricted",
            "unavailable",
        ]
        .contains(&n.as_str())
        || n.bytes().all(|b| b == b'0')
}

impl App {
    /// Records call events an ACD/CTI reports. The whole report is refused if any event is
    /// malformed (the message names it), so a retry after fixing it records everything once;
    /// events recorded before are skipped, by source and id.
    pub async fn record_calls(
        &self,
        actor: &Actor,
        now: Timestamp,
        source: &str,
        reported: &[ReportedCallEvent],
    ) -> AppResult<CallsRecorded> {
        require(actor, Action::RecordCalls, None)?;
        let source = CallSource::parse(source)?;
        let mut events = Vec::with_capacity(reported.len());
        let mut callers = Vec::new();
        for (i, event) in reported.iter().enumerate() {
            let which = |e: &dyn std::fmt::Display| {
                AppError::Refused(domain::DomainError::invalid(
                    "events",
                    format!("event {} (id {:?}): {e}", i + 1, event.id),
                ))
            };
            let checked = event.check().map_err(|e| which(&e))?;
            let caller = match checked.caller.as_deref().filter(|c| !withheld(c)) {
                Some(number) => {
                    let phone = PhoneNumber::parse(number).map_err(|e| which(&e))?;
                    let contact = Contact {
                        name: None,
                        phone: Some(phone),
                        address: None,
                        email: None,
                    };
                    let sealed = self.vault.seal(Vault::new_contact_id(now)?, &contact)?;
                    let id: ContactId = sealed.id;
                    callers.push(sealed);
                    Some(id)
                }
                None => None,
            };
            events.push(checked.with_caller(caller));
        }
        let committed = self
            .submit(
                actor,
                now,
                store::Command::RecordCalls {
                    source,
                    events,
                    callers,
                },
            )
            .await?;
        match committed {
            store::Committed::Calls {
                seq,
                recorded,
                repeated,
            } => Ok(CallsRecorded {
                recorded: recorded.len(),
                repeated: repeated.iter().map(ToString::to_string).collect(),
                entry: seq,
            }),
            _ => Err(AppError::Internal(
                "recording calls answered with another kind of result".into(),
            )),
        }
    }

    /// A call as its events add up, for the centre's staff.
    pub async fn call(&self, actor: &Actor, source: &str, id: &str) -> AppResult<Call> {
        require(actor, Action::ViewCalls, None)?;
        let (source, id) = (CallSource::parse(source)?, CallId::parse(id)?);
        self.store
            .call(&source, &id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no call {id} from {source}")))
    }

    /// The call measures of `[from, to)` by `bucket`, per queue and per agent.
    pub async fn call_report(
        &self,
        actor: &Actor,
        from: Timestamp,
        to: Timestamp,
        bucket: CallBucket,
        source: CallCountSource,
    ) -> AppResult<CallReport> {
        require(actor, Action::ViewCalls, None)?;
        let counts = self.call_counts(from, to, bucket, source).await?;
        let policy = self.registry().rules.policy.calls;
        let mut total = QueueCounts::default();
        for counts in counts.queues.values() {
            total.add(counts, 1);
        }
        let at = |ms: i64| Timestamp::from_millisecond(ms).unwrap_or(from);
        Ok(CallReport {
            from,
            to,
            bucket,
            source,
            policy,
            total: QueueMeasures::of(&total),
            queues: counts
                .queues
                .iter()
                .map(|(key, c)| QueueRow {
                    start: at(key.interval),
                    queue: key.queue.as_ref().map(ToString::to_string),
                    measures: QueueMeasures::of(c),
                })
                .collect(),
            agents: counts
                .agents
                .iter()
                .map(|(key, c)| AgentRow {
                    start: at(key.interval),
                    agent: key.agent.to_string(),
                    measures: AgentMeasures::of(c),
                })
                .collect(),
        })
    }

    /// The counts behind [`App::call_report`].
    pub async fn call_counts(
        &self,
        from: Timestamp,
        to: Timestamp,
        bucket: CallBucket,
        source: CallCountSource,
    ) -> AppResult<CallCounts> {
        if to <= from {
            return Err(
                domain::DomainError::invalid("to", "the period ends before it starts").into(),
            );
        }
        let (from_ms, to_ms) = (from.as_millisecond(), to.as_millisecond());
        if from_ms % domain::calls::INTERVAL_MS != 0 || to_ms % domain::calls::INTERVAL_MS != 0 {
            return Err(domain::DomainError::invalid(
                "from",
                "a call report starts and ends on a quarter hour (…:00, :15, :30 or :45)",
            )
            .into());
        }
        let bucket_ms = bucket.millis(to_ms - from_ms);
        Ok(match source {
            CallCountSource::Rollups => self
                .store
                .call_counts(from, to, jiff::SignedDuration::from_millis(bucket_ms))
                .await?
                .without_zeros(),
            CallCountSource::Log => self
                .store
                .call_counts_from_log()
                .await?
                .rebucket(from_ms, to_ms, bucket_ms),
        })
    }
}

/// A call for the API: its events (the caller's sealed id left out) and what they add up to.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CallView {
    pub source: String,
    pub call: String,
    /// `ivr`, `waiting`, `talking` or `over`.
    pub status: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub queued_at: Option<Timestamp>,
    pub queue: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<Timestamp>,
    pub wait_seconds: Option<f64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub abandoned_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<Timestamp>,
    pub transfers: u32,
    pub recording: Option<String>,
    pub disposition: Option<String>,
    pub legs: Vec<LegView>,
    /// The events as reported, in time order (`kind`, `at`, and the fields of the kind).
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LegView {
    pub agent: String,
    #[schema(value_type = String, format = DateTime)]
    pub answered_at: Timestamp,
    pub talk_seconds: Option<f64>,
    pub hold_seconds: f64,
    pub wrap_up_seconds: Option<f64>,
}

impl CallView {
    pub fn of(call: &Call) -> Self {
        let s = call.summary();
        let ts = |t: Option<domain::time::LogTime>| t.map(|t| t.timestamp());
        let seconds = |ms: i64| ms as f64 / 1000.0;
        let events = call
            .events()
            .iter()
            .map(|e| {
                let mut step = serde_json::to_value(&e.step).unwrap_or_default();
                if let Some(map) = step.as_object_mut() {
                    map.remove("caller");
                    map.insert("id".into(), e.id.to_string().into());
                    map.insert("at".into(), e.at.to_string().into());
                }
                step
            })
            .collect();
        Self {
            source: call.source.to_string(),
            call: call.id.to_string(),
            status: store_status(&s).to_owned(),
            queued_at: ts(s.queued_at),
            queue: s.queue.as_ref().map(ToString::to_string),
            answered_at: ts(s.answered_at),
            wait_seconds: s.wait_ms().map(seconds),
            abandoned_at: ts(s.abandoned_at),
            ended_at: ts(s.ended_at),
            transfers: s.transfers,
            recording: s.recording.clone(),
            disposition: s.disposition.clone(),
            legs: s
                .legs
                .iter()
                .map(|l| LegView {
                    agent: l.agent.to_string(),
                    answered_at: l.answered_at.timestamp(),
                    talk_seconds: l.talk_ms().map(seconds),
                    hold_seconds: seconds(l.hold_ms),
                    wrap_up_seconds: l.wrap_up_ms().map(seconds),
                })
                .collect(),
            events,
        }
    }
}

/// Where a call stands (as the store's `calls.status` column says it).
fn store_status(s: &domain::calls::CallSummary) -> &'static str {
    s.status().as_str()
}

impl App {
    /// A report's period: a month (`YYYY-MM`) or a civil day (`YYYY-MM-DD`) in the city's
    /// time zone, or `from` and `to` (RFC 3339 instants on quarter hours).
    pub fn call_period(
        &self,
        month: Option<&str>,
        day: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> AppResult<(Timestamp, Timestamp)> {
        let registry = self.registry();
        let zone = registry.rules.calendar.zone();
        let instant = |field: &'static str, text: &str| -> AppResult<Timestamp> {
            text.trim().parse().map_err(|_| {
                domain::DomainError::invalid(field, format!("{text:?} is not an RFC 3339 instant"))
                    .into()
            })
        };
        match (month, day, from, to) {
            (Some(month), None, None, None) => {
                let p = domain::kpi::Period::parse_month(month, zone)?;
                Ok((p.start, p.end))
            }
            (None, Some(day), None, None) => {
                let bad = || {
                    domain::DomainError::invalid(
                        "day",
                        format!("{day:?} is not a day; write it as YYYY-MM-DD"),
                    )
                };
                let date: jiff::civil::Date = day.trim().parse().map_err(|_| bad())?;
                let start = zone
                    .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
                    .map_err(|_| bad())?;
                let next = date.tomorrow().map_err(|_| bad())?;
                let end = zone
                    .to_timestamp(next.to_datetime(jiff::civil::Time::midnight()))
                    .map_err(|_| bad())?;
                Ok((start, end))
            }
            (None, None, Some(from), Some(to)) => Ok((instant("from", from)?, instant("to", to)?)),
            _ => Err(domain::DomainError::invalid(
                "period",
                "give a month (YYYY-MM), a day (YYYY-MM-DD), or both from and to",
            )
            .into()),
        }
    }
}
