//! Calls from the call centre's ACD/CTI: the event API any ACD can report to, a call as its
//! events add up, and the GB/T 33358 call measures (see docs/calls.md).

use std::sync::Arc;

use app::App;
use app::calls::{CallCountSource, CallReport, CallView, CallsRecorded};
use axum::extract::State;
use domain::calls::{CallBucket, ReportedCallEvent};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ErrorBody, WebResult};
use crate::extract::{Authenticated, Json, Path, Query};

/// A report of call events from one source.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallEvents {
    /// The reporting system (`pbx-1`): with each event's id, what makes a report idempotent.
    pub source: String,
    /// 1 to 5,000 events, in any order; repeats are skipped.
    pub events: Vec<ReportedCallEvent>,
}

#[utoipa::path(post, path = "/calls/events", tag = "calls",
    request_body = CallEvents,
    responses(
        (status = 200, description = "What was recorded; events reported before are listed as repeated and change nothing", body = CallsRecorded),
        (status = 400, description = "An event is malformed: nothing of the report was recorded", body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn record_calls(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Json(body): Json<CallEvents>,
) -> WebResult<Json<CallsRecorded>> {
    Ok(Json(
        app.record_calls(&actor, app.now(), &body.source, &body.events)
            .await?,
    ))
}

#[utoipa::path(get, path = "/calls/{source}/{call}", tag = "calls",
    params(
        ("source" = String, Path, description = "The reporting system"),
        ("call" = String, Path, description = "The call's id in it"),
    ),
    responses(
        (status = 200, description = "The call as its events add up", body = CallView),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn call(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Path((source, call)): Path<(String, String)>,
) -> WebResult<Json<CallView>> {
    Ok(Json(CallView::of(&app.call(&actor, &source, &call).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallReportParams {
    /// `YYYY-MM`: a month in the city's time zone.
    pub month: Option<String>,
    /// `YYYY-MM-DD`: a day in the city's time zone.
    pub day: Option<String>,
    /// With `to`: RFC 3339 instants on quarter hours.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `15m`, `30m`, `1h`, `day` or `period` (default: the whole period as one).
    pub bucket: Option<String>,
    /// `rollups` (default) or `log` (every call recounted from the audit log).
    pub source: Option<String>,
}

#[utoipa::path(get, path = "/calls/report", tag = "calls", params(CallReportParams),
    responses(
        (status = 200, description = "Call measures per queue and per agent", body = CallReport),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn report(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Query(params): Query<CallReportParams>,
) -> WebResult<Json<CallReport>> {
    let (from, to) = app.call_period(
        params.month.as_deref(),
        params.day.as_deref(),
        params.from.as_deref(),
        params.to.as_deref(),
    )?;
    let bucket = match params.bucket.as_deref() {
        None | Some("") => CallBucket::Period,
        Some(text) => text.parse::<CallBucket>().map_err(app::AppError::from)?,
    };
    let source = match params.source.as_deref() {
        None | Some("") => CallCountSource::Rollups,
        Some(text) => text
            .parse::<CallCountSource>()
            .map_err(app::AppError::from)?,
    };
    Ok(Json(
        app.call_report(&actor, from, to, bucket, source).await?,
    ))
}
