//! Getting and giving back a bearer token.

use std::sync::Arc;

use app::App;
use app::auth::IssuedToken;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::SignedDuration;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ErrorBody, WebResult};
use crate::extract::{Authenticated, ClientAddress, Json, Path};

/// How long a token from a login lasts: one long shift.
const LOGIN_VALID_FOR: SignedDuration = SignedDuration::from_hours(12);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[utoipa::path(post, path = "/auth/token", tag = "auth",
    request_body = LoginRequest,
    responses((status = 201, description = "A bearer token valid for 12 hours", body = IssuedToken), (status = 401, body = ErrorBody), (status = 429, description = "Too many failed logins for this account from this address: wait the time the message says", body = ErrorBody)))]
pub async fn login(
    State(app): State<Arc<App>>,
    ClientAddress(address): ClientAddress,
    Json(body): Json<LoginRequest>,
) -> WebResult<(StatusCode, Json<IssuedToken>)> {
    let (token, _user) = app
        .login(
            app.now(),
            &body.username,
            &body.password,
            LOGIN_VALID_FOR,
            address,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(token)))
}

#[utoipa::path(delete, path = "/auth/tokens/{id}", tag = "auth",
    params(("id" = String, Path, description = "The token's id (not the token itself)")),
    responses((status = 204, description = "Revoked"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> WebResult<StatusCode> {
    let user = actor
        .user_id()
        .cloned()
        .ok_or_else(|| crate::error::WebError::unauthenticated("unknown user"))?;
    app.revoke_token(&actor, app.now(), &user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
