//! `POST requests`: a request from an outside channel, with its API key.

use std::collections::BTreeMap;

use app::App;
use app::open311::Submission;
use axum::http::StatusCode;
use axum::response::Response;

use super::format::{Format, Node, respond};
use super::limit::RateLimit;
use super::{Failure, Params, check_jurisdiction, param};

pub(super) async fn submit(
    app: &App,
    limit: &RateLimit,
    params: &Params,
    format: Format,
) -> Result<Response, Failure> {
    check_jurisdiction(app, params)?;
    let key = param(params, "api_key").ok_or_else(|| {
        Failure::new(
            StatusCode::FORBIDDEN,
            "api_key is required to submit a request; the hotline's administrator issues keys",
        )
    })?;
    if !limit.allow(key, std::time::Instant::now()) {
        return Err(Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "this api_key sent more than {} requests in a minute; wait and retry",
                limit.limit()
            ),
        ));
    }
    let actor = app.authenticate(app.now(), key).await.map_err(|_| {
        Failure::new(
            StatusCode::FORBIDDEN,
            "api_key is not valid (unknown, revoked or expired)",
        )
    })?;
    let service_code = param(params, "service_code")
        .ok_or_else(|| Failure::new(StatusCode::BAD_REQUEST, "service_code is required"))?;
    let number = |name: &str| -> Result<Option<f64>, Failure> {
        param(params, name)
            .map(|v| {
                v.parse::<f64>().map_err(|_| {
                    Failure::new(
                        StatusCode::BAD_REQUEST,
                        format!("{name} must be a number, not {v:?}"),
                    )
                })
            })
            .transpose()
    };
    let text = |name: &str| param(params, name).map(str::to_owned);
    let submission = Submission {
        service_code: service_code.to_owned(),
        lat: number("lat")?,
        lon: number("long")?,
        address_string: text("address_string"),
        address_id: text("address_id"),
        attributes: attribute_answers(params),
        email: text("email"),
        device_id: text("device_id"),
        account_id: text("account_id"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        phone: text("phone"),
        description: text("description"),
        media_url: text("media_url"),
        // An extension: the citizen agreed to publish the request (docs/open311.md).
        public: matches!(text("public").as_deref(), Some("true" | "1" | "yes")),
    };
    let account_id = submission.account_id.clone();
    let (id, notice) = app.open311_submit(&actor, app.now(), submission).await?;
    let node = Node::List(
        "request",
        vec![Node::Fields(vec![
            ("service_request_id", Node::text(id.clone())),
            // Our ids exist at once; the token is the id, so clients that poll tokens work too.
            ("token", Node::text(id)),
            ("service_notice", Node::text(notice)),
            ("account_id", Node::opt_text(account_id)),
        ])],
    );
    Ok(respond(
        format,
        StatusCode::CREATED,
        "service_requests",
        &node,
    ))
}

/// `attribute[code]=v` and, for multiple values, `attribute[code][]=v` (repeated).
pub(super) fn attribute_answers(params: &Params) -> BTreeMap<String, Vec<String>> {
    let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in params {
        let Some(rest) = key.strip_prefix("attribute[") else {
            continue;
        };
        let code = rest.trim_end_matches("[]").trim_end_matches(']');
        if !code.is_empty() && !value.trim().is_empty() {
            answers
                .entry(code.to_owned())
                .or_default()
                .push(value.clone());
        }
    }
    answers
}
