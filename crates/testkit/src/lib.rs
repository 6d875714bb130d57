//! The real server on 127.0.0.1 port 0 over a fresh SQLite database holding the demo city's
//! organisation (no traffic), a clock the test moves (or the system's own), and typed HTTP
//! helpers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use app::App;
use app::clock::{Clock, ManualClock, SystemClock};
use app::vault::Vault;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::Store;
use store::postgres::{PgOptions, PgStore, Scratch};
use store::sqlite::{SqliteOptions, SqliteStore};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub use sim::DEMO_PASSWORD;

/// Thursday 26 November 2026, 10:00 in Beijing: a working morning.
pub fn start_time() -> Timestamp {
    Timestamp::from_second(1_795_658_400).unwrap()
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app: Arc<App>,
    pub store: Arc<dyn Store>,
    /// The clock the server reads, unless it runs on the system clock ([`TestClock::System`]).
    pub clock: Arc<ManualClock>,
    clock_kind: TestClock,
    pub dir: TempDir,
    pub backend: Backend,
    /// Keeps a PostgreSQL test's schema until the test ends.
    _scratch: Option<Scratch>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// The environment variable naming a PostgreSQL database for tests; each test gets a fresh
/// schema in it. Without it, PostgreSQL tests are skipped.
pub const POSTGRES_URL: &str = "MINSHENG_TEST_POSTGRES_URL";

/// The clock the server under test reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestClock {
    /// Starts at [`start_time`] and moves only when the test says (`advance`), in whole seconds.
    Manual,
    /// The machine's real clock, with its sub-millisecond readings; time cannot be moved.
    System,
}

/// The database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty PostgreSQL schema, or `None` when no test database is configured. Under
/// `CI=true` a missing database is an error, so CI can never pass by skipping PostgreSQL.
pub async fn postgres_scratch() -> Option<Scratch> {
    let base = std::env::var(POSTGRES_URL).ok().filter(|u| !u.is_empty());
    if base.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {POSTGRES_URL} is not set: .ci/run starts PostgreSQL for the tests");
    }
    let base = base?;
    Some(
        Scratch::create(&base)
            .await
            .expect("create a scratch schema in the test database"),
    )
}

impl TestApp {
    /// The server over a fresh SQLite database.
    pub async fn spawn() -> TestApp {
        Self::spawn_on(Backend::Sqlite)
            .await
            .expect("SQLite needs no configuration")
    }

