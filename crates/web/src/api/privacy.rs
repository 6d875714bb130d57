//! The access trail for supervisors: who looked at a ticket, one person's looks, and the
//! privacy report with its flags.

use std::sync::Arc;

use app::App;
use app::access::AccessLine;
use axum::extract::{Path, State};
use domain::access::PrivacyReport;
use serde::Deserialize;
use utoipa::IntoParams;

use super::tickets::ticket_no;
use crate::error::{ErrorBody, WebResult};
use crate::extract::{Authenticated, Json, Query};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowParams {
    /// How many hours back from now (1 to 744); 24 if left out.
    pub hours: Option<u32>,
}

#[utoipa::path(get, path = "/tickets/{no}/access", tag = "privacy",
    params(("no" = String, Path, description = "Ticket number")),
    responses((status = 200, description = "Every look at the ticket and every reveal of its contact, oldest first", body = Vec<AccessLine>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ticket_access(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Path(no): Path<String>,
) -> WebResult<Json<Vec<AccessLine>>> {
    Ok(Json(app.ticket_access(&actor, ticket_no(&no)?).await?))
}

#[utoipa::path(get, path = "/privacy", tag = "privacy", params(WindowParams),
    responses((status = 200, description = "Everyone's looks in the window, and what deserves a look", body = PrivacyReport), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Query(window): Query<WindowParams>,
) -> WebResult<Json<PrivacyReport>> {
    let hours = window.hours.unwrap_or(24);
    Ok(Json(app.privacy_report(&actor, app.now(), hours).await?))
}

#[utoipa::path(get, path = "/privacy/people/{user}", tag = "privacy", params(("user" = String, Path, description = "User id"), WindowParams),
    responses((status = 200, description = "One person's looks in the window, newest first", body = Vec<AccessLine>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn person(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Path(user): Path<String>,
    Query(window): Query<WindowParams>,
) -> WebResult<Json<Vec<AccessLine>>> {
    let hours = window.hours.unwrap_or(24);
    Ok(Json(
        app.person_access(&actor, app.now(), &user, hours).await?,
    ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AwaitingRoles {
    pub user: String,
    pub display_name: String,
    pub affiliation: String,
    /// Roles that see tickets an administrator asked for.
    pub roles: Vec<domain::org::Role>,
}

#[utoipa::path(get, path = "/role-approvals", tag = "privacy",
    responses((status = 200, description = "Accounts with roles waiting for a supervisor's approval", body = Vec<AwaitingRoles>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn awaiting_roles(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
) -> WebResult<Json<Vec<AwaitingRoles>>> {
    Ok(Json(
        app.roles_awaiting_approval(&actor)?
            .into_iter()
            .map(|(user, roles)| AwaitingRoles {
                user: user.id.to_string(),
                display_name: user.display_name,
                affiliation: user.affiliation.code(),
                roles,
            })
            .collect(),
    ))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesDecision {
    pub approve: bool,
}

#[utoipa::path(post, path = "/role-approvals/{user}", tag = "privacy",
    params(("user" = String, Path, description = "User id")),
    request_body = RolesDecision,
    responses((status = 204, description = "Decided; in the log"), (status = 400, body = ErrorBody), (status = 403, description = "Not a supervisor, or one's own account", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn decide_roles(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Path(user): Path<String>,
    Json(body): Json<RolesDecision>,
) -> WebResult<axum::http::StatusCode> {
    let user = domain::ids::UserId::parse(user.trim()).map_err(app::AppError::from)?;
    app.decide_roles(&actor, app.now(), &user, body.approve)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
