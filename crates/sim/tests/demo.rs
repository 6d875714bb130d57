//! The demo city builds through the real use cases and yields realistic, non-trivial figures.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly; that is their job.

use std::collections::BTreeMap;
use std::sync::Arc;

use app::App;
use app::clock::ManualClock;
use app::kpi::KpiSource;
use app::vault::Vault;
use domain::ids::CategoryCode;
use domain::kpi::Period;
use domain::org::{Actor, Affiliation, Role};
use jiff::{SignedDuration, Timestamp};
use sim::DemoOptions;
use store::sqlite::{SqliteOptions, SqliteStore};
use store::{Store, TicketQuery};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_demo_traffic_touches_every_part_of_the_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path().join("demo.db"), SqliteOptions::default()).unwrap());
    let now = Timestamp::from_second(1_795_658_400).unwrap(); // 2026-11-26 10:00 Beijing
    let app = App::new(
        store.clone(),
        Arc::new(Vault::generate().unwrap()),
        Arc::new(ManualClock::new(now)),
    );
    let summary = sim::build(
        &app,
        now,
        &DemoOptions {
            days: 7,
            per_day: 120,
            seed: 7,
        },
    )
    .await
    .unwrap();

    assert_eq!(
        summary.traffic.refused, 0,
        "the simulator planned a step the domain refused"
    );
    assert!(summary.traffic.tickets > 500, "{summary:?}");
    assert!(summary.traffic.still_open > 20, "{summary:?}");
    assert!(sim::is_built(&app));
    assert!(
        sim::build(&app, now, &DemoOptions::default())
            .await
            .is_err(),
        "a second demo city is refused"
    );

    // Tickets stand in every open status, and finished ones ended every way.
    let tickets = store
        .tickets(TicketQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut statuses = BTreeMap::new();
    for t in &tickets {
        *statuses.entry(t.status.as_str()).or_insert(0) += 1;
    }
    for status in [
        "pending_dispatch",
        "dispatched",
        "in_progress",
        "replied",
        "closed",
        "merged",
    ] {
        assert!(
            statuses.contains_key(status),
            "no ticket is {status}: {statuses:?}"
        );
    }
    let kinds: std::collections::BTreeSet<_> = tickets
        .iter()
        .flat_map(|t| t.assignments.iter().map(|a| format!("{:?}", a.cause)))
        .collect();
    assert!(
        kinds.contains("Redispatch") && kinds.contains("Reopen"),
        "{kinds:?}"
    );

    // The record is intact and both ways of counting agree on non-trivial figures.
    assert!(store.verify_log(None).await.unwrap().is_ok());
    let period = Period {
        start: now - SignedDuration::from_hours(24 * 8),
        end: now + SignedDuration::from_hours(1),
    };
    let supervisor = Actor {
        id: domain::org::ActorId::System("test"),
        affiliation: Affiliation::Centre,
        roles: [Role::Supervisor].into(),
    };
    let from_log = app
        .kpi_counts(&supervisor, period, KpiSource::Log)
        .await
        .unwrap();
    let from_tickets = app
        .kpi_counts(&supervisor, period, KpiSource::Projections)
        .await
        .unwrap();
    assert_eq!(from_log, from_tickets);
    let totals = from_log.units.values().fold((0, 0, 0, 0, 0), |acc, c| {
        (
            acc.0 + c.follow_ups_reached,
            acc.1 + c.solved,
            acc.2 + c.claimed_solved,
            acc.3 + c.return_requests,
            acc.4 + c.extensions_approved,
        )
    });
    let (reached, solved, claimed, returns, extensions) = totals;
    assert!(
        reached > 50 && solved < reached && claimed > 0,
        "{totals:?}"
    );
    assert!(returns > 0 && extensions > 0, "{totals:?}");
    assert!(
        from_log.hotline.answered_on_call > 20,
        "{:?}",
        from_log.hotline
    );
    assert!(store.rebuild().await.unwrap().differing.is_empty());
    store.close().await;
}

#[test]
fn every_scenario_files_under_a_level_three_category_of_the_shipped_taxonomy() {
    let (taxonomy, _) = app::shipped::taxonomy().unwrap();
    for scenario in sim::scenarios::SCENARIOS {
        let code = CategoryCode::parse(scenario.category).unwrap();
        let category = taxonomy
            .get(&code)
            .unwrap_or_else(|| panic!("{} is not in the taxonomy", scenario.category));
        assert_eq!(category.level(), 3, "{}", scenario.title);
    }
}
