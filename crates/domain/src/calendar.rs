//! Working time on the official holiday calendar (法定节假日与调休). Pure: the time zone and the
//! holiday list are given, never looked up.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// How the official calendar marks a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday (放假).
    Off,
    /// A weekend day made a working day to bridge a holiday (调休上班).
    AdjustedWorkday,
}

/// One dated entry of the official calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    pub date: Date,
    pub kind: DayKind,
    pub name: String,
}

/// A length of time a deadline allows. Emergencies run on the clock; ordinary work on working
/// days or working hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// Clock minutes, day and night.
    Minutes(u32),
    /// Clock hours, day and night.
    Hours(u32),
    /// Hours inside office hours on working days.
    WorkingHours(u32),
    /// Working days, the day it starts not counted (as in Chinese administrative practice): due at
    /// the end of the N-th working day after the start date.
    WorkingDays(u32),
}

impl Span {
    pub fn check(self, what: &'static str) -> Result<(), DomainError> {
        let n = match self {
            Self::Minutes(n) | Self::Hours(n) | Self::WorkingHours(n) | Self::WorkingDays(n) => n,
        };
        if n == 0 || n > 10_000 {
            return Err(DomainError::invalid(
                what,
                format!("{self:?} must be between 1 and 10,000"),
            ));
        }
        Ok(())
    }

