//! The ticket (工单) and its lifecycle, as a state machine over events: `decide` turns a command
//! into events or refuses it, `apply` folds an event into the state.

mod decide;
mod duplicates;
mod event;
mod evolve;
mod input;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{CategoryCode, ContactId, DivisionCode, TicketNo, TierCode, UnitId};

pub use decide::{
    Context, Directory, TicketAction, TicketCommand, decide, offered_actions, required_status,
};
pub use duplicates::likely_same_matter;
pub use event::TicketEvent;
pub use evolve::EvolveError;

/// How the request reached the hotline (受理渠道).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Web,
    App,
    MiniProgram,
    Wechat,
    Sms,
    Email,
    Open311,
    /// Passed on by the police (110 转 12345).
    Transfer110,
    /// Passed down by a higher-level government hotline or office (上级转办).
    Government,
}

crate::names::names!(Channel, "channel" {
    Phone => "phone",
    Web => "web",
    App => "app",
    MiniProgram => "mini_program",
    Wechat => "wechat",
    Sms => "sms",
    Email => "email",
    Open311 => "open311",
    Transfer110 => "transfer110",
    Government => "government",
});

impl Channel {
    pub fn zh(self) -> &'static str {
        match self {
            Self::Phone => "电话",
            Self::Web => "网站",
            Self::App => "移动应用",
            Self::MiniProgram => "小程序",
            Self::Wechat => "微信公众号",
            Self::Sms => "短信",
            Self::Email => "电子邮件",
            Self::Open311 => "Open311接口",
            Self::Transfer110 => "110转办",
            Self::Government => "上级转办",
        }
    }
}

/// Kind of request (诉求类型).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// 咨询.
    Consultation,
    /// 求助.
    Help,
    /// 投诉.
    Complaint,
    /// 举报.
    Report,
    /// 建议.
    Suggestion,
    /// 表扬.
    Praise,
}

crate::names::names!(RequestKind, "request kind" {
    Consultation => "consultation",
    Help => "help",
    Complaint => "complaint",
    Report => "report",
    Suggestion => "suggestion",
    Praise => "praise",
});

impl RequestKind {
    pub fn zh(self) -> &'static str {
        match self {
            Self::Consultation => "咨询",
            Self::Help => "求助",
            Self::Complaint => "投诉",
            Self::Report => "举报",
            Self::Suggestion => "建议",
            Self::Praise => "表扬",
        }
    }
}

/// Where a ticket stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 待派单: received, or returned and waiting to be dispatched again (改派).
    PendingDispatch,
    /// 待签收: dispatched, the lead unit has not signed yet.
    Dispatched,
    /// 办理中: signed (签收) and being handled.
    InProgress,
    /// 退单审核中: the unit asked to return it; the dispatcher arbitrates.
    ReturnRequested,
    /// 待回访: the unit replied (答复); the centre has to call the citizen back.
    Replied,
    /// 已办结.
    Closed,
    /// 已并单: merged into another ticket about the same matter.
    Merged,
    /// 已转交: handed to 110/119/120/122.
    HandedOff,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Self::PendingDispatch,
        Self::Dispatched,
        Self::InProgress,
        Self::ReturnRequested,
        Self::Replied,
        Self::Closed,
        Self::Merged,
        Self::HandedOff,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Closed | Self::Merged | Self::HandedOff)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingDispatch => "pending_dispatch",
            Self::Dispatched => "dispatched",
            Self::InProgress => "in_progress",
            Self::ReturnRequested => "return_requested",
            Self::Replied => "replied",
            Self::Closed => "closed",
            Self::Merged => "merged",
            Self::HandedOff => "handed_off",
        }
    }

    pub fn parse(text: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|s| s.as_str()).collect();
                DomainError::invalid(
                    "status",
                    format!("unknown status {text:?}; statuses are {}", names.join(", ")),
                )
            })
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::PendingDispatch => "待派单",
            Self::Dispatched => "待签收",
            Self::InProgress => "办理中",
            Self::ReturnRequested => "退单审核中",
            Self::Replied => "待回访",
            Self::Closed => "已办结",
            Self::Merged => "已并单",
            Self::HandedOff => "已转交",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.as_str(), self.zh())
    }
}

