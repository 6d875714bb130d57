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

/// The address a request came from: the connection's peer, or — when that peer is one of the
/// configured trusted proxies — the last address in `X-Forwarded-For` that is not one of them.
/// A client cannot choose it by sending the header itself.
pub struct ClientAddress(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip())
            .ok_or_else(|| {
                WebError::from(app::AppError::Internal(
                    "the server was started without connection information".into(),
                ))
            })?;
        let config = parts.extensions.get::<Arc<crate::WebConfig>>();
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect::<Vec<std::net::IpAddr>>();
        Ok(Self(match config {
            Some(config) => config.client_address(peer, &forwarded),
            None => peer,
        }))
    }
}
