//! Phone numbers as citizens give them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// A citizen's phone number in one normal form: digits only, country prefix `+86`/`0086`
/// dropped from mobiles. Mobiles have 11 digits starting with 1; landlines 7–12 digits
/// (with or without area code); service numbers 5 digits.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let bad = |why: &str| ParseError::new("phone number", text, why);
        let mut digits = String::with_capacity(text.len());
        for (i, c) in text.trim().chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '（' | '）' => {}
                '+' if i == 0 => {}
                _ => {
                    return Err(bad(
                        "only digits, spaces, '-', '(', ')' and a leading '+' are allowed",
                    ));
                }
            }
        }
        for prefix in ["0086", "86"] {
            if let Some(rest) = digits.strip_prefix(prefix)
                && rest.len() == 11
                && rest.starts_with('1')
            {
                digits = rest.to_owned();
                break;
            }
        }
        let first = digits.as_bytes().first().copied().unwrap_or(b'0');
        let ok = match digits.len() {
            11 if first == b'1' => digits.as_bytes()[1] >= b'3',
            10..=12 => first == b'0',
            7 | 8 => first != b'0' && first != b'1',
            5 => true,
            _ => false,
        };
        if ok {
            Ok(Self(digits))
        } else {
            Err(bad(
                "expected a mobile (11 digits), a landline or a 5-digit service number",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Masked for display: `138****1234` for mobiles; shorter numbers keep less.
    pub fn masked(&self) -> String {
        mask_digits(&self.0)
    }
}

fn mask_digits(digits: &str) -> String {
    let n = digits.len();
    let (head, tail) = match n {
        11.. => (3, 4),
        8..=10 => (2, 2),
        _ => (0, 2),
    };
    format!("{}****{}", &digits[..head], &digits[n - tail..])
}

impl fmt::Debug for PhoneNumber {
    // Never print a whole number into logs by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_what_callers_say() {
        for text in [
            "13812341234",
            "138 1234 1234",
            "+86 138-1234-1234",
            "008613812341234",
            "86-13812341234",
        ] {
            assert_eq!(
                PhoneNumber::parse(text).unwrap().as_str(),
                "13812341234",
                "{text}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("(020) 8312 3456").unwrap().as_str(),
            "02083123456"
        );
        assert_eq!(PhoneNumber::parse("95598").unwrap().as_str(), "95598");
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for text in [
            "",
            "1381234123",
            "12012341234",
            "138-1234-123x",
            "123",
            "1234567890123",
        ] {
            assert!(PhoneNumber::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn masks_keep_only_what_a_person_needs_to_recognise_it() {
        assert_eq!(
            PhoneNumber::parse("13812341234").unwrap().masked(),
            "138****1234"
        );
        assert_eq!(
            PhoneNumber::parse("02083123456").unwrap().masked(),
            "020****3456"
        );
        assert_eq!(PhoneNumber::parse("83123456").unwrap().masked(), "83****56");
        assert_eq!(PhoneNumber::parse("95598").unwrap().masked(), "****98");
        assert_eq!(
            format!("{:?}", PhoneNumber::parse("13812341234").unwrap()),
            "PhoneNumber(138****1234)"
        );
    }
}