    /// The server over a fresh database of `backend`; `None` for PostgreSQL when
    /// `MINSHENG_TEST_POSTGRES_URL` is not set.
    pub async fn spawn_on(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, TestClock::Manual).await
    }

    /// The server over a fresh database of `backend`, reading `clock`.
    pub async fn spawn_with(backend: Backend, clock_kind: TestClock) -> Option<TestApp> {
        let dir = tempfile::tempdir().unwrap();
        let (store, scratch): (Arc<dyn Store>, Option<Scratch>) = match backend {
            Backend::Sqlite => (
                Arc::new(
                    SqliteStore::open(dir.path().join("minsheng.db"), SqliteOptions::default())
                        .unwrap(),
                ),
                None,
            ),
            Backend::Postgres => {
                let scratch = postgres_scratch().await?;
                (
                    Arc::new(
                        PgStore::open(&scratch.url(), PgOptions::default())
                            .await
                            .unwrap(),
                    ),
                    Some(scratch),
                )
            }
        };
        let (vault, _) = Vault::open_or_create(&dir.path().join("minsheng.db.keys")).unwrap();
        let clock = Arc::new(ManualClock::new(start_time()));
        let server_clock: Arc<dyn Clock> = match clock_kind {
            TestClock::Manual => clock.clone(),
            TestClock::System => Arc::new(SystemClock),
        };
        let app = Arc::new(App::new(store.clone(), Arc::new(vault), server_clock));
        let city_built_at = match clock_kind {
            TestClock::Manual => start_time(),
            TestClock::System => app.now(),
        } - SignedDuration::from_hours(1);
        sim::build_city(&app, city_built_at).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let base = format!("http://{address}");
        let (shutdown, signal) = oneshot::channel::<()>();
        let server_app = app.clone();
        let server = tokio::spawn(async move {
            web::serve(
                server_app,
                listener,
                web::WebConfig::local(address),
                async move {
                    let _ = signal.await;
                },
            )
            .await
            .unwrap();
        });
        Some(TestApp {
            base,
            client: reqwest::Client::new(),
            app,
            store,
            clock,
            clock_kind,
            dir,
            backend,
            _scratch: scratch,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("minsheng.db")
    }

    /// What `minsheng --db` takes to open this test's database: the SQLite file's path or the
    /// PostgreSQL schema's URL.
    pub fn db_location(&self) -> String {
        match &self._scratch {
            Some(scratch) => scratch.url(),
            None => self.db_path().display().to_string(),
        }
    }

    /// The key file that seals this test's contacts.
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("minsheng.db.keys")
    }

    pub fn advance(&self, hours: i64) {
        assert_eq!(
            self.clock_kind,
            TestClock::Manual,
            "this server reads the system clock, which a test cannot move"
        );
        self.clock.advance(SignedDuration::from_hours(hours));
    }

    /// A bearer token for a demo user that outlives any clock the test moves (a login token
    /// lasts one shift; see `login_over_http`).
    pub async fn login(&self, user: &str) -> String {
        let id = domain::ids::UserId::parse(user).unwrap();
        let actor = domain::org::Actor::system("test");
        let valid = Some(SignedDuration::from_hours(24 * 400));
        self.app
            .issue_token(&actor, self.app.now(), &id, "test", valid)
            .await
            .unwrap()
            .token
    }

    /// Logs a demo user in through `POST /api/v1/auth/token`.
    pub async fn login_over_http(&self, user: &str) -> String {
        let (status, body) = self
            .post(
                None,
                "/api/v1/auth/token",
                json!({"username": user, "password": DEMO_PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "login {user}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::read(request.send().await.unwrap()).await
    }

    pub async fn post(&self, token: Option<&str>, path: &str, body: Value) -> (StatusCode, Value) {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::read(request.send().await.unwrap()).await
    }

    async fn read(response: reqwest::Response) -> (StatusCode, Value) {
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// Records a ticket as an operator; returns its number.
    pub async fn create_ticket(&self, operator: &str, body: Value) -> String {
        let (status, ticket) = self.post(Some(operator), "/api/v1/tickets", body).await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        ticket["no"].as_str().unwrap().to_owned()
    }

    /// Posts a lifecycle action and expects it to succeed.
    pub async fn act(&self, token: &str, no: &str, action: &str, body: Value) -> Value {
        let (status, ticket) = self
            .post(Some(token), &format!("/api/v1/tickets/{no}/{action}"), body)
            .await;
        assert_eq!(status, StatusCode::OK, "{action} on {no}: {ticket}");
        ticket
    }

    /// Stops the server and the store's writer; returns the directory that holds the database,
    /// which is deleted when dropped.
    pub async fn stop(mut self) -> TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.store.close().await;
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }
}

/// A typical phoned-in complaint about a street light in the demo city.
pub fn street_light(phone: &str) -> Value {
    json!({
        "kind": "complaint",
        "category": "030501",
        "description": "幸福路12号门口路灯连续三晚不亮，晚上很黑",
        "address": "湖滨街道幸福路12号",
        "division": "990101001",
        "contact": {"name": "王小明", "phone": phone, "address": "湖滨街道阳光花园3栋402"}
    })
}

/// Declares each listed `async fn(TestApp)` as a test on SQLite and, when configured, on
/// PostgreSQL: `on_both_backends!(a_test, another_test);`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestApp::spawn().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(t) = $crate::TestApp::spawn_on($crate::Backend::Postgres).await else {
                        eprintln!("skipped: set {} to run this on PostgreSQL", $crate::POSTGRES_URL);
                        return;
                    };
                    super::$name(t).await;
                }
            )*
        }
    };
}
