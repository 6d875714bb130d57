//! Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2>) in our terms: the extra
//! questions a service asks (attributes, with the spec's six datatypes), checking a client's
//! answers, and how our statuses read as the spec's `open` / `closed`.

use std::collections::BTreeMap;

use crate::error::DomainError;
use crate::ids::CategoryCode;
use crate::ticket::Status;

/// GeoReport v2 attribute datatypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datatype {
    String,
    Number,
    Datetime,
    Text,
    SingleValueList,
    MultiValueList,
}

impl Datatype {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Datetime => "datetime",
            Self::Text => "text",
            Self::SingleValueList => "singlevaluelist",
            Self::MultiValueList => "multivaluelist",
        }
    }
}

/// One extra question of a service (`variable: true` in the spec: the citizen answers it).
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub code: &'static str,
    pub datatype: Datatype,
    pub required: bool,
    pub datatype_description: &'static str,
    pub order: u32,
    pub description: &'static str,
    /// `(key, name)` for the list datatypes.
    pub values: &'static [(&'static str, &'static str)],
}

const OCCURRED_AT: Attribute = Attribute {
    code: "occurred_at",
    datatype: Datatype::Datetime,
    required: false,
    datatype_description: "ISO 8601, e.g. 2026-11-26T21:30:00+08:00",
    order: 1,
    description: "问题是什么时候发生或发现的？",
    values: &[],
};

const LANDMARK: Attribute = Attribute {
    code: "landmark",
    datatype: Datatype::String,
    required: false,
    datatype_description: "",
    order: 2,
    description: "附近有什么标志物（门牌、店名、杆号）？",
    values: &[],
};

const HAZARD: Attribute = Attribute {
    code: "hazard",
    datatype: Datatype::SingleValueList,
    required: true,
    datatype_description: "",
    order: 3,
    description: "是否危及行人或车辆安全？",
    values: &[("yes", "是，有安全隐患"), ("no", "否")],
};

const NOISE_PERIODS: Attribute = Attribute {
    code: "noise_periods",
    datatype: Datatype::MultiValueList,
    required: true,
    datatype_description: "",
    order: 3,
    description: "噪声通常出现在什么时段？（可多选）",
    values: &[
        ("morning", "早上 6–12 点"),
        ("afternoon", "下午 12–18 点"),
        ("evening", "晚上 18–22 点"),
        ("night", "夜间 22–6 点"),
    ],
};

const NIGHTS_PER_WEEK: Attribute = Attribute {
    code: "nights_per_week",
    datatype: Datatype::Number,
    required: false,
    datatype_description: "0 to 7",
    order: 4,
    description: "每周大约几个晚上？",
    values: &[],
};

const EARLIER_CONTACT: Attribute = Attribute {
    code: "earlier_contact",
    datatype: Datatype::Text,
    required: false,
    datatype_description: "",
    order: 5,
    description: "此前是否向其他部门反映过？结果如何？",
    values: &[],
};

/// The questions a service asks: two for every service, more for some classes of problem.
pub fn attributes(service: &CategoryCode) -> Vec<Attribute> {
    let code = service.as_str();
    let mut list = vec![OCCURRED_AT, LANDMARK];
    // City facilities and street order (城市设施管理, 市容市貌): is anyone in danger?
    if code.starts_with("0305") || code.starts_with("0303") {
        list.push(HAZARD);
    }
    // Noise pollution (噪声污染): when, and how often.
    if code.starts_with("040201") {
        list.extend([NOISE_PERIODS, NIGHTS_PER_WEEK]);
    }
    // Complaints that often come back: who was asked before.
    if code.starts_with("04") || code.starts_with("03") {
        list.push(EARLIER_CONTACT);
    }
    list
}

