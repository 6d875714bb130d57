//! When people act: each unit's behaviour profile, office hours, calling hours, and the plan a
//! unit follows once it has signed for a ticket.

use domain::privacy::Contact;
use domain::ticket::{ReplyClaim, RequestKind};
use jiff::civil::Time;
use jiff::{SignedDuration, Timestamp};

use crate::scenarios::COMPOUNDS;

use super::{Step, Traffic, minutes};

/// How a unit works. Drawn once per unit, so units rank differently.
#[derive(Clone, Copy, Debug)]
pub(super) struct Profile {
    /// Mean working hours from dispatch to signing.
    pub(super) sign_hours: f64,
    pub(super) on_time: f64,
    pub(super) contact: f64,
    pub(super) solve: f64,
    pub(super) extension: f64,
}

impl Traffic<'_> {
    pub(super) fn contact(&mut self, street: usize) -> Option<Contact> {
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

    /// After signing: when the unit will contact the citizen, ask for more time, be urged, and
    /// reply, given its profile and the deadlines on the ticket.
    pub(super) fn plan_handling(&mut self, i: usize, signed: Timestamp) {
        let Some(seen) = self.tickets[i].seen.clone() else {
            return;
        };
        let profile = seen
            .lead
            .as_ref()
            .and_then(|u| self.profiles.get(u))
            .copied()
            .unwrap_or(AVERAGE);
        let reply_by = seen
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
                // Supervision (督办) stays on a ticket once put there, reopened or not.
                if self.rng.f64() < 0.15 && self.tickets[i].reopened == 0 {
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

    pub(super) fn dispatch_delay(&mut self, at: Timestamp) -> SignedDuration {
        let hour = self.registry.rules.calendar.zone().to_datetime(at).hour();
        if (7..22).contains(&hour) {
            minutes(&mut self.rng, 5, 45)
        } else {
            minutes(&mut self.rng, 30, 240)
        }
    }

    /// Urgent tiers run on the clock: their crews work nights and holidays.
    pub(super) fn round_the_clock(&self, i: usize) -> bool {
        matches!(self.tickets[i].scenario.tier, "emergency" | "utility")
    }

    pub(super) fn unit_time(&mut self, i: usize, at: Timestamp) -> Timestamp {
        if self.round_the_clock(i) {
            at
        } else {
            self.working(at)
        }
    }

    pub(super) fn working_after(&mut self, at: Timestamp, low: i64, high: i64) -> Timestamp {
        let delay = minutes(&mut self.rng, low, high);
        self.working(at + delay)
    }

    /// The same moment if a unit works then, else shortly after the next office opening.
    pub(super) fn working(&mut self, at: Timestamp) -> Timestamp {
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
    pub(super) fn calling_hours(&mut self, at: Timestamp) -> Timestamp {
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

pub(super) const AVERAGE: Profile = Profile {
    sign_hours: 1.5,
    on_time: 0.88,
    contact: 0.9,
    solve: 0.82,
    extension: 0.1,
};

pub(super) fn profile(rng: &mut fastrand::Rng) -> Profile {
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

pub(super) fn phone(rng: &mut fastrand::Rng) -> String {
    const PREFIXES: [&str; 8] = ["138", "139", "135", "136", "186", "158", "177", "199"];
    format!(
        "{}{:08}",
        PREFIXES[rng.usize(0..PREFIXES.len())],
        rng.u32(0..100_000_000)
    )
}
