//! KPIs, the audit head and exports.

use std::sync::Arc;

use app::App;
use app::kpi::{KpiReport, KpiSource};
use app::tickets::ListFilter;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use domain::permission::{Action, require};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ErrorBody, WebResult};
use crate::extract::{Authenticated, Json, Query};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiParams {
    /// `YYYY-MM`.
    pub month: String,
    /// `rollups` (default: the per unit × day counts), `projections` (a scan of the tickets) or
    /// `log` (recomputed from the audit log).
    pub source: Option<String>,
}

#[utoipa::path(get, path = "/kpi", tag = "reports", params(KpiParams),
    responses((status = 200, description = "The month's unit ranking and hotline figures", body = KpiReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn kpi(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Query(params): Query<KpiParams>,
) -> WebResult<Json<KpiReport>> {
    let source = match params.source.as_deref() {
        None | Some("") => KpiSource::Rollups,
        Some(text) => text.parse::<KpiSource>().map_err(app::AppError::from)?,
    };
    Ok(Json(app.kpi_month(&actor, &params.month, source).await?))
}

#[derive(Serialize, ToSchema)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

#[utoipa::path(get, path = "/audit/head", tag = "reports",
    responses((status = 200, description = "The log's last sequence number and hash, to write down", body = AuditHead), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn audit_head(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
) -> WebResult<Json<AuditHead>> {
    require(&actor, Action::ViewAudit, None)?;
    let head = app
        .store()
        .audit_head()
        .await
        .map_err(app::AppError::from)?;
    Ok(Json(AuditHead {
        seq: head.seq,
        hash: head.hash.to_hex(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Why the data leaves the system. Kept in the audit record.
    pub reason: String,
    /// Received at or after (RFC 3339).
    pub from: Option<String>,
    /// Received before (RFC 3339).
    pub to: Option<String>,
}

#[utoipa::path(post, path = "/exports/tickets", tag = "reports",
    request_body = ExportRequest,
    responses((status = 200, description = "CSV of tickets without any citizen contact; the export is in the audit log", content_type = "text/csv", body = String), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_tickets(
    State(app): State<Arc<App>>,
    Authenticated(actor): Authenticated,
    Json(body): Json<ExportRequest>,
) -> WebResult<impl IntoResponse> {
    let parse = |t: &Option<String>| -> WebResult<Option<jiff::Timestamp>> {
        t.as_deref()
            .map(|t| {
                t.parse().map_err(|_| {
                    crate::error::WebError::bad_request(format!("{t:?} is not an RFC 3339 time"))
                })
            })
            .transpose()
    };
    let filter = ListFilter {
        received_from: parse(&body.from)?,
        received_to: parse(&body.to)?,
        ..Default::default()
    };
    let export = app
        .export_tickets(&actor, app.now(), filter, &body.reason)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"tickets-export-{}.csv\"",
                    export.audit_seq
                ),
            ),
        ],
        export.csv,
    ))
}
