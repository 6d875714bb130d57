//! Delivering the outbox (通知市民): each due message is addressed from the sealed contact at the
//! moment of sending (the outbox holds no phone number), handed to a transport, and the attempt
//! recorded through the writer — sent, retried later with backoff, or given up. A message is
//! identified by its log entry, so a gateway that gets it twice (a crash between sending and
//! recording) can drop the second.

use std::sync::Arc;
use std::time::Duration;

use domain::notify::{MAX_ATTEMPTS, STALE_AFTER, retry_after};
use domain::org::Actor;
use jiff::Timestamp;
use store::{Command, Delivery, OutboxItem};

use crate::App;
use crate::error::{AppError, AppResult};

/// One message on its way out.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Outgoing {
    /// Stable for the message across retries: `minsheng-<log sequence number>`.
    pub id: String,
    /// The citizen's number, in full: only a transport sees it.
    pub to: String,
    pub text: String,
    pub ticket: String,
    /// `dispatched`, `replied` or `closed`.
    pub notice: &'static str,
}

/// Where messages go: a log for demos, an SMS gateway's webhook in production.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    /// Hands over one message at `now`; an error is retried later.
    async fn send(&self, message: &Outgoing, now: Timestamp) -> Result<(), String>;
}

/// Writes each message to the server's log, the number masked. The default, for demos.
pub struct LogTransport;

#[async_trait::async_trait]
impl Transport for LogTransport {
    async fn send(&self, m: &Outgoing, _now: Timestamp) -> Result<(), String> {
        let masked = domain::phone::PhoneNumber::parse(&m.to)
            .map(|p| p.masked())
            .unwrap_or_else(|_| "***".into());
        tracing::info!(id = %m.id, to = %masked, ticket = %m.ticket, notice = m.notice, text = %m.text, "notification");
        Ok(())
    }
}

/// What one pass over the outbox did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: u32,
    pub retried: u32,
    pub given_up: u32,
}

/// Messages taken per pass.
const BATCH: u32 = 100;
/// How often the worker looks for due messages.
pub const POLL: Duration = Duration::from_secs(2);

impl App {
    /// Delivers every message due now (up to a batch) and records each attempt.
    pub async fn deliver_due(&self, transport: &dyn Transport, now: Timestamp) -> AppResult<Round> {
        let mut round = Round::default();
        for item in self.store.outbox_due(now, BATCH).await? {
            let stale = now.duration_since(item.created_at) > STALE_AFTER;
            let outcome = if stale {
                Delivery::GaveUp {
                    error: "stale: not delivered within a day, so not sent late".into(),
                }
            } else {
                match self.address(&item).await? {
                    None => Delivery::GaveUp {
                        error: "the citizen left no phone number".into(),
                    },
                    Some(message) => match transport.send(&message, now).await {
                        Ok(()) => Delivery::Sent,
                        Err(error) if item.attempts + 1 >= MAX_ATTEMPTS => {
                            Delivery::GaveUp { error }
                        }
                        Err(error) => Delivery::Retry {
                            error,
                            next_at: now + retry_after(item.attempts + 1),
                        },
                    },
                }
            };
            match &outcome {
                Delivery::Sent => round.sent += 1,
                Delivery::Retry { error, .. } => {
                    tracing::warn!(seq = item.seq, %error, "notification failed; will retry");
                    round.retried += 1;
                }
                Delivery::GaveUp { error } => {
                    tracing::warn!(seq = item.seq, %error, "notification given up");
                    round.given_up += 1;
                }
            }
            self.submit(
                &Actor::system("notifier"),
                now,
                Command::Deliver {
                    seq: item.seq,
                    outcome,
                },
            )
            .await?;
        }
        Ok(round)
    }

    /// Gives up every undelivered message created before `before` in one step: a demo city's
    /// simulated past, whose messages would have gone out at the time.
    pub async fn expire_notifications(&self, before: Timestamp, reason: &str) -> AppResult<u64> {
        let committed = self
            .submit(
                &Actor::system("notifier"),
                before.max(self.now()),
                Command::ExpireOutbox {
                    created_before: before,
                    reason: reason.to_owned(),
                },
            )
            .await?;
        Ok(match committed {
            store::Committed::Expired { count } => count,
            _ => 0,
        })
    }

    /// The message for an outbox item, or `None` when there is no number to send it to.
    async fn address(&self, item: &OutboxItem) -> AppResult<Option<Outgoing>> {
        let Some(sealed) = self.store.contact(item.contact).await? else {
            return Err(AppError::Internal(format!(
                "contact {} of outbox message {} is missing",
                item.contact, item.seq
            )));
        };
        let contact = self.vault.open(&sealed)?;
        let Some(phone) = contact.phone else {
            return Ok(None);
        };
        let ticket = self.store.ticket(item.ticket).await?;
        let registry = self.registry();
        let unit = ticket
            .as_ref()
            .and_then(|t| t.assignments.last())
            .and_then(|a| registry.unit_name(&a.unit));
        Ok(Some(Outgoing {
            id: format!("minsheng-{}", item.seq),
            to: phone.as_str().to_owned(),
            text: item.notice.message(&item.ticket.grouped(), unit),
            ticket: item.ticket.to_string(),
            notice: item.notice.as_str(),
        }))
    }
}

/// Delivers due messages every [`POLL`] until `stop` resolves, and at once again after a full
/// batch, so a backlog (after an outage, or a busy hour) drains as fast as the gateway and the
/// writer allow instead of 100 messages per poll. Errors are logged and the loop goes on: a
/// store that is briefly unavailable only delays the messages.
pub async fn run(app: Arc<App>, transport: Arc<dyn Transport>, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        let more = match app.deliver_due(transport.as_ref(), app.now()).await {
            Ok(round) => round.sent + round.retried + round.given_up >= BATCH,
            Err(e) => {
                tracing::warn!(error = %e, "delivering notifications failed; trying again shortly");
                false
            }
        };
        let pause = if more { Duration::ZERO } else { POLL };
        tokio::select! {
            biased;
            _ = &mut stop => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