    pub fn describe_zh(self) -> String {
        match self {
            Self::Minutes(n) => format!("{n}分钟"),
            Self::Hours(n) => format!("{n}小时"),
            Self::WorkingHours(n) => format!("{n}个工作小时"),
            Self::WorkingDays(n) => format!("{n}个工作日"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct WorkCalendar {
    zone: TimeZone,
    days: BTreeMap<Date, DayKind>,
    open: Time,
    close: Time,
}

impl WorkCalendar {
    pub fn new(
        zone: TimeZone,
        days: &[CalendarDay],
        open: Time,
        close: Time,
    ) -> Result<Self, DomainError> {
        if open >= close {
            return Err(DomainError::invalid(
                "office_hours",
                "office hours must open before they close",
            ));
        }
        let days = days.iter().map(|d| (d.date, d.kind)).collect();
        Ok(Self {
            zone,
            days,
            open,
            close,
        })
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    pub fn local_date(&self, at: Timestamp) -> Date {
        self.zone.to_datetime(at).date()
    }

    /// Whether work is done on `date`: adjusted workdays are, holidays and ordinary weekends are not.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.days.get(&date) {
            Some(DayKind::AdjustedWorkday) => true,
            Some(DayKind::Off) => false,
            None => !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday),
        }
    }

    /// The last year the loaded calendar has official entries for; deadlines past it count
    /// weekends only.
    pub fn last_covered_year(&self) -> Option<i16> {
        self.days.keys().next_back().map(|d| d.year())
    }

    /// The instant a span starting at `start` runs out.
    pub fn add(&self, start: Timestamp, span: Span) -> Timestamp {
        match span {
            Span::Minutes(n) => start + SignedDuration::from_mins(i64::from(n)),
            Span::Hours(n) => start + SignedDuration::from_hours(i64::from(n)),
            Span::WorkingDays(n) => self.end_of_working_day_after(self.local_date(start), n),
            Span::WorkingHours(n) => self.add_working_seconds(start, i64::from(n) * 3600),
        }
    }

    /// Moves a deadline on by `n` working days (an approved extension, 延期): the new deadline
    /// is the end of the N-th working day after the day the old one fell on.
    pub fn extend(&self, deadline: Timestamp, n: u32) -> Timestamp {
        // A deadline at midnight closes the day before it.
        let last_day = self.local_date(deadline - SignedDuration::from_secs(1));
        self.end_of_working_day_after(last_day, n)
    }

    fn end_of_working_day_after(&self, mut date: Date, n: u32) -> Timestamp {
        let mut counted = 0;
        while counted < n {
            date = next_day(date);
            if self.is_working_day(date) {
                counted += 1;
            }
        }
        self.start_of(next_day(date))
    }

    fn add_working_seconds(&self, start: Timestamp, mut remaining: i64) -> Timestamp {
        let local = self.zone.to_datetime(start);
        let (mut date, mut time) = (local.date(), local.time());
        loop {
            if !self.is_working_day(date) || time >= self.close {
                date = next_day(date);
                time = self.open;
                continue;
            }
            if time < self.open {
                time = self.open;
            }
            let available = seconds_between(time, self.close);
            if remaining <= available {
                return self.instant(date, time) + SignedDuration::from_secs(remaining);
            }
            remaining -= available;
            date = next_day(date);
            time = self.open;
        }
    }

    fn start_of(&self, date: Date) -> Timestamp {
        self.instant(date, Time::midnight())
    }

    fn instant(&self, date: Date, time: Time) -> Timestamp {
        // Conversion only fails at the edge of jiff's range (year 9999), which no deadline
        // reaches; saturate rather than panic.
        self.zone
            .to_timestamp(date.to_datetime(time))
            .unwrap_or(Timestamp::MAX)
    }
}

fn next_day(date: Date) -> Date {
    date.tomorrow().unwrap_or(date)
}

fn seconds_between(from: Time, to: Time) -> i64 {
    let secs =
        |t: Time| i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second());
    secs(to) - secs(from)
}

/// Parses the shipped holiday table (`date,holiday_name,kind,year,source_notice`, kind `off` or
/// `adjusted_workday`).
pub fn parse_holiday_csv(text: &str) -> Result<Vec<CalendarDay>, DomainError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut days = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record =
            record.map_err(|e| DomainError::invalid("calendar", format!("line {line}: {e}")))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let date: Date = field(0).parse().map_err(|_| {
            DomainError::invalid(
                "calendar",
                format!("line {line}: {:?} is not a date (YYYY-MM-DD)", field(0)),
            )
        })?;
        let kind = match field(2) {
            "off" => DayKind::Off,
            "adjusted_workday" => DayKind::AdjustedWorkday,
            other => {
                return Err(DomainError::invalid(
                    "calendar",
                    format!("line {line}: kind {other:?} must be off or adjusted_workday"),
                ));
            }
        };
        days.push(CalendarDay {
            date,
            kind,
            name: field(1).to_owned(),
        });
    }
    if days.is_empty() {
        return Err(DomainError::invalid("calendar", "the file lists no days"));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn beijing() -> TimeZone {
        TimeZone::fixed(jiff::tz::offset(8))
    }

    fn calendar() -> WorkCalendar {
        let days = parse_holiday_csv(
            "date,holiday_name,kind,year,source_notice\n\
             2026-10-01,国庆节,off,2026,x\n2026-10-02,国庆节,off,2026,x\n2026-10-03,国庆节,off,2026,x\n\
             2026-10-04,国庆节,off,2026,x\n2026-10-05,国庆节,off,2026,x\n2026-10-06,国庆节,off,2026,x\n\
             2026-10-07,国庆节,off,2026,x\n2026-09-20,国庆节,adjusted_workday,2026,x\n\
             2026-10-10,国庆节,adjusted_workday,2026,x\n",
        )
        .unwrap();
        WorkCalendar::new(
            beijing(),
            &days,
            Time::constant(9, 0, 0, 0),
            Time::constant(18, 0, 0, 0),
        )
        .unwrap()
    }

    fn at(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        beijing()
            .to_timestamp(date(y, m, d).at(h, min, 0, 0))
            .unwrap()
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_count_adjusted_days() {
        let c = calendar();
        assert!(c.is_working_day(date(2026, 9, 20))); // Sunday made a working day
        assert!(!c.is_working_day(date(2026, 10, 5)));
        assert!(!c.is_working_day(date(2026, 11, 28))); // ordinary Saturday
        // Received Wednesday 30 Sept: 1 Oct–7 Oct off, 8 Oct (Thu) is working day 1,
        // 9 Oct (Fri) 2, 10 Oct (Sat, adjusted) 3.
        assert_eq!(
            c.add(at(2026, 9, 30, 15, 0), Span::WorkingDays(3)),
            at(2026, 10, 11, 0, 0)
        );
        // An ordinary week: Thursday + 7 working days = end of the next-but-one Monday.
        assert_eq!(
            c.add(at(2026, 11, 26, 10, 0), Span::WorkingDays(7)),
            at(2026, 12, 8, 0, 0)
        );
    }

    #[test]
    fn clock_spans_ignore_the_calendar() {
        let c = calendar();
        assert_eq!(
            c.add(at(2026, 10, 1, 23, 0), Span::Hours(2)),
            at(2026, 10, 2, 1, 0)
        );
        assert_eq!(
            c.add(at(2026, 10, 1, 23, 0), Span::Minutes(30)),
            at(2026, 10, 1, 23, 30)
        );
    }

    #[test]
    fn working_hours_stay_inside_office_hours() {
        let c = calendar();
        // Friday 17:00 + 4 working hours: 1 h on Friday, 3 h from Monday 09:00.
        assert_eq!(
            c.add(at(2026, 11, 27, 17, 0), Span::WorkingHours(4)),
            at(2026, 11, 30, 12, 0)
        );
        // Before opening: counting starts at 09:00.
        assert_eq!(
            c.add(at(2026, 11, 26, 7, 0), Span::WorkingHours(2)),
            at(2026, 11, 26, 11, 0)
        );
        // On a holiday: the first working day after it.
        assert_eq!(
            c.add(at(2026, 10, 3, 10, 0), Span::WorkingHours(1)),
            at(2026, 10, 8, 10, 0)
        );
    }

    #[test]
    fn extensions_count_from_the_day_the_old_deadline_closed() {
        let c = calendar();
        let deadline = at(2026, 11, 27, 0, 0); // end of Thursday 26 Nov
        assert_eq!(c.extend(deadline, 2), at(2026, 12, 1, 0, 0)); // Fri 27 + Mon 30
        let emergency = at(2026, 11, 26, 15, 30);
        assert_eq!(c.extend(emergency, 1), at(2026, 11, 28, 0, 0));
    }

    #[test]
    fn bad_calendar_rows_are_named() {
        let err = parse_holiday_csv("date,holiday_name,kind\n2026-13-01,x,off\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse_holiday_csv("date,holiday_name,kind\n2026-01-01,x,maybe\n").unwrap_err();
        assert!(err.to_string().contains("maybe"), "{err}");
    }
}
