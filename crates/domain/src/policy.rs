//! Rules a city configures: urgency tiers and their deadlines, follow-up and extension limits,
//! KPI weights. Kept in the store as an audited event; these are the defaults.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarDay, Span, WorkCalendar};
use crate::error::DomainError;
use crate::ids::TierCode;

/// Urgency tier (紧急程度): how fast a unit must sign for (签收) and reply to (答复) a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UrgencyTier {
    pub code: TierCode,
    pub name_zh: String,
    pub name_en: String,
    pub sign_within: Span,
    pub reply_within: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// IANA zone whose civil time the working calendar uses.
    pub time_zone: String,
    pub office_open: Time,
    pub office_close: Time,
    /// Ordered from most to least urgent.
    pub tiers: Vec<UrgencyTier>,
    pub follow_up: FollowUpPolicy,
    pub extension: ExtensionPolicy,
    pub kpi: KpiWeights,
    /// Limits on looking at personal data (absent from policies set before it existed).
    #[serde(default)]
    pub privacy: PrivacyPolicy,
    /// Limits that keep the disk from filling (absent from policies set before it existed).
    #[serde(default)]
    pub storage: StoragePolicy,
    /// The call measures' thresholds (absent from policies set before calls were recorded).
    #[serde(default)]
    pub calls: crate::calls::CallPolicy,
}

/// What the anonymous channels may take of the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoragePolicy {
    /// All citizens' photos together, in MiB; past it new photos are refused.
    pub photo_quota_mb: u64,
    /// Free space kept on the database's disk, in MiB: below it new requests from the citizen
    /// page and Open311, and new photos, are refused, so a commit never fails for want of space.
    pub disk_reserve_mb: u64,
}

impl Default for StoragePolicy {
    fn default() -> Self {
        Self {
            photo_quota_mb: 20 * 1024,
            disk_reserve_mb: 1024,
        }
    }
}

/// Limits on looking at what identifies a citizen, and what the privacy page flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivacyPolicy {
    /// Caller-history lookups one person may make in any hour.
    pub lookups_per_hour: u32,
    /// How long after receiving a ticket the operator who took it may still reveal its contact.
    pub operator_reveal_hours: u32,
    /// Reads within `burst_minutes` that make a burst.
    pub burst_reads: u32,
    pub burst_minutes: u32,
    /// A person whose reads in a day pass this multiple of their role's median is flagged.
    pub above_median_factor: u32,
    /// A browser session unused this long ends (its token is revoked).
    pub session_idle_minutes: u32,
}

