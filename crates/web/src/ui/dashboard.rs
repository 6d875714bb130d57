//! The supervisor's dashboard (督办看板): this month's unit ranking, the gap between what units
//! call solved and what citizens confirm, eight weeks of trend, overdue tickets by unit, and
//! requests by channel and by category. Every table has a chart beside it and a CSV download
//! built from the same rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use app::App;
use app::kpi::KpiReport;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use domain::kpi::Period;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::Deserialize;

use super::charts;
use super::i18n::Texts;
use super::page::{Chrome, UiError, UiResult, render};
use super::session::Viewer;

/// A table as shown and as downloaded.
pub struct Table {
    pub id: &'static str,
    pub title: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub chart: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Chrome,
    month: String,
    received: u64,
    answered_share: String,
    tables: Vec<Table>,
}

#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(q): Query<MonthQuery>,
) -> UiResult<Response> {
    let month = q.month.unwrap_or_else(|| this_month(&app));
    let (report, tables) = load(&app, &viewer, &month).await?;
    let c = Chrome::new(
        &viewer,
        app.registry().rules.calendar.zone().clone(),
        "/dashboard",
        viewer.lang.t().nav_dashboard,
    );
    Ok(render(&DashboardPage {
        c,
        month: report.month.clone(),
        received: report.hotline.received,
        answered_share: percent(report.hotline.answered_on_call_share),
        tables,
    }))
}

/// `/dashboard/{id}.csv?month=…`: one table of the dashboard as CSV (UTF-8 with a byte-order
/// mark, so spreadsheet programs read the Chinese names right).
pub async fn csv(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(file): Path<String>,
    Query(q): Query<MonthQuery>,
) -> UiResult<Response> {
    let Some(id) = file.strip_suffix(".csv") else {
        return Err(UiError::not_found("dashboard downloads end in .csv"));
    };
    let month = q.month.unwrap_or_else(|| this_month(&app));
    let (_, tables) = load(&app, &viewer, &month).await?;
    let table = tables
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| UiError::not_found(format!("the dashboard has no table {id:?}")))?;
    let mut writer = ::csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let failed = |e: ::csv::Error| UiError::internal(format!("writing CSV: {e}"));
    fn safe<S: AsRef<str>>(cells: &[S]) -> Vec<String> {
        cells
            .iter()
            .map(|cell| app::export::spreadsheet_cell(cell.as_ref()).into_owned())
            .collect()
    }
    writer.write_record(safe(&table.headers)).map_err(failed)?;
    for row in &table.rows {
        writer.write_record(safe(row)).map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| UiError::internal(format!("writing CSV: {e}")))?;
    let filename = format!("minsheng-{id}-{month}.csv");
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn this_month(app: &App) -> String {
    let zone = app.registry().rules.calendar.zone().clone();
    app.now()
        .to_zoned_datetime(zone)
        .strftime("%Y-%m")
        .to_string()
}

async fn load(app: &App, viewer: &Viewer, month: &str) -> UiResult<(KpiReport, Vec<Table>)> {
    let (actor, t, now) = (&viewer.actor, viewer.lang.t(), app.now());
    let lang = viewer.lang;
    let (starts, periods) = last_weeks(app, now)?;
    // The two reads are independent; the store serves them on separate connections.
    let (kpi, overdue) = tokio::join!(
        app.kpi_month_and_trend(actor, month, periods),
        overdue_by_unit(app, viewer, now)
    );
    let (report, counts) = kpi.map_err(|e| UiError::from(e).with_lang(lang))?;
    let overdue = overdue?;
    let weeks = weekly(&starts, &counts);
    let tables = vec![
        ranking(t, &report),
        gap(t, &report),
        trend(t, &weeks),
        overdue_table(t, overdue),
        channels(viewer, &report),
        categories(t, &report),
    ];
    Ok((report, tables))
}

fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "—".into())
}

fn ranking(t: &'static Texts, r: &KpiReport) -> Table {
    let rows = r
        .units
        .iter()
        .map(|u| {
            vec![
                u.rank.map(|n| n.to_string()).unwrap_or_else(|| "—".into()),
                u.name.clone(),
                percent(u.rates.response),
                percent(u.rates.resolution),
                percent(u.rates.satisfaction),
                u.composite
                    .map(|c| format!("{c:.1}"))
                    .unwrap_or_else(|| "—".into()),
                u.counts.follow_ups_reached.to_string(),
            ]
        })
        .collect();
    let bars: Vec<(String, f64)> = r
        .units
        .iter()
        .filter_map(|u| u.composite.map(|c| (u.name.clone(), c)))
        .take(15)
        .collect();
    Table {
        id: "ranking",
        title: t.ranking,
        headers: vec![
            t.rank,
            t.unit,
            t.response_rate,
            t.resolution_rate,
            t.satisfaction_rate,
            t.composite,
            t.sample,
        ],
        rows,
        chart: charts::bars(t.composite, &bars, ""),
    }
}

