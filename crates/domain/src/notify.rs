//! Telling the citizen (通知市民): which steps of a ticket send a message, what it says, and how
//! often a failed delivery is tried again. The outbox that carries them lives in the store; the
//! transports (a log for demos, an SMS gateway's webhook) at the edge.

use jiff::SignedDuration;

use crate::ticket::TicketEvent;

/// A message the citizen gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The ticket went to the unit that will handle it (first dispatch only).
    Dispatched,
    /// The unit answered.
    Replied,
    /// The ticket is finished.
    Closed,
}

impl Notice {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dispatched => "dispatched",
            Self::Replied => "replied",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Dispatched, Self::Replied, Self::Closed]
            .into_iter()
            .find(|n| n.as_str() == text)
    }

    /// The text message, in the words a hotline uses; `unit` is the handling unit's name.
    pub fn message(self, no_grouped: &str, unit: Option<&str>) -> String {
        let unit = unit.unwrap_or("承办单位");
        match self {
            Self::Dispatched => format!(
                "【12345】您反映的诉求（工单号 {no_grouped}）已交{unit}办理，办理结果将及时告知您。"
            ),
            Self::Replied => format!(
                "【12345】{unit}已答复您的诉求（工单号 {no_grouped}），我们将回访了解是否解决。"
            ),
            Self::Closed => format!(
                "【12345】您的诉求（工单号 {no_grouped}）已办结，感谢您对政务服务便民热线的支持。"
            ),
        }
    }
}

/// The message a logged ticket event sends, if any. A request answered on the call was told
/// everything on the phone; re-dispatches, notes and the centre's arbitration send nothing.
pub fn notice_for(event: &TicketEvent) -> Option<Notice> {
    match event {
        TicketEvent::Dispatched {
            redispatch: false, ..
        } => Some(Notice::Dispatched),
        TicketEvent::Replied { .. } => Some(Notice::Replied),
        TicketEvent::Closed { outcome }
            if *outcome != crate::ticket::ClosureOutcome::AnsweredOnCall =>
        {
            Some(Notice::Closed)
        }
        _ => None,
    }
}

/// A message not delivered within a day is old news: it is given up rather than sent late.
pub const STALE_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// Deliveries tried before giving up.
pub const MAX_ATTEMPTS: u32 = 8;

/// How long to wait after the `attempts`-th failure: 30 s, doubling, at most an hour.
pub fn retry_after(attempts: u32) -> SignedDuration {
    let seconds = 30_i64.saturating_mul(1 << attempts.saturating_sub(1).min(10));
    SignedDuration::from_secs(seconds.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(|n| retry_after(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }

    #[test]
    fn messages_name_the_ticket_and_the_unit() {
        let text = Notice::Dispatched.message("261126-00042", Some("市水务局"));
        assert!(text.contains("261126-00042") && text.contains("市水务局"));
        assert_eq!(Notice::parse("replied"), Some(Notice::Replied));
        assert_eq!(Notice::parse("x"), None);
    }
}
