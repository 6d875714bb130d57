//! A small city, its people and helpers to submit commands as them.

use domain::time::LogTime;
use std::collections::BTreeSet;

use domain::admin::AdminCommand;
use domain::category::{Category, Taxonomy};
use domain::division::Division;
use domain::ids::{CategoryCode, ContactId, DivisionCode, TicketNo, TierCode, UnitId, UserId};
use domain::org::{Actor, Affiliation, Role, Unit, UnitKind, User};
use domain::ticket::{Channel, Location, NewTicket, RequestKind, TicketAction};
use jiff::{SignedDuration, Timestamp};
use store::{Command, Committed, SealedContact, Store, StoreResult, Submission};

pub fn t0() -> Timestamp {
    // Thursday 26 November 2026, 10:00 in Beijing.
    Timestamp::from_second(1_795_658_400).unwrap()
}

pub fn at_hours(h: i64) -> Timestamp {
    t0() + SignedDuration::from_hours(h)
}

pub fn unit(id: &str) -> UnitId {
    UnitId::parse(id).unwrap()
}

pub fn user(name: &str, role: Role, affiliation: Affiliation) -> User {
    User {
        id: UserId::parse(name).unwrap(),
        display_name: name.to_uppercase(),
        affiliation,
        roles: BTreeSet::from([role]),
        active: true,
    }
}

pub fn operator() -> Actor {
    user("op", Role::Operator, Affiliation::Contractor).actor()
}
pub fn dispatcher() -> Actor {
    user("disp", Role::Dispatcher, Affiliation::Centre).actor()
}
pub fn handler(u: &str) -> Actor {
    user(
        &format!("h-{u}"),
        Role::UnitHandler,
        Affiliation::Unit(unit(u)),
    )
    .actor()
}
pub fn follow_up() -> Actor {
    user("fu", Role::FollowUpAgent, Affiliation::Contractor).actor()
}

async fn admin(store: &dyn Store, command: AdminCommand) {
    store
        .submit(Submission {
            actor: Actor::system("test"),
            now: LogTime::of(t0()),
            command: Command::Admin {
                command,
                secret: None,
            },
        })
        .await
        .unwrap();
}

/// Divisions, a three-category taxonomy, three units and one user per role.
pub async fn bootstrap(store: &dyn Store) {
    let division = |code: &str, name: &str| Division {
        code: DivisionCode::parse(code).unwrap(),
        name: name.into(),
    };
    admin(
        store,
        AdminCommand::RegisterDivisions {
            source: "test".into(),
            divisions: vec![
                division("9901", "测试市"),
                division("990101", "东区"),
                division("990101001", "湖滨街道"),
            ],
        },
    )
    .await;
    let category = |code: &str, name: &str| Category {
        code: CategoryCode::parse(code).unwrap(),
        name: name.into(),
        description: String::new(),
    };
    admin(
        store,
        AdminCommand::ImportTaxonomy(Taxonomy {
            source: "test".into(),
            categories: vec![
                category("07", "城乡建设"),
                category("0701", "市政设施"),
                category("070101", "道路维护"),
                category("070102", "路灯照明"),
                category("08", "公共服务"),
                category("0801", "供水"),
                category("080101", "停水"),
            ],
        }),
    )
    .await;
    let u = |id: &str, kind, parent: Option<&str>| Unit {
        id: unit(id),
        name: format!("{id}单位"),
        kind,
        parent: parent.map(unit),
        jurisdiction: vec![DivisionCode::parse("990101").unwrap()],
        categories: vec![],
    };
    admin(
        store,
        AdminCommand::CreateUnit(u("city", UnitKind::City, None)),
    )
    .await;
    admin(
        store,
        AdminCommand::CreateUnit(u("roads", UnitKind::Department, Some("city"))),
    )
    .await;
    admin(
        store,
        AdminCommand::CreateUnit(u("water", UnitKind::Utility, Some("city"))),
    )
    .await;
    for person in [
        user("op", Role::Operator, Affiliation::Contractor),
        user("disp", Role::Dispatcher, Affiliation::Centre),
        user(
            "h-roads",
            Role::UnitHandler,
            Affiliation::Unit(unit("roads")),
        ),
        user(
            "h-water",
            Role::UnitHandler,
            Affiliation::Unit(unit("water")),
        ),
        user("fu", Role::FollowUpAgent, Affiliation::Contractor),
    ] {
        admin(store, AdminCommand::CreateUser(person)).await;
    }
}

pub fn request(category: &str) -> NewTicket {
    NewTicket {
        channel: Channel::Phone,
        kind: RequestKind::Complaint,
        urgency: TierCode::parse("general").unwrap(),
        category: CategoryCode::parse(category).unwrap(),
        title: "路灯不亮".into(),
        description: "幸福路12号路灯不亮".into(),
        location: Location {
            address: "幸福路12号".into(),
            division: Some(DivisionCode::parse("990101001").unwrap()),
            coordinates: None,
        },
        confidential: false,
        attributes: Default::default(),
        media_url: None,
        citizen_code: None,
        public: false,
        photo: None,
    }
}

pub fn sealed(id: u64, phone_index: Option<[u8; 32]>) -> SealedContact {
    SealedContact {
        id: ContactId(id),
        key_id: 1,
        nonce: vec![0; 24],
        ciphertext: b"opaque ciphertext".to_vec(),
        phone_index,
    }
}

pub async fn receive_at(
    store: &dyn Store,
    now: Timestamp,
    category: &str,
    contact: Option<SealedContact>,
) -> StoreResult<TicketNo> {
    let committed = store
        .submit(Submission {
            actor: operator(),
            now: LogTime::of(now),
            command: Command::Receive {
                request: request(category),
                contact,
                answer_on_call: None,
                photo: None,
                numbers: None,
            },
        })
        .await?;
    match committed {
        Committed::Ticket { no, .. } => Ok(no),
        other => panic!("a receive committed {other:?}"),
    }
}

pub async fn receive(store: &dyn Store) -> TicketNo {
    receive_at(store, t0(), "070101", None).await.unwrap()
}

pub async fn act(
    store: &dyn Store,
    actor: Actor,
    now: Timestamp,
    no: TicketNo,
    action: TicketAction,
) -> StoreResult<Committed> {
    store
        .submit(Submission {
            actor,
            now: LogTime::of(now),
            command: Command::Ticket {
                no,
                action,
                numbers: None,
            },
        })
        .await
}

pub fn dispatch(to: &str) -> TicketAction {
    TicketAction::Dispatch {
        lead: unit(to),
        co_units: vec![],
        note: String::new(),
    }
}

/// `"0801".parse_category()`: a category code the test knows is valid.
pub trait ParseCategory {
    fn parse_category(&self) -> domain::ids::CategoryCode;
}

impl ParseCategory for &str {
    fn parse_category(&self) -> domain::ids::CategoryCode {
        domain::ids::CategoryCode::parse(self).unwrap()
    }
}
