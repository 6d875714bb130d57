//! Adapters that follow a call centre's ACD/CTI and record what it reports as minsheng's call
//! events (`docs/calls.md`), through the same use case as the event API.
//!
//! An adapter is named by a URL: `freeswitch://:PASSWORD@HOST:8021/SOURCE` follows
//! mod_callcenter over FreeSWITCH's Event Socket, `ami://USER:SECRET@HOST:5038/SOURCE` Asterisk's
//! queues over the manager interface (AMI); `asterisk::from_queue_log` reads Asterisk's
//! `queue_log` for an import. It connects, logs in, subscribes, and records
//! each batch of events as it arrives; when the connection drops (or never comes up) it tries
//! again, waiting longer each time up to half a minute, and when minsheng cannot take the events
//! (a full disk, a saturated writer) it keeps them and tries again, so nothing heard is lost.
//! Events heard twice (a reconnect replays nothing, but a second adapter may follow the same
//! switch) are recorded once: their ids come from the switch.

pub mod asterisk;
pub mod esl;
pub mod freeswitch;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use app::App;
use app::error::AppError;
use domain::calls::ReportedCallEvent;
use domain::org::{Actor, ActorId, Affiliation, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Which ACD, where, and the source name its events are recorded under.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: TargetKind,
    /// `host:port`.
    pub address: String,
    /// The AMI's user name (empty for FreeSWITCH).
    pub user: String,
    pub password: String,
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// FreeSWITCH mod_callcenter over the Event Socket.
    FreeSwitch,
    /// Asterisk's app_queue over the manager interface (AMI).
    Asterisk,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} at {} as {}", self.kind, self.address, self.source)
    }
}

impl std::str::FromStr for Target {
    type Err = String;

    /// `freeswitch://:PASSWORD@HOST:PORT/SOURCE` or `ami://USER:SECRET@HOST:PORT/SOURCE`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let url = url::Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
        let (kind, port, password) = match url.scheme() {
            "freeswitch" => (TargetKind::FreeSwitch, 8021, "ClueCon"),
            "ami" => (TargetKind::Asterisk, 5038, ""),
            other => {
                return Err(format!(
                    "unknown adapter {other:?}: use freeswitch://:PASSWORD@HOST:8021/SOURCE or ami://USER:SECRET@HOST:5038/SOURCE"
                ));
            }
        };
        let host = url.host_str().ok_or("the URL names no host")?;
        let port = url.port().unwrap_or(port);
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map(|t| t.into_owned())
                .map_err(|_| "the user or password is not UTF-8".to_owned())
        };
        let password = decode(url.password().unwrap_or(password))?;
        let user = decode(url.username())?;
        if kind == TargetKind::Asterisk && user.is_empty() {
            return Err("the AMI needs a user: ami://USER:SECRET@HOST:5038/SOURCE".into());
        }
        let source = url.path().trim_matches('/').to_owned();
        domain::ids::CallSource::parse(&source)
            .map_err(|e| format!("the URL's path names the source: {e}"))?;
        Ok(Self {
            kind,
            address: format!("{host}:{port}"),
            user,
            password,
            source,
        })
    }
}

/// Who records what an adapter hears: the server itself, in the role of the call system.
pub fn actor() -> Actor {
    Actor {
        id: ActorId::System("cti"),
        affiliation: Affiliation::Centre,
        roles: BTreeSet::from([Role::CallSystem]),
    }
}

