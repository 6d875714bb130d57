//! KPI rollups (per unit × day and per channel × category × day counts) that reports read instead
//! of scanning tickets. A command adds the difference it makes to its tickets' KPI marks
//! ([`domain::kpi::marks`]) in the same transaction as its events, so the rollups always add up to
//! what the ticket projections (and the log) say; `rebuild` recomputes them. Days are the city's
//! civil days, so any period made of whole days — a month, a week — is a sum of rows.
//!
//! The SQL is written here once for both backends; only the placeholder syntax differs.

use std::collections::BTreeMap;

use domain::calendar::WorkCalendar;
use domain::ids::{CategoryCode, UnitId};
use domain::kpi::{KpiCounts, Mark, Period, UnitMeasure, marks};
use domain::ticket::{Channel, Ticket};
use jiff::civil::Date;

use crate::{StoreError, StoreResult};

/// The unit counts of one rollup row, in [`UnitMeasure::ALL`] order.
pub(crate) type UnitRow = [i64; 15];

/// Received and answered on the call.
pub(crate) type HotlineRow = [i64; 2];

/// Rollup rows, or the difference a command makes to them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rollups {
    pub units: BTreeMap<(Date, UnitId), UnitRow>,
    pub hotline: BTreeMap<(Date, Channel, CategoryCode), HotlineRow>,
}

impl Rollups {
    /// Adds (`sign` 1) or takes away (`sign` -1) everything `ticket` counts.
    pub fn add_ticket(&mut self, ticket: &Ticket, calendar: &WorkCalendar, sign: i64) {
        for mark in marks(ticket) {
            let day = calendar.local_date(mark.at());
            match mark {
                Mark::Unit { unit, measure, .. } => {
                    self.units.entry((day, unit)).or_default()[measure.index()] += sign;
                }
                Mark::Received {
                    channel, category, ..
                } => self.hotline.entry((day, channel, category)).or_default()[0] += sign,
                Mark::AnsweredOnCall {
                    channel, category, ..
                } => self.hotline.entry((day, channel, category)).or_default()[1] += sign,
            }
        }
    }

    /// Drops rows whose counts are all zero (a difference that cancelled out).
    pub fn without_zeros(mut self) -> Self {
        self.units.retain(|_, row| row.iter().any(|n| *n != 0));
        self.hotline.retain(|_, row| row.iter().any(|n| *n != 0));
        self
    }

    pub fn merge(&mut self, other: Rollups) {
        for (key, row) in other.units {
            let sum = self.units.entry(key).or_default();
            sum.iter_mut().zip(row).for_each(|(s, n)| *s += n);
        }
        for (key, row) in other.hotline {
            let sum = self.hotline.entry(key).or_default();
            sum.iter_mut().zip(row).for_each(|(s, n)| *s += n);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty() && self.hotline.is_empty()
    }

    /// The days on which `self` and `other` differ.
    pub fn differing_days(&self, other: &Rollups) -> Vec<Date> {
        let mut days = std::collections::BTreeSet::new();
        days.extend(differing(&self.units, &other.units, |key| key.0));
        days.extend(differing(&self.hotline, &other.hotline, |key| key.0));
        days.into_iter().collect()
    }
}

/// The days of the keys whose rows differ between `a` and `b` (present in one only, or unequal).
fn differing<'a, K: Ord, R: PartialEq>(
    a: &'a BTreeMap<K, R>,
    b: &'a BTreeMap<K, R>,
    day: impl Fn(&K) -> Date + 'a,
) -> impl Iterator<Item = Date> + 'a {
    let one_way = |x: &'a BTreeMap<K, R>, y: &'a BTreeMap<K, R>| {
        x.iter()
            .filter(move |(key, row)| y.get(*key) != Some(*row))
            .map(|(key, _)| key)
    };
    one_way(a, b).chain(one_way(b, a)).map(day)
}

/// The civil days `[first, end)` a period covers, when it starts and ends at midnight.
pub(crate) fn whole_days(period: Period, calendar: &WorkCalendar) -> Option<(Date, Date)> {
    let (first, end) = (
        calendar.local_date(period.start),
        calendar.local_date(period.end),
    );
    let midnight = |d: Date| {
        calendar
            .zone()
            .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .ok()
    };
    (midnight(first) == Some(period.start) && midnight(end) == Some(period.end))
        .then_some((first, end))
}

/// Statements both backends run. They differ only in how parameters are written and in how
/// rows are sent: SQLite binds one row at a time, PostgreSQL a column of rows as an array.
pub(crate) struct RollupSql {
    pub upsert_unit: String,
    pub upsert_hotline: String,
    pub unit_sums: String,
    pub hotline_sums: String,
    pub all_units: String,
    pub all_hotline: String,
}

const HOTLINE: [&str; 2] = ["received", "answered_on_call"];

