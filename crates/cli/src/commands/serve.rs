//! `minsheng serve`: the server, optionally over a fresh demo city.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use app::notify::{LogTransport, Transport};
use sim::DemoOptions;

use crate::DbArgs;
use crate::commands::demo;
use crate::context::Installation;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "MINSHENG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The address staff, citizens and channels reach this server at, e.g.
    /// https://12345.example.gov.cn (behind a TLS proxy). Its scheme decides whether cookies are
    /// Secure, and Open311's discovery names it. [default: http://<the listen address>]
    #[arg(long, env = "MINSHENG_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// A reverse proxy (TLS terminator, load balancer) whose X-Forwarded-For is believed for
    /// the client's address, which login throttling counts by. Repeat for several.
    #[arg(
        long,
        env = "MINSHENG_TRUSTED_PROXIES",
        value_name = "IP",
        value_delimiter = ','
    )]
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// Build a demo city with simulated traffic first, if the database does not have one.
    #[arg(long)]
    pub demo: bool,
    /// Days of demo traffic (with --demo).
    #[arg(long, default_value_t = 30)]
    pub demo_days: u32,
    /// Send citizens' notifications (dispatched, replied, closed) to this SMS gateway webhook
    /// (POST, JSON; see docs/notifications.md). Without it they are written to the log.
    #[arg(long, env = "MINSHENG_NOTIFY_WEBHOOK", value_name = "URL")]
    pub notify_webhook: Option<String>,
    /// The secret shared with the gateway; every webhook request is signed with it
    /// (X-Minsheng-Signature, see docs/notifications.md). Needed with --notify-webhook.
    #[arg(
        long,
        env = "MINSHENG_NOTIFY_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub notify_webhook_secret: Option<String>,
    /// Trust only this certificate authority (PEM) for the gateway's HTTPS, instead of the
    /// system's.
    #[arg(long, env = "MINSHENG_NOTIFY_WEBHOOK_CA", value_name = "FILE")]
    pub notify_webhook_ca: Option<std::path::PathBuf>,
    /// Follow a call centre's ACD and record its calls (docs/calls.md):
    /// `freeswitch://:PASSWORD@HOST:8021/SOURCE` for FreeSWITCH mod_callcenter over the Event
    /// Socket. Repeat for several.
    #[arg(
        long,
        env = "MINSHENG_CTI",
        value_name = "URL",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub cti: Vec<cti::Target>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Checked before anything is opened, so a typo costs nothing.
    let configured = args
        .public_url
        .as_deref()
        .map(web::WebConfig::new)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let installation = Installation::open_uninitialised(&args.db).await?;
    if installation.store.read_only() {
        installation.close().await;
        anyhow::bail!(
            "{} is read-only (a standby replica?). Serve against the primary; a replica answers \
             `kpi`, `audit verify` and `audit head`",
            args.db.location()
        );
    }
    let app = installation.app.clone();
    let new_database = installation.store.audit_head().await?.seq == 0;
    if args.demo && new_database {
        demo::build_and_report(
            &app,
            &DemoOptions {
                days: args.demo_days,
                ..DemoOptions::default()
            },
        )
        .await?;
    } else if args.demo && !sim::is_built(&app) {
        println!(
            "Note: {} already holds data, so no demo city was built; use a new --db path for one.",
            args.db.location()
        );
    }
    app.initialise(app.now()).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another server running there? choose one with --listen",
                args.listen
            )
        })?;
    let address = listener.local_addr()?;
    let config = configured
        .unwrap_or_else(|| web::WebConfig::local(address))
        .with_trusted_proxies(args.trusted_proxy.clone());
    if config.insecure_away_from_loopback() {
        println!(
            "Warning: the public address is plain HTTP away from this machine, so passwords and sessions travel \
             unencrypted. Serve behind HTTPS and pass --public-url https://…"
        );
    }
    println!();
    println!(
        "minsheng is serving http://{address}/  (API: http://{address}/api/v1, OpenAPI: http://{address}/api/openapi.json)"
    );
    println!(
        "Database: {}   Key file: {}",
        args.db.location(),
        installation.key_file.display()
    );
    if installation.new_keys {
        println!(
            "A new key file was created: back it up apart from the database; without it the citizens' contacts cannot be read."
        );
    }
    if sim::is_built(&app) {
        demo::print_logins(address);
    }
    let transport: Arc<dyn Transport> = match &args.notify_webhook {
        Some(url) => {
            let secret = args.notify_webhook_secret.as_deref().unwrap_or_default();
            let webhook =
                web::webhook::WebhookTransport::new(url, secret, args.notify_webhook_ca.as_deref())
                    .map_err(anyhow::Error::msg)?;
            println!("Notifications go to the webhook {url}, signed.");
            Arc::new(webhook)
        }
        None => Arc::new(LogTransport),
    };
    let (notifier_stop, notifier_stopped) = tokio::sync::oneshot::channel::<()>();
    let notifier = tokio::spawn(app::notify::run(app.clone(), transport, async move {
        let _ = notifier_stopped.await;
    }));
    let (cti_stop, cti_stopped) = tokio::sync::watch::channel(false);
    let adapters: Vec<_> = args
        .cti
        .iter()
        .map(|target| {
            println!("Following the call centre: {target:?}.");
            tokio::spawn(cti::run(app.clone(), target.clone(), cti_stopped.clone()))
        })
        .collect();
    let stop = stop_requested()?;
    println!("Press Ctrl-C to stop.");
    web::serve(app, listener, config, stop).await?;
    let _ = cti_stop.send(true);
    for adapter in adapters {
        let _ = adapter.await;
    }
    let _ = notifier_stop.send(());
    let _ = notifier.await;
    installation.close().await;
    println!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM from a service manager or orchestrator draining this node: either way the
/// server stops taking connections, finishes the requests in flight and closes the store. The
/// handlers are installed here, before the server says it is ready, so no signal slips past.
fn stop_requested() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
