//! A small city and an in-memory log to drive the state machine in tests.

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::{TimeZone, offset};
use jiff::{SignedDuration, Timestamp};

use crate::audit::{ChainVerifier, EntryFields, Hash, LogEvent, StoredEntry, entry_hash};
use crate::category::Category;
use crate::error::DomainError;
use crate::ids::{CategoryCode, ContactId, DivisionCode, TicketNo, TierCode, UnitId, UserId};
use crate::org::{Actor, ActorId, Affiliation, Role, Unit, UnitKind};
use crate::policy::{Policy, Rules};
use crate::ticket::{
    Channel, Context, Directory, EmergencyService, FollowUpOutcome, Location, NewTicket,
    RequestKind, Satisfaction, Status, Ticket, TicketAction, TicketCommand, TicketEvent, decide,
};
use crate::time::LogTime;

pub struct Dir {
    pub units: BTreeMap<UnitId, Unit>,
    pub categories: BTreeMap<CategoryCode, Category>,
}

impl Directory for Dir {
    fn unit(&self, id: &UnitId) -> Option<&Unit> {
        self.units.get(id)
    }
    fn category(&self, code: &CategoryCode) -> Option<&Category> {
        self.categories.get(code)
    }
    fn knows_division(&self, code: &DivisionCode) -> bool {
        code.as_str().starts_with("9901")
    }
}

pub fn unit_id(s: &str) -> UnitId {
    UnitId::parse(s).unwrap()
}

pub fn zone() -> TimeZone {
    TimeZone::fixed(offset(8))
}

fn directory() -> Dir {
    let unit = |id: &str, kind| Unit {
        id: unit_id(id),
        name: format!("单位{id}"),
        kind,
        parent: None,
        jurisdiction: vec![],
        categories: vec![],
    };
    let units = [
        unit("city", UnitKind::City),
        unit("roads", UnitKind::Department),
        unit("water", UnitKind::Utility),
        unit("d1", UnitKind::District),
    ];
    let category = |code: &str, name: &str| Category {
        code: CategoryCode::parse(code).unwrap(),
        name: name.into(),
        description: String::new(),
    };
    let categories = [
        category("07", "城乡建设"),
        category("0701", "市政设施"),
        category("070101", "道路维护"),
    ];
    Dir {
        units: units.into_iter().map(|u| (u.id.clone(), u)).collect(),
        categories: categories
            .into_iter()
            .map(|c| (c.code.clone(), c))
            .collect(),
    }
}

pub fn actor(name: &'static str, role: Role, affiliation: Affiliation) -> Actor {
    Actor {
        id: ActorId::User(UserId::parse(name).unwrap()),
        affiliation,
        roles: BTreeSet::from([role]),
    }
}

pub fn operator() -> Actor {
    actor("op", Role::Operator, Affiliation::Contractor)
}
pub fn dispatcher() -> Actor {
    actor("disp", Role::Dispatcher, Affiliation::Centre)
}
pub fn handler(unit: &str) -> Actor {
    let name: &'static str = Box::leak(format!("h-{unit}").into_boxed_str());
    actor(name, Role::UnitHandler, Affiliation::Unit(unit_id(unit)))
}
pub fn follow_up_agent() -> Actor {
    actor("fu", Role::FollowUpAgent, Affiliation::Contractor)
}
pub fn supervisor() -> Actor {
    actor("sup", Role::Supervisor, Affiliation::Centre)
}

pub fn request(confidential: bool) -> NewTicket {
    NewTicket {
        channel: Channel::Phone,
        kind: RequestKind::Complaint,
        urgency: TierCode::parse("general").unwrap(),
        category: CategoryCode::parse("070101").unwrap(),
        title: "路灯不亮".into(),
        description: "幸福路12号门口路灯连续三晚不亮".into(),
        location: Location {
            address: "幸福路12号".into(),
            division: Some(DivisionCode::parse("990101001").unwrap()),
            coordinates: None,
        },
        confidential,
        attributes: Default::default(),
        media_url: None,
        citizen_code: None,
        public: false,
        photo: None,
    }
}

