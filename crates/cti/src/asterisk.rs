//! Asterisk's queues (app_queue): the AMI's queue events while connected, and the `queue_log`
//! file for what happened before (an import).
//!
//! | AMI event | `queue_log` event | becomes |
//! |---|---|---|
//! | `QueueCallerJoin` | `ENTERQUEUE` | `arrived` (with the caller's number) and `queued` |
//! | `AgentCalled` | `RINGNOANSWER` (and `CONNECT`'s ring time) | `offered` |
//! | `AgentConnect` | `CONNECT` | `answered` |
//! | `AgentComplete` | `COMPLETECALLER`, `COMPLETEAGENT` | `ended` |
//! | `AgentComplete` with `Reason: transfer` | `TRANSFER` | `transferred` |
//! | `QueueCallerAbandon` | `ABANDON`, `EXITWITHTIMEOUT`, `EXITEMPTY`, `EXITWITHKEY` | `abandoned` and `ended` |
//!
//! A call is the caller's channel (`Uniqueid`, the `queue_log` call id). The AMI numbers no
//! events, so an event is named by a hash of what it says, its time included: enable
//! `timestampevents = yes` in `manager.conf`, or events are timed when they are heard and a
//! repeat of one cannot be told from a new one. Asterisk's `wrapuptime` ends without an event,
//! so no `wrap_up_ended` comes from Asterisk.

use domain::calls::ReportedCallEvent;
use sha2::{Digest, Sha256};

use crate::esl::header;

fn hash_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..16])
}

/// An instant from seconds since the epoch with a fraction (`1700000000.123456`).
fn instant(seconds: &str) -> Option<jiff::Timestamp> {
    let (whole, fraction) = seconds
        .trim()
        .split_once('.')
        .unwrap_or((seconds.trim(), ""));
    let whole: i64 = whole.parse().ok()?;
    let micros: i64 = format!("{:0<6}", fraction.get(..fraction.len().min(6))?)
        .parse()
        .ok()?;
    jiff::Timestamp::from_microsecond(whole.checked_mul(1_000_000)? + micros).ok()
}

