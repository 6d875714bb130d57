//! What callers see of a ticket: names resolved, deadlines spelled out, the contact masked or
//! absent. Shared by the JSON API, the web pages and the CLI.

use domain::ids::UnitId;
use domain::privacy::MaskedContact;
use domain::ticket::{
    Channel, ClosureOutcome, EmergencyService, FollowUpOutcome, ReplyClaim, RequestKind, Status,
    Ticket,
};
use jiff::Timestamp;
use serde::Serialize;
use store::Registry;
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnitRef {
    #[schema(value_type = String)]
    pub id: UnitId,
    pub name: String,
}

impl UnitRef {
    fn of(registry: &Registry, id: &UnitId) -> Self {
        Self {
            id: id.clone(),
            name: registry.unit_name(id).unwrap_or(id.as_str()).to_owned(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LocationView {
    pub address: String,
    pub division: Option<String>,
    pub division_name: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReplyView {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub result: String,
    pub claim: ReplyClaim,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PendingView {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub reason: String,
    /// The rule a return rests on.
    pub rule: Option<String>,
    /// Working days an extension asks for.
    pub working_days: Option<u32>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FollowUpView {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub outcome: FollowUpOutcome,
    pub comment: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ClosureView {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub outcome: ClosureOutcome,
}

/// A ticket as a person may see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// `26112600042`.
    pub no: String,
    /// `261126-00042`, for reading aloud.
    pub no_grouped: String,
    pub status: Status,
    pub status_zh: String,
    pub channel: Channel,
    pub kind: RequestKind,
    pub urgency: String,
    pub category: String,
    pub category_path: String,
    pub title: String,
    pub description: String,
    pub location: LocationView,
    pub confidential: bool,
    /// Masked; absent in lists, and always absent for unit staff on a confidential ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<MaskedContact>,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    pub received_by: String,
    pub lead_unit: Option<UnitRef>,
    pub co_units: Vec<UnitRef>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sign_by: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reply_by: Option<Timestamp>,
    /// The deadline running now (signing, then replying).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    pub overdue: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub signed_at: Option<Timestamp>,
    pub pending_return: Option<PendingView>,
    pub pending_extension: Option<PendingView>,
    pub reply: Option<ReplyView>,
    /// Follow-up calls about the current reply.
    pub follow_ups: Vec<FollowUpView>,
    pub closure: Option<ClosureView>,
    pub answer: Option<String>,
    pub merged_into: Option<String>,
    pub absorbed: Vec<String>,
    pub handed_off_to: Option<EmergencyService>,
    /// Answers to the service's extra questions (Open311 attributes), code → value.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// A photo or document the citizen linked to.
    pub media_url: Option<String>,
    /// The media type of the photo the citizen attached, if any (`/tickets/{no}/photo`).
    pub photo: Option<String>,
    pub urge_count: u32,
    pub supervised: bool,
    pub reopen_count: u32,
    /// How many times the ticket was handed to a unit (dispatch, re-dispatch, reopen).
    pub assignments: u32,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub version: u32,
}

impl TicketView {
    pub fn of(
        ticket: &Ticket,
        registry: &Registry,
        now: Timestamp,
        contact: Option<MaskedContact>,
    ) -> Self {
        let current = ticket.current();
        let last = ticket.assignments.last();
        let location = &ticket.request.location;
        Self {
            no: ticket.no.to_string(),
            no_grouped: ticket.no.grouped(),
            status: ticket.status,
            status_zh: ticket.status.zh().to_owned(),
            channel: ticket.request.channel,
            kind: ticket.request.kind,
            urgency: ticket.request.urgency.to_string(),
            category: ticket.request.category.to_string(),
            category_path: registry.category_path(&ticket.request.category),
            title: ticket.request.title.clone(),
            description: ticket.request.description.clone(),
            location: LocationView {
                address: location.address.clone(),
                division: location.division.as_ref().map(|d| d.to_string()),
                division_name: location
                    .division
                    .as_ref()
                    .and_then(|d| registry.division_name(d))
                    .map(str::to_owned),
                lat: location.coordinates.map(|c| c.lat),
                lon: location.coordinates.map(|c| c.lon),
            },
            confidential: ticket.request.confidential,
            contact,
            received_at: ticket.received_at,
            received_by: ticket.received_by.clone(),
            lead_unit: current.map(|a| UnitRef::of(registry, &a.unit)),
            co_units: current
                .map(|a| {
                    a.co_units
                        .iter()
                        .map(|u| UnitRef::of(registry, u))
                        .collect()
                })
                .unwrap_or_default(),
            sign_by: current.map(|a| a.sign_by),
            reply_by: current.map(|a| a.reply_by),
            due_at: ticket.next_deadline(),
            overdue: ticket.is_overdue(now),
            signed_at: current.and_then(|a| a.signed_at),
            pending_return: current
                .and_then(|a| a.pending_return.as_ref())
                .map(|p| PendingView {
                    at: p.at,
                    reason: p.reason.clone(),
                    rule: Some(p.rule.clone()),
                    working_days: None,
                }),
            pending_extension: current.and_then(|a| a.pending_extension.as_ref()).map(|p| {
                PendingView {
                    at: p.at,
                    reason: p.reason.clone(),
                    rule: None,
                    working_days: Some(p.working_days),
                }
            }),
            reply: last.and_then(|a| a.reply.as_ref()).map(|r| ReplyView {
                at: r.at,
                result: r.result.clone(),
                claim: r.claim,
            }),
            follow_ups: last
                .map(|a| {
                    a.follow_ups
                        .iter()
                        .map(|f| FollowUpView {
                            at: f.at,
                            outcome: f.outcome,
                            comment: f.comment.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            closure: ticket.closure.map(|c| ClosureView {
                at: c.at,
                outcome: c.outcome,
            }),
            answer: ticket.answer.clone(),
            merged_into: ticket.merged_into.map(|n| n.to_string()),
            absorbed: ticket.absorbed.iter().map(|n| n.to_string()).collect(),
            handed_off_to: ticket.handed_off_to,
            attributes: ticket.request.attributes.clone(),
            media_url: ticket.request.media_url.clone(),
            photo: ticket.request.photo.clone(),
            urge_count: ticket.urge_count,
            supervised: ticket.supervised,
            reopen_count: ticket.reopen_count(),
            assignments: ticket.assignments.len() as u32,
            updated_at: ticket.updated_at,
            version: ticket.version,
        }
    }
}

/// One line of a ticket's timeline, straight from the audit log.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub actor: String,
    pub kind: String,
    /// The event's fields as logged (the sealed contact's id is left out).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}