/// Follows `target` until `stop` turns true, reconnecting whenever the connection ends.
pub async fn run(app: Arc<App>, target: Target, mut stop: watch::Receiver<bool>) {
    let mut wait = Duration::from_millis(200);
    // Kept across connections: an agent who finished a call before a reconnection ends its
    // after-call work after it.
    let mut translator = freeswitch::Translator::default();
    loop {
        if *stop.borrow() {
            return;
        }
        match follow(&app, &target, &mut translator, &mut stop).await {
            Ok(()) => return,
            Err(why) => {
                tracing::warn!(target = ?target, %why, retry_in = ?wait, "the call centre's connection ended; connecting again");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// An Event Socket connection: bytes in, messages out.
struct Connection {
    stream: TcpStream,
    framer: esl::Framer,
    buffer: Vec<u8>,
}

impl Connection {
    /// Reads what has arrived into the framer; false once `stop` turns true.
    async fn fill(&mut self, stop: &mut watch::Receiver<bool>) -> Result<bool, String> {
        let read = tokio::select! {
            read = self.stream.read(&mut self.buffer) => read.map_err(|e| format!("reading: {e}"))?,
            _ = stop.changed() => return Ok(false),
        };
        if read == 0 {
            return Err("the call centre closed the connection".into());
        }
        self.framer.push(&self.buffer[..read]);
        Ok(true)
    }

    /// The next message; `None` once `stop` turns true.
    async fn next(
        &mut self,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Option<esl::Message>, String> {
        loop {
            if let Some(message) = self.framer.next_message().map_err(|e| e.to_string())? {
                return Ok(Some(message));
            }
            if !self.fill(stop).await? {
                return Ok(None);
            }
        }
    }

    async fn send(&mut self, text: &str) -> Result<(), String> {
        self.stream
            .write_all(text.as_bytes())
            .await
            .map_err(|e| format!("writing: {e}"))
    }

    /// Sends a command and waits for its reply: true for `+OK`, false once stopped.
    async fn command(
        &mut self,
        text: &str,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<bool, String> {
        self.send(text).await?;
        loop {
            let Some(reply) = self.next(stop).await? else {
                return Ok(false);
            };
            if reply.header("Content-Type") != Some("command/reply") {
                continue;
            }
            let answer = reply.header("Reply-Text").unwrap_or_default();
            if answer.starts_with("+OK") {
                return Ok(true);
            }
            // The password is never echoed: the switch's answer is enough.
            return Err(format!("the switch refused: {answer}"));
        }
    }
}

/// One connection: log in, subscribe, record events until it ends (`Err`) or `stop` (`Ok`).
async fn follow(
    app: &App,
    target: &Target,
    translator: &mut freeswitch::Translator,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&target.address))
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|e| format!("cannot connect: {e}"))?;
    let connection = Connection {
        stream,
        framer: esl::Framer::default(),
        buffer: vec![0u8; 64 * 1024],
    };
    match target.kind {
        TargetKind::FreeSwitch => {
            follow_freeswitch(app, target, connection, translator, stop).await
        }
        TargetKind::Asterisk => follow_asterisk(app, target, connection, stop).await,
    }
}

/// Asterisk's AMI: the banner, a login, then events.
async fn follow_asterisk(
    app: &App,
    target: &Target,
    mut connection: Connection,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    loop {
        if let Some(banner) = connection.framer.take_line() {
            if !banner.starts_with("Asterisk Call Manager") {
                return Err(format!("not an Asterisk manager interface: {banner:?}"));
            }
            break;
        }
        if !connection.fill(stop).await? {
            return Ok(());
        }
    }
    let login = format!(
        "Action: Login\r\nUsername: {}\r\nSecret: {}\r\nEvents: agent,call\r\nActionID: minsheng-login\r\n\r\n",
        target.user, target.password
    );
    connection.send(&login).await?;
    loop {
        let Some(reply) = connection.next(stop).await? else {
            return Ok(());
        };
        match reply.header("Response") {
            Some("Success") => break,
            Some(_) => {
                let why = reply.header("Message").unwrap_or("no reason given");
                return Err(format!("the AMI refused the login: {why}"));
            }
            None => {}
        }
    }
    tracing::info!(target = ?target, "following the call centre");
    relay(app, target, &mut connection, stop, |message| {
        Ok(asterisk::from_ami(&message.headers, app.now()))
    })
    .await
}

/// FreeSWITCH's Event Socket: a greeting, the password, a subscription, then events.
async fn follow_freeswitch(
    app: &App,
    target: &Target,
    mut connection: Connection,
    translator: &mut freeswitch::Translator,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    loop {
        let Some(greeting) = connection.next(stop).await? else {
            return Ok(());
        };
        if greeting.header("Content-Type") == Some("auth/request") {
            break;
        }
    }
    let login = format!("auth {}\n\n", target.password);
    for step in [login.as_str(), "event plain CUSTOM callcenter::info\n\n"] {
        if !connection.command(step, stop).await? {
            return Ok(());
        }
    }
    tracing::info!(target = ?target, "following the call centre");
    relay(
        app,
        target,
        &mut connection,
        stop,
        |message| match message.header("Content-Type") {
            Some("text/event-plain") => {
                let body = message.body.unwrap_or_default();
                let headers = esl::event_headers(&body).map_err(|e| e.to_string())?;
                Ok(translator.translate(&headers))
            }
            Some("text/disconnect-notice") => Err("the switch said goodbye".into()),
            _ => Ok(Vec::new()),
        },
    )
    .await
}

/// Translates each message and records the events of everything that has arrived as one
/// report, until the connection ends (`Err`, after recording what came before) or `stop`.
async fn relay(
    app: &App,
    target: &Target,
    connection: &mut Connection,
    stop: &mut watch::Receiver<bool>,
    mut translate: impl FnMut(esl::Message) -> Result<Vec<ReportedCallEvent>, String>,
) -> Result<(), String> {
    loop {
        let Some(first) = connection.next(stop).await? else {
            return Ok(());
        };
        let mut events = Vec::new();
        let mut ended = None;
        let mut message = Some(first);
        while let Some(m) = message {
            match translate(m) {
                Ok(more) => events.extend(more),
                Err(why) => {
                    ended = Some(why);
                    break;
                }
            }
            message = connection
                .framer
                .next_message()
                .map_err(|e| e.to_string())?;
        }
        if !events.is_empty() && !record(app, &target.source, events, stop).await {
            return Ok(());
        }
        if let Some(why) = ended {
            return Err(why);
        }
    }
}

/// Records `events`, trying again while minsheng cannot take them; an event minsheng refuses
/// (malformed, or from a clock far ahead) is logged and dropped so the rest are recorded.
/// False when stopped before they were recorded.
async fn record(
    app: &App,
    source: &str,
    events: Vec<ReportedCallEvent>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let actor = actor();
    let mut wait = Duration::from_millis(100);
    loop {
        match app.record_calls(&actor, app.now(), source, &events).await {
            Ok(_) => return true,
            Err(AppError::Refused(_)) if events.len() > 1 => {
                // One bad event refuses a report: record them one by one.
                for event in events {
                    if !Box::pin(record(app, source, vec![event], stop)).await {
                        return false;
                    }
                }
                return true;
            }
            Err(AppError::Refused(why)) => {
                tracing::warn!(source, event = ?events.first(), %why, "a call event minsheng cannot take was dropped");
                return true;
            }
            Err(why) => {
                tracing::warn!(source, %why, retry_in = ?wait, "could not record call events; trying again");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return false,
                }
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_read_from_its_url() {
        let t: Target = "freeswitch://:p%40ss@10.0.0.5:8022/fs-1".parse().unwrap();
        assert_eq!(t.kind, TargetKind::FreeSwitch);
        assert_eq!(t.address, "10.0.0.5:8022");
        assert_eq!(t.password, "p@ss");
        let ami: Target = "ami://minsheng:s%3Acret@pbx/ast1".parse().unwrap();
        assert_eq!(ami.kind, TargetKind::Asterisk);
        assert_eq!(
            (ami.user.as_str(), ami.password.as_str()),
            ("minsheng", "s:cret")
        );
        assert_eq!(ami.address, "pbx:5038");
        assert!(
            "ami://pbx/ast1".parse::<Target>().is_err(),
            "the AMI needs a user"
        );
        assert_eq!(t.source, "fs-1");
        assert!(
            !format!("{t:?}").contains("p@ss"),
            "the password is never printed"
        );
        let default: Target = "freeswitch://10.0.0.5/fs".parse().unwrap();
        assert_eq!(
            (default.address.as_str(), default.password.as_str()),
            ("10.0.0.5:8021", "ClueCon")
        );
        for bad in [
            "sip://x/fs",
            "freeswitch://10.0.0.5",
            "freeswitch://10.0.0.5/a b",
            "nonsense",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }
}
