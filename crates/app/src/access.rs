//! Recording looks at personal data (the access trail, `domain::access`), and the one look that
//! is a lookup by a number: a caller's history.

use domain::DomainError;
use domain::access::{
    AccessEvent, LookupContext, LookupRefusal, PrivacyReport, Seat, privacy_report,
};
use domain::audit::{LogEntry, LogEvent};
use domain::ids::TicketNo;
use domain::org::Actor;
use domain::permission::{Action, may_reveal, require};
use domain::phone::PhoneNumber;
use jiff::Timestamp;
use store::Command;

use crate::App;
use crate::error::{AppError, AppResult};
use crate::views::TicketView;

/// A caller's earlier tickets as an operator at intake sees them.
#[derive(Clone, Debug)]
pub struct CallerHistory {
    /// The tickets the reader may see in full (contacts masked as always).
    pub tickets: Vec<TicketView>,
    /// Confidential tickets (保密) of this caller the reader may not reveal: only counted.
    pub confidential: u32,
}

const HISTORY_LIMIT: u32 = 20;

/// How long an intake id stays good: a shift.
const INTAKE_HOURS: i64 = 12;

impl App {
    /// Records a look in the access trail and waits until it is durable; the data may be shown
    /// only after this returns. Returns the event as logged.
    pub(crate) async fn record_access(
        &self,
        actor: &Actor,
        now: Timestamp,
        event: AccessEvent,
    ) -> AppResult<AccessEvent> {
        match self.submit(actor, now, Command::Access(event)).await? {
            store::Committed::Access { event, .. } => Ok(event),
            _ => Err(AppError::Internal(
                "an access record came back as something else".into(),
            )),
        }
    }

    /// A caller's earlier tickets, found by the keyed hash of the number (nothing is decrypted),
    /// for the operator handling intake `intake`. Recorded with the number's index and the
    /// intake; past the hourly budget, or for a second number in one intake, the refusal is
    /// recorded and the answer is `TooMany`/`Conflict`.
    pub async fn caller_history(
        &self,
        actor: &Actor,
        now: Timestamp,
        phone: &str,
        intake: &str,
    ) -> AppResult<CallerHistory> {
        require(actor, Action::SearchCallerHistory, None)?;
        let phone = PhoneNumber::parse(phone).map_err(DomainError::from)?;
        let intake = intake.trim();
        self.check_intake(actor, now, intake)?;
        let index = self.vault.phone_index(&phone);
        let found = self.store.caller_history(index, HISTORY_LIMIT).await?;
        let privacy = self.registry().rules.policy.privacy;
        let (shown, hidden): (Vec<_>, Vec<_>) = found
            .iter()
            .partition(|t| !t.request.confidential || may_reveal(actor, t, now, &privacy).is_ok());
        let event = AccessEvent::CallerLookedUp {
            phone_index: hex::encode(index),
            context: LookupContext::Intake {
                intake: intake.to_owned(),
            },
            tickets: shown.iter().map(|t| t.no).collect(),
            seat: Seat::of(actor),
        };
        match self.record_access(actor, now, event).await? {
            AccessEvent::LookupRefused {
                refusal: refusal @ LookupRefusal::BudgetSpent { .. },
                ..
            } => Err(AppError::TooMany(refusal.to_string())),
            AccessEvent::LookupRefused { refusal, .. } => {
                Err(AppError::Conflict(refusal.to_string()))
            }
            _ => {
                let registry = self.registry();
                Ok(CallerHistory {
                    tickets: shown
                        .into_iter()
                        .map(|t| TicketView::of(t, &registry, now, None))
                        .collect(),
                    confidential: hidden.len() as u32,
                })
            }
        }
    }

    /// A fresh intake id for the operator about to take a call: caller lookups name it. It is
    /// `nonce ‖ minute issued ‖ tag`, the tag binding both to the operator, so only the server
    /// issues ids, each for one person, good for one shift.
    pub fn open_intake(&self, actor: &Actor, now: Timestamp) -> AppResult<String> {
        require(actor, Action::SearchCallerHistory, None)?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce)
            .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let minute = (now.as_second() / 60) as u32;
        Ok(self.intake_id(actor, nonce, minute))
    }

    fn intake_id(&self, actor: &Actor, nonce: [u8; 8], minute: u32) -> String {
        let body = format!("{}{:08x}", hex::encode(nonce), minute);
        let tag = self
            .vault
            .tag("intake", format!("{}|{body}", actor.id).as_bytes());
        format!("{body}{}", hex::encode(&tag[..8]))
    }

    fn check_intake(&self, actor: &Actor, now: Timestamp, id: &str) -> AppResult<()> {
        let refuse = |why: &str| -> AppError {
            DomainError::invalid(
                "intake",
                format!("{why}: a caller's history is looked up only for the intake being handled; use the id the intake screen (or POST /api/v1/intakes) gave"),
            )
            .into()
        };
        let (nonce, minute) = match (id.get(..16), id.get(16..24)) {
            (Some(n), Some(m)) if id.len() == 40 => (n, m),
            _ => return Err(refuse("not an intake id")),
        };
        let nonce: [u8; 8] = hex::decode(nonce)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| refuse("not an intake id"))?;
        let minute = u32::from_str_radix(minute, 16).map_err(|_| refuse("not an intake id"))?;
        let expected = self.intake_id(actor, nonce, minute);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            id.as_bytes(),
        )) {
            return Err(refuse("this intake id was not issued to you"));
        }
        let age_minutes = now.as_second() / 60 - i64::from(minute);
        if !(0..=INTAKE_HOURS * 60).contains(&age_minutes) {
            return Err(refuse("this intake has expired"));
        }
        Ok(())
    }
}

