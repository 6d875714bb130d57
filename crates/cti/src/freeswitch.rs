//! FreeSWITCH's mod_callcenter, followed over the Event Socket: the `CC-Action` events of its
//! members (callers) and agents, as minsheng's call events.
//!
//! | `CC-Action` | becomes |
//! |---|---|
//! | `member-queue-start` | `arrived` (with the caller's number) and `queued` |
//! | `agent-offering` | `offered` |
//! | `bridge-agent-start` | `answered` |
//! | `bridge-agent-end` | `ended` |
//! | `member-queue-end`, `CC-Cause: Cancel` | `abandoned` and `ended` (the caller hung up, pressed a key to leave, or waited past the queue's limit) |
//! | `member-queue-end`, `CC-Cause: Terminated` | `ended` |
//! | `agent-state-change` to `Waiting` or `Idle` after a call | `wrap_up_ended` for the agent's last call |
//!
//! A call is named by the caller's channel (`CC-Member-Session-UUID`); an event by the switch
//! (`Core-UUID`) and its `Event-Sequence`, so an event heard twice is recorded once. Times are
//! `Event-Date-Timestamp` (microseconds).

use std::collections::HashMap;

use domain::calls::ReportedCallEvent;
use sha2::{Digest, Sha256};

use crate::esl::header;

/// Turns mod_callcenter events into call events, remembering each agent's last call until the
/// agent is ready again (the end of its after-call work).
#[derive(Default)]
pub struct Translator {
    /// Agent → the call it last finished talking on.
    wrapping_up: HashMap<String, String>,
}

impl Translator {
    /// The call events one switch event stands for (none for events that say nothing about a
    /// call, or that lack what they need).
    pub fn translate(&mut self, headers: &[(String, String)]) -> Vec<ReportedCallEvent> {
        let get = |name: &str| {
            header(headers, name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let Some(action) = get("CC-Action") else {
            return Vec::new();
        };
        let Some(at) = get("Event-Date-Timestamp")
            .and_then(|us| us.parse::<i64>().ok())
            .and_then(|us| jiff::Timestamp::from_microsecond(us).ok())
            .map(|t| t.to_string())
        else {
            tracing::warn!(
                action,
                "a mod_callcenter event without Event-Date-Timestamp was skipped"
            );
            return Vec::new();
        };
        let id = event_id(headers);
        let call = get("CC-Member-Session-UUID").or_else(|| get("CC-Member-UUID"));
        let event = |suffix: &str, kind: &str| -> Option<ReportedCallEvent> {
            Some(ReportedCallEvent {
                id: format!("{id}:{suffix}"),
                call: call?.to_owned(),
                kind: kind.to_owned(),
                at: at.clone(),
                ..Default::default()
            })
        };
        let agent = get("CC-Agent").map(str::to_owned);
        let mut out = Vec::new();
        match action {
            "member-queue-start" => {
                out.extend(event("a", "arrived").map(|mut e| {
                    e.caller = get("CC-Member-CID-Number").map(str::to_owned);
                    e
                }));
                out.extend(event("q", "queued").map(|mut e| {
                    e.queue = get("CC-Queue").map(str::to_owned);
                    e
                }));
            }
            "agent-offering" => out.extend(event("o", "offered").map(|mut e| {
                e.agent = agent.clone();
                e
            })),
            "bridge-agent-start" => out.extend(event("b", "answered").map(|mut e| {
                e.agent = agent.clone();
                e
            })),
            "bridge-agent-end" => {
                if let (Some(agent), Some(call)) = (&agent, call) {
                    self.wrapping_up.insert(agent.clone(), call.to_owned());
                }
                out.extend(event("e", "ended"));
            }
            "member-queue-end" => {
                if get("CC-Cause") == Some("Cancel") {
                    out.extend(event("x", "abandoned"));
                }
                out.extend(event("e", "ended"));
            }
            "agent-state-change" => {
                let ready = matches!(get("CC-Agent-State"), Some("Waiting" | "Idle"));
                if let (true, Some(agent)) = (ready, &agent)
                    && let Some(call) = self.wrapping_up.remove(agent)
                {
                    out.push(ReportedCallEvent {
                        id: format!("{id}:w"),
                        call,
                        kind: "wrap_up_ended".into(),
                        at: at.clone(),
                        agent: Some(agent.clone()),
                        ..Default::default()
                    });
                }
            }
            _ => {}
        }
        out
    }
}

/// The switch and its sequence number name an event; without them, its contents do.
fn event_id(headers: &[(String, String)]) -> String {
    match (
        header(headers, "Core-UUID"),
        header(headers, "Event-Sequence"),
    ) {
        (Some(core), Some(seq)) => format!("{core}:{seq}"),
        _ => {
            let mut hash = Sha256::new();
            for (name, value) in headers {
                hash.update(name.as_bytes());
                hash.update([0]);
                hash.update(value.as_bytes());
                hash.update([0]);
            }
            hex::encode(&hash.finalize()[..16])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all = vec![
            ("Core-UUID".to_owned(), "core-1".to_owned()),
            (
                "Event-Date-Timestamp".to_owned(),
                "1796083200000000".to_owned(),
            ),
        ];
        all.extend(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        all
    }

    #[test]
    fn a_member_joining_the_queue_arrives_with_its_number_and_queues() {
        let mut t = Translator::default();
        let events = t.translate(&headers(&[
            ("Event-Sequence", "7"),
            ("CC-Action", "member-queue-start"),
            ("CC-Queue", "12345@default"),
            ("CC-Member-Session-UUID", "m-1"),
            ("CC-Member-CID-Number", "13800138000"),
        ]));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind, "arrived");
        assert_eq!(events[0].caller.as_deref(), Some("13800138000"));
        assert_eq!(events[0].id, "core-1:7:a");
        assert_eq!(events[1].queue.as_deref(), Some("12345@default"));
        assert_eq!(events[1].at, "2026-12-01T00:00:00Z");
        for e in &events {
            e.check().unwrap();
        }
    }

    #[test]
    fn after_call_work_ends_when_the_agent_is_ready_again() {
        let mut t = Translator::default();
        let end = t.translate(&headers(&[
            ("Event-Sequence", "8"),
            ("CC-Action", "bridge-agent-end"),
            ("CC-Agent", "1001@default"),
            ("CC-Member-Session-UUID", "m-1"),
        ]));
        assert_eq!(end[0].kind, "ended");
        let ready = t.translate(&headers(&[
            ("Event-Sequence", "9"),
            ("CC-Action", "agent-state-change"),
            ("CC-Agent", "1001@default"),
            ("CC-Agent-State", "Waiting"),
        ]));
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].kind, "wrap_up_ended");
        assert_eq!(ready[0].call, "m-1");
        // Ready again without a call in between: nothing.
        assert!(
            t.translate(&headers(&[
                ("Event-Sequence", "10"),
                ("CC-Action", "agent-state-change"),
                ("CC-Agent", "1001@default"),
                ("CC-Agent-State", "Waiting"),
            ]))
            .is_empty()
        );
    }

    #[test]
    fn a_cancelled_member_abandoned() {
        let mut t = Translator::default();
        let events = t.translate(&headers(&[
            ("Event-Sequence", "11"),
            ("CC-Action", "member-queue-end"),
            ("CC-Cause", "Cancel"),
            ("CC-Member-Session-UUID", "m-2"),
        ]));
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["abandoned", "ended"]);
    }
}
