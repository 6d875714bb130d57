//! One endpoint per lifecycle action, at `/tickets/{no}/{action}` where `{action}` is the action's
//! one name (`permission::Action::as_str`, as the workstation's forms post it too). Each turns its
//! body into a domain action and hands it to the same use case; permission and state are checked
//! there.

use std::sync::Arc;

use app::App;
use app::views::TicketView;
use axum::extract::State;
use domain::ids::UnitId;
use domain::ticket::{EmergencyService, FollowUpOutcome, ReplyClaim, Satisfaction, TicketAction};
use serde::Deserialize;
use utoipa::ToSchema;

use super::tickets::ticket_no;
use crate::error::{ErrorBody, WebError, WebResult};
use crate::extract::{Authenticated, Json, Path};

async fn act(
    app: &App,
    actor: &domain::org::Actor,
    no: &str,
    action: TicketAction,
) -> WebResult<Json<TicketView>> {
    Ok(Json(
        app.act(actor, app.now(), ticket_no(no)?, action).await?,
    ))
}

/// Declares an action endpoint with its OpenAPI description.
macro_rules! action_endpoint {
    ($name:ident, $path:literal, $summary:literal, $body:ty, |$b:ident| $convert:expr) => {
        #[utoipa::path(post, path = $path, tag = "actions", summary = $summary,
            params(("no" = String, Path, description = "Ticket number")),
            request_body = $body,
            responses(
                (status = 200, description = "The ticket after the action", body = TicketView),
                (status = 400, description = "Bad input", body = ErrorBody),
                (status = 403, description = "The actor may not do this", body = ErrorBody),
                (status = 404, description = "No such ticket", body = ErrorBody),
                (status = 409, description = "The ticket's status does not allow it", body = ErrorBody),
            ),
            security(("bearer" = [])))]
        pub async fn $name(
            State(app): State<Arc<App>>,
            Authenticated(actor): Authenticated,
            Path(no): Path<String>,
            Json($b): Json<$body>,
        ) -> WebResult<Json<TicketView>> {
            let action: Result<TicketAction, WebError> = $convert;
            act(&app, &actor, &no, action?).await
        }
    };
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub answer: String,
}
action_endpoint!(
    answer_on_call,
    "/tickets/{no}/answer_on_call",
    "Answer on the call (直办) and close",
    AnswerBody,
    |b| Ok(TicketAction::AnswerOnCall { answer: b.answer })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    /// The lead unit (主办).
    #[schema(value_type = String)]
    pub lead: UnitId,
    /// Co-units (协办).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub co_units: Vec<UnitId>,
    #[serde(default)]
    pub note: String,
}
action_endpoint!(
    dispatch,
    "/tickets/{no}/dispatch",
    "Dispatch (派单) or re-dispatch (改派) to a lead unit and co-units",
    DispatchBody,
    |b| Ok(TicketAction::Dispatch {
        lead: b.lead,
        co_units: b.co_units,
        note: b.note
    })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}
