//! Calls (来电) as the call centre's ACD/CTI reports them: the events of a call, what they add up
//! to, and the call measures of GB/T 33358 counted from them.
//!
//! An ACD reports a call as events — it arrived, waited in a queue, rang at an agent, was
//! answered, held, transferred, ended, abandoned, the agent finished the after-call work. The
//! events arrive late, twice, or out of order (two systems, a reconnect, an import of an old
//! `queue_log`), so a call is the *set* of its events, each identified by its source and event
//! id, and everything about the call is computed from that set sorted by time ([`Call`]). Adding
//! the same events in any order gives the same call and the same counts.
//!
//! The caller's number never reaches this module: the application seals it as a contact and the
//! event carries only the contact's id.

mod call;
mod measures;

pub use call::{Call, CallStatus, CallSummary, Leg};
pub use measures::{
    AgentCounts, AgentKey, AgentMeasures, CallBucket, CallCounts, CallMarks, CallPolicy,
    INTERVAL_MS, QueueCounts, QueueKey, QueueMeasures, interval_of,
};

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ParseError};
use crate::ids::{AgentId, CallEventId, CallId, CallSource, ContactId, QueueName};
use crate::org::Actor;
use crate::permission::{self, Action};
use crate::time::LogTime;

/// One thing that happened to a call, as recorded in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEvent {
    pub id: CallEventId,
    pub call: CallId,
    /// When it happened, by the ACD's clock.
    pub at: LogTime,
    pub step: CallStep,
}

/// What happened. The names are the API's `kind`s ([`CallEventKind`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallStep {
    /// The call reached the centre (呼入), with the caller's number sealed as a contact.
    Arrived {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<ContactId>,
    },
    /// It asked for a person and started waiting in a queue (人工服务请求).
    Queued { queue: QueueName },
    /// It rang at an agent (振铃).
    Offered { agent: AgentId },
    /// An agent answered (接通).
    Answered { agent: AgentId },
    /// The agent put the caller on hold (保持).
    Held,
    /// The caller came back from hold.
    Resumed,
    /// The agent passed the call on (转接), to a queue, an agent or a number outside.
    Transferred { to: String },
    /// The caller hung up before anyone answered (放弃).
    Abandoned,
    /// The call ended (挂机).
    Ended,
    /// The agent finished the after-call work (话后处理) for this call.
    WrapUpEnded { agent: AgentId },
    /// Where the recording is (录音), in the recorder's own terms.
    Recorded { reference: String },
    /// How the ACD or the agent classed the call.
    Disposition { code: String },
}

/// The kinds of call event, as the API names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEventKind {
    Arrived,
    Queued,
    Offered,
    Answered,
    Held,
    Resumed,
    Transferred,
    Abandoned,
    Ended,
    WrapUpEnded,
    Recorded,
    Disposition,
}

crate::names::names!(CallEventKind, "call event kind" {
    Arrived => "arrived",
    Queued => "queued",
    Offered => "offered",
    Answered => "answered",
    Held => "held",
    Resumed => "resumed",
    Transferred => "transferred",
    Abandoned => "abandoned",
    Ended => "ended",
    WrapUpEnded => "wrap_up_ended",
    Recorded => "recorded",
    Disposition => "disposition",
});

impl CallStep {
    pub fn kind(&self) -> CallEventKind {
        match self {
            Self::Arrived { .. } => CallEventKind::Arrived,
            Self::Queued { .. } => CallEventKind::Queued,
            Self::Offered { .. } => CallEventKind::Offered,
            Self::Answered { .. } => CallEventKind::Answered,
            Self::Held => CallEventKind::Held,
            Self::Resumed => CallEventKind::Resumed,
            Self::Transferred { .. } => CallEventKind::Transferred,
            Self::Abandoned => CallEventKind::Abandoned,
            Self::Ended => CallEventKind::Ended,
            Self::WrapUpEnded { .. } => CallEventKind::WrapUpEnded,
            Self::Recorded { .. } => CallEventKind::Recorded,
            Self::Disposition { .. } => CallEventKind::Disposition,
        }
    }
}

/// A batch of call events from one source, as one log entry (`call.events_recorded`). Only
/// events not recorded before are in it: a repeated report writes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum CallLogEvent {
    #[serde(rename = "call.events_recorded")]
    EventsRecorded {
        source: CallSource,
        events: Vec<CallEvent>,
    },
}

impl CallLogEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::EventsRecorded { .. } => "call.events_recorded",
        }
    }
}

