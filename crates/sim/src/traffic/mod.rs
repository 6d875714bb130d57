//! Days of hotline traffic as a discrete-event simulation. Arrivals follow hour-of-day and
//! weekday patterns; each ticket then moves through the real use cases — dispatch (sometimes to the
//! wrong unit), sign, contact, extension, urging, reply, follow-up, reopen, merge — at times drawn
//! from each unit's behaviour profile.
//!
//! Events are processed in rounds of a few simulated minutes: everything due in a round is
//! submitted concurrently (the store commits it in groups), then the next steps are scheduled.

mod steps;
mod timing;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use app::App;
use app::tickets::NewTicketInput;
use app::views::TicketView;
use domain::ids::{TicketNo, UnitId};
use domain::org::Actor;
use domain::privacy::Contact;
use domain::ticket::Status as TicketStatus;
use domain::ticket::{Channel, ReplyClaim, Status, TicketAction};
use jiff::civil::{Date, Time, Weekday};
use jiff::{SignedDuration, Timestamp};
use store::Registry;

use crate::city::City;
use crate::scenarios::{Route, SCENARIOS, Scenario};

use timing::{AVERAGE, Profile, phone, profile};

/// The most commands submitted at once: well under the writer's queue (`store::QUEUE_CAPACITY`).
const IN_FLIGHT: usize = 2048;
const _: () = assert!(IN_FLIGHT < store::QUEUE_CAPACITY);

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
    /// What the last committed step left: status, lead unit, reply deadline.
    seen: Option<Seen>,
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

#[derive(Clone, Debug)]
struct Seen {
    status: TicketStatus,
    lead: Option<UnitId>,
    reply_by: Option<Timestamp>,
}

/// The simulated tickets by their place in arrival order. A finished ticket is forgotten (its
/// slot emptied), so a year of traffic holds only the tickets still open.
#[derive(Default)]
struct Tickets(Vec<Option<Box<TicketSim>>>);

impl Tickets {
    fn push(&mut self, ticket: TicketSim) {
        self.0.push(Some(Box::new(ticket)));
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, i: usize) -> Option<&TicketSim> {
        self.0.get(i).and_then(|t| t.as_deref())
    }

    fn forget(&mut self, i: usize) {
        if let Some(slot) = self.0.get_mut(i) {
            *slot = None;
        }
    }

    fn live(&self) -> impl Iterator<Item = &TicketSim> {
        self.0.iter().filter_map(|t| t.as_deref())
    }
}

/// Only tickets still open are indexed: `plan` and `after` drop a step for a forgotten one
/// before any other code looks it up.
impl std::ops::Index<usize> for Tickets {
    type Output = TicketSim;

    fn index(&self, i: usize) -> &TicketSim {
        self.get(i)
            .unwrap_or_else(|| unreachable!("ticket {i} was forgotten while a step was due"))
    }
}

