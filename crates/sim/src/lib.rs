//! The demo city: a fictional city with its units and people (`city`), what its citizens call
//! about (`scenarios`), and days of traffic run through the real use cases (`traffic`), so every
//! figure on a dashboard comes from the same code paths a real centre uses.
//!
//! Invariant: the simulator only calls `app` use cases; it never writes to the store directly.

pub mod city;
pub mod scenarios;
pub mod traffic;

use app::{App, AppError, AppResult};
use domain::org::Actor;
use jiff::{SignedDuration, Timestamp};

pub use city::{City, DEMO_PASSWORD};
pub use traffic::TrafficSummary;

#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Days of traffic, ending now.
    pub days: u32,
    /// Requests on an average weekday.
    pub per_day: u32,
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            days: 30,
            per_day: 400,
            seed: 12345,
        }
    }
}

#[derive(Clone, Debug)]
pub struct DemoSummary {
    pub units: usize,
    pub users: usize,
    pub traffic: TrafficSummary,
    pub from: Timestamp,
    pub to: Timestamp,
}

/// Whether the store already holds the demo city.
pub fn is_built(app: &App) -> bool {
    app.registry().units.keys().any(|u| u.as_str() == "city")
}

/// Builds the demo city in an empty store and simulates `days` of traffic up to `now`.
pub async fn build(app: &App, now: Timestamp, options: &DemoOptions) -> AppResult<DemoSummary> {
    if is_built(app) {
        return Err(AppError::Conflict(
            "this database already holds the demo city; use a new --db path for a fresh one".into(),
        ));
    }
    let from = now - SignedDuration::from_hours(24 * i64::from(options.days));
    // Everything about the city predates its traffic.
    let city = build_city(app, from - SignedDuration::from_hours(1)).await?;
    let traffic = traffic::Traffic::new(app, &city, options.seed)
        .run(from, now, options.per_day)
        .await;
    // The simulated citizens were told at the time; nothing of the past is sent now.
    app.expire_notifications(
        now + SignedDuration::from_millis(1),
        "demo: simulated history, not sent",
    )
    .await?;
    Ok(DemoSummary {
        units: city.units.len(),
        users: city.users.len(),
        traffic,
        from,
        to: now,
    })
}

/// Sets up the demo city's divisions, units and people (password [`DEMO_PASSWORD`]) at `at`,
/// without any traffic: the starting point for tests and benchmarks.
pub async fn build_city(app: &App, at: Timestamp) -> AppResult<City> {
    app.initialise(at).await?;
    let city = City::build();
    let admin = Actor::system("demo");
    let source = "demo city (fictional province code 99)";
    app.register_divisions(&admin, at, source, city.divisions.clone())
        .await?;
    for unit in &city.units {
        app.create_unit(&admin, at, unit.clone()).await?;
    }
    // One hash for every demo account: they share a password anyway, and hashing 150 times would
    // only slow the demo down.
    let hash = app::auth::hash_password(DEMO_PASSWORD)?;
    for user in &city.users {
        app.create_user_with_hash(&admin, at, user.clone(), hash.clone())
            .await?;
    }
    Ok(city)
}
