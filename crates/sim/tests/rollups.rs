//! The KPI rollups, kept by the writer in the same transaction as the events, always equal the
//! counts recomputed from the log alone: a property over random days of demo traffic (dispatches,
//! returns, extensions, reopens, merges, answered-on-call, concurrent commands on one ticket in
//! one batch), on both backends, for every day and for the whole span.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly; that is their job.

use std::sync::Arc;

use app::App;
use app::clock::ManualClock;
use app::vault::Vault;
use domain::kpi::Period;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use sim::DemoOptions;
use store::Store;
use store::postgres::{PgOptions, PgStore, Scratch};
use store::sqlite::{SqliteOptions, SqliteStore};

const URL_VARIABLE: &str = "MINSHENG_TEST_POSTGRES_URL";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

fn check(backend: Backend, seed: u64, days: u32, per_day: u32, hour: i64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut scratch: Option<Scratch> = None;
        let store: Arc<dyn Store> = match backend {
            Backend::Sqlite => Arc::new(
                SqliteStore::open(dir.path().join("rollups.db"), SqliteOptions::default()).unwrap(),
            ),
            Backend::Postgres => {
                let base = std::env::var(URL_VARIABLE).ok().filter(|u| !u.is_empty());
                if base.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("CI=true but {URL_VARIABLE} is not set");
                }
                let Some(base) = base else { return };
                let schema = Scratch::create(&base).await.unwrap();
                let store = PgStore::open(&schema.url(), PgOptions::default())
                    .await
                    .unwrap();
                scratch = Some(schema);
                Arc::new(store)
            }
        };
        // 2026-11-26 00:00 Beijing, plus an hour of the day, so traffic starts mid-day.
        let now = Timestamp::from_second(1_795_622_400).unwrap() + SignedDuration::from_hours(hour);
        let app = App::new(
            store.clone(),
            Arc::new(Vault::generate().unwrap()),
            Arc::new(ManualClock::new(now)),
        );
        let options = DemoOptions {
            days,
            per_day,
            seed,
        };
        let summary = sim::build(&app, now, &options).await.unwrap();
        assert_eq!(summary.traffic.refused, 0);

        let calendar = &store.registry().rules.calendar;
        let zone = calendar.zone().clone();
        let midnight = |d: jiff::civil::Date| {
            zone.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .unwrap()
        };
        let (first, last) = (
            calendar.local_date(summary.from),
            calendar.local_date(summary.to),
        );
        let mut periods = vec![Period {
            start: midnight(first),
            end: midnight(last.tomorrow().unwrap()),
        }];
        let mut day = first;
        while day <= last {
            let next = day.tomorrow().unwrap();
            periods.push(Period {
                start: midnight(day),
                end: midnight(next),
            });
            day = next;
        }
        let rolled_up = store.kpi_from_rollups(periods.clone()).await.unwrap();
        for (period, counts) in periods.iter().zip(&rolled_up) {
            let from_log = store.kpi_from_log(*period).await.unwrap();
            assert_eq!(*counts, from_log, "{backend:?} seed {seed}: {period:?}");
        }
        let all = &rolled_up[0];
        assert!(all.hotline.received >= summary.traffic.tickets);
        assert!(all.units.values().any(|c| c.dispatched > 0 && c.signed > 0));
        let report = store.rebuild().await.unwrap();
        assert!(report.rollup_days.is_empty(), "{:?}", report.rollup_days);
        store.close().await;
        drop(scratch);
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn rollups_equal_the_log_on_sqlite(
        seed in any::<u64>(), days in 2u32..6, per_day in 20u32..120, hour in 0i64..24,
    ) {
        check(Backend::Sqlite, seed, days, per_day, hour);
    }

    #[test]
    fn rollups_equal_the_log_on_postgres(
        seed in any::<u64>(), days in 2u32..6, per_day in 20u32..120, hour in 0i64..24,
    ) {
        check(Backend::Postgres, seed, days, per_day, hour);
    }
}
