//! Rates from counts, and the composite ranking of units.

use serde::{Deserialize, Serialize};

use super::UnitCounts;
use crate::ids::UnitId;
use crate::policy::KpiWeights;

/// Rates in percent (0–100), `None` where the base is zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rates {
    /// 响应率: contacted / reached follow-ups.
    pub response: Option<f64>,
    /// 解决率: solved / reached follow-ups.
    pub resolution: Option<f64>,
    /// 满意率: satisfied or basically satisfied / reached follow-ups.
    pub satisfaction: Option<f64>,
    /// The unit's own "solved" claims / reached follow-ups.
    pub claimed_solved: Option<f64>,
    /// claimed_solved − resolution, in percentage points: how much "closed" overstates "solved".
    pub closed_vs_solved_gap: Option<f64>,
    pub on_time_sign: Option<f64>,
    pub on_time_reply: Option<f64>,
    /// Return requests / dispatches.
    pub return_rate: Option<f64>,
    /// Reopens / reached follow-ups.
    pub reopen_rate: Option<f64>,
    /// Approved extensions / dispatches.
    pub extension_rate: Option<f64>,
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

impl Rates {
    pub fn of(c: &UnitCounts) -> Rates {
        let resolution = pct(c.solved, c.follow_ups_reached);
        let claimed_solved = pct(c.claimed_solved, c.follow_ups_reached);
        Rates {
            response: pct(c.contacted, c.follow_ups_reached),
            resolution,
            satisfaction: pct(c.satisfied, c.follow_ups_reached),
            claimed_solved,
            closed_vs_solved_gap: claimed_solved.zip(resolution).map(|(a, b)| a - b),
            on_time_sign: pct(c.signed_on_time, c.signed),
            on_time_reply: pct(c.replied_on_time, c.replied),
            return_rate: pct(c.return_requests, c.dispatched),
            reopen_rate: pct(c.reopened, c.follow_ups_reached),
            extension_rate: pct(c.extensions_approved, c.dispatched),
        }
    }

    /// The weighted score (0–100) of response, resolution and satisfaction; `None` without a
    /// reached follow-up.
    pub fn composite(&self, w: KpiWeights) -> Option<f64> {
        let (r, s, t) = (self.response?, self.resolution?, self.satisfaction?);
        Some(
            (r * f64::from(w.response)
                + s * f64::from(w.resolution)
                + t * f64::from(w.satisfaction))
                / 100.0,
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankedUnit {
    /// 1 for the best; `None` when the unit had no reached follow-up to rank it by.
    pub rank: Option<u32>,
    pub unit: UnitId,
    pub counts: UnitCounts,
    pub rates: Rates,
    pub composite: Option<f64>,
}

/// Orders units by composite score, best first; ties share a rank; unrankable units come last,
/// by unit code.
pub fn rank<'a>(
    units: impl IntoIterator<Item = (&'a UnitId, &'a UnitCounts)>,
    weights: KpiWeights,
) -> Vec<RankedUnit> {
    let mut rows: Vec<RankedUnit> = units
        .into_iter()
        .map(|(unit, counts)| {
            let rates = Rates::of(counts);
            RankedUnit {
                rank: None,
                unit: unit.clone(),
                counts: counts.clone(),
                composite: rates.composite(weights),
                rates,
            }
        })
        .collect();
    // Only a unit with enough reached follow-ups is ranked: three happy callers do not make the
    // best unit of the city.
    let rankable =
        |r: &RankedUnit| r.counts.follow_ups_reached >= u64::from(weights.min_follow_ups);
    let key = |r: &RankedUnit| if rankable(r) { r.composite } else { None };
    rows.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.unit.cmp(&b.unit)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b
            .composite
            .is_some()
            .cmp(&a.composite.is_some())
            .then_with(|| a.unit.cmp(&b.unit)),
    });
    let mut previous: Option<(f64, u32)> = None;
    for (i, row) in rows.iter_mut().enumerate() {
        let Some(score) = key(row) else { break };
        let rank = match previous {
            Some((s, r)) if (s - score).abs() < 1e-9 => r,
            _ => i as u32 + 1,
        };
        row.rank = Some(rank);
        previous = Some((score, rank));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(
        reached: u64,
        contacted: u64,
        solved: u64,
        satisfied: u64,
        claimed: u64,
    ) -> UnitCounts {
        UnitCounts {
            follow_ups_reached: reached,
            contacted,
            solved,
            satisfied,
            claimed_solved: claimed,
            ..Default::default()
        }
    }

    #[test]
    fn rates_come_from_the_follow_up_and_the_gap_shows_overclaiming() {
        let rates = Rates::of(&counts(10, 10, 7, 8, 10));
        assert_eq!(rates.resolution, Some(70.0));
        assert_eq!(rates.satisfaction, Some(80.0));
        assert_eq!(rates.claimed_solved, Some(100.0));
        assert_eq!(rates.closed_vs_solved_gap, Some(30.0));
        assert_eq!(Rates::of(&UnitCounts::default()).resolution, None);
    }

    #[test]
    fn ranking_orders_by_weighted_score_with_shared_ranks() {
        let w = KpiWeights {
            response: 10,
            resolution: 45,
            satisfaction: 45,
            min_follow_ups: 5,
        };
        let a = UnitId::parse("a").unwrap();
        let b = UnitId::parse("b").unwrap();
        let c = UnitId::parse("c").unwrap();
        let d = UnitId::parse("d").unwrap();
        let good = counts(10, 10, 10, 10, 10);
        let poor = counts(10, 10, 5, 5, 10);
        let none = UnitCounts {
            dispatched: 3,
            ..Default::default()
        };
        let e = UnitId::parse("e").unwrap();
        let lucky = counts(3, 3, 3, 3, 3);
        let ranked = rank(
            [
                (&b, &poor),
                (&a, &good),
                (&d, &none),
                (&e, &lucky),
                (&c, &good),
            ],
            w,
        );
        let order: Vec<_> = ranked.iter().map(|r| (r.unit.as_str(), r.rank)).collect();
        assert_eq!(
            order,
            [
                ("a", Some(1)),
                ("c", Some(1)),
                ("b", Some(3)),
                ("e", None),
                ("d", None)
            ]
        );
        assert_eq!(ranked[2].composite, Some(55.0));
        assert_eq!(
            ranked[3].composite,
            Some(100.0),
            "too few calls to rank, but its score is shown"
        );
    }
}
