//! What the supervisor's privacy page shows from a window of the access trail: each person's
//! reads and reveals, and the flags that deserve a look — far above the role's median, reads
//! outside the person's own work, bursts, lookups past the budget, refused reveals, role changes.

use std::collections::BTreeMap;

use jiff::SignedDuration;
use serde::Serialize;

use super::AccessEvent;
use crate::admin::AdminEvent;
use crate::audit::{LogEntry, LogEvent};
use crate::org::{Affiliation, Role};
use crate::policy::PrivacyPolicy;
use crate::ticket::TicketEvent;
use crate::time::LogTime;

/// One person's looks in the window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonDay {
    pub user: String,
    /// The roles and organisation of their latest look.
    pub roles: Vec<Role>,
    pub affiliation: Option<Affiliation>,
    /// Looks that showed tickets: details, timelines, photos, pages of tickets, caller lookups.
    pub reads: u32,
    /// Distinct tickets those looks showed.
    pub tickets_seen: u32,
    pub reveals: u32,
    pub refused_reveals: u32,
    /// Ticket reads outside the person's own work (see `in_queue`).
    pub outside_queue: u32,
    pub lookups: u32,
    pub refused_lookups: u32,
    /// The most reads within any `burst_minutes`.
    pub busiest_burst: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    /// Far more reads than others in the same role.
    AboveRoleMedian {
        user: String,
        role: Role,
        reads: u32,
        median: u32,
    },
    /// Read tickets that were not in their own work.
    OutsideQueue { user: String, reads: u32 },
    /// Many reads in a short time.
    Burst {
        user: String,
        reads: u32,
        minutes: u32,
    },
    /// Caller lookups refused because the budget was spent (or another number in one intake).
    LookupsRefused { user: String, refused: u32 },
    /// Reveals asked for and refused.
    RevealsRefused { user: String, refused: u32 },
    /// An account was created or changed: the roles in force, and those awaiting approval.
    RoleChange {
        user: String,
        by: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        at: LogTime,
        roles: Vec<Role>,
        awaiting_approval: Vec<Role>,
        affiliation: Affiliation,
    },
    /// A supervisor approved or refused roles an administrator asked for.
    RolesDecided {
        user: String,
        by: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        at: LogTime,
        roles: Vec<Role>,
        approved: bool,
    },
}

