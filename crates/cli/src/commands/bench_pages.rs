//! `minsheng bench pages`: how long the workstation's main pages take to serve on a demo city.
//! Each role's page is fetched over loopback by a signed-in session, one request at a time, and
//! the latency percentiles are printed (on loopback this is the server's time plus well under a
//! millisecond). A measurement, never an assertion.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use app::App;
use app::clock::SystemClock;
use app::tickets::ListFilter;
use app::vault::Vault;
use domain::org::Actor;
use domain::ticket::Status;
use jiff::SignedDuration;
use sim::DemoOptions;

use super::bench::{Server, Target, fresh};

/// (user, path) for every main page; `{ticket}` is replaced by a replied ticket's number.
const PAGES: [(&str, &str); 9] = [
    ("operator", "/intake"),
    ("dispatcher", "/dispatch"),
    ("dispatcher", "/dispatch/{pending}"),
    ("h-cgj", "/unit"),
    ("m-cgj", "/unit"),
    ("followup", "/followup"),
    ("followup", "/tickets/{ticket}"),
    ("supervisor", "/dashboard"),
    ("admin", "/admin"),
];

pub async fn run(
    days: u32,
    existing: Option<crate::DbArgs>,
    samples: usize,
    target: Target,
) -> anyhow::Result<()> {
    // Either a fresh demo city, or an installation a demo built before (a Beijing year).
    let (app, store, _fresh) = match existing {
        Some(db) => {
            let installation = crate::context::Installation::open_existing(&db).await?;
            if !sim::is_built(&installation.app) {
                bail!(
                    "{} holds no demo city; build one with `minsheng demo`",
                    db.db
                );
            }
            println!("Measuring {}.", db.db);
            (installation.app, installation.store, None)
        }
        None => {
            let fresh = fresh(&target).await?;
            let app = Arc::new(App::new(
                fresh.store.clone(),
                Arc::new(Vault::generate()?),
                Arc::new(SystemClock),
            ));
            let options = DemoOptions {
                days,
                ..DemoOptions::default()
            };
            let started = Instant::now();
            let summary = sim::build(&app, app.now(), &options).await?;
            println!(
                "Demo city with {days} days of traffic built in {:.1} s ({} tickets).",
                started.elapsed().as_secs_f64(),
                summary.traffic.tickets
            );
            let store = fresh.store.clone();
            (app, store, Some(fresh))
        }
    };
    let server = Server::start(app.clone()).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let (ticket, pending) = sample_tickets(&app).await?;
    let (busiest, open) = busiest_unit(&app).await?;
    let month = app
        .now()
        .to_zoned_datetime(app.registry().rules.calendar.zone().clone())
        .strftime("%Y-%m")
        .to_string();
    println!("The unit with the most open tickets: {busiest} ({open} open).");
    let mut pages: Vec<(String, String)> = PAGES
        .iter()
        .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
        .collect();
    pages.push((format!("h-{busiest}"), "/unit".to_owned()));
    pages.push((format!("m-{busiest}"), "/unit".to_owned()));
    pages.push((
        "supervisor".to_owned(),
        format!("/api/v1/kpi?month={month}"),
    ));
    println!(
        "{:<12} {:<28} {:>8} {:>8} {:>8} {:>9}",
        "user", "page", "p50 ms", "p95 ms", "max ms", "KiB"
    );
    for (user, path) in pages {
        let path = path
            .replace("{ticket}", &ticket)
            .replace("{pending}", &pending);
        let session = session(&app, &user).await?;
        let url = format!("{}{path}", server.base);
        let get = || {
            client
                .get(&url)
                .header("cookie", format!("ms_session={session}"))
                .bearer_auth(&session)
                .send()
        };
        let mut size = 0;
        for _ in 0..3 {
            let response = get().await?;
            if !response.status().is_success() {
                bail!("{user} {path}: {}", response.status());
            }
            size = response.bytes().await?.len();
        }
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let sent = Instant::now();
            get().await?.bytes().await?;
            times.push(sent.elapsed());
        }
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{user:<12} {path:<28} {:>8.1} {:>8.1} {:>8.1} {:>9.0}",
            ms(at(0.5)),
            ms(at(0.95)),
            ms(at(1.0)),
            size as f64 / 1024.0
        );
    }
    server.stop().await;
    store.close().await;
    Ok(())
}

/// The unit holding the most open tickets (as lead or co-unit), and how many: its inbox is the
/// heaviest.
async fn busiest_unit(app: &App) -> anyhow::Result<(String, u64)> {
    let now = app.now();
    let mut busiest = (String::new(), 0);
    for unit in app.registry().units.keys() {
        let open: u64 = app
            .store()
            .status_counts(Some(unit.clone()), now)
            .await?
            .iter()
            .filter(|c| !c.status.is_terminal())
            .map(|c| c.count)
            .sum();
        if open > busiest.1 {
            busiest = (unit.to_string(), open);
        }
    }
    Ok(busiest)
}

/// A session cookie's value is an ordinary login token.
async fn session(app: &App, user: &str) -> anyhow::Result<String> {
    let id = domain::ids::UserId::parse(user)?;
    Ok(app
        .issue_token(
            &Actor::system("bench"),
            app.now(),
            &id,
            "bench pages",
            Some(SignedDuration::from_hours(1)),
        )
        .await?
        .token)
}

/// A replied ticket (for the ticket page) and one waiting for dispatch (for the dispatch form).
async fn sample_tickets(app: &App) -> anyhow::Result<(String, String)> {
    let dispatcher = app
        .registry()
        .users
        .get(&domain::ids::UserId::parse("dispatcher")?)
        .context("the demo city has a dispatcher")?
        .actor();
    let first = |status| {
        let filter = ListFilter {
            statuses: vec![status],
            limit: 1,
            ..ListFilter::default()
        };
        let (app, actor) = (app, dispatcher.clone());
        async move { app.list(&actor, app.now(), filter).await }
    };
    let replied = first(Status::Replied).await?;
    let pending = first(Status::PendingDispatch).await?;
    match (replied.first(), pending.first()) {
        (Some(r), Some(p)) => Ok((r.no.clone(), p.no.clone())),
        _ => bail!("the demo city has no replied or no waiting ticket; use more --days"),
    }
}
