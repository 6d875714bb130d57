//! `minsheng bench calls`: call events reported over HTTP (`POST /api/v1/calls/events`) by
//! concurrent ACD clients, then the month's call report read from the rollups.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::App;
use app::calls::CallCountSource;
use domain::calls::{CallBucket, ReportedCallEvent};
use domain::org::{Actor, ActorId, Affiliation, Role};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};

use super::bench::{Server, client, print_latencies, token};

pub(super) struct Calls {
    pub clients: usize,
    pub calls: usize,
    /// Events per report.
    pub batch: usize,
    /// Days the calls spread over, ending now.
    pub days: i64,
}

/// One synthetic call's events: most answered (with hold and after-call work), some abandoned,
/// some short abandons; waits, talk and agents varied by the call's number.
fn call_events(i: usize, start: Timestamp, spread_s: i64) -> Vec<ReportedCallEvent> {
    let mix = |n: usize| (i.wrapping_mul(2_654_435_761) >> n) % 1000;
    let at0 = start
        + SignedDuration::from_secs((mix(3) as i64 * spread_s / 1000 + i as i64 * 7) % spread_s);
    let call = format!("bench-{i}");
    let event = |n: usize, kind: &str, after: i64| ReportedCallEvent {
        id: format!("{call}-{n}"),
        call: call.clone(),
        kind: kind.to_owned(),
        at: (at0 + SignedDuration::from_secs(after)).to_string(),
        ..Default::default()
    };
    let agent = Some(format!("agent{}", mix(5) % 300));
    let wait = (mix(7) % 40) as i64;
    let mut events = vec![
        ReportedCallEvent {
            caller: Some(format!("139{:08}", i % 100_000_000)),
            ..event(0, "arrived", 0)
        },
        ReportedCallEvent {
            queue: Some(["hotline", "english", "business"][i % 3].to_owned()),
            ..event(1, "queued", 8)
        },
    ];
    if mix(11) < 80 {
        // Gave up (some within the short-abandon threshold).
        events.push(event(2, "abandoned", 8 + wait / 2));
        events.push(event(3, "ended", 8 + wait / 2));
        return events;
    }
    let talk = 60 + (mix(13) % 400) as i64;
    events.extend([
        ReportedCallEvent {
            agent: agent.clone(),
            ..event(2, "offered", 8 + wait - 3)
        },
        ReportedCallEvent {
            agent: agent.clone(),
            ..event(3, "answered", 8 + wait)
        },
        event(4, "ended", 8 + wait + talk),
        ReportedCallEvent {
            agent,
            ..event(
                5,
                "wrap_up_ended",
                8 + wait + talk + 20 + (mix(17) % 60) as i64,
            )
        },
    ]);
    events
}

pub(super) async fn run(app: &Arc<App>, server: &Server, work: Calls) -> anyhow::Result<()> {
    let acd = token(app, "acd").await?;
    let http = client(work.clients)?;
    let url = format!("{}/api/v1/calls/events", server.base);
    let now = app.now();
    let spread_s = work.days * 86_400 - 3_600;
    let start = now - SignedDuration::from_secs(spread_s + 1_800);
    // Reports of `batch` events, calls whole within a report.
    let mut reports: Vec<Vec<ReportedCallEvent>> = Vec::new();
    let mut current = Vec::new();
    let mut events_total = 0usize;
    for i in 0..work.calls {
        let events = call_events(i, start, spread_s);
        events_total += events.len();
        current.extend(events);
        if current.len() >= work.batch {
            reports.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        reports.push(current);
    }
    println!(
        "Reporting {} calls ({events_total} events, {} reports of about {} events) from {} clients, over {} days of call times…",
        work.calls,
        reports.len(),
        work.batch,
        work.clients,
        work.days
    );
    let began = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(reports.into_iter().enumerate())
        .map(|(_, events)| {
            let (http, url, acd) = (http.clone(), url.clone(), acd.clone());
            async move {
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .bearer_auth(&acd)
                    .json(&serde_json::json!({"source": "bench", "events": events}))
                    .send()
                    .await?;
                if !response.status().is_success() {
                    anyhow::bail!("{}: {}", response.status(), response.text().await?);
                }
                Ok::<_, anyhow::Error>(sent.elapsed())
            }
        })
        .buffer_unordered(work.clients)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let elapsed = began.elapsed();
    latencies.sort();
    println!(
        "  {:.0} events/s ({:.0} calls/s) over {:.1} s",
        events_total as f64 / elapsed.as_secs_f64(),
        work.calls as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    print_latencies(&latencies);

    // The month's report (by day, per queue and per agent) as a supervisor reads it.
    let supervisor = Actor {
        id: ActorId::System("bench"),
        affiliation: Affiliation::Centre,
        roles: [Role::Supervisor].into(),
    };
    let (from, to) = (
        Timestamp::from_millisecond(start.as_millisecond().div_euclid(900_000) * 900_000)?,
        Timestamp::from_millisecond((now.as_millisecond() / 900_000 + 1) * 900_000)?,
    );
    let mut timings = Vec::new();
    let mut report = None;
    for _ in 0..7 {
        let began = Instant::now();
        report = Some(
            app.call_report(
                &supervisor,
                from,
                to,
                CallBucket::Day,
                CallCountSource::Rollups,
            )
            .await?,
        );
        timings.push(began.elapsed());
    }
    timings.sort();
    let report = report.ok_or_else(|| anyhow::anyhow!("no report"))?;
    println!(
        "  the {}-day report by day from the rollups ({} queue rows, {} agent rows): median {:.1} ms, slowest {:.1} ms",
        work.days,
        report.queues.len(),
        report.agents.len(),
        timings[timings.len() / 2].as_secs_f64() * 1000.0,
        timings.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    println!(
        "  requested {}, answered {}, 15-second rate {:.1} %, abandonment {:.1} %",
        report.total.requested,
        report.total.answered,
        report.total.service_level.unwrap_or(0.0) * 100.0,
        report.total.abandonment_rate.unwrap_or(0.0) * 100.0
    );
    if work.calls <= 500_000 {
        let began = Instant::now();
        let log = app
            .call_report(&supervisor, from, to, CallBucket::Day, CallCountSource::Log)
            .await?;
        let same = serde_json::to_value(&log.queues)? == serde_json::to_value(&report.queues)?
            && serde_json::to_value(&log.agents)? == serde_json::to_value(&report.agents)?;
        println!(
            "  recounted from the log alone in {:.1} s: {}",
            began.elapsed().as_secs_f64(),
            if same {
                "the same figures"
            } else {
                "DIFFERENT figures"
            }
        );
        if !same {
            anyhow::bail!("the rollups and the log disagree");
        }
    }
    Ok(())
}
