//! `minsheng bench intake`: tickets created over HTTP by concurrent clients, for as many tickets
//! or as long as asked, reported overall and per window of tickets — throughput, latency, and on
//! SQLite the largest WAL and database files seen and the WAL bytes each ticket cost — so decay
//! over a long run shows.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use app::App;

use super::bench::{Probe, Server, client, print_latencies, ticket_body, token};

/// How long a run lasts.
#[derive(Clone, Copy, Debug)]
pub(super) enum Length {
    Tickets(usize),
    Duration(Duration),
}

pub(super) struct Intake {
    pub(super) clients: usize,
    pub(super) length: Length,
    /// Tickets per reported window.
    pub(super) window: usize,
}

/// One request: when it finished (since the run started) and how long it took, if it succeeded.
type Done = (Duration, Option<Duration>);

/// How often the files' sizes are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

pub(super) async fn run(
    app: &App,
    server: &Server,
    probe: Option<Arc<dyn Fn() -> Probe + Send + Sync>>,
    intake: Intake,
) -> anyhow::Result<()> {
    let token = Arc::new(token(app, "operator").await?);
    let client = client(intake.clients)?;
    let url = Arc::new(format!("{}/api/v1/tickets", server.base));
    let post = move |i: usize| {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        async move {
            let response = client
                .post(url.as_str())
                .bearer_auth(token.as_str())
                .json(&ticket_body(i))
                .send()
                .await?;
            if response.status() != reqwest::StatusCode::CREATED {
                bail!("status {}", response.status());
            }
            anyhow::Ok(())
        }
    };
    for i in 0..500 {
        post(i).await?;
    }

    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<(Duration, Probe)>::new()));
    let sampler = probe.map(|probe| {
        let (stop, samples) = (stop.clone(), samples.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let sample = (started.elapsed(), probe());
                if let Ok(mut samples) = samples.lock() {
                    samples.push(sample);
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
            let last = (started.elapsed(), probe());
            if let Ok(mut samples) = samples.lock() {
                samples.push(last);
            }
        })
    });

    let next = Arc::new(AtomicUsize::new(0));
    let length = intake.length;
    let tasks: Vec<_> = (0..intake.clients)
        .map(|_| {
            let (post, next) = (post.clone(), next.clone());
            tokio::spawn(async move {
                let mut done: Vec<Done> = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let over = match length {
                        Length::Tickets(n) => i >= n,
                        Length::Duration(d) => started.elapsed() >= d,
                    };
                    if over {
                        return done;
                    }
                    let sent = Instant::now();
                    let ok = post(500 + i).await.is_ok();
                    done.push((started.elapsed(), ok.then(|| sent.elapsed())));
                }
            })
        })
        .collect();
    let mut done: Vec<Done> = Vec::new();
    for task in tasks {
        done.extend(task.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    if let Some(sampler) = sampler {
        let _ = sampler.await;
    }
    let samples = samples.lock().map(|s| s.clone()).unwrap_or_default();

    done.sort_by_key(|(at, _)| *at);
    let failures = done.iter().filter(|(_, t)| t.is_none()).count();
    let succeeded: Vec<(Duration, Duration)> = done
        .iter()
        .filter_map(|(at, t)| t.map(|t| (*at, t)))
        .collect();
    let mut latencies: Vec<Duration> = succeeded.iter().map(|(_, t)| *t).collect();
    latencies.sort();
    println!();
    println!(
        "bench intake: {} clients, {} tickets over HTTP (each with a sealed contact and a phone index)",
        intake.clients,
        latencies.len()
    );
    println!(
        "  {:.0} tickets/s  ({} in {:.2} s, {failures} failed)",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        latencies.len(),
        elapsed.as_secs_f64()
    );
    print_latencies(&latencies);
    print_windows(&succeeded, &samples, intake.window);
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        let largest = |f: fn(&Probe) -> u64| samples.iter().map(|(_, p)| f(p)).max().unwrap_or(0);
        let written = last.1.wal_written.saturating_sub(first.1.wal_written);
        println!(
            "  files: largest WAL seen {}, largest database {} (sampled every {} ms); WAL written {:.1} KB per ticket",
            mib(largest(|p| p.wal_file)),
            mib(largest(|p| p.db_file)),
            SAMPLE_EVERY.as_millis(),
            written as f64 / latencies.len().max(1) as f64 / 1024.0
        );
    }
    Ok(())
}

/// Throughput, latency and file sizes per window of `window` tickets, in the order they finished.
fn print_windows(succeeded: &[(Duration, Duration)], samples: &[(Duration, Probe)], window: usize) {
    if succeeded.len() < window * 2 {
        return;
    }
    let with_files = !samples.is_empty();
    println!(
        "  per {window} tickets:   tickets/s   p50 ms   p99 ms{}",
        if with_files {
            "   WAL KB/ticket   largest WAL   database"
        } else {
            ""
        }
    );
    let mut rates = Vec::new();
    let mut from = Duration::ZERO;
    for (k, chunk) in succeeded.chunks(window).enumerate() {
        let to = chunk.last().map(|(at, _)| *at).unwrap_or(from);
        let mut latencies: Vec<Duration> = chunk.iter().map(|(_, t)| *t).collect();
        latencies.sort();
        let at =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        let rate = chunk.len() as f64 / (to - from).as_secs_f64().max(1e-9);
        let full = chunk.len() == window;
        if full {
            rates.push(rate);
        }
        let mut line = format!(
            "    {:>9}{}  {:>10.0}  {:>7.2}  {:>7.2}",
            k * window + chunk.len(),
            if full { " " } else { "*" },
            rate,
            at(0.5).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0,
        );
        if with_files {
            let before = sample_at(samples, from);
            let after = sample_at(samples, to);
            let largest_wal = samples
                .iter()
                .filter(|(t, _)| *t >= from && *t <= to)
                .map(|(_, p)| p.wal_file)
                .chain([after.wal_file])
                .max()
                .unwrap_or(0);
            line += &format!(
                "  {:>14.1}  {:>12}  {:>9}",
                after.wal_written.saturating_sub(before.wal_written) as f64
                    / chunk.len() as f64
                    / 1024.0,
                mib(largest_wal),
                mib(after.db_file)
            );
        }
        println!("{line}");
        from = to;
    }
    if let (Some(first), Some(last)) = (rates.first(), rates.last()) {
        println!(
            "  last full window ran at {:.0} % of the first's throughput (* marks a partial window)",
            last / first * 100.0
        );
    }
}

/// The last sample taken at or before `t` (or the first one).
fn sample_at(samples: &[(Duration, Probe)], t: Duration) -> Probe {
    samples
        .iter()
        .take_while(|(at, _)| *at <= t)
        .last()
        .or(samples.first())
        .map(|(_, p)| *p)
        .unwrap_or_default()
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