impl Default for PrivacyPolicy {
    fn default() -> Self {
        Self {
            lookups_per_hour: 60,
            operator_reveal_hours: 4,
            burst_reads: 60,
            burst_minutes: 10,
            above_median_factor: 3,
            session_idle_minutes: 30,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpPolicy {
    /// Call-back attempts (回访) that fail to reach the citizen before the ticket closes as
    /// unreachable.
    pub max_attempts: u32,
    /// Reopens (重办) after which an unsolved follow-up closes the ticket as unsolved instead of
    /// sending it back once more; the ticket then counts against the unit's resolution rate.
    pub max_reopens: u32,
    /// How soon after a reply the centre should call back.
    pub due_within: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionPolicy {
    /// The most working days one extension (延期) may add (Shandong: 10).
    pub max_working_days: u32,
    /// How many extensions one assignment may receive.
    pub max_per_assignment: u32,
}

/// Weights (percent, summing to 100) of the composite score that ranks units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KpiWeights {
    pub response: u32,
    pub resolution: u32,
    pub satisfaction: u32,
    /// Reached follow-ups a unit needs in the period to be ranked at all.
    pub min_follow_ups: u32,
}

impl Default for Policy {
    /// Beijing's draft standard (DB11 《12345热线服务与管理规范》, 2021): feedback in 2 hours for
    /// danger to life or property, 24 hours for water/power/gas/heating, 7 days in general, 15 days
    /// for complex matters; sign-off limits are this project's defaults.
    fn default() -> Self {
        let tier = |code: &str, zh: &str, en: &str, sign, reply| UrgencyTier {
            code: TierCode::parse(code)
                .unwrap_or_else(|_| unreachable!("constant tier codes are valid")),
            name_zh: zh.to_owned(),
            name_en: en.to_owned(),
            sign_within: sign,
            reply_within: reply,
        };
        Self {
            time_zone: "Asia/Shanghai".to_owned(),
            office_open: Time::constant(9, 0, 0, 0),
            office_close: Time::constant(18, 0, 0, 0),
            tiers: vec![
                tier(
                    "emergency",
                    "紧急（危及生命财产安全）",
                    "Emergency (danger to life or property)",
                    Span::Minutes(15),
                    Span::Hours(2),
                ),
                tier(
                    "utility",
                    "水电气热",
                    "Water, power, gas, heating",
                    Span::Hours(1),
                    Span::Hours(24),
                ),
                tier(
                    "general",
                    "一般",
                    "General",
                    Span::WorkingHours(2),
                    Span::WorkingDays(7),
                ),
                tier(
                    "complex",
                    "复杂",
                    "Complex",
                    Span::WorkingHours(4),
                    Span::WorkingDays(15),
                ),
            ],
            follow_up: FollowUpPolicy {
                max_attempts: 3,
                max_reopens: 2,
                due_within: Span::WorkingDays(2),
            },
            extension: ExtensionPolicy {
                max_working_days: 10,
                max_per_assignment: 2,
            },
            kpi: KpiWeights {
                response: 10,
                resolution: 45,
                satisfaction: 45,
                min_follow_ups: 10,
            },
            privacy: PrivacyPolicy::default(),
            storage: StoragePolicy::default(),
            calls: crate::calls::CallPolicy::default(),
        }
    }
}

impl Policy {
    pub fn check(&self) -> Result<(), DomainError> {
        if self.tiers.is_empty() {
            return Err(DomainError::invalid(
                "tiers",
                "at least one urgency tier is needed",
            ));
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            if self.tiers[..i].iter().any(|t| t.code == tier.code) {
                return Err(DomainError::invalid(
                    "tiers",
                    format!("tier {} is listed twice", tier.code),
                ));
            }
            tier.sign_within.check("sign_within")?;
            tier.reply_within.check("reply_within")?;
        }
        self.follow_up.due_within.check("follow_up.due_within")?;
        if self.follow_up.max_attempts == 0 {
            return Err(DomainError::invalid(
                "follow_up.max_attempts",
                "at least one attempt is needed",
            ));
        }
        if self.extension.max_working_days == 0 {
            return Err(DomainError::invalid(
                "extension.max_working_days",
                "must be at least 1",
            ));
        }
        let k = self.kpi;
        if k.response + k.resolution + k.satisfaction != 100 {
            return Err(DomainError::invalid(
                "kpi",
                "the three weights must add up to 100",
            ));
        }
        let p = self.privacy;
        if p.lookups_per_hour == 0
            || p.burst_reads == 0
            || p.burst_minutes == 0
            || p.session_idle_minutes == 0
        {
            return Err(DomainError::invalid(
                "privacy",
                "lookups_per_hour, burst_reads, burst_minutes and session_idle_minutes must be at least 1",
            ));
        }
        if self.office_open >= self.office_close {
            return Err(DomainError::invalid(
                "office_hours",
                "office hours must open before they close",
            ));
        }
        Ok(())
    }

    pub fn tier(&self, code: &TierCode) -> Option<&UrgencyTier> {
        self.tiers.iter().find(|t| &t.code == code)
    }
}

/// Everything a decision needs besides the ticket: the policy and the working calendar.
#[derive(Clone, Debug)]
pub struct Rules {
    pub policy: Policy,
    pub calendar: WorkCalendar,
}

impl Rules {
    pub fn new(policy: Policy, zone: TimeZone, days: &[CalendarDay]) -> Result<Self, DomainError> {
        policy.check()?;
        let calendar = WorkCalendar::new(zone, days, policy.office_open, policy.office_close)?;
        Ok(Self { policy, calendar })
    }

    pub fn tier(&self, code: &TierCode) -> Result<&UrgencyTier, DomainError> {
        self.policy.tier(code).ok_or_else(|| {
            let known: Vec<_> = self.policy.tiers.iter().map(|t| t.code.as_str()).collect();
            DomainError::invalid(
                "urgency",
                format!(
                    "unknown urgency tier {code}; tiers are {}",
                    known.join(", ")
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_valid_and_checks_catch_mistakes() {
        let policy = Policy::default();
        policy.check().unwrap();
        let mut bad = policy.clone();
        bad.kpi.response = 50;
        assert!(bad.check().unwrap_err().to_string().contains("100"));
        let mut dup = policy.clone();
        dup.tiers.push(dup.tiers[0].clone());
        assert!(dup.check().unwrap_err().to_string().contains("twice"));
        let mut zero = policy;
        zero.tiers[0].reply_within = Span::Hours(0);
        assert!(zero.check().is_err());
    }
}
