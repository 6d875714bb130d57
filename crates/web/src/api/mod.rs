//! The JSON API under `/api/v1`, and its OpenAPI document at `/api/openapi.json`.

pub mod actions;
pub mod auth;
pub mod calls;
pub mod meta;
pub mod privacy;
pub mod reports;
pub mod tickets;

use std::sync::Arc;

use app::App;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "minsheng API",
        description = "The 12345 citizen service hotline: record, dispatch, handle, reply, follow up, rank. \
            Every change is recorded in a hash-chained audit log; citizens' contacts are masked unless revealed with a logged reason. \
            Errors are `{\"error\": {\"code\", \"message\"}}`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "tickets", description = "Recording and reading tickets (工单)"),
        (name = "actions", description = "Lifecycle actions"),
        (name = "reference", description = "Units, categories, urgency tiers, the current user"),
        (name = "reports", description = "KPIs, the audit head, exports"),
        (name = "privacy", description = "The access trail: who looked at what (supervisors)"),
        (name = "calls", description = "Call events from the ACD/CTI and the call measures (GB/T 33358)"),
        (name = "auth", description = "Bearer tokens"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The versioned API router and its OpenAPI document.
pub fn router() -> (Router<Arc<App>>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::<Arc<App>>::with_openapi(ApiDoc::openapi())
        .routes(routes!(tickets::create, tickets::list))
        .routes(routes!(tickets::get))
        .routes(routes!(tickets::timeline))
        .routes(routes!(tickets::reveal_contact))
        .routes(routes!(tickets::caller_history))
        .routes(routes!(tickets::open_intake))
        .routes(routes!(tickets::counts))
        .routes(routes!(actions::answer_on_call))
        .routes(routes!(actions::dispatch))
        .routes(routes!(actions::sign))
        .routes(routes!(actions::request_return))
        .routes(routes!(actions::decide_return))
        .routes(routes!(actions::request_extension))
        .routes(routes!(actions::decide_extension))
        .routes(routes!(actions::urge))
        .routes(routes!(actions::supervise))
        .routes(routes!(actions::reply))
        .routes(routes!(actions::record_follow_up))
        .routes(routes!(actions::merge))
        .routes(routes!(actions::hand_off))
        .routes(routes!(actions::add_note))
        .routes(routes!(meta::me))
        .routes(routes!(meta::units))
        .routes(routes!(meta::categories))
        .routes(routes!(meta::tiers))
        .routes(routes!(auth::login))
        .routes(routes!(auth::revoke))
        .routes(routes!(reports::kpi))
        .routes(routes!(reports::audit_head))
        .routes(routes!(reports::export_tickets))
        .routes(routes!(privacy::ticket_access))
        .routes(routes!(privacy::report))
        .routes(routes!(privacy::person))
        .routes(routes!(privacy::awaiting_roles))
        .routes(routes!(privacy::decide_roles))
        .routes(routes!(calls::record_calls))
        .routes(routes!(calls::report))
        .routes(routes!(calls::call))
        .split_for_parts();
    openapi.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    (router, openapi)
}