/// Checks a client's answers against the service's questions and returns them in the form kept
/// with the request (multiple choices joined by commas). Unknown codes are refused, so a typo in a
/// client does not silently lose what the citizen said.
pub fn check_answers(
    service: &CategoryCode,
    answers: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, String>, DomainError> {
    let questions = attributes(service);
    for code in answers.keys() {
        if !questions.iter().any(|q| q.code == code) {
            let known: Vec<&str> = questions.iter().map(|q| q.code).collect();
            return Err(DomainError::invalid(
                "attribute",
                format!(
                    "service {service} has no attribute {code:?}; it has {}",
                    known.join(", ")
                ),
            ));
        }
    }
    let mut kept = BTreeMap::new();
    for q in &questions {
        let given: Vec<&str> = answers
            .get(q.code)
            .map(|v| {
                v.iter()
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if given.is_empty() {
            if q.required {
                return Err(DomainError::invalid(
                    "attribute",
                    format!("attribute[{}] is required: {}", q.code, q.description),
                ));
            }
            continue;
        }
        let bad =
            |why: String| DomainError::invalid("attribute", format!("attribute[{}] {why}", q.code));
        if given.len() > 1 && q.datatype != Datatype::MultiValueList {
            return Err(bad("takes one value".into()));
        }
        for value in &given {
            match q.datatype {
                Datatype::Number => {
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| bad(format!("must be a number, not {value:?}")))?;
                }
                Datatype::Datetime => {
                    value.parse::<jiff::Timestamp>().map_err(|_| {
                        bad(format!(
                            "must be an ISO 8601 date and time with an offset, not {value:?}"
                        ))
                    })?;
                }
                Datatype::SingleValueList | Datatype::MultiValueList => {
                    if !q.values.iter().any(|(key, _)| key == value) {
                        let keys: Vec<&str> = q.values.iter().map(|(k, _)| *k).collect();
                        return Err(bad(format!(
                            "must be one of {}, not {value:?}",
                            keys.join(", ")
                        )));
                    }
                }
                Datatype::String | Datatype::Text => {}
            }
        }
        kept.insert(q.code.to_owned(), given.join(","));
    }
    Ok(kept)
}

/// The spec's two statuses: a request is `closed` once nothing more will be done on it.
pub fn status(status: Status) -> &'static str {
    if status.is_terminal() {
        "closed"
    } else {
        "open"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn answers_are_checked_by_datatype() {
        let noise = CategoryCode::parse("040201").unwrap();
        let kept = check_answers(
            &noise,
            &answers(&[
                ("noise_periods", &["evening", "night"]),
                ("nights_per_week", &["5"]),
                ("occurred_at", &["2026-11-26T22:30:00+08:00"]),
            ]),
        )
        .unwrap();
        assert_eq!(kept["noise_periods"], "evening,night");
        assert_eq!(kept["nights_per_week"], "5");

        let refused = |pairs: &[(&str, &[&str])]| {
            check_answers(&noise, &answers(pairs))
                .unwrap_err()
                .to_string()
        };
        assert!(refused(&[]).contains("noise_periods] is required"));
        assert!(refused(&[("noise_periods", &["noon"])]).contains("must be one of"));
        assert!(
            refused(&[
                ("noise_periods", &["night"]),
                ("nights_per_week", &["many"])
            ])
            .contains("number")
        );
        assert!(
            refused(&[
                ("noise_periods", &["night"]),
                ("occurred_at", &["yesterday"])
            ])
            .contains("ISO 8601")
        );
        assert!(
            refused(&[("noise_periods", &["night"]), ("colour", &["red"])])
                .contains("no attribute")
        );
        assert!(
            refused(&[("noise_periods", &["night"]), ("landmark", &["a", "b"])])
                .contains("one value")
        );
    }

    #[test]
    fn every_datatype_is_offered_somewhere_and_statuses_are_open_or_closed() {
        let mut seen: Vec<&str> = ["040201", "030501"]
            .iter()
            .flat_map(|c| attributes(&CategoryCode::parse(c).unwrap()))
            .map(|a| a.datatype.as_str())
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 6, "{seen:?}");
        assert_eq!(status(Status::Replied), "open");
        assert_eq!(status(Status::Merged), "closed");
    }
}
