//! The monthly unit ranking and hotline figures, from the projections or straight from the log.

use domain::ids::UnitId;
use domain::kpi::{KpiCounts, Period, Rates, UnitCounts, rank};
use domain::org::{Actor, UnitKind};
use domain::permission::{Action, require};
use domain::policy::KpiWeights;
use domain::ticket::Channel;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use crate::App;
use crate::error::AppResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KpiSource {
    /// The per unit × day rollups, kept in the same transaction as the events (fast at any size:
    /// what reports read).
    Rollups,
    /// A scan of the ticket projections.
    Projections,
    /// A pass over the whole log: what anyone holding the log can recompute.
    Log,
}

impl std::str::FromStr for KpiSource {
    type Err = domain::DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "rollups" => Ok(Self::Rollups),
            "projections" => Ok(Self::Projections),
            "log" => Ok(Self::Log),
            other => Err(domain::DomainError::invalid(
                "source",
                format!("source {other:?} must be rollups, projections or log"),
            )),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct KpiReport {
    pub month: String,
    #[schema(value_type = String, format = DateTime)]
    pub period_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub period_end: Timestamp,
    pub source: KpiSource,
    pub weights: KpiWeights,
    /// Ranked units first (best first), then units with activity but no follow-up to rank by.
    pub units: Vec<UnitKpi>,
    pub hotline: HotlineKpi,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnitKpi {
    pub rank: Option<u32>,
    #[schema(value_type = String)]
    pub unit: UnitId,
    pub name: String,
    pub kind: Option<UnitKind>,
    pub composite: Option<f64>,
    pub rates: Rates,
    pub counts: UnitCounts,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HotlineKpi {
    pub received: u64,
    pub by_channel: Vec<ChannelCount>,
    /// By top-level category, most requests first.
    pub by_category: Vec<CategoryCount>,
    pub answered_on_call: u64,
    /// Share of received requests answered on the call (直办率), percent.
    pub answered_on_call_share: Option<f64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CategoryCount {
    pub code: String,
    pub name: String,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChannelCount {
    pub channel: Channel,
    pub name_zh: String,
    pub count: u64,
}

impl App {
    pub async fn kpi_month(
        &self,
        actor: &Actor,
        month: &str,
        source: KpiSource,
    ) -> AppResult<KpiReport> {
        require(actor, Action::ViewKpi, None)?;
        let registry = self.registry();
        let period = Period::parse_month(month, registry.rules.calendar.zone())?;
        let counts = self.counts(period, source).await?;
        Ok(report(
            month,
            period,
            source,
            registry.rules.policy.kpi,
            &counts,
            &registry,
        ))
    }

    /// A month's report and the counts of other periods (a trend), from the rollups.
    pub async fn kpi_month_and_trend(
        &self,
        actor: &Actor,
        month: &str,
        trend: Vec<Period>,
    ) -> AppResult<(KpiReport, Vec<KpiCounts>)> {
        require(actor, Action::ViewKpi, None)?;
        let registry = self.registry();
        let period = Period::parse_month(month, registry.rules.calendar.zone())?;
        let mut periods = vec![period];
        periods.extend(trend);
        let mut counts = self.store.kpi_from_rollups(periods).await?;
        let month_counts = counts.remove(0);
        let report = report(
            month,
            period,
            KpiSource::Rollups,
            registry.rules.policy.kpi,
            &month_counts,
            &registry,
        );
        Ok((report, counts))
    }

    /// How many open tickets each unit leads are past their running deadline at `now`, by unit
    /// name, most first. Counts only: no ticket is shown, so nothing is recorded as looked at.
    pub async fn overdue_by_unit(
        &self,
        actor: &Actor,
        now: Timestamp,
    ) -> AppResult<Vec<(String, u64)>> {
        require(actor, Action::ViewKpi, None)?;
        let registry = self.registry();
        let units = registry.units.keys().cloned().collect();
        let open = vec![
            domain::ticket::Status::Dispatched,
            domain::ticket::Status::InProgress,
            domain::ticket::Status::ReturnRequested,
        ];
        let mut counts: Vec<(String, u64)> = self
            .store
            .overdue_by_lead_unit(units, open, now)
            .await?
            .into_iter()
            .map(|(unit, n)| {
                let name = registry
                    .unit_name(&unit)
                    .unwrap_or(unit.as_str())
                    .to_owned();
                (name, n)
            })
            .collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(counts)
    }

    /// Counts for any period, both ways, for checking that they agree.
    pub async fn kpi_counts(
        &self,
        actor: &Actor,
        period: Period,
        source: KpiSource,
    ) -> AppResult<KpiCounts> {
        require(actor, Action::ViewKpi, None)?;
        self.counts(period, source).await
    }

    async fn counts(&self, period: Period, source: KpiSource) -> AppResult<KpiCounts> {
        Ok(match source {
            KpiSource::Rollups => self
                .store
                .kpi_from_rollups(vec![period])
                .await?
                .pop()
                .unwrap_or_default(),
            KpiSource::Projections => self.store.kpi_from_tickets(period).await?,
            KpiSource::Log => self.store.kpi_from_log(period).await?,
        })
    }
}

fn report(
    month: &str,
    period: Period,
    source: KpiSource,
    weights: KpiWeights,
    counts: &KpiCounts,
    registry: &store::Registry,
) -> KpiReport {
    let units = rank(&counts.units, weights)
        .into_iter()
        .map(|r| UnitKpi {
            rank: r.rank,
            name: registry
                .unit_name(&r.unit)
                .unwrap_or(r.unit.as_str())
                .to_owned(),
            kind: registry.units.get(&r.unit).map(|u| u.kind),
            unit: r.unit,
            composite: r.composite,
            rates: r.rates,
            counts: r.counts,
        })
        .collect();
    let h = &counts.hotline;
    let by_channel = Channel::ALL
        .iter()
        .filter_map(|c| {
            h.by_channel.get(c).map(|n| ChannelCount {
                channel: *c,
                name_zh: c.zh().to_owned(),
                count: *n,
            })
        })
        .collect();
    let mut by_category: Vec<CategoryCount> = h
        .by_category
        .iter()
        .map(|(code, count)| CategoryCount {
            code: code.to_string(),
            name: registry.category_path(code),
            count: *count,
        })
        .collect();
    by_category.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    KpiReport {
        month: month.trim().to_owned(),
        period_start: period.start,
        period_end: period.end,
        source,
        weights,
        units,
        hotline: HotlineKpi {
            received: h.received,
            by_channel,
            by_category,
            answered_on_call: h.answered_on_call,
            answered_on_call_share: (h.received > 0)
                .then(|| h.answered_on_call as f64 * 100.0 / h.received as f64),
        },
    }
}
