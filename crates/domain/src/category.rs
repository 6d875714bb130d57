//! The request taxonomy (诉求分类): three levels, loaded from a published standard or a city's own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::CategoryCode;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    pub code: CategoryCode,
    pub name: String,
    pub description: String,
}

impl Category {
    pub fn level(&self) -> u8 {
        self.code.level()
    }
}

/// A whole taxonomy with the citation of where it comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taxonomy {
    pub source: String,
    /// Every level, ordered by code.
    pub categories: Vec<Category>,
}

/// Notes a city should read after an import: rows that were corrected rather than refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportNote {
    pub line: usize,
    pub note: String,
}

impl Taxonomy {
    /// Parses the column layout of DB44/T 2479—2024 appendix A (`level_1_code, level_1_name,
    /// level_2_code, level_2_name, level_3_code, level_3_name, remark`, extra columns ignored).
    /// A city's own taxonomy uses the same columns.
    ///
    /// Two defects of the printed standard are repaired, with a note each: a level-3 code that
    /// does not extend its level-2 code (090499 is printed twice; under 0905 it must be 090599)
    /// takes its parent's prefix, and a level-3 row with no name (a level-2 class that is not
    /// subdivided, code `xxxx00`) takes the level-2 name.
    pub fn parse_csv(source: &str, text: &str) -> Result<(Taxonomy, Vec<ImportNote>), DomainError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| csv_error(1, &e))?.clone();
        let column = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                DomainError::invalid("taxonomy", format!("the CSV has no column {name:?}"))
            })
        };
        let cols = [
            column("level_1_code")?,
            column("level_1_name")?,
            column("level_2_code")?,
            column("level_2_name")?,
            column("level_3_code")?,
            column("level_3_name")?,
        ];
        let remark = headers.iter().position(|h| h == "remark");
        let mut by_code: BTreeMap<CategoryCode, Category> = BTreeMap::new();
        let mut notes = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let line = index + 2;
            let record = record.map_err(|e| csv_error(line, &e))?;
            let field = |i: usize| record.get(i).unwrap_or("").trim();
            let code = |i: usize, level: &str| {
                CategoryCode::parse(field(i)).map_err(|e| {
                    DomainError::invalid("taxonomy", format!("line {line}: {level} code: {e}"))
                })
            };
            let (c1, c2, mut c3) = (
                code(cols[0], "level 1")?,
                code(cols[2], "level 2")?,
                code(cols[4], "level 3")?,
            );
            if c1.level() != 1
                || c2.level() != 2
                || c3.level() != 3
                || c2.parent().as_ref() != Some(&c1)
            {
                return Err(DomainError::invalid(
                    "taxonomy",
                    format!("line {line}: codes {c1}/{c2}/{c3} are not a 2/4/6-digit chain"),
                ));
            }
            if c3.parent().as_ref() != Some(&c2) {
                let fixed = CategoryCode::parse(&format!("{c2}{}", &c3.as_str()[4..]))?;
                notes.push(ImportNote {
                    line,
                    note: format!("code {c3} does not extend its parent {c2}; taken as {fixed}"),
                });
                c3 = fixed;
            }
            let (n1, n2) = (field(cols[1]), field(cols[3]));
            let mut n3 = field(cols[5]).to_owned();
            if n3.is_empty() {
                notes.push(ImportNote {
                    line,
                    note: format!("{c3} has no name; it takes its parent's name {n2:?}"),
                });
                n3 = n2.to_owned();
            }
            let description = remark.map(|i| field(i).to_owned()).unwrap_or_default();
            by_code.entry(c1.clone()).or_insert_with(|| Category {
                code: c1,
                name: n1.to_owned(),
                description: String::new(),
            });
            by_code.entry(c2.clone()).or_insert_with(|| Category {
                code: c2,
                name: n2.to_owned(),
                description: String::new(),
            });
            if by_code.contains_key(&c3) {
                return Err(DomainError::invalid(
                    "taxonomy",
                    format!("line {line}: code {c3} appears twice"),
                ));
            }
            by_code.insert(
                c3.clone(),
                Category {
                    code: c3,
                    name: n3,
                    description,
                },
            );
        }
        if by_code.is_empty() {
            return Err(DomainError::invalid(
                "taxonomy",
                "the file has no categories",
            ));
        }
        let taxonomy = Taxonomy {
            source: source.to_owned(),
            categories: by_code.into_values().collect(),
        };
        Ok((taxonomy, notes))
    }

    pub fn get(&self, code: &CategoryCode) -> Option<&Category> {
        self.categories
            .binary_search_by(|c| c.code.cmp(code))
            .ok()
            .map(|i| &self.categories[i])
    }

    pub fn leaves(&self) -> impl Iterator<Item = &Category> {
        self.categories.iter().filter(|c| c.level() == 3)
    }

    /// `科教文体 / 科技事务 / 科技服务`.
    pub fn path(&self, code: &CategoryCode) -> String {
        let mut parts = Vec::new();
        let mut cursor = Some(code.clone());
        while let Some(c) = cursor {
            if let Some(category) = self.get(&c) {
                parts.push(category.name.as_str());
            }
            cursor = c.parent();
        }
        parts.reverse();
        parts.join(" / ")
    }
}

