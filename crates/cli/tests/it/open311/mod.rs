//! Open311 GeoReport v2 against the real server, in both formats: what the endpoint offers and
//! the public reads (`reads`), and submitting with an API key, its limits and every error in the
//! spec's shape (`submit`).

mod reads;
mod submit;

use domain::org::{Actor, Affiliation, Role, User};
use reqwest::StatusCode;
use serde_json::Value;
use testkit::TestApp;

pub(super) const BASE: &str = "/open311/v2";

/// A POST: path, form, the status expected, and words the error's description must contain.
pub(super) type PostCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, StatusCode, &'a str);

/// An outside channel's account and its API key.
pub(super) async fn channel_key(t: &TestApp) -> String {
    let admin = Actor::system("test");
    let user = User {
        id: domain::ids::UserId::parse("app-minsheng").unwrap(),
        display_name: "民声市民通 App".into(),
        affiliation: Affiliation::Channel,
        roles: [Role::ChannelClient].into_iter().collect(),
        active: true,
    };
    t.app
        .create_user(&admin, t.app.now(), user, None)
        .await
        .unwrap();
    t.login("app-minsheng").await
}

pub(super) async fn get(t: &TestApp, path: &str) -> (StatusCode, String, String) {
    let response = t
        .client
        .get(format!("{}{BASE}/{path}", t.base))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, kind, response.text().await.unwrap())
}

pub(super) async fn get_json(t: &TestApp, path: &str) -> (StatusCode, Value) {
    let (status, kind, body) = get(t, path).await;
    assert!(kind.starts_with("application/json"), "{path}: {kind}");
    (status, serde_json::from_str(&body).unwrap())
}

pub(super) async fn post(t: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = t
        .client
        .post(format!("{}{BASE}/{path}", t.base))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}
