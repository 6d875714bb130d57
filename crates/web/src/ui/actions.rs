//! Every form on a ticket posts here: `/tickets/{no}/act/{action}`, the action by its one name
//! (`permission::Action`, as in the API's `/api/v1/tickets/{no}/{action}`). The form's fields
//! become one `TicketAction`, the same use case as the JSON API runs it, and the browser is sent on to where
//! the work continues (post/redirect/get, so a reload never repeats an action).

use std::sync::Arc;

use app::App;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::ids::{TicketNo, UnitId};
use domain::permission::Action;
use domain::ticket::{EmergencyService, FollowUpOutcome, ReplyClaim, Satisfaction, TicketAction};

use super::form::{Fields, checked, field, values};
use super::page::{UiError, UiResult};
use super::session::Viewer;
use super::ticket::parse_no;

pub async fn act(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((no, name)): Path<(String, String)>,
    Form(fields): Form<Fields>,
) -> Response {
    let result = async {
        let no = parse_no(&no)?;
        let action = parse_action(&name, &fields)?;
        let next = next_page(no, &action);
        app.act(&viewer.actor, app.now(), no, action).await?;
        Ok::<_, UiError>(next)
    }
    .await;
    match result {
        Ok(next) => Redirect::to(&next).into_response(),
        Err(e) => e.with_lang(viewer.lang).into_response(),
    }
}

fn parse_action(name: &str, f: &Fields) -> UiResult<TicketAction> {
    let text = |n: &str| field(f, n).to_owned();
    let unknown = || UiError::not_found(format!("there is no action {name:?}"));
    Ok(match name.parse::<Action>().map_err(|_| unknown())? {
        Action::Dispatch => TicketAction::Dispatch {
            lead: UnitId::parse(field(f, "lead"))
                .map_err(|_| UiError::bad_request("choose the lead unit"))?,
            co_units: values(f, "co_units")
                .map(UnitId::parse)
                .collect::<Result<_, _>>()
                .map_err(|e| UiError::bad_request(e.to_string()))?,
            note: text("note"),
        },
        Action::AnswerOnCall => TicketAction::AnswerOnCall {
            answer: text("answer"),
        },
        Action::Sign => TicketAction::Sign,
        Action::RequestReturn => TicketAction::RequestReturn {
            reason: text("reason"),
            rule: text("rule"),
        },
        Action::DecideReturn => TicketAction::DecideReturn {
            approve: field(f, "approve") == "1",
            note: text("note"),
        },
        Action::RequestExtension => TicketAction::RequestExtension {
            working_days: field(f, "working_days")
                .trim()
                .parse()
                .map_err(|_| UiError::bad_request("working days must be a whole number"))?,
            reason: text("reason"),
        },
        Action::DecideExtension => TicketAction::DecideExtension {
            approve: field(f, "approve") == "1",
            note: text("note"),
        },
        Action::Urge => TicketAction::Urge { note: text("note") },
        Action::Supervise => TicketAction::Supervise { note: text("note") },
        Action::Reply => TicketAction::Reply {
            result: text("result"),
            claim: match field(f, "claim") {
                "solved" => ReplyClaim::Solved,
                "explained" => ReplyClaim::Explained,
                "cannot_solve" => ReplyClaim::CannotSolve,
                other => {
                    return Err(UiError::bad_request(format!(
                        "unknown reply claim {other:?}"
                    )));
                }
            },
        },
        Action::RecordFollowUp => TicketAction::RecordFollowUp {
            outcome: follow_up_outcome(field(f, "outcome"), checked(f, "unit_contacted"))?,
            comment: text("comment"),
        },
        Action::Merge => TicketAction::Merge {
            into: parse_no(field(f, "into"))?,
        },
        Action::HandOff => TicketAction::HandOff {
            to: text("to")
                .parse::<EmergencyService>()
                .map_err(|_| UiError::bad_request("hand off to 110, 119, 120 or 122"))?,
            note: text("note"),
        },
        Action::AddNote => TicketAction::AddNote {
            text: text("text"),
            contacted_citizen: checked(f, "contacted_citizen"),
        },
        // Not a form on a ticket: receiving has its own page, revealing its own route.
        _ => return Err(unknown()),
    })
}

/// The one-click outcomes of the follow-up console.
fn follow_up_outcome(button: &str, unit_contacted: bool) -> UiResult<FollowUpOutcome> {
    let reached = |solved, satisfaction| FollowUpOutcome::Reached {
        unit_contacted,
        solved,
        satisfaction,
    };
    Ok(match button {
        "not_reached" => FollowUpOutcome::NotReached,
        "solved_satisfied" => reached(true, Satisfaction::Satisfied),
        "solved_basic" => reached(true, Satisfaction::BasicallySatisfied),
        "solved_dissatisfied" => reached(true, Satisfaction::Dissatisfied),
        "not_solved" => reached(false, Satisfaction::Dissatisfied),
        other => {
            return Err(UiError::bad_request(format!(
                "unknown follow-up outcome {other:?}"
            )));
        }
    })
}

/// Where the work goes on after an action.
fn next_page(no: TicketNo, action: &TicketAction) -> String {
    match action {
        TicketAction::Dispatch { .. } => format!("/dispatch?done={no}"),
        // An approved return goes straight to dispatching it again (改派).
        TicketAction::DecideReturn { approve: true, .. } => format!("/dispatch/{no}"),
        TicketAction::DecideReturn { .. } | TicketAction::DecideExtension { .. } => {
            format!("/dispatch?done={no}")
        }
        TicketAction::RecordFollowUp { .. } => format!("/followup?done={no}"),
        _ => format!("/tickets/{no}?done={no}"),
    }
}
