//! Turning a due step into a concrete command, as the person who would take it.

use app::tickets::NewTicketInput;
use domain::ids::{CategoryCode, TierCode, UnitId};
use domain::org::Actor;
use domain::ticket::{EmergencyService, FollowUpOutcome, ReplyClaim, Satisfaction, TicketAction};
use jiff::Timestamp;

use crate::city::{DEPARTMENTS, district_unit};
use crate::scenarios::{CANNOT_SOLVE, COMPOUNDS, ROADS};

use super::{AVERAGE, Op, Planned, Step, Traffic, unit};

impl Traffic<'_> {
    pub(super) fn actor(&self, name: &str) -> Actor {
        self.actors
            .get(name)
            .cloned()
            .unwrap_or_else(|| Actor::system("demo"))
    }

    pub(super) fn one_of(&mut self, names: &[&str]) -> Actor {
        let name = names[self.rng.usize(0..names.len())];
        self.actor(name)
    }

    pub(super) fn handler(&mut self, unit: &UnitId) -> Actor {
        let role = if self.rng.f64() < 0.8 { "h" } else { "m" };
        self.actor(&format!("{role}-{unit}"))
    }

    pub(super) fn text(&mut self, template: &str, street: usize) -> String {
        template
            .replace("{road}", ROADS[self.rng.usize(0..ROADS.len())])
            .replace("{compound}", COMPOUNDS[self.rng.usize(0..COMPOUNDS.len())])
            .replace("{street}", &self.streets[street].1)
            .replace("{no}", &self.rng.u32(1..300).to_string())
            .replace("{days}", &self.rng.u32(2..8).to_string())
    }

    /// Turns a due step into a concrete command, or drops it when the ticket has moved on.
    pub(super) fn plan(&mut self, ticket: usize, step: Step, at: Timestamp) -> Option<Planned> {
        let dispatchers = ["dispatcher", "dispatcher2"];
        // A finished ticket is forgotten; a step still due for it has nothing to do.
        let t = self.tickets.get(ticket)?;
        let scenario = t.scenario;
        let street = t.street;
        let no = t.no;
        let lead = t.seen.as_ref().and_then(|v| v.lead.clone());
        let (actor, op) = match step {
            Step::Arrive => {
                // A few callers report what someone reported shortly before: the dispatcher will
                // merge them.
                let duplicate_of = (self.rng.f64() < 0.05)
                    .then(|| {
                        (ticket.saturating_sub(300)..ticket)
                            .rev()
                            .filter_map(|i| self.tickets.get(i).map(|other| (i, other)))
                            .find(|(_, other)| {
                                std::ptr::eq(other.scenario, scenario)
                                    && other.street == street
                                    && other.seen.as_ref().is_some_and(|v| !v.status.is_terminal())
                            })
                    })
                    .flatten()
                    .map(|(i, _)| i);
                self.tickets[ticket].duplicate_of = duplicate_of;
                let t = &self.tickets[ticket];
                let duplicate = t.duplicate_of.is_some();
                let template =
                    scenario.descriptions[self.rng.usize(0..scenario.descriptions.len())];
                let mut description = self.text(template, street);
                // One caller in twenty gives a second number in their own words, as people do;
                // it is masked and sealed like the contact. (Drawn from the ticket's place, not
                // the random stream, so the rest of the city stays as it was.)
                if ticket % 20 == 7 {
                    let other = (ticket as u64).wrapping_mul(7_919) % 100_000_000;
                    description += &format!("。白天请打139{other:08}");
                }
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
                    attributes: Default::default(),
                    media_url: None,
                    citizen_code: None,
                    public: false,
                    photo: None,
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
                let target = self.tickets.get(t.duplicate_of?)?.no?;
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
                        purpose: domain::permission::RevealPurpose::ContactCitizen,
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

    pub(super) fn follow_up_outcome(&mut self, ticket: usize) -> FollowUpOutcome {
        if self.rng.f64() > 0.88 {
            return FollowUpOutcome::NotReached;
        }
        let t = &self.tickets[ticket];
        let profile = t
            .seen
            .as_ref()
            .and_then(|v| v.lead.as_ref())
            .and_then(|u| self.profiles.get(u))
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
}
