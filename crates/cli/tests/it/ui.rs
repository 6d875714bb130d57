//! The workstation over HTTP, as a browser without a script sees it: sessions, CSRF on every
//! form, logout that really ends a session, no open redirect after login, the same permission
//! walls as the API, the dashboard's CSV, and an administrator's user form. The browser tests
//! (tests/browser) drive the same pages in Chromium.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use testkit::{DEMO_PASSWORD, TestApp, street_light};

testkit::on_both_backends!(
    a_login_sets_a_strict_session_cookie_and_lands_on_the_role_home,
    forms_without_the_csrf_token_change_nothing,
    logout_ends_the_session_for_good,
    login_never_redirects_off_site,
    pages_keep_the_api_permission_walls,
    the_dashboard_tables_download_as_csv,
    an_administrator_creates_a_user_who_can_log_in,
    every_answer_carries_the_security_headers_whatever_the_request_claims,
    the_dispatcher_sees_the_ticket_waiting_longest_when_more_wait_than_a_page_holds,
);

async fn the_dispatcher_sees_the_ticket_waiting_longest_when_more_wait_than_a_page_holds(
    t: TestApp,
) {
    let operator = t.login("operator").await;
    let mut received = Vec::new();
    for i in 0..201 {
        let phone = format!("139{:08}", 10_000 + i);
        received.push(
            t.create_ticket(&operator, testkit::street_light(&phone))
                .await,
        );
    }
    let mut b = Browser::new(&t);
    b.login("dispatcher", "/dispatch").await;
    let (status, page, _) = b.get("/dispatch").await;
    assert_eq!(status, 200);
    let new_queue = page.split("id=\"returns\"").next().unwrap();
    let first = new_queue
        .find(&received[0])
        .expect("the ticket waiting longest is shown");
    let second = new_queue.find(&received[1]).expect("and the next");
    assert!(first < second, "the longest waiting comes first");
    assert!(
        !new_queue.contains(&received[200]),
        "the 201st waits beyond the page of 200"
    );
}

