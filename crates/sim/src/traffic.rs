//! Days of hotline traffic as a discrete-event simulation. Arrivals follow hour-of-day and
//! weekday patterns; each ticket then moves through the real use cases — dispatch (sometimes to the
//! wrong unit), sign, contact, extension, urging, reply, follow-up, reopen, merge — at times drawn
//! from each unit's behaviour profile.
//!
//! Events are processed in rounds of a few simulated minutes: everything due in a round is
//! submitted concurrently (the store commits it in groups), then the next steps are scheduled.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use app::App;
use app::tickets::NewTicketInput;
use app::views::TicketView;
use domain::ids::{CategoryCode, TicketNo, TierCode, UnitId};
use domain::org::Actor;
use domain::privacy::Contact;
use domain::ticket::{
    Channel, EmergencyService, FollowUpOutcome, ReplyClaim, RequestKind, Satisfaction, Status,
    TicketAction,
};
use jiff::civil::{Time, Weekday};
use jiff::{SignedDuration, Timestamp};
use store::Registry;

use crate::city::{City, DEPARTMENTS, district_unit};
use crate::scenarios::{CANNOT_SOLVE, COMPOUNDS, ROADS, Route, SCENARIOS, Scenario};

/// How long one round of simultaneous work lasts, in simulated time.
const ROUND: SignedDuration = SignedDuration::from_mins(10);

#[derive(Clone, Debug, Default)]
pub struct TrafficSummary {
    pub tickets: u64,
    pub commands: u64,
    /// Commands the domain refused. The simulator plans only valid steps, so these point at a
    /// bug in either.
    pub refused: u64,
    pub still_open: u64,
}

/// How a unit works. Drawn once per unit, so units rank differently.
#[derive(Clone, Copy, Debug)]
struct Profile {
    /// Mean working hours from dispatch to signing.
    sign_hours: f64,
    on_time: f64,
    contact: f64,
    solve: f64,
    extension: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Arrive,
    Dispatch,
    Merge,
    Sign,
    AskReturn,
    DecideReturn,
    Contact,
    Reveal,
    AskExtension,
    DecideExtension,
    Urge,
    Supervise,
    Reply,
    FollowUp,
    HandOff,
}

struct TicketSim {
    scenario: &'static Scenario,
    street: usize,
    correct: UnitId,
    /// Where the dispatcher sent it this time.
    sent_to: Option<UnitId>,
    no: Option<TicketNo>,
    view: Option<TicketView>,
    duplicate_of: Option<usize>,
    contact: Option<Contact>,
    confidential: bool,
    channel: Channel,
    /// What the unit will do once signed: the remaining steps with their times.
    plan: Vec<(Timestamp, Step)>,
    claim: ReplyClaim,
    approve_extension: bool,
    reopened: u32,
}

struct Planned {
    ticket: usize,
    step: Step,
    at: Timestamp,
    actor: Actor,
    op: Op,
}

enum Op {
    Receive(Box<NewTicketInput>),
    Act(TicketNo, TicketAction),
}

pub struct Traffic<'a> {
    app: &'a App,
    registry: std::sync::Arc<Registry>,
    rng: fastrand::Rng,
    actors: HashMap<String, Actor>,
    profiles: BTreeMap<UnitId, Profile>,
    streets: Vec<(UnitId, String, usize)>,
    tickets: Vec<TicketSim>,
    agenda: BinaryHeap<Reverse<(Timestamp, u64, usize, StepKey)>>,
    counter: u64,
    frequent_callers: Vec<String>,
    summary: TrafficSummary,
}

/// `Step` ordered for the heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct StepKey(u8);

const STEPS: [Step; 15] = [
    Step::Arrive,
    Step::Dispatch,
    Step::Merge,
    Step::Sign,
    Step::AskReturn,
    Step::DecideReturn,
    Step::Contact,
    Step::Reveal,
    Step::AskExtension,
    Step::DecideExtension,
    Step::Urge,
    Step::Supervise,
    Step::Reply,
    Step::FollowUp,
    Step::HandOff,
];

impl StepKey {
    fn of(step: Step) -> Self {
        Self(STEPS.iter().position(|s| *s == step).unwrap_or(0) as u8)
    }
    fn step(self) -> Step {
        STEPS[self.0 as usize]
    }
}