impl Flag {
    /// The person the flag is about.
    pub fn user(&self) -> &str {
        match self {
            Self::AboveRoleMedian { user, .. }
            | Self::OutsideQueue { user, .. }
            | Self::Burst { user, .. }
            | Self::LookupsRefused { user, .. }
            | Self::RevealsRefused { user, .. }
            | Self::RoleChange { user, .. }
            | Self::RolesDecided { user, .. } => user,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrivacyReport {
    /// Everyone who looked, most reads first.
    pub people: Vec<PersonDay>,
    pub flags: Vec<Flag>,
}

/// Reads a window of the trail (entries oldest first, as `Store::access_trail` gives them).
pub fn privacy_report(entries: &[LogEntry], policy: &PrivacyPolicy) -> PrivacyReport {
    let mut people: BTreeMap<String, PersonDay> = BTreeMap::new();
    let mut seen: BTreeMap<String, std::collections::BTreeSet<i64>> = BTreeMap::new();
    let mut read_times: BTreeMap<String, Vec<LogTime>> = BTreeMap::new();
    let mut flags = Vec::new();
    for entry in entries {
        let person = || PersonDay {
            user: entry.actor.clone(),
            ..PersonDay::default()
        };
        match &entry.event {
            LogEvent::Access(access) => {
                // A failed login is the administrators' concern, not a look at anyone's data.
                let Some(seat) = access.seat() else {
                    continue;
                };
                let p = people.entry(entry.actor.clone()).or_insert_with(person);
                p.roles = seat.roles.clone();
                p.affiliation = Some(seat.affiliation.clone());
                match access {
                    AccessEvent::LookupRefused { .. } => p.refused_lookups += 1,
                    AccessEvent::RevealRefused { .. } => p.refused_reveals += 1,
                    AccessEvent::TicketRead { in_queue, .. } => {
                        p.reads += 1;
                        p.outside_queue += u32::from(!in_queue);
                    }
                    AccessEvent::CallerLookedUp { .. } => {
                        p.reads += 1;
                        p.lookups += 1;
                    }
                    AccessEvent::TicketsListed { .. } => p.reads += 1,
                    AccessEvent::LoginFailed { .. } => {}
                }
                if matches!(
                    access,
                    AccessEvent::TicketRead { .. }
                        | AccessEvent::TicketsListed { .. }
                        | AccessEvent::CallerLookedUp { .. }
                ) {
                    read_times
                        .entry(entry.actor.clone())
                        .or_default()
                        .push(entry.at);
                    seen.entry(entry.actor.clone())
                        .or_default()
                        .extend(access.tickets().iter().map(|t| t.to_storage()));
                }
            }
            LogEvent::Ticket(TicketEvent::ContactRevealed { .. }) => {
                people
                    .entry(entry.actor.clone())
                    .or_insert_with(person)
                    .reveals += 1;
            }
            LogEvent::Admin(
                AdminEvent::UserCreated {
                    user,
                    awaiting_approval,
                }
                | AdminEvent::UserUpdated {
                    user,
                    awaiting_approval,
                },
            ) => {
                flags.push(Flag::RoleChange {
                    user: user.id.to_string(),
                    by: entry.actor.clone(),
                    at: entry.at,
                    roles: user.roles.iter().copied().collect(),
                    awaiting_approval: awaiting_approval.clone(),
                    affiliation: user.affiliation.clone(),
                });
            }
            LogEvent::Admin(AdminEvent::RolesDecided {
                user,
                roles,
                approved,
            }) => {
                flags.push(Flag::RolesDecided {
                    user: user.to_string(),
                    by: entry.actor.clone(),
                    at: entry.at,
                    roles: roles.clone(),
                    approved: *approved,
                });
            }
            _ => {}
        }
    }
    let window = SignedDuration::from_mins(i64::from(policy.burst_minutes));
    for (user, times) in &read_times {
        if let Some(p) = people.get_mut(user) {
            p.busiest_burst = busiest(times, window);
            p.tickets_seen = seen.get(user).map_or(0, |s| s.len() as u32);
        }
    }
    flags.extend(person_flags(&people, policy));
    let mut people: Vec<PersonDay> = people.into_values().collect();
    people.sort_by(|a, b| b.reads.cmp(&a.reads).then_with(|| a.user.cmp(&b.user)));
    PrivacyReport { people, flags }
}

fn person_flags<'a>(
    people: &'a BTreeMap<String, PersonDay>,
    policy: &'a PrivacyPolicy,
) -> impl Iterator<Item = Flag> + 'a {
    let mut by_role: BTreeMap<Role, Vec<u32>> = BTreeMap::new();
    for p in people.values() {
        if let Some(role) = p.roles.first() {
            by_role.entry(*role).or_default().push(p.reads);
        }
    }
    let medians: BTreeMap<Role, u32> = by_role
        .into_iter()
        .map(|(role, mut reads)| {
            reads.sort_unstable();
            (role, reads[reads.len() / 2])
        })
        .collect();
    people.values().flat_map(move |p| {
        let mut flags = Vec::new();
        if let Some(role) = p.roles.first()
            && let Some(&median) = medians.get(role)
            // With a median of a handful, a few extra reads are not a pattern.
            && p.reads > median.max(10) * policy.above_median_factor
        {
            flags.push(Flag::AboveRoleMedian {
                user: p.user.clone(),
                role: *role,
                reads: p.reads,
                median,
            });
        }
        if p.outside_queue > 0 {
            flags.push(Flag::OutsideQueue {
                user: p.user.clone(),
                reads: p.outside_queue,
            });
        }
        if p.busiest_burst >= policy.burst_reads {
            flags.push(Flag::Burst {
                user: p.user.clone(),
                reads: p.busiest_burst,
                minutes: policy.burst_minutes,
            });
        }
        if p.refused_lookups > 0 {
            flags.push(Flag::LookupsRefused {
                user: p.user.clone(),
                refused: p.refused_lookups,
            });
        }
        if p.refused_reveals > 0 {
            flags.push(Flag::RevealsRefused {
                user: p.user.clone(),
                refused: p.refused_reveals,
            });
        }
        flags
    })
}

/// The most times within any window of `width` (times oldest first).
fn busiest(times: &[LogTime], width: SignedDuration) -> u32 {
    let mut most = 0;
    let mut start = 0;
    for (end, at) in times.iter().enumerate() {
        while at.timestamp() - times[start].timestamp() >= width {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    most as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{LookupContext, LookupRefusal, ReadPart, Seat};
    use crate::ids::TicketNo;
    use crate::org::Actor;
    use crate::ticket::tests::fixture::{actor, operator};

    fn at(minute: i64) -> LogTime {
        LogTime::from_millisecond(1_795_658_400_000 + minute * 60_000).unwrap()
    }

    fn entry(who: &Actor, minute: i64, event: LogEvent) -> LogEntry {
        LogEntry {
            seq: 0,
            at: at(minute),
            actor: who.id.to_string(),
            ticket: None,
            event,
        }
    }

    fn read(who: &Actor, minute: i64, ticket: u32, in_queue: bool) -> LogEntry {
        let ticket = TicketNo::parse(&format!("261126{:05}", ticket + 1)).unwrap();
        entry(
            who,
            minute,
            LogEvent::Access(AccessEvent::TicketRead {
                ticket,
                part: ReadPart::Detail,
                seat: Seat::of(who),
                in_queue,
            }),
        )
    }

    #[test]
    fn the_page_flags_what_a_supervisor_should_look_at() {
        let policy = PrivacyPolicy {
            burst_reads: 20,
            burst_minutes: 10,
            ..PrivacyPolicy::default()
        };
        let ordinary: Vec<Actor> = ["op-a", "op-b", "op-c"]
            .into_iter()
            .map(|name| actor(name, Role::Operator, Affiliation::Contractor))
            .collect();
        let nosy = operator();
        let mut entries = Vec::new();
        for (i, who) in ordinary.iter().enumerate() {
            for n in 0..12 {
                entries.push(read(who, n * 30, (i * 100 + n as usize) as u32, true));
            }
        }
        // 200 reads in a few minutes, most of them not the operator's own tickets.
        for n in 0..200 {
            entries.push(read(&nosy, 600 + n / 40, 1000 + n as u32, n % 10 == 0));
        }
        entries.push(entry(
            &nosy,
            700,
            LogEvent::Access(AccessEvent::LookupRefused {
                phone_index: "0".repeat(64),
                context: LookupContext::Intake { intake: "i".into() },
                refusal: LookupRefusal::BudgetSpent { per_hour: 60 },
                seat: Seat::of(&nosy),
            }),
        ));
        let report = privacy_report(&entries, &policy);
        assert_eq!(report.people[0].user, "op");
        assert_eq!(report.people[0].reads, 200);
        assert_eq!(report.people[0].tickets_seen, 200);
        assert_eq!(report.people[0].outside_queue, 180);
        let about_nosy: Vec<&str> = report
            .flags
            .iter()
            .filter(|f| f.user() == "op")
            .map(|f| match f {
                Flag::AboveRoleMedian { .. } => "median",
                Flag::OutsideQueue { .. } => "outside",
                Flag::Burst { .. } => "burst",
                Flag::LookupsRefused { .. } => "lookups",
                Flag::RevealsRefused { .. } => "reveals",
                Flag::RoleChange { .. } | Flag::RolesDecided { .. } => "role",
            })
            .collect();
        assert_eq!(about_nosy, ["median", "outside", "burst", "lookups"]);
        assert!(
            report.flags.iter().all(|f| f.user() == "op"),
            "ordinary work raises no flag: {:?}",
            report.flags
        );
    }

    #[test]
    fn a_burst_is_counted_in_a_sliding_window() {
        let times: Vec<LogTime> = [0, 1, 2, 9, 10, 11, 30].into_iter().map(at).collect();
        assert_eq!(busiest(&times, SignedDuration::from_mins(10)), 4);
        assert_eq!(busiest(&[], SignedDuration::from_mins(10)), 0);
    }
}