/// Cookies kept by hand, as a browser would.
pub(crate) struct Browser<'a> {
    t: &'a TestApp,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
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

    fn cookie_header(&self) -> String {
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
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

async fn a_login_sets_a_strict_session_cookie_and_lands_on_the_role_home(t: TestApp) {
    let b = Browser::new(&t);
    let response = b
        .client
        .get(format!("{}/login", t.base))
        .send()
        .await
        .unwrap();
    let set = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );

    for (user, home) in [
        ("operator", "/intake"),
        ("dispatcher", "/dispatch"),
        ("h-cgj", "/unit"),
        ("followup", "/followup"),
        ("supervisor", "/dashboard"),
        ("admin", "/admin"),
    ] {
        let mut b = Browser::new(&t);
        let (status, location) = b.login(user, "").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{user}");
        assert_eq!(location.as_deref(), Some(home), "{user}");
        assert!(b.cookies.contains_key("ms_session"));
        let (status, page, _) = b.get(home).await;
        assert_eq!(status, StatusCode::OK, "{user} {home}: {page}");
    }

    let mut wrong = Browser::new(&t);
    let (_, page, _) = wrong.get("/login").await;
    let csrf = hidden(&page, "_csrf");
    let (status, page, _) = wrong
        .post(
            "/login",
            &[
                ("_csrf", &csrf),
                ("username", "operator"),
                ("password", "not-it-at-all"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("用户名或密码错误"), "{page}");
    assert!(!wrong.cookies.contains_key("ms_session"));

    let (status, _, location) = Browser::new(&t).get("/dispatch").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/login?next=%2Fdispatch"));
}

async fn forms_without_the_csrf_token_change_nothing(t: TestApp) {
    let operator = t.login("operator").await;
    let no = t
        .create_ticket(&operator, street_light("13800001234"))
        .await;
    let mut b = Browser::new(&t);
    b.login("dispatcher", "").await;
    let path = format!("/tickets/{no}/act/dispatch");
    for form in [
        vec![("lead", "cgj")],
        vec![
            ("lead", "cgj"),
            ("_csrf", "0123456789abcdef0123456789abcdef"),
        ],
    ] {
        let (status, page, _) = b.post(&path, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    }
    let dispatcher = t.login("dispatcher").await;
    let (_, ticket) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(
        ticket["status"], "pending_dispatch",
        "nothing was dispatched"
    );

    // A login form posted from elsewhere (no pre-login cookie) is refused as well.
    let (status, _, _) = Browser::new(&t)
        .post(
            "/login",
            &[
                ("_csrf", "x"),
                ("username", "dispatcher"),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let csrf = b.csrf().await;
    let (status, _, location) = b.post(&path, &[("_csrf", &csrf), ("lead", "cgj")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, Some(format!("/dispatch?done={no}")));
    let (_, ticket) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(ticket["status"], "dispatched");
}

async fn logout_ends_the_session_for_good(t: TestApp) {
    let mut b = Browser::new(&t);
    b.login("supervisor", "").await;
    let session = b.cookies["ms_session"].clone();
    let csrf = b.csrf().await;
    let (status, _, location) = b.post("/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login"))
    );
    assert!(
        !b.cookies.contains_key("ms_session"),
        "the cookie is cleared"
    );
    // Even a copy of the old cookie no longer works: the token was revoked.
    b.cookies.insert("ms_session".into(), session);
    let (status, _, location) = b.get("/dashboard").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().starts_with("/login"));
}

async fn login_never_redirects_off_site(t: TestApp) {
    for next in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
    ] {
        let mut b = Browser::new(&t);
        let (_, location) = b.login("dispatcher", next).await;
        assert_eq!(location.as_deref(), Some("/dispatch"), "next={next:?}");
    }
    // The language switch's way back is held to the same rule (`%09` is a tab).
    for back in [
        "%2F%09%2Fevil.example",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
    ] {
        let (status, _, location) = Browser::new(&t)
            .get(&format!("/lang?to=en&back={back}"))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location.as_deref(), Some("/"), "back={back}");
    }
    let mut b = Browser::new(&t);
    let (_, location) = b.login("dispatcher", "/dashboard?month=2026-11").await;
    assert_eq!(location.as_deref(), Some("/dashboard?month=2026-11"));
}

async fn pages_keep_the_api_permission_walls(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let no = t
        .create_ticket(&operator, street_light("13800005678"))
        .await;
    t.act(
        &dispatcher,
        &no,
        "dispatch",
        serde_json::json!({"lead": "cgj"}),
    )
    .await;

    let mut own = Browser::new(&t);
    own.login("h-cgj", "").await;
    let (status, page, _) = own.get(&format!("/tickets/{no}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("签收"), "the lead unit is offered signing");

    let mut other = Browser::new(&t);
    other.login("h-jtj", "").await;
    let (status, page, _) = other.get(&format!("/tickets/{no}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        !page.contains("幸福路12号"),
        "nothing of the ticket is shown"
    );
    assert!(
        page.contains("您的岗位无权进行此操作"),
        "the refusal is said in Chinese: {page}"
    );
    // Signing twice: the second is refused for the ticket's state, said in Chinese too.
    let csrf = own.csrf().await;
    let sign = format!("/tickets/{no}/act/sign");
    own.post(&sign, &[("_csrf", &csrf)]).await;
    let csrf = own.csrf().await;
    let (status, page, _) = own.post(&sign, &[("_csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("工单当前的状态不允许此操作"), "{page}");
    let (status, _, _) = other.get("/dispatch").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a unit has no dispatch desk");
    let csrf = other.csrf().await;
    let (status, _, _) = other
        .post(&format!("/tickets/{no}/act/sign"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "nor can it sign another unit's ticket"
    );
    let (status, _, _) = other.get("/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn the_dashboard_tables_download_as_csv(t: TestApp) {
    let mut b = Browser::new(&t);
    b.login("supervisor", "").await;
    let response = b
        .client
        .get(format!("{}/dashboard/channels.csv?month=2026-11", t.base))
        .header(COOKIE, b.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains("minsheng-channels-2026-11.csv"),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(
        &bytes[..3],
        &[0xEF, 0xBB, 0xBF],
        "a byte-order mark for spreadsheets"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("渠道,数量"), "{text}");
    let (status, _, _) = b.get("/dashboard/nothing.csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn an_administrator_creates_a_user_who_can_log_in(t: TestApp) {
    let mut admin = Browser::new(&t);
    admin.login("admin", "").await;
    let csrf = admin.csrf().await;
    let (status, page, _) = admin
        .post(
            "/admin/users",
            &[
                ("_csrf", &csrf),
                ("id", "new-operator"),
                ("name", "新坐席"),
                ("affiliation", "contractor"),
                ("roles", "operator"),
                ("password", "a-long-password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let (_, page, _) = admin.get("/admin").await;
    assert!(page.contains("新坐席"));
    assert!(
        page.contains("待督办审批"),
        "the operator role waits for a supervisor"
    );

    // Until a supervisor approves, the account sees no tickets.
    let mut newcomer = Browser::new(&t);
    let (_, page, _) = newcomer.get("/login").await;
    let login_csrf = hidden(&page, "_csrf");
    let (status, _, location) = newcomer
        .post(
            "/login",
            &[
                ("_csrf", &login_csrf),
                ("username", "new-operator"),
                ("password", "a-long-password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_ne!(location.as_deref(), Some("/intake"));
    assert_eq!(newcomer.get("/intake").await.0, StatusCode::FORBIDDEN);

    // Nor can the administrator make themselves a supervisor.
    let (status, page, _) = admin
        .post(
            "/admin/users/admin",
            &[
                ("_csrf", &csrf),
                ("roles", "admin"),
                ("roles", "supervisor"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(admin.get("/privacy").await.0, StatusCode::FORBIDDEN);

    let mut supervisor = Browser::new(&t);
    supervisor.login("supervisor", "").await;
    let (_, privacy, _) = supervisor.get("/privacy").await;
    assert!(privacy.contains("new-operator") && privacy.contains("approve-admin"));
    let supervisor_csrf = supervisor.csrf().await;
    let (status, _, _) = supervisor
        .post(
            "/privacy/roles/new-operator",
            &[("_csrf", &supervisor_csrf), ("approve", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = supervisor
        .post(
            "/privacy/roles/admin",
            &[("_csrf", &supervisor_csrf), ("approve", "0")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(newcomer.get("/intake").await.0, StatusCode::OK);
    assert_eq!(admin.get("/privacy").await.0, StatusCode::FORBIDDEN);
    let (_, privacy, _) = supervisor.get("/privacy").await;
    assert!(
        privacy.contains("批准角色：话务员") && privacy.contains("驳回角色：督办人员"),
        "both decisions are listed"
    );

    // A bad form is refused with a message and creates nothing.
    let (status, page, _) = admin
        .post(
            "/admin/users",
            &[
                ("_csrf", &csrf),
                ("id", "Bad Name!"),
                ("name", "x"),
                ("affiliation", "centre"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
}

async fn every_answer_carries_the_security_headers_whatever_the_request_claims(t: TestApp) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/login",
        "/api/v1/me",
        "/citizen",
        "/open311/v2/discovery.json",
    ] {
        let response = client
            .get(format!("{}{path}", t.base))
            .header("Host", "evil.example")
            .header("X-Forwarded-Proto", "https")
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
        // The configured address is plain HTTP on loopback: no Secure, whatever the headers say.
        for cookie in headers.get_all(SET_COOKIE) {
            assert!(!cookie.to_str().unwrap().contains("Secure"), "{path}");
        }
        if path.starts_with("/open311") {
            let body: serde_json::Value = response.json().await.unwrap();
            let url = body["endpoints"][0]["url"].as_str().unwrap().to_owned();
            assert_eq!(
                url,
                format!("{}/open311/v2", t.base),
                "not from the Host header"
            );
        }
    }
    let css = client
        .get(format!("{}/static/app.css", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["cache-control"], "max-age=300");

    // The same city behind HTTPS: every cookie is Secure, and Open311 names the public address.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = web::WebConfig::new("https://12345.example.gov.cn").unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(t.app.clone(), listener, config, async move {
        let _ = stopped.await;
    }));
    let login = client.get(format!("{base}/login")).send().await.unwrap();
    let cookie = login.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let discovery: serde_json::Value = client
        .get(format!("{base}/open311/v2/discovery.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["endpoints"][0]["url"],
        "https://12345.example.gov.cn/open311/v2"
    );
    let _ = stop.send(());
    let _ = server.await;
    t.stop().await;
}
