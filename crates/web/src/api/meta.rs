//! Who am I, and the reference lists a client needs to fill a form: units, categories, tiers.

use std::sync::Arc;

use app::App;
use axum::extract::State;
use domain::category::Category;
use domain::ids::CategoryCode;
use domain::org::{Affiliation, Role, Unit};
use domain::policy::UrgencyTier;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ErrorBody, WebError, WebResult};
use crate::extract::{Authenticated, Json, Query};

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: String,
    pub display_name: String,
    pub affiliation: Affiliation,
    pub unit_name: Option<String>,
    pub roles: Vec<Role>,
}

#[utoipa::path(get, path = "/me", tag = "reference", responses((status = 200, body = Me), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn me(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
) -> WebResult<Json<Me>> {
    let registry = app.registry();
    let user = actor
        .user_id()
        .and_then(|id| registry.users.get(id))
        .ok_or_else(|| WebError::unauthenticated("unknown user"))?;
    Ok(Json(Me {
        user: user.id.to_string(),
        display_name: user.display_name.clone(),
        unit_name: user
            .affiliation
            .unit()
            .and_then(|u| registry.unit_name(u))
            .map(str::to_owned),
        affiliation: user.affiliation.clone(),
        roles: user.roles.iter().copied().collect(),
    }))
}

#[utoipa::path(get, path = "/units", tag = "reference", responses((status = 200, body = Vec<Unit>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn units(
    State(app): State<Arc<App>>,
    Authenticated(_actor): Authenticated,
) -> WebResult<Json<Vec<Unit>>> {
    Ok(Json(app.registry().units.values().cloned().collect()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CategoryParams {
    /// Only categories under this code (any level).
    pub under: Option<CategoryCode>,
    /// Only this level (1, 2 or 3).
    pub level: Option<u8>,
}

#[utoipa::path(get, path = "/categories", tag = "reference", params(CategoryParams), responses((status = 200, body = Vec<Category>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn categories(
    State(app): State<Arc<App>>,
    Authenticated(_actor): Authenticated,
    Query(params): Query<CategoryParams>,
) -> WebResult<Json<Vec<Category>>> {
    let registry = app.registry();
    let list = registry
        .categories
        .values()
        .filter(|c| {
            params
                .under
                .as_ref()
                .is_none_or(|u| c.code.as_str().starts_with(u.as_str()))
        })
        .filter(|c| params.level.is_none_or(|l| c.level() == l))
        .cloned()
        .collect();
    Ok(Json(list))
}

#[utoipa::path(get, path = "/urgency-tiers", tag = "reference", responses((status = 200, body = Vec<UrgencyTier>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn tiers(
    State(app): State<Arc<App>>,
    Authenticated(_actor): Authenticated,
) -> WebResult<Json<Vec<UrgencyTier>>> {
    Ok(Json(app.registry().rules.policy.tiers.clone()))
}