/// How well what an operator typed matches a category, for suggestions while they type: each
/// pair of neighbouring characters found counts most, single characters a little, and a match in
/// the category's own name twice as much as one in its `context` (parents' names, description).
/// Chinese needs no word segmentation this way. 0 means nothing matched.
pub fn match_score(query: &str, name: &str, context: &str) -> u32 {
    // Characters that carry no meaning on their own in a request.
    const FILLER: &str =
        "的了是在我你他她它们有和与或及就都也很还要对把被让给吗呢吧啊呀么这那个一不没人说请问";
    let chars: Vec<char> = query
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let (name, context) = (name.to_lowercase(), context.to_lowercase());
    let found = |text: &str, needle: &str| text.contains(needle);
    let mut score = 0;
    for pair in chars.windows(2) {
        if pair.iter().all(|c| FILLER.contains(*c)) {
            continue;
        }
        let pair: String = pair.iter().collect();
        if found(&name, &pair) {
            score += 8;
        } else if found(&context, &pair) {
            score += 4;
        }
    }
    for c in chars.iter().filter(|c| !FILLER.contains(**c)) {
        let mut buf = [0u8; 4];
        let c = c.encode_utf8(&mut buf);
        if found(&name, c) {
            score += 2;
        } else if found(&context, c) {
            score += 1;
        }
    }
    score
}

fn csv_error(line: usize, error: &csv::Error) -> DomainError {
    DomainError::invalid("taxonomy", format!("line {line}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "node_id,level_1_code,level_1_name,level_2_code,level_2_name,level_3_code,level_3_name,remark\n\
        a,01,科教文体,0101,科技事务,010101,科技服务,科技服务相关诉求\n\
        b,01,科教文体,0106,新闻出版,010600,,新闻出版相关诉求\n\
        c,09,民政社区,0904,生活服务,090499,其他生活服务,x\n\
        d,09,民政社区,0905,民族宗教,090499,其他民族宗教,y\n";

    #[test]
    fn parses_three_levels_and_repairs_the_standards_misprints() {
        let (taxonomy, notes) = Taxonomy::parse_csv("test", SAMPLE).unwrap();
        let codes: Vec<_> = taxonomy
            .categories
            .iter()
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(
            codes,
            [
                "01", "0101", "010101", "0106", "010600", "09", "0904", "090499", "0905", "090599"
            ]
        );
        assert_eq!(
            taxonomy
                .get(&CategoryCode::parse("010600").unwrap())
                .unwrap()
                .name,
            "新闻出版"
        );
        assert_eq!(
            taxonomy.path(&CategoryCode::parse("090599").unwrap()),
            "民政社区 / 民族宗教 / 其他民族宗教"
        );
        assert_eq!(notes.len(), 2);
        assert!(notes[1].note.contains("090599"));
    }

    #[test]
    fn refuses_broken_files_with_the_line() {
        let broken = "level_1_code,level_1_name,level_2_code,level_2_name,level_3_code,level_3_name\n01,a,0201,b,020101,c\n";
        let err = Taxonomy::parse_csv("t", broken).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        let missing = "code,name\n01,a\n";
        assert!(
            Taxonomy::parse_csv("t", missing)
                .unwrap_err()
                .to_string()
                .contains("level_1_code")
        );
    }

    #[test]
    fn suggestions_rank_the_category_that_names_the_problem_first() {
        let noise = match_score(
            "楼下工地晚上施工噪声很大",
            "噪声污染",
            "污染防治 建筑施工噪声污染",
        );
        let bus = match_score("楼下工地晚上施工噪声很大", "公交线路", "公共汽车 站点");
        assert!(noise > bus, "noise {noise} vs bus {bus}");
        assert!(
            match_score("噪音", "噪声污染", "") > 0,
            "one shared character still counts"
        );
        assert_eq!(
            match_score("的了吗", "噪声污染", "的了吗"),
            0,
            "filler characters alone count for nothing"
        );
        assert_eq!(match_score("", "噪声污染", "x"), 0);
    }
}