impl<'a> Traffic<'a> {
    pub fn new(app: &'a App, city: &City, seed: u64) -> Self {
        let registry = app.registry();
        let mut rng = fastrand::Rng::with_seed(seed);
        let actors = registry
            .users
            .values()
            .map(|u| (u.id.to_string(), u.actor()))
            .collect();
        let profiles = city
            .units
            .iter()
            .map(|u| (u.id.clone(), profile(&mut rng)))
            .collect();
        let streets = city
            .streets
            .iter()
            .map(|s| (s.unit.clone(), s.name.clone(), s.district))
            .collect();
        let frequent_callers = (0..60).map(|_| phone(&mut rng)).collect();
        Self {
            app,
            registry,
            rng,
            actors,
            profiles,
            streets,
            tickets: Vec::new(),
            agenda: BinaryHeap::new(),
            counter: 0,
            frequent_callers,
            summary: TrafficSummary::default(),
        }
    }

    /// Simulates from `start` up to (not including) `end`, `per_day` requests on an average
    /// weekday.
    pub async fn run(mut self, start: Timestamp, end: Timestamp, per_day: u32) -> TrafficSummary {
        self.schedule_arrivals(start, end, per_day);
        while let Some(Reverse((first, ..))) = self.agenda.peek().copied() {
            if first >= end {
                break;
            }
            let round_end = (first + ROUND).min(end);
            let mut due = Vec::new();
            while let Some(Reverse((at, _, ticket, key))) = self.agenda.peek().copied() {
                if at >= round_end {
                    break;
                }
                self.agenda.pop();
                due.push((at, ticket, key.step()));
            }
            let planned: Vec<Planned> = due
                .into_iter()
                .filter_map(|(at, ticket, step)| self.plan(ticket, step, at))
                .collect();
            let app = self.app;
            let results = futures::future::join_all(planned.iter().map(|p| execute(app, p))).await;
            for (planned, result) in planned.iter().zip(results) {
                self.summary.commands += 1;
                match result {
                    Ok(view) => self.after(planned, view, round_end),
                    Err(error) => {
                        self.summary.refused += 1;
                        tracing::warn!(step = ?planned.step, %error, "the simulator's step was refused");
                    }
                }
            }
        }
        self.summary.still_open = self
            .tickets
            .iter()
            .filter(|t| t.view.as_ref().is_some_and(|v| !v.status.is_terminal()))
            .count() as u64;
        self.summary
    }

    fn push(&mut self, at: Timestamp, ticket: usize, step: Step) {
        self.counter += 1;
        self.agenda
            .push(Reverse((at, self.counter, ticket, StepKey::of(step))));
    }