impl std::ops::IndexMut<usize> for Tickets {
    fn index_mut(&mut self, i: usize) -> &mut TicketSim {
        self.0
            .get_mut(i)
            .and_then(|t| t.as_deref_mut())
            .unwrap_or_else(|| unreachable!("ticket {i} was forgotten while a step was due"))
    }
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
    tickets: Tickets,
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
            tickets: Tickets::default(),
            agenda: BinaryHeap::new(),
            counter: 0,
            frequent_callers,
            summary: TrafficSummary::default(),
        }
    }

    /// Simulates from `start` up to (not including) `end`, `per_day` requests on an average
    /// weekday.
    pub async fn run(mut self, start: Timestamp, end: Timestamp, per_day: u32) -> TrafficSummary {
        let registry = self.registry.clone();
        let calendar = &registry.rules.calendar;
        let (mut next_day, last_day) = (calendar.local_date(start), calendar.local_date(end));
        loop {
            // Arrivals are scheduled a day at a time, just ahead of the clock, so a year of
            // traffic never holds more than a day of tickets not yet arrived.
            while next_day <= last_day
                && self.agenda.peek().is_none_or(|Reverse((first, ..))| {
                    midnight(calendar, next_day).is_none_or(|m| m < *first + ROUND)
                })
            {
                if self.summary.commands > 0 && next_day.weekday() == Weekday::Monday {
                    tracing::info!(
                        day = %next_day,
                        tickets = self.summary.tickets,
                        commands = self.summary.commands,
                        refused = self.summary.refused,
                        "simulating another week"
                    );
                }
                self.schedule_arrivals(next_day, start, end, per_day);
                let Ok(next) = next_day.tomorrow() else { break };
                next_day = next;
            }
            let Some(Reverse((first, ..))) = self.agenda.peek().copied() else {
                break;
            };
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
            // Submitted concurrently (the store commits them in groups), but never more at once
            // than the writer's queue holds: past that it refuses instead of waiting.
            let mut results = Vec::with_capacity(planned.len());
            for chunk in planned.chunks(IN_FLIGHT) {
                results
                    .extend(futures::future::join_all(chunk.iter().map(|p| execute(app, p))).await);
            }
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
            .live()
            .filter(|t| t.seen.as_ref().is_some_and(|v| !v.status.is_terminal()))
            .count() as u64;
        self.summary
    }

    fn push(&mut self, at: Timestamp, ticket: usize, step: Step) {
        self.counter += 1;
        self.agenda
            .push(Reverse((at, self.counter, ticket, StepKey::of(step))));
    }

    /// Schedules the arrivals of civil day `day` that fall in `[start, end)`.
    fn schedule_arrivals(&mut self, day: Date, start: Timestamp, end: Timestamp, per_day: u32) {
        const HOURS: [f64; 24] = [
            1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 3.0, 6.0, 8.0, 8.5, 8.0, 6.0, 5.5, 7.0, 7.5, 7.0,
            6.0, 5.0, 4.5, 4.0, 3.2, 2.4, 1.6,
        ];
        let total: f64 = HOURS.iter().sum();
        let registry = self.registry.clone();
        let calendar = &registry.rules.calendar;
        let zone = calendar.zone().clone();
        {
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
            seen: None,
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

    /// Records what a committed step did and schedules the ticket's next one.
    fn after(&mut self, planned: &Planned, view: TicketView, not_before: Timestamp) {
        let i = planned.ticket;
        let at = planned.at;
        // Two steps of one ticket can commit in one round; once the first finished it, the
        // ticket is forgotten and the second has nothing to schedule.
        if self.tickets.get(i).is_none() {
            return;
        }
        if self.tickets[i].no.is_none() {
            self.summary.tickets += 1;
            self.tickets[i].no = TicketNo::parse(&view.no).ok();
        }
        let status = view.status;
        self.tickets[i].seen = Some(Seen {
            status,
            lead: view.lead_unit.as_ref().map(|u| u.id.clone()),
            reply_by: view.reply_by,
        });
        let next = match (planned.step, status) {
            (_, s) if s.is_terminal() => {
                self.tickets.forget(i);
                None
            }
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
                let unit = self.tickets[i].seen.as_ref().and_then(|v| v.lead.clone());
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
        Op::Act(no, TicketAction::RevealContact { purpose, reason }) => {
            app.reveal_contact(&planned.actor, planned.at, *no, *purpose, reason)
                .await?;
            app.ticket(&planned.actor, planned.at, *no).await
        }
        Op::Act(no, action) => {
            app.act(&planned.actor, planned.at, *no, action.clone())
                .await
        }
    }
}

fn midnight(calendar: &domain::calendar::WorkCalendar, day: Date) -> Option<Timestamp> {
    calendar
        .zone()
        .to_timestamp(day.to_datetime(Time::midnight()))
        .ok()
}

pub(super) fn minutes(rng: &mut fastrand::Rng, low: i64, high: i64) -> SignedDuration {
    SignedDuration::from_mins(rng.i64(low..high))
}

pub(super) fn unit(id: &str) -> UnitId {
    UnitId::parse(id).unwrap_or_else(|_| unreachable!("constant unit codes are valid"))
}
