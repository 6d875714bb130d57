//! The browser workstation: server-rendered pages (askama templates under `templates/`) for every
//! role, a small script for the keyboard and the live parts, and the session and CSRF handling
//! they need. Pages call the same use cases as the JSON API, so one set of permission rules and one
//! set of errors serve both.
//!
//! Invariant: no business rule here; a page shows what `App` returns and offers what
//! `offered_actions` says the viewer may do.

mod actions;
mod admin;
mod charts;
mod citizen;
mod dashboard;
mod dispatch;
mod followup;
mod form;
mod i18n;
mod intake;
mod login;
mod page;
mod privacy;
mod queue;
mod session;
mod ticket;
mod unit;

use std::sync::Arc;

use app::App;
use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{get, post};

pub use page::UiError;

/// The pages, their form posts and the two static files.
pub fn router(app: Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang", get(login::switch_language))
        .route("/intake", get(intake::page).post(intake::create))
        .route("/intake/history", post(intake::history))
        .route("/intake/categories", get(intake::categories))
        .route("/dispatch", get(dispatch::queues))
        .route("/dispatch/{no}", get(dispatch::form))
        .route("/unit", get(unit::inbox))
        .route("/followup", get(followup::queue))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/{table}", get(dashboard::csv))
        .route("/tickets", get(ticket::find))
        .route("/tickets/{no}", get(ticket::page))
        .route("/tickets/{no}/reveal_contact", post(ticket::reveal))
        .route("/tickets/{no}/photo", get(ticket::photo))
        .route("/tickets/{no}/act/{action}", post(actions::act))
        .route("/privacy", get(privacy::page))
        .route("/privacy/roles/{user}", post(privacy::decide_roles))
        .route("/admin", get(admin::page))
        .route("/admin/users", post(admin::create_user))
        .route("/admin/users/{id}", post(admin::update_user))
        .route("/admin/units", post(admin::save_unit))
        .route("/admin/tiers", post(admin::save_tiers))
        .route("/admin/taxonomy", post(admin::import_taxonomy))
        .route("/citizen", get(citizen::form))
        .route(
            "/citizen/track",
            get(citizen::track_form).post(citizen::track),
        )
        .route("/citizen/rate", post(citizen::rate))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .layer(axum::middleware::from_fn_with_state(
            app,
            session::csrf_guard,
        ))
}

/// The largest upload: a photo of at most 5 MB and the form around it.
pub const UPLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// The citizen's submission, the one form that carries a file: its own, larger body limit.
pub fn upload_router(app: Arc<App>) -> Router<Arc<App>> {
    let per_address = Arc::new(crate::limit::RateLimit::new(
        crate::limit::CITIZEN_SUBMISSIONS_PER_HOUR,
        crate::limit::HOUR,
    ));
    Router::new()
        .route("/citizen/submit", post(citizen::submit))
        .layer(axum::middleware::from_fn_with_state(
            per_address,
            citizen::limit_per_address,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(UPLOAD_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            app,
            session::csrf_guard,
        ))
}

async fn css() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("assets/app.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("assets/app.js"),
    )
}
