//! Reference data compiled into the binary (see `data/README.md` for sources and terms).

use domain::DomainError;
use domain::calendar::{CalendarDay, parse_holiday_csv};
use domain::category::{ImportNote, Taxonomy};
use domain::division::{Division, parse_divisions_csv};

pub const TAXONOMY_SOURCE: &str = "DB44/T 2479—2024《12345热线诉求分类规范》附录A (Guangdong local standard, 12345 hotline request classification, appendix A)";
pub const CALENDAR_SOURCE: &str =
    "Official holidays 2019–2026 per State Council notices, via NateScarlet/holiday-cn (MIT)";
pub const DIVISIONS_SOURCE: &str = "China administrative divisions, 2023 statistical codes, via modood/Administrative-divisions-of-China (WTFPL)";

const TAXONOMY_CSV: &str = include_str!("../../../data/taxonomy/db44t2479-2024_appendix_a.csv");
const HOLIDAYS_CSV: &str =
    include_str!("../../../data/holidays/cn_holiday_adjustments_2019_2026.csv");
const PROVINCES_CSV: &str = include_str!("../../../data/divisions/provinces.csv");
const CITIES_CSV: &str = include_str!("../../../data/divisions/cities.csv");
const AREAS_CSV: &str = include_str!("../../../data/divisions/areas.csv");
const STREETS_CSV: &str = include_str!("../../../data/divisions/streets.csv");

pub fn taxonomy() -> Result<(Taxonomy, Vec<ImportNote>), DomainError> {
    Taxonomy::parse_csv(TAXONOMY_SOURCE, TAXONOMY_CSV)
}

pub fn holidays() -> Result<Vec<CalendarDay>, DomainError> {
    parse_holiday_csv(HOLIDAYS_CSV)
}

/// Every shipped division whose code starts with `prefix` (a province `44`, a city `4401`…).
pub fn divisions_under(prefix: &str) -> Result<Vec<Division>, DomainError> {
    let mut out = Vec::new();
    for table in [PROVINCES_CSV, CITIES_CSV, AREAS_CSV, STREETS_CSV] {
        out.extend(
            parse_divisions_csv(table)?
                .into_iter()
                .filter(|d| d.code.as_str().starts_with(prefix)),
        );
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_taxonomy_has_the_standards_shape() {
        let (taxonomy, notes) = taxonomy().unwrap();
        let count = |level| {
            taxonomy
                .categories
                .iter()
                .filter(|c| c.level() == level)
                .count()
        };
        assert_eq!((count(1), count(2), count(3)), (14, 99, 515));
        assert_eq!(
            notes
                .iter()
                .filter(|n| n.note.contains("does not extend"))
                .count(),
            1
        );
    }

    #[test]
    fn the_shipped_calendar_and_divisions_load() {
        let days = holidays().unwrap();
        assert!(
            days.iter()
                .any(|d| d.date == jiff::civil::date(2026, 10, 1))
        );
        let guangzhou = divisions_under("4401").unwrap();
        assert!(
            guangzhou
                .iter()
                .any(|d| d.code.as_str() == "440106" && d.name == "天河区")
        );
        assert!(guangzhou.len() > 150, "{}", guangzhou.len());
    }
}
