//! KPIs as pure functions. Counting is done twice, independently: once by streaming the log
//! (`from_events`) and once from the ticket projections (`from_tickets`); both must agree, which
//! is how anyone holding the log can check the published figures. The formulas are in
//! `docs/kpi.md`.

mod from_events;
mod from_tickets;
mod marks;
mod rank;

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{CategoryCode, UnitId};
use crate::ticket::Channel;

pub use from_events::{EventCounter, from_events};
pub use from_tickets::from_tickets;
pub use marks::{Mark, UnitMeasure, marks};
pub use rank::{RankedUnit, Rates, rank};

/// A half-open interval of time `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Period {
    /// A calendar month in the city's civil time.
    pub fn month(year: i16, month: i8, zone: &TimeZone) -> Result<Period, DomainError> {
        let bad = || DomainError::invalid("month", format!("{year:04}-{month:02} is not a month"));
        let first = Date::new(year, month, 1).map_err(|_| bad())?;
        let next = first.last_of_month().tomorrow().map_err(|_| bad())?;
        let at = |d: Date| {
            zone.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .map_err(|_| bad())
        };
        Ok(Period {
            start: at(first)?,
            end: at(next)?,
        })
    }

    /// Parses `YYYY-MM`.
    pub fn parse_month(text: &str, zone: &TimeZone) -> Result<Period, DomainError> {
        let bad = || {
            DomainError::invalid(
                "month",
                format!("{text:?} is not a month; write it as YYYY-MM, e.g. 2026-11"),
            )
        };
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        Self::month(
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            zone,
        )
    }

    /// The smallest period covering all of `periods`.
    pub fn spanning(periods: &[Period]) -> Option<Period> {
        let start = periods.iter().map(|p| p.start).min()?;
        let end = periods.iter().map(|p| p.end).max()?;
        Some(Period { start, end })
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// What happened at one unit (as lead unit, 主办) during a period. Every figure counts events
/// whose time falls in the period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitCounts {
    /// Dispatches to the unit, first or re-dispatch (派单/改派).
    pub dispatched: u64,
    /// Reopens (重办) sent back to the unit.
    pub reopened: u64,
    pub signed: u64,
    pub signed_on_time: u64,
    pub replied: u64,
    pub replied_on_time: u64,
    /// Follow-up calls that reached the citizen: the base of the three rates.
    pub follow_ups_reached: u64,
    pub follow_ups_unreached: u64,
    /// Reached follow-ups where the citizen says the unit got in touch (响应).
    pub contacted: u64,
    /// Reached follow-ups where the citizen says it is solved (解决).
    pub solved: u64,
    /// Reached follow-ups where the citizen is satisfied or basically satisfied (满意).
    pub satisfied: u64,
    /// Reached follow-ups whose reply the unit itself had marked solved.
    pub claimed_solved: u64,
    pub return_requests: u64,
    pub returns_approved: u64,
    pub extensions_approved: u64,
}

/// The hotline as a whole during a period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HotlineCounts {
    pub received: u64,
    pub by_channel: BTreeMap<Channel, u64>,
    /// Requests received by top-level category (一级分类).
    #[serde(default)]
    pub by_category: BTreeMap<CategoryCode, u64>,
    /// 直办: answered on the call without dispatch.
    pub answered_on_call: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiCounts {
    pub units: BTreeMap<UnitId, UnitCounts>,
    pub hotline: HotlineCounts,
}

impl KpiCounts {
    fn unit(&mut self, unit: &UnitId) -> &mut UnitCounts {
        self.units.entry(unit.clone()).or_default()
    }
}