impl NewTicket {
    /// The free text of the request, by field name, for masking the phone and ID numbers in it
    /// (`numbers::mask_texts`).
    pub fn texts_mut(&mut self) -> Vec<(&'static str, &mut String)> {
        // The description first: a title is often its first words, numbers included.
        let mut texts = vec![
            ("description", &mut self.description),
            ("title", &mut self.title),
            ("location.address", &mut self.location.address),
        ];
        texts.extend(self.attributes.values_mut().map(|v| ("attributes", v)));
        texts
    }
}

/// Where the problem is (not where the citizen lives: that is in the sealed contact).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    pub address: String,
    pub division: Option<DivisionCode>,
    pub coordinates: Option<Coordinates>,
}

/// WGS-84 degrees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coordinates {
    pub lat: f64,
    pub lon: f64,
}

impl Coordinates {
    pub fn parse(lat: f64, lon: f64) -> Result<Self, DomainError> {
        if !(lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon))
        {
            return Err(DomainError::invalid(
                "coordinates",
                "latitude must be within ±90 and longitude within ±180",
            ));
        }
        Ok(Self { lat, lon })
    }
}

/// What the unit itself says about its reply. It is never used as the resolution: only the
/// citizen's answer at the follow-up is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplyClaim {
    /// 已解决.
    Solved,
    /// 已解释说明: answered or explained, nothing to fix.
    Explained,
    /// 无法解决: outside what the unit can do (with the reason in the result).
    CannotSolve,
}

/// 满意度 at the follow-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

/// What a follow-up call (回访) found out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "reached", rename_all = "snake_case")]
pub enum FollowUpOutcome {
    /// Nobody answered, or the citizen declined to talk.
    NotReached,
    Reached {
        /// The citizen says the unit got in touch (响应).
        unit_contacted: bool,
        /// The citizen says the problem is solved (解决).
        solved: bool,
        satisfaction: Satisfaction,
    },
}

impl FollowUpOutcome {
    /// Whether this answer sends the ticket back to the unit: unsolved or dissatisfied.
    pub fn needs_rework(self) -> bool {
        matches!(self, Self::Reached { solved, satisfaction, .. } if !solved || satisfaction == Satisfaction::Dissatisfied)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EmergencyService {
    #[serde(rename = "110")]
    Police110,
    #[serde(rename = "119")]
    Fire119,
    #[serde(rename = "120")]
    Ambulance120,
    #[serde(rename = "122")]
    Traffic122,
}

crate::names::names!(EmergencyService, "emergency service" {
    Police110 => "110",
    Fire119 => "119",
    Ambulance120 => "120",
    Traffic122 => "122",
});

/// Why a ticket was closed (办结).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClosureOutcome {
    /// 直办: the operator answered on the call.
    AnsweredOnCall,
    /// The citizen confirmed at the follow-up that it is solved.
    Solved,
    /// The citizen said it is not solved (or was dissatisfied) and the reopen limit was reached.
    Unsolved,
    /// The follow-up never reached the citizen.
    Unreachable,
}

/// The request as the operator (or a channel) records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    pub channel: Channel,
    pub kind: RequestKind,
    pub urgency: TierCode,
    pub category: CategoryCode,
    pub title: String,
    pub description: String,
    pub location: Location,
    /// 保密: the handling unit never sees who asked.
    pub confidential: bool,
    /// Answers to a service's extra questions, as submitted through Open311 (code → value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// A photo or document the citizen linked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    /// SHA-256 (hex) of the private code a citizen follows the request with on the citizen page;
    /// the code itself is shown to the citizen once and kept nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizen_code: Option<String>,
    /// The media type of the photo the citizen attached (the photo itself is sealed beside the
    /// log, like a contact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// 同意公开: the citizen agreed that the request's words, exact place and reply be published
    /// (Open311). Without it only the category, the street or community and the progress are.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
}

