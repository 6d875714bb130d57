//! Identifiers. Each is parsed once at the boundary; an invalid one cannot exist past it.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// Ticket number (工单编号): `yymmdd` of the local day of receipt followed by that day's counter,
/// at least five digits (`26112600042`). Short enough to read aloud over the phone, unique per
/// city, digits only so nothing is ambiguous. Stored as one integer
/// (`yymmdd * 10_000_000 + counter`), so the order of numbers is the order of receipt.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketNo(u64);

const COUNTER_SPACE: u64 = 10_000_000;

impl TicketNo {
    pub fn new(day: Date, counter: u32) -> Result<Self, ParseError> {
        let year = i64::from(day.year());
        if !(2000..2100).contains(&year) {
            return Err(ParseError::new(
                "ticket number",
                day.to_string(),
                "years 2000–2099 only",
            ));
        }
        if counter == 0 || u64::from(counter) >= COUNTER_SPACE {
            return Err(ParseError::new(
                "ticket number",
                counter.to_string(),
                "the daily counter runs from 1 to 9,999,999",
            ));
        }
        let yymmdd = (year as u64 - 2000) * 10_000
            + u64::from(day.month().unsigned_abs()) * 100
            + u64::from(day.day().unsigned_abs());
        Ok(Self(yymmdd * COUNTER_SPACE + u64::from(counter)))
    }

    /// Accepts `26112600042`, `261126-00042` or `261126 00042`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let bad = |why: &str| ParseError::new("ticket number", text, why);
        let digits: String = text.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if digits.len() < 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                "expected 6 date digits and a counter of at least 5 digits, e.g. 26112600042",
            ));
        }
        let (date_part, counter_part) = digits.split_at(6);
        if counter_part.len() > 5 && counter_part.starts_with('0') {
            return Err(bad("a counter longer than 5 digits has no leading zero"));
        }
        let yy: i16 = date_part[0..2].parse().map_err(|_| bad("bad year"))?;
        let mm: i8 = date_part[2..4].parse().map_err(|_| bad("bad month"))?;
        let dd: i8 = date_part[4..6].parse().map_err(|_| bad("bad day"))?;
        let day =
            Date::new(2000 + yy, mm, dd).map_err(|_| bad("the first 6 digits are not a date"))?;
        let counter: u32 = counter_part.parse().map_err(|_| bad("counter too large"))?;
        Self::new(day, counter).map_err(|_| bad("the counter must be between 1 and 9,999,999"))
    }

    pub fn from_storage(raw: i64) -> Result<Self, ParseError> {
        let value = u64::try_from(raw)
            .map_err(|_| ParseError::new("ticket number", raw.to_string(), "negative"))?;
        Self::parse(&Self(value).to_string())
    }

    pub fn to_storage(self) -> i64 {
        // Fits: the largest value is 991231 * 10^7 + 9_999_999 < 2^63.
        self.0 as i64
    }

    pub fn counter(self) -> u32 {
        (self.0 % COUNTER_SPACE) as u32
    }

    /// The form to read aloud and print: `261126-00042`.
    pub fn grouped(self) -> String {
        format!("{:06}-{:05}", self.0 / COUNTER_SPACE, self.counter())
    }
}

impl fmt::Display for TicketNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}{:05}", self.0 / COUNTER_SPACE, self.counter())
    }
}

impl fmt::Debug for TicketNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TicketNo({self})")
    }
}

impl Serialize for TicketNo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TicketNo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Defines a string identifier with a validating `parse`, `Display`, `AsRef<str>` and serde that
/// re-validates on the way in.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $what:literal, $check:expr, $rule:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, ParseError> {
                let text = text.trim();
                let check: fn(&str) -> bool = $check;
                if check(text) {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(ParseError::new($what, text, $rule))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn is_slug(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
        && text.as_bytes()[0].is_ascii_alphanumeric()
}

string_id!(
    /// A unit's short code (`d01-s03`, `housing-bureau`): lowercase letters, digits, `-`, `_`, `.`.
    UnitId,
    "unit code",
    |t| is_slug(t, 40),
    "use 1–40 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit"
);

string_id!(
    /// A user's login name.
    UserId,
    "user name",
    |t| t.len() >= 2 && is_slug(t, 40),
    "use 2–40 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit"
);

string_id!(
    /// Category code in the request taxonomy (诉求分类): 2 digits for level 1, 4 for level 2,
    /// 6 for level 3, each extending its parent's code.
    CategoryCode,
    "category code",
    |t| matches!(t.len(), 2 | 4 | 6) && t.bytes().all(|b| b.is_ascii_digit()),
    "use 2, 4 or 6 digits (e.g. 0101 or 010101)"
);

string_id!(
    /// Administrative division code (行政区划代码): 2 (province), 4 (city), 6 (county/district),
    /// 9 (street/township) or 12 (community) digits.
    DivisionCode,
    "division code",
    |t| matches!(t.len(), 2 | 4 | 6 | 9 | 12) && t.bytes().all(|b| b.is_ascii_digit()),
    "use 2, 4, 6, 9 or 12 digits (e.g. 440106 or 440106001)"
);

string_id!(
    /// Urgency tier code (`emergency`, `utility`, `general`, `complex` by default).
    TierCode,
    "urgency tier",
    |t| is_slug(t, 32),
    "use 1–32 lowercase letters, digits, '-', '_' or '.'"
);

/// What a call centre's systems name things with: ASCII letters, digits and `. - _ : @ / + #`
/// (UUIDs, Asterisk's `1700000000.42`, FreeSWITCH's `1001@default`).
fn is_token(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'-' | b'_' | b':' | b'@' | b'/' | b'+' | b'#')
        })
}

