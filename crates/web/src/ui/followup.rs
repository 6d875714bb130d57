//! The follow-up console (回访): replied tickets waiting for a call to the citizen, oldest reply
//! first. Each opens the ticket page, which shows the reply to read out and the one-click outcomes.

use std::sync::Arc;

use app::App;
use app::tickets::ListFilter;
use axum::extract::{Query, State};
use axum::response::Response;
use domain::ticket::Status;

use super::dispatch::{Done, QueuesPage};
use super::page::{Chrome, UiError, UiResult, render};
use super::queue::{Queue, Row};
use super::session::Viewer;

pub async fn queue(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> UiResult<Response> {
    let (now, t) = (app.now(), viewer.lang.t());
    domain::permission::may_ever(&viewer.actor, domain::permission::Action::RecordFollowUp)
        .then_some(())
        .ok_or_else(|| UiError::forbidden("the follow-up console is for follow-up agents"))?;
    let filter = ListFilter {
        statuses: vec![Status::Replied],
        limit: 500,
        ..ListFilter::default()
    };
    let mut replied = app
        .list(&viewer.actor, now, filter)
        .await
        .map_err(|e| UiError::from(e).with_lang(viewer.lang))?;
    replied.sort_by_key(|v| v.reply.as_ref().map(|r| r.at));
    let c = Chrome::new(
        &viewer,
        app.registry().rules.calendar.zone().clone(),
        "/followup",
        t.nav_followup,
    );
    let rows = replied.iter().map(|v| Row::of(&c, v, now)).collect();
    Ok(render(&QueuesPage {
        c,
        heading: t.nav_followup,
        done: q.done,
        summary: Vec::new(),
        queues: vec![Queue::new("followup", t.followup_due, rows, 500)],
        pairs: Vec::new(),
    }))
}
