//! Extractors whose failures come out as our JSON errors, and the acting user from the bearer
//! token.

use std::sync::Arc;

use app::App;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use domain::org::Actor;

use crate::error::WebError;

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(WebError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct Query<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(WebError))]
pub struct Path<T>(pub T);

/// The user behind `Authorization: Bearer <token>`.
pub struct Authenticated(pub Actor);

impl FromRequestParts<Arc<App>> for Authenticated {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            WebError::unauthenticated(
                "send `Authorization: Bearer <token>`; get a token from POST /api/v1/auth/token",
            )
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                WebError::unauthenticated("the Authorization header must be `Bearer <token>`")
            })?;
        Ok(Self(app.authenticate(app.now(), token).await?))
    }
}