    fn schedule_arrivals(&mut self, start: Timestamp, end: Timestamp, per_day: u32) {
        const HOURS: [f64; 24] = [
            1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 3.0, 6.0, 8.0, 8.5, 8.0, 6.0, 5.5, 7.0, 7.5, 7.0,
            6.0, 5.0, 4.5, 4.0, 3.2, 2.4, 1.6,
        ];
        let total: f64 = HOURS.iter().sum();
        let registry = self.registry.clone();
        let calendar = &registry.rules.calendar;
        let zone = calendar.zone().clone();
        let mut day = calendar.local_date(start);
        let last = calendar.local_date(end);
        while day <= last {
            let factor = match day.weekday() {
                Weekday::Monday => 1.15,
                Weekday::Saturday => 0.75,
                Weekday::Sunday => 0.7,
                _ => 1.0,
            } * if calendar.is_working_day(day)
                || matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
            {
                1.0
            } else {
                0.6
            };
            for (hour, weight) in HOURS.iter().enumerate() {
                let expected = f64::from(per_day) * weight / total * factor;
                let count = expected.floor() as u32 + u32::from(self.rng.f64() < expected.fract());
                for _ in 0..count {
                    let time = Time::new(hour as i8, self.rng.i8(0..60), self.rng.i8(0..60), 0)
                        .unwrap_or(Time::midnight());
                    let Ok(at) = zone.to_timestamp(day.to_datetime(time)) else {
                        continue;
                    };
                    if at < start || at >= end {
                        continue;
                    }
                    let ticket = self.new_ticket();
                    self.push(at, ticket, Step::Arrive);
                }
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
    }

    fn new_ticket(&mut self) -> usize {
        let weights: u32 = SCENARIOS.iter().map(|s| s.weight).sum();
        let mut pick = self.rng.u32(0..weights);
        let scenario = SCENARIOS.iter().find(|s| {
            if pick < s.weight {
                return true;
            }
            pick -= s.weight;
            false
        });
        let scenario = scenario.unwrap_or(&SCENARIOS[0]);
        let street = self.rng.usize(0..self.streets.len());
        let correct = match scenario.route {
            Route::Department(id) | Route::Utility(id) => unit(id),
            Route::Street => self.streets[street].0.clone(),
        };
        let channel = match self.rng.u32(0..100) {
            0..88 => Channel::Phone,
            88..92 => Channel::Wechat,
            92..95 => Channel::App,
            95..97 => Channel::MiniProgram,
            97 => Channel::Web,
            98 => Channel::Sms,
            _ => Channel::Transfer110,
        };
        let contact = self.contact(street);
        let confidential = self.rng.f64() < scenario.confidential;
        self.tickets.push(TicketSim {
            scenario,
            street,
            correct,
            sent_to: None,
            no: None,
            view: None,
            duplicate_of: None,
            contact,
            confidential,
            channel,
            plan: Vec::new(),
            claim: ReplyClaim::Solved,
            approve_extension: true,
            reopened: 0,
        });
        self.tickets.len() - 1
    }

    fn contact(&mut self, street: usize) -> Option<Contact> {
        if self.rng.f64() < 0.05 {
            return None; // anonymous
        }
        const SURNAMES: [&str; 24] = [
            "张", "王", "李", "赵", "刘", "陈", "杨", "黄", "吴", "周", "徐", "孙", "马", "朱",
            "胡", "郭", "何", "林", "罗", "高", "郑", "梁", "谢", "欧阳",
        ];
        const GIVEN: [&str; 24] = [
            "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
            "涛", "明", "超", "秀英", "华", "慧", "建国", "桂兰", "志强", "晓燕",
        ];
        let name = format!(
            "{}{}",
            SURNAMES[self.rng.usize(0..SURNAMES.len())],
            GIVEN[self.rng.usize(0..GIVEN.len())]
        );
        let number = if self.rng.f64() < 0.15 {
            self.frequent_callers[self.rng.usize(0..self.frequent_callers.len())].clone()
        } else {
            phone(&mut self.rng)
        };
        let address = (self.rng.f64() < 0.6).then(|| {
            format!(
                "{}{}{}栋{}室",
                self.streets[street].1,
                COMPOUNDS[self.rng.usize(0..COMPOUNDS.len())],
                self.rng.u32(1..30),
                self.rng.u32(101..2405)
            )
        });
        Contact::new(Some(&name), Some(&number), address.as_deref())
            .ok()
            .flatten()
    }

    fn actor(&self, name: &str) -> Actor {
        self.actors
            .get(name)
            .cloned()
            .unwrap_or_else(|| Actor::system("demo"))
    }

    fn one_of(&mut self, names: &[&str]) -> Actor {
        let name = names[self.rng.usize(0..names.len())];
        self.actor(name)
    }

    fn handler(&mut self, unit: &UnitId) -> Actor {
        let role = if self.rng.f64() < 0.8 { "h" } else { "m" };
        self.actor(&format!("{role}-{unit}"))
    }

    fn text(&mut self, template: &str, street: usize) -> String {
        template
            .replace("{road}", ROADS[self.rng.usize(0..ROADS.len())])
            .replace("{compound}", COMPOUNDS[self.rng.usize(0..COMPOUNDS.len())])
            .replace("{street}", &self.streets[street].1)
            .replace("{no}", &self.rng.u32(1..300).to_string())
            .replace("{days}", &self.rng.u32(2..8).to_string())
    }

    /// Turns a due step into a concrete command, or drops it when the ticket has moved on.
    fn plan(&mut self, ticket: usize, step: Step, at: Timestamp) -> Option<Planned> {
        let dispatchers = ["dispatcher", "dispatcher2"];
        let t = &self.tickets[ticket];
        let scenario = t.scenario;
        let street = t.street;
        let no = t.no;
        let lead = t
            .view
            .as_ref()
            .and_then(|v| v.lead_unit.as_ref())
            .map(|u| u.id.clone());
        let (actor, op) = match step {
            Step::Arrive => {
                // A few callers report what someone reported shortly before: the dispatcher will
                // merge them.
                let duplicate_of = (self.rng.f64() < 0.05)
                    .then(|| {
                        self.tickets[..ticket]
                            .iter()
                            .enumerate()
                            .rev()
                            .take(300)
                            .find(|(_, other)| {
                                std::ptr::eq(other.scenario, scenario)
                                    && other.street == street
                                    && other.view.as_ref().is_some_and(|v| !v.status.is_terminal())
                            })
                    })
                    .flatten()
                    .map(|(i, _)| i);
                self.tickets[ticket].duplicate_of = duplicate_of;
                let t = &self.tickets[ticket];
                let duplicate = t.duplicate_of.is_some();
                let template =
                    scenario.descriptions[self.rng.usize(0..scenario.descriptions.len())];
                let description = self.text(template, street);
                let address = self.text("{road}{no}号", street);
                let direct = self.rng.f64() < scenario.answer_on_call && !duplicate;
                let t = &self.tickets[ticket];
                let input = NewTicketInput {
                    channel: t.channel,
                    kind: scenario.kind,
                    urgency: Some(TierCode::parse(scenario.tier).ok()?),
                    category: CategoryCode::parse(scenario.category).ok()?,
                    title: Some(scenario.title.to_owned()),
                    description,
                    address: format!("{}{}", self.streets[street].1, address),
                    division: self
                        .registry
                        .units
                        .get(&self.streets[street].0)
                        .and_then(|u| u.jurisdiction.first().cloned()),
                    coordinates: None,
                    confidential: t.confidential,
                    contact: t.contact.clone(),
                    answer_on_call: direct.then(|| scenario.answer.to_owned()),
                };
                let operators = [
                    "operator",
                    "operator2",
                    "operator3",
                    "operator4",
                    "operator5",
                    "operator6",
                ];
                (self.one_of(&operators), Op::Receive(Box::new(input)))
            }
            Step::Dispatch => {
                // Most dispatches are right; some go to a department that will ask to return it.
                let correct = self.tickets[ticket].correct.clone();
                let first_time = self.tickets[ticket].sent_to.is_none();
                let to = if first_time && self.rng.f64() < 0.07 {
                    unit(DEPARTMENTS[self.rng.usize(0..DEPARTMENTS.len())].0)
                } else {
                    correct.clone()
                };
                let co_units = if self.rng.f64() < 0.05
                    && to != district_unit(self.tickets[ticket].street_district(&self.streets))
                {
                    vec![district_unit(
                        self.tickets[ticket].street_district(&self.streets),
                    )]
                } else {
                    vec![]
                };
                self.tickets[ticket].sent_to = Some(to.clone());
                (
                    self.one_of(&dispatchers),
                    Op::Act(
                        no?,
                        TicketAction::Dispatch {
                            lead: to,
                            co_units,
                            note: String::new(),
                        },
                    ),
                )
            }
            Step::Merge => {
                let target = self.tickets[t.duplicate_of?].no?;
                (
                    self.one_of(&dispatchers),
                    Op::Act(no?, TicketAction::Merge { into: target }),
                )
            }
            Step::Sign => (self.handler(&lead?), Op::Act(no?, TicketAction::Sign)),
            Step::AskReturn => (
                self.handler(&lead?),
                Op::Act(
                    no?,
                    TicketAction::RequestReturn {
                        reason: "经核实，该诉求不属于本单位职责范围，请重新派发至主管部门。".into(),
                        rule: format!("《民声市12345热线派单目录》第{}项", self.rng.u32(3..120)),
                    },
                ),
            ),
            Step::DecideReturn => {
                let approve = self.rng.f64() < 0.9;
                let note = if approve {
                    String::new()
                } else {
                    "经审核，该事项属于你单位职责，请继续办理。".to_owned()
                };
                (
                    self.one_of(&dispatchers),
                    Op::Act(no?, TicketAction::DecideReturn { approve, note }),
                )
            }
            Step::Contact => (
                self.handler(&lead?),
                Op::Act(
                    no?,
                    TicketAction::AddNote {
                        text: "已电话联系诉求人，了解具体情况并约定处理时间。".into(),
                        contacted_citizen: true,
                    },
                ),
            ),
            Step::Reveal => (
                self.handler(&lead?),
                Op::Act(
                    no?,
                    TicketAction::RevealContact {
                        reason: "需电话联系诉求人核实具体位置".into(),
                    },
                ),
            ),
            Step::AskExtension => {
                let days = self.rng.u32(3..8);
                (
                    self.handler(&lead?),
                    Op::Act(
                        no?,
                        TicketAction::RequestExtension {
                            working_days: days,
                            reason: "需协调多个部门联合处置，现场施工周期较长。".into(),
                        },
                    ),
                )
            }
            Step::DecideExtension => {
                let approve = self.tickets[ticket].approve_extension;
                let note = if approve {
                    String::new()
                } else {
                    "理由不充分，请按期办结。".to_owned()
                };
                (
                    self.one_of(&dispatchers),
                    Op::Act(no?, TicketAction::DecideExtension { approve, note }),
                )
            }
            Step::HandOff => {
                let to = [
                    EmergencyService::Police110,
                    EmergencyService::Fire119,
                    EmergencyService::Ambulance120,
                ][self.rng.usize(0..3)];
                (
                    self.actor("operator"),
                    Op::Act(
                        no?,
                        TicketAction::HandOff {
                            to,
                            note: "涉及人身财产安全，已转接紧急热线。".into(),
                        },
                    ),
                )
            }
            Step::Urge => (
                self.one_of(&dispatchers),
                Op::Act(
                    no?,
                    TicketAction::Urge {
                        note: "已超期，请尽快办理并答复。".into(),
                    },
                ),
            ),
            Step::Supervise => (
                self.actor("supervisor"),
                Op::Act(
                    no?,
                    TicketAction::Supervise {
                        note: "多次催办未果，列入督办。".into(),
                    },
                ),
            ),
            Step::Reply => {
                let claim = self.tickets[ticket].claim;
                let result = match claim {
                    ReplyClaim::CannotSolve => {
                        CANNOT_SOLVE[self.rng.usize(0..CANNOT_SOLVE.len())].to_owned()
                    }
                    _ if scenario.replies.is_empty() => "已处理。".to_owned(),
                    _ => {
                        let template = scenario.replies[self.rng.usize(0..scenario.replies.len())];
                        self.text(template, street)
                    }
                };
                (
                    self.handler(&lead?),
                    Op::Act(no?, TicketAction::Reply { result, claim }),
                )
            }
            Step::FollowUp => {
                let outcome = self.follow_up_outcome(ticket);
                let comment = match outcome {
                    FollowUpOutcome::NotReached => "电话无人接听".to_owned(),
                    FollowUpOutcome::Reached { solved: false, .. } => {
                        "市民表示问题仍未解决".to_owned()
                    }
                    FollowUpOutcome::Reached { .. } => String::new(),
                };
                (
                    self.one_of(&["followup", "followup2", "followup3"]),
                    Op::Act(no?, TicketAction::RecordFollowUp { outcome, comment }),
                )
            }
        };
        Some(Planned {
            ticket,
            step,
            at,
            actor,
            op,
        })
    }

    fn follow_up_outcome(&mut self, ticket: usize) -> FollowUpOutcome {
        if self.rng.f64() > 0.88 {
            return FollowUpOutcome::NotReached;
        }
        let t = &self.tickets[ticket];
        let profile = t
            .view
            .as_ref()
            .and_then(|v| v.lead_unit.as_ref())
            .and_then(|u| self.profiles.get(&u.id))
            .copied()
            .unwrap_or(AVERAGE);
        let bonus = 0.1 * f64::from(t.reopened);
        let solve_p = match t.claim {
            ReplyClaim::Solved => profile.solve + bonus,
            ReplyClaim::Explained => 0.75,
            ReplyClaim::CannotSolve => 0.05,
        };
        let contacted_p = if t.plan.iter().any(|(_, s)| *s == Step::Contact) {
            0.97
        } else {
            profile.contact * 0.8
        };
        let solved = self.rng.f64() < solve_p;
        let roll = self.rng.f64();
        let satisfaction = match (solved, roll) {
            (true, r) if r < 0.8 => Satisfaction::Satisfied,
            (true, r) if r < 0.97 => Satisfaction::BasicallySatisfied,
            (false, r) if r < 0.05 => Satisfaction::Satisfied,
            (false, r) if r < 0.3 => Satisfaction::BasicallySatisfied,
            _ => Satisfaction::Dissatisfied,
        };
        FollowUpOutcome::Reached {
            unit_contacted: self.rng.f64() < contacted_p,
            solved,
            satisfaction,
        }
    }

    /// Records what a committed step did and schedules the ticket's next one.
    fn after(&mut self, planned: &Planned, view: TicketView, not_before: Timestamp) {
        let i = planned.ticket;
        let at = planned.at;
        if self.tickets[i].no.is_none() {
            self.summary.tickets += 1;
            self.tickets[i].no = TicketNo::parse(&view.no).ok();
        }
        let status = view.status;
        self.tickets[i].view = Some(view);
        let next = match (planned.step, status) {
            (_, s) if s.is_terminal() => None,
            // Now and then an emergency turns out to be a matter for 110/119/120.
            (Step::Arrive, _)
                if self.tickets[i].scenario.tier == "emergency" && self.rng.f64() < 0.15 =>
            {
                Some((at + minutes(&mut self.rng, 1, 5), Step::HandOff))
            }
            (Step::Arrive, _) if self.tickets[i].duplicate_of.is_some() => {
                Some((at + minutes(&mut self.rng, 10, 90), Step::Merge))
            }
            (Step::Arrive, _) => Some((at + self.dispatch_delay(at), Step::Dispatch)),
            (Step::Merge | Step::Dispatch | Step::DecideReturn, Status::PendingDispatch) => {
                Some((at + minutes(&mut self.rng, 5, 30), Step::Dispatch))
            }
            (Step::Dispatch | Step::DecideReturn, Status::Dispatched)
            | (Step::FollowUp, Status::Dispatched) => {
                if planned.step == Step::FollowUp {
                    self.tickets[i].reopened += 1;
                }
                let unit = self.tickets[i]
                    .view
                    .as_ref()
                    .and_then(|v| v.lead_unit.as_ref())
                    .map(|u| u.id.clone());
                let profile = unit
                    .and_then(|u| self.profiles.get(&u).copied())
                    .unwrap_or(AVERAGE);
                let mut hours = self.rng.f64() * 2.0 * profile.sign_hours
                    / (1.0 + f64::from(self.tickets[i].reopened));
                if self.round_the_clock(i) {
                    // On-duty crews sign urgent tickets within minutes, day or night.
                    hours /= 8.0;
                }
                let delay = SignedDuration::from_secs((hours * 3600.0) as i64);
                Some((self.unit_time(i, at + delay), Step::Sign))
            }
            (Step::DecideReturn, Status::InProgress) => {
                self.plan_handling(i, at);
                self.pop_plan(i)
            }
            (Step::Sign, _) => {
                let wrong = self.tickets[i].sent_to.as_ref() != Some(&self.tickets[i].correct)
                    && self.tickets[i].reopened == 0;
                if wrong && self.rng.f64() < 0.95 {
                    Some((at + minutes(&mut self.rng, 10, 120), Step::AskReturn))
                } else {
                    self.plan_handling(i, at);
                    self.pop_plan(i)
                }
            }
            (Step::AskReturn, _) => Some((self.working_after(at, 20, 240), Step::DecideReturn)),
            (Step::Reply, _) => {
                let delay = SignedDuration::from_hours(self.rng.i64(18..60));
                Some((self.calling_hours(at + delay), Step::FollowUp))
            }
            (Step::FollowUp, Status::Replied) => {
                let delay = SignedDuration::from_hours(self.rng.i64(20..30));
                Some((self.calling_hours(at + delay), Step::FollowUp))
            }
            (Step::FollowUp, _) => None,
            _ => self.pop_plan(i),
        };
        if let Some((when, step)) = next {
            self.push(when.max(not_before), i, step);
        }
    }

    fn pop_plan(&mut self, i: usize) -> Option<(Timestamp, Step)> {
        let plan = &mut self.tickets[i].plan;
        let index = plan.iter().position(|(t, _)| *t != Timestamp::MIN)?;
        let (at, step) = plan[index];
        plan[index].0 = Timestamp::MIN;
        Some((at, step))
    }

    /// After signing: when the unit will contact the citizen, ask for more time, be urged, and
    /// reply, given its profile and the deadlines on the ticket.
    fn plan_handling(&mut self, i: usize, signed: Timestamp) {
        let view = self.tickets[i].view.clone();
        let Some(view) = view else { return };
        let profile = view
            .lead_unit
            .as_ref()
            .and_then(|u| self.profiles.get(&u.id))
            .copied()
            .unwrap_or(AVERAGE);
        let reply_by = view
            .reply_by
            .unwrap_or(signed + SignedDuration::from_hours(48));
        let window = reply_by.duration_since(signed).as_secs().max(3600);
        let mut plan: Vec<(Timestamp, Step)> = Vec::new();
        if self.rng.f64() < profile.contact {
            let contact = if self.round_the_clock(i) {
                signed + minutes(&mut self.rng, 3, 20)
            } else {
                self.working_after(signed, 20, 300)
            };
            plan.push((contact, Step::Contact));
            let revealable = !self.tickets[i].confidential && self.tickets[i].contact.is_some();
            if revealable && self.rng.f64() < 0.06 {
                plan.push((self.working_after(signed, 5, 19), Step::Reveal));
            }
        }
        let long = window > 3 * 86_400;
        let mut deadline = reply_by;
        if long && self.rng.f64() < profile.extension && self.tickets[i].reopened == 0 {
            let ask = signed + SignedDuration::from_secs(window / 3);
            plan.push((ask, Step::AskExtension));
            plan.push((self.working_after(ask, 30, 480), Step::DecideExtension));
            let approve = self.rng.f64() < 0.85;
            self.tickets[i].approve_extension = approve;
            if approve {
                deadline = self.registry.rules.calendar.extend(reply_by, 5);
            }
        }
        let span = deadline.duration_since(signed).as_secs().max(3600) as f64;
        let reply_at = if self.rng.f64() < profile.on_time {
            signed + SignedDuration::from_secs((span * (0.15 + 0.8 * self.rng.f64())) as i64)
        } else {
            let late = deadline + SignedDuration::from_hours(self.rng.i64(3..96));
            if self.rng.f64() < 0.7 {
                plan.push((deadline + minutes(&mut self.rng, 60, 170), Step::Urge));
                if self.rng.f64() < 0.15 {
                    plan.push((deadline + minutes(&mut self.rng, 175, 179), Step::Supervise));
                }
            }
            late
        };
        let kind = self.tickets[i].scenario.kind;
        // Units mark nearly everything they touched "solved"; only the follow-up tells.
        self.tickets[i].claim = match self.rng.f64() {
            r if r < 0.03 => ReplyClaim::CannotSolve,
            _ if kind == RequestKind::Consultation || kind == RequestKind::Suggestion => {
                ReplyClaim::Explained
            }
            r if r < 0.08 => ReplyClaim::Explained,
            _ => ReplyClaim::Solved,
        };
        plan.push((
            self.unit_time(i, reply_at)
                .max(plan.last().map(|p| p.0).unwrap_or(signed)),
            Step::Reply,
        ));
        plan.sort_by_key(|p| p.0);
        self.tickets[i].plan = plan;
    }

    fn dispatch_delay(&mut self, at: Timestamp) -> SignedDuration {
        let hour = self.registry.rules.calendar.zone().to_datetime(at).hour();
        if (7..22).contains(&hour) {
            minutes(&mut self.rng, 5, 45)
        } else {
            minutes(&mut self.rng, 30, 240)
        }
    }

    /// Urgent tiers run on the clock: their crews work nights and holidays.
    fn round_the_clock(&self, i: usize) -> bool {
        matches!(self.tickets[i].scenario.tier, "emergency" | "utility")
    }

    fn unit_time(&mut self, i: usize, at: Timestamp) -> Timestamp {
        if self.round_the_clock(i) {
            at
        } else {
            self.working(at)
        }
    }

    fn working_after(&mut self, at: Timestamp, low: i64, high: i64) -> Timestamp {
        let delay = minutes(&mut self.rng, low, high);
        self.working(at + delay)
    }

    /// The same moment if a unit works then, else shortly after the next office opening.
    fn working(&mut self, at: Timestamp) -> Timestamp {
        let calendar = &self.registry.rules.calendar;
        let policy = &self.registry.rules.policy;
        let local = calendar.zone().to_datetime(at);
        if calendar.is_working_day(local.date())
            && local.time() >= policy.office_open
            && local.time() < policy.office_close
        {
            return at;
        }
        let mut day = local.date();
        if local.time() >= policy.office_open {
            day = day.tomorrow().unwrap_or(day);
        }
        while !calendar.is_working_day(day) {
            day = day.tomorrow().unwrap_or(day);
        }
        let open = calendar
            .zone()
            .to_timestamp(day.to_datetime(policy.office_open))
            .unwrap_or(at);
        open + minutes(&mut self.rng, 0, 120)
    }

    /// Follow-up calls are made 09:00–20:00, any day.
    fn calling_hours(&mut self, at: Timestamp) -> Timestamp {
        let zone = self.registry.rules.calendar.zone().clone();
        let local = zone.to_datetime(at);
        let hour = local.hour();
        if (9..20).contains(&hour) {
            return at;
        }
        let day = if hour >= 20 {
            local.date().tomorrow().unwrap_or(local.date())
        } else {
            local.date()
        };
        zone.to_timestamp(day.to_datetime(Time::constant(9, 0, 0, 0)))
            .unwrap_or(at)
            + minutes(&mut self.rng, 0, 180)
    }
}

impl TicketSim {
    fn street_district(&self, streets: &[(UnitId, String, usize)]) -> usize {
        streets[self.street].2
    }
}

async fn execute(app: &App, planned: &Planned) -> app::AppResult<TicketView> {
    match &planned.op {
        Op::Receive(input) => {
            app.receive(&planned.actor, planned.at, (**input).clone())
                .await
        }
        Op::Act(no, TicketAction::RevealContact { reason }) => {
            app.reveal_contact(&planned.actor, planned.at, *no, reason)
                .await?;
            app.ticket(&planned.actor, planned.at, *no).await
        }
        Op::Act(no, action) => {
            app.act(&planned.actor, planned.at, *no, action.clone())
                .await
        }
    }
}

const AVERAGE: Profile = Profile {
    sign_hours: 1.5,
    on_time: 0.88,
    contact: 0.9,
    solve: 0.82,
    extension: 0.1,
};

fn profile(rng: &mut fastrand::Rng) -> Profile {
    let base = match rng.u32(0..10) {
        0..3 => Profile {
            sign_hours: 0.7,
            on_time: 0.97,
            contact: 0.97,
            solve: 0.93,
            extension: 0.05,
        },
        3..8 => AVERAGE,
        _ => Profile {
            sign_hours: 3.5,
            on_time: 0.7,
            contact: 0.75,
            solve: 0.62,
            extension: 0.2,
        },
    };
    let jitter = |rng: &mut fastrand::Rng, v: f64| (v + (rng.f64() - 0.5) * 0.06).clamp(0.0, 1.0);
    Profile {
        sign_hours: base.sign_hours * (0.7 + 0.6 * rng.f64()),
        on_time: jitter(rng, base.on_time),
        contact: jitter(rng, base.contact),
        solve: jitter(rng, base.solve),
        extension: base.extension,
    }
}

fn minutes(rng: &mut fastrand::Rng, low: i64, high: i64) -> SignedDuration {
    SignedDuration::from_mins(rng.i64(low..high))
}

fn phone(rng: &mut fastrand::Rng) -> String {
    const PREFIXES: [&str; 8] = ["138", "139", "135", "136", "186", "158", "177", "199"];
    format!(
        "{}{:08}",
        PREFIXES[rng.usize(0..PREFIXES.len())],
        rng.u32(0..100_000_000)
    )
}

fn unit(id: &str) -> UnitId {
    UnitId::parse(id).unwrap_or_else(|_| unreachable!("constant unit codes are valid"))
}