/// An event as an ACD/CTI reports it to the API: flat, the fields its kind needs, the caller's
/// number in clear (sealed before anything stores it).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// A misspelt field is refused, not dropped: `calller` would lose the caller silently.
#[serde(deny_unknown_fields)]
pub struct ReportedCallEvent {
    /// The event's id in its source: reporting it again changes nothing.
    pub id: String,
    /// The call's id in its source.
    pub call: String,
    /// One of `arrived`, `queued`, `offered`, `answered`, `held`, `resumed`, `transferred`,
    /// `abandoned`, `ended`, `wrap_up_ended`, `recorded`, `disposition`.
    pub kind: String,
    /// RFC 3339, e.g. `2026-12-01T08:00:00.250+08:00`; kept to the millisecond.
    pub at: String,
    /// `arrived`: the caller's number, if the ACD knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// `queued`: the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// `offered`, `answered`, `wrap_up_ended`: the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// `transferred`: where to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `recorded`: the recording's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `disposition`: the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl std::fmt::Debug for ReportedCallEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportedCallEvent")
            .field("id", &self.id)
            .field("call", &self.call)
            .field("kind", &self.kind)
            .field("at", &self.at)
            .field("caller", &self.caller.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// A reported event checked: everything but the caller, who is still a number to seal.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckedCallEvent {
    pub id: CallEventId,
    pub call: CallId,
    pub at: LogTime,
    pub kind: CallEventKind,
    pub step_without_caller: CallStep,
    /// `arrived`'s caller number, as given (the application parses and seals it).
    pub caller: Option<String>,
}

impl std::fmt::Debug for CheckedCallEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CheckedCallEvent({} {} {:?})",
            self.id, self.call, self.kind
        )
    }
}

impl CheckedCallEvent {
    /// The event to record, with the caller sealed as `caller`.
    pub fn with_caller(self, caller: Option<ContactId>) -> CallEvent {
        let step = match self.step_without_caller {
            CallStep::Arrived { .. } => CallStep::Arrived { caller },
            other => other,
        };
        CallEvent {
            id: self.id,
            call: self.call,
            at: self.at,
            step,
        }
    }
}

/// Free text a step carries (a transfer's target, a recording's reference, a disposition code):
/// one line, at most 200 characters.
fn short_text(what: &'static str, value: Option<&str>) -> Result<String, ParseError> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(ParseError::new(
            what,
            value,
            "required for this kind of event",
        ));
    }
    if value.chars().count() > 200 || value.chars().any(char::is_control) {
        return Err(ParseError::new(
            what,
            value,
            "one line of at most 200 characters",
        ));
    }
    // A number in it (an outside transfer target, a recording named after the caller) is
    // masked: the log never holds one in clear.
    let mut text = value.to_owned();
    crate::numbers::mask_texts([(what, &mut text)], crate::numbers::Masking::Partial);
    Ok(text)
}

impl ReportedCallEvent {
    /// Checks every field the kind needs; a field the kind does not use is refused, so a
    /// misspelt kind cannot silently drop data.
    pub fn check(&self) -> Result<CheckedCallEvent, ParseError> {
        let kind: CallEventKind = self.kind.trim().parse()?;
        let at: jiff::Timestamp = self.at.trim().parse().map_err(|_| {
            ParseError::new(
                "call event time",
                &self.at,
                "an RFC 3339 instant with an offset, e.g. 2026-12-01T08:00:00+08:00",
            )
        })?;
        let uses = |field: &str| -> bool {
            matches!(
                (kind, field),
                (CallEventKind::Arrived, "caller")
                    | (CallEventKind::Queued, "queue")
                    | (
                        CallEventKind::Offered
                            | CallEventKind::Answered
                            | CallEventKind::WrapUpEnded,
                        "agent"
                    )
                    | (CallEventKind::Transferred, "to")
                    | (CallEventKind::Recorded, "reference")
                    | (CallEventKind::Disposition, "code")
            )
        };
        for (field, value) in [
            ("caller", &self.caller),
            ("queue", &self.queue),
            ("agent", &self.agent),
            ("to", &self.to),
            ("reference", &self.reference),
            ("code", &self.code),
        ] {
            if value.is_some() && !uses(field) {
                return Err(ParseError::new(
                    "call event",
                    field,
                    format!("a `{}` event has no `{field}`", kind.as_str()),
                ));
            }
        }
        let agent = || AgentId::parse(self.agent.as_deref().unwrap_or_default());
        let step = match kind {
            CallEventKind::Arrived => CallStep::Arrived { caller: None },
            CallEventKind::Queued => CallStep::Queued {
                queue: QueueName::parse(self.queue.as_deref().unwrap_or_default())?,
            },
            CallEventKind::Offered => CallStep::Offered { agent: agent()? },
            CallEventKind::Answered => CallStep::Answered { agent: agent()? },
            CallEventKind::Held => CallStep::Held,
            CallEventKind::Resumed => CallStep::Resumed,
            CallEventKind::Transferred => CallStep::Transferred {
                to: short_text("transfer target", self.to.as_deref())?,
            },
            CallEventKind::Abandoned => CallStep::Abandoned,
            CallEventKind::Ended => CallStep::Ended,
            CallEventKind::WrapUpEnded => CallStep::WrapUpEnded { agent: agent()? },
            CallEventKind::Recorded => CallStep::Recorded {
                reference: short_text("recording reference", self.reference.as_deref())?,
            },
            CallEventKind::Disposition => CallStep::Disposition {
                code: short_text("disposition code", self.code.as_deref())?,
            },
        };
        let caller = self
            .caller
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        Ok(CheckedCallEvent {
            id: CallEventId::parse(&self.id)?,
            call: CallId::parse(&self.call)?,
            at: LogTime::of(at),
            kind,
            step_without_caller: step,
            caller,
        })
    }
}