action_endpoint!(
    sign,
    "/tickets/{no}/sign",
    "Sign for the ticket (签收)",
    EmptyBody,
    |_b| Ok(TicketAction::Sign)
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    pub reason: String,
    /// The rule the return rests on (三定方案, 权责清单, the dispatch catalogue…).
    pub rule: String,
}
action_endpoint!(
    request_return,
    "/tickets/{no}/request_return",
    "Ask to return the ticket (退单)",
    ReturnBody,
    |b| Ok(TicketAction::RequestReturn {
        reason: b.reason,
        rule: b.rule
    })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub approve: bool,
    /// Required when rejecting.
    #[serde(default)]
    pub note: String,
}
action_endpoint!(
    decide_return,
    "/tickets/{no}/decide_return",
    "Approve (back for re-dispatch) or reject a return request",
    DecisionBody,
    |b| Ok(TicketAction::DecideReturn {
        approve: b.approve,
        note: b.note
    })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionBody {
    pub working_days: u32,
    pub reason: String,
}
action_endpoint!(
    request_extension,
    "/tickets/{no}/request_extension",
    "Ask for more time (延期)",
    ExtensionBody,
    |b| Ok(TicketAction::RequestExtension {
        working_days: b.working_days,
        reason: b.reason
    })
);
action_endpoint!(
    decide_extension,
    "/tickets/{no}/decide_extension",
    "Approve (new deadline) or reject an extension request",
    DecisionBody,
    |b| Ok(TicketAction::DecideExtension {
        approve: b.approve,
        note: b.note
    })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    #[serde(default)]
    pub note: String,
}
action_endpoint!(
    urge,
    "/tickets/{no}/urge",
    "Urge the unit (催办)",
    NoteBody,
    |b| Ok(TicketAction::Urge { note: b.note })
);
action_endpoint!(
    supervise,
    "/tickets/{no}/supervise",
    "Put the ticket under supervision (督办)",
    NoteBody,
    |b| Ok(TicketAction::Supervise { note: b.note })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    /// What was done, in words the citizen will hear at the follow-up.
    pub result: String,
    /// The unit's own claim; the resolution rate never uses it.
    pub claim: ReplyClaim,
}
action_endpoint!(
    reply,
    "/tickets/{no}/reply",
    "Reply with the result (答复)",
    ReplyBody,
    |b| Ok(TicketAction::Reply {
        result: b.result,
        claim: b.claim
    })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    /// Whether the citizen was reached. If not, leave the other answers out.
    pub reached: bool,
    pub unit_contacted: Option<bool>,
    pub solved: Option<bool>,
    pub satisfaction: Option<Satisfaction>,
    #[serde(default)]
    pub comment: String,
}

impl FollowUpBody {
    fn outcome(&self) -> Result<FollowUpOutcome, WebError> {
        match (
            self.reached,
            self.unit_contacted,
            self.solved,
            self.satisfaction,
        ) {
            (false, None, None, None) => Ok(FollowUpOutcome::NotReached),
            (false, ..) => Err(WebError::bad_request(
                "a follow-up that did not reach the citizen has no answers; leave unit_contacted, solved and satisfaction out",
            )),
            (true, Some(unit_contacted), Some(solved), Some(satisfaction)) => {
                Ok(FollowUpOutcome::Reached {
                    unit_contacted,
                    solved,
                    satisfaction,
                })
            }
            (true, ..) => Err(WebError::bad_request(
                "a follow-up that reached the citizen needs unit_contacted, solved and satisfaction",
            )),
        }
    }
}
action_endpoint!(
    record_follow_up,
    "/tickets/{no}/record_follow_up",
    "Record the follow-up call (回访): closes when solved, reopens (重办) when not",
    FollowUpBody,
    |b| Ok(TicketAction::RecordFollowUp {
        outcome: b.outcome()?,
        comment: b.comment
    })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The ticket this one joins.
    pub into: String,
}
action_endpoint!(
    merge,
    "/tickets/{no}/merge",
    "Merge into another ticket about the same matter (并单)",
    MergeBody,
    |b| Ok(TicketAction::Merge {
        into: ticket_no(&b.into)?
    })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOffBody {
    pub to: EmergencyService,
    #[serde(default)]
    pub note: String,
}
action_endpoint!(
    hand_off,
    "/tickets/{no}/hand_off",
    "Hand off to 110/119/120/122",
    HandOffBody,
    |b| Ok(TicketAction::HandOff {
        to: b.to,
        note: b.note
    })
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddNoteBody {
    pub text: String,
    /// This note records contact with the citizen (the unit's response).
    #[serde(default)]
    pub contacted_citizen: bool,
}
action_endpoint!(
    add_note,
    "/tickets/{no}/add_note",
    "Add a note",
    AddNoteBody,
    |b| Ok(TicketAction::AddNote {
        text: b.text,
        contacted_citizen: b.contacted_citizen
    })
);