pub fn reached(solved: bool, satisfaction: Satisfaction) -> FollowUpOutcome {
    FollowUpOutcome::Reached {
        unit_contacted: true,
        solved,
        satisfaction,
    }
}

/// The state machine with an in-memory, hash-chained log beside it.
pub struct World {
    pub rules: Rules,
    pub dir: Dir,
    pub tickets: BTreeMap<TicketNo, Ticket>,
    pub now: Timestamp,
    pub log: Vec<StoredEntry>,
    head: Hash,
    counter: u32,
}

impl World {
    pub fn new() -> Self {
        Self::with_policy(Policy::default())
    }

    pub fn with_policy(policy: Policy) -> Self {
        Self {
            rules: Rules::new(policy, zone(), &[]).unwrap(),
            dir: directory(),
            tickets: BTreeMap::new(),
            // Thursday 26 November 2026, 10:00 in Beijing.
            now: Timestamp::from_second(1_795_658_400).unwrap(),
            log: Vec::new(),
            head: Hash::GENESIS,
            counter: 0,
        }
    }

    pub fn advance(&mut self, hours: i64) {
        self.now += SignedDuration::from_hours(hours);
    }

    pub fn run(
        &mut self,
        actor: &Actor,
        command: TicketCommand,
    ) -> Result<Vec<TicketEvent>, DomainError> {
        let needed: BTreeMap<TicketNo, Ticket> = command
            .tickets()
            .into_iter()
            .filter_map(|no| self.tickets.get(&no).map(|t| (no, t.clone())))
            .collect();
        // Where the clock enters the write path: at the log's resolution, as the store does.
        let at = LogTime::of(self.now);
        let ctx = Context {
            rules: &self.rules,
            directory: &self.dir,
            actor,
            now: at.timestamp(),
        };
        let events = decide(&ctx, &command, &needed)?;
        for (no, event) in &events {
            // Fold what the log will hold, as the store's writer does.
            let recorded = LogEvent::Ticket(event.clone()).recorded().unwrap();
            let LogEvent::Ticket(logged) = &recorded.event else {
                unreachable!("a ticket event reads back as a ticket event")
            };
            self.append(actor, *no, at, logged.kind(), &recorded.body);
            match self.tickets.get_mut(no) {
                Some(ticket) => ticket.apply(at, logged).unwrap(),
                None => {
                    let ticket = Ticket::start(*no, at, &actor.id.to_string(), logged).unwrap();
                    self.tickets.insert(*no, ticket);
                }
            }
        }
        Ok(events.into_iter().map(|(_, e)| e).collect())
    }

    fn append(&mut self, actor: &Actor, no: TicketNo, at: LogTime, kind: &str, body: &[u8]) {
        let seq = self.log.len() as u64 + 1;
        let actor = actor.id.to_string();
        let fields = EntryFields {
            seq,
            at_ms: at.as_millisecond(),
            actor: &actor,
            ticket: Some(no.to_storage()),
            kind,
            body,
        };
        let hash = entry_hash(&self.head, &fields);
        self.log.push(StoredEntry {
            seq: seq as i64,
            at_ms: fields.at_ms,
            actor: actor.clone(),
            ticket: fields.ticket,
            kind: kind.into(),
            body: body.to_vec(),
            prev: self.head.to_hex(),
            hash: hash.to_hex(),
        });
        self.head = hash;
    }

    pub fn receive_with(&mut self, request: NewTicket, contact: Option<ContactId>) -> TicketNo {
        self.counter += 1;
        let no = TicketNo::new(self.rules.calendar.local_date(self.now), self.counter).unwrap();
        self.run(
            &operator(),
            TicketCommand::Receive {
                no,
                request,
                contact,
                answer_on_call: None,
                sealed: vec![],
            },
        )
        .unwrap();
        no
    }

    pub fn receive(&mut self) -> TicketNo {
        self.receive_with(request(false), Some(ContactId(1)))
    }

    pub fn act(
        &mut self,
        actor: &Actor,
        no: TicketNo,
        action: TicketAction,
    ) -> Result<Vec<TicketEvent>, DomainError> {
        self.run(
            actor,
            TicketCommand::Act {
                no,
                action,
                sealed: vec![],
            },
        )
    }

