//! The unit workbench (承办): the unit's open tickets, soonest deadline first, with a live
//! countdown; a unit manager also sees the unit's whole load by status.

use std::sync::Arc;

use app::App;
use app::tickets::{ListFilter, TicketOrder};
use axum::extract::{Query, State};
use axum::response::Response;
use domain::org::Role;
use domain::ticket::Status;

use super::dispatch::{Done, QueuesPage};
use super::page::{Chrome, UiError, UiResult, render};
use super::queue::{Queue, Row};
use super::session::Viewer;

/// The most tickets the inbox shows, soonest deadline first.
const INBOX_LIMIT: u32 = 500;

pub async fn inbox(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> UiResult<Response> {
    let (now, t, lang) = (app.now(), viewer.lang.t(), viewer.lang);
    let Some(unit) = viewer.actor.affiliation.unit().cloned() else {
        return Err(UiError::forbidden(
            "the unit workbench is for staff of a handling unit",
        ));
    };
    let filter = ListFilter {
        statuses: vec![
            Status::Dispatched,
            Status::InProgress,
            Status::ReturnRequested,
        ],
        unit: Some(unit.clone()),
        limit: INBOX_LIMIT,
        order: TicketOrder::DeadlineFirst,
        ..ListFilter::default()
    };
    let open = app
        .list(&viewer.actor, now, filter)
        .await
        .map_err(|e| UiError::from(e).with_lang(lang))?;
    let summary = if viewer.has(Role::UnitManager) {
        app.status_counts(&viewer.actor, now, Some(unit))
            .await?
            .into_iter()
            .map(|s| (lang.status(s.status).to_owned(), s.count, s.overdue))
            .collect()
    } else {
        Vec::new()
    };
    let c = Chrome::new(
        &viewer,
        app.registry().rules.calendar.zone().clone(),
        "/unit",
        t.nav_unit,
    );
    let rows: Vec<Row> = open.iter().map(|v| Row::of(&c, v, now)).collect();
    Ok(render(&QueuesPage {
        c,
        heading: t.nav_unit,
        done: q.done,
        summary,
        queues: vec![Queue::new(
            "inbox",
            t.unit_inbox,
            rows,
            INBOX_LIMIT as usize,
        )],
        pairs: Vec::new(),
    }))
}