/// How far ahead of the server's clock an event's time may be (the ACD's clock runs a little
/// fast): further ahead is a wrong clock, refused before it skews a report.
pub const MAX_CLOCK_LEAD_MS: i64 = 5 * 60 * 1000;

/// Whether `actor` may record these events now: an ACD/CTI (or the server itself) reporting
/// between one and `max` events, none of them in the future.
pub fn decide_record(
    actor: &Actor,
    now: LogTime,
    events: &[CallEvent],
    max: usize,
) -> Result<(), DomainError> {
    permission::require(actor, Action::RecordCalls, None)?;
    if events.is_empty() || events.len() > max {
        return Err(DomainError::invalid(
            "events",
            format!("send between 1 and {max} events at a time"),
        ));
    }
    let latest = now.as_millisecond() + MAX_CLOCK_LEAD_MS;
    if let Some(ahead) = events.iter().find(|e| e.at.as_millisecond() > latest) {
        return Err(DomainError::invalid(
            "at",
            format!(
                "event {} is at {}, more than five minutes after the server's clock ({now}); check the ACD's clock",
                ahead.id, ahead.at
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(kind: &str) -> ReportedCallEvent {
        ReportedCallEvent {
            id: "e1".into(),
            call: "c1".into(),
            kind: kind.into(),
            at: "2026-12-01T08:00:00.250+08:00".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_reported_event_is_checked_field_by_field() {
        let mut answered = reported("answered");
        answered.agent = Some("1001@default".into());
        let checked = answered.check().unwrap();
        assert_eq!(checked.at.to_string(), "2026-12-01T00:00:00.25Z");
        assert_eq!(
            checked.step_without_caller,
            CallStep::Answered {
                agent: AgentId::parse("1001@default").unwrap()
            }
        );

        let missing = reported("answered").check().unwrap_err();
        assert!(missing.to_string().contains("agent id"), "{missing}");
        let mut stray = reported("ended");
        stray.queue = Some("q".into());
        let stray = stray.check().unwrap_err();
        assert!(stray.to_string().contains("no `queue`"), "{stray}");
        let mut outside = reported("transferred");
        outside.to = Some("13800138000".into());
        let CallStep::Transferred { to } = outside.check().unwrap().step_without_caller else {
            panic!("a transfer");
        };
        assert_eq!(to, "138****8000", "a number in a call's text is masked");
        let unknown = reported("hung_up").check().unwrap_err();
        assert!(unknown.to_string().contains("wrap_up_ended"), "{unknown}");
        let mut bad_time = reported("ended");
        bad_time.at = "yesterday".into();
        assert!(bad_time.check().is_err());
        let mut no_offset = reported("ended");
        no_offset.at = "2026-12-01T08:00:00".into();
        assert!(
            no_offset.check().is_err(),
            "a time without an offset is ambiguous"
        );
    }

    #[test]
    fn a_misspelt_field_is_refused() {
        let misspelt = r#"{"id": "e1", "call": "c1", "kind": "arrived", "at": "2026-12-01T08:00:00+08:00", "calller": "13800138000"}"#;
        let error = serde_json::from_str::<ReportedCallEvent>(misspelt).unwrap_err();
        assert!(error.to_string().contains("calller"), "{error}");
    }

    #[test]
    fn the_caller_is_never_printed() {
        let mut arrived = reported("arrived");
        arrived.caller = Some("13800138000".into());
        assert!(!format!("{arrived:?}").contains("13800138000"));
        let checked = arrived.check().unwrap();
        assert!(!format!("{checked:?}").contains("13800138000"));
        let event = checked.with_caller(Some(ContactId(7)));
        assert_eq!(
            event.step,
            CallStep::Arrived {
                caller: Some(ContactId(7))
            }
        );
    }

    #[test]
    fn kinds_are_serdes_names() {
        for &kind in CallEventKind::ALL {
            let serde = serde_json::to_value(kind).unwrap();
            assert_eq!(serde.as_str().unwrap(), kind.as_str());
        }
        let logged = serde_json::to_string(&CallStep::WrapUpEnded {
            agent: AgentId::parse("op1").unwrap(),
        })
        .unwrap();
        assert_eq!(logged, r#"{"kind":"wrap_up_ended","agent":"op1"}"#);
    }
}
