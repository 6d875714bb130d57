//! What happened to a ticket. Events are facts: once in the log they are never changed, so their
//! serialized form is part of the audit record (new fields must be optional with a default).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ClosureOutcome, EmergencyService, FollowUpOutcome, NewTicket, ReplyClaim};
use crate::access::Seat;
use crate::ids::{ContactId, TicketNo, UnitId};
use crate::numbers::SealedNumber;
use crate::permission::RevealPurpose;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum TicketEvent {
    /// 受理.
    #[serde(rename = "ticket.received")]
    Received {
        request: NewTicket,
        contact: Option<ContactId>,
    },
    /// 直办.
    #[serde(rename = "ticket.answered_on_call")]
    AnsweredOnCall { answer: String },
    /// 派单 (or 改派 when `redispatch`).
    #[serde(rename = "ticket.dispatched")]
    Dispatched {
        lead: UnitId,
        co_units: Vec<UnitId>,
        sign_by: Timestamp,
        reply_by: Timestamp,
        redispatch: bool,
        note: String,
    },
    /// 签收.
    #[serde(rename = "ticket.signed")]
    Signed { unit: UnitId },
    /// 退单申请.
    #[serde(rename = "ticket.return_requested")]
    ReturnRequested {
        unit: UnitId,
        reason: String,
        rule: String,
    },
    #[serde(rename = "ticket.return_approved")]
    ReturnApproved { unit: UnitId, note: String },
    #[serde(rename = "ticket.return_rejected")]
    ReturnRejected { unit: UnitId, note: String },
    /// 延期申请.
    #[serde(rename = "ticket.extension_requested")]
    ExtensionRequested {
        unit: UnitId,
        working_days: u32,
        reason: String,
    },
    #[serde(rename = "ticket.extension_approved")]
    ExtensionApproved {
        unit: UnitId,
        working_days: u32,
        reply_by: Timestamp,
        note: String,
    },
    #[serde(rename = "ticket.extension_rejected")]
    ExtensionRejected { unit: UnitId, note: String },
    /// 催办.
    #[serde(rename = "ticket.urged")]
    Urged { unit: UnitId, note: String },
    /// 督办.
    #[serde(rename = "ticket.supervised")]
    Supervised { unit: UnitId, note: String },
    /// 答复.
    #[serde(rename = "ticket.replied")]
    Replied {
        unit: UnitId,
        result: String,
        claim: ReplyClaim,
    },
    /// 回访.
    #[serde(rename = "ticket.follow_up_recorded")]
    FollowUpRecorded {
        unit: UnitId,
        attempt: u32,
        outcome: FollowUpOutcome,
        comment: String,
    },
    /// 重办: back to the same unit with new deadlines.
    #[serde(rename = "ticket.reopened")]
    Reopened {
        unit: UnitId,
        sign_by: Timestamp,
        reply_by: Timestamp,
    },
    /// 办结.
    #[serde(rename = "ticket.closed")]
    Closed { outcome: ClosureOutcome },
    /// 并单: this ticket joins `target`.
    #[serde(rename = "ticket.merged_into")]
    MergedInto { target: TicketNo },
    /// Another ticket was merged into this one.
    #[serde(rename = "ticket.absorbed")]
    Absorbed { source: TicketNo },
    /// 转110/119/120/122.
    #[serde(rename = "ticket.handed_off")]
    HandedOff { to: EmergencyService, note: String },
    #[serde(rename = "ticket.note_added")]
    NoteAdded {
        unit: Option<UnitId>,
        text: String,
        contacted_citizen: bool,
    },
    /// Someone saw the citizen's full contact details, and said why.
    #[serde(rename = "ticket.contact_revealed")]
    ContactRevealed {
        reason: String,
        /// Which of the listed purposes (absent before purposes were asked for).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        purpose: Option<RevealPurpose>,
        /// The roles and organisation the person revealed in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seat: Option<Seat>,
    },
    /// Phone or ID numbers typed into the text of the events just before (a description, a note,
    /// a reply) were masked there; the numbers themselves are sealed beside the log, readable
    /// through a logged reveal.
    #[serde(rename = "ticket.numbers_sealed")]
    NumbersSealed { numbers: Vec<SealedNumber> },
}

impl TicketEvent {
    /// The stable name stored beside the event in the log.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Received { .. } => "ticket.received",
            Self::AnsweredOnCall { .. } => "ticket.answered_on_call",
            Self::Dispatched { .. } => "ticket.dispatched",
            Self::Signed { .. } => "ticket.signed",
            Self::ReturnRequested { .. } => "ticket.return_requested",
            Self::ReturnApproved { .. } => "ticket.return_approved",
            Self::ReturnRejected { .. } => "ticket.return_rejected",
            Self::ExtensionRequested { .. } => "ticket.extension_requested",
            Self::ExtensionApproved { .. } => "ticket.extension_approved",
            Self::ExtensionRejected { .. } => "ticket.extension_rejected",
            Self::Urged { .. } => "ticket.urged",
            Self::Supervised { .. } => "ticket.supervised",
            Self::Replied { .. } => "ticket.replied",
            Self::FollowUpRecorded { .. } => "ticket.follow_up_recorded",
            Self::Reopened { .. } => "ticket.reopened",
            Self::Closed { .. } => "ticket.closed",
            Self::MergedInto { .. } => "ticket.merged_into",
            Self::Absorbed { .. } => "ticket.absorbed",
            Self::HandedOff { .. } => "ticket.handed_off",
            Self::NoteAdded { .. } => "ticket.note_added",
            Self::ContactRevealed { .. } => "ticket.contact_revealed",
            Self::NumbersSealed { .. } => "ticket.numbers_sealed",
        }
    }

    /// Whether the event changes the ticket's state (a revealed contact does not; it is only
    /// recorded).
    pub fn changes_state(&self) -> bool {
        !matches!(self, Self::ContactRevealed { .. })
    }
}
