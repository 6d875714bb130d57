//! The real server on 127.0.0.1 port 0 over a fresh SQLite database holding the demo city's
//! organisation (no traffic), a clock the test moves, and typed HTTP helpers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use app::App;
use app::clock::ManualClock;
use app::vault::Vault;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::Store;
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
    pub clock: Arc<ManualClock>,
    pub dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(dir.path().join("minsheng.db"), SqliteOptions::default()).unwrap(),
        );
        let (vault, _) = Vault::open_or_create(&dir.path().join("minsheng.db.keys")).unwrap();
        let clock = Arc::new(ManualClock::new(start_time()));
        let app = Arc::new(App::new(store.clone(), Arc::new(vault), clock.clone()));
        sim::build_city(&app, start_time() - SignedDuration::from_hours(1))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, signal) = oneshot::channel::<()>();
        let server_app = app.clone();
        let server = tokio::spawn(async move {
            web::serve(server_app, listener, async move {
                let _ = signal.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base,
            client: reqwest::Client::new(),
            app,
            store,
            clock,
            dir,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("minsheng.db")
    }

    pub fn advance(&self, hours: i64) {
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
