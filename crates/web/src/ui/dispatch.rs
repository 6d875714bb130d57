//! The dispatcher's desk (派单): queues of new tickets, return and extension requests to decide,
//! overdue and due-soon tickets, candidate duplicates; and the dispatch form that shows the
//! deadlines before the dispatcher confirms.

use std::sync::Arc;

use app::App;
use app::workstation::UnitChoice;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::page::{Chrome, UiError, UiResult, render};
use super::queue::{Queue, Row};
use super::session::Viewer;
use super::ticket::parse_no;

/// The most tickets a queue shows; its count then reads `200+`.
const QUEUE_LIMIT: u32 = 200;

#[derive(Template)]
#[template(path = "queues.html")]
pub struct QueuesPage {
    pub c: Chrome,
    pub heading: &'static str,
    pub done: Option<String>,
    /// (status, count, overdue) for a unit manager's view of the load.
    pub summary: Vec<(String, u64, u64)>,
    pub queues: Vec<Queue>,
    /// (new ticket, earlier ticket) candidate duplicates, for the merge buttons.
    pub pairs: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

pub async fn queues(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> UiResult<Response> {
    let (actor, now, t) = (&viewer.actor, app.now(), viewer.lang.t());
    let lang = viewer.lang;
    let with_lang = |e: app::AppError| UiError::from(e).with_lang(lang);
    let app::workstation::DispatchQueues {
        new,
        returns,
        extensions,
        overdue,
        due_soon,
        duplicates,
    } = app
        .dispatch_queues(actor, now, QUEUE_LIMIT)
        .await
        .map_err(with_lang)?;
    let c = Chrome::new(
        &viewer,
        app.registry().rules.calendar.zone().clone(),
        "/dispatch",
        t.nav_dispatch,
    );
    // Each queue comes in its own order: new and returned tickets oldest first, deadlines most
    // urgent first.
    let rows = |views: &[app::views::TicketView]| -> Vec<_> {
        views.iter().map(|v| Row::of(&c, v, now)).collect()
    };
    let new_rows = rows(&new)
        .into_iter()
        .map(|r| {
            let href = format!("/dispatch/{}", r.no);
            r.linking_to(href)
        })
        .collect();
    let limit = QUEUE_LIMIT as usize;
    let queues = vec![
        Queue::new("new", t.new_queue, new_rows, limit),
        Queue::new("returns", t.returns_queue, rows(&returns), limit),
        Queue::new(
            "extensions",
            t.extensions_queue,
            rows(&extensions),
            usize::MAX,
        ),
        Queue::new("overdue", t.overdue_queue, rows(&overdue), limit),
        Queue::new("due-soon", t.due_soon_queue, rows(&due_soon), limit),
        Queue::new(
            "duplicates",
            t.duplicates_queue,
            duplicates
                .iter()
                .map(|(new, _)| Row::of(&c, new, now))
                .collect(),
            usize::MAX,
        ),
    ];
    let pairs = duplicates
        .iter()
        .map(|(new, earlier)| (new.no.clone(), earlier.no.clone()))
        .collect();
    Ok(render(&QueuesPage {
        c,
        heading: t.nav_dispatch,
        done: q.done,
        summary: Vec::new(),
        queues,
        pairs,
    }))
}

#[derive(Template)]
#[template(path = "dispatch.html")]
struct DispatchForm {
    c: Chrome,
    t: app::views::TicketView,
    tier_name: String,
    sign_by: String,
    reply_by: String,
    suggested: Vec<UnitChoice>,
    others: Vec<UnitChoice>,
}

pub async fn form(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(no): Path<String>,
) -> UiResult<Response> {
    let no = parse_no(&no)?;
    let preview = app
        .dispatch_preview(&viewer.actor, app.now(), no)
        .await
        .map_err(|e| UiError::from(e).with_lang(viewer.lang))?;
    let c = Chrome::new(
        &viewer,
        app.registry().rules.calendar.zone().clone(),
        "/dispatch",
        viewer.lang.t().dispatch,
    );
    let suggested_ids: Vec<_> = preview.suggested.iter().map(|u| u.id.clone()).collect();
    let others = preview
        .all
        .into_iter()
        .filter(|u| !suggested_ids.contains(&u.id))
        .collect();
    Ok(render(&DispatchForm {
        sign_by: c.time(&preview.sign_by),
        reply_by: c.time(&preview.reply_by),
        c,
        t: preview.ticket,
        tier_name: preview.tier_name,
        suggested: preview.suggested,
        others,
    }))
}