/// The call events one AMI event stands for. `heard` is when it arrived, used when the event
/// carries no `Timestamp`.
pub fn from_ami(headers: &[(String, String)], heard: jiff::Timestamp) -> Vec<ReportedCallEvent> {
    let get = |name: &str| {
        header(headers, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let (Some(name), Some(call)) = (get("Event"), get("Uniqueid")) else {
        return Vec::new();
    };
    let at = get("Timestamp").and_then(instant).unwrap_or(heard);
    let agent = get("MemberName")
        .or_else(|| get("Interface"))
        .map(str::to_owned);
    let base = hash_id(&[
        name,
        call,
        &at.as_microsecond().to_string(),
        agent.as_deref().unwrap_or_default(),
    ]);
    let event = |suffix: &str, kind: &str| ReportedCallEvent {
        id: format!("{base}:{suffix}"),
        call: call.to_owned(),
        kind: kind.to_owned(),
        at: at.to_string(),
        ..Default::default()
    };
    match name {
        "QueueCallerJoin" => vec![
            ReportedCallEvent {
                caller: get("CallerIDNum").map(str::to_owned),
                ..event("a", "arrived")
            },
            ReportedCallEvent {
                queue: get("Queue").map(str::to_owned),
                ..event("q", "queued")
            },
        ],
        "AgentCalled" => vec![ReportedCallEvent {
            agent,
            ..event("o", "offered")
        }],
        "AgentConnect" => vec![ReportedCallEvent {
            agent,
            ..event("b", "answered")
        }],
        "AgentComplete" if get("Reason") == Some("transfer") => vec![ReportedCallEvent {
            to: Some("transfer".into()),
            ..event("t", "transferred")
        }],
        "AgentComplete" => vec![event("e", "ended")],
        "QueueCallerAbandon" => vec![event("x", "abandoned"), event("e", "ended")],
        _ => Vec::new(),
    }
}

/// What is wrong with a `queue_log` line.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLine(pub String);

/// The call events one `queue_log` line stands for (`ts|callid|queue|agent|EVENT|data…`); lines
/// about no call (`QUEUESTART`, agent logins) stand for none.
pub fn from_queue_log(line: &str) -> Result<Vec<ReportedCallEvent>, BadLine> {
    let fields: Vec<&str> = line.trim_end_matches(['\r', '\n']).split('|').collect();
    if fields.len() < 5 {
        return Err(BadLine(format!(
            "expected ts|callid|queue|agent|event|data…, found {} fields",
            fields.len()
        )));
    }
    let (ts, call, queue, agent, name) = (fields[0], fields[1], fields[2], fields[3], fields[4]);
    let data = |i: usize| fields.get(5 + i).copied().unwrap_or_default();
    let at = instant(ts).ok_or_else(|| BadLine(format!("{ts:?} is not a time")))?;
    if call.is_empty() || call == "NONE" {
        return Ok(Vec::new());
    }
    let base = hash_id(&[line.trim_end_matches(['\r', '\n'])]);
    let agent = (!agent.is_empty() && agent != "NONE").then(|| agent.to_owned());
    let event = |suffix: &str, kind: &str, at: jiff::Timestamp| ReportedCallEvent {
        id: format!("{base}:{suffix}"),
        call: call.to_owned(),
        kind: kind.to_owned(),
        at: at.to_string(),
        ..Default::default()
    };
    // A ring time in `data` (milliseconds) dates the ring before the line's time.
    let rang = |ms: &str| {
        ms.parse::<i64>()
            .ok()
            .and_then(|ms| at.checked_sub(jiff::SignedDuration::from_millis(ms)).ok())
            .unwrap_or(at)
    };
    Ok(match name {
        "ENTERQUEUE" => vec![
            ReportedCallEvent {
                caller: Some(data(1).to_owned()).filter(|c| !c.is_empty()),
                ..event("a", "arrived", at)
            },
            ReportedCallEvent {
                queue: Some(queue.to_owned()),
                ..event("q", "queued", at)
            },
        ],
        "RINGNOANSWER" => vec![ReportedCallEvent {
            agent,
            ..event("o", "offered", rang(data(0)))
        }],
        "CONNECT" => vec![
            ReportedCallEvent {
                agent: agent.clone(),
                ..event("o", "offered", rang(data(2)))
            },
            ReportedCallEvent {
                agent,
                ..event("b", "answered", at)
            },
        ],
        "COMPLETECALLER" | "COMPLETEAGENT" => vec![event("e", "ended", at)],
        "TRANSFER" => vec![ReportedCallEvent {
            to: Some(data(0).to_owned()).filter(|t| !t.is_empty()),
            ..event("t", "transferred", at)
        }],
        "ABANDON" | "EXITWITHTIMEOUT" | "EXITEMPTY" | "EXITWITHKEY" => {
            vec![event("x", "abandoned", at), event("e", "ended", at)]
        }
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        text.lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect()
    }

    #[test]
    fn ami_queue_events_become_call_events() {
        let heard = jiff::Timestamp::from_second(1_796_083_300).unwrap();
        let join = from_ami(
            &pairs(
                "Event: QueueCallerJoin\nTimestamp: 1796083200.5\nUniqueid: 1796083200.42\nCallerIDNum: 13800138000\nQueue: hotline\nPosition: 1",
            ),
            heard,
        );
        assert_eq!(join.len(), 2);
        assert_eq!(join[0].caller.as_deref(), Some("13800138000"));
        assert_eq!(join[0].at, "2026-12-01T00:00:00.5Z");
        assert_eq!(join[1].queue.as_deref(), Some("hotline"));
        for e in &join {
            e.check().unwrap();
        }
        // Without a Timestamp, the time it was heard.
        let connect = from_ami(
            &pairs(
                "Event: AgentConnect\nUniqueid: 1796083200.42\nMemberName: operator\nHoldTime: 12",
            ),
            heard,
        );
        assert_eq!(connect[0].kind, "answered");
        assert_eq!(connect[0].agent.as_deref(), Some("operator"));
        assert_eq!(connect[0].at, heard.to_string());
        let transfer = from_ami(
            &pairs(
                "Event: AgentComplete\nUniqueid: 1796083200.42\nMemberName: operator\nReason: transfer",
            ),
            heard,
        );
        assert_eq!(transfer[0].kind, "transferred");
        // The same event twice has one id.
        let again = from_ami(
            &pairs(
                "Event: QueueCallerJoin\nTimestamp: 1796083200.5\nUniqueid: 1796083200.42\nCallerIDNum: 13800138000\nQueue: hotline\nPosition: 1",
            ),
            heard,
        );
        assert_eq!(again, join);
    }

    #[test]
    fn queue_log_lines_become_call_events() {
        let enter =
            from_queue_log("1796083200|1796083200.42|hotline|NONE|ENTERQUEUE||13800138000|1")
                .unwrap();
        assert_eq!(enter[0].caller.as_deref(), Some("13800138000"));
        assert_eq!(enter[1].queue.as_deref(), Some("hotline"));
        let connect = from_queue_log(
            "1796083212|1796083200.42|hotline|operator|CONNECT|12|1796083209.43|3000",
        )
        .unwrap();
        assert_eq!(connect[0].kind, "offered");
        assert_eq!(connect[0].at, "2026-12-01T00:00:09Z");
        assert_eq!(connect[1].kind, "answered");
        let abandon =
            from_queue_log("1796083300|1796083290.44|hotline|NONE|ABANDON|1|1|10").unwrap();
        assert_eq!(abandon.len(), 2);
        assert!(
            from_queue_log("1796083300|NONE|NONE|NONE|QUEUESTART|")
                .unwrap()
                .is_empty()
        );
        assert!(from_queue_log("not a line").is_err());
        assert!(from_queue_log("yesterday|1.2|q|NONE|ENTERQUEUE||1|1").is_err());
    }
}
