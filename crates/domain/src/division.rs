//! Administrative divisions (行政区划) a city registers, so ticket locations and unit
//! jurisdictions name real places.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::DivisionCode;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Division {
    pub code: DivisionCode,
    pub name: String,
}

/// Parses a `code,name,…` table such as the shipped `areas.csv` and `streets.csv`.
pub fn parse_divisions_csv(text: &str) -> Result<Vec<Division>, DomainError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record =
            record.map_err(|e| DomainError::invalid("divisions", format!("line {line}: {e}")))?;
        let code = DivisionCode::parse(record.get(0).unwrap_or(""))
            .map_err(|e| DomainError::invalid("divisions", format!("line {line}: {e}")))?;
        let name = record.get(1).unwrap_or("").trim().to_owned();
        if name.is_empty() {
            return Err(DomainError::invalid(
                "divisions",
                format!("line {line}: {code} has no name"),
            ));
        }
        out.push(Division { code, name });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shipped_layout() {
        let rows =
            parse_divisions_csv("code,name,cityCode,provinceCode\n110101,\"东城区\",1101,11\n")
                .unwrap();
        assert_eq!(
            rows,
            vec![Division {
                code: DivisionCode::parse("110101").unwrap(),
                name: "东城区".into()
            }]
        );
        assert!(parse_divisions_csv("code,name\n1101011,x\n").is_err());
    }
}