    pub fn ok(&mut self, actor: &Actor, no: TicketNo, action: TicketAction) -> Vec<TicketEvent> {
        self.act(actor, no, action.clone())
            .unwrap_or_else(|e| panic!("{action:?} failed: {e}"))
    }

    pub fn ticket(&self, no: TicketNo) -> &Ticket {
        &self.tickets[&no]
    }

    /// Dispatched to `roads` and signed.
    pub fn in_progress(&mut self) -> TicketNo {
        let no = self.receive();
        self.ok(&dispatcher(), no, dispatch("roads"));
        self.ok(&handler("roads"), no, TicketAction::Sign);
        no
    }

    /// Replied by `roads`.
    pub fn replied(&mut self) -> TicketNo {
        let no = self.in_progress();
        self.ok(&handler("roads"), no, reply());
        no
    }

    pub fn verify_chain(&self) -> crate::audit::ChainHead {
        let mut verifier = ChainVerifier::new();
        for entry in &self.log {
            verifier.check(entry).unwrap();
        }
        verifier.finish().unwrap()
    }

    /// Folds the log from scratch, through the stored bytes.
    pub fn rebuild(&self) -> BTreeMap<TicketNo, Ticket> {
        let mut out: BTreeMap<TicketNo, Ticket> = BTreeMap::new();
        for stored in &self.log {
            let entry = stored.decode().unwrap();
            let (Some(no), LogEvent::Ticket(event)) = (entry.ticket, &entry.event) else {
                continue;
            };
            match out.get_mut(&no) {
                Some(t) => t.apply(entry.at, event).unwrap(),
                None => {
                    out.insert(
                        no,
                        Ticket::start(no, entry.at, &entry.actor, event).unwrap(),
                    );
                }
            }
        }
        out
    }

    pub fn events(&self) -> Vec<(TicketNo, Timestamp, TicketEvent)> {
        self.log
            .iter()
            .map(|s| s.decode().unwrap())
            .filter_map(|e| match e.event {
                LogEvent::Ticket(t) => Some((e.ticket.unwrap(), e.at.timestamp(), t)),
                LogEvent::Admin(_) | LogEvent::Access(_) | LogEvent::Call(_) => None,
            })
            .collect()
    }
}

pub fn dispatch(unit: &str) -> TicketAction {
    TicketAction::Dispatch {
        lead: unit_id(unit),
        co_units: vec![],
        note: String::new(),
    }
}

pub fn reply() -> TicketAction {
    TicketAction::Reply {
        result: "已更换灯泡".into(),
        claim: crate::ticket::ReplyClaim::Solved,
    }
}

/// One ticket in each status the lifecycle can reach.
pub fn ticket_in(w: &mut World, status: Status) -> TicketNo {
    match status {
        Status::PendingDispatch => w.receive(),
        Status::Dispatched => {
            let no = w.receive();
            w.ok(&dispatcher(), no, dispatch("roads"));
            no
        }
        Status::InProgress => w.in_progress(),
        Status::ReturnRequested => {
            let no = w.in_progress();
            w.ok(
                &handler("roads"),
                no,
                TicketAction::RequestReturn {
                    reason: "x".into(),
                    rule: "y".into(),
                },
            );
            no
        }
        Status::Replied => w.replied(),
        Status::Closed => {
            let no = w.replied();
            w.ok(
                &follow_up_agent(),
                no,
                TicketAction::RecordFollowUp {
                    outcome: reached(true, Satisfaction::Satisfied),
                    comment: String::new(),
                },
            );
            no
        }
        Status::Merged => {
            let target = w.receive();
            let no = w.receive();
            w.ok(&dispatcher(), no, TicketAction::Merge { into: target });
            no
        }
        Status::HandedOff => {
            let no = w.receive();
            w.ok(
                &operator(),
                no,
                TicketAction::HandOff {
                    to: EmergencyService::Police110,
                    note: String::new(),
                },
            );
            no
        }
    }
}
