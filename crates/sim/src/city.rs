//! 民声市, a fictional city: six districts, their streets, twenty departments and five utilities,
//! with the people who work there. Division codes use the province code 99, which no real
//! division has.

use std::collections::BTreeSet;

use domain::division::Division;
use domain::ids::{CategoryCode, DivisionCode, UnitId, UserId};
use domain::org::{Affiliation, Role, Unit, UnitKind, User};

pub const CITY_CODE: &str = "9901";

const DISTRICTS: [(&str, &[&str]); 6] = [
    (
        "东湖区",
        &[
            "湖滨街道",
            "青石街道",
            "桃源街道",
            "梧桐街道",
            "柳岸街道",
            "东湖镇",
            "银杏街道",
        ],
    ),
    (
        "西山区",
        &[
            "松林街道",
            "金沙街道",
            "翠屏街道",
            "龙潭街道",
            "西山镇",
            "石门街道",
        ],
    ),
    (
        "南湾区",
        &[
            "滨江街道",
            "望江街道",
            "南湾街道",
            "渔港街道",
            "沙洲镇",
            "海棠街道",
            "凤鸣街道",
        ],
    ),
    (
        "北岭区",
        &[
            "北岭街道",
            "玉泉街道",
            "朝阳街道",
            "云溪镇",
            "白鹭街道",
            "茶山镇",
        ],
    ),
    (
        "中山区",
        &[
            "中山街道",
            "人民街道",
            "文昌街道",
            "学府街道",
            "鼓楼街道",
            "书院街道",
            "钟楼街道",
        ],
    ),
    (
        "新港区",
        &[
            "新港街道",
            "临港街道",
            "港城街道",
            "海湾街道",
            "盐田镇",
            "物流园街道",
            "东港街道",
        ],
    ),
];

/// Departments (职能部门) with the level-2 categories of their dispatch catalogue entries.
pub const DEPARTMENTS: [(&str, &str, &[&str]); 20] = [
    ("zjj", "市住房和城乡建设局", &["0302", "0304", "0306"]),
    ("cgj", "市城市管理和综合执法局", &["0303", "0305", "0602"]),
    ("jtj", "市交通运输局", &["0504", "0505", "0510", "0513"]),
    ("gaj", "市公安局", &["0701", "0702", "0703", "0511"]),
    ("sthj", "市生态环境局", &["0402", "0404"]),
    (
        "scjg",
        "市市场监督管理局",
        &["1001", "1002", "0708", "0709"],
    ),
    (
        "rsj",
        "市人力资源和社会保障局",
        &["0801", "0804", "0805", "0806"],
    ),
    ("jyj", "市教育局", &["0102", "0107"]),
    ("wjw", "市卫生健康委员会", &["0202", "0203", "0204"]),
    ("mzj", "市民政局", &["0901"]),
    ("swj", "市水务局", &["0403"]),
    ("zrzy", "市自然资源局", &["0401"]),
    ("wgl", "市文化广电旅游体育局", &["0103", "0104", "0108"]),
    ("yjj", "市应急管理局", &["0705", "0707"]),
    ("xfj", "市消防救援支队", &["0704"]),
    ("gjj", "市住房公积金管理中心", &["0301"]),
    ("nyj", "市农业农村局", &["0601", "0604"]),
    ("swju", "市税务局", &["1102"]),
    ("sfj", "市司法局", &["1201"]),
    ("ylbz", "市医疗保障局", &["0205"]),
];

/// Public utilities (公共服务企业).
pub const UTILITIES: [(&str, &str, &[&str]); 5] = [
    ("water", "民声供水集团", &["090403"]),
    ("power", "民声供电局", &["090403"]),
    ("gas", "民声燃气集团", &["040602", "090403"]),
    ("bus", "民声公交集团", &["0502"]),
    ("telecom", "民声通信公司", &["100207"]),
];

/// What streets handle themselves (属地管理).
const STREET_CATALOGUE: [&str; 5] = ["0307", "0903", "030302", "030303", "030608"];

pub const DEMO_PASSWORD: &str = "minsheng-demo";

pub struct Street {
    pub unit: UnitId,
    pub division: DivisionCode,
    pub name: String,
    pub district: usize,
}

pub struct City {
    pub divisions: Vec<Division>,
    /// In creation order: parents before children.
    pub units: Vec<Unit>,
    pub streets: Vec<Street>,
    pub users: Vec<User>,
}

fn code(text: &str) -> DivisionCode {
    DivisionCode::parse(text).unwrap_or_else(|_| unreachable!("constant division codes are valid"))
}

fn unit_id(text: &str) -> UnitId {
    UnitId::parse(text).unwrap_or_else(|_| unreachable!("constant unit codes are valid"))
}

fn user_id(text: &str) -> UserId {
    UserId::parse(text).unwrap_or_else(|_| unreachable!("constant user names are valid"))
}

fn categories(codes: &[&str]) -> Vec<CategoryCode> {
    codes
        .iter()
        .map(|c| {
            CategoryCode::parse(c)
                .unwrap_or_else(|_| unreachable!("constant category codes are valid"))
        })
        .collect()
}

pub fn district_unit(index: usize) -> UnitId {
    unit_id(&format!("d{}", index + 1))
}