string_id!(
    /// The call centre system (ACD/CTI) that reported a call event (`pbx-1`, `freeswitch`).
    CallSource,
    "call source",
    |t| is_token(t, 40),
    "use 1–40 ASCII letters, digits or . - _ : @ / + #"
);

string_id!(
    /// A call as its ACD/CTI names it (a UUID, Asterisk's `1700000000.42`).
    CallId,
    "call id",
    |t| is_token(t, 100),
    "use 1–100 ASCII letters, digits or . - _ : @ / + #"
);

string_id!(
    /// One event as its ACD/CTI names it; with the source, what makes a report idempotent.
    CallEventId,
    "call event id",
    |t| is_token(t, 120),
    "use 1–120 ASCII letters, digits or . - _ : @ / + #"
);

string_id!(
    /// An agent (坐席) as the ACD/CTI names them (`1001`, `1001@default`, an operator's login).
    AgentId,
    "agent id",
    |t| is_token(t, 64),
    "use 1–64 ASCII letters, digits or . - _ : @ / + #"
);

string_id!(
    /// An ACD queue (技能队列) calls wait in (`12345`, `support@default`).
    QueueName,
    "queue",
    |t| is_token(t, 64),
    "use 1–64 ASCII letters, digits or . - _ : @ / + #"
);

impl CategoryCode {
    pub fn level(&self) -> u8 {
        (self.0.len() / 2) as u8
    }

    /// The top-level (一级) code this code lies under, or itself.
    pub fn top(&self) -> CategoryCode {
        CategoryCode(self.0[..self.0.len().min(2)].to_owned())
    }

    /// The code one level up, if any.
    pub fn parent(&self) -> Option<CategoryCode> {
        (self.0.len() > 2).then(|| CategoryCode(self.0[..self.0.len() - 2].to_owned()))
    }
}

impl DivisionCode {
    /// Whether `self` is `other` or lies inside it (`440106001` is inside `440106`).
    pub fn is_within(&self, other: &DivisionCode) -> bool {
        self.0.starts_with(&other.0)
    }
}

/// Identifies a sealed contact record in the privacy vault. Tickets hold only this.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContactId(pub u64);

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_read_aloud_and_round_trip() {
        let no = TicketNo::new(Date::constant(2026, 11, 26), 42).unwrap();
        assert_eq!(no.to_string(), "26112600042");
        assert_eq!(no.grouped(), "261126-00042");
        assert_eq!(TicketNo::parse("261126-00042").unwrap(), no);
        assert_eq!(TicketNo::parse("261126 00042").unwrap(), no);
        assert_eq!(TicketNo::from_storage(no.to_storage()).unwrap(), no);
    }

    #[test]
    fn ticket_numbers_widen_past_99999_without_colliding() {
        let big = TicketNo::new(Date::constant(2026, 11, 26), 123_456).unwrap();
        let next_day = TicketNo::new(Date::constant(2026, 11, 27), 23_456).unwrap();
        assert_eq!(big.to_string(), "261126123456");
        assert_ne!(big, next_day);
        assert!(big < next_day);
        assert_eq!(TicketNo::parse("261126123456").unwrap(), big);
    }

    #[test]
    fn malformed_ticket_numbers_are_refused_with_the_reason() {
        for text in [
            "",
            "2611260004",
            "26113200042",
            "26112600000",
            "2611260abc1",
            "261126012345",
        ] {
            let err = TicketNo::parse(text).unwrap_err();
            assert!(err.to_string().contains("ticket number"), "{text}: {err}");
        }
    }

    #[test]
    fn string_ids_are_checked() {
        assert!(UnitId::parse("d01-s03").is_ok());
        assert!(UnitId::parse("D01").is_err());
        assert!(UnitId::parse("-x").is_err());
        assert!(UserId::parse("a").is_err());
        assert!(CategoryCode::parse("010101").is_ok());
        assert!(CategoryCode::parse("01010").is_err());
        assert_eq!(
            CategoryCode::parse("010101")
                .unwrap()
                .parent()
                .unwrap()
                .as_str(),
            "0101"
        );
        assert!(DivisionCode::parse("440106001").is_ok());
        assert!(DivisionCode::parse("4401060").is_err());
        let street = DivisionCode::parse("440106001").unwrap();
        assert!(street.is_within(&DivisionCode::parse("440106").unwrap()));
        assert!(!street.is_within(&DivisionCode::parse("440107").unwrap()));
    }

    #[test]
    fn ids_revalidate_when_deserialized() {
        assert!(serde_json::from_str::<UnitId>("\"Bad Unit\"").is_err());
        assert!(serde_json::from_str::<TicketNo>("\"26112600042\"").is_ok());
    }
}