/// One entry of the access trail as the privacy page lists it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccessLine {
    pub seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub user: String,
    /// The roles the person acted in, and their organisation (`centre`, `contractor`,
    /// `unit:<id>`), when they looked.
    pub roles: Vec<String>,
    pub affiliation: String,
    /// `access.ticket_read`, `ticket.contact_revealed`, …
    pub kind: String,
    /// What was read, the listing's filter, the reason given, or why it was refused.
    pub detail: String,
}

impl AccessLine {
    fn of(entry: &LogEntry) -> Self {
        let (roles, affiliation, detail) = match &entry.event {
            LogEvent::Access(access) => {
                let detail = match access {
                    AccessEvent::TicketRead { part, in_queue, .. } => {
                        let part = serde_json::to_value(part).unwrap_or_default();
                        let part = part.as_str().unwrap_or_default().to_owned();
                        if *in_queue {
                            part
                        } else {
                            format!("{part} (outside own work)")
                        }
                    }
                    AccessEvent::TicketsListed {
                        listing, tickets, ..
                    } => {
                        format!("{} tickets: {listing}", tickets.len())
                    }
                    AccessEvent::CallerLookedUp {
                        context, tickets, ..
                    } => {
                        let LookupContext::Intake { intake } = context;
                        format!("intake {intake}, {} tickets", tickets.len())
                    }
                    AccessEvent::LookupRefused { refusal, .. } => refusal.to_string(),
                    AccessEvent::RevealRefused { reason, why, .. } => {
                        format!("asked: {reason}; refused: {why}")
                    }
                    AccessEvent::LoginFailed { username, address } => {
                        format!("{username} from {address}")
                    }
                };
                let seat = access.seat();
                (
                    seat.iter()
                        .flat_map(|s| s.roles.iter().map(|r| r.as_str().to_owned()))
                        .collect(),
                    seat.map(|s| s.affiliation.code()).unwrap_or_default(),
                    detail,
                )
            }
            LogEvent::Ticket(domain::ticket::TicketEvent::ContactRevealed {
                reason,
                purpose,
                seat,
            }) => (
                seat.iter()
                    .flat_map(|s| s.roles.iter().map(|r| r.as_str().to_owned()))
                    .collect(),
                seat.as_ref()
                    .map(|s| s.affiliation.code())
                    .unwrap_or_default(),
                match purpose {
                    Some(purpose) => format!("{}: {reason}", purpose.zh()),
                    None => reason.clone(),
                },
            ),
            _ => (Vec::new(), String::new(), String::new()),
        };
        Self {
            seq: entry.seq,
            at: entry.at.timestamp(),
            user: entry.actor.clone(),
            roles,
            affiliation,
            kind: entry.event.kind().to_owned(),
            detail,
        }
    }
}

impl App {
    /// Who looked at this ticket, and when, in which roles and for whom: every access entry that
    /// showed it and every reveal, oldest first.
    pub async fn ticket_access(&self, actor: &Actor, no: TicketNo) -> AppResult<Vec<AccessLine>> {
        require(actor, Action::ViewAccessTrail, None)?;
        let entries = self.store.ticket_access(no).await?;
        Ok(entries
            .iter()
            .map(|entry| {
                let mut line = AccessLine::of(entry);
                if matches!(
                    entry.event,
                    LogEvent::Access(AccessEvent::TicketsListed { .. })
                ) {
                    // Lists are kept per person and day: this is the first of that day.
                    line.detail = format!("first in a list that day; {}", line.detail);
                }
                line
            })
            .collect())
    }

    /// The privacy page: everyone's looks in the `hours` before `now`, and the flags.
    pub async fn privacy_report(
        &self,
        actor: &Actor,
        now: Timestamp,
        hours: u32,
    ) -> AppResult<PrivacyReport> {
        require(actor, Action::ViewAccessTrail, None)?;
        let hours = hours.clamp(1, 24 * 31);
        let from = now - jiff::SignedDuration::from_hours(i64::from(hours));
        let entries = self
            .store
            .access_trail(from, now + jiff::SignedDuration::from_secs(1))
            .await?;
        Ok(privacy_report(
            &entries,
            &self.registry().rules.policy.privacy,
        ))
    }

    /// Failed logins in the `hours` before `now`, newest first, with the name tried and the
    /// address: for administrators.
    pub async fn failed_logins(
        &self,
        actor: &Actor,
        now: Timestamp,
        hours: u32,
    ) -> AppResult<Vec<AccessLine>> {
        require(actor, Action::ManageUsers, None)?;
        let from = now - jiff::SignedDuration::from_hours(i64::from(hours.clamp(1, 24 * 31)));
        let entries = self
            .store
            .failed_logins(from, now + jiff::SignedDuration::from_secs(1))
            .await?;
        Ok(entries
            .iter()
            .rev()
            .filter(|e| matches!(e.event, LogEvent::Access(AccessEvent::LoginFailed { .. })))
            .map(AccessLine::of)
            .collect())
    }

    /// One person's looks in the `hours` before `now`, newest first.
    pub async fn person_access(
        &self,
        actor: &Actor,
        now: Timestamp,
        user: &str,
        hours: u32,
    ) -> AppResult<Vec<AccessLine>> {
        require(actor, Action::ViewAccessTrail, None)?;
        let hours = hours.clamp(1, 24 * 31);
        let from = now - jiff::SignedDuration::from_hours(i64::from(hours));
        let entries = self
            .store
            .access_trail(from, now + jiff::SignedDuration::from_secs(1))
            .await?;
        Ok(entries
            .iter()
            .rev()
            .filter(|e| e.actor == user && !matches!(e.event, LogEvent::Admin(_)))
            .map(AccessLine::of)
            .collect())
    }
}