/// One hand-over of the ticket to a lead unit (主办), from dispatch (or reopen) until it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub unit: UnitId,
    /// 协办单位: units that help and may see the ticket.
    pub co_units: Vec<UnitId>,
    pub cause: AssignmentCause,
    pub started_at: Timestamp,
    pub sign_by: Timestamp,
    pub reply_by: Timestamp,
    pub signed_at: Option<Timestamp>,
    pub first_contact_at: Option<Timestamp>,
    pub return_requests: Vec<Timestamp>,
    pub pending_return: Option<PendingReturn>,
    pub extension_requests: Vec<Timestamp>,
    pub extensions_approved: Vec<Timestamp>,
    pub pending_extension: Option<PendingExtension>,
    pub reply: Option<Reply>,
    pub follow_ups: Vec<FollowUpRecord>,
    pub ended: Option<AssignmentEnd>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentCause {
    Dispatch,
    /// 改派 after an approved return.
    Redispatch,
    /// 重办 after an unsolved or dissatisfied follow-up.
    Reopen,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReturn {
    pub at: Timestamp,
    pub reason: String,
    pub rule: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingExtension {
    pub at: Timestamp,
    pub working_days: u32,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub at: Timestamp,
    pub result: String,
    pub claim: ReplyClaim,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpRecord {
    pub at: Timestamp,
    pub outcome: FollowUpOutcome,
    pub comment: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentEnd {
    pub at: Timestamp,
    pub reason: AssignmentEndReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentEndReason {
    Returned,
    Reopened,
    Closed,
    Merged,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub at: Timestamp,
    pub outcome: ClosureOutcome,
}

/// The state of one ticket, folded from its events. The store keeps it as a projection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub no: TicketNo,
    pub request: NewTicket,
    pub contact: Option<ContactId>,
    pub received_at: Timestamp,
    pub received_by: String,
    pub status: Status,
    /// Every hand-over, oldest first; the last one is current unless it has ended.
    pub assignments: Vec<Assignment>,
    /// The operator's answer when it was answered on the call (直办).
    pub answer: Option<String>,
    pub urge_count: u32,
    pub supervised: bool,
    pub merged_into: Option<TicketNo>,
    pub absorbed: Vec<TicketNo>,
    pub handed_off_to: Option<EmergencyService>,
    pub closure: Option<Closure>,
    /// Phone and ID numbers typed into the ticket's text, masked and sealed beside the log.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sealed_numbers: u32,
    pub updated_at: Timestamp,
    /// Events applied so far.
    pub version: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Ticket {
    /// Whether there is anything a reveal would show: a sealed contact, or numbers typed into
    /// the text.
    pub fn has_personal_data(&self) -> bool {
        self.contact.is_some() || self.sealed_numbers > 0
    }

    /// The assignment in force, if the ticket is with a unit now.
    pub fn current(&self) -> Option<&Assignment> {
        self.assignments.last().filter(|a| a.ended.is_none())
    }

    pub fn lead_unit(&self) -> Option<&UnitId> {
        self.current().map(|a| &a.unit)
    }

    pub fn involves_unit(&self, unit: &UnitId) -> bool {
        self.current()
            .is_some_and(|a| &a.unit == unit || a.co_units.contains(unit))
    }

    pub fn reopen_count(&self) -> u32 {
        self.assignments
            .iter()
            .filter(|a| a.cause == AssignmentCause::Reopen)
            .count() as u32
    }

    /// The deadline the ticket is running against now: signing while dispatched, the reply
    /// while being handled.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let current = self.current()?;
        match self.status {
            Status::Dispatched => Some(current.sign_by),
            Status::InProgress | Status::ReturnRequested => Some(current.reply_by),
            _ => None,
        }
    }

    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.next_deadline().is_some_and(|d| now > d)
    }
}
