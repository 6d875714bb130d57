//! One error type for the HTTP layer: each failure becomes a status, a stable code and a message
//! a person understands. Internal details go to the log under an id, never to the client.

use app::AppError;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::DomainError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_input`, `not_permitted`, `wrong_state`,
    /// `ticket_not_found`, `not_found`, `conflict`, `too_many_requests`, `unauthenticated`,
    /// `unavailable`, `internal`.
    pub code: String,
    /// What went wrong and what would work, for a person.
    pub message: String,
}

pub type WebResult<T> = Result<T, WebError>;

impl WebError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The stable code (`wrong_state`, `not_permitted`, …).
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Refused(d) => d.into(),
            AppError::NotFound(m) => Self::not_found(m),
            AppError::Unauthenticated(m) => Self::unauthenticated(m),
            AppError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            AppError::TooMany(m) => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", m)
            }
            AppError::Unavailable(m) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("{m}; try again shortly"),
            ),
            AppError::Internal(detail) => {
                let id = error_id();
                tracing::error!(error_id = %id, %detail, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!(
                        "something went wrong on our side; it was logged as {id}, quote it when you report it"
                    ),
                )
            }
        }
    }
}

impl From<DomainError> for WebError {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::Parse(_) | DomainError::Invalid { .. } => StatusCode::BAD_REQUEST,
            DomainError::NotPermitted { .. } => StatusCode::FORBIDDEN,
            DomainError::WrongState { .. } | DomainError::Conflict(_) => StatusCode::CONFLICT,
            DomainError::UnknownTicket(_) => StatusCode::NOT_FOUND,
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<JsonRejection> for WebError {
    fn from(r: JsonRejection) -> Self {
        Self::bad_request(format!(
            "the request body is not what this endpoint takes: {}",
            r.body_text()
        ))
    }
}

impl From<QueryRejection> for WebError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(format!("bad query parameters: {}", r.body_text()))
    }
}

impl From<PathRejection> for WebError {
    fn from(r: PathRejection) -> Self {
        Self::bad_request(format!("bad path: {}", r.body_text()))
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn error_id() -> String {
    let mut bytes = [0u8; 6];
    // Without randomness the id is still unique enough in a log read by time.
    let _ = getrandom::fill(&mut bytes);
    format!("E-{}", hex::encode(bytes))
}
