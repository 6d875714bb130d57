//! Sessions of the workstation over HTTP: a strict session cookie, CSRF on every form, logout
//! that really ends a session, no open redirect after login, and the security headers on every
//! answer.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use testkit::{DEMO_PASSWORD, TestApp, street_light};

use crate::browser::{Browser, hidden};

testkit::on_both_backends!(
    a_login_sets_a_strict_session_cookie_and_lands_on_the_role_home,
    forms_without_the_csrf_token_change_nothing,
    logout_ends_the_session_for_good,
    login_never_redirects_off_site,
    every_answer_carries_the_security_headers_whatever_the_request_claims,
);

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