impl City {
    pub fn build() -> City {
        let mut divisions = vec![
            Division {
                code: code("99"),
                name: "演示省".into(),
            },
            Division {
                code: code(CITY_CODE),
                name: "民声市".into(),
            },
        ];
        let city = unit_id("city");
        let mut units = vec![Unit {
            id: city.clone(),
            name: "民声市人民政府".into(),
            kind: UnitKind::City,
            parent: None,
            jurisdiction: vec![code(CITY_CODE)],
            categories: vec![],
        }];
        let mut streets = Vec::new();
        for (d, (district_name, street_names)) in DISTRICTS.iter().enumerate() {
            let district_code = code(&format!("{CITY_CODE}{:02}", d + 1));
            divisions.push(Division {
                code: district_code.clone(),
                name: (*district_name).into(),
            });
            let district = district_unit(d);
            units.push(Unit {
                id: district.clone(),
                name: format!("{district_name}人民政府"),
                kind: UnitKind::District,
                parent: Some(city.clone()),
                jurisdiction: vec![district_code.clone()],
                categories: vec![],
            });
            for (s, street_name) in street_names.iter().enumerate() {
                let street_code = code(&format!("{district_code}{:03}", s + 1));
                divisions.push(Division {
                    code: street_code.clone(),
                    name: (*street_name).into(),
                });
                let id = unit_id(&format!("d{}-s{}", d + 1, s + 1));
                let kind = if street_name.ends_with('镇') {
                    "人民政府"
                } else {
                    "办事处"
                };
                units.push(Unit {
                    id: id.clone(),
                    name: format!("{district_name}{street_name}{kind}"),
                    kind: UnitKind::Street,
                    parent: Some(district.clone()),
                    jurisdiction: vec![street_code.clone()],
                    categories: categories(&STREET_CATALOGUE),
                });
                streets.push(Street {
                    unit: id,
                    division: street_code,
                    name: (*street_name).into(),
                    district: d,
                });
            }
        }
        for (id, name, cats) in DEPARTMENTS.iter().chain(UTILITIES.iter()) {
            let kind = if UTILITIES.iter().any(|u| u.0 == *id) {
                UnitKind::Utility
            } else {
                UnitKind::Department
            };
            units.push(Unit {
                id: unit_id(id),
                name: (*name).into(),
                kind,
                parent: Some(city.clone()),
                jurisdiction: vec![code(CITY_CODE)],
                categories: categories(cats),
            });
        }
        let users = people(&units);
        City {
            divisions,
            units,
            streets,
            users,
        }
    }
}

fn person(id: &str, name: &str, affiliation: Affiliation, roles: &[Role]) -> User {
    User {
        id: user_id(id),
        display_name: name.into(),
        affiliation,
        roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        active: true,
    }
}

/// Centre and contractor staff by role, and a handler and a manager for every unit.
fn people(units: &[Unit]) -> Vec<User> {
    use Affiliation::{Centre, Contractor};
    let mut users = vec![
        person("admin", "系统管理员", Centre, &[Role::Admin]),
        person("supervisor", "督办科 周敏", Centre, &[Role::Supervisor]),
        person("dispatcher", "派单员 陈静", Centre, &[Role::Dispatcher]),
        person("dispatcher2", "派单员 黄磊", Centre, &[Role::Dispatcher]),
        person(
            "inspector",
            "质检员 郭婷",
            Contractor,
            &[Role::QualityInspector],
        ),
        // The call centre's ACD/CTI, reporting call events through the API with a token.
        person("acd", "话务平台 ACD", Contractor, &[Role::CallSystem]),
    ];
    // The first of each is the one the demo logins print: `operator`, `followup`.
    let numbered = |base: &str, i: usize| {
        if i == 0 {
            base.to_owned()
        } else {
            format!("{base}{}", i + 1)
        }
    };
    for (i, name) in ["李娜", "王芳", "张伟", "刘洋", "赵敏", "孙丽"]
        .iter()
        .enumerate()
    {
        users.push(person(
            &numbered("operator", i),
            &format!("话务员 {name}"),
            Contractor,
            &[Role::Operator],
        ));
    }
    for (i, name) in ["吴倩", "郑凯", "冯雪"].iter().enumerate() {
        users.push(person(
            &numbered("followup", i),
            &format!("回访员 {name}"),
            Contractor,
            &[Role::FollowUpAgent],
        ));
    }
    for unit in units.iter().filter(|u| u.kind != UnitKind::City) {
        let affiliation = Affiliation::Unit(unit.id.clone());
        users.push(person(
            &format!("h-{}", unit.id),
            &format!("{} 承办人", unit.name),
            affiliation.clone(),
            &[Role::UnitHandler],
        ));
        users.push(person(
            &format!("m-{}", unit.id),
            &format!("{} 负责人", unit.name),
            affiliation,
            &[Role::UnitManager],
        ));
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_city_has_the_promised_shape() {
        let city = City::build();
        let count = |kind| city.units.iter().filter(|u| u.kind == kind).count();
        assert_eq!(count(UnitKind::District), 6);
        assert_eq!(count(UnitKind::Street), 40);
        assert_eq!(count(UnitKind::Department), 20);
        assert_eq!(count(UnitKind::Utility), 5);
        let names: BTreeSet<_> = city.users.iter().map(|u| u.id.clone()).collect();
        assert_eq!(names.len(), city.users.len(), "user names are unique");
        for user in &city.users {
            user.check().unwrap();
        }
        assert!(names.contains(&user_id("operator")) && names.contains(&user_id("followup")));
    }
}