/// How a backend writes the n-th parameter and the source of inserted rows (SQLite binds one row
/// at a time, PostgreSQL a column of rows as an array).
#[derive(Clone, Copy)]
pub(crate) struct Syntax {
    pub placeholder: fn(usize) -> String,
    pub rows: fn(&[&str]) -> String,
}

impl Syntax {
    pub const SQLITE: Syntax = Syntax {
        placeholder: |n| format!("?{n}"),
        rows: |types| {
            let values: Vec<String> = (1..=types.len()).map(|n| format!("?{n}")).collect();
            format!("VALUES ({})", values.join(", "))
        },
    };

    pub const POSTGRES: Syntax = Syntax {
        placeholder: |n| format!("${n}"),
        rows: |types| {
            let arrays: Vec<String> = types
                .iter()
                .enumerate()
                .map(|(i, t)| format!("${}::{t}[]", i + 1))
                .collect();
            format!("SELECT * FROM UNNEST({})", arrays.join(", "))
        },
    };
}

impl RollupSql {
    pub fn sqlite() -> Self {
        Self::new(Syntax::SQLITE)
    }

    pub fn postgres() -> Self {
        Self::new(Syntax::POSTGRES)
    }

    fn new(Syntax { placeholder, rows }: Syntax) -> Self {
        let names: Vec<&str> = UnitMeasure::ALL.iter().map(|m| m.name()).collect();
        let added = |table: &str, columns: &[&str]| {
            columns
                .iter()
                .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // SUM of a BIGINT is NUMERIC on PostgreSQL; the cast keeps both backends at integers.
        let sums = |columns: &[&str]| {
            columns
                .iter()
                .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut unit_types = vec!["text", "text"];
        unit_types.extend(std::iter::repeat_n("bigint", names.len()));
        let (p1, p2) = (placeholder(1), placeholder(2));
        Self {
            upsert_unit: format!(
                "INSERT INTO kpi_unit_day (day, unit, {}) {} \
                 ON CONFLICT (day, unit) DO UPDATE SET {}",
                names.join(", "),
                rows(&unit_types),
                added("kpi_unit_day", &names)
            ),
            upsert_hotline: format!(
                "INSERT INTO kpi_hotline_day (day, channel, category, {}) {} \
                 ON CONFLICT (day, channel, category) DO UPDATE SET {}",
                HOTLINE.join(", "),
                rows(&["text", "text", "text", "bigint", "bigint"]),
                added("kpi_hotline_day", &HOTLINE)
            ),
            unit_sums: format!(
                "SELECT unit, {} FROM kpi_unit_day WHERE day >= {p1} AND day < {p2} GROUP BY unit",
                sums(&names)
            ),
            hotline_sums: format!(
                "SELECT channel, category, {} FROM kpi_hotline_day \
                 WHERE day >= {p1} AND day < {p2} GROUP BY channel, category",
                sums(&HOTLINE)
            ),
            all_units: format!("SELECT day, unit, {} FROM kpi_unit_day", names.join(", ")),
            all_hotline: format!(
                "SELECT day, channel, category, {} FROM kpi_hotline_day",
                HOTLINE.join(", ")
            ),
        }
    }
}

/// Reads a stored day (`YYYY-MM-DD`).
pub(crate) fn parse_day(text: &str) -> StoreResult<Date> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("rollup day {text:?}: {e}")))
}

/// Parses a stored row's names.
pub(crate) fn parse_unit(text: &str) -> StoreResult<UnitId> {
    UnitId::parse(text).map_err(|e| StoreError::Corrupt(format!("rollup unit {text:?}: {e}")))
}

pub(crate) fn parse_hotline_key(
    channel: &str,
    category: &str,
) -> StoreResult<(Channel, CategoryCode)> {
    let channel = channel
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("rollup channel: {e}")))?;
    let category = CategoryCode::parse(category)
        .map_err(|e| StoreError::Corrupt(format!("rollup category {category:?}: {e}")))?;
    Ok((channel, category))
}

/// Adds summed rows to KPI counts.
pub(crate) fn add_unit_sums(counts: &mut KpiCounts, unit: UnitId, row: &UnitRow) {
    if row.iter().all(|n| *n == 0) {
        return; // nothing of the unit in the period: not listed, as from the tickets
    }
    let c = counts.units.entry(unit).or_default();
    for measure in UnitMeasure::ALL {
        *c.get_mut(measure) += row[measure.index()].max(0) as u64;
    }
}

pub(crate) fn add_hotline_sums(
    counts: &mut KpiCounts,
    channel: Channel,
    category: CategoryCode,
    row: &HotlineRow,
) {
    let (received, answered) = (row[0].max(0) as u64, row[1].max(0) as u64);
    let h = &mut counts.hotline;
    if received > 0 {
        h.received += received;
        *h.by_channel.entry(channel).or_default() += received;
        *h.by_category.entry(category).or_default() += received;
    }
    h.answered_on_call += answered;
}
