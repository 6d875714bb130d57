//! A browser without a script, for tests of the workstation over HTTP: it keeps cookies by hand,
//! signs in through the login form and posts forms with their CSRF token, as a browser would.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use testkit::{DEMO_PASSWORD, TestApp};

/// Cookies kept by hand, as a browser would.
pub(crate) struct Browser<'a> {
    pub(crate) t: &'a TestApp,
    pub(crate) client: reqwest::Client,
    pub(crate) cookies: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(t: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            t,
            client,
            cookies: BTreeMap::new(),
        }
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for header in response.headers().get_all(SET_COOKIE) {
            let text = header.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The response itself, for headers and bytes.
    pub(crate) async fn raw_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.t.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get(&mut self, path: &str) -> (StatusCode, String, Option<String>) {
        let response = self
            .client
            .get(format!("{}{path}", self.t.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    pub(crate) async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let response = self
            .client
            .post(format!("{}{path}", self.t.base))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    async fn read(&mut self, response: reqwest::Response) -> (StatusCode, String, Option<String>) {
        self.keep(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        (status, response.text().await.unwrap(), location)
    }

    /// Logs in through the form; returns where the server sent the browser.
    pub(crate) async fn login(&mut self, user: &str, next: &str) -> (StatusCode, Option<String>) {
        let (_, page, _) = self.get("/login").await;
        let csrf = hidden(&page, "_csrf");
        let (status, _, location) = self
            .post(
                "/login",
                &[
                    ("_csrf", &csrf),
                    ("next", next),
                    ("username", user),
                    ("password", DEMO_PASSWORD),
                ],
            )
            .await;
        (status, location)
    }

    /// The CSRF token the pages of this session carry.
    pub(crate) async fn csrf(&mut self) -> String {
        let (_, page, _) = self.get("/").await;
        let (_, page, _) = if page.is_empty() {
            let home = self.get("/").await.2.unwrap();
            self.get(&home).await
        } else {
            (StatusCode::OK, page, None)
        };
        hidden(&page, "_csrf")
    }
}

/// The value of a hidden form field in a page.
pub(crate) fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}