fn gap(t: &'static Texts, r: &KpiReport) -> Table {
    let mut units: Vec<_> = r
        .units
        .iter()
        .filter(|u| u.rates.closed_vs_solved_gap.is_some())
        .collect();
    units.sort_by(|a, b| {
        b.rates
            .closed_vs_solved_gap
            .partial_cmp(&a.rates.closed_vs_solved_gap)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let rows = units
        .iter()
        .map(|u| {
            vec![
                u.name.clone(),
                percent(u.rates.claimed_solved),
                percent(u.rates.resolution),
                u.rates
                    .closed_vs_solved_gap
                    .map(|g| format!("{g:.1}"))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let bars: Vec<(String, f64)> = units
        .iter()
        .take(15)
        .filter_map(|u| u.rates.closed_vs_solved_gap.map(|g| (u.name.clone(), g)))
        .collect();
    Table {
        id: "gap",
        title: t.gap_title,
        headers: vec![t.unit, t.claimed_solved, t.resolution_rate, t.gap],
        rows,
        chart: charts::bars(t.gap, &bars, ""),
    }
}

struct Week {
    label: String,
    received: u64,
    resolution: Option<f64>,
    satisfaction: Option<f64>,
}

/// The last eight weeks, Monday to Sunday in the city's time, this week last: each week's first
/// day and period.
fn last_weeks(app: &App, now: Timestamp) -> UiResult<(Vec<jiff::civil::Date>, Vec<Period>)> {
    let zone = app.registry().rules.calendar.zone().clone();
    let bad = |e: jiff::Error| UiError::internal(format!("computing weeks: {e}"));
    let today = now.to_zoned_datetime(zone.clone()).date();
    let monday = today
        .checked_sub(i64::from(today.weekday().to_monday_zero_offset()).days())
        .map_err(bad)?;
    let mut starts = Vec::new();
    let mut periods = Vec::new();
    for back in (0..8_i64).rev() {
        let first = monday.checked_sub((7 * back).days()).map_err(bad)?;
        let start = first
            .to_zoned_datetime(zone.clone())
            .map_err(bad)?
            .timestamp();
        starts.push(first);
        periods.push(Period {
            start,
            end: start + SignedDuration::from_hours(7 * 24),
        });
    }
    Ok((starts, periods))
}

fn weekly(starts: &[jiff::civil::Date], counts: &[domain::kpi::KpiCounts]) -> Vec<Week> {
    starts
        .iter()
        .zip(counts)
        .map(|(first, counts)| {
            let (reached, solved, satisfied) = counts.units.values().fold((0, 0, 0), |acc, u| {
                (
                    acc.0 + u.follow_ups_reached,
                    acc.1 + u.solved,
                    acc.2 + u.satisfied,
                )
            });
            let rate = |n: u64| (reached > 0).then(|| n as f64 * 100.0 / reached as f64);
            Week {
                label: first.strftime("%m-%d").to_string(),
                received: counts.hotline.received,
                resolution: rate(solved),
                satisfaction: rate(satisfied),
            }
        })
        .collect()
}

fn trend(t: &'static Texts, weeks: &[Week]) -> Table {
    let rows = weeks
        .iter()
        .map(|w| {
            vec![
                w.label.clone(),
                w.received.to_string(),
                percent(w.resolution),
                percent(w.satisfaction),
            ]
        })
        .collect();
    let points: Vec<(String, f64)> = weeks
        .iter()
        .map(|w| (w.label.clone(), w.resolution.unwrap_or(0.0)))
        .collect();
    Table {
        id: "trend",
        title: t.trend_title,
        headers: vec![t.week, t.received, t.resolution_rate, t.satisfaction_rate],
        rows,
        chart: charts::line(t.resolution_rate, &points, "%"),
    }
}

/// Overdue open tickets by lead unit, counted in the store's index (no list, no cap).
async fn overdue_by_unit(
    app: &App,
    viewer: &Viewer,
    now: Timestamp,
) -> UiResult<BTreeMap<String, u64>> {
    Ok(app
        .overdue_by_unit(&viewer.actor, now)
        .await?
        .into_iter()
        .collect())
}

fn overdue_table(t: &'static Texts, by_unit: BTreeMap<String, u64>) -> Table {
    let mut counts: Vec<(String, u64)> = by_unit.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let bars: Vec<(String, f64)> = counts
        .iter()
        .take(15)
        .map(|(u, n)| (u.clone(), *n as f64))
        .collect();
    Table {
        id: "overdue",
        title: t.overdue_title,
        headers: vec![t.unit, t.count],
        rows: counts
            .into_iter()
            .map(|(u, n)| vec![u, n.to_string()])
            .collect(),
        chart: charts::bars(t.overdue_title, &bars, ""),
    }
}

fn channels(viewer: &Viewer, r: &KpiReport) -> Table {
    let t = viewer.lang.t();
    let items: Vec<(String, f64)> = r
        .hotline
        .by_channel
        .iter()
        .map(|c| (viewer.lang.channel(c.channel).to_owned(), c.count as f64))
        .collect();
    Table {
        id: "channels",
        title: t.channel_title,
        headers: vec![t.channel, t.count],
        rows: r
            .hotline
            .by_channel
            .iter()
            .map(|c| {
                vec![
                    viewer.lang.channel(c.channel).to_owned(),
                    c.count.to_string(),
                ]
            })
            .collect(),
        chart: charts::bars(t.channel_title, &items, ""),
    }
}

fn categories(t: &'static Texts, r: &KpiReport) -> Table {
    let items: Vec<(String, f64)> = r
        .hotline
        .by_category
        .iter()
        .take(15)
        .map(|c| (c.name.clone(), c.count as f64))
        .collect();
    Table {
        id: "categories",
        title: t.category_title,
        headers: vec![t.category, t.count],
        rows: r
            .hotline
            .by_category
            .iter()
            .map(|c| vec![format!("{} {}", c.code, c.name), c.count.to_string()])
            .collect(),
        chart: charts::bars(t.category_title, &items, ""),
    }
}
